/**
 * The validation rules of docs/SPEC.md "Validation" as one synchronous pure function: the
 * session, the submission as received, what the store already knows (read-only lookups) and
 * the clock in; a decision out. No I/O: the caller reads the store, calls `decide`, and writes
 * the decision. Crypto is deterministic computation and is injected (`RuleCrypto`) so tests and
 * the sync follower can choose the implementation.
 *
 * Checks run in the table's order and the first failure decides:
 * malformed, undecryptable, wrong_session, bad_signature, outside_window, stale_qr,
 * sync_too_late, device_reused, duplicate. Accepted decisions may carry review flags
 * (`new_device`, `not_on_roster`, `delayed_sync`, and on the direct path `shared_address`).
 */
import { base64UrlByteLength, entrySharedKey, openEntry, type SharedKeyFn } from '../crypto/index.ts';
import {
  DELAYED_SYNC_FLAG_SECONDS,
  EntryPlaintextSchema,
  MAX_ITEM_BYTES,
  QrJsonSchema,
  decodeQrPayload,
  jsonByteLength,
  parseEntry,
  parseWith,
  studentId as studentIdSchema,
  type Entry,
  type EntryPlaintext,
  type EntryVersion,
  type Parsed,
  type QrPayload,
  type RejectionReason,
  type ReviewFlag,
} from '../protocol/index.ts';
import { nativeSharedKey } from './nativeSharedKey.ts';
import { verifySignatureSync } from './qrSigning.ts';
import { sessionEndMs } from './sessionTimes.ts';
import type { Decision, SessionRecord } from './types.ts';

/** The parts of a session the rules read. */
export type SessionRules = Pick<
  SessionRecord,
  'id' | 'secret' | 'boxSecretKey' | 'startsAtS' | 'endsAtS' | 'skewSeconds' | 'lateSyncMinutes' | 'endedEarlyAtMs'
>;

/** A sealed entry read from the session's room (the sync path). */
export interface EntryInput {
  kind: 'entry';
  /** The `entries` map key the entry was stored under; must equal the entry's nonce `n`. */
  key: string;
  /** The value as read from the room: untrusted, unparsed. */
  entry: unknown;
  /** When the validator first saw this entry (Unix ms, validator clock). */
  firstSeenMs: number;
}

/** The seed's direct HTTP submission (`POST /submit_attendance`). Fields are untrusted. */
export interface DirectInput {
  kind: 'direct';
  /** Id of this submission in the decisions table (`http:<random>`). */
  nonce: string;
  student_id: unknown;
  payload_b64: unknown;
  signature: unknown;
  /** Server receive time (Unix ms): stands in for both `scanned_at` and first-seen. */
  receivedMs: number;
  /** The socket's remote address (never a forwarded header): `shared_address` keys on it. */
  clientAddress?: string;
}

export type SubmissionInput = EntryInput | DirectInput;

/**
 * What the store already knows, as read-only lookups scoped to the session being decided.
 * The store-backed implementation is `storeKnownFacts`; `decideBatch` layers the decisions of
 * the current batch on top.
 */
export interface KnownFacts {
  /** A standing acceptance of this student exists in this session. */
  isStudentAccepted(studentId: string): boolean;
  /** The student this device was accepted for in this session, if any. */
  deviceStudent(deviceKey: string): string | undefined;
  /** Devices this student was accepted with before, in any session. */
  studentDevices(studentId: string): readonly string[];
  /** `undefined` when the course has no roster. */
  isOnRoster(studentId: string): boolean | undefined;
  /** The validator was connected to the relay for this session during all of [fromMs, toMs]. */
  wasConnectedThroughout(fromMs: number, toMs: number): boolean;
  /** A submission for a student other than `studentId` came from this client address in this session (direct path). */
  wasAddressUsedByAnotherStudent(clientAddress: string, studentId: string): boolean;
}

