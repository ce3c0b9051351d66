/**
 * The validator's HTTP API (docs/SPEC.md "HTTP API", docs/http-api.md) as a route handler that a
 * node:http server calls: `handleHttp(req, res)` answers the routes it owns and returns true, or
 * returns false so the next handler (relay, static app) can try. Every request is answered,
 * bad input with a 4xx JSON body; a bug becomes a logged 500, never a crash.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import QRCode from 'qrcode';
import {
  EndSessionRequestSchema,
  OverrideRequestSchema,
  QR_RENDER_OPTIONS,
  RosterRequestSchema,
  SessionOptionsRequestSchema,
  isSessionId,
  parseWith,
  type AttendanceResponse,
  type CreateSessionResponse,
  type EndSessionResponse,
  type HealthResponse,
  type OverrideResponse,
  type QrResponse,
  type RosterSetResponse,
  type Session,
  type SessionsResponse,
} from '../protocol/index.ts';
import { attendanceCsv, attendanceHtml, buildAttendance } from './attendanceView.ts';
import { DEFAULT_BODY_LIMIT_BYTES, queryOf, readJsonRequest, send, sendError, sendJson, wantsJson } from './httpIo.ts';
import { DirectSubmissions, STUDENT_CORS, type DirectPathLimits } from './DirectSubmissions.ts';
import type { Logger } from '../log/index.ts';
import type { TrustedProxies } from '../net/index.ts';
import { ProfessorAuth } from './ProfessorAuth.ts';
import { LiveEvents } from './LiveEvents.ts';
import type { RelayStatus } from '../protocol/events.ts';
import { CreateSessionSchema, isDirectPathOpen, issueQr, newSessionRecord, publicSession } from './sessions.ts';
import { lateAfterMinutes } from './sessionTimes.ts';
import { courseContexts, sessionCounts } from './statusViews.ts';
import { TermApi } from './TermApi.ts';
import { MANUAL_REASON, type Decision, type SessionRecord } from './types.ts';
import { isDiskFull, type ValidatorStore } from './ValidatorStore.ts';

const ROSTER_BODY_LIMIT_BYTES = 512 * 1024;

export interface ValidatorApiOptions {
  store: ValidatorStore;
  adminToken: string;
  logger: Logger;
  clock: () => number;
  /** Base of the student app URL put in `qr_text`; may be set later (after listen). */
  appBaseUrl: () => string;
  /** Refuse professor routes without the token or a login even from loopback (behind a reverse proxy). */
  requireToken: boolean;
  /** Every request came through a reverse proxy: loopback proves nothing, X-Forwarded-Proto/Host are believed. */
  trustProxy?: boolean;
  /** Host names (besides localhost ones) a loopback peer may use for professor routes. */
  trustedHostNames: () => readonly string[];
  /** The direct path's per-address limits (defaults: DEFAULT_DIRECT_PATH_LIMITS). */
  directPathLimits?: Partial<DirectPathLimits>;
  /** R11b: proxies whose X-Forwarded-For names the direct path's client (never the professor). */
  trustedProxies?: TrustedProxies;
  /** The sync follower's view of the relay, for /healthz and the dashboard (none without a follower). */
  relayStatus?: () => RelayStatus | undefined;
}

/** How the validator's follower stands with the relay (GET /healthz `relay`, the `relay` event). */
export type { RelayStatus } from '../protocol/events.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
  isProfessor: boolean;
}

export class ValidatorApi {
  readonly #options: ValidatorApiOptions;
  readonly #routes: Route[];
  readonly #direct: DirectSubmissions;
  readonly #term: TermApi;
  /** Who may use professor routes, and the dashboard login. */
  readonly auth: ProfessorAuth;
  /** `GET /events`: the store's changes, pushed to dashboards. */
  readonly events: LiveEvents;

