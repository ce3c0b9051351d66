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
import { ACCEPTED_LATE_TEXT, QrJsonSchema, REASON_TEXT, decodeQrPayload, parseWith, studentId as studentIdSchema, type DirectPathRefusal, type RejectionReason } from '../protocol/index.ts';
import { AddressRateLimiter } from './AddressRateLimiter.ts';
import { readJsonBody, sendJson } from './httpIo.ts';
import { NO_TRUSTED_PROXIES, UnusableForwardedFor, requestClientAddress, type TrustedProxies } from '../net/index.ts';
import { scanStatus, statusSession } from './studentStatus.ts';
import { storeKnownFacts } from './knownFacts.ts';
import type { Logger } from '../log/index.ts';
import { decide } from './rules.ts';
import { isDirectPathOpen } from './sessions.ts';
import type { Decision } from './types.ts';
import { isDiskFull, type ValidatorStore } from './ValidatorStore.ts';

/** How long a student is asked to wait before re-submitting while the disk is full. */
const DISK_FULL_RETRY_AFTER_S = 30;

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
  'access-control-expose-headers': 'retry-after',
  'access-control-max-age': '600',
};

/**
 * Limits per client address on the direct path (the address SPEC.md R11b names: the socket's,
 * or a trusted proxy's X-Forwarded-For; docs/http-api.md explains the numbers). The path is public and decides with no device checks, so one address must not
 * be able to sign in ids at machine speed nor fill the disk with stored rejections.
 */
export interface DirectPathLimits {
  /** Token bucket per address: sustained submissions per second (0: no rate limit). */
  submissionsPerSecond: number;
  /** Submissions an address may make at once before the sustained rate applies. */
  burst: number;
  /** Stored rejections per session and address; past it a rejection is answered and counted, not stored. */
  storedRejectionsPerAddress: number;
}

export const DEFAULT_DIRECT_PATH_LIMITS: Readonly<DirectPathLimits> = {
  submissionsPerSecond: 5,
  burst: 20,
  storedRejectionsPerAddress: 50,
};

export interface DirectSubmissionsOptions {
  store: ValidatorStore;
  logger: Logger;
  clock: () => number;
  limits?: Partial<DirectPathLimits>;
  /** R11b: the proxies whose X-Forwarded-For names the client (default: none, the socket's address). */
  trustedProxies?: TrustedProxies;
}

export class DirectSubmissions {
  readonly #options: DirectSubmissionsOptions;
  readonly #limits: DirectPathLimits;
  /** Undefined when the rate limit is off (`submissionsPerSecond: 0`). */
  readonly #rateLimiter: AddressRateLimiter | undefined;
  readonly #trustedProxies: TrustedProxies;
  /** Which kinds of unusable X-Forwarded-For were logged already: once each, not per request. */
  readonly #unusableForwardedFor: UnusableForwardedFor;

