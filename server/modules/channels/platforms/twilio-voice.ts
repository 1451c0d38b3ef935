/**
 * Phone calls through Twilio Voice: the call's status callback (form-encoded, X-Twilio-Signature)
 * reports CallSid, From, To, Direction, CallStatus and, once completed, CallDuration. When a call
 * ends it becomes a logged call (inbound: a contact on the caller's case; outbound: an outbound
 * message on the customer's case), once per CallSid. Agents cannot reply by phone.
 * https://www.twilio.com/docs/voice/api/call-resource#statuscallback
 */
import type { CallRecord, ChannelPlatform } from './platform.ts';
import { emptyWebhook, WebhookPayloadError } from './platform.ts';
import { formMap, required, TWIML_EMPTY, twilioSid, verifyTwilio } from './twilio.ts';

/** Statuses a call ends in, and the outcome logged for each. */
const finalStatus: Record<string, string> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

export const twilioVoice: ChannelPlatform = {
  type: 'phone',
  secretNames: ['authToken'],
  replyLimits: null,
  verify: verifyTwilio,
  parse(request, channel) {
    const fields = formMap(request.rawBody);
    const out = emptyWebhook();
    const callId = twilioSid(fields, 'CallSid', ['CA']);
    const status = required(fields, 'CallStatus');
    const outcome = finalStatus[status];
    // queued, initiated, ringing, in-progress: the call is not over yet.
    if (!outcome) return out;
    const direction = (fields.get('Direction') ?? 'inbound').startsWith('outbound') ? 'outbound' : 'inbound';
    const number = required(fields, direction === 'inbound' ? 'From' : 'To');
    const ours = fields.get(direction === 'inbound' ? 'To' : 'From');
    if (ours && channel.address && ours !== channel.address) {
      throw new WebhookPayloadError(`${ours} is not this channel's number`);
    }
    const seconds = Number(fields.get('CallDuration') ?? '0');
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 7 * 86_400) {
      throw new WebhookPayloadError('CallDuration is invalid');
    }
    const call: CallRecord = { callId, direction, number, durationSeconds: seconds, outcome };
    const name = fields.get('CallerName');
    if (name && direction === 'inbound') call.name = name;
    out.calls.push(call);
    return out;
  },
  acknowledge: TWIML_EMPTY,
};
