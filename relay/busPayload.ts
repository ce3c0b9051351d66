/**
 * The bytes of one bus message between relays (RelayBus; Redis carries them as a binary-safe
 * string): a version byte, the publishing relay's id, the store's row id and the Yjs update as
 * admitted. The room is the channel's, not the payload's: a relay subscribed to room A can only
 * ever hear room A's messages. Pure, so it is table-tested without Redis.
 *
 *   0x01 | varuint origin length | origin (UTF-8) | varuint row id | update (to the end)
 *
 * A payload in any other shape (another version, truncated, an empty update) decodes to
 * undefined: the receiver drops it (and logs it).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { BusMessage } from './RelayBus.ts';

export const BUS_PAYLOAD_VERSION = 1;
/** Relay ids are short (a UUID); a longer one is not a relay's. */
const MAX_ORIGIN_BYTES = 128;

/** Version and origin: how every payload of `origin` starts. */
function writeHeader(encoder: encoding.Encoder, origin: string): void {
  encoding.writeUint8(encoder, BUS_PAYLOAD_VERSION);
  encoding.writeVarString(encoder, origin);
}

export function encodeBusPayload(message: Omit<BusMessage, 'room'>): Uint8Array {
  const encoder = encoding.createEncoder();
  writeHeader(encoder, message.origin);
  encoding.writeVarUint(encoder, message.rowId);
  encoding.writeUint8Array(encoder, message.update);
  return encoding.toUint8Array(encoder);
}

/**
 * The first bytes of every payload `origin` publishes (version and origin). A relay hears its own
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

export function decodeBusPayload(room: string, payload: Uint8Array): BusMessage | undefined {
  try {
    const decoder = decoding.createDecoder(payload);
    if (decoding.readUint8(decoder) !== BUS_PAYLOAD_VERSION) return undefined;
    const originBytes = decoding.readVarUint8Array(decoder);
    if (originBytes.length === 0 || originBytes.length > MAX_ORIGIN_BYTES) return undefined;
    const origin = new TextDecoder('utf-8', { fatal: true }).decode(originBytes);
    const rowId = decoding.readVarUint(decoder);
    if (!Number.isSafeInteger(rowId) || rowId < 1) return undefined;
    const update = payload.slice(decoder.pos);
    if (update.length === 0) return undefined;
    return { room, origin, rowId, update };
  } catch {
    return undefined;
  }
}
