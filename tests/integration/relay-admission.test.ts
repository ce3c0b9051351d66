/**
 * Relay admission over real sockets (issue 3): a real relay process (relay/main.ts) on
 * loopback, trusting one TestValidator enrolled in its data folder (R9, R10); hostile peers
 * send what admission must refuse; each refusal is checked for its rule id, its close code,
 * and a room left exactly as it was (R6). Test names start with the rule.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode, MAX_ITEM_BYTES } from '../../protocol/index.ts';
import { PORT, removeTempDirs, startTsEntry, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient, roomSnapshot } from '../helpers/relayClient.ts';
import { openRoom, sendAndSettle } from '../helpers/roomWriters.ts';
import { captureUpdate, entryUpdate, entryValueUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { TestValidator } from '../helpers/testValidator.ts';

let relay: StartedProcess;
const validator = new TestValidator();

beforeAll(async () => {
  const dataDir = tempDir('rollcall-relay-admission-');
  await validator.enrolInDataDir(dataDir);
  relay = await startTsEntry('relay/main.ts', ['--port', PORT, '--data', dataDir]);
});

afterAll(async () => {
  await relay?.stop();
  removeTempDirs();
});

function snapshot(room: string) {
  return roomSnapshot(relay.baseUrl, room, validator);
}

/** A room the validator opened, holding one student's entry (sent by its phone) and the validator's receipt for it. */
async function seededRoom() {
  const room = randomUUID();
  const entry = fakeEntry();
  const studentDoc = new Y.Doc();
  const opener = await openRoom(relay.baseUrl, room, validator);
  const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: entry.d });
  await sendAndSettle(phone, [entryUpdate(entry, studentDoc)]);
  await sendAndSettle(opener, [receiptUpdate(fakeReceipt(entry.n))]);
  phone.end();
  opener.end();
  const before = await snapshot(room);
  expect(Object.keys(before.receipts)).toEqual([entry.n]);
  return { room, entry, studentDoc, before };
}

/**
 * Lets `make` build an update from the whole room (as the validator holds it) and sends it:
 * from a phone (`?device=`, default a fresh device key) or from the room's validator itself.
 */
async function sendHostile(room: string, make: (doc: Y.Doc) => Uint8Array, { device = fakeDevice(), as = 'phone' }: { device?: string; as?: 'phone' | 'validator' } = {}) {
  const peer = await openRoom(relay.baseUrl, room, validator);
  await peer.syncRoom();
  const update = make(peer.doc);
  let attacker = peer;
  if (as === 'phone') {
    peer.end();
    attacker = await RawRelayClient.connect(relay.baseUrl, room, { device });
  }
  attacker.sendUpdate(update);
  const close = await attacker.closed();
  return { close, denied: attacker.deniedReason };
}

async function expectRefused(rule: string, room: string, before: unknown, result: { close: { code: number; reason: string }; denied: string | undefined }, code: number = CloseCode.Forbidden) {
  expect(result.close.code).toBe(code);
  expect(result.close.reason.startsWith(`${rule}:`)).toBe(true);
  expect(result.denied?.startsWith(`${rule}:`)).toBe(true);
  expect(await snapshot(room)).toEqual(before);
  await waitFor(() => relay.stderr().includes(`refused ${rule}`), { message: `a log line naming ${rule}` });
}

