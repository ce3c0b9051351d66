/**
 * The session document's layout (DESIGN.md "The session document"): two root `Y.Map`s of plain
 * JSON objects keyed by entry nonce, each key written once and never edited or deleted.
 *
 * Every write goes through these functions so that each entry and each receipt is a
 * self-contained Yjs item (a first write of a map key has no origin), which is what relay
 * admission (R2, R7, R8) and filtered sync rely on.
 */
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

/** The self-contained Yjs update (V1) that writes one receipt from a fresh client. */
export function encodeReceiptUpdate(receipt: Receipt): Uint8Array {
  // A fixed guid: the scratch doc is never synced, and Yjs's random uuidv4 would cost 31 calls
  // to the system's random source per receipt (a third of the validator's time in a burst).
  // Its clientID stays random: that is what makes each receipt its own client.
  const scratch = new Y.Doc({ guid: 'rollcall-receipt' });
  receiptsMap(scratch).set(receipt.n, { ...receipt });
  const update = Y.encodeStateAsUpdate(scratch);
  scratch.destroy();
  return update;
}
