/**
 * X-Twilio-Signature against the published test vectors of Twilio's own helper library
 * (twilio-ruby spec/util/request_validator_spec.rb: a voice and an SMS request signed by Twilio),
 * so the check is tied to Twilio's algorithm and not only to our fake's copy of it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlatformChannel, WebhookRequest } from './platform.ts';
import { twilioSignature, verifyTwilio } from './twilio.ts';

const TOKEN = '2bd9e9638872de601313dc77410d3b23';
const SMS = {
  ToState: 'CA',
  FromState: 'CA',
  AccountSid: 'ACba8bc05eacf94afdae398e642c9cc32d',
  SmsMessageSid: 'SM2003cbd5e6a3701999aa3e5f20ff2787',
  Body: 'Orly',
  From: '+14159354345',
  FromCity: 'SAN FRANCISCO',
  SmsStatus: 'received',
  FromZip: '94107',
  FromCountry: 'US',
  To: '+14158141819',
  ToCity: 'SAN FRANCISCO',
  ToZip: '94105',
  ToCountry: 'US',
  ApiVersion: '2010-04-01',
  SmsSid: 'SM2003cbd5e6a3701999aa3e5f20ff2787',
};
const VOICE = {
  ToState: 'California',
  CalledState: 'California',
  Direction: 'inbound',
  FromState: 'CA',
  AccountSid: 'ACba8bc05eacf94afdae398e642c9cc32d',
  Caller: '+14153595711',
  CallerZip: '94108',
  CallerCountry: 'US',
  From: '+14153595711',
  FromCity: 'SAN FRANCISCO',
  CallerCity: 'SAN FRANCISCO',
  To: '+14157669926',
  FromZip: '94108',
  FromCountry: 'US',
  ToCity: '',
  CallStatus: 'ringing',
  CalledCity: '',
  CallerState: 'CA',
  CalledZip: '',
  ToZip: '',
  ToCountry: 'US',
  CallSid: 'CA136d09cd59a3c0ec8dbff44da5c03f31',
  CalledCountry: 'US',
  Called: '+14157669926',
  ApiVersion: '2010-04-01',
  ApplicationSid: 'AP44efecad51364e80b133bb7c07eb8204',
};

const channel = (token: string | null): PlatformChannel => ({
  tenantId: 't',
  id: 'c',
  type: 'sms',
  address: null,
  settings: {},
  secret: () => token,
  webhookUrl: null,
});

function request(url: string | null, fields: Record<string, string>, signature?: string): WebhookRequest {
  return {
    method: 'POST',
    publicUrl: url,
    query: {},
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature ? { 'x-twilio-signature': signature } : {}),
    },
    rawBody: Buffer.from(new URLSearchParams(fields).toString()),
  };
}

test('Twilio’s published SMS and voice requests verify; our signer gives the same signatures', () => {
  const sms = 'http://twiliotests.heroku.com/validate/sms';
  const voice = 'http://twiliotests.heroku.com/validate/voice';
  assert.equal(twilioSignature(TOKEN, sms, Object.entries(SMS)), 'mxeiv65lEe0b8L6LdVw2jgJi8yw=');
  assert.equal(twilioSignature(TOKEN, voice, Object.entries(VOICE)), 'oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=');
  assert.deepEqual(verifyTwilio(request(sms, SMS, 'mxeiv65lEe0b8L6LdVw2jgJi8yw='), channel(TOKEN)), {
    ok: true,
  });
  assert.deepEqual(verifyTwilio(request(voice, VOICE, 'oVb2kXoVy8GEfwBDjR8bk/ZZ6eA='), channel(TOKEN)), {
    ok: true,
  });
  // Twilio may sign the URL with the default port written out; both forms are accepted.
  assert.deepEqual(
    verifyTwilio(
      request('http://twiliotests.heroku.com:80/validate/sms', SMS, 'mxeiv65lEe0b8L6LdVw2jgJi8yw='),
      channel(TOKEN),
    ),
    { ok: true },
  );
});

test('any change, a missing token or a missing public URL fails; the reason says which', () => {
  const sms = 'http://twiliotests.heroku.com/validate/sms';
  const good = 'mxeiv65lEe0b8L6LdVw2jgJi8yw=';
  const reason = (r: ReturnType<typeof verifyTwilio>) => (r.ok ? 'ok' : r.reason);
  assert.equal(reason(verifyTwilio(request(sms, { ...SMS, Body: 'Orlz' }, good), channel(TOKEN))), 'invalid');
  assert.equal(reason(verifyTwilio(request(`${sms}?x=1`, SMS, good), channel(TOKEN))), 'invalid');
  assert.equal(
    reason(verifyTwilio(request(sms.replace('http:', 'https:'), SMS, good), channel(TOKEN))),
    'invalid',
  );
  assert.equal(reason(verifyTwilio(request(sms, SMS, good), channel('another-token'))), 'invalid');
  assert.equal(reason(verifyTwilio(request(sms, SMS), channel(TOKEN))), 'missing');
  assert.equal(reason(verifyTwilio(request(sms, SMS, good), channel(null))), 'not_configured');
  assert.equal(reason(verifyTwilio(request(null, SMS, good), channel(TOKEN))), 'not_configured');
});
