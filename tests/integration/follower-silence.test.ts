/**
 * The laptop validator survives a laptop sleep or a network that drops without closing (issue 9):
 * its connection to the relay goes silent rather than closed, and TCP alone may not notice for
 * many minutes. A TCP forwarder between the validator's link and a real relay stops forwarding
 * (both ways, sockets left open): the link notices the silence, connects again, and is back up.
 */
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTrustStore, MemoryUpdateStore } from '../../relay/index.ts';
import { RelayLink } from '../../validator/follow/RelayLink.ts';
import { serveRelay } from '../helpers/inProcessRelay.ts';
import { waitFor } from '../helpers/processes.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Forwards TCP to `port`; `freeze()` stops forwarding on the connections open now, without closing them. */
async function forwarder(port: number): Promise<{ port: number; freeze(): void; connections: number }> {
  const open: { client: Socket; upstream: Socket }[] = [];
  const state = { connections: 0 };
  const server = createNetServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    open.push({ client, upstream });
    state.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const { client, upstream } of open) (client.destroy(), upstream.destroy());
    return new Promise((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      // A sleeping laptop: nothing flows either way, and nobody sends a FIN.
      for (const { client, upstream } of open) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    get connections() {
      return state.connections;
    },
  };
}

describe('the validator’s link to the relay', () => {
  it('takes a silent connection for dead, connects again and is back up', async () => {
    const trust = new MemoryTrustStore();
    const validator = await new TestValidator('sleepy-laptop').enrolIn(trust);
    const relay = await serveRelay({ store: new MemoryUpdateStore(), trust, limits: { keepAliveMs: 200 } });
    cleanups.push(() => relay.close());
    const proxy = await forwarder(relay.port);
    const room = randomUUID();
    const statuses: boolean[] = [];
    const logs: string[] = [];
    const link = new RelayLink({
      relayUrl: `ws://127.0.0.1:${proxy.port}`,
      room,
      signingSecretKey: validator.identity.secretKey,
      grant: () => validator.grant(room),
      onItems: () => {},
      onStatus: (isUp) => statuses.push(isUp),
      log: (line) => logs.push(line),
      silenceTimeoutMs: 1000,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    cleanups.push(() => link.close());
    await waitFor(() => link.isUp, { message: 'the link to be up' });
    proxy.freeze();
    await waitFor(() => statuses.includes(false), { timeoutMs: 10_000, message: 'the link to notice the silence' });
    expect(logs.some((line) => /heard nothing from the relay/.test(line))).toBe(true);
    await waitFor(() => link.isUp && proxy.connections >= 2, { timeoutMs: 10_000, message: 'the link to be up again on a new connection' });
    // Exactly one reconnection: a live connection (pongs, the relay's keep-alive) is never taken for dead.
    expect(statuses).toEqual([true, false, true]);
    expect(proxy.connections).toBe(2);
  });
});
