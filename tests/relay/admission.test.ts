/**
 * Pure relay admission (relay/inspectUpdate.ts through RoomState): every hostile shape is
 * refused under the rule it breaks, the room is left as it was (R6), and re-syncs are no-ops.
 * Test names start with the docs/SPEC.md rule id they check.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CloseCode, MAX_ITEM_BYTES, concatItemUpdates } from '../../protocol/index.ts';
import type { Writer } from '../../relay/inspectUpdate.ts';
import { RoomState } from '../../relay/RoomState.ts';
import { DEFAULT_RELAY_LIMITS } from '../../relay/limits.ts';
import { encodeItemUpdate, mergeItemUpdates } from '../../relay/itemUpdate.ts';
import { captureUpdate, docOf, entryUpdate, entryValueUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate, roomJson, structWithoutDeleteSet, withOwnKey } from '../helpers/roomUpdates.ts';

const limits = DEFAULT_RELAY_LIMITS;

/** Admits `update` as `writer` sent it (R10: a phone writes entries, the room's validator receipts). */
function admit(room: RoomState, update: Uint8Array, writer: Writer) {
  const prepared = room.prepare(update, limits, writer);
  if (prepared.ok) room.commit(prepared.fresh, prepared.toStore?.length ?? 0);
  return prepared;
}

/** A room with one student's entry (written by `studentDoc`) and the validator's receipt for it. */
function seededRoom() {
  const room = new RoomState();
  const device = fakeDevice();
  const entry = fakeEntry(device);
  const studentDoc = new Y.Doc();
  const first = entryUpdate(entry, studentDoc);
  const receipt = receiptUpdate(fakeReceipt(entry.n));
  expect(admit(room, first, 'device').ok).toBe(true);
  expect(admit(room, receipt, 'validator').ok).toBe(true);
  /** A peer that holds the whole room (as an unfiltered client would after sync). */
  const peer = docOf(room.fullUpdate());
  return { room, device, entry, studentDoc, peer };
}

function snapshot(room: RoomState) {
  return { items: room.itemCount, bytes: room.byteCount, full: Array.from(room.fullUpdate()) };
}

