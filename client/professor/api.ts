/**
 * The dashboard's client of the validator's HTTP API (same origin). Every answer is parsed with
 * its schema from protocol/api.ts (the one the validator builds it with): no casts, and a shape
 * this dashboard does not know is a clear problem, never a blank column. Professor routes
 * answer loopback peers, a browser logged in with a one-time login link (an HttpOnly cookie the
 * browser sends by itself), or anyone with the admin token: the token is kept in sessionStorage
 * (gone when the tab closes) and sent only as an Authorization header, never in a URL.
 */
import type { z } from 'zod';
import {
  AttendanceResponseSchema,
  AuditLogResponseSchema,
  CourseResponseSchema,
  CoursesResponseSchema,
  CreateSessionResponseSchema,
  DeleteSessionResponseSchema,
  EndSessionResponseSchema,
  HealthResponseSchema,
  LoginResponseSchema,
  LogoutResponseSchema,
  MarkResponseSchema,
  OverrideResponseSchema,
  QrResponseSchema,
  ReportResponseSchema,
  RosterImportResponseSchema,
  RosterPreviewResponseSchema,
  RosterResponseSchema,
  SessionOptionsResponseSchema,
  SessionStatusesResponseSchema,
  SessionsResponseSchema,
  StudentRecordResponseSchema,
  type AttendanceResponse,
  type AttendanceStatus,
  type CourseRequest,
  type CreateSessionRequest,
  type ListedSession,
  type QrResponse,
  type ReportFormat,
  type RosterMapping,
  type Session,
} from '../../protocol/api.ts';

const TOKEN_KEY = 'rollcall:admin-token';

/** A refusal carries the validator's `code` (e.g. `bad_token`, `login_link_used`) when it sent one. */
export type ApiFailure = { ok: false; status: number; error: string; code?: string };
export type ApiResult<T> = { ok: true; value: T } | ApiFailure;

export type SessionInfo = Session | ListedSession;
export type QrInfo = QrResponse;
export type Attendance = AttendanceResponse;
export type { CreateSessionRequest };

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
export async function failureOf(response: Response): Promise<ApiFailure> {
  try {
    const body = (await response.json()) as { error?: unknown; reason?: unknown; message?: unknown; code?: unknown };
    const text = body.error ?? body.message ?? body.reason;
    if (typeof text === 'string') return { ok: false, status: response.status, error: text, ...(typeof body.code === 'string' ? { code: body.code } : {}) };
  } catch {
    // not JSON: fall through to the status line
  }
  return { ok: false, status: response.status, error: `${response.status} ${response.statusText}`.trim() };
}

const UNREACHABLE: ApiFailure = { ok: false, status: 0, error: 'The validator does not answer. Check that `rollcall start` is still running on this laptop.' };

async function call<S extends z.ZodType>(schema: S, path: string, init: RequestInit = {}, token = savedToken()): Promise<ApiResult<z.output<S>>> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, cache: 'no-store', credentials: 'same-origin', headers: headers(init.headers as Record<string, string>, token) });
  } catch {
    return UNREACHABLE;
  }
  if (!response.ok) return failureOf(response);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return { ok: false, status: response.status, error: `The validator's answer to ${path.split('?')[0]} is not JSON. Is this dashboard served by the same Rollcall?` };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, status: response.status, code: 'unknown_shape', error: `The validator answered ${path.split('?')[0]} in a shape this dashboard does not know (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}). Reload the page; if it stays, the dashboard and the validator are different versions.` };
  }
  return { ok: true, value: parsed.data };
}

function post<S extends z.ZodType>(schema: S, path: string, body: unknown, token = savedToken()): Promise<ApiResult<z.output<S>>> {
  return call(schema, path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }, token);
}

const q = encodeURIComponent;

/** A file download fetched with the header (the token stays out of the URL), as a Blob. */
async function download(path: string, accept: string): Promise<ApiResult<Blob>> {
  try {
    const response = await fetch(path, { cache: 'no-store', credentials: 'same-origin', headers: headers({ Accept: accept }) });
    if (!response.ok) return failureOf(response);
    return { ok: true, value: await response.blob() };
  } catch {
    return UNREACHABLE;
  }
}

