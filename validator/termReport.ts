/**
 * The term report (pure): students × sessions with statuses, totals and a percentage per
 * student, those under the course's threshold first (docs/SPEC.md S5). Points follow the
 * course's table; a status whose points are null (excused, by default) counts neither as earned
 * nor as possible, as Moodle's attendance module does.
 */
import type { CourseSettings, ReportCell, ReportResponse, ReportStudent, ReportTotals, RosterStudent, StudentStatus } from '../protocol/index.ts';
import { studentKey } from './studentIds.ts';

export interface ReportSessionInput {
  sessionId: string;
  startsAtS: number;
  endsAtS: number;
  /** Every student of the session with a status (sessionStatuses' answer). */
  students: readonly StudentStatus[];
}

export interface TermReportInput {
  course: string;
  settings: CourseSettings;
  roster: readonly RosterStudent[];
  /** Any order: the report lists sessions oldest first. */
  sessions: readonly ReportSessionInput[];
  timeZone: string;
  nowMs: number;
}

/** Whether `timeZone` is an IANA zone this runtime knows (e.g. Europe/Paris, UTC). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone.length > 0 && timeZone.length <= 64;
  } catch {
    return false;
  }
}

/** `YYYY-MM-DD HH:mm` in `timeZone`. */
export function localDateTime(ms: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(ms)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Totals of one student's cells; percent rounded to 0.1, null when nothing counted yet. */
export function totalsOf(cells: readonly ReportCell[], points: CourseSettings['points']): ReportTotals {
  const totals: ReportTotals = { present: 0, late: 0, excused: 0, absent: 0, points: 0, possible: 0, percent: null };
  for (const cell of cells) {
    if (cell.status === null) continue;
    totals[cell.status]++;
    if (cell.points === null) continue;
    totals.points += cell.points;
    totals.possible += points.present;
  }
  totals.percent = totals.possible > 0 ? Math.round((totals.points / totals.possible) * 1000) / 10 : null;
  return totals;
}

export function isBelowThreshold(totals: ReportTotals, settings: Pick<CourseSettings, 'threshold_percent'>): boolean {
  return totals.percent !== null && totals.percent < settings.threshold_percent;
}

export function buildTermReport(input: TermReportInput): ReportResponse {
  const { settings } = input;
  const keyOf = (id: string) => studentKey(id, settings.id_case);
  const sessions = [...input.sessions].sort((a, b) => a.startsAtS - b.startsAtS || a.sessionId.localeCompare(b.sessionId));

  const people = new Map<string, { student_id: string; name: string | null; email: string | null; on_roster: boolean }>();
  for (const student of input.roster) people.set(keyOf(student.student_id), { student_id: student.student_id, name: student.name, email: student.email, on_roster: true });
  const statusBySession = sessions.map((session) => new Map(session.students.map((student) => [keyOf(student.student_id), student])));
  for (const byKey of statusBySession) {
    for (const [key, student] of byKey) {
      if (!people.has(key)) people.set(key, { student_id: student.student_id, name: student.name, email: null, on_roster: student.on_roster });
    }
  }

  let provisionalMarks = 0;
  const students = [...people].map(([key, person]): ReportStudent => {
    const cells = statusBySession.map((byKey): ReportCell => {
      const student = byKey.get(key);
      if (student?.provisional) provisionalMarks++;
      return student ? { status: student.status, provisional: student.provisional, points: student.points } : { status: null, provisional: false, points: null };
    });
    const totals = totalsOf(cells, settings.points);
    return { ...person, cells, totals, below_threshold: isBelowThreshold(totals, settings) };
  });
  students.sort((a, b) => {
    if (a.below_threshold !== b.below_threshold) return a.below_threshold ? -1 : 1;
    if (a.below_threshold && a.totals.percent !== b.totals.percent) return (a.totals.percent ?? 0) - (b.totals.percent ?? 0);
    return a.student_id.localeCompare(b.student_id);
  });

  return {
    course: input.course,
    settings,
    time_zone: input.timeZone,
    generated_at: input.nowMs,
    sessions: sessions.map((session, index) => ({
      session_id: session.sessionId,
      starts_at: session.startsAtS,
      ends_at: session.endsAtS,
      local_start: localDateTime(session.startsAtS * 1000, input.timeZone),
      provisional: [...statusBySession[index]!.values()].some((student) => student.provisional),
    })),
    students,
    provisional_marks: provisionalMarks,
  };
}
