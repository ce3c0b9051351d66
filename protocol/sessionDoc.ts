/**
 * The session document's layout (docs/SPEC.md "The session document"): two root `Y.Map`s of plain
 * JSON objects keyed by entry nonce, each key written once and never edited or deleted.
 *
 * Every write goes through these functions so that each entry and each receipt is a
 * self-contained Yjs item (a first write of a map key has no origin), which is what relay
 * admission (R2, R7, R8) and filtered sync rely on.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as random from 'lib0/random';
import * as Y from 'yjs';
import { ROOT_ENTRIES, ROOT_RECEIPTS } from './constants.ts';
import type { Entry, Receipt } from './schemas.ts';

export function entriesMap(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap(ROOT_ENTRIES);
}

export function receiptsMap(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap(ROOT_RECEIPTS);
}

/**
 * Appends a sealed entry under its nonce. Refuses (returns false) if the key is already there:
 * overwriting would carry an origin and a deletion, which the relay refuses (R1, R7) and which
 * would poison every later sync of this client.
 */
export function appendEntry(doc: Y.Doc, entry: Entry): boolean {
  const entries = entriesMap(doc);
  if (entries.has(entry.n)) return false;
  entries.set(entry.n, { ...entry });
  return true;
}

/**
 * Appends a receipt from a fresh Yjs client: it is written in a scratch doc and applied as an
 * update, so the receipt is the only item of its client (R8) and depends on no other receipt
 * by clock. Returns false if the room already holds a receipt for that entry.
 * `origin` is passed to `applyUpdate` so providers can tell local writes apart.
 */
export function appendReceipt(doc: Y.Doc, receipt: Receipt, origin?: unknown): boolean {
  if (receiptsMap(doc).has(receipt.n)) return false;
  Y.applyUpdate(doc, encodeReceiptUpdate(receipt), origin);
  return true;
}

/**
 * The self-contained Yjs update (V1) that writes one receipt from a fresh client: one item,
 * clock 0, parent the root `receipts`, key the entry's nonce, and an empty delete set — the same
 * bytes `Y.encodeStateAsUpdate` gives for a scratch doc holding only that receipt, written with
 * Yjs's own encoder and `Item.write` (a scratch Y.Doc cost 28 µs a receipt, this 3 µs: the
 * validator writes one per entry). `clientId` defaults to a random 32-bit id, as Yjs picks one.
 */
export function encodeReceiptUpdate(receipt: Receipt, clientId: number = random.uint32()): Uint8Array {
  const item = new Y.Item(Y.createID(clientId, 0), null, null, null, null, ROOT_RECEIPTS as unknown as Y.AbstractType<unknown>, receipt.n, new Y.ContentAny([{ ...receipt }]));
  const encoder = new Y.UpdateEncoderV1();
  encoding.writeVarUint(encoder.restEncoder, 1); // clients in this update
  encoding.writeVarUint(encoder.restEncoder, 1); // structs of that client
  encoder.writeClient(clientId);
  encoding.writeVarUint(encoder.restEncoder, 0); // clock of the first struct
  item.write(encoder, 0);
  encoding.writeVarUint(encoder.restEncoder, 0); // empty delete set
  return encoder.toUint8Array();
}

/**
 * The merge of one-item updates laid out as `encodeReceiptUpdate` (and the relay's
 * `encodeItemUpdate`) write them, [1] [1, client, clock, item] [0], without decoding their
 * items: a V1 update is a list of clients, each a run of structs from its first clock, then the
 * delete set, so the merge is each item's bytes copied under its client's header, clients in
 * descending order as Yjs writes them, and one empty delete set. The same bytes as
 * `Y.mergeUpdates` (tests/relay/admission.test.ts, tests/bench/fastPaths.test.ts), which
 * decodes and re-encodes every item (33 µs a receipt). Undefined when an update is not of that
 * shape, or a client's clocks have a gap or a repeat (Yjs would need a Skip there).
 */
export function concatItemUpdates(updates: readonly Uint8Array[]): Uint8Array | undefined {
  const items: { client: number; clock: number; body: Uint8Array }[] = [];
  for (const update of updates) {
    const decoder = decoding.createDecoder(update);
    if (update.length < 6 || decoding.readVarUint(decoder) !== 1 || decoding.readVarUint(decoder) !== 1) return undefined;
    const client = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    if (update[update.length - 1] !== 0 || decoder.pos >= update.length - 1) return undefined;
    items.push({ client, clock, body: update.subarray(decoder.pos, update.length - 1) });
  }
  items.sort((a, b) => b.client - a.client || a.clock - b.clock);
  /** Each client's items, as [first, end) into `items`, their clocks checked to run without gaps. */
  const runs: [number, number][] = [];
  for (let first = 0; first < items.length; ) {
    let end = first + 1;
    for (; end < items.length && items[end]!.client === items[first]!.client; end++) {
      if (items[end]!.clock !== items[end - 1]!.clock + 1) return undefined;
    }
    runs.push([first, end]);
    first = end;
  }
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, runs.length);
  for (const [first, end] of runs) {
    encoding.writeVarUint(encoder, end - first);
    encoding.writeVarUint(encoder, items[first]!.client);
    encoding.writeVarUint(encoder, items[first]!.clock);
    for (let i = first; i < end; i++) encoding.writeUint8Array(encoder, items[i]!.body);
  }
  encoding.writeVarUint(encoder, 0); // empty delete set
  return encoding.toUint8Array(encoder);
}