/** The crypto the rules need, injected. */
export interface RuleCrypto {
  sharedKey: SharedKeyFn;
  verifySignature(secret: Uint8Array, payloadB64: string, signature: string): boolean;
}

/**
 * QR signatures that verified, so a QR checked once is not checked again: the whole hall scans
 * the same QR during its slot. Only successes are kept (a guess is never remembered), keyed by
 * the exact secret, payload and signature, so the answer is the one `verifySignatureSync` gives.
 */
const verifiedQrs = new Set<string>();
const VERIFIED_QR_CACHE_SIZE = 256;

function verifySignatureRemembered(secret: Uint8Array, payloadB64: string, signature: string): boolean {
  const key = `${Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength).toString('latin1')}\n${payloadB64}\n${signature}`;
  if (verifiedQrs.has(key)) return true;
  if (!verifySignatureSync(secret, payloadB64, signature)) return false;
  if (verifiedQrs.size >= VERIFIED_QR_CACHE_SIZE) verifiedQrs.delete(verifiedQrs.values().next().value!);
  verifiedQrs.add(key);
  return true;
}

export const nodeRuleCrypto: RuleCrypto = { sharedKey: nativeSharedKey, verifySignature: verifySignatureRemembered };

/**
 * `decodeQrPayload` remembered for the last few payloads: every entry of a slot carries the same
 * one, and decoding it (base64url, JSON, schema) cost more than the rest of the QR checks. The
 * function is pure and its answers are never modified, so sharing them changes nothing.
 */
const decodedQrPayloads = new Map<string, ReturnType<typeof decodeQrPayload>>();
const DECODED_QR_CACHE_SIZE = 64;

function decodeQrPayloadRemembered(payloadB64: string): ReturnType<typeof decodeQrPayload> {
  let decoded = decodedQrPayloads.get(payloadB64);
  if (!decoded) {
    decoded = decodeQrPayload(payloadB64);
    if (decodedQrPayloads.size >= DECODED_QR_CACHE_SIZE) decodedQrPayloads.delete(decodedQrPayloads.keys().next().value!);
    decodedQrPayloads.set(payloadB64, decoded);
  }
  return decoded;
}

/**
 * A decision as `decide` returns it. `sharedKey` (entries that opened) is the box key of the
 * entry's device and the session: the caller seals the receipt with it instead of recomputing
 * it. It is not stored.
 */
export interface RuleDecision extends Decision {
  sharedKey?: Uint8Array;
  /**
   * The version of the entry's plaintext, when it parsed: its receipt is sealed in the same
   * version (SPEC.md F2). Not stored: a receipt sealed again later re-reads it from the entry.
   */
  entryVersion?: EntryVersion;
}

/** Decides one submission. Pure: same arguments, same decision. */
export function decide(
  input: SubmissionInput,
  session: SessionRules,
  known: KnownFacts,
  nowMs: number,
  crypto: RuleCrypto = nodeRuleCrypto,
): RuleDecision {
  return input.kind === 'entry' ? decideEntry(input, session, known, nowMs, crypto) : decideDirect(input, session, known, nowMs, crypto);
}

/** The facts both paths share once the submission is open. */
interface OpenedSubmission {
  studentId: string;
  payloadB64: string;
  signature: string;
  scanMs: number;
  firstSeenMs: number;
  /** The direct path has one clock (receive time) and no device. */
  isDirect: boolean;
  deviceKey?: string;
  /** Direct path only: where the request came from. */
  clientAddress?: string;
}

