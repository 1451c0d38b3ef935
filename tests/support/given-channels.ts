/** Platform channels for tests: an SMS or phone number on Twilio, its webhook and how to sign for it. */
import { randomInt, randomUUID } from 'node:crypto';
import { deriveKey } from '../../server/lib/secrets.ts';
import { createChannel, updateChannel } from '../../server/modules/channels/channels.service.ts';
import { ACCOUNT_SID, AUTH_TOKEN } from './fake-twilio.ts';
import type { GivenTenant } from './given.ts';
import { TEST_SECRET } from './test-app.ts';

/** The public base URL the tests' platforms "call"; signatures are made over it. */
export const PUBLIC_BASE = 'https://rapport.test';

/** A UK mobile number for a channel, unique enough per test (and valid by libphonenumber's ranges). */
export const ukNumber = () => `+447400${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
/** A customer's mobile number, unique enough per test. */
export const customerNumber = () => `+447412${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;

export interface TwilioChannelOptions {
  type?: 'sms' | 'phone';
  address?: string;
  authToken?: string | null;
  apiBaseUrl?: string;
  /** false: no settings.publicUrl (the server's RAPPORT_PUBLIC_URL, if any, applies). */
  publicUrl?: string | false;
  active?: boolean;
}

/**
 * An active Twilio channel (SMS by default), made through the same service as the API: its auth
 * token sealed, settings.publicUrl naming its own webhook (the URL the tests sign for).
 */
export async function twilioChannel(t: GivenTenant, options: TwilioChannelOptions = {}) {
  const db = t.app.database.db;
  const type = options.type ?? 'sms';
  const secretKey = deriveKey(TEST_SECRET, 'channel-secrets');
  const token = options.authToken === undefined ? AUTH_TOKEN : options.authToken;
  const created = await createChannel(
    db,
    t.id,
    {
      type,
      name: `${type.toUpperCase()} ${randomUUID().slice(0, 6)}`,
      address: options.address ?? ukNumber(),
      settings: {
        accountSid: ACCOUNT_SID,
        ...(options.apiBaseUrl ? { apiBaseUrl: options.apiBaseUrl } : {}),
      },
      ...(token ? { secrets: { authToken: token } } : {}),
    },
    { secretKey },
  );
  const path = `/webhooks/v1/channels/${created.id}`;
  const url = typeof options.publicUrl === 'string' ? options.publicUrl : `${PUBLIC_BASE}${path}`;
  const row = await updateChannel(
    db,
    t.id,
    created.id,
    {
      ...(options.publicUrl === false ? {} : { settings: { publicUrl: url } }),
      active: options.active ?? true,
    },
    { secretKey },
  );
  return { ...row, path, url };
}
