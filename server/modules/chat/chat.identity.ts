/**
 * Signed visitor identities: a site that signs its users in passes `{ userId, userHash }`, where
 * userHash is hex HMAC-SHA256(channel's identity secret, userId). A valid one makes the visitor
 * the known customer with that external id; anything else about it fails closed.
 */
import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../../errors.ts';
import { safeEqual } from '../../lib/secrets.ts';
import { openChannelSecret } from '../channels/channels.secrets.ts';
import type { ChatChannelRow } from './chat.queries.ts';

/** Its name in channels.secrets (sealed by channels.secrets.ts). */
export const IDENTITY_SECRET = 'identitySecret';

/** What a site computes on its server for a signed-in user. */
export function identityHash(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(userId).digest('hex');
}

/** The site's user id when its signature holds; throws 403 when the channel cannot check one, 401 when wrong. */
export function verifySignedIdentity(
  key: Buffer,
  channel: ChatChannelRow,
  identity: { userId: string; userHash: string },
  log: FastifyBaseLogger,
): string {
  const notConfigured = new AppError(
    'chat_identity_not_configured',
    'This chat cannot verify signed-in visitors: the channel has no identity secret',
  );
  const secret = openChannelSecret(key, channel, IDENTITY_SECRET);
  if (secret === null) {
    // Set but unopenable: the server secret changed since it was stored. Nobody can be verified.
    if ((channel.secrets as Record<string, unknown>)[IDENTITY_SECRET])
      log.error({ channelId: channel.id }, 'chat identity secret does not open');
    throw notConfigured;
  }
  if (!safeEqual(identityHash(secret, identity.userId), identity.userHash.toLowerCase())) {
    throw new AppError('chat_identity_invalid', 'The signed identity does not match its signature', [
      { path: 'body.identity.userHash', message: 'is not the signature of userId' },
    ]);
  }
  return identity.userId;
}