function decideEntry(input: EntryInput, session: SessionRules, known: KnownFacts, nowMs: number, crypto: RuleCrypto): RuleDecision {
  const base = { nonce: input.key, sessionId: session.id, via: 'sync' as const, firstSeenMs: input.firstSeenMs, decidedAtMs: nowMs };
  const recognised = recognisedEntry(input.entry);
  const parsed: Parsed<Entry> = recognised ? { ok: true, value: recognised } : parseEntry(input.entry);
  if (!parsed.ok) return reject(base, 'malformed', parsed.error);
  const entry = parsed.value;
  if (entry.n !== input.key) return reject(base, 'malformed', 'entry is stored under a key other than its nonce');
  const withDevice = { ...base, deviceKey: entry.d };

  const sharedKey = entrySharedKey(entry, session.boxSecretKey, crypto.sharedKey);
  const box = sharedKey && openEntry(entry, sharedKey);
  if (!sharedKey || !box || (!box.ok && box.problem === 'does_not_open')) {
    return reject(withDevice, 'undecryptable', 'the box does not open with this session’s key');
  }
  const withKey = { ...withDevice, sharedKey };
  // The box opened, so the device holds this key: what it sealed is malformed, and it gets a receipt.
  if (!box.ok) return reject(withKey, 'malformed', 'plaintext is not UTF-8 JSON');
  const plaintext = box.plaintext;
  let opened: Parsed<EntryPlaintext>;
  const recognisedPlain = recognisedPlaintext(plaintext);
  if (recognisedPlain) opened = { ok: true, value: recognisedPlain };
  else {
    if (jsonByteLength(plaintext) > MAX_ITEM_BYTES) return reject(withKey, 'malformed', `plaintext is over ${MAX_ITEM_BYTES} bytes`);
    opened = parseWith(EntryPlaintextSchema, plaintext);
    if (!opened.ok) return reject(withKey, 'malformed', `plaintext ${opened.error}`);
  }

  return decideOpened(
    {
      studentId: opened.value.student_id,
      payloadB64: opened.value.payload_b64,
      signature: opened.value.signature,
      scanMs: opened.value.scanned_at,
      firstSeenMs: input.firstSeenMs,
      isDirect: false,
      deviceKey: entry.d,
    },
    { ...withKey, studentId: opened.value.student_id, scannedAtMs: opened.value.scanned_at, entryVersion: opened.value.v },
    session,
    known,
    crypto,
  );
}

function decideDirect(input: DirectInput, session: SessionRules, known: KnownFacts, nowMs: number, crypto: RuleCrypto): RuleDecision {
  const base = {
    nonce: input.nonce,
    sessionId: session.id,
    via: 'direct' as const,
    firstSeenMs: input.receivedMs,
    decidedAtMs: nowMs,
    ...(input.clientAddress !== undefined ? { clientAddress: input.clientAddress } : {}),
  };
  const student = parseWith(studentIdSchema, input.student_id);
  if (!student.ok) return reject(base, 'malformed', `student_id: ${student.error}`);
  const qr = parseWith(QrJsonSchema, { payload_b64: input.payload_b64, signature: input.signature });
  if (!qr.ok) return reject({ ...base, studentId: student.value }, 'malformed', qr.error);
  return decideOpened(
    {
      studentId: student.value,
      payloadB64: qr.value.payload_b64,
      signature: qr.value.signature,
      scanMs: input.receivedMs,
      firstSeenMs: input.receivedMs,
      isDirect: true,
      ...(input.clientAddress !== undefined ? { clientAddress: input.clientAddress } : {}),
    },
    { ...base, studentId: student.value, scannedAtMs: input.receivedMs },
    session,
    known,
    crypto,
  );
}

type DecisionBase = Omit<RuleDecision, 'status' | 'reason' | 'flags'>;

