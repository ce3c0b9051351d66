/**
 * The client address the direct path keys on (SPEC.md R11b, R11a's rule): the socket's, one spelling per
 * client; X-Forwarded-For only from a peer named a trusted proxy.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { NO_TRUSTED_PROXIES, parseTrustedProxies, type TrustedProxies } from '../../net/index.ts';
import { requestClientAddress } from '../../net/index.ts';

const from = (remoteAddress: string | undefined, headers: Record<string, string> = {}) => ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;
const addressOf = (req: IncomingMessage, proxies: TrustedProxies = NO_TRUSTED_PROXIES) => requestClientAddress(req, proxies).address;

function proxies(list: string): TrustedProxies {
  const parsed = parseTrustedProxies([list]);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.proxies;
}

describe('[R11b] the direct path client address', () => {
  it('writes IPv4-mapped IPv6 as IPv4 and keeps real IPv6 as is', () => {
    expect(addressOf(from('::ffff:10.0.0.5'))).toBe('10.0.0.5');
    expect(addressOf(from('10.0.0.5'))).toBe('10.0.0.5');
    expect(addressOf(from('2001:db8::1'))).toBe('2001:db8::1');
  });
  it('ignores forwarded headers a client could write when no proxy is trusted', () => {
    expect(addressOf(from('10.0.0.5', { 'x-forwarded-for': '192.0.2.1', forwarded: 'for=192.0.2.1' }))).toBe('10.0.0.5');
  });
  it('believes X-Forwarded-For from a trusted proxy only', () => {
    const caddy = proxies('127.0.0.1');
    expect(requestClientAddress(from('::ffff:127.0.0.1', { 'x-forwarded-for': '192.0.2.1' }), caddy)).toEqual({ address: '192.0.2.1', source: 'forwarded' });
    expect(requestClientAddress(from('10.0.0.5', { 'x-forwarded-for': '192.0.2.1' }), caddy)).toEqual({ address: '10.0.0.5', source: 'socket' });
    expect(requestClientAddress(from('127.0.0.1'), caddy)).toEqual({ address: '127.0.0.1', source: 'missing_header' });
  });
  it('names a socket that has already gone', () => {
    expect(addressOf(from(undefined))).toBe('unknown');
  });
});