  /** Liveness, and the follower's connection to the relay when there is one (no secrets). */
  #health(): HealthResponse {
    const relay = this.#options.relayStatus?.();
    return { ok: true, service: 'rollcall-validator', ...(relay ? { relay } : {}) };
  }

  constructor(options: ValidatorApiOptions) {
    this.#options = options;
    this.auth = new ProfessorAuth({ ...options, trustProxy: options.trustProxy ?? false });
    this.events = new LiveEvents({ onChange: (listener) => options.store.onChange(listener), relayStatus: () => options.relayStatus?.(), clock: options.clock });
    this.#term = new TermApi({ store: options.store, clock: options.clock });
    this.#direct = new DirectSubmissions({ store: options.store, logger: options.logger, clock: options.clock, ...(options.directPathLimits ? { limits: options.directPathLimits } : {}), ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}) });
    this.#routes = [
      { pattern: /^\/healthz$/, isProfessor: false, methods: { GET: (_req, res) => sendJson(res, 200, this.#health()) } },
      { pattern: /^\/submit_attendance$/, isProfessor: false, methods: { POST: (req, res) => this.#direct.submit(req, res), OPTIONS: (_req, res) => send(res, 204, '', STUDENT_CORS) } },
      { pattern: /^\/login$/, isProfessor: false, methods: { POST: (req, res) => this.auth.loginRoute(req, res) } },
      { pattern: /^\/logout$/, isProfessor: false, methods: { POST: (req, res) => this.auth.logoutRoute(req, res) } },
      { pattern: /^\/login_link$/, isProfessor: true, methods: { POST: (req, res) => this.auth.loginLinkRoute(req, res) } },
      { pattern: /^\/create_session$/, isProfessor: true, methods: { POST: (req, res) => this.#createSession(req, res) } },
      { pattern: /^\/end_session$/, isProfessor: true, methods: { POST: (req, res) => this.#endSession(req, res) } },
      { pattern: /^\/session_options$/, isProfessor: true, methods: { POST: (req, res) => this.#sessionOptions(req, res) } },
      { pattern: /^\/events$/, isProfessor: true, methods: { GET: (req, res) => this.events.open(req, res) } },
      { pattern: /^\/sessions$/, isProfessor: true, methods: { GET: (req, res) => this.#listSessions(req, res) } },
      { pattern: /^\/override$/, isProfessor: true, methods: { POST: (req, res) => this.#override(req, res) } },
      { pattern: /^\/roster$/, isProfessor: true, methods: { GET: (req, res) => this.#term.roster(req, res), POST: (req, res) => this.#roster(req, res) } },
      { pattern: /^\/roster\/preview$/, isProfessor: true, methods: { POST: (req, res) => this.#term.previewRoster(req, res) } },
      { pattern: /^\/roster\/import$/, isProfessor: true, methods: { POST: (req, res) => this.#term.importRoster(req, res) } },
      { pattern: /^\/courses$/, isProfessor: true, methods: { GET: (_req, res) => this.#term.courses(res) } },
      { pattern: /^\/course$/, isProfessor: true, methods: { POST: (req, res) => this.#term.setCourse(req, res) } },
      { pattern: /^\/mark$/, isProfessor: true, methods: { POST: (req, res) => this.#term.mark(req, res) } },
      { pattern: /^\/statuses\/([^/]+)$/, isProfessor: true, methods: { GET: (_req, res, match) => this.#statuses(res, match) } },
      { pattern: /^\/report$/, isProfessor: true, methods: { GET: (req, res) => this.#term.report(req, res) } },
      { pattern: /^\/student_record$/, isProfessor: true, methods: { GET: (req, res) => this.#term.studentRecord(req, res) } },
      { pattern: /^\/delete_session$/, isProfessor: true, methods: { POST: (req, res) => this.#term.deleteSession(req, res) } },
      { pattern: /^\/audit_log$/, isProfessor: true, methods: { GET: (req, res) => this.#term.auditLog(req, res) } },
      { pattern: /^\/qr\/([^/]+?)(\.svg)?$/, isProfessor: true, methods: { GET: (req, res, match) => this.#qr(req, res, match) } },
      { pattern: /^\/attendance\/([^/]+?)(\.csv|\.json)?$/, isProfessor: true, methods: { GET: (req, res, match) => this.#attendance(req, res, match) } },
    ];
  }

  /** Answers the validator's routes; false for any other path. */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://validator.invalid').pathname;
    } catch {
      return false;
    }
    for (const route of this.#routes) {
      const match = route.pattern.exec(pathname);
      if (!match) continue;
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const handler = route.methods[method];
      if (!handler) {
        sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${route.pattern.source.replace(/[\\^$]/g, '')}; use ${Object.keys(route.methods).join(' or ')}`, {}, );
        return true;
      }
      if (route.isProfessor && !this.auth.admit(req, res)) return true;
      this.#run(req, res, () => handler(req, res, match));
      return true;
    }
    return false;
  }

  #run(req: IncomingMessage, res: ServerResponse, work: () => Promise<void> | void): void {
    const started = performance.now();
    res.on('finish', () => {
      this.#options.logger.info('http', { method: req.method, path: safePath(req.url), status: res.statusCode, ms: Math.round(performance.now() - started) });
    });
    Promise.resolve()
      .then(work)
      .catch((error: unknown) => {
        this.#options.logger.error('request failed', { path: safePath(req.url), error: error instanceof Error ? error.message : String(error) });
        sendError(res, 500, 'internal_error', 'the validator hit an internal error; nothing was changed by this request');
      });
  }

  /** Professor POSTs must be JSON (see readJsonRequest: CSRF by form is impossible). */
  #professorBody(req: IncomingMessage, res: ServerResponse, limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<unknown> {
    return readJsonRequest(req, res, limitBytes);
  }

  async #createSession(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.#professorBody(req, res);
    if (body === undefined) return;
    const request = parseWith(CreateSessionSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const nowMs = this.#options.clock();
    const session = newSessionRecord(request.value, nowMs, this.#options.store.courses.settings(request.value.course).late_after_minutes);
    this.#options.store.insertSession(session);
    this.#options.store.audit({ atMs: nowMs, actor: 'professor', action: 'create_session', sessionId: session.id, detail: { course: session.course, starts_at: session.startsAtS, ends_at: session.endsAtS } });
    this.#options.logger.info('session created', { session: session.id, rotate_seconds: session.rotateSeconds });
    const qr = issueQr(session, nowMs, this.#options.appBaseUrl());
    sendJson(res, 201, { ...qr, session_id: session.id, direct_path: isDirectPathOpen(session), late_after_minutes: lateAfterMinutes(session) } satisfies CreateSessionResponse);
  }

  async #endSession(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.#professorBody(req, res);
    if (body === undefined) return;
    const request = parseWith(EndSessionRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const session = this.#options.store.getSession(request.value.session_id);
    if (!session) return sendError(res, 404, 'unknown_session', 'no session with this id on this validator');
    const nowMs = this.#options.clock();
    if (nowMs > session.endsAtS * 1000) return sendJson(res, 200, { ...publicSession(session, nowMs), already_ended: true } satisfies EndSessionResponse);
    const endAtMs = Math.max(nowMs, session.startsAtS * 1000);
    const ended = this.#options.store.endSession(session.id, endAtMs)!;
    this.#options.store.audit({ atMs: nowMs, actor: 'professor', action: 'end_session', sessionId: session.id, detail: { planned_end: session.endsAtS, ends_at: ended.endsAtS } });
    sendJson(res, 200, { ...publicSession(ended, nowMs), already_ended: false } satisfies EndSessionResponse);
  }

  async #sessionOptions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.#professorBody(req, res);
    if (body === undefined) return;
    const request = parseWith(SessionOptionsRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const session = this.#options.store.getSession(request.value.session_id);
    if (!session) return sendError(res, 404, 'unknown_session', 'no session with this id on this validator');
    const nowMs = this.#options.clock();
    const { direct_path: directPath, late_after_minutes: lateAfter } = request.value;
    const wasOpen = isDirectPathOpen(session);
    const lateAfterBefore = lateAfterMinutes(session);
    const changed = this.#options.store.setSessionOptions(session.id, {
      ...session.options,
      ...(directPath !== undefined ? { direct_path: directPath } : {}),
      ...(lateAfter !== undefined ? { late_after_minutes: lateAfter } : {}),
    })!;
    const audit = (detail: Record<string, unknown>) => this.#options.store.audit({ atMs: nowMs, actor: 'professor', action: 'session_options', sessionId: session.id, detail });
    if (directPath !== undefined && wasOpen !== directPath) audit({ direct_path: directPath });
    // S8: statuses are computed from the session, so they follow at once; the audit log keeps what it was.
    if (lateAfter !== undefined && lateAfter !== lateAfterBefore) {
      audit({ late_after_minutes: lateAfter, late_after_minutes_before: lateAfterBefore });
      this.#options.logger.info('session late rule changed', { session: session.id, late_after_minutes: lateAfter, before: lateAfterBefore });
    }
    sendJson(res, 200, publicSession(changed, nowMs) satisfies Session);
  }

  #listSessions(req: IncomingMessage, res: ServerResponse): void {
    const nowMs = this.#options.clock();
    const course = queryOf(req).get('course');
    const { store } = this.#options;
    const contextOf = courseContexts(store);
    const sessions = (course === null ? store.listSessions() : store.listCourseSessions(course)).map((session) => ({
      ...publicSession(session, nowMs),
      counts: sessionCounts(store, session, nowMs, contextOf(session.course)),
    }));
    sendJson(res, 200, { sessions } satisfies SessionsResponse);
  }

  #sessionFromPath(res: ServerResponse, id: string | undefined): SessionRecord | undefined {
    if (!isSessionId(id)) {
      sendError(res, 400, 'bad_session_id', 'the path does not hold a session id (a lowercase UUID)');
      return undefined;
    }
    const session = this.#options.store.getSession(id);
    if (!session) sendError(res, 404, 'unknown_session', 'no session with this id on this validator');
    return session;
  }

  #statuses(res: ServerResponse, match: RegExpExecArray): void {
    const session = this.#sessionFromPath(res, match[1]);
    if (session) this.#term.statuses(res, session);
  }

  async #qr(_req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): Promise<void> {
    const session = this.#sessionFromPath(res, match[1]);
    if (!session) return;
    const nowMs = this.#options.clock();
    const qr = issueQr(session, nowMs, this.#options.appBaseUrl());
    if (match[2] === '.svg') {
      const svg = await QRCode.toString(qr.qr_text, { type: 'svg', ...QR_RENDER_OPTIONS });
      return send(res, 200, svg, { 'content-type': 'image/svg+xml; charset=utf-8' });
    }
    sendJson(res, 200, {
      ...qr,
      server_time_ms: nowMs,
      is_live: publicSession(session, nowMs).is_live,
      accepted_count: this.#options.store.countDecisions(session.id).accepted,
    } satisfies QrResponse);
  }

  #attendance(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): void {
    const session = this.#sessionFromPath(res, match[1]);
    if (!session) return;
    const { store } = this.#options;
    const attendance = buildAttendance(session, store.decisionsForSession(session.id), this.#options.clock(), store.unstoredRejections(session.id), store.unstoredSyncRejections(session.id));
    if (match[2] === '.csv') {
      const fileName = `attendance-${session.course.replace(/[^A-Za-z0-9_-]+/g, '_')}-${session.id.slice(0, 8)}.csv`;
      return send(res, 200, attendanceCsv(attendance), { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${fileName}"` });
    }
    if (match[2] === '.json' || wantsJson(req)) return sendJson(res, 200, attendance satisfies AttendanceResponse);
    send(res, 200, attendanceHtml(attendance), { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'" });
  }

  async #override(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.#professorBody(req, res);
    if (body === undefined) return;
    const request = parseWith(OverrideRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const { session_id: sessionId, student_id: studentId, status, note } = request.value;
    const session = this.#options.store.getSession(sessionId);
    if (!session) return sendError(res, 404, 'unknown_session', 'no session with this id on this validator');
    const nowMs = this.#options.clock();
    const decision: Decision = {
      nonce: `manual:${randomBytes(12).toString('base64url')}`,
      sessionId,
      via: 'manual',
      status,
      reason: status === 'accepted' ? 'ok' : MANUAL_REASON,
      flags: [],
      studentId,
      firstSeenMs: nowMs,
      decidedAtMs: nowMs,
      ...(note !== undefined ? { note } : {}),
    };
    const audit = { atMs: nowMs, actor: 'professor', action: `override_${status}`, sessionId, detail: { student_id: studentId, note: note ?? null } };
    const before = this.#term.currentStatus(session, studentId, nowMs);
    if (status === 'accepted') {
      if (this.#options.store.recordManualDecision(decision, audit) === 'exists') {
        return sendError(res, 409, 'already_accepted', 'this student is already marked present in this session');
      }
    } else if (!this.#options.store.revokeAcceptance(sessionId, studentId, decision, audit)) {
      return sendError(res, 409, 'not_accepted', 'this student is not marked present in this session, so there is nothing to reject');
    }
    // The status the override means, in the session's audit trail of statuses (SPEC.md S4).
    this.#term.recordMark(session, before, status === 'accepted' ? 'present' : 'absent', note ?? null);
    sendJson(res, 200, { status, reason: decision.reason, student_id: studentId, session_id: sessionId, decided_at: nowMs } satisfies OverrideResponse);
  }

  async #roster(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.#professorBody(req, res, ROSTER_BODY_LIMIT_BYTES);
    if (body === undefined) return;
    const request = parseWith(RosterRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    this.#options.store.setRoster(request.value.course, request.value.student_ids, this.#options.clock());
    const students = new Set(request.value.student_ids).size; // an id listed twice is one student
    this.#options.store.audit({ atMs: this.#options.clock(), actor: 'professor', action: 'set_roster', detail: { course: request.value.course, students } });
    sendJson(res, 200, { course: request.value.course, students } satisfies RosterSetResponse);
  }
}

/** The path without its query string or a fragment (either could carry a secret pasted by mistake). */
function safePath(url: string | undefined): string {
  return (url ?? '/').split(/[?#]/)[0]!.slice(0, 200);
}