/** wrong_session onwards: the rules on the QR inside the submission and on what is known. */
function decideOpened(
  submission: OpenedSubmission,
  base: DecisionBase,
  session: SessionRules,
  known: KnownFacts,
  crypto: RuleCrypto,
): RuleDecision {
  const decoded = decodeQrPayloadRemembered(submission.payloadB64);
  // Checked before the HMAC so a genuine QR of another session is named for what it is.
  if (decoded.ok && decoded.value.s !== session.id) return reject(base, 'wrong_session', 'the QR belongs to another session');
  // A payload that does not decode was never signed by a validator: the HMAC check names it.
  if (!crypto.verifySignature(session.secret, submission.payloadB64, submission.signature)) {
    return reject(base, 'bad_signature', 'the QR signature does not verify');
  }
  if (!decoded.ok) return reject(base, 'malformed', `QR payload ${decoded.error}`);
  const payload = decoded.value;
  const withSlot = { ...base, slotS: payload.t };

  const window = windowCheck(payload, submission, session);
  if (window) return reject(withSlot, window.reason, window.note);

  if (submission.deviceKey !== undefined) {
    const boundTo = known.deviceStudent(submission.deviceKey);
    if (boundTo !== undefined && boundTo !== submission.studentId) {
      return reject(withSlot, 'device_reused', 'this device already signed in another student in this session');
    }
  }
  if (known.isStudentAccepted(submission.studentId)) return reject(withSlot, 'duplicate', 'the student is already accepted');

  return { ...withSlot, status: 'accepted', reason: 'ok', flags: reviewFlags(payload, submission, known) };
}

/** outside_window, stale_qr and sync_too_late: the time rules, in that order. */
function windowCheck(
  payload: QrPayload,
  submission: OpenedSubmission,
  session: SessionRules,
): { reason: RejectionReason; note: string } | undefined {
  const startMs = session.startsAtS * 1000;
  const endMs = session.endsAtS * 1000;
  const skewMs = session.skewSeconds * 1000;
  if (payload.t < session.startsAtS || payload.t > session.endsAtS) {
    return { reason: 'outside_window', note: 'the QR was issued outside the session’s window' };
  }
  // SPEC.md "How the rules read": beyond the slot check, a QR issued in time but scanned after the
  // end (a static QR kept from the lecture, or a session ended early) is also outside the window. The direct path
  // uses the server's receive time as is; the sync path allows the skew on both of its clocks.
  if (submission.isDirect) {
    // The end chosen by `end_session` holds to the millisecond (the QR's `e` is its whole second).
    if (submission.scanMs < startMs || submission.scanMs >= sessionEndMs(session)) {
      return { reason: 'outside_window', note: 'the submission arrived outside the session’s window' };
    }
  } else if (outside(submission.scanMs, startMs - skewMs, endMs + skewMs) && outside(submission.firstSeenMs, startMs - skewMs, endMs + skewMs)) {
    return { reason: 'outside_window', note: 'the QR was scanned outside the session’s window' };
  }
  if (payload.r > 0) {
    const fromMs = (payload.t - session.skewSeconds) * 1000;
    const toMs = (payload.t + payload.r + session.skewSeconds) * 1000;
    // An entry the validator saw in time is fresh whatever the phone's clock says.
    if (outside(submission.scanMs, fromMs, toMs) && outside(submission.firstSeenMs, fromMs, toMs)) {
      return { reason: 'stale_qr', note: 'the QR had expired when it was scanned' };
    }
  }
  if (submission.firstSeenMs > endMs + session.lateSyncMinutes * 60_000) {
    return { reason: 'sync_too_late', note: 'first seen after the late-sync grace period' };
  }
  return undefined;
}

function reviewFlags(payload: QrPayload, submission: OpenedSubmission, known: KnownFacts): ReviewFlag[] {
  const flags: ReviewFlag[] = [];
  if (submission.deviceKey !== undefined && known.studentDevices(submission.studentId).some((device) => device !== submission.deviceKey)) {
    flags.push('new_device');
  }
  if (known.isOnRoster(submission.studentId) === false) flags.push('not_on_roster');
  if (submission.deviceKey !== undefined) {
    const slotMs = payload.t * 1000;
    if (submission.firstSeenMs - slotMs > DELAYED_SYNC_FLAG_SECONDS * 1000 && known.wasConnectedThroughout(slotMs, submission.firstSeenMs)) {
      flags.push('delayed_sync');
    }
  }
  // One person holding the live QR can sign in many ids through the direct path: a flag, never a
  // rejection, since a campus NAT (or a reverse proxy) puts many honest students behind one address.
  if (submission.clientAddress !== undefined && known.wasAddressUsedByAnotherStudent(submission.clientAddress, submission.studentId)) {
    flags.push('shared_address');
  }
  return flags;
}

