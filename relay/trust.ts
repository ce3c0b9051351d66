/**
 * Pure checks of who may write what (SPEC.md R9–R11): a room grant, a validator's answer to
 * the relay's challenge, and the quotas a grant must fit. No I/O and no clock of their own:
 * the relay passes what its TrustStore knows (asynchronously: it may be a shared database) and
 * the time; table-tested in tests/relay/.
 */
import { fromBase64Url, toBase64Url, tryFromBase64Url } from '../crypto/index.ts';
import { nativeVerifyDetached as verifyDetached } from '../crypto/nativeEd25519.ts';
import {
  MAX_GRANT_AHEAD_MS,
  RoomGrantSchema,
  challengeSigningBytes,
  grantSigningBytes,
  parseWith,
  type RoomGrant,
} from '../protocol/index.ts';
import { CloseCode } from '../protocol/index.ts';
import { refuse, type Refusal } from './inspectUpdate.ts';
import type { EnrolledValidator, StoredGrant } from './TrustStore.ts';

/** What the grant check reads from the relay's trust (a TrustStore, or RelayTrust's caches in front of one). */
export interface TrustFacts {
  validator(publicKey: string): Promise<EnrolledValidator | undefined>;
  grant(room: string): Promise<StoredGrant | undefined>;
  openGrants(validator: string, nowMs: number): Promise<StoredGrant[]>;
}

/** Quotas per validator (R11), and the room byte cap a grant reserves by default (R3). */
export interface GrantLimits {
  maxOpenRoomsPerValidator: number;
  maxReservedBytesPerValidator: number;
  roomBytes: number;
}

export type GrantCheck = { ok: true; grant: RoomGrant; stored: StoredGrant; validator: EnrolledValidator } | Refusal;

/** Trusted: enrolled and not revoked. */
export function isTrusted(validator: EnrolledValidator | undefined): validator is EnrolledValidator {
  return validator !== undefined && validator.revokedAtMs === undefined;
}

/**
 * Checks a grant for `room` (its JSON text as received, and its detached signature) and says
 * what to store. `signer`, when given, is the key the connection already proved: a welcomed
 * connection cannot present another validator's grant.
 */
export async function checkGrant(
  room: string,
  grantJson: string,
  signature: Uint8Array,
  facts: TrustFacts,
  nowMs: number,
  limits: GrantLimits,
  signer?: string,
): Promise<GrantCheck> {
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(grantJson);
  } catch {
    return refuse('R9', 'the grant is not JSON');
  }
  const parsed = parseWith(RoomGrantSchema, parsedJson);
  if (!parsed.ok) return refuse('R9', `not a well-formed grant (${parsed.error})`);
  const grant = parsed.value;
  if (grant.room !== room) return refuse('R9', 'the grant names another room');
  if (signer !== undefined && grant.validator !== signer) return refuse('R10', 'the grant is signed by another validator than this connection’s');
  if (!verifyDetached(grantSigningBytes(grantJson), signature, fromBase64Url(grant.validator))) {
    return refuse('R9', 'the grant’s signature does not verify');
  }
  const validator = await facts.validator(grant.validator);
  if (!isTrusted(validator)) {
    return refuse('R10', validator ? 'this validator was revoked by the relay’s operator' : 'this relay does not trust this validator: ask its operator for an enrolment code (rollcall relay enroll)');
  }
  if (grant.writes_until_ms > nowMs + MAX_GRANT_AHEAD_MS) return refuse('R9', 'the grant keeps the room open too far ahead');
  const existing = await facts.grant(room);
  if (existing && existing.validator !== grant.validator) {
    // Only the same validator under a new key (re-enrolled under the same name, the old key
    // revoked) may take over a room: a second validator cannot open or answer the first one's.
    const owner = await facts.validator(existing.validator);
    if (!owner || owner.revokedAtMs === undefined || owner.name !== validator.name) return refuse('R10', 'another validator opened this room');
  }
  if (existing && existing.validator === grant.validator && grant.issued_at_ms < existing.issuedAtMs) {
    return refuse('R9', 'the grant is older than the one the room holds');
  }
  const reservedBytes = Math.min(grant.max_bytes ?? limits.roomBytes, limits.roomBytes);
  const others = (await facts.openGrants(grant.validator, nowMs)).filter((open) => open.room !== room);
  if (grant.writes_until_ms >= nowMs && others.length + 1 > limits.maxOpenRoomsPerValidator) {
    return refuse('R11', `this validator already holds ${others.length} open rooms (limit ${limits.maxOpenRoomsPerValidator})`, CloseCode.RateLimited);
  }
  const reserved = others.reduce((sum, open) => sum + open.reservedBytes, 0);
  if (grant.writes_until_ms >= nowMs && reserved + reservedBytes > limits.maxReservedBytesPerValidator) {
    return refuse('R11', `this validator's open rooms would reserve over ${limits.maxReservedBytesPerValidator} bytes`, CloseCode.RateLimited);
  }
  const stored: StoredGrant = {
    room,
    validator: grant.validator,
    grantJson,
    signature: toBase64Url(signature),
    writesUntilMs: grant.writes_until_ms,
    issuedAtMs: grant.issued_at_ms,
    reservedBytes,
  };
  return { ok: true, grant, stored, validator };
}

/** The validator's answer to this connection's challenge verifies under `validatorKey` (base64url). */
export function checkChallengeAnswer(room: string, challenge: Uint8Array, signature: Uint8Array, validatorKey: string): boolean {
  const key = tryFromBase64Url(validatorKey);
  return key !== undefined && verifyDetached(challengeSigningBytes(room, challenge), signature, key);
}

/** Whether phones may write entries to a room with this grant at `nowMs` (R9), and why not. */
export function roomWritability(grant: StoredGrant | undefined, owner: EnrolledValidator | undefined, nowMs: number): { ok: true } | Refusal {
  if (!grant) return refuse('R9', 'no validator has opened this room');
  if (!isTrusted(owner)) return refuse('R9', 'the validator that opened this room is no longer trusted by this relay');
  if (nowMs > grant.writesUntilMs) return refuse('R9', 'this room closed for new entries (the session and its late-sync time are over)');
  return { ok: true };
}
