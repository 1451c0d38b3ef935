/**
 * Replying on WhatsApp, Messenger, Instagram and X: the composer's options for a case, WhatsApp's
 * 24-hour customer-care window (free text inside it, only an approved template after it, refused
 * with reply_window_closed and nothing stored), Messenger's and Instagram's (free text for 24 hours,
 * then tagged HUMAN_AGENT for 7 days, then refused), templates and their parameters, X's public reply
 * to the customer's post or a direct message, recorded on the message and shown in the timeline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messagingWebhook, signedJson, whatsappMessage } from '../../../tests/support/fake-meta.ts';
import { randomHandle, signedX, snowflake, xDirectMessage, xMention } from '../../../tests/support/fake-x.ts';
import * as given from '../../../tests/support/given.ts';
import { customerNumber } from '../../../tests/support/given-channels.ts';
import { metaChannel, xChannel } from '../../../tests/support/given-social.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows, sql } from '../../db/client.ts';

const { app } = await startTestApp();
const HOUR = 3_600_000;

const templates = [
  {
    name: 'case_update',
    language: 'en_GB',
    text: 'Hi {{1}}, there is news on your case {{2}}. Reply to this message to carry on.',
  },
  { name: 'still_there', language: 'en_GB', text: 'Are you still having trouble? Reply to let us know.' },
];

async function whatsappCase(t: given.GivenTenant, hoursAgo: number, from = customerNumber()) {
  const channel = await metaChannel(t, 'whatsapp', { settings: { templates } });
  const res = await app.inject({
    method: 'POST',
    url: channel.path,
    ...signedJson(
      whatsappMessage({
        phoneNumberId: channel.address,
        from,
        text: 'Router keeps rebooting',
        at: Date.now() - hoursAgo * HOUR,
      }),
    ),
  });
  assert.equal(res.statusCode, 200, res.body);
  const list = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  return { channel, from, caseId: list[0].id as string };
}

const options = async (t: given.GivenTenant, caseId: string) => {
  const res = await app.inject({ url: `/api/v1/cases/${caseId}/reply-options`, headers: t.headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items;
};

const reply = (t: given.GivenTenant, caseId: string, body: Record<string, unknown>) =>
  app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: t.headers,
    payload: { kind: 'reply', ...body },
  });

async function outbound(t: given.GivenTenant, caseId: string) {
  return rows<{ text: string; metadata: Record<string, unknown> | null }>(
    app.database.db,
    sql`select text, metadata from messages where tenant_id = ${t.id} and case_id = ${caseId} and kind = 'outbound' order by created_at`,
  );
}

test('inside the 24-hour window: the composer is told when it closes and free text goes out', async () => {
  const t = await given.tenant(app);
  const { channel, from, caseId } = await whatsappCase(t, 2);
  const [option, ...rest] = await options(t, caseId);
  assert.equal(rest.length, 0);
  assert.equal(option.channelId, channel.id);
  assert.equal(option.type, 'whatsapp');
  assert.equal(option.recipient, from);
  assert.equal(option.window.open, true);
  assert.equal(option.window.hours, 24);
  const closesIn = Date.parse(option.window.closesAt) - Date.now();
  assert.ok(closesIn > 21.9 * HOUR && closesIn <= 22 * HOUR, `closes in ${closesIn / HOUR} h`);
  assert.deepEqual(option.limits, {
    maxLength: 4096,
    segments: false,
    attachments: false,
    replyWindowHours: 24,
  });
  assert.deepEqual(
    option.templates.map((x: { name: string; parameters: number }) => [x.name, x.parameters]),
    [
      ['case_update', 2],
      ['still_there', 0],
    ],
  );
  const res = await reply(t, caseId, { text: 'An engineer visits tomorrow' });
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual(await outbound(t, caseId), [{ text: 'An engineer visits tomorrow', metadata: null }]);
});

test('after 24 hours free text is refused with reply_window_closed and nothing is stored; an approved template goes, filled in', async () => {
  const t = await given.tenant(app);
  const { caseId } = await whatsappCase(t, 25);
  const [option] = await options(t, caseId);
  assert.equal(option.window.open, false);
  const refused = await reply(t, caseId, { text: 'Are you still there?' });
  assert.equal(refused.statusCode, 422, refused.body);
  assert.equal(refused.json().error.code, 'reply_window_closed');
  assert.match(refused.json().error.message, /24 hours.*approved template/);
  assert.deepEqual(await outbound(t, caseId), [], 'nothing stored');
  const timeline = (await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers })).json();
  assert.ok(!timeline.items.some((e: { type: string }) => e.type === 'message.replied'));

  const sent = await reply(t, caseId, {
    text: 'ignored: the template is what goes',
    template: { name: 'case_update', language: 'en_GB', parameters: ['Pat', '#1042'] },
  });
  assert.equal(sent.statusCode, 201, sent.body);
  assert.equal(
    sent.json().message.text,
    'Hi Pat, there is news on your case #1042. Reply to this message to carry on.',
  );
  assert.equal(sent.json().message.template, 'case_update');
  assert.deepEqual(await outbound(t, caseId), [
    {
      text: 'Hi Pat, there is news on your case #1042. Reply to this message to carry on.',
      metadata: { template: { name: 'case_update', language: 'en_GB', parameters: ['Pat', '#1042'] } },
    },
  ]);
});

/** A Messenger or Instagram case whose customer last wrote `hoursAgo`. */
async function messagingCase(t: given.GivenTenant, type: 'messenger' | 'instagram', hoursAgo: number) {
  const channel = await metaChannel(t, type);
  const sender = `2401${Math.floor(Math.random() * 1e12)}`;
  const res = await app.inject({
    method: 'POST',
    url: channel.path,
    ...signedJson(
      messagingWebhook(type === 'messenger' ? 'page' : 'instagram', channel.address!, [
        {
          sender,
          at: Date.now() - hoursAgo * HOUR,
          message: { mid: `m_${sender}`, text: 'My bill doubled' },
        },
      ]),
    ),
  });
  assert.equal(res.statusCode, 200, res.body);
  const list = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  return { channel, sender, caseId: list[0].id as string };
}

