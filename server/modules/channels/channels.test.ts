import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { findEmailChannelByAddress } from './channels.queries.ts';

const { app } = await startTestApp();

test('an admin adds an email channel; every staff member lists it with its type and address', async () => {
  const t = await given.tenant(app);
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/channels',
    headers: t.headers,
    payload: { type: 'email', name: 'Support', address: 'Help@Fibre-Co.example' },
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().address, 'help@fibre-co.example', 'addresses are stored lower-case');
  const agent = await given.token(t, 'specialist');
  const list = await app.inject({ url: '/api/v1/channels', headers: agent });
  assert.equal(list.statusCode, 200);
  assert.deepEqual(
    list
      .json()
      .items.map((c: { type: string; address: string; name: string }) => [c.type, c.address, c.name]),
    [['email', 'help@fibre-co.example', 'Support']],
  );
});

test('an address already used by a channel, here or in another organisation, is refused with 409', async () => {
  const t = await given.tenant(app);
  const other = await given.tenant(app, 'Other Broadband');
  await given.emailChannel(other, 'shared@isp.example');
  for (const address of ['shared@isp.example', 'SHARED@isp.example']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/channels',
      headers: t.headers,
      payload: { type: 'email', name: `Support ${address}`, address },
    });
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().error.code, 'conflict');
    assert.match(res.json().error.message, /already a channel/);
  }
  const mine = await app.inject({ url: '/api/v1/channels', headers: t.headers });
  assert.deepEqual(mine.json().items, [], 'nothing was stored');
});

test('a malformed address, an unknown type or an unknown setting is a 400 and stores nothing', async () => {
  const t = await given.tenant(app);
  const bodies = [
    { type: 'email', name: 'Support', address: 'not an address' },
    { type: 'carrier-pigeon', name: 'Support', address: 'a@b.example' },
    { type: 'email', name: 'Support', address: 'a@b.example', settings: { relay: 'open' } },
    { type: 'email', name: '', address: 'a@b.example' },
  ];
  for (const payload of bodies) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/channels', headers: t.headers, payload });
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
  }
  const mine = await app.inject({ url: '/api/v1/channels', headers: t.headers });
  assert.deepEqual(mine.json().items, []);
});

test('a channel can be renamed, given an acknowledgement and turned off; inbound routing then skips it', async () => {
  const t = await given.tenant(app);
  const channel = await given.emailChannel(t, 'billing@routing.example', 'Billing');
  assert.equal(
    (await findEmailChannelByAddress(app.database.db, 'Billing+r-abc@Routing.example'))?.id,
    channel.id,
  );
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/v1/channels/${channel.id}`,
    headers: t.headers,
    payload: {
      name: 'Accounts',
      settings: { acknowledgement: { enabled: true, locale: 'de' } },
      active: false,
    },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().name, 'Accounts');
  assert.deepEqual(res.json().settings, { acknowledgement: { enabled: true, locale: 'de' } });
  assert.equal(res.json().active, false);
  assert.equal(await findEmailChannelByAddress(app.database.db, 'billing@routing.example'), null);
});