export const api = {
  health: () => call(HealthResponseSchema, '/healthz'),
  sessions: (course?: string) => call(SessionsResponseSchema, course === undefined ? '/sessions' : `/sessions?course=${q(course)}`),
  /** GET /sessions with a token the professor typed, before it is saved: is it the admin token? */
  checkToken: (token: string) => call(SessionsResponseSchema, '/sessions', {}, token),
  /** Spends a login link's secret (from the page's fragment, never a URL): the answer sets the login cookie. */
  login: (secret: string) => post(LoginResponseSchema, '/login', { secret }, ''),
  logout: () => post(LogoutResponseSchema, '/logout', {}, ''),
  createSession: (request: CreateSessionRequest) => post(CreateSessionResponseSchema, '/create_session', request),
  endSession: (sessionId: string) => post(EndSessionResponseSchema, '/end_session', { session_id: sessionId }),
  deleteSession: (sessionId: string) => post(DeleteSessionResponseSchema, '/delete_session', { session_id: sessionId }),
  /** Only the options given change (SessionOptionsRequest); `late_after_minutes: null` removes the late status. */
  setSessionOptions: (sessionId: string, options: { direct_path?: boolean; late_after_minutes?: number | null }) => post(SessionOptionsResponseSchema, '/session_options', { session_id: sessionId, ...options }),
  qr: (sessionId: string) => call(QrResponseSchema, `/qr/${q(sessionId)}`),
  attendance: (sessionId: string) => call(AttendanceResponseSchema, `/attendance/${q(sessionId)}`),
  statuses: (sessionId: string) => call(SessionStatusesResponseSchema, `/statuses/${q(sessionId)}`),
  override: (sessionId: string, studentId: string, status: 'accepted' | 'rejected', note: string) =>
    post(OverrideResponseSchema, '/override', { session_id: sessionId, student_id: studentId, status, note }),
  mark: (sessionId: string, studentId: string, status: AttendanceStatus, note: string) =>
    post(MarkResponseSchema, '/mark', { session_id: sessionId, student_id: studentId, status, ...(note ? { note } : {}) }),
  courses: () => call(CoursesResponseSchema, '/courses'),
  /** Creates the course or changes the settings given (the others keep their value). */
  setCourse: (request: CourseRequest) => post(CourseResponseSchema, '/course', request),
  roster: (course: string) => call(RosterResponseSchema, `/roster?course=${q(course)}`),
  previewRoster: (course: string, csv: string) => post(RosterPreviewResponseSchema, '/roster/preview', { course, csv }),
  importRoster: (course: string, csv: string, mapping: RosterMapping) => post(RosterImportResponseSchema, '/roster/import', { course, csv, mapping }),
  report: (course: string) => call(ReportResponseSchema, `/report?course=${q(course)}`),
  /** The course's latest changes, newest first (SPEC.md S9). */
  courseAudit: (course: string, limit: number) => call(AuditLogResponseSchema, `/audit_log?course=${q(course)}&limit=${limit}`),
  studentRecord: (course: string, studentId: string) => call(StudentRecordResponseSchema, `/student_record?course=${q(course)}&student_id=${q(studentId)}`),
  attendanceCsv: (sessionId: string) => download(`/attendance/${q(sessionId)}.csv`, 'text/csv'),
  reportFile: (course: string, format: Exclude<ReportFormat, 'json'>) => download(`/report?course=${q(course)}&format=${format}`, '*/*'),
};

/** Refusals that mean "log in (login link) or give the admin token"; other 403s (cross_site) are shown as they are. */
const LOGIN_NEEDED = new Set(['professor_only', 'token_required', 'bad_token', 'login_expired']);

/** True when the answer means "loopback, a login or the admin token only". */
export function needsToken(result: ApiResult<unknown>): boolean {
  return !result.ok && (result.status === 401 || (result.status === 403 && (result.code === undefined || LOGIN_NEEDED.has(result.code))));
}

/** Saves a Blob as a file the browser downloads. */
export function saveFile(blob: Blob, fileName: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