/** Hostile updates, each with the rule that must refuse it and who sends it (default: a phone). */
const hostile: { name: string; rule: string; closeCode?: number; writer?: Writer; make(seed: ReturnType<typeof seededRoom>): Uint8Array }[] = [
  { name: 'deleting another student’s entry', rule: 'R1', make: ({ peer, entry }) => captureUpdate(peer, () => peer.getMap('entries').delete(entry.n)) },
  { name: 'deleting a receipt', rule: 'R1', make: ({ peer, entry }) => captureUpdate(peer, () => peer.getMap('receipts').delete(entry.n)) },
  { name: 'overwriting an entry (an overwrite carries a deletion)', rule: 'R1', make: ({ peer, entry }) => captureUpdate(peer, () => peer.getMap('entries').set(entry.n, { ...fakeEntry(), n: entry.n })) },
  { name: 'overwriting a receipt', rule: 'R1', writer: 'validator', make: ({ peer, entry }) => captureUpdate(peer, () => peer.getMap('receipts').set(entry.n, fakeReceipt(entry.n))) },
  {
    name: 'a garbage-collected struct sent without a delete set',
    rule: 'R1',
    make: () => {
      const doc = new Y.Doc();
      const nested = new Y.Map();
      doc.getMap('scratch').set('x', nested);
      nested.set('a', 1);
      doc.getMap('scratch').delete('x');
      const gc = Y.decodeUpdate(Y.encodeStateAsUpdate(doc)).structs.find((struct) => struct instanceof Y.GC);
      if (!gc) throw new Error('fixture: no GC struct');
      return structWithoutDeleteSet(gc as Y.GC);
    },
  },
  {
    name: 'an overwrite with its deletion stripped (an item with an origin)',
    rule: 'R2',
    make: ({ peer, entry }) => {
      const update = captureUpdate(peer, () => peer.getMap('entries').set(entry.n, { ...fakeEntry(), n: entry.n }));
      const item = Y.decodeUpdate(update).structs.find((struct) => struct instanceof Y.Item) as Y.Item;
      return structWithoutDeleteSet(item);
    },
  },
  { name: 'entries used as an array', rule: 'R2', make: () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getArray('entries').push([fakeEntry()])); } },
  { name: 'entries used as text', rule: 'R2', make: () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getText('entries').insert(0, 'hello')); } },
  { name: 'a new root type', rule: 'R2', make: () => { const doc = new Y.Doc(); const entry = fakeEntry(); return captureUpdate(doc, () => doc.getMap('other').set(entry.n, entry)); } },
  { name: 'a nested type as an entry', rule: 'R2', make: () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getMap('entries').set(fakeEntry().n, new Y.Map())); } },
  { name: 'a string as an entry', rule: 'R2', make: () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getMap('entries').set(fakeEntry().n, 'not an object')); } },
  { name: 'an array as an entry', rule: 'R2', make: () => { const doc = new Y.Doc(); const entry = fakeEntry(); return captureUpdate(doc, () => doc.getMap('entries').set(entry.n, [entry])); } },
  { name: 'an entry under a key other than its nonce', rule: 'R2', make: () => { const doc = new Y.Doc(); return captureUpdate(doc, () => doc.getMap('entries').set(fakeEntry().n, fakeEntry())); } },
  { name: 'an entry that is not well-formed', rule: 'R2', make: () => { const doc = new Y.Doc(); const entry = fakeEntry(); return captureUpdate(doc, () => doc.getMap('entries').set(entry.n, { ...entry, extra: 1 })); } },
  { name: 'a receipt that is not well-formed', rule: 'R2', writer: 'validator', make: () => { const doc = new Y.Doc(); const receipt = fakeReceipt(fakeEntry().n); return captureUpdate(doc, () => doc.getMap('receipts').set(receipt.n, { ...receipt, v: 2 })); } },
  { name: 'a garbage byte string', rule: 'R2', make: () => new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]) },
  { name: 'a truncated entry update', rule: 'R2', make: () => entryUpdate(fakeEntry()).subarray(0, 40) },
  {
    // lib0 decodes an object by assigning obj[key], so a key named __proto__ sets the prototype:
    // JSON.stringify then measures `{}` while the schema reads the inherited fields.
    name: 'an entry over 2 KiB whose fields hide under a __proto__ key',
    rule: 'R2',
    make: () => {
      const entry = fakeEntry(fakeDevice(), 1500);
      expect(JSON.stringify(entry).length).toBeGreaterThan(MAX_ITEM_BYTES);
      return entryValueUpdate(entry.n, withOwnKey({}, '__proto__', entry));
    },
  },
  { name: 'an entry whose __proto__ key makes its prototype null', rule: 'R2', make: () => { const entry = fakeEntry(); return entryValueUpdate(entry.n, withOwnKey({ ...entry }, '__proto__', null)); } },
  { name: 'an entry carrying a bigint (lib0 decodes it; JSON cannot hold it)', rule: 'R2', make: () => { const entry = fakeEntry(); return entryValueUpdate(entry.n, { ...entry, v: 1n }); } },
  { name: 'an entry with a bigint nested in an extra field', rule: 'R2', make: () => { const entry = fakeEntry(); return entryValueUpdate(entry.n, { ...entry, x: [{ y: 2n }] }); } },
  {
    // Read as V1, a V2 update's first two bytes say "no clients, no deletions": it decoded as
    // empty and was admitted as a no-op, so the phone believed it had synced.
    name: 'a V2-encoded update of a real entry (it reads as an empty V1 update)',
    rule: 'R2',
    make: () => {
      const doc = new Y.Doc();
      entryUpdate(fakeEntry(), doc);
      return Y.encodeStateAsUpdateV2(doc);
    },
  },
  { name: 'an entry update with bytes after its end', rule: 'R2', make: () => { const update = entryUpdate(fakeEntry()); return Uint8Array.from([...update, 0, 1, 2]); } },
  { name: 'an item over the size limit', rule: 'R3', closeCode: CloseCode.TooLarge, make: () => entryUpdate(fakeEntry(fakeDevice(), MAX_ITEM_BYTES)) },
  { name: 'a concurrent blind write of an existing entry key', rule: 'R7', make: ({ entry }) => entryUpdate({ ...fakeEntry(), n: entry.n }) },
  { name: 'a blind write of an existing receipt key', rule: 'R7', writer: 'validator', make: ({ entry }) => receiptUpdate(fakeReceipt(entry.n)) },
  {
    name: 'two new writes of one key in one update',
    rule: 'R7',
    make: () => {
      const nonce = fakeEntry().n;
      return Y.mergeUpdates([entryUpdate({ ...fakeEntry(), n: nonce }), entryUpdate({ ...fakeEntry(), n: nonce })]);
    },
  },
  {
    name: 'one Yjs client writing entries for two devices',
    rule: 'R8',
    make: () => {
      const doc = new Y.Doc();
      return captureUpdate(doc, () => {
        const a = fakeEntry();
        const b = fakeEntry();
        doc.getMap('entries').set(a.n, a);
        doc.getMap('entries').set(b.n, b);
      });
    },
  },
  { name: 'the entry’s own client writing for another device later', rule: 'R8', make: ({ studentDoc }) => entryUpdate(fakeEntry(), studentDoc) },
  {
    name: 'a receipt client writing a second receipt',
    rule: 'R8',
    writer: 'validator',
    make: () => {
      const doc = new Y.Doc();
      const first = fakeReceipt(fakeEntry().n);
      const second = fakeReceipt(fakeEntry().n);
      return captureUpdate(doc, () => {
        doc.getMap('receipts').set(first.n, first);
        doc.getMap('receipts').set(second.n, second);
      });
    },
  },
  {
    name: 'a client skipping clocks (a gap filtered sync could never fill)',
    rule: 'R8',
    make: () => {
      const doc = new Y.Doc();
      const device = fakeDevice();
      entryUpdate(fakeEntry(device), doc);
      return entryUpdate(fakeEntry(device), doc); // clock 1 of a client the room never saw
    },
  },
  { name: 'a device writing a receipt', rule: 'R10', make: () => receiptUpdate(fakeReceipt(fakeEntry().n)) },
  { name: 'a device writing a receipt for its own entry', rule: 'R10', make: ({ entry }) => receiptUpdate(fakeReceipt(entry.n)) },
  { name: 'a validator writing an entry', rule: 'R10', writer: 'validator', make: () => entryUpdate(fakeEntry()) },
  {
    name: 'a validator writing an entry beside its receipts',
    rule: 'R10',
    writer: 'validator',
    make: () => Y.mergeUpdates([receiptUpdate(fakeReceipt(fakeEntry().n)), entryUpdate(fakeEntry())]),
  },
];

