/**
 * The term's routes of the validator's HTTP API (docs/http-api.md "Courses, rosters, statuses
 * and the term report"): courses and their settings, roster import with a preview of its column
 * mapping, a professor's status marks (the audit trail), a session's statuses and review list,
 * the term report and its exports, a student's record, deleting a test session. Mounted by
 * ValidatorApi behind the professor check; every body is parsed with its protocol/api.ts schema.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AUDIT_PAGE_DEFAULT,
  AUDIT_PAGE_MAX,
  CourseRequestSchema,
  DeleteSessionRequestSchema,
  MarkRequestSchema,
  ReportFormatSchema,
  RosterImportRequestSchema,
  RosterPreviewRequestSchema,
  courseName,
  parseWith,
  sessionId as sessionIdSchema,
  studentId as studentIdSchema,
  type AuditLogResponse,
  type CourseResponse,
  type CoursesResponse,
  type CourseSettings,
  type DeleteSessionResponse,
  type MarkResponse,
  type RosterImportResponse,
  type RosterResponse,
  type SessionStatusesResponse,
  type StatusChange,
} from '../protocol/index.ts';
import { queryOf, readJsonRequest, send, sendError, sendJson } from './httpIo.ts';
import { canvasGradebookCsv, moodleGradebookCsv, rejectedCsv, reportStatusCsv, reportXlsx } from './reportExports.ts';
import { previewRoster, readRosterTable, rosterStudents } from './rosterCsv.ts';
import { publicSession } from './sessions.ts';
import { courseReport, sessionStatusesView, statusesOf, studentRecord } from './statusViews.ts';
import { studentKey } from './studentIds.ts';
import { isTimeZone } from './termReport.ts';
import type { SessionRecord } from './types.ts';
import type { AuditFilter, ValidatorStore } from './ValidatorStore.ts';

/** A roster file of thousands of students, JSON-escaped, fits well under this. */
export const ROSTER_IMPORT_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export interface TermApiOptions {
  store: ValidatorStore;
  clock: () => number;
  /** The time zone reports use when the request names none (the laptop's). */
  defaultTimeZone?: string;
}

export class TermApi {
  readonly #store: ValidatorStore;
  readonly #clock: () => number;
  readonly #defaultTimeZone: string;

  constructor(options: TermApiOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#defaultTimeZone = options.defaultTimeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  courses(res: ServerResponse): void {
    sendJson(res, 200, { courses: this.#store.courses.list() } satisfies CoursesResponse);
  }

  async setCourse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonRequest(req, res);
    if (body === undefined) return;
    const request = parseWith(CourseRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const { course, ...change } = request.value;
    const defined = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined)) as Partial<CourseSettings>;
    try {
      this.#store.setCourseSettings(course, defined, { atMs: this.#clock(), actor: 'professor', action: 'course_settings', detail: { course, ...defined } });
    } catch (error) {
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_CONSTRAINT')) {
        return sendError(res, 409, 'roster_ids_collide', 'two roster students differ only by case: with id_case "insensitive" they would be one; fix the roster first');
      }
      throw error;
    }
    sendJson(res, 200, this.#store.courses.summary(course) satisfies CourseResponse);
  }

