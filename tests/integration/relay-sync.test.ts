/**
 * Relay sync over real sockets (issue 3): filtered sync measured in bytes on the wire, stock
 * y-websocket providers, and durability across a SIGKILL of the relay process (R5). Each relay
 * trusts one TestValidator enrolled in its data folder: it opens the rooms and writes the
 * receipts; entries come from phones (`?device=`), as in a lecture (R9, R10).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { CloseCode, appendEntry, entriesMap, receiptsMap, type Entry } from '../../protocol/index.ts';
import { PORT, removeTempDirs, startTsEntry, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient, roomSnapshot } from '../helpers/relayClient.ts';
import { openRoom, sendAndSettle, writeEntriesAsPhones } from '../helpers/roomWriters.ts';
import { entryUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const running: StartedProcess[] = [];
const providers: WebsocketProvider[] = [];

/** A relay process on `dataDir`, with `validator` enrolled in it before it starts. */
async function startRelay(dataDir: string, validator: TestValidator, port?: number): Promise<StartedProcess> {
  await validator.enrolInDataDir(dataDir);
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
  it('in a room of 200 entries and 200 receipts a device receives only its own entry and receipt; the validator receives all 400 items', async () => {
    const validator = new TestValidator();
    const relay = await startRelay(tempDir('rollcall-relay-filter-'), validator);
    const room = randomUUID();
    const entries = Array.from({ length: 200 }, () => fakeEntry(fakeDevice(), 300));
    const opener = await openRoom(relay.baseUrl, room, validator);
    await writeEntriesAsPhones(relay.baseUrl, room, entries);
    await sendAndSettle(opener, [Y.mergeUpdates(entries.map((entry) => receiptUpdate(fakeReceipt(entry.n))))]);
    expect(Object.keys((await roomSnapshot(relay.baseUrl, room, validator)).receipts)).toHaveLength(200);

    const everything = await openRoom(relay.baseUrl, room, validator);
    await everything.syncRoom();
    expect(entriesMap(everything.doc).size + receiptsMap(everything.doc).size).toBe(400);
    expect(everything.bytesReceived).toBeGreaterThan(100_000);

    const mine = entries[57]!;
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: mine.d });
    await phone.syncRoom();
    expect([...entriesMap(phone.doc).keys()]).toEqual([mine.n]);
    expect([...receiptsMap(phone.doc).keys()]).toEqual([mine.n]);
    expect(phone.bytesReceived).toBeLessThan(4096);

    // Live: another student's entry and its receipt, then this device's next entry (from its
    // second tab) and its receipt, each admitted before the next is sent. Broadcasts keep
    // admission order, so once the phone has its new receipt, anything it should not see
    // would already have arrived.
    const other = fakeEntry();
    const next = fakeEntry(mine.d);
    const otherPhone = await RawRelayClient.connect(relay.baseUrl, room, { device: other.d });
    const secondTab = await RawRelayClient.connect(relay.baseUrl, room, { device: mine.d });
    await sendAndSettle(otherPhone, [entryUpdate(other)]);
    await sendAndSettle(opener, [receiptUpdate(fakeReceipt(other.n))]);
    await sendAndSettle(secondTab, [entryUpdate(next)]);
    await sendAndSettle(opener, [receiptUpdate(fakeReceipt(next.n))]);
    await waitFor(() => receiptsMap(phone.doc).has(next.n), { message: 'the phone to receive its new receipt' });
    expect([...entriesMap(phone.doc).keys()].sort()).toEqual([mine.n, next.n].sort());
    expect([...receiptsMap(phone.doc).keys()].sort()).toEqual([mine.n, next.n].sort());
    await waitFor(() => entriesMap(everything.doc).size === 202 && receiptsMap(everything.doc).size === 202, { message: 'a second validator connection to receive everything live' });
    expect(phone.bytesReceived).toBeLessThan(4096);
    for (const client of [opener, everything, phone, otherPhone, secondTab]) client.end();
  });
});

