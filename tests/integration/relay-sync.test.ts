/**
 * Relay sync over real sockets (issue 3): filtered sync measured in bytes on the wire, stock
 * y-websocket providers, and durability across a SIGKILL of the relay process (R5).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { appendEntry, entriesMap, receiptsMap, type Entry } from '../../protocol/index.ts';
import { PORT, removeTempDirs, startTsEntry, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient, roomSnapshot } from '../helpers/relayClient.ts';
import { entryUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';

const running: StartedProcess[] = [];
const providers: WebsocketProvider[] = [];

async function startRelay(dataDir: string, port?: number): Promise<StartedProcess> {
  const relay = await startTsEntry('relay/main.ts', ['--port', PORT, '--data', dataDir], port === undefined ? {} : { port });
  running.push(relay);
  return relay;
}

function provider(baseUrl: string, room: string, device?: string): { doc: Y.Doc; provider: WebsocketProvider } {
  const doc = new Y.Doc();
  const stock = new WebsocketProvider(`${baseUrl.replace(/^http/, 'ws')}/sync`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    ...(device ? { params: { device } } : {}),
  });
  providers.push(stock);
  return { doc, provider: stock };
}

afterAll(async () => {
  for (const stock of providers) stock.destroy();
  await Promise.all(running.map((relay) => relay.stop()));
  removeTempDirs();
});

describe('filtered sync', () => {
  it('in a room of 200 entries and 200 receipts a device receives only its own entry and receipt; an unfiltered peer receives all 400 items', async () => {
    const relay = await startRelay(tempDir('rollcall-relay-filter-'));
    const room = randomUUID();
    const entries = Array.from({ length: 200 }, () => fakeEntry(fakeDevice(), 300));
    const writer = await RawRelayClient.connect(relay.baseUrl, room);
    writer.sendUpdate(Y.mergeUpdates(entries.map((entry) => entryUpdate(entry))));
    writer.sendUpdate(Y.mergeUpdates(entries.map((entry) => receiptUpdate(fakeReceipt(entry.n)))));
    await waitFor(async () => Object.keys((await roomSnapshot(relay.baseUrl, room)).receipts).length === 200, { message: '400 items in the room' });
    writer.end();

    const everything = await RawRelayClient.connect(relay.baseUrl, room);
    await everything.syncRoom();
    expect(entriesMap(everything.doc).size + receiptsMap(everything.doc).size).toBe(400);
    expect(everything.bytesReceived).toBeGreaterThan(100_000);

    const mine = entries[57]!;
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: mine.d });
    await phone.syncRoom();
    expect([...entriesMap(phone.doc).keys()]).toEqual([mine.n]);
    expect([...receiptsMap(phone.doc).keys()]).toEqual([mine.n]);
    expect(phone.bytesReceived).toBeLessThan(4096);

    // Live: another student's entry and receipt, then this device's next entry and its receipt.
    // Broadcasts keep admission order, so once the phone has its new receipt, anything it
    // should not see would already have arrived.
    const other = fakeEntry();
    const next = fakeEntry(mine.d);
    const live = await RawRelayClient.connect(relay.baseUrl, room);
    live.sendUpdate(entryUpdate(other));
    live.sendUpdate(receiptUpdate(fakeReceipt(other.n)));
    live.sendUpdate(entryUpdate(next));
    live.sendUpdate(receiptUpdate(fakeReceipt(next.n)));
    await waitFor(() => receiptsMap(phone.doc).has(next.n), { message: 'the phone to receive its new receipt' });
    expect([...entriesMap(phone.doc).keys()].sort()).toEqual([mine.n, next.n].sort());
    expect([...receiptsMap(phone.doc).keys()].sort()).toEqual([mine.n, next.n].sort());
    await waitFor(() => entriesMap(everything.doc).size === 202 && receiptsMap(everything.doc).size === 202, { message: 'the unfiltered peer to receive everything live' });
    expect(phone.bytesReceived).toBeLessThan(4096);
    for (const client of [everything, phone, live]) client.end();
  });
});

describe('stock y-websocket providers', () => {
  it('a stock WebsocketProvider syncs an entry to a second provider (filtered and unfiltered)', async () => {
    const relay = await startRelay(tempDir('rollcall-relay-stock-'));
    const room = randomUUID();
    const entry = fakeEntry();
    const phone = provider(relay.baseUrl, room, entry.d);
    const validator = provider(relay.baseUrl, room);
    const sameDevice = provider(relay.baseUrl, room, entry.d);
    const otherDevice = provider(relay.baseUrl, room, fakeDevice());
    await waitFor(() => [phone, validator, sameDevice, otherDevice].every(({ provider: p }) => p.synced), { message: 'providers synced' });
    expect(appendEntry(phone.doc, entry as Entry)).toBe(true);
    await waitFor(() => entriesMap(validator.doc).has(entry.n) && entriesMap(sameDevice.doc).has(entry.n), { message: 'the entry at the other providers' });
    expect(entriesMap(validator.doc).get(entry.n)).toEqual(entry);
    // The receipt, written as the validator writes it, reaches the phone.
    Y.applyUpdate(validator.doc, receiptUpdate(fakeReceipt(entry.n)));
    await waitFor(() => receiptsMap(phone.doc).has(entry.n), { message: 'the receipt at the phone' });
    expect(entriesMap(otherDevice.doc).size + receiptsMap(otherDevice.doc).size).toBe(0);
    expect(phone.provider.wsconnected && validator.provider.wsconnected).toBe(true);
  });
});

describe('[R5] durability', () => {
  it('[R5] after SIGKILL and a restart on the same data, every admitted entry and receipt is served again', async () => {
    const dataDir = tempDir('rollcall-relay-kill-');
    const relay = await startRelay(dataDir);
    const room = randomUUID();
    const entries = Array.from({ length: 30 }, () => fakeEntry());
    const writer = await RawRelayClient.connect(relay.baseUrl, room);
    for (const entry of entries) writer.sendUpdate(entryUpdate(entry));
    writer.sendUpdate(Y.mergeUpdates(entries.slice(0, 10).map((entry) => receiptUpdate(fakeReceipt(entry.n)))));
    // Admitted means persisted before broadcast (R5): once an observer has them, they are on disk.
    const observer = await RawRelayClient.connect(relay.baseUrl, room);
    await observer.syncRoom();
    await waitFor(() => entriesMap(observer.doc).size === 30 && receiptsMap(observer.doc).size === 10, { message: 'everything admitted' });
    const before = await roomSnapshot(relay.baseUrl, room);
    writer.end();
    observer.end();

    expect(await relay.kill()).toBe('SIGKILL');
    const restarted = await startRelay(dataDir, relay.port);
    expect(await roomSnapshot(restarted.baseUrl, room)).toEqual(before);
    const phone = await RawRelayClient.connect(restarted.baseUrl, room, { device: entries[3]!.d });
    await phone.syncRoom();
    expect([...entriesMap(phone.doc).keys()]).toEqual([entries[3]!.n]);
    expect([...receiptsMap(phone.doc).keys()]).toEqual([entries[3]!.n]);
    phone.end();
  });
});
