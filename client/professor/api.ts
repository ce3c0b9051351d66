/**
 * The dashboard's client of the validator's HTTP API (same origin). Professor routes answer
 * loopback peers, a browser logged in with a one-time login link (an HttpOnly cookie the
 * browser sends by itself), or anyone with the admin token: the token is kept in
 * sessionStorage (gone when the tab closes) and sent only as an Authorization header, never
 * in a URL.
 */
import type { RelayStatus } from '../../protocol/events.ts';

const TOKEN_KEY = 'rollcall:admin-token';

/** A refusal carries the validator's `code` (e.g. `bad_token`, `login_link_used`) when it sent one. */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; status: number; error: string; code?: string };

/** One session as GET /sessions and POST /create_session describe it (fields we use). */
export interface SessionInfo {
  session_id: string;
  course: string;
  starts_at: number;
  ends_at: number;
  rotate_seconds?: number;
  ended_at?: number | null;
  status?: string;
  /** GET /sessions: the session's decision counts. */
  counts?: { decisions: number; accepted: number; rejected: number };
  /** Whether POST /submit_attendance is open for the session (absent on older validators: open). */
  direct_path?: boolean;
}

/** GET /qr/<id>. */
export interface QrInfo {
  session_id: string;
  payload_b64: string;
  signature: string;
  qr_text: string;
  slot: number;
  rotate_seconds: number;
  expires_at?: number | null;
  server_time_ms: number;
  course: string;
  starts_at: number;
  ends_at: number;
  accepted_count: number;
}

export interface AttendanceRow {
  student_id: string;
  decided_at: number;
  flags?: string[];
  via?: string;
  device?: string;
  reason?: string;
  note?: string;
  /** The client address of a direct submission; null on the other paths. */
  address?: string | null;
}

/** GET /attendance/<id> with Accept: application/json. */
export interface Attendance {
  session?: SessionInfo;
  accepted: AttendanceRow[];
  rejected: AttendanceRow[];
  counts: { accepted: number; rejected: number; flagged: number };
  /** Direct-path rejections past the per-address cap: answered and counted, not stored. */
  unstored_rejections?: { address: string; count: number; last_at: number }[];
  unstored_device_rejections?: { device: string; count: number; last_at: number }[];
}

export interface CreateSessionRequest {
  course: string;
  duration_minutes: number;
  rotate_seconds?: number;
  starts_at?: number;
  direct_path?: boolean;
}

export function savedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The headers of a request to the validator: JSON, and the pasted admin token if there is one. */
export function headers(extra: Record<string, string> = {}, token = savedToken()): Record<string, string> {
  return { Accept: 'application/json', ...extra, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
}

/** A refusal as the dashboard shows it: the validator's sentence and code, or the status line. */
export async function failureOf(response: Response): Promise<{ ok: false; status: number; error: string; code?: string }> {
  try {
    const body = (await response.json()) as { error?: unknown; reason?: unknown; message?: unknown; code?: unknown };
    const text = body.error ?? body.message ?? body.reason;
    if (typeof text === 'string') return { ok: false, status: response.status, error: text, ...(typeof body.code === 'string' ? { code: body.code } : {}) };
  } catch {
    // not JSON: fall through to the status line
  }
  return { ok: false, status: response.status, error: `${response.status} ${response.statusText}`.trim() };
}

async function call<T>(path: string, init: RequestInit = {}, token = savedToken()): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, cache: 'no-store', credentials: 'same-origin', headers: headers(init.headers as Record<string, string>, token) });
  } catch {
    return { ok: false, status: 0, error: 'The validator does not answer. Check that `rollcall start` is still running on this laptop.' };
  }
  if (!response.ok) return failureOf(response);
  return { ok: true, value: (await response.json()) as T };
}

function post<T>(path: string, body: unknown, token = savedToken()): Promise<ApiResult<T>> {
  return call<T>(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }, token);
}

/** GET /healthz: the validator's own view of its connection to the relay. */
export interface Health {
  ok: boolean;
  relay?: RelayStatus;
}

export const api = {
  health: () => call<Health>('/healthz'),
  sessions: () => call<SessionInfo[] | { sessions: SessionInfo[] }>('/sessions'),
  /** GET /sessions with a token the professor typed, before it is saved: is it the admin token? */
  checkToken: (token: string) => call<unknown>('/sessions', {}, token),
  /** Spends a login link's secret (from the page's fragment, never a URL): the answer sets the login cookie. */
  login: (secret: string) => post<{ ok: true; expires_at: number }>('/login', { secret }, ''),
  logout: () => post<{ logged_out: boolean }>('/logout', {}, ''),
  createSession: (request: CreateSessionRequest) => post<SessionInfo>('/create_session', request),
  endSession: (sessionId: string) => post<unknown>('/end_session', { session_id: sessionId }),
  setSessionOptions: (sessionId: string, options: { direct_path: boolean }) => post<SessionInfo>('/session_options', { session_id: sessionId, ...options }),
  qr: (sessionId: string) => call<QrInfo>(`/qr/${encodeURIComponent(sessionId)}`),
  attendance: (sessionId: string) => call<Attendance>(`/attendance/${encodeURIComponent(sessionId)}`),
  override: (sessionId: string, studentId: string, status: 'accepted' | 'rejected', note: string) =>
    post<unknown>('/override', { session_id: sessionId, student_id: studentId, status, note }),
  /** The CSV as a Blob (fetched with the header, so the token stays out of the URL). */
  async attendanceCsv(sessionId: string): Promise<ApiResult<Blob>> {
    try {
      const response = await fetch(`/attendance/${encodeURIComponent(sessionId)}.csv`, { headers: headers({ Accept: 'text/csv' }) });
      if (!response.ok) return failureOf(response);
      return { ok: true, value: await response.blob() };
    } catch {
      return { ok: false, status: 0, error: 'The validator does not answer. Check that `rollcall start` is still running.' };
    }
  },
};

/** Refusals that mean "log in (login link) or give the admin token"; other 403s (cross_site) are shown as they are. */
const LOGIN_NEEDED = new Set(['professor_only', 'token_required', 'bad_token', 'login_expired']);

/** True when the answer means "loopback, a login or the admin token only". */
export function needsToken(result: ApiResult<unknown>): boolean {
  return !result.ok && (result.status === 401 || (result.status === 403 && (result.code === undefined || LOGIN_NEEDED.has(result.code))));
}
