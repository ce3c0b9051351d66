/** The statuses of a session's students (pure): SPEC.md "Statuses", S1–S4 and S6, as tables. */
import { describe, expect, it } from 'vitest';
import type { StatusChange } from '../../protocol/index.ts';
import type { Decision } from '../../validator/index.ts';
import { DEFAULT_COURSE_SETTINGS } from '../../validator/CourseStore.ts';
import { scanStatus, sessionStatuses, type SessionStatusInput, type StatusSession } from '../../validator/studentStatus.ts';
import { studentKey } from '../../validator/studentIds.ts';

const START_S = 1_700_000_000;
const END_S = START_S + 3600;
const session: StatusSession = { startsAtS: START_S, endsAtS: END_S, lateSyncMinutes: 60, rotateSeconds: 10, lateAfterMinutes: 10 };
const DURING_MS = (START_S + 60) * 1000;
const AFTER_END_MS = (END_S + 60) * 1000;
const AFTER_LATE_SYNC_MS = (END_S + 61 * 60) * 1000;

let nonce = 0;
function scan(studentId: string, overrides: Partial<Decision> = {}): Decision {
  const scannedAtMs = overrides.scannedAtMs ?? DURING_MS;
  return { nonce: `n${nonce++}`, sessionId: 's', via: 'sync', status: 'accepted', reason: 'ok', flags: [], studentId, deviceKey: 'd', slotS: START_S, scannedAtMs, firstSeenMs: scannedAtMs, decidedAtMs: scannedAtMs, ...overrides };
}

function mark(studentId: string, after: StatusChange['after'], at: number, note: string | null = null): StatusChange {
  return { session_id: 's', student_id: studentId, at, actor: 'professor', before: null, after, note };
}

function statuses(overrides: Partial<SessionStatusInput>) {
  return sessionStatuses({
    session,
    settings: DEFAULT_COURSE_SETTINGS,
    roster: [
      { studentId: '2022IMT-048', name: 'Ada', email: null },
      { studentId: '2022IMT-050', name: 'Alan', email: null },
    ],
    decisions: [],
    marks: [],
    nowMs: AFTER_END_MS,
    ...overrides,
  });
}

const byId = (result: ReturnType<typeof statuses>, id: string) => result.students.find((student) => student.student_id === id)!;

