/** `rollcall report`: the term report of a course (table, CSV, .xlsx, gradebook CSVs) and one student's record. */
import { writeFileSync } from 'node:fs';
import { ReportResponseSchema, StudentRecordResponseSchema, type ReportFormat, type ReportResponse } from '../../protocol/index.ts';
import { apiRequest, CliError, expectOk, parseAnswer, type ServerOptions } from '../apiClient.ts';

export interface ReportOptions extends ServerOptions {
  course: string;
  csv?: boolean;
  /** Write the .xlsx workbook to this file. */
  xlsx?: string;
  gradebook?: 'moodle' | 'canvas';
  /** The rejected submissions (CSV), apart from the statuses. */
  rejected?: boolean;
  /** Write CSV output here instead of standard output. */
  output?: string;
  /** IANA time zone of the local dates (default: this computer's). */
  tz?: string;
  /** One student's record instead of the whole course. */
  student?: string;
  json?: boolean;
}

const STATUS_LETTER = { present: 'P', late: 'L', excused: 'E', absent: 'A' } as const;

function query(options: ReportOptions, format: ReportFormat): string {
  const tz = options.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `course=${encodeURIComponent(options.course)}&format=${format}&tz=${encodeURIComponent(tz)}`;
}

export async function showReport(options: ReportOptions, print: (line: string) => void = console.log): Promise<void> {
  const chosen = [options.csv, options.xlsx !== undefined, options.gradebook !== undefined, options.rejected, options.student !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new CliError('choose one of --csv, --xlsx, --gradebook, --rejected and --student');
  if (options.student !== undefined) return showStudent(options, print);
  if (options.xlsx !== undefined) {
    const answer = await apiRequest(options, 'GET', `report?${query(options, 'xlsx')}`, undefined, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expectOk(answer, 'making the workbook');
    writeFileSync(options.xlsx, answer.bytes);
    return void print(`Wrote ${options.xlsx} (${answer.bytes.length} bytes).`);
  }
  const format: ReportFormat | undefined = options.csv ? 'csv' : options.rejected ? 'rejected_csv' : options.gradebook;
  if (format !== undefined) {
    const answer = await apiRequest(options, 'GET', `report?${query(options, format)}`, undefined, 'text/csv');
    expectOk(answer, 'making the report');
    if (options.output === undefined) return void process.stdout.write(answer.text);
    writeFileSync(options.output, answer.text);
    return void print(`Wrote ${options.output}.${options.gradebook ? ` Import it in ${options.gradebook === 'moodle' ? 'Moodle: Grades → Import → CSV file, identify users by "ID number" → idnumber (or Email address → email)' : 'Canvas: Grades → Import; students are matched by SIS User ID'}.` : ''}`);
  }
  const answer = await apiRequest(options, 'GET', `report?${query(options, 'json')}`);
  const report = parseAnswer(answer, ReportResponseSchema, 'reading the report');
  if (options.json) return void print(JSON.stringify(report, null, 2));
  printTable(report, print);
}

function printTable(report: ReportResponse, print: (line: string) => void): void {
  const { settings } = report;
  print(`${report.course}: ${report.sessions.length} sessions, ${report.students.length} students; threshold ${settings.threshold_percent} %; points present ${settings.points.present}, late ${settings.points.late}, excused ${settings.points.excused ?? 'not counted'}, absent ${settings.points.absent}. Times in ${report.time_zone}.`);
  if (report.sessions.length === 0) return void print('No sessions yet: rollcall session create --course <name> --duration <minutes>');
  report.sessions.forEach((session, index) => print(`  #${index + 1}  ${session.local_start}${session.provisional ? '  (absences provisional: offline scans may still sync)' : ''}`));
  print(`P present, L late, E excused, A absent, a provisional absence, . no status yet`);
  for (const student of report.students) {
    const cells = student.cells.map((cell) => (cell.status === null ? '.' : cell.provisional ? 'a' : STATUS_LETTER[cell.status])).join('');
    const percent = student.totals.percent === null ? '   -  ' : `${student.totals.percent.toFixed(1).padStart(5)}%`;
    print(`${student.below_threshold ? '!' : ' '} ${student.student_id.padEnd(20)} ${cells}  ${percent}  ${student.totals.points}/${student.totals.possible}${student.name ? `  ${student.name}` : ''}${student.on_roster ? '' : '  (not on roster)'}`);
  }
  const below = report.students.filter((student) => student.below_threshold).length;
  print(below > 0 ? `! ${below} under ${settings.threshold_percent} % (listed first).` : `Nobody is under ${settings.threshold_percent} %.`);
  if (report.provisional_marks > 0) print(`${report.provisional_marks} absences are still provisional.`);
}

async function showStudent(options: ReportOptions, print: (line: string) => void): Promise<void> {
  const tz = options.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const answer = await apiRequest(options, 'GET', `student_record?course=${encodeURIComponent(options.course)}&student_id=${encodeURIComponent(options.student!)}&tz=${encodeURIComponent(tz)}`);
  const record = parseAnswer(answer, StudentRecordResponseSchema, 'reading the student’s record');
  if (options.json) return void print(JSON.stringify(record, null, 2));
  const { student, totals } = record;
  print(`${student.student_id}${student.name ? ` (${student.name})` : ''} in ${record.course}: ${totals.percent === null ? 'nothing counted yet' : `${totals.percent} %`}${record.below_threshold ? ', under the threshold' : ''}; ${totals.present} present, ${totals.late} late, ${totals.excused} excused, ${totals.absent} absent.`);
  for (const entry of record.sessions) {
    const { status } = entry;
    const how = status.source === 'mark' ? `marked${status.note ? `: ${status.note}` : ''}` : status.scan ? `scan via ${status.scan.via}${status.scan.flags.length ? ` (${status.scan.flags.join(', ')})` : ''}` : 'no scan';
    print(`  ${entry.session.local_start}  ${(status.status ?? '-').padEnd(8)}${status.provisional ? ' (provisional)' : ''}  ${how}`);
  }
  for (const change of record.changes) print(`  changed ${new Date(change.at).toLocaleString()} by ${change.actor}: ${change.before ?? 'no status'} → ${change.after}${change.note ? ` (${change.note})` : ''}`);
}
