import { type ErrorCode, errorStatus } from '../shared/api/errors.ts';

/** A failure the caller can act on: a stable code, a human message, optional per-field details. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: { path: string; message: string }[];
  constructor(code: ErrorCode, message: string, details?: { path: string; message: string }[]) {
    super(message);
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return errorStatus[this.code];
  }
}
