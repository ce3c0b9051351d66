/**
 * A session's students and their statuses (docs/SPEC.md "Statuses", S1–S6) as one pure function
 * of the session, its roster, its decisions, the professor's marks and the clock. Nothing is
 * written when a session ends: an absence is what the absence of a scan means once the session
 * is over, so an offline scan that syncs later (before `late_sync_minutes` runs out) turns it into
 * present or late by itself, and the answer says which absences may still change.
 */
import type { AttendanceStatus, CourseSettings, ReviewItem, StatusChange, StatusCounts, StudentStatus } from '../protocol/index.ts';
import { lateAfterMinutes, provisionalUntilMs, sessionEndMs } from './sessionTimes.ts';
import { studentKey } from './studentIds.ts';
import type { Decision, SessionRecord } from './types.ts';

/** A roster row as the status functions need it. */
export interface RosterEntry {
  studentId: string;
  name: string | null;
  email: string | null;
}

/** The parts of a session the statuses depend on. */
export type StatusSession = Pick<SessionRecord, 'startsAtS' | 'endsAtS' | 'lateSyncMinutes' | 'rotateSeconds'> & {
  endedEarlyAtMs?: number | undefined;
  lateAfterMinutes: number | null;
};

/** A stored session as the status functions read it (its late rule taken from its options). */
export function statusSession(session: SessionRecord): StatusSession {
  return { ...session, lateAfterMinutes: lateAfterMinutes(session) };
}

export interface SessionStatusInput {
  session: StatusSession;
  settings: Pick<CourseSettings, 'points' | 'id_case'>;
  roster: readonly RosterEntry[];
  decisions: readonly Decision[];
  /** The session's marks, oldest first. */
  marks: readonly StatusChange[];
  nowMs: number;
}

export interface SessionStatuses {
  students: StudentStatus[];
  counts: StatusCounts;
  review: ReviewItem[];
}

/**
 * When a scan happened, as far as the validator can tell: the phone's clock (sync) or the
 * server's receive time (direct), never earlier than the start of the rotating QR's slot (a QR
 * cannot be scanned before it was shown, whatever the phone's clock says).
 */
export function scanTimeMs(decision: Decision, session: Pick<StatusSession, 'rotateSeconds'>): number {
  const claimed = decision.scannedAtMs ?? decision.decidedAtMs;
  return session.rotateSeconds > 0 && decision.slotS !== undefined ? Math.max(claimed, decision.slotS * 1000) : claimed;
}

/** [S2] present or late: late when scanned after start + late_after_minutes. A manual acceptance is present. */
export function scanStatus(decision: Decision, session: StatusSession): 'present' | 'late' {
  if (decision.via === 'manual' || session.lateAfterMinutes === null) return 'present';
  const lateFromMs = session.startsAtS * 1000 + session.lateAfterMinutes * 60_000;
  return scanTimeMs(decision, session) > lateFromMs ? 'late' : 'present';
}

/** The points a status earns under the course's table (null: not counted, or no status). */
export function statusPoints(status: AttendanceStatus | null, points: CourseSettings['points']): number | null {
  return status === null ? null : points[status];
}

export function sessionStatuses(input: SessionStatusInput): SessionStatuses {
  const { session, settings, nowMs } = input;
  const keyOf = (id: string) => studentKey(id, settings.id_case);
  const hasEnded = nowMs >= sessionEndMs(session);
  const isProvisional = hasEnded && nowMs < provisionalUntilMs(session);

  const rosterByKey = new Map(input.roster.map((entry) => [keyOf(entry.studentId), entry]));
  const scanByKey = new Map<string, Decision>();
  for (const decision of input.decisions) {
    if (decision.status !== 'accepted' || decision.revokedAtMs !== undefined || decision.studentId === undefined) continue;
    const key = keyOf(decision.studentId);
    const earlier = scanByKey.get(key);
    if (!earlier || decision.decidedAtMs < earlier.decidedAtMs) scanByKey.set(key, decision);
  }
  const markByKey = new Map<string, StatusChange>();
  for (const mark of input.marks) markByKey.set(keyOf(mark.student_id), mark);

  const keys = [...new Set([...rosterByKey.keys(), ...scanByKey.keys(), ...markByKey.keys()])];
  const students = keys.map((key): StudentStatus => {
    const rosterEntry = rosterByKey.get(key);
    const scan = scanByKey.get(key);
    const mark = markByKey.get(key);
    let status: AttendanceStatus | null = null;
    let source: StudentStatus['source'] = 'no_scan';
    let provisional = false;
    if (mark) {
      status = mark.after;
      source = 'mark';
    } else if (scan) {
      status = scanStatus(scan, session);
      source = 'scan';
    } else if (hasEnded) {
      status = 'absent';
      provisional = isProvisional;
    }
    return {
      student_id: rosterEntry?.studentId ?? scan?.studentId ?? mark?.student_id ?? key,
      name: rosterEntry?.name ?? null,
      on_roster: rosterEntry !== undefined,
      status,
      provisional,
      source,
      points: statusPoints(status, settings.points),
      scan: scan
        ? { decided_at: scan.decidedAtMs, scanned_at: scan.scannedAtMs ?? null, via: scan.via, flags: scan.flags, address: scan.clientAddress ?? null }
        : null,
      note: mark?.note ?? null,
    };
  });
  students.sort((a, b) => a.student_id.localeCompare(b.student_id));

  const counts: StatusCounts = { present: 0, late: 0, excused: 0, absent: 0, pending: 0, provisional: 0 };
  for (const student of students) {
    if (student.status === null) counts.pending++;
    else counts[student.status]++;
    if (student.provisional) counts.provisional++;
  }

  const review = students.flatMap((student): ReviewItem[] => {
    if (!student.scan || student.scan.flags.length === 0) return [];
    const mark = markByKey.get(keyOf(student.student_id));
    return [
      {
        student_id: student.student_id,
        flags: student.scan.flags,
        decided_at: student.scan.decided_at,
        via: student.scan.via,
        address: student.scan.address,
        status: student.status,
        resolved: mark && mark.at >= student.scan.decided_at ? mark : null,
      },
    ];
  });
  return { students, counts, review };
}