describe('relay admission refuses hostile updates whole and leaves the room as it was', () => {
  for (const testCase of hostile) {
    it(`[${testCase.rule}] ${testCase.name} is refused`, () => {
      const seed = seededRoom();
      const before = snapshot(seed.room);
      const update = testCase.make(seed);
      const result = seed.room.prepare(update, limits, testCase.writer ?? 'device');
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.rule).toBe(testCase.rule);
      expect(result.closeCode).toBe(testCase.closeCode ?? CloseCode.Forbidden);
      expect(result.reason.length).toBeGreaterThan(5);
      expect(snapshot(seed.room)).toEqual(before);
    });
  }
});

/** Hostile cases a stored row is not refused for: its content was judged when it was admitted (R5), and who wrote it (R10) is not a row's fact. */
const judgedWhenAdmitted = new Set([
  'an entry that is not well-formed',
  'a receipt that is not well-formed',
  'an entry over 2 KiB whose fields hide under a __proto__ key',
  'an entry whose __proto__ key makes its prototype null',
  'an entry carrying a bigint (lib0 decodes it; JSON cannot hold it)',
  'an entry with a bigint nested in an extra field',
  'an item over the size limit',
]);

describe('a stored row (a room reloading, or another relay’s row from the bus) is checked for structure and place, not content', () => {
  for (const testCase of hostile.filter((c) => c.rule !== 'R10' && !judgedWhenAdmitted.has(c.name))) {
    it(`[R5] ${testCase.name}: refused under ${testCase.rule} when stored too`, () => {
      const seed = seededRoom();
      const before = snapshot(seed.room);
      const result = seed.room.prepare(testCase.make(seed), limits, 'stored');
      expect(result.ok === false && result.rule).toBe(testCase.rule);
      expect(snapshot(seed.room)).toEqual(before);
    });
  }

  it('[R5] an entry refused from a phone for its content loads from the store (a row an earlier release admitted is never dropped)', () => {
    const entry = fakeEntry();
    const row = entryValueUpdate(entry.n, { ...entry, extra: 1 });
    expect(new RoomState().prepare(row, limits, 'device')).toMatchObject({ ok: false, rule: 'R2' });
    const room = new RoomState();
    const result = admit(room, row, 'stored');
    expect(result.ok && result.fresh.map((held) => [held.kind, held.device])).toEqual([['entry', entry.d]]);
    expect(room.deviceItemUpdates(entry.d)).toHaveLength(1);
  });

  it('[R2] a stored entry without a device key is refused: the relay could not route it', () => {
    const entry = fakeEntry();
    const { d: _, ...withoutDevice } = entry;
    expect(new RoomState().prepare(entryValueUpdate(entry.n, withoutDevice), limits, 'stored')).toMatchObject({ ok: false, rule: 'R2' });
  });
});

