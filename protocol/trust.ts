/**
 * Who may write what (SPEC.md "Who may write what", rules R9–R11): the formats a validator and
 * a relay exchange so that only a validator the relay trusts opens a room and writes its
 * receipts. Isomorphic: shapes and byte layouts only; signing is crypto/'s, checking is the
 * relay's.
 *
 * - A **room grant** is JSON text signed (Ed25519, detached) by the validator: the room, until
 *   when phones may write, and optional caps. The relay verifies the signature over the exact
 *   text received, so no canonical JSON is needed.
 * - An unfiltered connection proves it is a validator by signing the relay's **challenge**
 *   (fresh random bytes per connection) bound to the room: no secret ever travels, in a URL or
 *   anywhere else, and a recorded proof is worthless on another connection.
 * - The messages ride in y-websocket frames under their own outer type, so the sync protocol is
 *   untouched and phones (filtered connections) never see them.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { z } from 'zod';
import { base64UrlOf, sessionId } from './schemas.ts';

/** y-websocket outer message type of Rollcall's validator messages (0–3 are y-websocket's own). */
export const VALIDATOR_MESSAGE_TYPE = 64;
/** Length of the relay's per-connection challenge. */
export const CHALLENGE_BYTES = 32;
/** Ed25519 public key (validator identity) and detached signature lengths. */
export const VALIDATOR_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** The longest a grant may keep a room writable ahead of now (a term, not forever). */
export const MAX_GRANT_AHEAD_MS = 120 * 24 * 3600_000;

/** What a validator signs to open a room. Strict: an unknown field is refused. */
export const RoomGrantSchema = z.strictObject({
  v: z.literal(1),
  room: sessionId,
  /** The signer's Ed25519 public key (base64url); must be enrolled at the relay. */
  validator: base64UrlOf(VALIDATOR_KEY_BYTES),
  /** Phones may write entries until this instant (the session's end + its late_sync_minutes). */
  writes_until_ms: z.number().int().min(0).max(2 ** 50),
  /** Newer grants of the same validator replace older ones (end a session early, extend it). */
  issued_at_ms: z.number().int().min(0).max(2 ** 50),
  /** Optional caps below the relay's own room limits (R3): a class of 30 needs no 20,000 items. */
  max_items: z.number().int().min(1).max(1_000_000).optional(),
  max_bytes: z.number().int().min(1024).max(2 ** 40).optional(),
});
export type RoomGrant = z.infer<typeof RoomGrantSchema>;

const textEncoder = new TextEncoder();

/** The bytes a validator signs for a grant: a context line, then the grant's JSON text. */
export function grantSigningBytes(grantJson: string): Uint8Array {
  return textEncoder.encode(`rollcall grant v1\n${grantJson}`);
}

/** The bytes a validator signs to answer a relay's challenge for `room`. */
export function challengeSigningBytes(room: string, challenge: Uint8Array): Uint8Array {
  const context = textEncoder.encode(`rollcall relay auth v1\n${room}\n`);
  const bytes = new Uint8Array(context.length + challenge.length);
  bytes.set(context);
  bytes.set(challenge, context.length);
  return bytes;
}

/** The bytes a validator signs when it redeems an enrolment code (proof it holds the key). */
export function enrolmentSigningBytes(code: string): Uint8Array {
  return textEncoder.encode(`rollcall enroll v1\n${code}`);
}

/** `POST /validators/enroll` on a relay. The code is a secret: it travels in this body only. */
export const EnrolRequestSchema = z.strictObject({
  code: z.string().min(1).max(100),
  public_key: base64UrlOf(VALIDATOR_KEY_BYTES),
  proof: base64UrlOf(ED25519_SIGNATURE_BYTES),
});
export type EnrolRequest = z.infer<typeof EnrolRequestSchema>;

/** What the relay tells a validator once its proof is accepted. */
export const WelcomeSchema = z.strictObject({
  room: sessionId,
  name: z.string(),
  writes_until_ms: z.number().int(),
});
export type Welcome = z.infer<typeof WelcomeSchema>;

/** Validator messages, by subtype. */
export type ValidatorMessage =
  /** relay → peer, first thing on an unfiltered connection */
  | { kind: 'challenge'; challenge: Uint8Array }
  /** peer → relay: the grant and the signed challenge */
  | { kind: 'hello'; grantJson: string; grantSignature: Uint8Array; challengeSignature: Uint8Array }
  /** relay → peer: proof accepted, the room is yours; sync follows */
  | { kind: 'welcome'; welcome: string }
  /** peer → relay, on a welcomed connection: a newer grant for the same room */
  | { kind: 'grant'; grantJson: string; grantSignature: Uint8Array };

const SUBTYPES = { challenge: 0, hello: 1, welcome: 2, grant: 3 } as const;

export function encodeValidatorMessage(message: ValidatorMessage): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, VALIDATOR_MESSAGE_TYPE);
  encoding.writeVarUint(encoder, SUBTYPES[message.kind]);
  switch (message.kind) {
    case 'challenge':
      encoding.writeVarUint8Array(encoder, message.challenge);
      break;
    case 'hello':
      encoding.writeVarString(encoder, message.grantJson);
      encoding.writeVarUint8Array(encoder, message.grantSignature);
      encoding.writeVarUint8Array(encoder, message.challengeSignature);
      break;
    case 'welcome':
      encoding.writeVarString(encoder, message.welcome);
      break;
    case 'grant':
      encoding.writeVarString(encoder, message.grantJson);
      encoding.writeVarUint8Array(encoder, message.grantSignature);
      break;
  }
  return encoding.toUint8Array(encoder);
}

/** Decodes the body after the outer type; `undefined` for garbage. Never throws. */
export function decodeValidatorMessage(decoder: decoding.Decoder): ValidatorMessage | undefined {
  try {
    const subtype = decoding.readVarUint(decoder);
    let message: ValidatorMessage | undefined;
    switch (subtype) {
      case SUBTYPES.challenge:
        message = { kind: 'challenge', challenge: decoding.readVarUint8Array(decoder) };
        break;
      case SUBTYPES.hello:
        message = {
          kind: 'hello',
          grantJson: decoding.readVarString(decoder),
          grantSignature: decoding.readVarUint8Array(decoder),
          challengeSignature: decoding.readVarUint8Array(decoder),
        };
        break;
      case SUBTYPES.welcome:
        message = { kind: 'welcome', welcome: decoding.readVarString(decoder) };
        break;
      case SUBTYPES.grant:
        message = { kind: 'grant', grantJson: decoding.readVarString(decoder), grantSignature: decoding.readVarUint8Array(decoder) };
        break;
      default:
        return undefined;
    }
    // Trailing bytes mean the sender and we disagree on the format: refuse rather than guess.
    return decoding.hasContent(decoder) ? undefined : message;
  } catch {
    return undefined;
  }
}
