/** The validator's own records: a session with its secrets, and a decision on one submission. */
import type { DecisionReason, DecisionStatus, ReviewFlag } from '../protocol/index.ts';

/** A session as the validator keeps it. `secret` and `boxSecretKey` never leave the validator. */
export interface SessionRecord {
  id: string;
  course: string;
  /** 32 random bytes: the QR's HMAC key. */
  secret: Uint8Array;
  /** The session's X25519 box key pair; the public half is the QR's `k`. */
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
  startsAtS: number;
  /** The current end: the planned end, or when the professor ended the session early. */
  endsAtS: number;
  rotateSeconds: number;
  skewSeconds: number;
  lateSyncMinutes: number;
  /** Free-form options kept with the session (JSON object). */
  options: Record<string, unknown>;
  createdAtMs: number;
  /** Set when `end_session` cut the session short. */
  endedEarlyAtMs?: number;
}

/** How a submission reached the validator. */
export type DecisionVia = 'sync' | 'direct' | 'manual';

/** Reason stored for a professor's manual rejection (never sent in a receipt). */
export const MANUAL_REASON = 'manual';
export type StoredReason = DecisionReason | typeof MANUAL_REASON;

/** One decision: exactly one per entry nonce (or direct / manual submission id). */
export interface Decision {
  /** The entry's nonce `n`; `http:<random>` for the direct path, `manual:<random>` for overrides. */
  nonce: string;
  sessionId: string;
  via: DecisionVia;
  status: DecisionStatus;
  reason: StoredReason;
  flags: ReviewFlag[];
  /** Absent when the submission could not be opened (malformed, undecryptable). */
  studentId?: string;
  /** The entry's device key `d` (sync path only). */
  deviceKey?: string;
  /** The QR slot `t` the submission carried, when it was readable. */
  slotS?: number;
  /** Device clock (sync) or server receive time (direct). */
  scannedAtMs?: number;
  /** When the validator first saw the entry (sync) or received the request (direct). */
  firstSeenMs: number;
  decidedAtMs: number;
  /** A human note: why a submission was malformed, or the professor's override note. */
  note?: string;
  /** Set when a professor revoked an acceptance by a manual override. */
  revokedAtMs?: number;
  /** The socket's remote address of a direct submission (never a forwarded header); absent on other paths. */
  clientAddress?: string;
}

/** A row of the audit log. */
export interface AuditEvent {
  atMs: number;
  /** Who did it: 'professor', 'system', 'validator'. */
  actor: string;
  action: string;
  sessionId?: string;
  /** The course it belongs to, when its session is gone (a deleted session); else found from the session or the detail. */
  course?: string;
  detail?: Record<string, unknown>;
}
