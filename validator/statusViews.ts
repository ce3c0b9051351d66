/**
 * Statuses read from the store: the thin shell around the pure `sessionStatuses`, for the
 * session view (`GET /statuses/<id>`), the session list's counts and the term report.
 */
import type { SessionCounts, SessionStatusesResponse } from '../protocol/index.ts';
import { publicSession } from './sessions.ts';
import { lateAfterMinutes } from './sessionTimes.ts';
import { sessionStatuses, type SessionStatuses } from './studentStatus.ts';
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
