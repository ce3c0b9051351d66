/**
 * LiveEvents (`GET /events`) on a real node:http server on loopback port 0, with short
 * heartbeat and coalescing windows so L2/L3 are seen quickly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayStatus, StoreChange } from '../../protocol/events.ts';
import { LiveEvents, type LiveEventsOptions } from '../../validator/LiveEvents.ts';
import { openEvents, type EventReader } from '../helpers/liveEvents.ts';
import { waitFor } from '../helpers/processes.ts';

const SESSION_A = '11111111-1111-4111-8111-111111111111';
const SESSION_B = '22222222-2222-4222-8222-222222222222';

/** The store's change hook as LiveEvents sees it (ValidatorStore.onChange), driven by hand. */
class StoreChanges {
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly onChange = (listener: (change: StoreChange) => void) => {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  };
  emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

let server: Server | undefined;
let live: LiveEvents | undefined;
const readers: EventReader[] = [];

async function serve({ changes, ...options }: Partial<LiveEventsOptions> & { changes: StoreChanges }): Promise<string> {
  live = new LiveEvents({ relayStatus: () => undefined, clock: () => 1_700_000_000_000, onChange: changes.onChange, ...options });
  server = createServer((req, res) => live!.open(req, res));
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
}

async function open(url: string): Promise<EventReader> {
  const reader = await openEvents(url);
  readers.push(reader);
  return reader;
}

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  live?.close();
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done));
});

describe('LiveEvents', () => {
  it('[L2] starts every stream with hello, then sends each kind of change once per window, after the write', async () => {
    const changes = new StoreChanges();
    const url = await serve({ changes, coalesceMs: 30 });
    const reader = await open(url);
    expect(reader.contentType).toMatch(/^text\/event-stream/);
    const hello = await reader.next((event) => event.event === 'hello');
    expect(JSON.parse(hello.data)).toEqual({ server_time_ms: 1_700_000_000_000 });
    await waitFor(() => live!.streamCount === 1, { message: 'the stream to be registered' });

    // A hall scanning at once: many writes in one turn become one event per (kind, session).
    for (let i = 0; i < 25; i++) changes.emit({ kind: 'decisions', session_id: SESSION_A });
    changes.emit({ kind: 'decisions', session_id: SESSION_B });
    changes.emit({ kind: 'session', session_id: SESSION_A });
    changes.emit({ kind: 'roster', course: 'Networks' });
    await reader.next((event) => event.data.includes('Networks'), { message: 'the roster change' });
    const sent = reader.events.filter((event) => event.event === 'change').map((event) => JSON.parse(event.data));
    expect(sent).toEqual([
      { kind: 'decisions', session_id: SESSION_A },
      { kind: 'decisions', session_id: SESSION_B },
      { kind: 'session', session_id: SESSION_A },
      { kind: 'roster', course: 'Networks' },
    ]);
    expect(reader.events.map((event) => Number(event.id))).toEqual([...reader.events.keys()].map((i) => Number(reader.events[0]!.id) + i));
  });

  it('[L2] pushes the relay status when it differs from the last one sent, and to a new stream at once', async () => {
    let relay: RelayStatus = { url: 'this process', rooms: 1, connected: 0, waiting: 0 };
    const url = await serve({ changes: new StoreChanges(), relayStatus: () => relay, relayCheckMs: 20 });
    const reader = await open(url);
    await reader.next((event) => event.event === 'relay' && JSON.parse(event.data).connected === 0);
    relay = { ...relay, connected: 1 };
    await reader.next((event) => event.event === 'relay' && JSON.parse(event.data).connected === 1, { message: 'the relay event for connected: 1' });
    const late = await open(url);
    const first = await late.next((event) => event.event === 'relay');
    expect(JSON.parse(first.data)).toEqual(relay);
  });

  it('[L3] keeps an idle stream alive with heartbeat comments, which make no event', async () => {
    const url = await serve({ changes: new StoreChanges(), heartbeatMs: 20 });
    const reader = await open(url);
    await waitFor(() => reader.text().split(': heartbeat\n\n').length > 3, { message: 'three heartbeats' });
    expect(reader.events.map((event) => event.event)).toEqual(['hello']);
  });

  it('forgets a stream the client closed, and close() ends the open ones', async () => {
    const url = await serve({ changes: new StoreChanges() });
    const gone = await open(url);
    const kept = await open(url);
    await waitFor(() => live!.streamCount === 2, { message: 'two streams' });
    gone.close();
    await waitFor(() => live!.streamCount === 1, { message: 'the closed stream to be dropped' });
    await kept.next((event) => event.event === 'hello');
    live!.close();
    expect(live!.streamCount).toBe(0);
  });
});
