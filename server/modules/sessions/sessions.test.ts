import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import * as given from '../../../tests/support/given.ts';
import { startTestApp } from '../../../tests/support/test-app.ts';
import { rows } from '../../db/client.ts';
import { createToken, revokeToken } from '../tenants/tenants.service.ts';

const { app } = await startTestApp();

const signIn = (payload: Record<string, unknown>, target = app) =>
  target.inject({ method: 'POST', url: '/api/v1/session', payload });

const whoAmI = (cookie: string) => app.inject({ url: '/api/v1/session', headers: { cookie } });

test('signing in sets an HttpOnly, SameSite=Lax session cookie and returns the user and a CSRF token', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t, 'agent', { name: 'Morgan Vale' });
  const res = await signIn({
    tenant: t.slug.toUpperCase(),
    email: agent.email.toUpperCase(),
    password: agent.password,
  });
  assert.equal(res.statusCode, 201, res.body);
  const cookie = res.cookies.find((c) => c.name === 'rapport_session');
  assert.ok(cookie?.value, 'a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');
  assert.ok(cookie.maxAge && cookie.maxAge > 0);
  const body = res.json();
  assert.equal(body.user.id, agent.id);
  assert.equal(body.user.displayName, 'Morgan Vale');
  assert.equal(body.tenant.slug, t.slug);
  assert.ok(body.csrfToken.length >= 20);
  assert.ok(!JSON.stringify(body).includes(cookie.value), 'the session token is only in the cookie');
  const me = await whoAmI(`rapport_session=${cookie.value}`);
  assert.equal(me.statusCode, 200);
  assert.equal(me.json().user.id, agent.id);
  assert.equal(me.json().csrfToken, body.csrfToken);
});

test('a wrong password, an unknown email, an unknown tenant and an inactive account all get the same 401', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t);
  const gone = await given.user(t);
  await app.database.db.execute(
    sql`update users set active = false where tenant_id = ${t.id} and id = ${gone.id}`,
  );
  const other = await given.tenant(app);
  const attempts = [
    { tenant: t.slug, email: agent.email, password: 'not the password' },
    { tenant: t.slug, email: 'nobody@staff.example', password: agent.password },
    { tenant: 'no-such-tenant', email: agent.email, password: agent.password },
    { tenant: other.slug, email: agent.email, password: agent.password },
    { tenant: t.slug, email: gone.email, password: gone.password },
  ];
  const messages = new Set<string>();
  for (const attempt of attempts) {
    const res = await signIn(attempt);
    assert.equal(res.statusCode, 401, JSON.stringify(attempt));
    assert.equal(res.json().error.code, 'invalid_credentials');
    assert.equal(res.cookies.length, 0, 'no cookie on a failed sign-in');
    messages.add(res.json().error.message);
  }
  assert.equal(messages.size, 1, 'the answer does not say which part was wrong');
});

test('a cookie-authenticated write without the right x-csrf-token is refused with 403 and changes nothing', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t);
  const session = await given.signedIn(t, agent);
  const otherSession = await given.signedIn(t, await given.user(t));
  const { case: kase } = await given.contact(t);
  const patch = (headers: Record<string, string>) =>
    app.inject({
      method: 'PATCH',
      url: `/api/v1/cases/${kase.id}`,
      headers,
      payload: { priority: 'urgent' },
    });
  const tokenOfAnotherSession = otherSession.write['x-csrf-token'];
  for (const headers of [
    session.read,
    { ...session.read, 'x-csrf-token': '' },
    { ...session.read, 'x-csrf-token': 'wrong' },
    { ...session.read, 'x-csrf-token': tokenOfAnotherSession },
  ]) {
    const res = await patch(headers);
    assert.equal(res.statusCode, 403, JSON.stringify(headers));
    assert.equal(res.json().error.code, 'csrf_failed');
  }
  const contact = await app.inject({
    method: 'POST',
    url: '/api/v1/contacts',
    headers: session.read,
    payload: { channel: 'email', from: { identity: 'csrf@example.com' }, text: 'forged' },
  });
  assert.equal(contact.statusCode, 403);
  const signOut = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: session.read });
  assert.equal(signOut.statusCode, 403, 'a forged sign-out is refused too');

  const after = await app.inject({ url: `/api/v1/cases/${kase.id}`, headers: session.read });
  assert.equal(after.json().priority, 'normal');
  assert.equal(after.json().updatedAt, kase.updatedAt);
  const [customers] = await rows<{ n: number }>(
    app.database.db,
    sql`select count(*)::int as n from customers where tenant_id = ${t.id}`,
  );
  assert.equal(customers?.n, 1, 'the forged contact stored nothing');
  assert.equal((await whoAmI(session.cookie)).statusCode, 200, 'the session is still live');

  const ok = await patch(session.write);
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().priority, 'urgent');
});

