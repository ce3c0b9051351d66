/**
 * The term report as files: a status CSV (one row per student and session, with the course,
 * the session's date in local time and in ISO 8601, status and points), the rejected
 * submissions on their own, gradebook CSVs for Moodle's "Import grades from CSV" and Canvas's
 * gradebook import, and an .xlsx workbook. Cells a spreadsheet would run as formulas are
 * defused (student ids and notes are untrusted).
 */
import { stringify } from 'csv-stringify/sync';
import writeXlsxFile from 'write-excel-file/node';
import type { ReportResponse, RosterStudent } from '../protocol/index.ts';
import { localDateTime } from './termReport.ts';
import type { Decision } from './types.ts';

/** Spreadsheets run cells that start with these as formulas; student ids are untrusted. */
export function csvSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One row per student and session with a status. */
export function reportStatusCsv(report: ReportResponse): string {
  const rows: string[][] = [];
  for (const student of report.students) {
    student.cells.forEach((cell, index) => {
      const session = report.sessions[index]!;
      if (cell.status === null) return;
      rows.push([
        csvSafe(report.course),
        session.local_start.slice(0, 10),
        session.local_start,
        iso(session.starts_at * 1000),
        session.session_id,
        csvSafe(student.student_id),
        csvSafe(student.name ?? ''),
        cell.status,
        cell.points === null ? '' : String(cell.points),
        cell.provisional ? 'yes' : 'no',
      ]);
    });
  }
  return stringify(rows, {
    header: true,
    columns: ['course', 'session_date', 'session_start_local', 'session_start_iso', 'session_id', 'student_id', 'name', 'status', 'points', 'provisional'],
  });
}

/** The rejected submissions of the course's sessions, apart from the statuses. */
export function rejectedCsv(course: string, sessions: readonly { sessionId: string; startsAtS: number; rejected: readonly Decision[] }[], timeZone: string): string {
  const rows = sessions.flatMap((session) =>
    session.rejected.map((decision) => [
      csvSafe(course),
      localDateTime(session.startsAtS * 1000, timeZone),
      iso(session.startsAtS * 1000),
      session.sessionId,
      csvSafe(decision.studentId ?? ''),
      decision.reason,
      decision.via,
      localDateTime(decision.decidedAtMs, timeZone),
      iso(decision.decidedAtMs),
      decision.flags.join(' '),
      decision.deviceKey ?? '',
      decision.clientAddress ?? '',
      csvSafe(decision.note ?? ''),
    ]),
  );
  return stringify(rows, {
    header: true,
    columns: ['course', 'session_start_local', 'session_start_iso', 'session_id', 'student_id', 'reason', 'via', 'decided_at_local', 'decided_at_iso', 'flags', 'device', 'address', 'note'],
  });
}

/** Gradebooks get the roster's students (an unknown user stops an LMS import); without a roster, everyone. */
function gradebookStudents(report: ReportResponse) {
  const onRoster = report.students.filter((student) => student.on_roster);
  return (onRoster.length > 0 ? onRoster : report.students).slice().sort((a, b) => a.student_id.localeCompare(b.student_id));
}

const percentText = (percent: number | null) => (percent === null ? '' : String(percent));

/** The grade item's column name: the course and "Attendance". */
export function gradeItemName(course: string): string {
  return `Attendance (${course.replace(/[(),"]/g, ' ').trim()})`;
}

/**
 * Moodle's "Import grades from CSV": a column identifying the user (map "ID number" to the
 * user's idnumber, or "Email address" to email) and one column per grade item: the attendance
 * percentage (a grade item out of 100).
 */
export function moodleGradebookCsv(report: ReportResponse): string {
  const rows = gradebookStudents(report).map((student) => [csvSafe(student.student_id), csvSafe(student.email ?? ''), csvSafe(student.name ?? ''), percentText(student.totals.percent)]);
  return stringify(rows, { header: true, columns: ['ID number', 'Email address', 'Full name', gradeItemName(report.course)] });
}

/**
 * Canvas's gradebook import: `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, then
 * one column per assignment and a "Points Possible" row. A column without a Canvas id
 * (`Name`, not `Name (123)`) becomes a new assignment on import. Students are matched on
 * `SIS User ID` (the roster's id); `ID` (Canvas's own) is left empty.
 */
export function canvasGradebookCsv(report: ReportResponse, roster: readonly RosterStudent[]): string {
  const sections = new Map(roster.map((student) => [student.student_id, student.section ?? '']));
  const rows = [
    ['Points Possible', '', '', '', '', '100'],
    ...gradebookStudents(report).map((student) => [csvSafe(student.name ?? student.student_id), '', csvSafe(student.student_id), '', csvSafe(sections.get(student.student_id) ?? ''), percentText(student.totals.percent)]),
  ];
  return stringify(rows, { header: true, columns: ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', gradeItemName(report.course)] });
}

/** The report as a workbook: one sheet students × sessions with totals, one sheet of statuses. */
export async function reportXlsx(report: ReportResponse): Promise<Buffer> {
  const bold = { fontWeight: 'bold' as const };
  const header = ['Student id', 'Name', ...report.sessions.map((session) => session.local_start), 'Present', 'Late', 'Excused', 'Absent', 'Points', 'Possible', '%', 'Below threshold'].map((value) => ({ value, ...bold }));
  const grid = report.students.map((student) => [
    student.student_id,
    student.name ?? '',
    ...student.cells.map((cell) => (cell.status === null ? '' : `${cell.status}${cell.provisional ? ' (provisional)' : ''}`)),
    student.totals.present,
    student.totals.late,
    student.totals.excused,
    student.totals.absent,
    student.totals.points,
    student.totals.possible,
    student.totals.percent ?? '',
    student.below_threshold ? 'yes' : '',
  ]);
  return writeXlsxFile([{ sheet: 'Term', data: [header, ...grid] }]).toBuffer();
}