test('Messenger and Instagram: free replies for 24 hours, then tagged as a person’s follow-up for 7 days, then refused', async () => {
  for (const type of ['messenger', 'instagram'] as const) {
    const t = await given.tenant(app);
    const fresh = await messagingCase(t, type, 2);
    const [open] = await options(t, fresh.caseId);
    assert.equal(open.recipient, fresh.sender);
    assert.equal(open.limits.replyWindowHours, 24);
    assert.equal(open.window.open, true);
    const days = (iso: string) => (Date.parse(iso) - Date.now()) / (24 * HOUR);
    assert.ok(Math.abs(days(open.window.closesAt) - 22 / 24) < 0.01, open.window.closesAt);
    assert.ok(Math.abs(days(open.window.humanAgentUntil) - (7 - 2 / 24)) < 0.01, open.window.humanAgentUntil);
    const free = await reply(t, fresh.caseId, { text: 'Let me check that bill' });
    assert.equal(free.statusCode, 201, free.body);
    assert.deepEqual(await outbound(t, fresh.caseId), [{ text: 'Let me check that bill', metadata: null }]);

    const t2 = await given.tenant(app);
    const later = await messagingCase(t2, type, 30);
    const [closed] = await options(t2, later.caseId);
    assert.equal(closed.window.open, false);
    const tagged = await reply(t2, later.caseId, { text: 'The refund is on its way' });
    assert.equal(tagged.statusCode, 201, tagged.body);
    assert.deepEqual(await outbound(t2, later.caseId), [
      { text: 'The refund is on its way', metadata: { tag: 'HUMAN_AGENT' } },
    ]);

    const t3 = await given.tenant(app);
    const old = await messagingCase(t3, type, 8 * 24);
    const refused = await reply(t3, old.caseId, { text: 'Are you still there?' });
    assert.equal(refused.statusCode, 422, refused.body);
    assert.equal(refused.json().error.code, 'reply_window_closed');
    assert.match(refused.json().error.message, /within 7 days/);
    assert.deepEqual(await outbound(t3, old.caseId), [], `${type}: nothing stored`);
  }
});