test('API tokens need no CSRF token', async () => {
  const t = await given.tenant(app);
  const { case: kase } = await given.contact(t);
  const agentToken = await given.token(t, 'agent');
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/v1/cases/${kase.id}`,
    headers: agentToken,
    payload: { priority: 'high' },
  });
  assert.equal(res.statusCode, 200, res.body);
});

test('signing out ends the session: the cookie then gets 401', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t);
  const session = await given.signedIn(t, agent);
  const second = await given.signedIn(t, agent);
  const res = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: session.write });
  assert.equal(res.statusCode, 204);
  const cleared = res.cookies.find((c) => c.name === 'rapport_session');
  assert.equal(cleared?.value, '', 'the browser is told to drop the cookie');
  const after = await whoAmI(session.cookie);
  assert.equal(after.statusCode, 401);
  assert.equal(after.json().error.code, 'unauthenticated');
  const list = await app.inject({ url: '/api/v1/cases', headers: session.read });
  assert.equal(list.statusCode, 401);
  assert.equal(
    (await whoAmI(second.cookie)).statusCode,
    200,
    'signing out here leaves other devices signed in',
  );
});

test('changing the password signs out every other session; the new cookie works', async () => {
  const t = await given.tenant(app);
  const agent = await given.user(t);
  const here = await given.signedIn(t, agent);
  const laptop = await given.signedIn(t, agent);
  const change = (payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/api/v1/session/password', headers: here.write, payload });

  const wrong = await change({ currentPassword: 'not it at all', newPassword: 'a much better passphrase' });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().error.code, 'invalid_credentials');
  const short = await change({ currentPassword: agent.password, newPassword: 'short' });
  assert.equal(short.statusCode, 400);
  assert.equal(short.json().error.code, 'validation_failed');
  assert.equal((await whoAmI(laptop.cookie)).statusCode, 200, 'failed changes sign nobody out');

  const res = await change({ currentPassword: agent.password, newPassword: 'a much better passphrase' });
  assert.equal(res.statusCode, 200, res.body);
  const fresh = res.cookies.find((c) => c.name === 'rapport_session');
  assert.ok(fresh?.value);
  assert.equal(fresh.httpOnly, true);
  assert.equal((await whoAmI(laptop.cookie)).statusCode, 401, 'the other session is signed out');
  assert.equal((await whoAmI(here.cookie)).statusCode, 401, 'the old cookie here is replaced');
  const now = await whoAmI(`rapport_session=${fresh.value}`);
  assert.equal(now.statusCode, 200);
  assert.equal(now.json().csrfToken, res.json().csrfToken);

  assert.equal(
    (await signIn({ tenant: t.slug, email: agent.email, password: agent.password })).statusCode,
    401,
  );
  const again = await signIn({ tenant: t.slug, email: agent.email, password: 'a much better passphrase' });
  assert.equal(again.statusCode, 201);
});

test('sign-in is rate limited: after the limit a 429 rate_limited with Retry-After, even with the right password', async () => {
  const limited = (await startTestApp({ loginLimit: 3 })).app;
  const t = await given.tenant(limited);
  const agent = await given.user(t);
  for (let i = 0; i < 3; i++) {
    const res = await signIn({ tenant: t.slug, email: agent.email, password: 'guess number one' }, limited);
    assert.equal(res.statusCode, 401);
  }
  const blocked = await signIn({ tenant: t.slug, email: agent.email, password: agent.password }, limited);
  assert.equal(blocked.statusCode, 429, blocked.body);
  assert.equal(blocked.json().error.code, 'rate_limited');
  assert.ok(Number(blocked.headers['retry-after']) > 0, `Retry-After: ${blocked.headers['retry-after']}`);
  assert.equal(blocked.cookies.length, 0);
});

test('a revoked API token gets 401 as soon as the revocation commits, though the token was just used', async () => {
  const t = await given.tenant(app);
  const created = await createToken(app.database.db, t.id, { name: 'zapier', role: 'agent' });
  const headers = { authorization: `Bearer ${created.secret}` };
  assert.equal((await app.inject({ url: '/api/v1/cases', headers })).statusCode, 200);
  assert.equal(await revokeToken(app.database.db, t.id, 'zapier'), true);
  // The revocation's notice reaches the server's token cache asynchronously (on PostgreSQL over
  // the LISTEN connection): give it a moment, far below the cache's ten-second lifetime.
  const started = Date.now();
  let res = await app.inject({ url: '/api/v1/cases', headers });
  while (res.statusCode === 200 && Date.now() - started < 1000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    res = await app.inject({ url: '/api/v1/cases', headers });
  }
  assert.equal(res.statusCode, 401, `still accepted ${Date.now() - started} ms after revocation`);
  assert.equal(res.json().error.code, 'unauthenticated');
  const tampered = await app.inject({
    url: '/api/v1/cases',
    headers: { authorization: `${t.headers.authorization}x` },
  });
  assert.equal(tampered.statusCode, 401);
});

test('a deactivated user’s session, an expired session and a tampered cookie get 401', async () => {
  const t = await given.tenant(app);
  const leaver = await given.user(t);
  const session = await given.signedIn(t, leaver);
  assert.equal((await whoAmI(session.cookie)).statusCode, 200);
  await app.database.db.execute(
    sql`update users set active = false where tenant_id = ${t.id} and id = ${leaver.id}`,
  );
  assert.equal((await whoAmI(session.cookie)).statusCode, 401);

  const stayer = await given.user(t);
  const old = await given.signedIn(t, stayer);
  assert.equal((await whoAmI(`${old.cookie}x`)).statusCode, 401);
  await app.database.db.execute(
    sql`update sessions set expires_at = now() - interval '1 second' where tenant_id = ${t.id} and user_id = ${stayer.id}`,
  );
  assert.equal((await whoAmI(old.cookie)).statusCode, 401);
});

test('every response carries the security headers: a strict content policy, no framing, no sniffing', async () => {
  for (const url of ['/', '/api/v1/health', '/api/v1/no-such-route']) {
    const res = await app.inject({ url });
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/, url);
    assert.match(csp, /script-src 'self'(;|$)/, url);
    assert.match(csp, /frame-ancestors 'none'/, url);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN', url);
  }
});