describe('statuses', () => {
  it('[S2] a scan up to late_after_minutes is present, a later one late; a manual acceptance is present; no late rule: present', () => {
    const lateFromMs = (START_S + 600) * 1000;
    const table: [string, Decision, StatusSession, 'present' | 'late'][] = [
      ['at the start', scan('A', { scannedAtMs: START_S * 1000 }), session, 'present'],
      ['exactly at the limit', scan('A', { scannedAtMs: lateFromMs }), session, 'present'],
      ['1 ms after the limit', scan('A', { scannedAtMs: lateFromMs + 1, slotS: START_S + 600 }), session, 'late'],
      ['a phone clock set back, but the rotating QR was shown after the limit', scan('A', { scannedAtMs: START_S * 1000, slotS: START_S + 610 }), session, 'late'],
      ['a static QR: the slot says nothing of the scan time', scan('A', { scannedAtMs: lateFromMs - 1, slotS: END_S }), { ...session, rotateSeconds: 0 }, 'present'],
      ['a manual acceptance late in the session', scan('A', { via: 'manual', scannedAtMs: lateFromMs + 60_000 }), session, 'present'],
      ['a session without a late rule', scan('A', { scannedAtMs: END_S * 1000 }), { ...session, lateAfterMinutes: null }, 'present'],
    ];
    for (const [what, decision, rules, expected] of table) expect(scanStatus(decision, rules), what).toBe(expected);
  });

  it('[S3] no scan: no status while live, absent (provisional) after the end, absent for good after late_sync_minutes', () => {
    const live = statuses({ nowMs: DURING_MS });
    expect(byId(live, '2022IMT-048')).toMatchObject({ status: null, provisional: false, source: 'no_scan', points: null });
    expect(live.counts).toMatchObject({ pending: 2, absent: 0 });
    const ended = statuses({ nowMs: AFTER_END_MS });
    expect(byId(ended, '2022IMT-048')).toMatchObject({ status: 'absent', provisional: true, points: 0 });
    expect(ended.counts).toMatchObject({ absent: 2, provisional: 2, pending: 0 });
    const final = statuses({ nowMs: AFTER_LATE_SYNC_MS });
    expect(byId(final, '2022IMT-048')).toMatchObject({ status: 'absent', provisional: false });
    expect(final.counts.provisional).toBe(0);
  });

  it('[S3] an end_session to the millisecond: absent from that instant, not from the next second', () => {
    const endedEarlyAtMs = (START_S + 1200) * 1000 + 300;
    const early = { ...session, endsAtS: START_S + 1200, endedEarlyAtMs };
    expect(byId(statuses({ session: early, nowMs: endedEarlyAtMs - 1 }), '2022IMT-048').status).toBeNull();
    expect(byId(statuses({ session: early, nowMs: endedEarlyAtMs }), '2022IMT-048').status).toBe('absent');
  });

  it('[S3] an offline scan synced after the end turns the provisional absence into present, with its flag', () => {
    const synced = scan('2022IMT-048', { scannedAtMs: DURING_MS, firstSeenMs: AFTER_END_MS, decidedAtMs: AFTER_END_MS, flags: ['delayed_sync'] });
    const result = statuses({ decisions: [synced] });
    expect(byId(result, '2022IMT-048')).toMatchObject({ status: 'present', provisional: false, source: 'scan', scan: { flags: ['delayed_sync'], scanned_at: DURING_MS } });
    expect(byId(result, '2022IMT-050')).toMatchObject({ status: 'absent', provisional: true });
    expect(result.review).toEqual([expect.objectContaining({ student_id: '2022IMT-048', flags: ['delayed_sync'], status: 'present', resolved: null })]);
  });

  it('[S3] a revoked acceptance and a rejection are no scan', () => {
    const result = statuses({ decisions: [scan('2022IMT-048', { revokedAtMs: DURING_MS + 1 }), scan('2022IMT-050', { status: 'rejected', reason: 'stale_qr' })] });
    expect(result.students.map((student) => student.status)).toEqual(['absent', 'absent']);
  });

  it('[S4] the latest mark wins over scans and absences; a review item is resolved by a mark made after the scan', () => {
    const flagged = scan('2022IMT-048', { flags: ['new_device'] });
    const result = statuses({
      decisions: [flagged],
      marks: [mark('2022IMT-048', 'absent', DURING_MS + 1, 'friend scanned'), mark('2022IMT-050', 'absent', DURING_MS + 2), mark('2022IMT-050', 'excused', DURING_MS + 3, 'doctor')],
    });
    expect(byId(result, '2022IMT-048')).toMatchObject({ status: 'absent', source: 'mark', note: 'friend scanned', provisional: false });
    expect(byId(result, '2022IMT-050')).toMatchObject({ status: 'excused', source: 'mark', note: 'doctor', points: null });
    expect(result.review[0]!.resolved).toMatchObject({ after: 'absent', note: 'friend scanned' });
    const before = statuses({ decisions: [{ ...flagged, decidedAtMs: DURING_MS + 10 }], marks: [mark('2022IMT-048', 'present', DURING_MS)] });
    expect(before.review[0]!.resolved).toBeNull();
  });

  it('[S1] points follow the course: defaults 2 / 1 / not counted / 0, or percentages', () => {
    const scans = [scan('2022IMT-048', { scannedAtMs: DURING_MS }), scan('2022IMT-050', { scannedAtMs: (START_S + 900) * 1000, slotS: START_S + 900 })];
    expect(statuses({ decisions: scans }).students.map((student) => [student.status, student.points])).toEqual([
      ['present', 2],
      ['late', 1],
    ]);
    const percent = { ...DEFAULT_COURSE_SETTINGS, points: { present: 100, late: 50, excused: null, absent: 0 } };
    expect(statuses({ decisions: scans, settings: percent }).students.map((student) => student.points)).toEqual([100, 50]);
  });

  it('[S6] ids compare trimmed, in NFC and (by default) without case; the roster spelling is shown; off-roster scans are listed', () => {
    const nfd = 'Jose\u0301';
    expect(studentKey(` ${nfd} `, 'insensitive')).toBe(studentKey('JOSÉ', 'insensitive'));
    expect(studentKey(nfd, 'sensitive')).toBe('José');
    expect(studentKey('jose', 'sensitive')).not.toBe(studentKey('Jose', 'sensitive'));
    const result = statuses({
      roster: [{ studentId: 'José', name: null, email: null }],
      decisions: [scan('josé'), scan('2022IMT-999')],
    });
    expect(result.students).toEqual([
      expect.objectContaining({ student_id: '2022IMT-999', on_roster: false, status: 'present' }),
      expect.objectContaining({ student_id: 'José', on_roster: true, status: 'present' }),
    ]);
    const sensitive = statuses({ settings: { ...DEFAULT_COURSE_SETTINGS, id_case: 'sensitive' }, roster: [{ studentId: 'José', name: null, email: null }], decisions: [scan('josé')] });
    expect(sensitive.students.map((student) => [student.student_id, student.status])).toEqual([
      ['josé', 'present'],
      ['José', 'absent'],
    ]);
  });
});
