/**
 * The address R11 and the direct path count (net/clientAddress.ts, SPEC.md R11a, R11b): the
 * socket's peer, or, when the peer is a trusted proxy, the right-most X-Forwarded-For address
 * that is not a trusted proxy.
 */
import { describe, expect, it } from 'vitest';
import { NO_TRUSTED_PROXIES, canonicalAddress, clientAddress, parseTrustedProxies, type TrustedProxies } from '../../net/index.ts';

function proxies(...lists: string[]): TrustedProxies {
  const parsed = parseTrustedProxies(lists);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.proxies;
}

const balancer = proxies('127.0.0.1, 10.0.0.0/8', 'fd00::/8');

describe('[R11a] the client address of a request', () => {
  it.each([
    // [peer, X-Forwarded-For, expected address, expected source]
    ['198.51.100.7', undefined, '198.51.100.7', 'socket'],
    ['198.51.100.7', '10.9.9.9', '198.51.100.7', 'socket'],
    ['::ffff:198.51.100.7', '10.9.9.9', '198.51.100.7', 'socket'],
    ['127.0.0.1', '203.0.113.5', '203.0.113.5', 'forwarded'],
    ['::ffff:127.0.0.1', '203.0.113.5', '203.0.113.5', 'forwarded'],
    ['127.0.0.1', '::ffff:203.0.113.5', '203.0.113.5', 'forwarded'],
    ['127.0.0.1', '1.1.1.1, 203.0.113.5', '203.0.113.5', 'forwarded'],
    ['127.0.0.1', '1.1.1.1, 203.0.113.5, 10.1.2.3', '203.0.113.5', 'forwarded'],
    ['127.0.0.1', '203.0.113.5,10.1.2.3,fd00::7', '203.0.113.5', 'forwarded'],
    ['10.1.2.3', ' 2001:DB8:0:0::1 ', '2001:db8::1', 'forwarded'],
    ['fd00::2', '2001:db8::1', '2001:db8::1', 'forwarded'],
    ['127.0.0.1', '10.1.1.1, 10.2.2.2', '10.1.1.1', 'forwarded'],
    ['127.0.0.1', undefined, '127.0.0.1', 'missing_header'],
    ['127.0.0.1', '  ', '127.0.0.1', 'missing_header'],
    ['127.0.0.1', 'unknown', '127.0.0.1', 'malformed_header'],
    ['127.0.0.1', '203.0.113.5:4711', '127.0.0.1', 'malformed_header'],
    ['127.0.0.1', '203.0.113.5, , 10.1.2.3', '127.0.0.1', 'malformed_header'],
    ['127.0.0.1', 'fe80::1%eth0', '127.0.0.1', 'malformed_header'],
    // Left of the client, anything goes: a phone may write what it likes there.
    ['127.0.0.1', 'garbage, 203.0.113.5', '203.0.113.5', 'forwarded'],
    ['2001:db8::9', '203.0.113.5', '2001:db8::9', 'socket'],
  ] as const)('peer %s with X-Forwarded-For %j → %s (%s)', (peer, forwardedFor, address, source) => {
    expect(clientAddress(peer, forwardedFor, balancer)).toEqual({ address, source });
  });

  it('joins repeated X-Forwarded-For headers in order', () => {
    expect(clientAddress('127.0.0.1', ['203.0.113.5', '198.51.100.7, 10.0.0.1'], balancer)).toEqual({ address: '198.51.100.7', source: 'forwarded' });
  });

  it('ignores X-Forwarded-For when no proxy is trusted, and names a socket that has gone', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.5', NO_TRUSTED_PROXIES)).toEqual({ address: '127.0.0.1', source: 'socket' });
    expect(clientAddress(undefined, '203.0.113.5', balancer)).toEqual({ address: 'unknown', source: 'socket' });
  });
});

describe('[R11a] --trusted-proxy entries', () => {
  it('takes IPv4 and IPv6 addresses and ranges, in several lists, skipping empty items', () => {
    const parsed = proxies('192.0.2.1,10.0.0.0/8, ', '2001:DB8::/32', 'fd00::1', '::ffff:172.16.0.0/108', '::ffff:192.0.2.9');
    expect(parsed.entries).toEqual(['192.0.2.1', '10.0.0.0/8', '2001:db8::/32', 'fd00::1', '172.16.0.0/12', '192.0.2.9']);
    for (const address of ['192.0.2.1', '::ffff:192.0.2.1', '10.255.0.1', '2001:db8:ffff::1', 'fd00::1', '172.31.1.1', '192.0.2.9']) expect(parsed.has(address), address).toBe(true);
    for (const address of ['192.0.2.2', '11.0.0.1', '2001:db9::1', 'fd00::2', '172.32.0.1', 'not an address']) expect(parsed.has(address), address).toBe(false);
  });

  it('writes an IPv4-mapped address as IPv4 and IPv6 compressed in lowercase', () => {
    expect(canonicalAddress('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress('localhost')).toBeUndefined();
  });

  it.each(['localhost', 'caddy.campus.example', '10.0.0.0/33', 'fd00::/129', '10.0.0.1/', '10.0.0.0/8/8', '10.0.0.256', '*', 'fe80::1%eth0', '10.0.0.1:80', '::ffff:10.0.0.0/64'])('refuses %j and names it', (entry) => {
    const parsed = parseTrustedProxies([`127.0.0.1,${entry}`]);
    expect(parsed).toEqual({ ok: false, entry, error: expect.stringContaining(`"${entry}" is not an IP address or CIDR range, e.g. 10.0.0.5`) });
  });
});