function outside(valueMs: number, fromMs: number, toMs: number): boolean {
  return valueMs < fromMs || valueMs > toMs;
}

function reject(base: DecisionBase, reason: RejectionReason, note: string): RuleDecision {
  return { ...base, status: 'rejected', reason, flags: [], note };
}

/*
 * Entries and plaintexts as every Rollcall phone writes them, recognised without the schema.
 * Checking one with zod (and its base64url refinements) cost about 30 µs an entry, a tenth of
 * the validator's work. Each function below accepts only values the schema accepts and returns
 * them as the schema would (tests/bench/fastPaths.test.ts checks both against the schemas on
 * thousands of valid and damaged values); on anything else it answers `undefined` and the schema
 * decides, naming the problem as before. So a decision never depends on which path read it.
 */

/** A plain object with exactly these own keys (what `z.strictObject` and the plain-JSON check accept). */
function hasExactly(value: unknown, keys: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((key) => Object.hasOwn(value, key));
}

function isBase64UrlOf(value: unknown, byteLength: number): value is string {
  return typeof value === 'string' && base64UrlByteLength(value) === byteLength;
}

const ENTRY_KEYS = ['v', 'd', 'n', 'c'] as const;
/** `JSON.stringify` of {v:1, d, n, c} with base64url strings (nothing escaped) is c's length plus this. */
const ENTRY_JSON_OVERHEAD = '{"v":1,"d":"","n":"","c":""}'.length + 43 + 32;

/** An entry `parseEntry` would accept, as it would return it; `undefined` when not sure. */
export function recognisedEntry(value: unknown): Entry | undefined {
  if (!hasExactly(value, ENTRY_KEYS) || value.v !== 1) return undefined;
  const { d, n, c } = value;
  if (!isBase64UrlOf(d, 32) || d.length !== 43 || !isBase64UrlOf(n, 24) || n.length !== 32) return undefined;
  if (typeof c !== 'string' || c.length < 22 || c.length + ENTRY_JSON_OVERHEAD > MAX_ITEM_BYTES || base64UrlByteLength(c) === undefined) return undefined;
  return { v: 1, d, n, c };
}

const PLAINTEXT_KEYS = ['v', 'student_id', 'payload_b64', 'signature', 'scanned_at'] as const;
/** Printable ASCII, 1–64 characters, no space at either end: NFC already, no control characters. */
const PLAIN_ASCII_STUDENT_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/**
 * An entry plaintext the schema would accept, as it would return it (its JSON is then far under
 * the item limit); `undefined` when not sure (any student id outside printable ASCII included).
 */
export function recognisedPlaintext(value: unknown): EntryPlaintext | undefined {
  if (!hasExactly(value, PLAINTEXT_KEYS) || (value.v !== 1 && value.v !== 2)) return undefined;
  const version = value.v;
  const { student_id: studentId, payload_b64: payloadB64, signature, scanned_at: scannedAt } = value;
  if (typeof studentId !== 'string' || !PLAIN_ASCII_STUDENT_ID.test(studentId)) return undefined;
  if (typeof payloadB64 !== 'string' || payloadB64.length < 1 || payloadB64.length > 1024 || base64UrlByteLength(payloadB64) === undefined) return undefined;
  if (!isBase64UrlOf(signature, 32) || signature.length !== 43) return undefined;
  if (typeof scannedAt !== 'number' || !Number.isInteger(scannedAt) || scannedAt < 0 || scannedAt > 2 ** 50) return undefined;
  return { v: version, student_id: studentId, payload_b64: payloadB64, signature, scanned_at: scannedAt };
}
