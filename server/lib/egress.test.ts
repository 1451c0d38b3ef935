import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EgressRefused, resolveEgress, resolveEgressUrl } from './egress.ts';

const refused = async (host: string, pattern: RegExp) => {
  await assert.rejects(resolveEgress(host), (err: unknown) => {
    assert.ok(err instanceof EgressRefused, `${host}: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
};

test('SS-01: loopback, private, link-local and unspecified addresses are refused in every spelling', async (t) => {
  const saved = process.env.RAPPORT_EGRESS_ALLOW;
  process.env.RAPPORT_EGRESS_ALLOW = '';
  t.after(() => {
    process.env.RAPPORT_EGRESS_ALLOW = saved;
  });
  await refused('127.0.0.1', /loopback/);
  await refused('0x7f000001', /127\.0\.0\.1 is a loopback/);
  await refused('2130706433', /127\.0\.0\.1 is a loopback/);
  await refused('127.1', /127\.0\.0\.1 is a loopback/);
  await refused('[::1]', /loopback/);
  await refused('::ffff:127.0.0.1', /127\.0\.0\.1 is a loopback/);
  await refused('0.0.0.0', /unspecified/);
  await refused('10.20.30.40', /private network/);
  await refused('192.168.1.1', /private network/);
  await refused('169.254.169.254', /link-local/);
  await refused('fd00::1', /private network/);
  // A name is judged by what it resolves to: localhost is this machine.
  await refused('localhost', /loopback/);
  await refused('no-such-host.invalid', /does not resolve/);
  await assert.rejects(resolveEgressUrl('http://169.254.169.254/latest/meta-data'), /link-local/);
  await assert.rejects(resolveEgressUrl('file:///etc/passwd'), /only http and https/);
  await assert.rejects(resolveEgressUrl('gopher://example.com/'), /only http and https/);
});

test('a public address passes and is what the caller connects to; operators may allow a range', async (t) => {
  const saved = process.env.RAPPORT_EGRESS_ALLOW;
  t.after(() => {
    process.env.RAPPORT_EGRESS_ALLOW = saved;
  });
  process.env.RAPPORT_EGRESS_ALLOW = '';
  assert.deepEqual(await resolveEgress('93.184.215.14'), { host: '93.184.215.14', address: '93.184.215.14' });
  assert.deepEqual(await resolveEgress('[2606:4700::1111]'), {
    host: '2606:4700::1111',
    address: '2606:4700::1111',
  });
  process.env.RAPPORT_EGRESS_ALLOW = '10.1.0.0/16, 127.0.0.1';
  assert.equal((await resolveEgress('10.1.2.3')).address, '10.1.2.3');
  assert.equal((await resolveEgress('0x7f000001')).address, '127.0.0.1');
  await refused('10.2.0.1', /private network/);
  await refused('127.0.0.2', /loopback/);
  process.env.RAPPORT_EGRESS_ALLOW = 'not-a-range';
  await assert.rejects(resolveEgress('10.1.2.3'), /RAPPORT_EGRESS_ALLOW: "not-a-range"/);
});
