/**
 * Where the server may connect when an admin names the place (SECURITY.md SS-01): an IMAP host,
 * a platform's API base URL. Only public unicast addresses, unless the operator allows a range
 * (RAPPORT_EGRESS_ALLOW, e.g. "10.1.0.0/16,127.0.0.1" for a mail server on the private network).
 *
 * Checked when the setting is saved (a clear 422) and again at every connection, where the
 * caller connects to the address checked here rather than to the name, so a name that resolves
 * differently the second time (DNS rebinding) cannot slip through.
 */
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export class EgressRefused extends Error {
  readonly host: string;
  /** forbidden: resolves to an address we do not reach; unresolved: no address (yet); invalid: not a host. */
  readonly kind: 'forbidden' | 'unresolved' | 'invalid';
  constructor(host: string, reason: string, kind: EgressRefused['kind'] = 'forbidden') {
    super(`${host}: ${reason}`);
    this.name = 'EgressRefused';
    this.host = host;
    this.kind = kind;
  }
}

export interface EgressTarget {
  /** The name as configured, for TLS (SNI and certificate check) and logs. */
  host: string;
  /** The address to connect to. */
  address: string;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** The operator's allowed ranges, from RAPPORT_EGRESS_ALLOW (addresses or CIDR, comma-separated). */
export function parseEgressAllow(text: string | undefined): Range[] {
  if (!text?.trim()) return [];
  return text.split(',').map((part) => {
    const item = part.trim();
    try {
      if (item.includes('/')) return ipaddr.parseCIDR(item);
      const address = ipaddr.parse(item);
      return [address, address.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new Error(`RAPPORT_EGRESS_ALLOW: "${item}" is not an address or CIDR range`);
    }
  });
}

let cached: { text: string | undefined; ranges: Range[] } | null = null;

/** Read when used, so a test or an operator's environment applies without a restart of this module. */
function allowedRanges(): Range[] {
  const text = process.env.RAPPORT_EGRESS_ALLOW;
  if (cached === null || cached.text !== text) cached = { text, ranges: parseEgressAllow(text) };
  return cached.ranges;
}

/** Why an address may not be reached, or null when it may. */
export function refusal(text: string): string | null {
  let address = ipaddr.parse(text);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
  }
  for (const [base, bits] of allowedRanges()) {
    if (base.kind() === address.kind() && address.match(base, bits)) return null;
  }
  const range = address.range();
  if (range === 'unicast') return null;
  const names: Record<string, string> = {
    loopback: 'a loopback address (this machine)',
    private: 'a private network address',
    uniqueLocal: 'a private network address',
    linkLocal: 'a link-local address (cloud metadata services live here)',
    unspecified: 'the unspecified address (this machine)',
    carrierGradeNat: 'a carrier-grade NAT address',
    multicast: 'a multicast address',
    broadcast: 'a broadcast address',
    reserved: 'a reserved address',
  };
  return `${address.toString()} is ${names[range] ?? `not a public address (${range})`}`;
}

/**
 * The host's one address to connect to, when every address it resolves to may be reached.
 * Numeric forms a browser or resolver would accept (0x7f000001, 2130706433, 127.1) are read as
 * the address they mean.
 */
export async function resolveEgress(hostInput: string): Promise<EgressTarget> {
  const host = normaliseHost(hostInput);
  if (!host) throw new EgressRefused(hostInput, 'not a host name', 'invalid');
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await lookup(host, { all: true, verbatim: true })
        .then((list) => list.map((a) => a.address))
        .catch(() => {
          throw new EgressRefused(host, 'the name does not resolve', 'unresolved');
        });
  for (const address of addresses) {
    const reason = refusal(address);
    if (reason) throw new EgressRefused(host, reason);
  }
  return { host, address: addresses[0]! };
}

/** The URL's host checked as resolveEgress does; only http and https. */
export async function resolveEgressUrl(url: string): Promise<EgressTarget & { url: URL }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EgressRefused(url, 'not a URL', 'invalid');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new EgressRefused(url, 'only http and https URLs', 'invalid');
  }
  return { ...(await resolveEgress(parsed.hostname)), url: parsed };
}

/** Lower-case name, or the canonical form of an IP literal (WHATWG URL host parsing). */
function normaliseHost(input: string): string | null {
  const trimmed = input.trim().replace(/^\[|\]$/g, '');
  if (!trimmed) return null;
  if (ipaddr.IPv6.isValid(trimmed)) return ipaddr.parse(trimmed).toString();
  try {
    // The http parser turns every IPv4 spelling (hex, octal, dotless, short) into dotted form.
    const host = new URL(`http://${trimmed}/`).hostname;
    return host.startsWith('[') ? ipaddr.parse(host.slice(1, -1)).toString() : host;
  } catch {
    return null;
  }
}
