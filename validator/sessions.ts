/**
 * Making sessions and issuing their QR codes. A session's secret and box key pair are made
 * here and go straight to the store; only the QR (payload, signature, URL) leaves.
 */
import { randomUUID } from 'node:crypto';
import { newBoxKeyPair, randomBytes, toBase64Url } from '../crypto/index.ts';
import {
  DEFAULT_LATE_SYNC_MINUTES,
  DEFAULT_ROTATE_SECONDS,
  DEFAULT_SKEW_SECONDS,
  FORMAT_VERSION,
  LATEST_ENTRY_VERSION,
  SESSION_SECRET_BYTES,
  CreateSessionRequestSchema,
  encodeQrPayload,
  qrSlotAt,
  qrSlotEndsAt,
  qrUrl,
  type CreateSessionRequest,
  type IssuedQr,
  type QrPayload,
  type Session,
} from '../protocol/index.ts';
import { signPayloadSync } from './qrSigning.ts';
import { lateAfterMinutes, provisionalUntilMs, sessionEndMs } from './sessionTimes.ts';
import type { SessionRecord } from './types.ts';

export type { IssuedQr };

/** Body of `POST /create_session` (protocol/api.ts). */
export const CreateSessionSchema = CreateSessionRequestSchema;

/**
 * A new session. `lateAfterMinutesDefault` is the course's setting, used when the request does
 * not say (null: the session has no late status).
 */
export function newSessionRecord(request: CreateSessionRequest, nowMs: number, lateAfterMinutesDefault: number | null = null): SessionRecord {
  const startsAtS = request.starts_at ?? Math.floor(nowMs / 1000);
  const keys = newBoxKeyPair();
  return {
    id: randomUUID(),
    course: request.course,
    secret: randomBytes(SESSION_SECRET_BYTES),
    boxPublicKey: keys.publicKey,
    boxSecretKey: keys.secretKey,
    startsAtS,
    endsAtS: startsAtS + Math.max(1, Math.round(request.duration_minutes * 60)),
    rotateSeconds: request.rotate_seconds ?? DEFAULT_ROTATE_SECONDS,
    skewSeconds: request.skew_seconds ?? DEFAULT_SKEW_SECONDS,
    lateSyncMinutes: request.late_sync_minutes ?? DEFAULT_LATE_SYNC_MINUTES,
    options: {
      duration_minutes: request.duration_minutes,
      direct_path: request.direct_path ?? true,
      late_after_minutes: request.late_after_minutes === undefined ? lateAfterMinutesDefault : request.late_after_minutes,
    },
    createdAtMs: nowMs,
  };
}

/**
 * Whether the seed's direct path (`POST /submit_attendance`) is open for this session. It has
 * no device checks, so a professor may close it and leave only the app's sealed path. Sessions
 * made before the option existed have no `direct_path` and stay open, as they were.
 */
export function isDirectPathOpen(session: Pick<SessionRecord, 'options'>): boolean {
  return session.options.direct_path !== false;
}

/**
 * The slot a QR issued at `nowMs` carries. A rotating QR's slots are aligned on the session
 * start, so every request in one slot gets the same QR; before the start that slot lies before
 * the start and is refused `outside_window` (see {@link qrWarning}). A static QR is made to be
 * printed for the door, often before the session: its slot is the issue time brought into the
 * session's window, so a static QR made early works for the whole session.
 */
export function issuedSlot(session: Pick<SessionRecord, 'startsAtS' | 'endsAtS' | 'rotateSeconds'>, nowMs: number): number {
  const slot = qrSlotAt({ startsAtS: session.startsAtS, rotateSeconds: session.rotateSeconds }, nowMs / 1000);
  if (session.rotateSeconds > 0) return slot;
  return Math.min(Math.max(slot, session.startsAtS), session.endsAtS);
}

/** Why the QR of `slot` would not be accepted if scanned at `nowMs`, in words; undefined when it would. */
export function qrWarning(session: Pick<SessionRecord, 'startsAtS' | 'endsAtS' | 'rotateSeconds'>, slot: number, nowMs: number): string | undefined {
  if (nowMs >= sessionEndMs(session)) return 'the session has ended: scans of this QR are refused (outside_window)';
  if (session.rotateSeconds > 0 && slot < session.startsAtS) {
    return `the session starts at ${new Date(session.startsAtS * 1000).toISOString()}: a rotating QR made before then is refused (outside_window); show the live QR (/qr/<id>.svg) from the start, or create a static QR (rotate 0) to print`;
  }
  return undefined;
}

/** The QR of the slot that contains `nowMs` (see {@link issuedSlot}). */
export function issueQr(session: SessionRecord, nowMs: number, appBaseUrl: string): IssuedQr {
  const timing = { startsAtS: session.startsAtS, rotateSeconds: session.rotateSeconds };
  const slot = issuedSlot(session, nowMs);
  const payload: QrPayload = {
    v: FORMAT_VERSION as 1,
    s: session.id,
    c: session.course,
    a: session.startsAtS,
    e: session.endsAtS,
    t: slot,
    r: session.rotateSeconds,
    k: toBase64Url(session.boxPublicKey),
  };
  const payloadB64 = encodeQrPayload(payload);
  const signature = signPayloadSync(session.secret, payloadB64);
  const endsAt = qrSlotEndsAt(timing, slot);
  const warning = qrWarning(session, slot, nowMs);
  return {
    session_id: session.id,
    course: session.course,
    payload_b64: payloadB64,
    signature,
    // The `rv` hint (SPEC.md F3): this validator reads entry v2, so phones of this release ask for receipt v2.
    qr_text: qrUrl(appBaseUrl, { payload_b64: payloadB64, signature }, LATEST_ENTRY_VERSION),
    slot,
    rotate_seconds: session.rotateSeconds,
    expires_at: endsAt === undefined ? null : endsAt * 1000,
    starts_at: session.startsAtS,
    ends_at: session.endsAtS,
    skew_seconds: session.skewSeconds,
    late_sync_minutes: session.lateSyncMinutes,
    ...(warning !== undefined ? { warning } : {}),
  };
}

/** A session as professors see it: no secret, no private key. */
export function publicSession(session: SessionRecord, nowMs: number): Session {
  return {
    session_id: session.id,
    course: session.course,
    starts_at: session.startsAtS,
    ends_at: session.endsAtS,
    rotate_seconds: session.rotateSeconds,
    skew_seconds: session.skewSeconds,
    late_sync_minutes: session.lateSyncMinutes,
    validator_key: toBase64Url(session.boxPublicKey),
    created_at: session.createdAtMs,
    ended_early: session.endedEarlyAtMs !== undefined,
    direct_path: isDirectPathOpen(session),
    is_live: nowMs >= session.startsAtS * 1000 && nowMs < sessionEndMs(session),
    late_after_minutes: lateAfterMinutes(session),
    provisional_until: provisionalUntilMs(session),
  };
}
export type PublicSession = Session;

