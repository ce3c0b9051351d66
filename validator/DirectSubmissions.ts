/**
 * The seed's direct path, `POST /submit_attendance` (docs/http-api.md): a student id and the QR
 * pair in one JSON body, decided at once by the same rules as the sync path with the server's
 * receive time for `scanned_at`, and answered with the decision. Public: anyone on the network
 * can call it, so everything here assumes a hostile caller.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { QrJsonSchema, REASON_TEXT, decodeQrPayload, parseWith, studentId as studentIdSchema, type DirectPathRefusal, type RejectionReason } from '../protocol/index.ts';
import { clientAddress, readJsonBody, sendJson } from './httpIo.ts';
import { storeKnownFacts } from './knownFacts.ts';
import type { Logger } from './logger.ts';
import { decide } from './rules.ts';
import { isDirectPathOpen } from './sessions.ts';
import type { Decision } from './types.ts';
import type { ValidatorStore } from './ValidatorStore.ts';

/** HTTP status of each rejection on the direct path (docs/http-api.md). */
export const REJECTION_STATUS: Record<RejectionReason, number> = {
  malformed: 400,
  undecryptable: 400,
  wrong_session: 404,
  bad_signature: 403,
  outside_window: 422,
  stale_qr: 422,
  sync_too_late: 422,
  device_reused: 409,
  duplicate: 409,
};

/**
 * Rejections that anyone can produce for free (no genuine QR needed) are answered but not
 * stored, so a flood of forgeries cannot fill the professor's disk ("changes nothing").
 */
const UNSTORED_DIRECT_REASONS: ReadonlySet<string> = new Set(['malformed', 'undecryptable', 'wrong_session', 'bad_signature']);

const SubmitSchema = z.strictObject({ student_id: z.unknown(), payload_b64: z.unknown(), signature: z.unknown() });

/** Sent with every answer of the student route: the student app may be served from the relay's origin. */
export const STUDENT_CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'content-type',
  'access-control-max-age': '600',
};

export interface DirectSubmissionsOptions {
  store: ValidatorStore;
  logger: Logger;
  clock: () => number;
}

export class DirectSubmissions {
  readonly #options: DirectSubmissionsOptions;

  constructor(options: DirectSubmissionsOptions) {
    this.#options = options;
  }

  /** Answers one `POST /submit_attendance`. */
  async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedMs = this.#options.clock();
    const answer = (status: number, body: Record<string, unknown>) =>
      sendJson(res, status, { ...body, latency_ms: Math.round((performance.now() - started) * 100) / 100 }, STUDENT_CORS);
    const rejectEarly = (reason: RejectionReason, error: string, status = REJECTION_STATUS[reason]) =>
      answer(status, { status: 'rejected', reason, error, message: REASON_TEXT[reason] });
    const refuse = (status: number, reason: DirectPathRefusal, error: string, extra: Record<string, unknown> = {}) =>
      answer(status, { status: 'rejected', reason, flags: [], ...extra, error, message: REASON_TEXT[reason] });

    const body = await readJsonBody(req);
    if (!body.ok) return rejectEarly('malformed', body.error, body.status);
    const fields = parseWith(SubmitSchema, body.value);
    if (!fields.ok) return rejectEarly('malformed', fields.error);
    const { student_id: rawStudentId, payload_b64: rawPayload, signature: rawSignature } = fields.value;
    for (const [name, value] of [['student_id', rawStudentId], ['payload_b64', rawPayload], ['signature', rawSignature]] as const) {
      if (value === undefined) return rejectEarly('malformed', `${name} is missing`);
    }
    const student = parseWith(studentIdSchema, rawStudentId);
    if (!student.ok) return rejectEarly('malformed', `student_id: ${student.error}`);
    const qr = parseWith(QrJsonSchema, { payload_b64: rawPayload, signature: rawSignature });
    if (!qr.ok) return rejectEarly('malformed', qr.error);
    const payload = decodeQrPayload(qr.value.payload_b64);
    // No validator signs a payload that does not decode: whatever it is, it is not a genuine QR.
    if (!payload.ok) return rejectEarly('bad_signature', 'the QR payload is not one this validator signed');
    const session = this.#options.store.getSession(payload.value.s);
    if (!session) return rejectEarly('wrong_session', 'unknown session: this QR is not from a session of this validator');
    // Before any rule runs, so nothing is decided or stored: the professor closed this door.
    if (!isDirectPathOpen(session)) {
      return refuse(403, 'direct_path_disabled', 'the direct path is turned off for this session: submit through the Rollcall app', { session_id: session.id, course: session.course });
    }

    const nonce = `http:${randomBytes(16).toString('base64url')}`;
    const input = { kind: 'direct' as const, nonce, student_id: student.value, payload_b64: qr.value.payload_b64, signature: qr.value.signature, receivedMs, clientAddress: clientAddress(req) };
    let decision: Decision = decide(input, session, storeKnownFacts(this.#options.store, session), this.#options.clock());
    if (!UNSTORED_DIRECT_REASONS.has(decision.reason)) decision = this.#options.store.recordDecision(decision);
    this.#options.logger.info('decision', { via: 'direct', session: session.id, status: decision.status, reason: decision.reason });
    const common = { status: decision.status, reason: decision.reason, flags: decision.flags, session_id: session.id, course: session.course, decided_at: decision.decidedAtMs };
    if (decision.status === 'accepted') return answer(200, { ...common, message: REASON_TEXT.ok });
    const reason = decision.reason as RejectionReason;
    answer(REJECTION_STATUS[reason] ?? 400, { ...common, message: REASON_TEXT[reason], ...(decision.note ? { error: decision.note } : {}) });
  }
}
