/**
 * The dashboard's EventFeed against real node:http servers on loopback: LiveEvents itself, one
 * that falls silent (L3: the client takes it for dead and reconnects, then re-reads on hello),
 * and one that refuses (L1: the feed stops and says so). sessionStorage, the one browser API it
 * touches (for a pasted token), is a Map here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StoreChange } from '../../protocol/events.ts';
import { EventFeed, type EventFeedHandlers } from '../../client/professor/EventFeed.ts';
import { LiveEvents } from '../../validator/LiveEvents.ts';
import { waitFor } from '../helpers/processes.ts';

const SESSION = '11111111-1111-4111-8111-111111111111';
const servers: Server[] = [];
const feeds: EventFeed[] = [];
const cleanups: (() => void)[] = [];

beforeAll(() => {
  const items = new Map<string, string>();
  (globalThis as { sessionStorage?: unknown }).sessionStorage ??= {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
});

afterEach(async () => {
  for (const feed of feeds.splice(0)) feed.stop();
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
}

/** Handlers that record what the feed reported. */
function recorder(): EventFeedHandlers & { log: string[]; changes: StoreChange[] } {
  const log: string[] = [];
  const changes: StoreChange[] = [];
  return {
    log,
    changes,
    onConnected: () => log.push('connected'),
    onChange: (change) => changes.push(change),
    onRelay: (relay) => log.push(`relay ${relay.connected}/${relay.rooms}`),
    onRefused: (failure) => {
      log.push(`refused ${failure.code}`);
      return failure.code === 'token_required';
    },
    onLost: () => log.push('lost'),
  };
}

function start(url: string, handlers: EventFeedHandlers, silenceLimitMs = 10_000): EventFeed {
  const feed = new EventFeed(handlers, { url, silenceLimitMs, firstRetryMs: 20, maxRetryMs: 100 });
  feeds.push(feed);
  feed.start();
  return feed;
}

describe('EventFeed (the dashboard end of GET /events)', () => {
  it('[L2] hears hello, the relay status and changes from LiveEvents, and ignores what it cannot read', async () => {
    const listeners = new Set<(change: StoreChange) => void>();
    const live = new LiveEvents({
      onChange: (listener) => (listeners.add(listener), () => void listeners.delete(listener)),
      relayStatus: () => ({ url: 'this process', rooms: 1, connected: 1, waiting: 0 }),
      clock: Date.now,
      coalesceMs: 5,
    });
    cleanups.push(() => live.close());
    const url = await serve((req, res) => live.open(req, res));
    const handlers = recorder();
    start(url, handlers);
    await waitFor(() => handlers.log.includes('relay 1/1'), { message: 'hello and the relay status' });
    expect(handlers.log.slice(0, 2)).toEqual(['connected', 'relay 1/1']);
    for (const listener of listeners) listener({ kind: 'decisions', session_id: SESSION });
    await waitFor(() => handlers.changes.length === 1, { message: 'the change' });
    expect(handlers.changes).toEqual([{ kind: 'decisions', session_id: SESSION }]);
  });

  it('[L3] takes a silent stream for dead, reconnects by itself and re-reads on the new hello', async () => {
    let opened = 0;
    const url = await serve((_req, res) => {
      opened++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: hello\ndata: {"server_time_ms":${Date.now()}}\n\n`);
      // ...and then nothing, not even a heartbeat: a laptop that slept, a proxy that hung.
    });
    const handlers = recorder();
    start(url, handlers, 150);
    await waitFor(() => handlers.log.filter((entry) => entry === 'connected').length >= 2, { message: 'a second hello after the silence' });
    expect(handlers.log.slice(0, 3)).toEqual(['connected', 'lost', 'connected']);
    expect(opened).toBeGreaterThanOrEqual(2);
  });

  it('[L3] a heartbeat keeps a quiet stream alive (no reconnect while heartbeats come)', async () => {
    let opened = 0;
    let heartbeats = 0;
    const url = await serve((_req, res) => {
      opened++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: hello\ndata: {"server_time_ms":${Date.now()}}\n\n`);
      const timer = setInterval(() => (res.write(': heartbeat\n\n'), heartbeats++), 30);
      res.on('close', () => clearInterval(timer));
    });
    const handlers = recorder();
    start(url, handlers, 150);
    // 20 heartbeats 30 ms apart: four silence limits of nothing but heartbeats.
    await waitFor(() => heartbeats >= 20, { message: '20 heartbeats' });
    expect(handlers.log).toEqual(['connected']);
    expect(opened).toBe(1);
  });

  it('[L1] stops on a refusal that needs a login, and tells the dashboard', async () => {
    let asked = 0;
    const url = await serve((_req, res) => {
      asked++;
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'this is a professor route', code: 'token_required' }));
    });
    const handlers = recorder();
    start(url, handlers);
    const feed = feeds[0]!;
    await waitFor(() => handlers.log.includes('refused token_required'), { message: 'the refusal' });
    expect(feed.isRunning).toBe(false);
    expect(asked).toBe(1);
    expect(handlers.log).toEqual(['refused token_required']);
  });
});
