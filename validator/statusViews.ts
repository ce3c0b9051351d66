/**
 * Statuses read from the store: the thin shell around the pure `sessionStatuses`, for the
 * session view (`GET /statuses/<id>`), the session list's counts and the term report.
 */
import type { ReportResponse, SessionCounts, SessionStatusesResponse, StudentRecordResponse } from '../protocol/index.ts';
import { publicSession } from './sessions.ts';
import { lateAfterMinutes } from './sessionTimes.ts';
import { studentKey } from './studentIds.ts';
import { sessionStatuses, type SessionStatuses } from './studentStatus.ts';
import { buildTermReport } from './termReport.ts';
import type { SessionRecord } from './types.ts';
import type { ValidatorStore } from './ValidatorStore.ts';

/** The statuses of one session's students now. */
export function statusesOf(store: ValidatorStore, session: SessionRecord, nowMs: number): SessionStatuses {
  const settings = store.courses.settings(session.course);
  return sessionStatuses({
    session: { ...session, lateAfterMinutes: lateAfterMinutes(session) },
    settings,
    roster: store.courses.roster(session.course).map((student) => ({ studentId: student.student_id, name: student.name, email: student.email })),
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
export function sessionCounts(store: ValidatorStore, session: SessionRecord, nowMs: number): SessionCounts {
  const { counts } = statusesOf(store, session, nowMs);
  return { ...store.countDecisions(session.id), present: counts.present, late: counts.late, excused: counts.excused, absent: counts.absent };
}

/** The course's term report now, in `timeZone`. */
export function courseReport(store: ValidatorStore, course: string, timeZone: string, nowMs: number): ReportResponse {
  return buildTermReport({
    course,
    settings: store.courses.settings(course),
    roster: store.courses.roster(course),
    sessions: store.listCourseSessions(course).map((session) => ({
      sessionId: session.id,
      startsAtS: session.startsAtS,
      endsAtS: session.endsAtS,
      students: statusesOf(store, session, nowMs).students,
    })),
    timeZone,
    nowMs,
  });
}

/** One student's term, session by session, with every change of their statuses; undefined when the course never heard of them. */
export function studentRecord(store: ValidatorStore, course: string, studentId: string, timeZone: string, nowMs: number): StudentRecordResponse | undefined {
  const settings = store.courses.settings(course);
  const key = studentKey(studentId, settings.id_case);
  const report = courseReport(store, course, timeZone, nowMs);
  const row = report.students.find((student) => studentKey(student.student_id, settings.id_case) === key);
  if (!row) return undefined;
  const sessions = store.listCourseSessions(course).sort((a, b) => a.startsAtS - b.startsAtS || a.id.localeCompare(b.id));
  const entries = sessions.flatMap((session) => {
    const status = statusesOf(store, session, nowMs).students.find((student) => studentKey(student.student_id, settings.id_case) === key);
    const reportSession = report.sessions.find((candidate) => candidate.session_id === session.id)!;
    return status ? [{ session: reportSession, status }] : [];
  });
  const changes = sessions.flatMap((session) => store.courses.marks(session.id).filter((mark) => studentKey(mark.student_id, settings.id_case) === key));
  return {
    course,
    student: { student_id: row.student_id, name: row.name, email: row.email, on_roster: row.on_roster },
    sessions: entries,
    totals: row.totals,
    below_threshold: row.below_threshold,
    changes,
  };
}
