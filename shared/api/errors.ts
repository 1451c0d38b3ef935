/** Every error code the API answers with, and its HTTP status. Defined once; clients switch on `code`. */
export const errorStatus = {
  validation_failed: 400,
  invalid_json: 400,
  unknown_field: 400,
  identity_missing: 422,
  identity_invalid: 422,
  case_number_invalid: 422,
  /** A reply on email to a customer without an email address. */
  email_recipient_missing: 422,
  /** An email that cannot be written safely (email.compose.ts ComposeError codes, prefixed). */
  email_invalid_address: 422,
  email_no_recipients: 422,
  email_too_many_recipients: 422,
  email_invalid_message_id: 422,
  email_header_not_allowed: 422,
  email_invalid_header_value: 422,
  email_invalid_attachment: 422,
  invalid_transition: 409,
  invalid_cursor: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  csrf_failed: 403,
  forbidden: 403,
  not_found: 404,
  route_not_found: 404,
  case_not_found: 404,
  customer_not_found: 404,
  user_not_found: 404,
  team_not_found: 404,
  tenant_not_found: 404,
  channel_not_found: 404,
  inbound_email_not_found: 404,
  message_not_found: 404,
  attachment_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  database_unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: { path: string; message: string }[] };
}
