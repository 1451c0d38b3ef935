/**
 * No loudness bonus (issue 4): what a platform says about an account — millions of followers,
 * a "verified" badge — is shown to agents and changes nothing else. A loud account's public
 * complaint and a quiet one's, arriving alike, get the same priority, owner, team, status and
 * SLA fields, and sit in every inbox view where their arrival alone puts them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { customerIdentities, customers } from '../server/db/schema/index.ts';
import * as given from './support/given.ts';
import { startTestApp } from './support/test-app.ts';

const { app } = await startTestApp();

const loudProfile = { displayName: 'Mega Star', followers: 48_000_000, verified: true, verifiedType: 'blue' };
const quietProfile = { displayName: 'Pat', followers: 12, verified: false };

/** An X account already known to the tenant, with its profile as the X adapter records it. */
async function account(t: given.GivenTenant, handle: string, profile: Record<string, unknown>) {
  const db = app.database.db;
  const [row] = await db
    .insert(customers)
    .values({ tenantId: t.id, name: String(profile.displayName) })
    .returning({ id: customers.id });
  await db
    .insert(customerIdentities)
    .values({ tenantId: t.id, customerId: row!.id, kind: 'social', platform: 'x', value: handle, profile });
  return row!.id;
}

/** A public mention as the X channel hands it to the intake, the platform's numbers included. */
const mention = (t: given.GivenTenant, handle: string, profile: Record<string, unknown>, at: string) =>
  given.contact(t, {
    channel: 'x',
    from: { identity: `@${handle}` },
    text: '@NorthwindHelp my broadband has been down all day',
    receivedAt: at,
    // As the X adapter passes them: the platform's numbers beside the message.
    attributes: { mention: true, public: true, profile },
  });

/** What the intake decided about a case, without what names it or when the row was written. */
function treatment(c: Record<string, unknown>) {
  const { id, number, customerId, createdAt, updatedAt, ...rest } = c;
  return rest;
}

for (const loudFirst of [true, false]) {
  test(`a verified account with 48 million followers gets no head start (${loudFirst ? 'loud' : 'quiet'} one first)`, async () => {
    const t = await given.tenant(app);
    const loudId = await account(t, 'megastar', loudProfile);
    const quietId = await account(t, 'quietpat', quietProfile);
    const first = '2026-03-02T09:00:00.000Z';
    const second = '2026-03-02T09:00:01.000Z';

    const [a, b] = loudFirst
      ? [await mention(t, 'megastar', loudProfile, first), await mention(t, 'quietpat', quietProfile, second)]
      : [
          await mention(t, 'quietpat', quietProfile, first),
          await mention(t, 'megastar', loudProfile, second),
        ];
    const loud = loudFirst ? a : b;
    const quiet = loudFirst ? b : a;
    assert.equal(loud.customer.id, loudId);
    assert.equal(quiet.customer.id, quietId);

    // The same decisions: priority, owner, team, status, SLA fields (all but timing and names).
    const loudCase = (await app.inject({ url: `/api/v1/cases/${loud.case.id}`, headers: t.headers })).json();
    const quietCase = (
      await app.inject({ url: `/api/v1/cases/${quiet.case.id}`, headers: t.headers })
    ).json();
    assert.equal(loudCase.priority, 'normal');
    assert.equal(loudCase.ownerId, null);
    assert.equal(loudCase.teamId, null);
    assert.deepEqual(
      { ...treatment(loudCase), lastContactAt: null },
      { ...treatment(quietCase), lastContactAt: null },
    );

    // Every inbox view lists them by arrival alone, newest first.
    const arrival = loudFirst ? [quiet.case.id, loud.case.id] : [loud.case.id, quiet.case.id];
    for (const query of ['status=active', 'owner=none&status=active', 'channel=x&status=active', '']) {
      const list = await app.inject({ url: `/api/v1/cases?${query}`, headers: t.headers });
      assert.deepEqual(
        list.json().items.map((c: { id: string }) => c.id),
        arrival,
        query,
      );
    }

    // The agent sees the numbers, as information about the account.
    const shown = (await app.inject({ url: `/api/v1/customers/${loudId}`, headers: t.headers })).json();
    assert.deepEqual(shown.identities[0].profile, loudProfile);
    assert.equal(
      shown.identities[0].verified,
      false,
      'a platform badge is not Rapport verifying the identity',
    );
    // And suggests nobody as the same person on their account of it.
    const matches = await app.inject({ url: `/api/v1/customers/${loudId}/matches`, headers: t.headers });
    assert.deepEqual(matches.json().items, []);
  });
}
