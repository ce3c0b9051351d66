/**
 * The Relay class mounted on a plain Node HTTP server in this process, with stores and limits
 * chosen by the test: loading (R5, messages buffered until the room is loaded), compaction,
 * idle unload, keep-alive, /time, /healthz and the static app. Each relay trusts one
 * TestValidator (in a MemoryTrustStore), which opens the rooms a test writes to (R9).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { CloseCode, entriesMap, receiptsMap } from '../../protocol/index.ts';
import { Relay, type RelayOptions } from '../../relay/Relay.ts';
import { MemoryTrustStore } from '../../relay/TrustStore.ts';
import { MemoryUpdateStore, type StoredUpdate } from '../../relay/UpdateStore.ts';
import { removeTempDirs, tempDir, waitFor } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { openRoom, sendAndSettle, writeEntriesAsPhones } from '../helpers/roomWriters.ts';
import { entryUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  removeTempDirs();
});

/** A relay on loopback whose trust store has `validator` enrolled (a fresh one unless given). */
async function serve(
  options: Omit<RelayOptions, 'trust'>,
  { trust = new MemoryTrustStore(), validator = new TestValidator() } = {},
): Promise<{ relay: Relay; baseUrl: string; validator: TestValidator; trust: MemoryTrustStore }> {
  await validator.enrolIn(trust);
  const relay = new Relay({ ...options, trust });
  const server: Server = createServer((req, res) => {
    if (!relay.handleHttp(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  server.on('upgrade', (req, socket, head) => {
    if (!relay.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await relay.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { relay, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, validator, trust };
}

/** A store whose loads wait until the test lets them go. */
class SlowStore extends MemoryUpdateStore {
  release: () => void = () => {};
  readonly #gate = new Promise<void>((resolve) => (this.release = resolve));
  loads = 0;
  override async load(room: string): Promise<StoredUpdate[]> {
    this.loads++;
    await this.#gate;
    return super.load(room);
  }
}

describe('[R5] room loading, compaction and unloading', () => {
  it('[R5] messages that arrive while the room loads wait for it; the first sync step comes after the load', async () => {
    const store = new SlowStore();
    const room = randomUUID();
    const device = fakeDevice();
    const stored = fakeEntry(device);
    await store.append(room, entryUpdate(stored), [{ root: 'entries', key: stored.n }]);
    const { baseUrl, validator } = await serve({ store });
    // The validator's welcome comes before the room loads: its proof and grant need no room.
    const opener = await openRoom(baseUrl, room, validator);
    await waitFor(() => store.loads === 1, { message: 'the load to start' });
    const phone = await RawRelayClient.connect(baseUrl, room, { device });
    const mine = fakeEntry(device);
    phone.sendUpdate(entryUpdate(mine));
    expect(opener.relayStateVector).toBeUndefined();
    expect(phone.relayStateVector).toBeUndefined();
    store.release();
    await phone.syncRoom();
    expect(phone.close).toBeUndefined();
    expect(phone.relayStateVector).toBeDefined();
    expect(entriesMap(phone.doc).has(stored.n)).toBe(true);
    expect((await store.load(room)).length).toBe(2);
    phone.end();
    opener.end();
  });

  it('[R5] close() (SIGTERM) lets a room that is loading finish and admit what its peers sent meanwhile, then closes every peer with 1012', async () => {
    const store = new SlowStore();
    const room = randomUUID();
    const device = fakeDevice();
    const { relay, baseUrl, validator } = await serve({ store });
    const opener = await openRoom(baseUrl, room, validator);
    await waitFor(() => store.loads === 1, { message: 'the load to start' });
    const phone = await RawRelayClient.connect(baseUrl, room, { device });
    const update = entryUpdate(fakeEntry(device));
    const receivedBefore = relay.stats().bytesReceived;
    phone.sendUpdate(update);
    await waitFor(() => relay.stats().bytesReceived >= receivedBefore + update.length, { message: 'the relay to hold the entry until the room loads' });
    const closing = relay.close();
    expect(relay.stats().connections).toBe(2);
    store.release();
    await closing;
    expect((await store.load(room)).length).toBe(1);
    expect(await phone.closed()).toMatchObject({ code: CloseCode.Restarting });
    expect(await opener.closed()).toMatchObject({ code: CloseCode.Restarting });
  });

  it('[R5] past the threshold the room’s rows are merged into one, and a new relay on the store serves everything', async () => {
    const store = new MemoryUpdateStore();
    const room = randomUUID();
    const trust = new MemoryTrustStore();
    const { relay, baseUrl, validator } = await serve({ store, limits: { compactAfterRows: 5 } }, { trust });
    const opener = await openRoom(baseUrl, room, validator);
    const entries = Array.from({ length: 12 }, () => fakeEntry());
    await writeEntriesAsPhones(baseUrl, room, entries);
    await sendAndSettle(opener, [receiptUpdate(fakeReceipt(entries[0]!.n))]);
    await waitFor(() => relay.stats().admitted === 13, { message: '13 admitted updates' });
    expect(relay.stats().compactions).toBeGreaterThanOrEqual(2);
    expect((await store.load(room)).length).toBeLessThan(5);
    opener.end();

    // A new relay on the same stores (a restart): the grant still opens the room for phones.
    const second = await serve({ store }, { trust, validator });
    const phone = await RawRelayClient.connect(second.baseUrl, room, { device: entries[0]!.d });
    await phone.syncRoom();
    expect([...entriesMap(phone.doc).keys()]).toEqual([entries[0]!.n]);
    expect([...receiptsMap(phone.doc).keys()]).toEqual([entries[0]!.n]);
    const observer = await openRoom(second.baseUrl, room, validator);
    await observer.syncRoom();
    expect(entriesMap(observer.doc).size).toBe(12);
    expect(receiptsMap(observer.doc).size).toBe(1);
    phone.end();
    observer.end();
  });

  it('[R5] a room with no peers is unloaded after the idle time and loads again on the next connection', async () => {
    const store = new MemoryUpdateStore();
    const room = randomUUID();
    const { relay, baseUrl, validator } = await serve({ store, limits: { idleUnloadMs: 50 } });
    const entry = fakeEntry();
    (await openRoom(baseUrl, room, validator)).end();
    const writer = await RawRelayClient.connect(baseUrl, room, { device: entry.d });
    writer.sendUpdate(entryUpdate(entry));
    await waitFor(() => relay.stats().admitted === 1, { message: 'the entry admitted' });
    expect(relay.isRoomLoaded(room)).toBe(true);
    writer.end();
    await waitFor(() => !relay.isRoomLoaded(room), { message: 'the idle room to be unloaded' });
    const again = await RawRelayClient.connect(baseUrl, room, { device: entry.d });
    await again.syncRoom();
    expect(entriesMap(again.doc).get(entry.n)).toEqual(entry);
    again.end();
  });
});

describe('keep-alive and HTTP', () => {
  it('a quiet peer hears an (empty) awareness message, so a y-websocket client never times out', async () => {
    const { baseUrl, validator } = await serve({ store: new MemoryUpdateStore(), limits: { keepAliveMs: 300 } });
    const room = randomUUID();
    (await openRoom(baseUrl, room, validator)).end();
    const quiet = await RawRelayClient.connect(baseUrl, room, { device: fakeDevice() });
    const heard: number[] = [];
    quiet.socket.on('message', (data: Buffer) => heard.push(data[0]!));
    await waitFor(() => heard.includes(1), { message: 'a keep-alive awareness message' });
    expect(quiet.close).toBeUndefined();
    quiet.end();
  });

  it('the keep-alive pings a slice of the sockets each second, not every socket in one turn', async () => {
    // keepAliveMs 2000: two slices, one a second, by connection id.
    const { baseUrl, validator } = await serve({ store: new MemoryUpdateStore(), limits: { keepAliveMs: 2000 } });
    const room = randomUUID();
    (await openRoom(baseUrl, room, validator)).end();
    const phones = await Promise.all(Array.from({ length: 6 }, () => RawRelayClient.connect(baseUrl, room, { device: fakeDevice() })));
    const firstPingAt: number[] = [];
    phones.forEach((phone, i) => phone.socket.once('ping', () => (firstPingAt[i] = performance.now())));
    await waitFor(() => phones.every((_, i) => firstPingAt[i] !== undefined), { timeoutMs: 10_000, message: 'every socket pinged' });
    const sorted = [...firstPingAt].sort((a, b) => a - b);
    // Two groups a second apart (before: all six within a few milliseconds of each other).
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(500);
    const gaps = sorted.slice(1).map((at, i) => at - sorted[i]!);
    expect(gaps.filter((gap) => gap > 500)).toHaveLength(1);
    for (const phone of phones) phone.end();
  });

  it('GET /readyz answers 200 while the stores are open, 503 once one is closed or the relay is draining', async () => {
    const store = new MemoryUpdateStore();
    const { relay, baseUrl } = await serve({ store });
    const ready = await fetch(`${baseUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ok: true }]);
    await store.close();
    const closed = await fetch(`${baseUrl}/readyz`);
    expect([closed.status, await closed.json()]).toEqual([503, { ok: false, reason: 'a store is closed or unreachable' }]);
    relay.beginDraining();
    expect(await (await fetch(`${baseUrl}/readyz`)).json()).toMatchObject({ reason: expect.stringMatching(/^draining/) });
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
  });

  it('GET /time answers the relay clock as JSON with CORS *; /healthz answers 200', async () => {
    const { baseUrl } = await serve({ store: new MemoryUpdateStore(), clock: () => 1_700_000_000_123 });
    const time = await fetch(`${baseUrl}/time`);
    expect(time.headers.get('access-control-allow-origin')).toBe('*');
    expect(await time.json()).toEqual({ now_ms: 1_700_000_000_123 });
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
  });

  it('serves the built app (no SPA fallback: unknown paths fall through), and a helpful 404 while it is not built', async () => {
    const staticDir = join(tempDir('rollcall-relay-static-'), 'client');
    const { baseUrl } = await serve({ store: new MemoryUpdateStore(), staticDir });
    const missing = await fetch(`${baseUrl}/`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/npm run build/);
    mkdirSync(staticDir, { recursive: true });
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Rollcall</title>');
    writeFileSync(join(staticDir, 'app.js'), 'console.log(1)');
    writeFileSync(join(staticDir, 'sw.js'), 'self.skipWaiting()');
    expect(await (await fetch(`${baseUrl}/app.js`)).text()).toBe('console.log(1)');
    const root = await fetch(`${baseUrl}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toMatch(/Rollcall/);
    expect((await fetch(`${baseUrl}/sw.js`)).headers.get('cache-control')).toBe('no-cache');
    // The app routes by fragment; any other path is someone else's (the validator's 404 in `rollcall start`).
    expect((await fetch(`${baseUrl}/professor/sessions`)).status).toBe(404);
    expect((await fetch(`${baseUrl}/admin`)).status).toBe(404);
  });

  it('a refused update is counted under its rule in stats()', async () => {
    const { relay, baseUrl, validator } = await serve({ store: new MemoryUpdateStore() });
    const room = randomUUID();
    (await openRoom(baseUrl, room, validator)).end();
    const hostile = await RawRelayClient.connect(baseUrl, room, { device: fakeDevice() });
    const doc = new Y.Doc();
    doc.getText('entries').insert(0, 'x');
    hostile.sendUpdate(Y.encodeStateAsUpdate(doc));
    await hostile.closed();
    await waitFor(() => relay.stats().refusedByRule['R2'] === 1, { message: 'the refusal counted' });
  });
});

describe('who may connect (R9, R10)', () => {
  it('[R9] a phone connecting to a room no validator opened is refused at the upgrade with 404, counted under R9', async () => {
    const { relay, baseUrl } = await serve({ store: new MemoryUpdateStore() });
    await expect(RawRelayClient.connect(baseUrl, randomUUID(), { device: fakeDevice() })).rejects.toThrow(/HTTP 404/);
    expect(relay.stats().refusedByRule['R9']).toBe(1);
  });

  it('[R10] a peer without ?device= that never answers the challenge hears nothing of the room and is closed with 4401', async () => {
    // The opener fills the room on a relay with the default deadline; the silent peer meets a
    // second relay on the same stores whose deadline is short. (One short deadline for both
    // once closed the opener itself on a busy machine, whatever its length.)
    const store = new MemoryUpdateStore();
    const trust = new MemoryTrustStore();
    const { baseUrl, validator } = await serve({ store }, { trust });
    const room = randomUUID();
    const opener = await openRoom(baseUrl, room, validator);
    await sendAndSettle(opener, [receiptUpdate(fakeReceipt(fakeEntry().n))]);
    const strict = await serve({ store, limits: { validatorProofTimeoutMs: 200 } }, { trust, validator });
    const silent = await RawRelayClient.connect(strict.baseUrl, room);
    const close = await silent.closed();
    expect(close.code).toBe(CloseCode.Unauthorized);
    expect(close.reason.startsWith('R10:')).toBe(true);
    expect(silent.challenge).toBeDefined();
    expect(silent.relayStateVector).toBeUndefined();
    expect(receiptsMap(silent.doc).size).toBe(0);
    opener.end();
  });
});

describe('[R3] state vectors', () => {
  /** A sync step 1 whose state vector names `clients` clients (what a hostile peer sends to make diffs slow). */
  function hugeStepOne(clients: number): Uint8Array {
    const clocks = new Map<number, number>();
    for (let client = 1; client <= clients; client++) clocks.set(client * 7919, 1);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint8Array(encoder, Y.encodeStateVector(clocks));
    return encoding.toUint8Array(encoder);
  }

  it('[R3] a phone’s sync step 1 over 4 KiB is refused with 4413 before any diff is computed; a normal one is answered', async () => {
    const { baseUrl, validator } = await serve({ store: new MemoryUpdateStore() });
    const room = randomUUID();
    (await openRoom(baseUrl, room, validator)).end();
    const honest = await RawRelayClient.connect(baseUrl, room, { device: fakeDevice() });
    await honest.syncRoom();
    expect(honest.close).toBeUndefined();
    honest.end();
    const hostile = await RawRelayClient.connect(baseUrl, room, { device: fakeDevice() });
    hostile.send(hugeStepOne(2000));
    expect((await hostile.closed()).code).toBe(CloseCode.TooLarge);
    expect(hostile.deniedReason).toMatch(/^R3: a state vector of \d+ bytes is over the 4096-byte limit/);
    expect(hostile.step2Count).toBe(0);
  });

  it('[R3] the validator’s limit is larger (a full room’s vector) but bounded too', async () => {
    const { baseUrl, validator } = await serve({ store: new MemoryUpdateStore(), limits: { fullStateVectorBytes: 64 * 1024 } });
    const room = randomUUID();
    const opener = await openRoom(baseUrl, room, validator);
    opener.send(hugeStepOne(2000)); // ~14 KB: a room of a few thousand items
    await opener.syncRoom();
    expect(opener.close).toBeUndefined();
    opener.send(hugeStepOne(20_000)); // ~140 KB
    expect((await opener.closed()).code).toBe(CloseCode.TooLarge);
  });
});

