/**
 * The dashboard's reactive state. Nothing is polled: the validator pushes what changed
 * (`GET /events`, {@link EventFeed}) and the dashboard re-reads the one screen it shows; the QR
 * is fetched again only when the one shown expires. Reads of a screen never overlap, so an
 * older answer can never overwrite a newer one.
 */
import { LOGIN_PAGE_PATH } from '../../protocol/index.ts';
import type { RelayStatus, StoreChange } from '../../protocol/events.ts';
import { AUDIT_PAGE_MAX } from '../../protocol/api.ts';
import type { AttendanceStatus, AuditLogResponse, CourseRequest, CourseSummary, ListedSession, ReportFormat, ReportResponse, RosterMapping, RosterPreviewResponse, RosterResponse, SessionStatusesResponse, StudentRecordResponse } from '../../protocol/api.ts';
import { api, needsToken, saveFile, saveToken, type ApiResult, type Attendance, type CreateSessionRequest, type QrInfo } from './api.ts';
import { EventFeed } from './EventFeed.ts';
import { ReadScheduler } from './ReadScheduler.ts';
import { routeOf, type Route } from './routes.ts';
import { sessionStatus } from './time.ts';

export type { Route };

/** The QR is fetched this long after the shown one expires (the server's slot has turned by then). */
const QR_EXPIRY_MARGIN_MS = 150;
/**
 * Reads caused by pushed changes start at least this far apart: a hall scanning at once (300
 * students, a screen of 115 KB) costs at most what the old one-second polling did, and nothing
 * when nothing changes. The professor's own actions re-read at once.
 */
const CHANGE_READ_GAP_MS = 1000;
/** How many of a course's latest changes its page shows (the CLI and the API page further back). */
export const COURSE_AUDIT_EVENTS = 20;

export class Dashboard {
  route = $state.raw<Route>(routeOf(location.hash));
  sessions = $state.raw<ListedSession[]>([]);
  courses = $state.raw<CourseSummary[]>([]);
  /** The shown session's students with their statuses, review list and audit trail. */
  statuses = $state.raw<SessionStatusesResponse | undefined>();
  roster = $state.raw<RosterResponse | undefined>();
  /** The shown course's latest changes (the audit log, newest first). */
  courseAudit = $state.raw<AuditLogResponse | undefined>();
  /** How many of them the course page asks for (more with *Show older changes*). */
  courseAuditLimit = $state(COURSE_AUDIT_EVENTS);
  report = $state.raw<ReportResponse | undefined>();
  studentRecord = $state.raw<StudentRecordResponse | undefined>();
  qr = $state.raw<QrInfo | undefined>();
  attendance = $state.raw<Attendance | undefined>();
  /** Server clock minus laptop clock, from the last /qr answer. */
  serverOffsetMs = $state(0);
  nowMs = $state(Date.now());
  isTokenNeeded = $state(false);
  /** Why the typed admin token was not taken (shown in the prompt). */
  tokenProblem = $state<string | undefined>();
  /** A login link is being exchanged: show nothing else yet. */
  isLoggingIn = $state(false);
  problem = $state<string | undefined>();
  isProjecting = $state(false);
  /** The validator's connection to the relay (undefined: not known yet, or the validator is down). */
  relay = $state.raw<RelayStatus | undefined>();
  /** False while the live feed is down (what the screen shows may be stale). */
  isLive = $state(true);
  /** Bumped when the view changes, so the app moves the focus to the new view's heading. */
  viewChanges = $state(0);

