/**
 * The load balancer of a campus (tests/helpers/caddy.ts `startCaddyBalancer`): Caddy's
 * reverse_proxy over real `rollcall relay` processes spreads WebSockets, and skips a relay that
 * was SIGKILLed (the dial is retried on another upstream) or that drains (/readyz 503).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaddyBalancer } from '../helpers/caddy.ts';
import { missingTools } from '../helpers/https.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';

const missing = missingTools(['caddy']);
if (missing) console.warn(`SKIPPED load balancer tests: ${missing}`);

/** Connections each relay holds now (its /healthz). */
async function connections(relay: StartedProcess): Promise<number> {
  return ((await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { connections: number }).connections;
}

describe.skipIf(missing !== undefined)('Caddy in front of three relays', () => {
  const relays: StartedProcess[] = [];
  let balancer: StartedProcess;
  const clients: RawRelayClient[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) relays.push(await startRollcall(['relay', '--data', tempDir('rollcall-lb-relay-'), '--drain-seconds', '5']));
    balancer = await startCaddyBalancer(relays.map((relay) => relay.port), { healthIntervalMs: 200 });
  });

  afterAll(async () => {
    for (const client of clients) client.end();
    await balancer?.stop();
    for (const relay of relays) await relay.stop();
    removeTempDirs();
  });

  /** An unfiltered peer through Caddy: the relay takes the upgrade and sends its challenge (R10). */
  async function connectThroughCaddy(): Promise<RawRelayClient> {
    const client = await RawRelayClient.connect(balancer.baseUrl, crypto.randomUUID());
    clients.push(client);
    await waitFor(() => client.challenge, { message: 'the relay’s challenge through Caddy' });
    return client;
  }

  it('spreads WebSockets over every relay (least_conn)', async () => {
    for (let i = 0; i < 6; i++) await connectThroughCaddy();
    const counts = await Promise.all(relays.map(connections));
    expect(counts.every((count) => count >= 1)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('skips a SIGKILLed relay: every new connection lands on a live one', async () => {
    for (const client of clients.splice(0)) client.end();
    expect(await relays[0]!.kill()).toBe('SIGKILL');
    // No wait for a health check: a refused dial is retried on another upstream at once.
    for (let i = 0; i < 6; i++) await connectThroughCaddy();
    expect((await Promise.all(relays.slice(1).map(connections))).reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('takes a draining relay out: no new WebSocket goes to a relay whose /readyz answers 503', async () => {
    for (const client of clients.splice(0)) client.end();
    await waitFor(async () => (await connections(relays[1]!)) === 0 && (await connections(relays[2]!)) === 0, { message: 'the old connections to close' });
    const draining = relays[1]!;
    draining.child.kill('SIGTERM'); // --drain-seconds 5: /readyz answers 503 and upgrades are refused while it drains
    await waitFor(async () => (await fetch(`${draining.baseUrl}/readyz`).catch(() => undefined))?.status === 503, { message: 'the relay to drain' });
    // Caddy has taken the draining relay out once two sockets held open at once both land: with
    // the first held on relays[2], least_conn must pick the draining relay (it holds nothing) for
    // the second unless its health check took it out. Probes closed one by one would prove
    // nothing: with no sockets held, least_conn picks between the two at random.
    await waitFor(async () => {
      const held: RawRelayClient[] = [];
      try {
        for (let i = 0; i < 2; i++) held.push(await RawRelayClient.connect(balancer.baseUrl, crypto.randomUUID()));
        return true;
      } catch {
        return false;
      } finally {
        for (const client of held) client.end();
      }
    }, { message: 'Caddy to take the draining relay out' });
    await waitFor(async () => (await connections(relays[2]!)) === 0, { message: 'the probes to close' });
    for (let i = 0; i < 4; i++) await connectThroughCaddy();
    expect(await connections(relays[2]!)).toBe(4);
  });
});
