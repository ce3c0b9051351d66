/**
 * Pure relay admission (docs/SPEC.md "Relay admission", R1, R2, R3, R7, R8): given a decoded Yjs
 * update and what the room already holds, decide whether the update is admitted, and which of
 * its items are new. No I/O, no clock: table-tested in tests/relay/.
 *
 * Every admitted item is the first write of one key of a root map, so it is self-contained
 * (no origin) and the room can keep, index and forward it on its own (filtered sync).
 */
import type * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import {
  CloseCode,
  EntrySchema,
  ROOT_ENTRIES,
  ROOT_RECEIPTS,
  ReceiptSchema,
  parseWith,
  plainJsonProblem,
  type RelayRuleId,
} from '../protocol/index.ts';

/** What admission needs to know about a room (implemented by RoomState). */
export interface RoomFacts {
  /** Next expected clock of a Yjs client: every item of `client` below it is already held. */
  clockOf(client: number): number;
  hasEntry(nonce: string): boolean;
  hasReceipt(nonce: string): boolean;
  /** The device a client wrote entries for, or that it wrote a receipt (R8); undefined if unknown. */
  clientFacts(client: number): ClientFacts | undefined;
  readonly itemCount: number;
  readonly byteCount: number;
}

export type ClientFacts = { kind: 'entry'; device: string } | { kind: 'receipt' };

/**
 * Who sent the update (R10): a phone (`?device=`) writes entries only, the room's proven
 * validator writes receipts only; `stored` is a row the relay admitted before (reloading).
 */
export type Writer = 'device' | 'validator' | 'stored';

export interface AdmissionLimits {
  itemBytes: number;
  roomItems: number;
  roomBytes: number;
}

/** One new item the update brings: the first write of `key` in root `kind`. */
export interface AdmittedItem {
  kind: 'entry' | 'receipt';
  /** The map key, which equals the entry's (or answered entry's) nonce `n`. */
  key: string;
  /** For entries: the device key `d`. */
  device?: string;
  item: Y.Item;
}

export interface Refusal {
  ok: false;
  rule: RelayRuleId;
  reason: string;
  closeCode: CloseCode;
}

export type Inspection = { ok: true; fresh: AdmittedItem[]; duplicates: number; hasSkips: boolean } | Refusal;

export function refuse(rule: RelayRuleId, reason: string, closeCode: CloseCode = CloseCode.Forbidden): Refusal {
  return { ok: false, rule, reason, closeCode };
}

/**
 * Yjs's own V1 update decoder, remembering the byte decoder it reads from: `Y.decodeUpdate`
 * stops after the delete set and silently ignores any bytes that follow.
 */
class EndTrackingDecoderV1 extends Y.UpdateDecoderV1 {
  static lastDecoder: decoding.Decoder | undefined;
  constructor(decoder: decoding.Decoder) {
    super(decoder);
    EndTrackingDecoderV1.lastDecoder = decoder;
  }
}

/**
 * Decodes an update with Yjs's own decoder; garbage is refused (R2: it is no first write of a
 * JSON object), and so is an update with bytes after its end. A V2 update read as V1 is the
 * common case of the latter: its first two bytes read as "no clients, no deletions", so it
 * decoded as empty and was admitted as a no-op while the sender believed it had synced.
 */
export function decodeUpdateSafely(update: Uint8Array): { ok: true; decoded: ReturnType<typeof Y.decodeUpdate> } | Refusal {
  let decoded: ReturnType<typeof Y.decodeUpdate>;
  let endOffset: number;
  try {
    decoded = Y.decodeUpdateV2(update, EndTrackingDecoderV1);
    endOffset = EndTrackingDecoderV1.lastDecoder!.pos;
  } catch {
    return refuse('R2', 'not a Yjs update (it does not decode)');
  }
  const trailingBytes = update.length - endOffset;
  if (trailingBytes === 0) return { ok: true, decoded };
  if (decoded.structs.length === 0 && decoded.ds.clients.size === 0) {
    return refuse('R2', `V2 updates are not accepted; send V1 (this one reads as an empty V1 update followed by ${trailingBytes} bytes)`);
  }
  return refuse('R2', `not a Yjs V1 update (${trailingBytes} bytes follow its end)`);
}

