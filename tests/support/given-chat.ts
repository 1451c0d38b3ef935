/** Chat visitors as the web chat widget records them, for tests of what other features read from them. */
import { randomUUID } from 'node:crypto';
import { channels, chatSessions } from '../../server/db/schema/index.ts';
import type { GivenTenant } from './given.ts';

/** A chat session of a customer with what the visitor typed before the chat (name, email). */
export async function chatSession(
  t: GivenTenant,
  customerId: string,
  visitor: { name?: string; email?: string } = {},
) {
  const db = t.app.database.db;
  const [channel] = await db
    .insert(channels)
    .values({ tenantId: t.id, type: 'chat', name: `Chat ${randomUUID().slice(0, 8)}` })
    .returning({ id: channels.id });
  const [session] = await db
    .insert(chatSessions)
    .values({
      tenantId: t.id,
      channelId: channel!.id,
      customerId,
      tokenHash: randomUUID(),
      visitorName: visitor.name ?? null,
      visitorEmail: visitor.email ?? null,
    })
    .returning({ id: chatSessions.id });
  return session!.id;
}