  roster(req: IncomingMessage, res: ServerResponse): void {
    const course = this.#courseFromQuery(req, res);
    if (course === undefined) return;
    sendJson(res, 200, { course, students: this.#store.courses.roster(course) } satisfies RosterResponse);
  }

  async previewRoster(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonRequest(req, res, ROSTER_IMPORT_BODY_LIMIT_BYTES);
    if (body === undefined) return;
    const request = parseWith(RosterPreviewRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const table = readRosterTable(request.value.csv);
    if (!table.ok) return sendError(res, 400, 'roster_unreadable', table.error);
    sendJson(res, 200, previewRoster(request.value.course, table));
  }

  async importRoster(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonRequest(req, res, ROSTER_IMPORT_BODY_LIMIT_BYTES);
    if (body === undefined) return;
    const request = parseWith(RosterImportRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const { course, csv, mapping, remove_missing: removeMissing = false } = request.value;
    const table = readRosterTable(csv);
    if (!table.ok) return sendError(res, 400, 'roster_unreadable', table.error);
    const read = rosterStudents(table, mapping);
    if (!read.ok) return sendError(res, 400, 'bad_mapping', read.error);
    if (read.students.length === 0) {
      return sendError(res, 400, 'roster_empty', `no row has a valid student id in column "${mapping.student_id}": nothing was imported; check the mapping with POST /roster/preview`);
    }
    const counts = this.#store.importRoster(course, read.students, removeMissing, { atMs: this.#clock(), actor: 'professor', action: 'import_roster', detail: { course, rows: table.rows.length } });
    sendJson(res, 200, { course, ...counts, skipped: read.skipped, students: this.#store.courses.summary(course).roster_size } satisfies RosterImportResponse);
  }

  async mark(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonRequest(req, res);
    if (body === undefined) return;
    const request = parseWith(MarkRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const session = this.#store.getSession(request.value.session_id);
    if (!session) return sendError(res, 404, 'unknown_session', 'no session with this id on this validator');
    const change = this.recordMark(session, this.currentStatus(session, request.value.student_id, this.#clock()), request.value.status, request.value.note ?? null);
    sendJson(res, 200, change satisfies MarkResponse);
  }

  /** A student's status in the session now, with the roster's spelling of the id (undefined: not known to the session). */
  currentStatus(session: SessionRecord, studentId: string, nowMs: number): { studentId: string; status: StatusChange['before'] } {
    const { id_case: idCase } = this.#store.courses.settings(session.course);
    const key = studentKey(studentId, idCase);
    const current = statusesOf(this.#store, session, nowMs).students.find((student) => studentKey(student.student_id, idCase) === key);
    return { studentId: current?.student_id ?? studentId, status: current?.status ?? null };
  }

  /** Records a professor's change of a student's status (the audit trail, S4). `POST /override` records one too. */
  recordMark(session: SessionRecord, before: { studentId: string; status: StatusChange['before'] }, after: StatusChange['after'], note: string | null): StatusChange {
    const change: StatusChange = { session_id: session.id, student_id: before.studentId, at: this.#clock(), actor: 'professor', before: before.status, after, note };
    this.#store.addStatusMark(change, session.course);
    return change;
  }

  statuses(res: ServerResponse, session: SessionRecord): void {
    sendJson(res, 200, sessionStatusesView(this.#store, session, this.#clock()) satisfies SessionStatusesResponse);
  }

  async report(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const course = this.#courseFromQuery(req, res);
    if (course === undefined) return;
    if (!this.#store.courses.exists(course)) {
      return sendError(res, 404, 'unknown_course', `no course named ${JSON.stringify(course)}: it has no session, roster or settings yet (GET /courses lists them)`);
    }
    const query = queryOf(req);
    const format = parseWith(ReportFormatSchema, query.get('format') ?? 'json');
    if (!format.ok) return sendError(res, 400, 'invalid_request', `format: ${format.error}`);
    const timeZone = this.#timeZone(req, res);
    if (timeZone === undefined) return;
    // One session's part of the report (the session view's download), when asked.
    const onlySessionId = query.get('session_id') ?? undefined;
    if (onlySessionId !== undefined && this.#store.getSession(onlySessionId)?.course !== course) {
      return sendError(res, 404, 'unknown_session', `no session ${JSON.stringify(onlySessionId.slice(0, 40))} in ${course}`);
    }
    const nowMs = this.#clock();
    const report = courseReport(this.#store, course, timeZone, nowMs, onlySessionId);
    const fileBase = `${course.replace(/[^A-Za-z0-9_-]+/g, '_')}-${onlySessionId ? onlySessionId.slice(0, 8) : new Date(nowMs).toISOString().slice(0, 10)}`;
    const csv = (text: string, name: string) => send(res, 200, text, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${name}"` });
    switch (format.value) {
      case 'json':
        return sendJson(res, 200, report);
      case 'csv':
        return csv(reportStatusCsv(report), `attendance-${fileBase}.csv`);
      case 'rejected_csv': {
        const sessions = this.#store
          .listCourseSessions(course)
          .filter((session) => onlySessionId === undefined || session.id === onlySessionId)
          .sort((a, b) => a.startsAtS - b.startsAtS);
        const rejected = sessions.map((session) => ({ sessionId: session.id, startsAtS: session.startsAtS, rejected: this.#store.decisionsForSession(session.id).filter((decision) => decision.status === 'rejected') }));
        return csv(rejectedCsv(course, rejected, timeZone), `rejected-${fileBase}.csv`);
      }
      case 'moodle':
        return csv(moodleGradebookCsv(report), `moodle-grades-${fileBase}.csv`);
      case 'canvas':
        return csv(canvasGradebookCsv(report, this.#store.courses.roster(course)), `canvas-grades-${fileBase}.csv`);
      case 'xlsx': {
        const bytes = await reportXlsx(report);
        if (res.headersSent) return;
        res.writeHead(200, {
          'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          'content-disposition': `attachment; filename="attendance-${fileBase}.xlsx"`,
          'content-length': String(bytes.length),
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        res.end(bytes);
        return;
      }
    }
  }

  studentRecord(req: IncomingMessage, res: ServerResponse): void {
    const course = this.#courseFromQuery(req, res);
    if (course === undefined) return;
    const id = parseWith(studentIdSchema, queryOf(req).get('student_id') ?? '');
    if (!id.ok) return sendError(res, 400, 'invalid_request', `student_id: ${id.error}`);
    const timeZone = this.#timeZone(req, res);
    if (timeZone === undefined) return;
    const record = studentRecord(this.#store, course, id.value, timeZone, this.#clock());
    if (!record) return sendError(res, 404, 'unknown_student', `no student ${JSON.stringify(id.value)} in ${course}: not on its roster and never scanned or marked`);
    sendJson(res, 200, record);
  }

  async deleteSession(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonRequest(req, res);
    if (body === undefined) return;
    const request = parseWith(DeleteSessionRequestSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const session = this.#store.getSession(request.value.session_id);
    // A live session is taking scans now: deleting it would leave them without an answer.
    if (session && publicSession(session, this.#clock()).is_live) {
      return sendError(res, 409, 'session_live', 'this session is live: end it first (rollcall session end <id>), then delete it');
    }
    const outcome = this.#store.deleteSession(request.value.session_id);
    if (!outcome.ok && outcome.reason === 'unknown_session') return sendError(res, 404, 'unknown_session', 'no session with this id on this validator');
    if (!outcome.ok) return sendError(res, 409, 'has_acceptance', 'this session accepted a scan: it holds attendance and is kept (only sessions without any accepted scan, such as test sessions, can be deleted)');
    this.#store.audit({ atMs: this.#clock(), actor: 'professor', action: 'delete_session', sessionId: request.value.session_id, ...(session ? { course: session.course } : {}), detail: { session_id: request.value.session_id, course: session?.course ?? null, rejections_deleted: outcome.rejectionsDeleted } });
    sendJson(res, 200, { session_id: request.value.session_id, deleted: true, rejections_deleted: outcome.rejectionsDeleted } satisfies DeleteSessionResponse);
  }

  /** `GET /audit_log[?session_id=][&course=][&limit=][&before=]` (SPEC.md S9): newest first, a page at a time. */
  auditLog(req: IncomingMessage, res: ServerResponse): void {
    const query = queryOf(req);
    const filter: AuditFilter = { limit: AUDIT_PAGE_DEFAULT };
    const session = query.get('session_id');
    if (session !== null) {
      const id = parseWith(sessionIdSchema, session);
      if (!id.ok) return sendError(res, 400, 'invalid_request', `session_id: ${id.error}`);
      filter.sessionId = id.value;
    }
    const course = query.get('course');
    if (course !== null) {
      const name = parseWith(courseName, course);
      if (!name.ok) return sendError(res, 400, 'invalid_request', `course: ${name.error}`);
      filter.course = name.value;
    }
    const limit = wholeNumber(query.get('limit'), AUDIT_PAGE_MAX);
    if (limit === false) return sendError(res, 400, 'invalid_request', `limit: must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
    if (limit !== undefined) filter.limit = limit;
    const before = wholeNumber(query.get('before'), Number.MAX_SAFE_INTEGER);
    if (before === false) return sendError(res, 400, 'invalid_request', 'before: must be a whole number from 1 (the next_before of the page before)');
    if (before !== undefined) filter.beforeId = before;
    // One more than asked for tells whether an older page exists.
    const events = this.#store.auditPage({ ...filter, limit: filter.limit + 1 });
    const page = events.slice(0, filter.limit);
    sendJson(res, 200, {
      events: page.map((event) => ({ id: event.id, at: event.atMs, actor: event.actor, action: event.action, session_id: event.sessionId ?? null, detail: event.detail ?? {} })),
      next_before: events.length > filter.limit ? page[page.length - 1]!.id : null,
    } satisfies AuditLogResponse);
  }

  #courseFromQuery(req: IncomingMessage, res: ServerResponse): string | undefined {
    const course = parseWith(courseName, queryOf(req).get('course') ?? '');
    if (!course.ok) {
      sendError(res, 400, 'invalid_request', `course: ${course.error} (add ?course=<name> to the address)`);
      return undefined;
    }
    return course.value;
  }

  #timeZone(req: IncomingMessage, res: ServerResponse): string | undefined {
    const timeZone = queryOf(req).get('tz') ?? this.#defaultTimeZone;
    if (!isTimeZone(timeZone)) {
      sendError(res, 400, 'bad_time_zone', `tz: ${JSON.stringify(timeZone.slice(0, 64))} is not a time zone; use an IANA name such as Europe/Paris or UTC`);
      return undefined;
    }
    return timeZone;
  }
}

/** A query parameter that must be a whole number from 1 to `max`: undefined when absent, false when it is not one. */
function wholeNumber(text: string | null, max: number): number | undefined | false {
  if (text === null) return undefined;
  const value = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : Number.NaN;
  return value <= max ? value : false;
}