function describeContent(content: Y.AbstractStruct | object): string {
  if (content instanceof Y.ContentType) return 'a nested shared type';
  if (content instanceof Y.ContentString) return 'text';
  if (content instanceof Y.ContentDeleted) return 'deleted content';
  if (content instanceof Y.ContentBinary) return 'binary content';
  if (content instanceof Y.ContentEmbed || content instanceof Y.ContentFormat) return 'rich-text content';
  if (content instanceof Y.ContentDoc) return 'a sub-document';
  if (content instanceof Y.ContentJSON) return 'legacy JSON content';
  return 'unknown content';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const textEncoder = new TextEncoder();

/**
 * Inspects a decoded update against the room. The update is refused whole at the first
 * violation; otherwise `fresh` lists the items the room does not hold yet (possibly none:
 * a phone re-sending its own entries on reconnect is a no-op, not an R7 rewrite).
 */
export function inspectUpdate(
  decoded: ReturnType<typeof Y.decodeUpdate>,
  room: RoomFacts,
  limits: AdmissionLimits,
  updateBytes: number,
  writer: Writer,
): Inspection {
  // R1: a delete set entry is a deletion, whatever it points at.
  for (const deletions of decoded.ds.clients.values()) {
    if (deletions.length > 0) return refuse('R1', 'the update deletes something; entries and receipts are never deleted');
  }
  const fresh: AdmittedItem[] = [];
  /** Clock advanced by this update's own new items, per client (items of a client arrive in clock order). */
  const nextClock = new Map<number, number>();
  /** Facts learnt in this update, so two items of one update are checked against each other too. */
  const newFacts = new Map<number, ClientFacts>();
  const keysWritten = new Set<string>();
  let duplicates = 0;
  let hasSkips = false;
  for (const struct of decoded.structs) {
    if (struct instanceof Y.Skip) {
      // A Skip only marks clocks the sender does not include (merged updates). It writes
      // nothing; an item after it is still held to the no-gap rule below.
      hasSkips = true;
      continue;
    }
    const { client, clock } = struct.id;
    const expected = nextClock.get(client) ?? room.clockOf(client);
    if (clock + struct.length <= expected) {
      // Already held (a re-sync): Yjs ignores it too. Not checked further, and never stored.
      duplicates++;
      continue;
    }
    if (struct instanceof Y.GC) return refuse('R1', 'the update carries garbage-collected (deleted) content');
    if (clock > expected) {
      return refuse('R8', `client ${client} skips clocks ${expected}..${clock - 1}: the room would hold items it can never apply`);
    }
    if (clock < expected || struct.length !== 1) return refuse('R2', 'an item holds more than one value');
    const item = struct as Y.Item;
    if (item.content instanceof Y.ContentDeleted || item.deleted) return refuse('R1', 'the update carries deleted content');
    // Y.decodeUpdate leaves `parent` as the root's name (string), an ID (nested) or null (known only by origin).
    const parent: unknown = item.parent;
    if (parent === null) return refuse('R2', 'an item with an origin (an edit of existing content, not a first write)');
    if (typeof parent !== 'string') return refuse('R2', 'a nested type (an item inside another shared type)');
    const root = parent;
    if (root !== ROOT_ENTRIES && root !== ROOT_RECEIPTS) return refuse('R2', `a root other than entries and receipts (${JSON.stringify(root.slice(0, 40))})`);
    if (typeof item.parentSub !== 'string') return refuse('R2', `${root} used as an array or text, not as a map`);
    if (item.origin !== null || item.rightOrigin !== null) return refuse('R2', 'an item with an origin (an overwrite or an edit, not a first write)');
    if (!(item.content instanceof Y.ContentAny)) return refuse('R2', `${root} value is ${describeContent(item.content)}, not a JSON object`);
    const values = item.content.arr;
    if (values.length !== 1 || !isPlainObject(values[0])) return refuse('R2', `${root} value is not a JSON object`);
    const value = values[0];
    const key = item.parentSub;
    // A stored row (R5) passed this admission when a relay wrote it: its content is not judged
    // again, only its structure (above) and its place in the room (R7, R8 below). Reloading is
    // what a relay does for every room of a dead relay at once (docs/performance.md, failover).
    if (writer !== 'stored') {
      const problem = contentProblem(root, value, limits);
      if (problem) return problem;
    }
    if (value['n'] !== key) return refuse('R2', `${root} key is not the nonce n of its value`);
    if (root === ROOT_ENTRIES && writer === 'validator') return refuse('R10', 'the validator writes receipts only, never entries');
    if (root === ROOT_RECEIPTS && writer === 'device') return refuse('R10', 'only the room’s validator writes receipts');
    if (root === ROOT_ENTRIES) {
      const device = value['d'];
      if (typeof device !== 'string') return refuse('R2', 'not a well-formed entry (no device key d)');
      if (room.hasEntry(key) || keysWritten.has(`e:${key}`)) return refuse('R7', 'the room already holds an entry under this nonce');
      const facts = newFacts.get(client) ?? room.clientFacts(client);
      if (facts?.kind === 'receipt') return refuse('R8', 'a client that wrote a receipt writes an entry');
      if (facts && facts.device !== device) return refuse('R8', 'one Yjs client writes entries for two devices');
      newFacts.set(client, { kind: 'entry', device });
      keysWritten.add(`e:${key}`);
      fresh.push({ kind: 'entry', key, device, item });
    } else {
      if (room.hasReceipt(key) || keysWritten.has(`r:${key}`)) return refuse('R7', 'the room already holds a receipt for this entry');
      // A receipt must be the only item of its client: a fresh client, clock 0, nothing after it.
      if (clock !== 0 || room.clientFacts(client) || newFacts.has(client)) return refuse('R8', 'a receipt is not the only item of its Yjs client');
      newFacts.set(client, { kind: 'receipt' });
      keysWritten.add(`r:${key}`);
      fresh.push({ kind: 'receipt', key, item });
    }
    nextClock.set(client, clock + 1);
  }
  if (room.itemCount + fresh.length > limits.roomItems) {
    return refuse('R3', `the room is full (${limits.roomItems} items)`, CloseCode.TooLarge);
  }
  if (fresh.length > 0 && room.byteCount + updateBytes > limits.roomBytes) {
    return refuse('R3', `the room is full (${limits.roomBytes} bytes)`, CloseCode.TooLarge);
  }
  return { ok: true, fresh, duplicates, hasSkips };
}

/** A phone's or a validator's item value: plain JSON (R2), within the item limit (R3), an entry or receipt by its schema (R2). */
function contentProblem(root: string, value: Record<string, unknown>, limits: AdmissionLimits): Refusal | undefined {
  // Before measuring: a bigint would make JSON.stringify throw, and fields hidden in a
  // prototype (a __proto__ key) would be measured as `{}` yet read by the schema.
  const notJson = plainJsonProblem(value);
  if (notJson) return refuse('R2', `${root} value is not plain JSON (${notJson})`);
  // R3 before the schema: the schema would also fail, but the client must learn it is a size limit.
  const jsonBytes = textEncoder.encode(JSON.stringify(value)).length;
  if (jsonBytes > limits.itemBytes) return refuse('R3', `an item of ${jsonBytes} bytes is over the ${limits.itemBytes}-byte limit`, CloseCode.TooLarge);
  const parsed = root === ROOT_ENTRIES ? parseWith(EntrySchema, value) : parseWith(ReceiptSchema, value);
  if (!parsed.ok) return refuse('R2', `not a well-formed ${root === ROOT_ENTRIES ? 'entry' : 'receipt'} (${parsed.error})`);
  return undefined;
}
