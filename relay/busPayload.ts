/**
 * The bytes of one bus message between relays (RelayBus; Redis carries them as a binary-safe
 * string). The first byte is the message's type; the room is the channel's, not the payload's: a
 * relay subscribed to room A can only ever hear room A's messages. Pure, so it is table-tested
 * without Redis.
 *
 *   0x01 update | varuint origin length | origin (UTF-8) | varuint row id | update (to the end)
 *   0x02 join   | varuint origin length | origin (UTF-8)
 *   0x03 head   | varuint origin length | origin (UTF-8) | varuint row id
 *
 * An update is what a relay admitted and stored under that row id. A join says "I now hold this
 * room and hear its channel"; a head answers it: "I stored this room's rows up to this id, some
 * without publishing them" (SPEC.md R12a: a relay that is the only one holding a room does not
 * publish). Types 0x02 and 0x03 were added on 2026-12-07; 0x01 is unchanged since the first
 * release, so relays of both releases still exchange updates (an older relay drops, and logs,
 * the two new types).
 *
 * A payload in any other shape (another type, truncated, bytes after a join or a head, an empty
 * update) decodes to undefined: the receiver drops it (and logs it).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { BusMessage } from './RelayBus.ts';

export const BUS_PAYLOAD_VERSION = 1;
const TYPE_UPDATE = BUS_PAYLOAD_VERSION;
const TYPE_JOIN = 2;
const TYPE_HEAD = 3;
/** Relay ids are short (a UUID); a longer one is not a relay's. */
const MAX_ORIGIN_BYTES = 128;

/** A payload as heard: an update, or one of the two messages relays announce themselves with. */
export type BusPayload = ({ kind: 'update' } & BusMessage) | { kind: 'join'; room: string; origin: string } | { kind: 'head'; room: string; origin: string; rowId: number };

/** Type and origin: how every payload of `origin` starts (an update's type byte is its version, 1). */
function writeHeader(encoder: encoding.Encoder, origin: string, type = TYPE_UPDATE): void {
  encoding.writeUint8(encoder, type);
  encoding.writeVarString(encoder, origin);
}

export function encodeBusPayload(message: Omit<BusMessage, 'room'>): Uint8Array {
  const encoder = encoding.createEncoder();
  writeHeader(encoder, message.origin);
  encoding.writeVarUint(encoder, message.rowId);
  encoding.writeUint8Array(encoder, message.update);
  return encoding.toUint8Array(encoder);
}

/** "`origin` now holds the room and hears its channel" (sent once its subscription is live). */
export function encodeBusJoin(origin: string): Uint8Array {
  const encoder = encoding.createEncoder();
  writeHeader(encoder, origin, TYPE_JOIN);
  return encoding.toUint8Array(encoder);
}

/** "`origin` stored the room's rows up to `rowId`": the answer to a join, or to any message, from a relay that was alone. */
export function encodeBusHead(origin: string, rowId: number): Uint8Array {
  const encoder = encoding.createEncoder();
  writeHeader(encoder, origin, TYPE_HEAD);
  encoding.writeVarUint(encoder, rowId);
  return encoding.toUint8Array(encoder);
}

/**
 * The first bytes of every update `origin` publishes (type and origin). A relay hears its own
 * messages back from Redis (pub/sub has no "not to me"): it recognises them by this prefix
 * without copying or decoding the update.
 */
export function busPayloadPrefix(origin: string): Uint8Array {
  const encoder = encoding.createEncoder();
  writeHeader(encoder, origin);
  return encoding.toUint8Array(encoder);
}

/** Whether `payload` starts with `prefix` (busPayloadPrefix) and carries something after it. */
export function hasBusPayloadPrefix(payload: Uint8Array, prefix: Uint8Array): boolean {
  if (payload.length <= prefix.length) return false;
  for (let i = prefix.length - 1; i >= 0; i--) if (payload[i] !== prefix[i]) return false;
  return true;
}

export function decodeBusPayload(room: string, payload: Uint8Array): BusPayload | undefined {
  try {
    const decoder = decoding.createDecoder(payload);
    const type = decoding.readUint8(decoder);
    if (type !== TYPE_UPDATE && type !== TYPE_JOIN && type !== TYPE_HEAD) return undefined;
    const originBytes = decoding.readVarUint8Array(decoder);
    if (originBytes.length === 0 || originBytes.length > MAX_ORIGIN_BYTES) return undefined;
    const origin = new TextDecoder('utf-8', { fatal: true }).decode(originBytes);
    if (type === TYPE_JOIN) return decoder.pos === payload.length ? { kind: 'join', room, origin } : undefined;
    const rowId = decoding.readVarUint(decoder);
    if (!Number.isSafeInteger(rowId) || rowId < 1) return undefined;
    if (type === TYPE_HEAD) return decoder.pos === payload.length ? { kind: 'head', room, origin, rowId } : undefined;
    const update = payload.slice(decoder.pos);
    if (update.length === 0) return undefined;
    return { kind: 'update', room, origin, rowId, update };
  } catch {
    return undefined;
  }
}