  readonly #feed = new EventFeed({
    onConnected: () => {
      this.isLive = true;
      void this.refresh();
    },
    onChange: (change) => this.#onChange(change),
    onRelay: (relay) => {
      this.relay = relay;
    },
    onRefused: (failure) => {
      this.#check(failure);
      return needsToken(failure);
    },
    onLost: () => {
      this.isLive = false;
      this.relay = undefined;
    },
  });
  #qrTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #reads = new ReadScheduler(() => this.#readScreen(), { gapMs: CHANGE_READ_GAP_MS });

  start(): () => void {
    const onHash = () => {
      this.route = routeOf(location.hash);
      this.qr = undefined;
      this.attendance = undefined;
      this.statuses = undefined;
      this.roster = undefined;
      this.courseAudit = undefined;
      this.courseAuditLimit = COURSE_AUDIT_EVENTS;
      this.report = undefined;
      this.studentRecord = undefined;
      this.isProjecting = false;
      clearTimeout(this.#qrTimer);
      this.#reads.cancel();
      this.viewChanges++;
      void this.refresh();
    };
    window.addEventListener('hashchange', onHash);
    // The screen is read once at once, and again on every (re)connect of the live feed: a
    // proxy that holds the stream back leaves a dashboard that is stale, never empty.
    void this.#logInFromLink().then(() => {
      if (this.isTokenNeeded) return;
      this.#feed.start();
      void this.refresh();
    });
    // The clock on screen (time left, session status); no request is made.
    const clock = setInterval(() => (this.nowMs = Date.now()), 1000);
    return () => {
      window.removeEventListener('hashchange', onHash);
      clearInterval(clock);
      clearTimeout(this.#qrTimer);
      this.#reads.cancel();
      this.#feed.stop();
    };
  }

  get serverNowMs(): number {
    return this.nowMs + this.serverOffsetMs;
  }

  /** The shown session's state: 'live', 'not started' or 'ended' (undefined while loading). */
  get sessionStatus(): string | undefined {
    const session = this.attendance?.session;
    return session ? sessionStatus(session, this.serverNowMs) : undefined;
  }

  /**
   * On `/professor/login#<secret>`: the secret leaves the address bar and the history first
   * (a reload, a shared screen or a synced history must not show it), then it is POSTed once.
   */
  async #logInFromLink(): Promise<void> {
    if (location.pathname !== LOGIN_PAGE_PATH) return;
    const secret = location.hash.slice(1);
    history.replaceState(null, '', '/professor/#/');
    this.route = { name: 'list' };
    if (!secret) return;
    this.isLoggingIn = true;
    const result = await api.login(secret);
    this.isLoggingIn = false;
    if (!result.ok) {
      this.isTokenNeeded = true;
      this.problem = `This login link did not work: ${result.error}`;
    }
  }

  #onChange(change: StoreChange): void {
    const route = this.route;
    if (route.name === 'session') {
      if (change.session_id !== undefined && change.session_id !== route.sessionId) {
        if (change.kind !== 'roster' && change.kind !== 'course') return;
      }
      if (change.kind === 'session') void this.#refreshQr(route.sessionId);
      this.#reads.soon();
      return;
    }
    // The list, a course, its report and a student record show several sessions: re-read on
    // any change of their course (or of any course, for the lists).
    if ('course' in route && change.course !== undefined && change.course !== route.course) return;
    this.#reads.soon();
  }

  /** Re-reads the screen (never two reads at once: see ReadScheduler). */
  refresh(): Promise<void> {
    return this.#reads.now();
  }

  async #readScreen(): Promise<void> {
    if (this.isTokenNeeded || this.isLoggingIn) return;
    await this.#read();
    // What was just read is judged against now, not the clock's last tick (up to 1 s old):
    // a session that starts this second is live, not "not started".
    this.nowMs = Date.now();
  }

  async #read(): Promise<void> {
    const route = this.route;
    // Each answer is used only if the professor is still on the screen it was read for.
    const isStill = () => this.route === route;
    switch (route.name) {
      case 'list': {
        const sessions = await api.sessions();
        if (isStill() && this.#check(sessions)) this.sessions = sessions.value.sessions;
        return;
      }
      case 'courses': {
        const courses = await api.courses();
        if (isStill()) this.courses = this.#optional(courses)?.courses ?? [];
        return;
      }
      case 'course': {
        const [sessions, roster, courses, audit] = await Promise.all([api.sessions(route.course), api.roster(route.course), api.courses(), api.courseAudit(route.course, this.courseAuditLimit)]);
        if (!isStill()) return;
        if (this.#check(sessions)) this.sessions = sessions.value.sessions;
        this.roster = this.#optional(roster);
        this.courses = this.#optional(courses)?.courses ?? [];
        // A validator of the release before has no audit log route: the card is then not shown.
        this.courseAudit = this.#optional(audit);
        return;
      }
      case 'report': {
        const report = await api.report(route.course);
        if (isStill() && this.#check(report)) this.report = report.value;
        return;
      }
      case 'student': {
        const record = await api.studentRecord(route.course, route.studentId);
        if (isStill() && this.#check(record)) this.studentRecord = record.value;
        return;
      }
      case 'session': {
        const isQrNeeded = this.qr?.session_id !== route.sessionId;
        const [attendance, statuses] = await Promise.all([api.attendance(route.sessionId), api.statuses(route.sessionId)]);
        if (!isStill()) return;
        if (this.#check(attendance)) this.attendance = attendance.value;
        this.statuses = this.#optional(statuses);
        if (isQrNeeded && this.sessionStatus !== 'ended') await this.#refreshQr(route.sessionId);
      }
    }
  }

  /** A route this validator may not have yet (404 not_found): nothing to show, no problem. */
  #optional<T>(result: ApiResult<T>): T | undefined {
    if (!result.ok && result.status === 404 && result.code === 'not_found') return undefined;
    return this.#check(result) ? result.value : undefined;
  }

  /** Fetches the QR, and again when it expires, while the session is not over. */
  async #refreshQr(sessionId: string): Promise<void> {
    clearTimeout(this.#qrTimer);
    const result = await api.qr(sessionId);
    const route = this.route;
    if (route.name !== 'session' || route.sessionId !== sessionId) return;
    if (!this.#check(result)) return;
    const qr = result.value;
    this.qr = qr;
    this.nowMs = Date.now();
    this.serverOffsetMs = qr.server_time_ms - this.nowMs;
    const isOver = qr.server_time_ms >= qr.ends_at * 1000;
    if (qr.expires_at === null || qr.expires_at === undefined || isOver) return;
    const waitMs = Math.max(0, qr.expires_at - qr.server_time_ms) + QR_EXPIRY_MARGIN_MS;
    this.#qrTimer = setTimeout(() => void this.#refreshQr(sessionId), waitMs);
  }

  async createSession(request: CreateSessionRequest): Promise<boolean> {
    const result = await api.createSession(request);
    if (!this.#check(result)) return false;
    location.hash = `#/session/${result.value.session_id}`;
    return true;
  }

  async endSession(sessionId: string): Promise<void> {
    if (!this.#check(await api.endSession(sessionId))) return;
    clearTimeout(this.#qrTimer);
    if (this.isProjecting) await this.stopProjecting();
    await this.refresh();
  }

  async startProjecting(): Promise<void> {
    this.isProjecting = true;
    this.viewChanges++;
    await document.documentElement.requestFullscreen?.().catch(() => {});
  }

  async stopProjecting(): Promise<void> {
    this.isProjecting = false;
    this.viewChanges++;
    if (document.fullscreenElement) await document.exitFullscreen().catch(() => {});
  }

  /** Opens or closes the session's direct path (POST /submit_attendance); true once the validator has it. */
  async setDirectPath(sessionId: string, isOpen: boolean): Promise<boolean> {
    if (!this.#check(await api.setSessionOptions(sessionId, { direct_path: isOpen }))) return false;
    await this.refresh();
    return true;
  }

  /** Changes the session's late rule (SPEC.md S8; null: no late status); the statuses shown follow on the refresh. */
  async setLateAfter(sessionId: string, minutes: number | null): ReturnType<typeof api.setSessionOptions> {
    const result = await api.setSessionOptions(sessionId, { late_after_minutes: minutes });
    if (result.ok) await this.refresh();
    return result;
  }

  async override(studentId: string, status: 'accepted' | 'rejected', note: string): Promise<void> {
    if (this.route.name !== 'session') return;
    if (this.#check(await api.override(this.route.sessionId, studentId, status, note))) await this.refresh();
  }

  async downloadCsv(sessionId: string, course: string): Promise<void> {
    const result = await api.attendanceCsv(sessionId);
    if (this.#check(result)) saveFile(result.value, `attendance-${course.replace(/[^\w-]+/g, '_')}-${sessionId.slice(0, 8)}.csv`);
  }

  /** Sets a student's status in the shown session, with a note (kept in the audit trail). */
  async mark(studentId: string, status: AttendanceStatus, note: string): Promise<boolean> {
    if (this.route.name !== 'session') return false;
    if (!this.#check(await api.mark(this.route.sessionId, studentId, status, note))) return false;
    await this.refresh();
    return true;
  }

  /** Deletes a session that accepted nobody (a test session), then shows the list. */
  async deleteSession(sessionId: string): Promise<void> {
    if (!this.#check(await api.deleteSession(sessionId))) return;
    location.hash = '#/';
  }

  /** Saves a course's settings; the answer says what they are now. */
  async setCourse(request: CourseRequest): ReturnType<typeof api.setCourse> {
    const result = await api.setCourse(request);
    if (result.ok) await this.refresh();
    return result;
  }

  previewRoster(course: string, csv: string): Promise<ApiResult<RosterPreviewResponse>> {
    return api.previewRoster(course, csv);
  }

  async importRoster(course: string, csv: string, mapping: RosterMapping): ReturnType<typeof api.importRoster> {
    const result = await api.importRoster(course, csv, mapping);
    if (result.ok) await this.refresh();
    return result;
  }

  /** The course page's *Show older changes*: the next events too, kept through live re-reads. */
  showOlderChanges(): Promise<void> {
    this.courseAuditLimit = Math.min(AUDIT_PAGE_MAX, this.courseAuditLimit + COURSE_AUDIT_EVENTS);
    return this.refresh();
  }

  /** Downloads the course's term report in one of its export formats. */
  async downloadReport(course: string, format: Exclude<ReportFormat, 'json'>): Promise<void> {
    const result = await api.reportFile(course, format);
    if (!this.#check(result)) return;
    const extension = format === 'xlsx' ? 'xlsx' : 'csv';
    saveFile(result.value, `report-${course.replace(/[^\w-]+/g, '_')}-${format}.${extension}`);
  }

  /** Takes a pasted admin token only once the validator has accepted it; otherwise says why. */
  async useToken(token: string): Promise<void> {
    const candidate = token.trim();
    this.tokenProblem = undefined;
    if (!candidate) {
      this.tokenProblem = 'Paste the admin token first: the line `rollcall start` printed after “Admin token”.';
      return;
    }
    const check = await api.checkToken(candidate);
    if (!check.ok) {
      this.tokenProblem = check.code === 'bad_token'
        ? 'That is not the admin token of this Rollcall. Copy the whole line `rollcall start` printed after “Admin token”, or the file admin-token in its data folder.'
        : `The token could not be checked: ${check.error}`;
      return;
    }
    saveToken(candidate);
    this.isTokenNeeded = false;
    this.problem = undefined;
    this.viewChanges++;
    this.#feed.start();
    void this.refresh();
  }

  /** Ends the login-link login (and forgets a pasted token); on the laptop itself the dashboard still answers. */
  async logOut(): Promise<void> {
    saveToken('');
    const result = await api.logout();
    if (!result.ok) {
      this.problem = result.error;
      return;
    }
    this.sessions = [];
    this.#feed.stop();
    await this.refresh();
    if (this.isTokenNeeded) return;
    this.#feed.start();
    this.problem = 'Logged out. This browser still reaches the dashboard because it runs on the professor’s laptop itself.';
  }

  #check<T>(result: ApiResult<T>): result is { ok: true; value: T } {
    if (result.ok) {
      this.problem = undefined;
      return true;
    }
    if (needsToken(result)) {
      if (!this.isTokenNeeded) this.viewChanges++;
      this.isTokenNeeded = true;
      this.#feed.stop();
      this.problem = result.code === 'login_expired'
        ? 'Your login has ended (logged out, or 12 hours passed). Open a new login link: run `rollcall login-link` on the laptop.'
        : 'This dashboard answers only on the laptop itself, after a login link, or with the admin token that `rollcall start` printed.';
    } else {
      this.problem = result.error;
    }
    return false;
  }
}
