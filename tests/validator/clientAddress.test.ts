/** The client address the direct path keys on: the socket's, one spelling per client. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress } from '../../validator/httpIo.ts';

const from = (remoteAddress: string | undefined, headers: Record<string, string> = {}) => ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  it('writes IPv4-mapped IPv6 as IPv4 and keeps real IPv6 as is', () => {
    expect(clientAddress(from('::ffff:10.0.0.5'))).toBe('10.0.0.5');
    expect(clientAddress(from('10.0.0.5'))).toBe('10.0.0.5');
    expect(clientAddress(from('2001:db8::1'))).toBe('2001:db8::1');
  });
  it('ignores forwarded headers a client could write', () => {
    expect(clientAddress(from('10.0.0.5', { 'x-forwarded-for': '192.0.2.1', forwarded: 'for=192.0.2.1' }))).toBe('10.0.0.5');
  });
  it('names a socket that has already gone', () => {
    expect(clientAddress(from(undefined))).toBe('unknown');
  });
});
