/**
 * Yjs updates for relay tests: well-formed entries and receipts (sealed-looking, schema-valid
 * random bytes: the relay never opens them) and the hostile shapes admission must refuse.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { randomBytes, toBase64Url } from '../../crypto/index.ts';
import { encodeReceiptUpdate, type Entry, type Receipt } from '../../protocol/index.ts';

export function fakeDevice(): string {
  return toBase64Url(randomBytes(32));
}

export function fakeEntry(device = fakeDevice(), cipherBytes = 200): Entry {
  return { v: 1, d: device, n: toBase64Url(randomBytes(24)), c: toBase64Url(randomBytes(cipherBytes)) };
}

export function fakeReceipt(entryNonce: string): Receipt {
  return { v: 1, n: entryNonce, rn: toBase64Url(randomBytes(24)), c: toBase64Url(randomBytes(120)) };
}

/** The update a change to `doc` produces (what y-websocket would send live). */
export function captureUpdate(doc: Y.Doc, change: () => void): Uint8Array {
  const updates: Uint8Array[] = [];
  const onUpdate = (update: Uint8Array) => updates.push(update);
  doc.on('update', onUpdate);
  try {
    change();
  } finally {
    doc.off('update', onUpdate);
  }
  if (updates.length === 0) throw new Error('the change produced no update');
  return updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
}

/** One entry written by a fresh client (as a phone's first write). */
export function entryUpdate(entry: Entry, doc = new Y.Doc()): Uint8Array {
  return captureUpdate(doc, () => doc.getMap('entries').set(entry.n, { ...entry }));
}

/** Any value (even one JSON cannot hold) written under `key` of entries by a fresh client, as lib0 encodes it. */
export function entryValueUpdate(key: string, value: unknown, doc = new Y.Doc()): Uint8Array {
  return captureUpdate(doc, () => doc.getMap('entries').set(key, value as object));
}

/** `target` with an own enumerable property `key` (even `__proto__`, which `=` would not create). */
export function withOwnKey<T extends object>(target: T, key: string, value: unknown): T {
  return Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function receiptUpdate(receipt: Receipt): Uint8Array {
  return encodeReceiptUpdate(receipt);
}

/** A Y.Doc holding exactly what `updates` hold. */
export function docOf(...updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

/**
 * One decoded struct re-encoded alone with Yjs's encoder and an EMPTY delete set: how a hostile
 * client would strip the deletion from an overwrite, or send a GC struct with no deletion.
 */
export function structWithoutDeleteSet(struct: Y.Item | Y.GC): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  encoding.writeVarUint(encoder.restEncoder, 1);
  encoding.writeVarUint(encoder.restEncoder, 1);
  encoder.writeClient(struct.id.client);
  encoding.writeVarUint(encoder.restEncoder, struct.id.clock);
  struct.write(encoder, 0);
  encoding.writeVarUint(encoder.restEncoder, 0);
  return encoder.toUint8Array();
}

/** Room snapshot as plain JSON (entries and receipts by key, and any other root's presence). */
export function roomJson(doc: Y.Doc): { entries: Record<string, unknown>; receipts: Record<string, unknown>; roots: string[] } {
  return {
    entries: doc.getMap('entries').toJSON(),
    receipts: doc.getMap('receipts').toJSON(),
    roots: [...doc.share.keys()].sort(),
  };
}
