/**
 * Making sessions and issuing their QR codes. A session's secret and box key pair are made
 * here and go straight to the store; only the QR (payload, signature, URL) leaves.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { newBoxKeyPair, randomBytes, toBase64Url } from '../crypto/index.ts';
import {
  DEFAULT_LATE_SYNC_MINUTES,
  DEFAULT_ROTATE_SECONDS,
  DEFAULT_SKEW_SECONDS,
  FORMAT_VERSION,
  SESSION_SECRET_BYTES,
  courseName,
  encodeQrPayload,
  qrSlotAt,
  qrSlotEndsAt,
  qrUrl,
  type QrPayload,
} from '../protocol/index.ts';
import { signPayloadSync } from './qrSigning.ts';
import type { SessionRecord } from './types.ts';

/** Body of `POST /create_session` (the seed's two fields plus docs/SPEC.md's options). Strict: an unknown field is an error. */
export const CreateSessionSchema = z.strictObject({
  course: courseName,
  /** Minutes; fractions allowed (a 30-second session is 0.5), at most a day. */
  duration_minutes: z.number().positive().max(1440),
  starts_at: z.number().int().min(0).max(2 ** 40).optional(),
  rotate_seconds: z.number().int().min(0).max(3600).optional(),
  skew_seconds: z.number().int().min(0).max(3600).optional(),
  late_sync_minutes: z.number().int().min(0).max(60 * 24 * 30).optional(),
  /** Whether `POST /submit_attendance` may be used for this session (default true, as the seed). */
  direct_path: z.boolean().optional(),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionSchema>;

export function newSessionRecord(request: CreateSessionRequest, nowMs: number): SessionRecord {
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
    options: { duration_minutes: request.duration_minutes, direct_path: request.direct_path ?? true },
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

/** The QR valid at one moment, as `GET /qr/<id>` and `POST /create_session` answer it. */
export interface IssuedQr {
  session_id: string;
  course: string;
  payload_b64: string;
  signature: string;
  qr_text: string;
  /** The slot `t` (Unix s). */
  slot: number;
  rotate_seconds: number;
  /** When this QR is replaced (Unix ms); null for a static QR. */
  expires_at: number | null;
  starts_at: number;
  ends_at: number;
  skew_seconds: number;
  late_sync_minutes: number;
}

/**
 * The QR of the slot that contains `nowMs`. Slots are aligned on the session start, so every
 * request in one slot gets the same QR. Before the start the slot lies before the start too:
 * that QR is refused as `outside_window`, which is what a QR shown too early deserves.
 */
export function issueQr(session: SessionRecord, nowMs: number, appBaseUrl: string): IssuedQr {
  const timing = { startsAtS: session.startsAtS, rotateSeconds: session.rotateSeconds };
  const slot = qrSlotAt(timing, nowMs / 1000);
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
  return {
    session_id: session.id,
    course: session.course,
    payload_b64: payloadB64,
    signature,
    qr_text: qrUrl(appBaseUrl, { payload_b64: payloadB64, signature }),
    slot,
    rotate_seconds: session.rotateSeconds,
    expires_at: endsAt === undefined ? null : endsAt * 1000,
    starts_at: session.startsAtS,
    ends_at: session.endsAtS,
    skew_seconds: session.skewSeconds,
    late_sync_minutes: session.lateSyncMinutes,
  };
}

/** A session as professors see it: no secret, no private key. */
export function publicSession(session: SessionRecord, nowMs: number) {
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
    is_live: nowMs >= session.startsAtS * 1000 && nowMs <= session.endsAtS * 1000 + 999,
  };
}
export type PublicSession = ReturnType<typeof publicSession>;