test('a template must be one of the channel’s, in its language, with exactly its parameters, none WhatsApp would refuse', async () => {
  const t = await given.tenant(app);
  const { caseId } = await whatsappCase(t, 30);
  const wrong: [Record<string, unknown>, number, string][] = [
    [{ name: 'made_up', language: 'en_GB', parameters: [] }, 422, 'template_not_found'],
    [{ name: 'case_update', language: 'fr_FR', parameters: ['a', 'b'] }, 422, 'template_not_found'],
    [{ name: 'case_update', language: 'en_GB', parameters: ['Pat'] }, 422, 'template_parameters_invalid'],
    [{ name: 'still_there', language: 'en_GB', parameters: ['extra'] }, 422, 'template_parameters_invalid'],
    [
      { name: 'case_update', language: 'en_GB', parameters: ['Pat\nSmith', '#1'] },
      422,
      'template_parameters_invalid',
    ],
    [
      { name: 'case_update', language: 'en_GB', parameters: ['Pat', '   '] },
      422,
      'template_parameters_invalid',
    ],
    [{ name: 'case_update', language: 'en_GB', parameters: ['Pat'], extra: 1 }, 400, 'unknown_field'],
  ];
  for (const [template, status, code] of wrong) {
    const res = await reply(t, caseId, { text: 'x', template });
    assert.equal(res.statusCode, status, `${JSON.stringify(template)}: ${res.body}`);
    assert.equal(res.json().error.code, code);
  }
  const note = await app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/messages`,
    headers: t.headers,
    payload: {
      kind: 'note',
      text: 'x',
      template: { name: 'still_there', language: 'en_GB', parameters: [] },
    },
  });
  assert.equal(note.json().error.code, 'reply_option_unavailable');
  assert.equal(
    (await reply(t, caseId, { text: 'x', visibility: 'public' })).json().error.code,
    'reply_option_unavailable',
  );
  assert.deepEqual(await outbound(t, caseId), []);
  const ok = await reply(t, caseId, {
    text: 'x',
    template: { name: 'still_there', language: 'en_GB', parameters: [] },
  });
  assert.equal(ok.statusCode, 201, ok.body);
});

test('the window counts the customer’s latest message to that number on any of their cases', async () => {
  const t = await given.tenant(app);
  const from = customerNumber();
  const { channel, caseId: old } = await whatsappCase(t, 40, from);
  await app.inject({
    method: 'PATCH',
    url: `/api/v1/cases/${old}`,
    headers: t.headers,
    payload: { status: 'resolved' },
  });
  const res = await app.inject({
    method: 'POST',
    url: channel.path,
    ...signedJson(
      whatsappMessage({
        phoneNumberId: channel.address,
        from,
        text: 'New problem: no TV',
        at: Date.now() - HOUR,
      }),
    ),
  });
  assert.equal(res.statusCode, 200);
  const list = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items;
  assert.equal(list.length, 2, 'a new case for a new problem');
  const [option] = await options(t, old);
  assert.equal(option.window.open, true, 'they wrote to us an hour ago');
  assert.equal((await reply(t, old, { text: 'About your earlier case: fixed now' })).statusCode, 201);
});

test('a WhatsApp reply over 4,096 characters is refused with reply_too_long', async () => {
  const t = await given.tenant(app);
  const { caseId } = await whatsappCase(t, 1);
  const res = await reply(t, caseId, { text: 'a'.repeat(4097) });
  assert.equal(res.statusCode, 422);
  assert.equal(res.json().error.code, 'reply_too_long');
});

test('X: after a mention a reply answers it publicly by default, or goes by DM; the timeline says which', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const us = { id: channel.address, screenName: 'NorthwindHelp' };
  const pat = { id: snowflake(), screenName: randomHandle(), name: 'Pat' };
  const tweetId = snowflake();
  const mention = await app.inject({
    method: 'POST',
    url: channel.path,
    ...signedX(xMention({ account: us, from: pat, text: '@NorthwindHelp my line is down', id: tweetId })),
  });
  assert.equal(mention.statusCode, 200);
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  const [option] = await options(t, caseId);
  assert.equal(option.recipient, pat.id);
  assert.equal(option.defaultVisibility, 'public');
  assert.deepEqual(option.visibilities, [
    { visibility: 'public', maxLength: 280, inReplyToPostId: tweetId },
    { visibility: 'direct', maxLength: 10_000 },
  ]);
  assert.equal((await reply(t, caseId, { text: 'Sorry! Sending you a DM.' })).statusCode, 201);
  assert.equal(
    (await reply(t, caseId, { text: 'Which postcode are you at?', visibility: 'direct' })).statusCode,
    201,
  );
  assert.deepEqual(await outbound(t, caseId), [
    { text: 'Sorry! Sending you a DM.', metadata: { visibility: 'public', inReplyToTweetId: tweetId } },
    { text: 'Which postcode are you at?', metadata: { visibility: 'direct' } },
  ]);
  const tooLong = await reply(t, caseId, { text: `${'🙂'.repeat(141)}`, visibility: 'public' });
  assert.equal(tooLong.json().error.code, 'reply_too_long', 'an emoji counts twice on X');
  const timeline = (await app.inject({ url: `/api/v1/cases/${caseId}/timeline`, headers: t.headers })).json();
  assert.deepEqual(
    timeline.items
      .filter((e: { message?: unknown }) => e.message)
      .map((e: { message: { kind: string; visibility?: string } }) => [e.message.kind, e.message.visibility]),
    [
      ['inbound', 'public'],
      ['outbound', 'public'],
      ['outbound', 'direct'],
    ],
  );
});

test('X: a customer who only sent DMs is answered by DM; a public reply has no post to answer', async () => {
  const t = await given.tenant(app);
  const channel = await xChannel(t);
  const dm = await app.inject({
    method: 'POST',
    url: channel.path,
    ...signedX(
      xDirectMessage({
        account: { id: channel.address, screenName: 'NorthwindHelp' },
        from: { id: snowflake(), screenName: randomHandle() },
        text: 'Hi',
      }),
    ),
  });
  assert.equal(dm.statusCode, 200);
  const caseId = (await app.inject({ url: '/api/v1/cases', headers: t.headers })).json().items[0].id;
  const [option] = await options(t, caseId);
  assert.equal(option.defaultVisibility, 'direct');
  assert.deepEqual(option.visibilities, [{ visibility: 'direct', maxLength: 10_000 }]);
  const pub = await reply(t, caseId, { text: 'Hello everyone', visibility: 'public' });
  assert.equal(pub.statusCode, 422);
  assert.equal(pub.json().error.code, 'reply_option_unavailable');
  const ok = await reply(t, caseId, { text: 'Hello' });
  assert.equal(ok.json().message.visibility, 'direct');
  const template = await reply(t, caseId, {
    text: 'x',
    template: { name: 'a', language: 'en', parameters: [] },
  });
  assert.equal(template.json().error.code, 'reply_option_unavailable');
});

test('an email case has no platform reply options, and its replies are untouched', async () => {
  const t = await given.tenant(app);
  const c = await given.contact(t);
  assert.deepEqual(await options(t, c.case.id), []);
  const res = await reply(t, c.case.id, { text: 'Thanks for writing' });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().message.visibility, undefined);
  assert.equal(
    (await app.inject({ url: '/api/v1/cases/999999/reply-options', headers: t.headers })).statusCode,
    404,
  );
});