describe('relay admission names a V2 update for what it is', () => {
  it('[R2] a V2 update is refused with "V2 updates are not accepted; send V1"', () => {
    const doc = new Y.Doc();
    entryUpdate(fakeEntry(), doc);
    const result = new RoomState().prepare(Y.encodeStateAsUpdateV2(doc), limits, 'device');
    expect(result.ok === false && result.reason).toMatch(/^V2 updates are not accepted; send V1/);
  });

  it('[R2] an empty V1 update (what a peer with nothing sends) is still admitted as a no-op', () => {
    const result = new RoomState().prepare(Y.encodeStateAsUpdate(new Y.Doc()), limits, 'device');
    expect(result.ok && result.toStore).toBe(null);
  });
});

describe('relay admission admits appends and treats re-syncs as no-ops', () => {
  it('[R7] a phone re-sending its own entry on reconnect is admitted as a no-op, not a rewrite', () => {
    const { room, studentDoc } = seededRoom();
    const before = snapshot(room);
    const resync = Y.encodeStateAsUpdate(studentDoc); // what sync step 2 sends after a reconnect
    const result = room.prepare(resync, limits, 'device');
    expect(result.ok && result.fresh.length === 0 && result.toStore === null).toBe(true);
    expect(snapshot(room)).toEqual(before);
  });

  it('[R7] a re-sync holding old and new entries admits only the new one and stores only it', () => {
    const { room, studentDoc, device } = seededRoom();
    const next = fakeEntry(device);
    entryUpdate(next, studentDoc);
    const result = admit(room, Y.encodeStateAsUpdate(studentDoc), 'device');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.fresh.map((held) => held.key)).toEqual([next.n]);
    expect(Y.decodeUpdate(result.toStore!).structs).toHaveLength(1);
    expect(room.entryCount).toBe(2);
  });

  it('[R7] a forged duplicate (a held client and clock with other content) is ignored, never stored', () => {
    const { room, entry, studentDoc } = seededRoom();
    const clientId = studentDoc.clientID;
    const forger = new Y.Doc();
    forger.clientID = clientId;
    const forged = entryUpdate({ ...fakeEntry(), n: entry.n }, forger);
    const result = room.prepare(forged, limits, 'device');
    expect(result.ok && result.toStore === null).toBe(true);
    expect(docOf(room.fullUpdate()).getMap('entries').get(entry.n)).toEqual(entry);
  });

  it('[R8] a validator batch of 200 receipts, each from a fresh client, merged in one update, is admitted', () => {
    const room = new RoomState();
    const entries = Array.from({ length: 200 }, () => fakeEntry());
    for (const entry of entries) expect(admit(room, entryUpdate(entry), 'device').ok).toBe(true);
    const batch = Y.mergeUpdates(entries.map((entry) => receiptUpdate(fakeReceipt(entry.n))));
    const result = admit(room, batch, 'validator');
    expect(result.ok && result.fresh.length).toBe(200);
    expect(room.receiptCount).toBe(200);
  });

  it('[R10] a stored row (a room reloading) may hold entries and receipts together', () => {
    const room = new RoomState();
    const entry = fakeEntry();
    const row = Y.mergeUpdates([entryUpdate(entry), receiptUpdate(fakeReceipt(entry.n))]);
    const result = admit(room, row, 'stored');
    expect(result.ok && result.fresh.map((held) => held.kind).sort()).toEqual(['entry', 'receipt']);
  });

  it('[R3] a room at its item limit refuses one more entry with 4413', () => {
    const room = new RoomState();
    const small = { ...limits, roomItems: 2 };
    for (let i = 0; i < 2; i++) {
      const prepared = room.prepare(entryUpdate(fakeEntry()), small, 'device');
      if (!prepared.ok) throw new Error(prepared.reason);
      room.commit(prepared.fresh, prepared.toStore!.length);
    }
    const result = room.prepare(entryUpdate(fakeEntry()), small, 'device');
    expect(result.ok === false && result.rule === 'R3' && result.closeCode === CloseCode.TooLarge).toBe(true);
  });
});

