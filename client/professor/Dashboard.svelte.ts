/**
 * The dashboard's reactive state. Live data comes from polling the validator about once a
 * second (simple and robust: a laptop on the same machine, no socket to babysit).
 */
import { LOGIN_PAGE_PATH } from '../../protocol/index.ts';
import { api, needsToken, saveToken, type ApiResult, type Attendance, type CreateSessionRequest, type Health, type QrInfo, type SessionInfo } from './api.ts';

export type Route = { name: 'list' } | { name: 'session'; sessionId: string };

const POLL_MS = 1000;
/** The relay connection changes rarely; its state is read less often than attendance. */
const HEALTH_EVERY_POLLS = 5;

function routeOf(hash: string): Route {
  const match = /^#\/session\/([0-9a-f-]{36})$/.exec(hash);
  return match?.[1] ? { name: 'session', sessionId: match[1] } : { name: 'list' };
}

export class Dashboard {
  route = $state.raw<Route>(routeOf(location.hash));
  sessions = $state.raw<SessionInfo[]>([]);
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
  relay = $state.raw<Health['relay'] | undefined>();

  #timer: ReturnType<typeof setInterval> | undefined;
  #polls = 0;

  start(): () => void {
    const onHash = () => {
      this.route = routeOf(location.hash);
      this.qr = undefined;
      this.attendance = undefined;
      this.isProjecting = false;
      void this.refresh();
    };
    window.addEventListener('hashchange', onHash);
    void this.#logInFromLink().then(() => this.refresh());
    void this.refreshHealth();
    this.#timer = setInterval(() => {
      this.nowMs = Date.now();
      void this.refresh();
      if (++this.#polls % HEALTH_EVERY_POLLS === 0) void this.refreshHealth();
    }, POLL_MS);
    return () => {
      window.removeEventListener('hashchange', onHash);
      clearInterval(this.#timer);
    };
  }

  get serverNowMs(): number {
    return this.nowMs + this.serverOffsetMs;
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

  async refresh(): Promise<void> {
    if (this.isTokenNeeded || this.isLoggingIn) return;
    const route = this.route;
    if (route.name === 'list') {
      const result = await api.sessions();
      if (this.#check(result)) this.sessions = Array.isArray(result.value) ? result.value : (result.value.sessions ?? []);
      return;
    }
    const [qr, attendance] = await Promise.all([api.qr(route.sessionId), api.attendance(route.sessionId)]);
    if (this.route !== route) return; // the professor moved on while we waited
    if (this.#check(qr)) {
      this.qr = qr.value;
      this.serverOffsetMs = qr.value.server_time_ms - Date.now();
    }
    if (this.#check(attendance)) this.attendance = attendance.value;
  }

  async refreshHealth(): Promise<void> {
    const result = await api.health();
    this.relay = result.ok ? result.value.relay : undefined;
  }

  async createSession(request: CreateSessionRequest): Promise<boolean> {
    const result = await api.createSession(request);
    if (!this.#check(result)) return false;
    location.hash = `#/session/${result.value.session_id}`;
    return true;
  }

  async endSession(sessionId: string): Promise<void> {
    if (this.#check(await api.endSession(sessionId))) await this.refresh();
  }

  /** Opens or closes the session's direct path (POST /submit_attendance); true once the validator has it. */
  async setDirectPath(sessionId: string, isOpen: boolean): Promise<boolean> {
    if (!this.#check(await api.setSessionOptions(sessionId, { direct_path: isOpen }))) return false;
    await this.refresh();
    return true;
  }

  async override(studentId: string, status: 'accepted' | 'rejected', note: string): Promise<void> {
    if (this.route.name !== 'session') return;
    if (this.#check(await api.override(this.route.sessionId, studentId, status, note))) await this.refresh();
  }

  async downloadCsv(sessionId: string, course: string): Promise<void> {
    const result = await api.attendanceCsv(sessionId);
    if (!this.#check(result)) return;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(result.value);
    link.download = `attendance-${course.replace(/[^\w-]+/g, '_')}-${sessionId.slice(0, 8)}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  /** Takes a pasted admin token only once the validator has accepted it; says so when it did not. */
  async useToken(token: string): Promise<void> {
    const candidate = token.trim();
    const check = await api.checkToken(candidate);
    if (!check.ok && check.code === 'bad_token') {
      this.tokenProblem = 'That is not the admin token of this Rollcall. Copy the whole line `rollcall start` printed after “Admin token”, or the file admin-token in its data folder.';
      return;
    }
    if (!check.ok && check.status !== 0 && needsToken(check)) {
      this.tokenProblem = check.error;
      return;
    }
    saveToken(candidate);
    this.tokenProblem = undefined;
    this.isTokenNeeded = false;
    this.problem = undefined;
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
    await this.refresh();
    if (!this.isTokenNeeded) this.problem = 'Logged out. This browser still reaches the dashboard because it runs on the professor’s laptop itself.';
  }

  #check<T>(result: ApiResult<T>): result is { ok: true; value: T } {
    if (result.ok) {
      this.problem = undefined;
      return true;
    }
    if (needsToken(result)) {
      this.isTokenNeeded = true;
      this.problem = result.code === 'login_expired'
        ? 'Your login has ended (logged out, or 12 hours passed). Open a new login link: run `rollcall login-link` on the laptop.'
        : 'This dashboard answers only on the laptop itself, after a login link, or with the admin token that `rollcall start` printed.';
    } else {
      this.problem = result.error;
    }
    return false;
  }
}