describe('stock y-websocket providers', () => {
  it('a stock WebsocketProvider with ?device= syncs an entry to the validator and to its own device, and receives its receipt', async () => {
    const validator = new TestValidator();
    const relay = await startRelay(tempDir('rollcall-relay-stock-'), validator);
    const room = randomUUID();
    const entry = fakeEntry();
    const opener = await openRoom(relay.baseUrl, room, validator);
    await opener.syncRoom();
    const phone = provider(relay.baseUrl, room, entry.d);
    const sameDevice = provider(relay.baseUrl, room, entry.d);
    const otherDevice = provider(relay.baseUrl, room, fakeDevice());
    await waitFor(() => [phone, sameDevice, otherDevice].every(({ provider: p }) => p.synced), { message: 'providers synced' });
    expect(appendEntry(phone.doc, entry as Entry)).toBe(true);
    await waitFor(() => entriesMap(opener.doc).has(entry.n) && entriesMap(sameDevice.doc).has(entry.n), { message: 'the entry at the validator and the same device' });
    expect(entriesMap(opener.doc).get(entry.n)).toEqual(entry);
    // The receipt, written as the validator writes it, reaches the phone.
    opener.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    await waitFor(() => receiptsMap(phone.doc).has(entry.n), { message: 'the receipt at the phone' });
    expect(entriesMap(otherDevice.doc).size + receiptsMap(otherDevice.doc).size).toBe(0);
    expect(phone.provider.wsconnected && opener.close === undefined).toBe(true);
    opener.end();
  });

  it('[R10] a stock WebsocketProvider without ?device= cannot prove it is the validator: it hears nothing and is closed for good with 4401', async () => {
    const validator = new TestValidator();
    const relay = await startRelay(tempDir('rollcall-relay-stock-unfiltered-'), validator);
    const room = randomUUID();
    const opener = await openRoom(relay.baseUrl, room, validator);
    const entry = fakeEntry();
    await writeEntriesAsPhones(relay.baseUrl, room, [entry]);
    const unfiltered = provider(relay.baseUrl, room);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => unfiltered.provider.once('closed', (event) => resolve(event)));
    expect(closed.code).toBe(CloseCode.Unauthorized);
    expect(closed.reason.startsWith('R10:')).toBe(true);
    expect(unfiltered.provider.synced).toBe(false);
    expect(entriesMap(unfiltered.doc).size).toBe(0);
    opener.end();
  });
});

describe('[R5] durability', () => {
  it('[R5] after SIGKILL and a restart on the same data, every admitted entry and receipt is served again, and the room stays open to its phones', async () => {
    const dataDir = tempDir('rollcall-relay-kill-');
    const validator = new TestValidator();
    const relay = await startRelay(dataDir, validator);
    const room = randomUUID();
    const entries = Array.from({ length: 30 }, () => fakeEntry());
    const opener = await openRoom(relay.baseUrl, room, validator);
    await writeEntriesAsPhones(relay.baseUrl, room, entries);
    opener.sendUpdate(Y.mergeUpdates(entries.slice(0, 10).map((entry) => receiptUpdate(fakeReceipt(entry.n)))));
    // Admitted means persisted before broadcast (R5): once an observer has them, they are on disk.
    const observer = await openRoom(relay.baseUrl, room, validator);
    await observer.syncRoom();
    await waitFor(() => entriesMap(observer.doc).size === 30 && receiptsMap(observer.doc).size === 10, { message: 'everything admitted' });
    const before = await roomSnapshot(relay.baseUrl, room, validator);
    opener.end();
    observer.end();

    expect(await relay.kill()).toBe('SIGKILL');
    const restarted = await startRelay(dataDir, validator, relay.port);
    // The grant was stored with the room (relay-trust.db): a phone may connect before the validator comes back.
    const phone = await RawRelayClient.connect(restarted.baseUrl, room, { device: entries[3]!.d });
    await phone.syncRoom();
    expect([...entriesMap(phone.doc).keys()]).toEqual([entries[3]!.n]);
    expect([...receiptsMap(phone.doc).keys()]).toEqual([entries[3]!.n]);
    phone.end();
    expect(await roomSnapshot(restarted.baseUrl, room, validator)).toEqual(before);
  });
});
