/** The term report and its files (pure): SPEC.md S5, the CSV and gradebook formats, the workbook. */
import { parse } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';
import { describe, expect, it } from 'vitest';
import type { AttendanceStatus, StudentStatus } from '../../protocol/index.ts';
import { DEFAULT_COURSE_SETTINGS } from '../../validator/CourseStore.ts';
import { canvasGradebookCsv, moodleGradebookCsv, rejectedCsv, reportStatusCsv, reportXlsx } from '../../validator/reportExports.ts';
import { buildTermReport, isTimeZone, localDateTime, totalsOf } from '../../validator/termReport.ts';

const START_S = 1_700_000_000; // 2023-11-14 22:13:20 UTC

function status(studentId: string, value: AttendanceStatus | null, provisional = false): StudentStatus {
  const points = value === null ? null : DEFAULT_COURSE_SETTINGS.points[value];
  return { student_id: studentId, name: null, on_roster: true, status: value, provisional, source: 'scan', points, scan: null, note: null };
}

const roster = [
  { student_id: 'A1', name: 'Ada', email: 'ada@example.edu', section: 'S1' },
  { student_id: 'B2', name: 'Bob', email: 'bob@example.edu', section: 'S2' },
  { student_id: '=cmd', name: '@evil', email: null, section: null },
];

function report() {
  return buildTermReport({
    course: 'Networks',
    settings: DEFAULT_COURSE_SETTINGS,
    roster,
    // Given newest first: the report sorts them oldest first.
    sessions: [
      { sessionId: 's2', startsAtS: START_S + 86_400, endsAtS: START_S + 90_000, students: [status('A1', 'late'), status('B2', 'absent', true), status('=cmd', 'present')] },
      { sessionId: 's1', startsAtS: START_S, endsAtS: START_S + 3600, students: [status('A1', 'present'), status('B2', 'excused'), status('=cmd', 'absent'), { ...status('Z9', 'present'), on_roster: false }] },
    ],
    timeZone: 'Europe/Paris',
    nowMs: (START_S + 100_000) * 1000,
  });
}

describe('term report', () => {
  it('[S5] totals: points over possible, excused not counted, null statuses skipped; percent to 0.1', () => {
    const points = DEFAULT_COURSE_SETTINGS.points;
    const cell = (value: AttendanceStatus | null) => ({ status: value, provisional: false, points: value === null ? null : points[value] });
    expect(totalsOf([cell('present'), cell('late'), cell('absent')], points)).toEqual({ present: 1, late: 1, excused: 0, absent: 1, points: 3, possible: 6, percent: 50 });
    expect(totalsOf([cell('excused'), cell(null)], points)).toMatchObject({ excused: 1, possible: 0, percent: null });
    expect(totalsOf([cell('present'), cell('present'), cell('late')], points).percent).toBe(83.3);
  });

  it('[S5] students × sessions oldest first, those under the threshold first (lowest first), provisional marks counted', () => {
    const result = report();
    expect(result.sessions.map((session) => session.session_id)).toEqual(['s1', 's2']);
    expect(result.sessions[0]!.local_start).toBe('2023-11-14 23:13');
    expect(result.sessions.map((session) => session.provisional)).toEqual([false, true]);
    expect(result.students.map((student) => [student.student_id, student.totals.percent, student.below_threshold])).toEqual([
      ['B2', 0, true],
      ['=cmd', 50, true],
      ['A1', 75, true],
      ['Z9', 100, false],
    ]);
    expect(result.students.find((student) => student.student_id === 'Z9')!.cells).toEqual([
      { status: 'present', provisional: false, points: 2 },
      { status: null, provisional: false, points: null },
    ]);
    expect(result.provisional_marks).toBe(1);
  });

  it('local times and time zones', () => {
    expect(localDateTime(START_S * 1000, 'UTC')).toBe('2023-11-14 22:13');
    expect(localDateTime(START_S * 1000, 'America/New_York')).toBe('2023-11-14 17:13');
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('the status CSV: course, session date local and ISO, status, points; no rejected rows; formulas defused', () => {
    const rows = parse(reportStatusCsv(report()), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['course', 'session_date', 'session_start_local', 'session_start_iso', 'session_id', 'student_id', 'name', 'status', 'points', 'provisional']);
    expect(rows.find((row) => row.student_id === 'A1' && row.session_id === 's1')).toMatchObject({ course: 'Networks', session_date: '2023-11-14', session_start_local: '2023-11-14 23:13', session_start_iso: '2023-11-14T22:13:20.000Z', status: 'present', points: '2', provisional: 'no' });
    expect(rows.find((row) => row.student_id === 'B2' && row.session_id === 's1')).toMatchObject({ status: 'excused', points: '' });
    expect(rows.find((row) => row.student_id === 'B2' && row.session_id === 's2')).toMatchObject({ status: 'absent', provisional: 'yes' });
    expect(rows.some((row) => row.student_id === "'=cmd")).toBe(true);
    expect(rows.some((row) => row.student_id === 'Z9' && row.session_id === 's2')).toBe(false);
  });

  it('the rejected CSV is apart, with the reason and both times', () => {
    const csv = rejectedCsv('Networks', [{ sessionId: 's1', startsAtS: START_S, rejected: [{ nonce: 'n', sessionId: 's1', via: 'direct', status: 'rejected', reason: 'stale_qr', flags: [], studentId: '+1', firstSeenMs: START_S * 1000, decidedAtMs: START_S * 1000, clientAddress: '10.0.0.5' }] }], 'UTC');
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows).toEqual([expect.objectContaining({ course: 'Networks', session_id: 's1', student_id: "'+1", reason: 'stale_qr', via: 'direct', decided_at_local: '2023-11-14 22:13', decided_at_iso: '2023-11-14T22:13:20.000Z', address: '10.0.0.5' })]);
  });

  it('Moodle gradebook CSV: an identifying column per user field and one grade item column (roster students only)', () => {
    const rows = parse(moodleGradebookCsv(report()), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['ID number', 'Email address', 'Full name', 'Attendance (Networks)']);
    expect(rows.map((row) => [row['ID number'], row['Attendance (Networks)']])).toEqual([
      ["'=cmd", '50'],
      ['A1', '75'],
      ['B2', '0'],
    ]);
    expect(rows.find((row) => row['ID number'] === 'A1')!['Email address']).toBe('ada@example.edu');
  });

  it('Canvas gradebook CSV: Student, ID, SIS User ID, SIS Login ID, Section, the assignment, and a Points Possible row', () => {
    const lines = parse(canvasGradebookCsv(report(), roster)) as string[][];
    expect(lines[0]).toEqual(['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', 'Attendance (Networks)']);
    expect(lines[1]).toEqual(['Points Possible', '', '', '', '', '100']);
    expect(lines.find((line) => line[2] === 'A1')).toEqual(['Ada', '', 'A1', '', 'S1', '75']);
  });

  it('the workbook opens as an .xlsx with the grid and totals', async () => {
    const bytes = await reportXlsx(report());
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    const sheet = await readSheet(bytes, 'Term');
    expect(sheet[0]!.slice(0, 4)).toEqual(['Student id', 'Name', '2023-11-14 23:13', '2023-11-15 23:13']);
    const b2 = sheet.find((row) => row[0] === 'B2')!;
    expect(b2.slice(2, 4)).toEqual(['excused', 'absent (provisional)']);
    expect(b2.at(-1)).toBe('yes');
  });
});