  constructor(options: DirectSubmissionsOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_DIRECT_PATH_LIMITS, ...options.limits };
    this.#rateLimiter = this.#limits.submissionsPerSecond > 0 ? new AddressRateLimiter(this.#limits.submissionsPerSecond, this.#limits.burst, options.clock) : undefined;
    this.#trustedProxies = options.trustedProxies ?? NO_TRUSTED_PROXIES;
    this.#unusableForwardedFor = new UnusableForwardedFor((kind, proxy) => {
      const what = kind === 'missing_header' ? 'no X-Forwarded-For' : 'an X-Forwarded-For that is not a list of IP addresses';
      options.logger.warn(`a direct submission from a trusted proxy carried ${what}: it is counted under the proxy's own address (R11b), so submissions through it share one rate limit and are flagged shared_address. Logged once; make the proxy set the header (Caddy's reverse_proxy does)`, { proxy });
    });
  }

  /**
   * The address the limits and `shared_address` key on (R11b: R11a's rule). A trusted proxy
   * that sent no usable X-Forwarded-For is logged once per kind, as the relay does: behind a misconfigured
   * proxy every phone shares the proxy's address, and the professor's review list would fill
   * with `shared_address` flags.
   */
  #addressOf(req: IncomingMessage): string {
    return this.#unusableForwardedFor.addressOf(requestClientAddress(req, this.#trustedProxies));
  }

  /** Answers one `POST /submit_attendance`. */
  async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedMs = this.#options.clock();
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      sendJson(res, status, { ...body, latency_ms: Math.round((performance.now() - started) * 100) / 100 }, { ...STUDENT_CORS, ...headers });
    const rejectEarly = (reason: RejectionReason, error: string, status = REJECTION_STATUS[reason]) =>
      answer(status, { status: 'rejected', reason, error, message: REASON_TEXT[reason] });
    const refuse = (status: number, reason: DirectPathRefusal, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      answer(status, { status: 'rejected', reason, flags: [], ...extra, error, message: REASON_TEXT[reason] }, headers);

    const address = this.#addressOf(req);
    // Rate first, before the body is even read: a flood costs a map lookup per request.
    const rate = this.#rateLimiter?.take(address);
    if (rate && !rate.isAllowed) {
      req.resume();
      const retryAfterS = Math.max(1, Math.ceil(rate.retryAfterMs / 1000));
      const { submissionsPerSecond, burst } = this.#limits;
      return refuse(429, 'rate_limited', `too many submissions from ${address}: at most ${submissionsPerSecond} per second (${burst} at once); retry after ${retryAfterS} s`, { retry_after_s: retryAfterS }, { 'retry-after': String(retryAfterS) });
    }

    const body = await readJsonBody(req);
    if (!body.ok) {
      if (body.shouldClose) res.setHeader('connection', 'close');
      return rejectEarly('malformed', body.error, body.status);
    }
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
    const input = { kind: 'direct' as const, nonce, student_id: student.value, payload_b64: qr.value.payload_b64, signature: qr.value.signature, receivedMs, clientAddress: address };
    let decision: Decision = decide(input, session, storeKnownFacts(this.#options.store, session), this.#options.clock());
    let isStored = false;
    if (!UNSTORED_DIRECT_REASONS.has(decision.reason)) {
      // Past the address's cap a rejection is answered the same, but only counted.
      try {
        ({ decision, isStored } = this.#options.store.recordDirectDecision(decision, this.#limits.storedRejectionsPerAddress));
      } catch (error) {
        if (!isDiskFull(error)) throw error;
        // Nothing was stored, so nothing was decided: the student must hear "try again", not
        // "internal error" (500), and not an answer the validator could forget.
        this.#options.logger.error('could not store a decision: the disk is full', { via: 'direct', session: session.id });
        return answer(
          503,
          {
            code: 'unavailable',
            error: `the validator cannot store attendance right now (its disk is full); nothing was recorded: try again in ${DISK_FULL_RETRY_AFTER_S} s`,
            message: 'The professor’s computer cannot save attendance right now. Nothing was recorded: try again in a minute.',
            retry_after_s: DISK_FULL_RETRY_AFTER_S,
          },
          { 'retry-after': String(DISK_FULL_RETRY_AFTER_S), 'access-control-expose-headers': 'retry-after' },
        );
      }
    }
    this.#options.logger.info('decision', { via: 'direct', session: session.id, status: decision.status, reason: decision.reason, stored: isStored });
    const common = { status: decision.status, reason: decision.reason, flags: decision.flags, session_id: session.id, course: session.course, decided_at: decision.decidedAtMs };
    if (decision.status === 'accepted') {
      const attendanceStatus = scanStatus(decision, statusSession(session));
      return answer(200, { ...common, attendance_status: attendanceStatus, message: attendanceStatus === 'late' ? ACCEPTED_LATE_TEXT : REASON_TEXT.ok });
    }
    const reason = decision.reason as RejectionReason;
    answer(REJECTION_STATUS[reason] ?? 400, { ...common, message: REASON_TEXT[reason], ...(decision.note ? { error: decision.note } : {}) });
  }
}
