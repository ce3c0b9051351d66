/**
 * The y-websocket wire protocol as the relay speaks it: message type, then a y-protocols
 * body. Encoded and decoded with lib0 and y-protocols' constants, never by hand-written
 * byte layouts of Yjs updates (those are decoded by Yjs itself in admission).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as authProtocol from 'y-protocols/auth';
import * as syncProtocol from 'y-protocols/sync';
import { VALIDATOR_MESSAGE_TYPE, decodeValidatorMessage, type ValidatorMessage } from '../protocol/index.ts';

/** y-websocket's outer message types. */
export const MessageType = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const;

/** An incoming message, decoded far enough to route it. */
export type IncomingMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; body: Uint8Array }
  | { type: 'auth' }
  | { type: 'query-awareness' }
  | { type: 'validator'; message: ValidatorMessage };

/** Decodes one message; `undefined` for garbage (unknown type, truncated body). Never throws. */
export function decodeMessage(data: Uint8Array): IncomingMessage | undefined {
  try {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MessageType.Sync: {
        const step = decoding.readVarUint(decoder);
        const body = decoding.readVarUint8Array(decoder);
        if (step === syncProtocol.messageYjsSyncStep1) return { type: 'sync-step1', stateVector: body };
        if (step === syncProtocol.messageYjsSyncStep2) return { type: 'sync-step2', update: body };
        if (step === syncProtocol.messageYjsUpdate) return { type: 'sync-update', update: body };
        return undefined;
      }
      case MessageType.Awareness:
        return { type: 'awareness', body: decoding.readVarUint8Array(decoder) };
      case MessageType.Auth:
        return { type: 'auth' };
      case MessageType.QueryAwareness:
        return { type: 'query-awareness' };
      case VALIDATOR_MESSAGE_TYPE: {
        const message = decodeValidatorMessage(decoder);
        return message ? { type: 'validator', message } : undefined;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function syncMessage(step: number, body: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.Sync);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, body);
  return encoding.toUint8Array(encoder);
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return syncMessage(syncProtocol.messageYjsSyncStep1, stateVector);
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return syncMessage(syncProtocol.messageYjsSyncStep2, update);
}

export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return syncMessage(syncProtocol.messageYjsUpdate, update);
}

export function encodeAwareness(body: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.Awareness);
  encoding.writeVarUint8Array(encoder, body);
  return encoding.toUint8Array(encoder);
}

/** An awareness update about nobody: applying it changes nothing, hearing it keeps a client's 30 s timer alive. */
export const EMPTY_AWARENESS = encodeAwareness(new Uint8Array([0]));

/** y-protocols auth "permission denied" with a reason (R6). */
export function encodePermissionDenied(reason: string): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.Auth);
  authProtocol.writePermissionDenied(encoder, reason);
  return encoding.toUint8Array(encoder);
}
