/**
 * Twilio as the tests meet it: webhook requests signed the way Twilio signs them, and a local
 * REST server speaking Twilio's Messages API. Payloads follow Twilio's documentation:
 * https://www.twilio.com/docs/messaging/guides/webhook-request (inbound message),
 * https://www.twilio.com/docs/messaging/guides/track-outbound-message-status (status callback),
 * https://www.twilio.com/docs/voice/twiml#request-parameters (call status callback),
 * https://www.twilio.com/docs/usage/security#validating-requests (X-Twilio-Signature).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { startFakeApi } from './fake-api.ts';

export const ACCOUNT_SID = `AC${'0a1b2c3d'.repeat(4)}`;
export const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';

/** A Twilio id: two letters and 32 hex digits (SM… message, CA… call). */
export const sid = (prefix: 'SM' | 'MM' | 'CA') => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * X-Twilio-Signature as Twilio computes it, written here independently of the server's code:
 * the URL, then each POST field's name and value, fields sorted by name; HMAC-SHA1 with the
 * auth token; base64.
 */
export function twilioSignature(authToken: string, url: string, fields: Record<string, string>): string {
  const data = Object.keys(fields)
    .sort()
    .reduce((acc, key) => acc + key + fields[key], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/**
 * An inbound SMS as Twilio posts it, e.g.
 *   ToCountry=GB&ToState=&SmsMessageSid=SM…&NumMedia=0&ToCity=&FromZip=&SmsSid=SM…&FromState=
 *   &SmsStatus=received&FromCity=&Body=No+internet+since+Monday&FromCountry=GB&To=%2B447700900123
 *   &ToZip=&NumSegments=1&MessageSid=SM…&AccountSid=AC…&From=%2B447911123456&ApiVersion=2010-04-01
 * and for a photo, NumMedia=1&MediaContentType0=image%2Fjpeg&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F…
 */
export function inboundSms(input: {
  from: string;
  to: string;
  body: string;
  messageSid?: string;
  media?: { url: string; contentType: string }[];
  extra?: Record<string, string>;
}): Record<string, string> {
  const messageSid = input.messageSid ?? sid('SM');
  const media = input.media ?? [];
  const fields: Record<string, string> = {
    ToCountry: 'GB',
    ToState: '',
    SmsMessageSid: messageSid,
    NumMedia: String(media.length),
    ToCity: '',
    FromZip: '',
    SmsSid: messageSid,
    FromState: '',
    SmsStatus: 'received',
    FromCity: 'LONDON',
    Body: input.body,
    FromCountry: 'GB',
    To: input.to,
    ToZip: '',
    NumSegments: '1',
    MessageSid: messageSid,
    AccountSid: ACCOUNT_SID,
    From: input.from,
    ApiVersion: '2010-04-01',
    ...input.extra,
  };
  media.forEach((m, i) => {
    fields[`MediaUrl${i}`] = m.url;
    fields[`MediaContentType${i}`] = m.contentType;
  });
  return fields;
}

/**
 * A status callback for a message we sent, e.g.
 *   SmsSid=SM…&SmsStatus=undelivered&MessageStatus=undelivered&To=%2B447911123456&ErrorCode=30003
 *   &MessageSid=SM…&AccountSid=AC…&From=%2B447700900123&ApiVersion=2010-04-01
 */
export function statusCallback(input: {
  messageSid: string;
  status: 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'read';
  from: string;
  to: string;
  errorCode?: string;
}): Record<string, string> {
  return {
    SmsSid: input.messageSid,
    SmsStatus: input.status,
    MessageStatus: input.status,
    To: input.to,
    MessageSid: input.messageSid,
    AccountSid: ACCOUNT_SID,
    From: input.from,
    ApiVersion: '2010-04-01',
    ...(input.errorCode ? { ErrorCode: input.errorCode } : {}),
  };
}

/**
 * A Voice status callback when a call ends, e.g.
 *   Called=%2B447700900123&ToState=&CallerCountry=GB&Direction=inbound&Timestamp=…&CallbackSource=call-progress-events
 *   &CallerState=&ToZip=&SequenceNumber=0&CallSid=CA…&To=%2B447700900123&CallerZip=&ToCountry=GB
 *   &CalledZip=&ApiVersion=2010-04-01&CalledCity=&CallStatus=completed&Duration=3&From=%2B447911123456
 *   &CallDuration=154&AccountSid=AC…&CalledCountry=GB&CallerCity=&Caller=%2B447911123456&FromCountry=GB
 */
export function callStatus(input: {
  callSid?: string;
  from: string;
  to: string;
  status: 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';
  direction?: 'inbound' | 'outbound-api' | 'outbound-dial';
  durationSeconds?: number;
}): Record<string, string> {
  const seconds = input.durationSeconds ?? 0;
  return {
    Called: input.to,
    ToState: '',
    CallerCountry: 'GB',
    Direction: input.direction ?? 'inbound',
    Timestamp: new Date().toUTCString(),
    CallbackSource: 'call-progress-events',
    SequenceNumber: '0',
    CallSid: input.callSid ?? sid('CA'),
    To: input.to,
    ToCountry: 'GB',
    ApiVersion: '2010-04-01',
    CallStatus: input.status,
    ...(input.status === 'completed'
      ? { CallDuration: String(seconds), Duration: String(Math.ceil(seconds / 60)) }
      : {}),
    From: input.from,
    AccountSid: ACCOUNT_SID,
    CalledCountry: 'GB',
    Caller: input.from,
    FromCountry: 'GB',
  };
}

/** A form body and the headers Twilio sends with it, signed for `url`. */
export function signedForm(url: string, fields: Record<string, string>, authToken = AUTH_TOKEN) {
  return {
    payload: new URLSearchParams(fields).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(authToken, url, fields),
      'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
      'user-agent': 'TwilioProxy/1.1',
    },
  };
}

/** One message the fake Messages API accepted. */
export interface SentSms {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | null;
}

/**
 * POST /2010-04-01/Accounts/{AccountSid}/Messages.json as Twilio answers it: basic auth with
 * the account SID and auth token, a form body, 201 with the message resource; 400 with Twilio's
 * error body for a bad To (code 21211). `failNext` makes the next answers an HTTP error;
 * `holdNextAnswer` delays one answer.
 */
export async function startFakeTwilio(options: { accountSid?: string; authToken?: string } = {}) {
  const accountSid = options.accountSid ?? ACCOUNT_SID;
  const authToken = options.authToken ?? AUTH_TOKEN;
  const sent: SentSms[] = [];
  const failures: { status: number; code: number; message: string }[] = [];
  let requests = 0;
  let holdNext: ((message: SentSms) => Promise<void>) | null = null;
  const api = await startFakeApi((req, body, reply) => {
    requests++;
    const error = (status: number, code: number, message: string) =>
      reply(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
    if (req.method !== 'POST' || req.url !== path)
      return error(404, 20404, 'The requested resource was not found');
    const auth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    if (req.headers.authorization !== auth)
      return error(401, 20003, 'Authentication Error - invalid username');
    const failure = failures.shift();
    if (failure) return error(failure.status, failure.code, failure.message);
    const form = new URLSearchParams(body);
    const to = form.get('To') ?? '';
    if (!/^\+[1-9]\d{6,14}$/.test(to))
      return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    const message: SentSms = {
      sid: sid('SM'),
      accountSid,
      to,
      from: form.get('From') ?? '',
      body: form.get('Body') ?? '',
      statusCallback: form.get('StatusCallback'),
    };
    sent.push(message);
    const hold = holdNext;
    holdNext = null;
    const answer = () =>
      reply(201, {
        account_sid: accountSid,
        api_version: '2010-04-01',
        body: message.body,
        date_created: new Date().toUTCString(),
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: message.from,
        num_media: '0',
        num_segments: '1',
        price: null,
        sid: message.sid,
        status: 'queued',
        to: message.to,
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}.json`,
      });
    if (hold) void hold(message).finally(answer);
    else answer();
  });
  return {
    baseUrl: api.baseUrl,
    sent,
    get requests() {
      return requests;
    },
    /** The next accepted message is answered only once `until` has run (a callback that beats the answer). */
    holdNextAnswer(until: (message: SentSms) => Promise<void>) {
      holdNext = until;
    },
    /** The next answers are this HTTP error with Twilio's error body. */
    failNext(status: number, code: number, message: string, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ status, code, message });
    },
    close: api.close,
  };
}