describe('filtered sync data', () => {
  it('each admitted item re-encodes as a self-contained update equal to the original item', () => {
    const doc = new Y.Doc();
    const device = fakeDevice();
    const update = captureUpdate(doc, () => {
      for (const entry of [fakeEntry(device), fakeEntry(device)]) doc.getMap('entries').set(entry.n, entry);
    });
    const items = Y.decodeUpdate(update).structs as Y.Item[];
    const copy = docOf(...items.map(encodeItemUpdate));
    expect(Y.encodeStateAsUpdate(copy)).toEqual(Y.encodeStateAsUpdate(doc));
  });

  it('a device gets only its entries and their receipts; the full state holds everything', () => {
    const room = new RoomState();
    const mine = fakeDevice();
    const myEntry = fakeEntry(mine);
    const others = Array.from({ length: 20 }, () => fakeEntry());
    for (const entry of [myEntry, ...others]) admit(room, entryUpdate(entry), 'device');
    for (const entry of [myEntry, ...others]) admit(room, receiptUpdate(fakeReceipt(entry.n)), 'validator');
    const phone = docOf(...room.deviceItemUpdates(mine));
    expect(Object.keys(phone.getMap('entries').toJSON())).toEqual([myEntry.n]);
    expect(Object.keys(phone.getMap('receipts').toJSON())).toEqual([myEntry.n]);
    expect(Y.decodeStateVector(room.deviceStateVector(mine)).size).toBe(2);
    const full = docOf(room.fullUpdate());
    expect(full.getMap('entries').size + full.getMap('receipts').size).toBe(42);
  });

  it('an unfiltered peer gets exactly what its state vector lacks (as Y.diffUpdate of the whole room would give)', () => {
    const room = new RoomState();
    const phones = Array.from({ length: 6 }, () => ({ doc: new Y.Doc(), device: fakeDevice() }));
    const entries = phones.flatMap(({ doc, device }) => [0, 1, 2].map(() => {
      const entry = fakeEntry(device);
      expect(admit(room, entryUpdate(entry, doc), 'device').ok).toBe(true);
      return entry;
    }));
    for (const entry of entries.slice(0, 12)) expect(admit(room, receiptUpdate(fakeReceipt(entry.n)), 'validator').ok).toBe(true);
    const whole = room.fullUpdate();
    const full = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(whole));
    const clients = [...full.keys()];
    const stateVectors: Map<number, number>[] = [
      new Map(),
      full,
      new Map([...full].map(([client, clock]) => [client, Math.max(0, clock - 1)])),
      new Map(clients.slice(0, 9).map((client) => [client, full.get(client)!])),
      new Map([...clients.map((client): [number, number] => [client, 0]), [424242, 7]]),
    ];
    for (const known of stateVectors) {
      const missing = room.updateMissingFrom(known);
      const expected = Y.diffUpdate(whole, Y.encodeStateVector(known));
      expect(roomJson(docOf(missing))).toEqual(roomJson(docOf(expected)));
      expect(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(missing))).toEqual(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(expected)));
    }
    expect(room.updateMissingFrom(full)).toEqual(Y.encodeStateAsUpdate(new Y.Doc()));
  });

  it('item updates are merged by laying them side by side, equal in content to Y.mergeUpdates; a gap falls back to Yjs', () => {
    const items: Uint8Array[] = [];
    for (let phone = 0; phone < 5; phone++) {
      const doc = new Y.Doc();
      const device = fakeDevice();
      for (let i = 0; i < 3; i++) items.push(...(Y.decodeUpdate(entryUpdate(fakeEntry(device), doc)).structs as Y.Item[]).map(encodeItemUpdate));
    }
    for (let i = 0; i < 4; i++) items.push(receiptUpdate(fakeReceipt(fakeEntry().n)));
    const shuffled = [...items].sort(() => Math.random() - 0.5);
    const laid = concatItemUpdates(shuffled);
    expect(laid).toBeDefined();
    const merged = Y.mergeUpdates(shuffled);
    expect(roomJson(docOf(laid!))).toEqual(roomJson(docOf(merged)));
    expect(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(laid!))).toEqual(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(merged)));
    expect(Object.keys(roomJson(docOf(laid!)).entries)).toHaveLength(15);
    // Decoded by Yjs as it decodes its own merge: the same structs, client by client.
    const structs = (update: Uint8Array) => Y.decodeUpdate(update).structs.map((struct) => [struct.id.client, struct.id.clock, struct.length]);
    expect(structs(laid!)).toEqual(structs(merged));
    // A client whose clocks skip one (its clock-1 item left out) is not laid side by side.
    const doc = new Y.Doc();
    const device = fakeDevice();
    const ofOneClient = [0, 1, 2].map(() => encodeItemUpdate(Y.decodeUpdate(entryUpdate(fakeEntry(device), doc)).structs[0] as Y.Item));
    expect(concatItemUpdates([ofOneClient[0]!, ofOneClient[2]!])).toBeUndefined();
    expect(concatItemUpdates([ofOneClient[0]!, ofOneClient[0]!])).toBeUndefined();
    expect(concatItemUpdates([merged, ofOneClient[0]!])).toBeUndefined();
    const withGap = mergeItemUpdates([ofOneClient[0]!, ofOneClient[2]!]);
    expect(Object.keys(roomJson(docOf(withGap, ofOneClient[1]!)).entries)).toHaveLength(3);
  });
});
