/**
 * Which address a request comes from (SPEC.md R11a): the socket's peer, unless that peer is a
 * proxy the operator trusts (`--trusted-proxy`), in which case X-Forwarded-For names the
 * client. Behind a load balancer every socket's peer is the balancer, so without this R11's
 * per-address caps, and the validator's direct-path rate limit and `shared_address` flag, would
 * count a whole campus as one address. Pure: no I/O, no clock.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, SocketAddress, isIP } from 'node:net';

/** The proxies whose X-Forwarded-For the relay and the validator believe. */
export interface TrustedProxies {
  /** The entries in canonical spelling (`10.0.0.0/8`, `fd00::/8`), for the banner and logs. */
  readonly entries: readonly string[];
  /** True when `address` (any spelling, IPv4-mapped IPv6 included) is one of them. */
  has(address: string): boolean;
}

/** How `clientAddress` chose: the peer's own address, or X-Forwarded-For, or the peer's because the header was unusable. */
export type AddressSource = 'socket' | 'forwarded' | 'missing_header' | 'malformed_header';

export interface ClientAddress {
  /** Canonical: IPv4 dotted, IPv6 compressed lowercase; `unknown` when the socket has gone. */
  address: string;
  source: AddressSource;
}

export type ParsedProxies = { ok: true; proxies: TrustedProxies } | { ok: false; entry: string; error: string };

/** The environment variable `--trusted-proxy` falls back to, on every command that takes it. */
export const TRUSTED_PROXIES_ENV = 'ROLLCALL_TRUSTED_PROXIES';
/** Its name when only the relay read it; still read by `rollcall relay` and `rollcall start` when the new one is unset. */
export const OLD_TRUSTED_PROXIES_ENV = 'ROLLCALL_RELAY_TRUSTED_PROXIES';

/** The form an entry must take, for error messages. */
export const TRUSTED_PROXY_FORM = 'an IP address or CIDR range, e.g. 10.0.0.5, 10.0.0.0/8, fd00::1 or fd00::/8';

/**
 * The canonical spelling of an IP address, or undefined when `text` is not one. IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`, what a socket listening on `::` reports) is written as IPv4, so one client
 * has one spelling and one quota.
 */
export function canonicalAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family === 0 || text.includes('%')) return undefined;
  // Node's isIP takes IPv4 only in plain dotted decimal (no leading zeros): already canonical.
  if (family === 4) return text;
  const address = new SocketAddress({ address: text, family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  return mapped ? mapped[1] : address;
}

/** One `--trusted-proxy` entry, `address` or `address/prefix`, as a canonical range; undefined when malformed. */
function parseEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry);
  if (!match) return undefined;
  const written = match[1]!;
  const address = canonicalAddress(written);
  if (address === undefined) return undefined;
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  let prefix = match[2] === undefined ? (family === 'ipv4' ? 32 : 128) : Number(match[2]);
  // An IPv4-mapped range, ::ffff:10.0.0.0/104, is the IPv4 range 10.0.0.0/8 (one shorter than
  // /96 would reach past IPv4: refused below as a prefix out of range).
  if (family === 'ipv4' && isIP(written) === 6 && match[2] !== undefined) prefix -= 96;
  if (prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

/**
 * Parses `--trusted-proxy` values: each a comma-separated list of entries (empty items are
 * skipped, so a trailing comma is harmless). The first malformed entry is named in the refusal.
 */
export function parseTrustedProxies(lists: readonly string[]): ParsedProxies {
  const blockList = new BlockList();
  const entries: string[] = [];
  for (const list of lists) {
    for (const item of list.split(',')) {
      const entry = item.trim();
      if (entry === '') continue;
      const range = parseEntry(entry);
      if (!range) return { ok: false, entry, error: `"${entry}" is not ${TRUSTED_PROXY_FORM}` };
      const isSingle = range.prefix === (range.family === 'ipv4' ? 32 : 128);
      if (isSingle) blockList.addAddress(range.address, range.family);
      else blockList.addSubnet(range.address, range.prefix, range.family);
      entries.push(isSingle ? range.address : `${range.address}/${range.prefix}`);
    }
  }
  return {
    ok: true,
    proxies: {
      entries,
      has: (address) => {
        const canonical = canonicalAddress(address);
        return canonical !== undefined && blockList.check(canonical, isIP(canonical) === 4 ? 'ipv4' : 'ipv6');
      },
    },
  };
}

/** No proxy is trusted: every request is counted under its socket's address. */
export const NO_TRUSTED_PROXIES: TrustedProxies = { entries: [], has: () => false };

/**
 * The client address of a request. `peer` is the socket's remote address, `forwardedFor` the
 * request's X-Forwarded-For (Node joins repeated headers with commas; an array is joined too).
 *
 * - The peer is not a trusted proxy: its address, and X-Forwarded-For is ignored (a phone must
 *   not choose its own address and escape its quota).
 * - The peer is a trusted proxy: walking X-Forwarded-For from the right (each proxy appends the
 *   address it received the request from), the first address that is not a trusted proxy. When
 *   every address is a trusted proxy, the left-most (the request began at a proxy).
 * - A trusted peer with no header, or with an element that is not an IP address before a client
 *   was found: the peer's own address, marked so the caller can report a misconfigured proxy.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | readonly string[] | undefined, proxies: TrustedProxies): ClientAddress {
  const peerAddress = (peer === undefined ? undefined : canonicalAddress(peer)) ?? peer ?? 'unknown';
  if (!proxies.has(peerAddress)) return { address: peerAddress, source: 'socket' };
  const header = typeof forwardedFor === 'string' ? forwardedFor : forwardedFor?.join(',');
  if (header === undefined || header.trim() === '') return { address: peerAddress, source: 'missing_header' };
  const hops = header.split(',');
  let leftMost: string | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = canonicalAddress(hops[i]!.trim());
    if (hop === undefined) return { address: peerAddress, source: 'malformed_header' };
    if (!proxies.has(hop)) return { address: hop, source: 'forwarded' };
    leftMost = hop;
  }
  return { address: leftMost!, source: 'forwarded' };
}

/**
 * The client address of an HTTP request (an upgrade, an enrolment, a direct submission): the
 * socket's, unless its peer is a trusted proxy, whose X-Forwarded-For then names the client.
 * Never used to decide who is the professor (the validator's ProfessorAuth reads the socket).
 */
export function requestClientAddress(req: IncomingMessage, proxies: TrustedProxies): ClientAddress {
  return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
}
