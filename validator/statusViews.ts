/**
 * Statuses read from the store: the thin shell around the pure `sessionStatuses`, for the
 * session view (`GET /statuses/<id>`), the session list's counts, the term report and a
 * student's record. A course's roster and settings are read once per request, not per session.
 */
import type { CourseSettings, ReportResponse, SessionCounts, SessionStatusesResponse, StudentRecordResponse } from '../protocol/index.ts';
import { publicSession } from './sessions.ts';
import { studentKey } from './studentIds.ts';
import { sessionStatuses, statusSession, type RosterEntry, type SessionStatuses } from './studentStatus.ts';
import { buildTermReport } from './termReport.ts';
import type { SessionRecord } from './types.ts';
import type { ValidatorStore } from './ValidatorStore.ts';

/** What every session of one course shares: its settings and roster, read once. */
export interface CourseContext {
  settings: CourseSettings;
  roster: RosterEntry[];
}

export function courseContext(store: ValidatorStore, course: string): CourseContext {
  const roster = store.courses.roster(course).map((student) => ({ studentId: student.student_id, name: student.name, email: student.email }));
  return { settings: store.courses.settings(course), roster };
}

/** Reads each course's context once (for lists mixing courses). */
export function courseContexts(store: ValidatorStore): (course: string) => CourseContext {
  const known = new Map<string, CourseContext>();
  return (course) => {
    let context = known.get(course);
    if (!context) known.set(course, (context = courseContext(store, course)));
    return context;
  };
}

/** The statuses of one session's students now. */
export function statusesOf(store: ValidatorStore, session: SessionRecord, nowMs: number, context = courseContext(store, session.course)): SessionStatuses {
  return sessionStatuses({
    session: statusSession(session),
    settings: context.settings,
    roster: context.roster,
    decisions: store.decisionsForSession(session.id),
    marks: store.courses.marks(session.id),
    nowMs,
  });
}

export function sessionStatusesView(store: ValidatorStore, session: SessionRecord, nowMs: number): SessionStatusesResponse {
  const statuses = statusesOf(store, session, nowMs);
  return { session: publicSession(session, nowMs), ...statuses, changes: store.courses.marks(session.id) };
}

/** `GET /sessions` counts: decisions as before, plus the statuses of the course's students. */
export function sessionCounts(store: ValidatorStore, session: SessionRecord, nowMs: number, context = courseContext(store, session.course)): SessionCounts {
  const { counts } = statusesOf(store, session, nowMs, context);
  return { ...store.countDecisions(session.id), present: counts.present, late: counts.late, excused: counts.excused, absent: counts.absent };
}

/** Every session of the course (only `onlySessionId` when given), oldest first, with its statuses. */
function courseStatuses(store: ValidatorStore, course: string, nowMs: number, context: CourseContext, onlySessionId?: string) {
  return store
    .listCourseSessions(course)
    .filter((session) => onlySessionId === undefined || session.id === onlySessionId)
    .sort((a, b) => a.startsAtS - b.startsAtS || a.id.localeCompare(b.id))
    .map((session) => ({ session, statuses: statusesOf(store, session, nowMs, context) }));
}

function reportOf(store: ValidatorStore, course: string, timeZone: string, nowMs: number, context: CourseContext, sessions: ReturnType<typeof courseStatuses>): ReportResponse {
  return buildTermReport({
    course,
    settings: context.settings,
    roster: store.courses.roster(course),
    sessions: sessions.map(({ session, statuses }) => ({ sessionId: session.id, startsAtS: session.startsAtS, endsAtS: session.endsAtS, students: statuses.students })),
    timeZone,
    nowMs,
  });
}

/** The course's term report now, in `timeZone` (only the session `onlySessionId` when given). */
export function courseReport(store: ValidatorStore, course: string, timeZone: string, nowMs: number, onlySessionId?: string): ReportResponse {
  const context = courseContext(store, course);
  return reportOf(store, course, timeZone, nowMs, context, courseStatuses(store, course, nowMs, context, onlySessionId));
}

/** One student's term, session by session, with every change of their statuses; undefined when the course never heard of them. */
export function studentRecord(store: ValidatorStore, course: string, studentId: string, timeZone: string, nowMs: number): StudentRecordResponse | undefined {
  const context = courseContext(store, course);
  const keyOf = (id: string) => studentKey(id, context.settings.id_case);
  const key = keyOf(studentId);
  const sessions = courseStatuses(store, course, nowMs, context);
  const report = reportOf(store, course, timeZone, nowMs, context, sessions);
  const row = report.students.find((student) => keyOf(student.student_id) === key);
  if (!row) return undefined;
  const entries = sessions.flatMap(({ session, statuses }, index) => {
    const status = statuses.students.find((student) => keyOf(student.student_id) === key);
    return status ? [{ session: report.sessions[index]!, status }] : [];
  });
  const changes = sessions.flatMap(({ session }) => store.courses.marks(session.id).filter((mark) => keyOf(mark.student_id) === key));
  return {
    course,
    student: { student_id: row.student_id, name: row.name, email: row.email, on_roster: row.on_roster },
    sessions: entries,
    totals: row.totals,
    below_threshold: row.below_threshold,
    changes,
  };
}