describe('relay admission over real sockets', () => {
  it('[R1] deleting another student’s entry is refused and the room is unchanged', async () => {
    const { room, entry, before } = await seededRoom();
    const result = await sendHostile(room, (doc) => captureUpdate(doc, () => doc.getMap('entries').delete(entry.n)));
    await expectRefused('R1', room, before, result);
  });

  it('[R1] overwriting another student’s entry is refused and the room is unchanged', async () => {
    const { room, entry, before } = await seededRoom();
    const result = await sendHostile(room, (doc) => captureUpdate(doc, () => doc.getMap('entries').set(entry.n, { ...fakeEntry(), n: entry.n })));
    await expectRefused('R1', room, before, result);
  });

  it('[R1] overwriting a receipt is refused and the room is unchanged', async () => {
    const { room, entry, before } = await seededRoom();
    const result = await sendHostile(room, (doc) => captureUpdate(doc, () => doc.getMap('receipts').set(entry.n, fakeReceipt(entry.n))), { as: 'validator' });
    await expectRefused('R1', room, before, result);
  });

  it('[R7] a concurrent blind write of an existing key is refused', async () => {
    const { room, entry, before } = await seededRoom();
    // A second client that never saw the first write: no origin, no deletion, same key.
    const result = await sendHostile(room, () => entryUpdate({ ...fakeEntry(), n: entry.n }), { device: fakeDevice() });
    await expectRefused('R7', room, before, result);
  });

  it('[R7] a blind write of an existing receipt key is refused', async () => {
    const { room, entry, before } = await seededRoom();
    const result = await sendHostile(room, () => receiptUpdate(fakeReceipt(entry.n)), { as: 'validator' });
    await expectRefused('R7', room, before, result);
  });

  it('[R7] a phone re-sending its own entry on reconnect is admitted as a no-op (connection stays open)', async () => {
    const { room, entry, studentDoc, before } = await seededRoom();
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: entry.d });
    phone.sendSyncStep2(Y.encodeStateAsUpdate(studentDoc));
    await phone.syncRoom();
    expect(phone.close).toBeUndefined();
    expect(phone.deniedReason).toBeUndefined();
    expect(Object.keys(phone.doc.getMap('receipts').toJSON())).toEqual([entry.n]);
    expect(await snapshot(room)).toEqual(before);
    phone.end();
  });

  it('[R2] entries used as an array is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getArray('entries').push([fakeEntry()])); });
    await expectRefused('R2', room, before, result);
  });

  it('[R2] entries used as text is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getText('entries').insert(0, 'hello')); });
    await expectRefused('R2', room, before, result);
  });

  it('[R2] a new root type is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => { const doc = new Y.Doc(); const entry = fakeEntry(); return captureUpdate(doc, () => doc.getMap('notes').set(entry.n, entry)); });
    await expectRefused('R2', room, before, result);
  });

  it('[R2] a nested type is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getMap('entries').set(fakeEntry().n, new Y.Map())); });
    await expectRefused('R2', room, before, result);
  });

  it('[R2] a garbage byte string as an update is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 7, 7, 7, 7]));
    await expectRefused('R2', room, before, result);
  });

  it('[R2] an entry carrying a bigint is refused with 4403, not closed as a relay bug (1011)', async () => {
    const { room, before } = await seededRoom();
    const entry = fakeEntry();
    const result = await sendHostile(room, () => entryValueUpdate(entry.n, { ...entry, v: 1n }));
    await expectRefused('R2', room, before, result);
  });

  it('[R2] a V2 update of a real entry is refused with 4403 and told to send V1, not ignored', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => {
      const doc = new Y.Doc();
      entryUpdate(fakeEntry(), doc);
      return Y.encodeStateAsUpdateV2(doc);
    });
    await expectRefused('R2', room, before, result);
    expect(result.denied).toMatch(/V2 updates are not accepted; send V1/);
  });

  it('[R3] an item over the size limit is refused with 4413', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => entryUpdate(fakeEntry(fakeDevice(), MAX_ITEM_BYTES)));
    await expectRefused('R3', room, before, result, CloseCode.TooLarge);
  });

  it('[R3] a phone message over the message limit is refused with 4413', async () => {
    const { room, before } = await seededRoom();
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: fakeDevice() });
    phone.sendUpdate(new Uint8Array(100 * 1024));
    await expectRefused('R3', room, before, { close: await phone.closed(), denied: phone.deniedReason }, CloseCode.TooLarge);
  });

  it('[R3] a phone flooding messages is cut off with 4429', async () => {
    const { room, before } = await seededRoom();
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: fakeDevice() });
    const awareness = new Uint8Array([1, 1, 0]);
    for (let i = 0; i < 500; i++) phone.send(awareness);
    await expectRefused('R3', room, before, { close: await phone.closed(), denied: phone.deniedReason }, CloseCode.RateLimited);
  });

  it('[R8] one client writing entries for two devices is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => {
      const doc = new Y.Doc();
      return captureUpdate(doc, () => {
        for (const entry of [fakeEntry(), fakeEntry()]) doc.getMap('entries').set(entry.n, entry);
      });
    });
    await expectRefused('R8', room, before, result);
  });

  it('[R4] a room name that is not a session id is refused at the upgrade', async () => {
    for (const name of ['lobby', 'D7B655D9-371B-4A33-BE9D-6D22FEDE3D97', '..%2F..%2Fetc', '']) {
      const client = new RawRelayClient(`${relay.baseUrl.replace('http', 'ws')}/sync/${name}`);
      await expect(client.opened).rejects.toThrow(/HTTP 400/);
    }
    await waitFor(() => relay.stderr().includes('refused R4'), { message: 'a log line naming R4' });
  });

  it('[R6] garbage and truncated messages never crash the relay, from a phone, the validator or an unproven peer', async () => {
    const room = randomUUID();
    (await openRoom(relay.baseUrl, room, validator)).end();
    const frames = [
      new Uint8Array([]),
      new Uint8Array([0]),
      new Uint8Array([0, 1]),
      new Uint8Array([0, 0, 200]),
      new Uint8Array([0, 0, 3, 255, 255, 255]),
      new Uint8Array([9, 9, 9]),
      new Uint8Array([64]),
      new Uint8Array([64, 1, 200]),
      new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, 255, 255]),
      new Uint8Array([1, 200, 1]),
      entryUpdate(fakeEntry()).subarray(0, 30),
    ];
    const peers = [() => RawRelayClient.connect(relay.baseUrl, room, { device: fakeDevice() }), () => openRoom(relay.baseUrl, room, validator), () => RawRelayClient.connect(relay.baseUrl, room)];
    for (const connect of peers) {
      for (const frame of frames) {
        const client = await connect();
        client.send(frame);
        client.send(new TextEncoder().encode('{"not":"binary"}'));
        await client.closed();
      }
    }
    const health = await fetch(`${relay.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await snapshot(room)).toEqual({ entries: {}, receipts: {}, roots: [] });
  });
});

describe('who may write what over real sockets (R9, R10)', () => {
  it('[R9] a phone connecting to a room no validator opened is refused at the upgrade with HTTP 404', async () => {
    const room = randomUUID();
    await expect(RawRelayClient.connect(relay.baseUrl, room, { device: fakeDevice() })).rejects.toThrow(/HTTP 404/);
    (await openRoom(relay.baseUrl, room, validator)).end();
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: fakeDevice() });
    await phone.syncRoom();
    expect(phone.close).toBeUndefined();
    phone.end();
  });

  it('[R10] a phone writing a receipt, even for its own entry, is refused', async () => {
    const { room, before } = await seededRoom();
    const entry = fakeEntry();
    const phone = await RawRelayClient.connect(relay.baseUrl, room, { device: entry.d });
    await sendAndSettle(phone, [entryUpdate(entry)]);
    const withEntry = await snapshot(room);
    expect(Object.keys(withEntry.entries)).toHaveLength(Object.keys(before.entries).length + 1);
    phone.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    await expectRefused('R10', room, withEntry, { close: await phone.closed(), denied: phone.deniedReason });
  });

  it('[R10] the room’s validator writing an entry is refused', async () => {
    const { room, before } = await seededRoom();
    const result = await sendHostile(room, () => entryUpdate(fakeEntry()), { as: 'validator' });
    await expectRefused('R10', room, before, result);
  });

  it('[R10] a peer without ?device= that sends an update instead of proving itself is refused with 4401', async () => {
    const { room, before } = await seededRoom();
    const peer = await RawRelayClient.connect(relay.baseUrl, room);
    peer.sendUpdate(receiptUpdate(fakeReceipt(fakeEntry().n)));
    await expectRefused('R10', room, before, { close: await peer.closed(), denied: peer.deniedReason }, CloseCode.Unauthorized);
    expect(peer.relayStateVector).toBeUndefined();
  });

  it('[R10] a validator this relay does not trust cannot open a room or read one', async () => {
    const { room, before } = await seededRoom();
    const stranger = new TestValidator();
    await expect(openRoom(relay.baseUrl, room, stranger)).rejects.toThrow(/R10/);
    await expect(openRoom(relay.baseUrl, randomUUID(), stranger)).rejects.toThrow(/R10/);
    expect(await snapshot(room)).toEqual(before);
  });
});
