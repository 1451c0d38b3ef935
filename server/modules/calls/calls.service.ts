/**
 * Phone calls as contacts (log-call.ts): what other modules may call. The phone channel's
 * webhook logs each call Twilio Voice reports as finished, once per CallSid.
 */
import type { FastifyBaseLogger } from 'fastify';
import { systemActor } from '../../context.ts';
import type { Db } from '../../db/client.ts';
import { AppError } from '../../errors.ts';
import type { CallRecord } from '../channels/platforms/platform.ts';
import { logCall } from './log-call.ts';

/** Logs a call a telephony platform reported; false when it cannot be placed (logged as a warning). */
export async function logReportedCall(
  db: Db,
  log: FastifyBaseLogger,
  channel: { tenantId: string; id: string },
  call: CallRecord,
): Promise<boolean> {
  const ctx = { tenantId: channel.tenantId, actor: systemActor, db, log, now: () => new Date() };
  try {
    await logCall(ctx, {
      direction: call.direction,
      number: call.number,
      durationSeconds: call.durationSeconds,
      outcome: call.outcome as never,
      callId: call.callId,
      ...(call.name ? { name: call.name } : {}),
    });
    return true;
  } catch (err) {
    // An outbound call to a number with no open case: nothing to attach it to, and retrying
    // the webhook would not change that.
    if (err instanceof AppError && err.code === 'call_case_required') {
      log.warn({ channelId: channel.id, callId: call.callId }, err.message);
      return false;
    }
    throw err;
  }
}
