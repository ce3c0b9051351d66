/**
 * The dashboard's reactive state. Nothing is polled: the validator pushes what changed
 * (`GET /events`, {@link EventFeed}) and the dashboard re-reads the one screen it shows; the QR
 * is fetched again only when the one shown expires. Reads of a screen never overlap, so an
 * older answer can never overwrite a newer one.
 */
import { LOGIN_PAGE_PATH } from '../../protocol/index.ts';
import type { RelayStatus, StoreChange } from '../../protocol/events.ts';
import { api, needsToken, saveToken, type ApiResult, type Attendance, type CreateSessionRequest, type QrInfo, type SessionInfo } from './api.ts';
import { EventFeed } from './EventFeed.ts';
import { sessionStatus } from './time.ts';

export type Route = { name: 'list' } | { name: 'session'; sessionId: string };

/** The QR is fetched this long after the shown one expires (the server's slot has turned by then). */
const QR_EXPIRY_MARGIN_MS = 150;

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
  #isRefreshing = false;
  #isRefreshDue = false;

  start(): () => void {
    const onHash = () => {
      this.route = routeOf(location.hash);
      this.qr = undefined;
      this.attendance = undefined;
      this.isProjecting = false;
      clearTimeout(this.#qrTimer);
      this.viewChanges++;
      void this.refresh();
    };
    window.addEventListener('hashchange', onHash);
    void this.#logInFromLink().then(() => {
      if (!this.isTokenNeeded) this.#feed.start();
    });
    // The clock on screen (time left, session status); no request is made.
    const clock = setInterval(() => (this.nowMs = Date.now()), 1000);
    return () => {
      window.removeEventListener('hashchange', onHash);
      clearInterval(clock);
      clearTimeout(this.#qrTimer);
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
    if (route.name === 'list') {
      if (change.kind === 'session' || change.kind === 'decisions') void this.refresh();
      return;
    }
    if (change.session_id !== undefined && change.session_id !== route.sessionId) return;
    if (change.kind === 'session') void this.#refreshQr(route.sessionId);
    void this.refresh();
  }

  /** Re-reads the screen; a call while a read runs makes one more read after it, never two at once. */
  async refresh(): Promise<void> {
    if (this.isTokenNeeded || this.isLoggingIn) return;
    if (this.#isRefreshing) {
      this.#isRefreshDue = true;
      return;
    }
    this.#isRefreshing = true;
    try {
      do {
        this.#isRefreshDue = false;
        await this.#read();
      } while (this.#isRefreshDue);
    } finally {
      this.#isRefreshing = false;
    }
  }

  async #read(): Promise<void> {
    const route = this.route;
    if (route.name === 'list') {
      const result = await api.sessions();
      if (this.#check(result)) this.sessions = Array.isArray(result.value) ? result.value : (result.value.sessions ?? []);
      return;
    }
    const isQrNeeded = this.qr?.session_id !== route.sessionId;
    const attendance = await api.attendance(route.sessionId);
    if (this.route !== route) return; // the professor moved on while we waited
    if (this.#check(attendance)) this.attendance = attendance.value;
    if (isQrNeeded) await this.#refreshQr(route.sessionId);
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
    this.serverOffsetMs = qr.server_time_ms - Date.now();
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
