/**
 * Reading roster CSV files as Moodle and Canvas export them (pure). Moodle's participants
 * download: `First name`, `Last name` (or `Surname`), `ID number`, `Email address`, …; Canvas's
 * gradebook export: `Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, then a
 * "Points Possible" row. Anything else is read as a plain table with a column that looks like
 * a student id. The proposed mapping is shown before anything is stored.
 */
import { parse } from 'csv-parse/sync';
import { parseWith, studentId as studentIdSchema, type RosterMapping, type RosterPreviewResponse } from '../protocol/index.ts';
import type { RosterInput } from './CourseStore.ts';

/** A parsed file: its header, its student rows (column → cell) and each row's record number in the file (header = 1). */
export interface ParsedRoster {
  columns: string[];
  rows: Record<string, string>[];
  lines: number[];
}
export type RosterTable = ({ ok: true } & ParsedRoster) | { ok: false; error: string };

/** Rows that are not students: Canvas's "Points Possible" (and "Muted") lines under the header. */
function isNotAStudent(row: Record<string, string>): boolean {
  const first = Object.values(row)[0]?.trim() ?? '';
  return /^(Points Possible|Muted)$/i.test(first);
}

/** Parses the CSV text (comma, semicolon or tab separated; a byte order mark is dropped). */
export function readRosterTable(csv: string): RosterTable {
  const firstLine = csv.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = [',', ';', '\t'].map((char) => ({ char, count: firstLine.split(char).length })).sort((a, b) => b.count - a.count)[0]!.char;
  let records: string[][];
  try {
    // relax_quotes: a quote inside a cell (a name like O"Brien, a spreadsheet's stray quote) is text.
    records = parse(csv, { bom: true, delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }) as string[][];
  } catch (error) {
    return { ok: false, error: `the file is not readable CSV (${error instanceof Error ? error.message.split('\n')[0] : 'parse error'})` };
  }
  const header = records[0]?.map((cell) => cell.trim());
  if (!header || header.length === 0 || header.every((cell) => cell === '')) return { ok: false, error: 'the file is empty: export the participants (Moodle) or the gradebook (Canvas) as CSV' };
  if (new Set(header).size !== header.length) return { ok: false, error: 'the header names one column twice: rename one and try again' };
  const rows: Record<string, string>[] = [];
  const lines: number[] = [];
  records.slice(1).forEach((record, index) => {
    const row = Object.fromEntries(header.map((column, at) => [column, (record[at] ?? '').trim()]));
    if (isNotAStudent(row)) return;
    rows.push(row);
    lines.push(index + 2);
  });
  return { ok: true, columns: header, rows, lines };
}

const find = (columns: readonly string[], ...names: string[]) => names.map((name) => columns.find((column) => column.toLowerCase() === name.toLowerCase())).find((column) => column !== undefined);

/** Which export the header looks like, and the mapping we propose for it. */
export function proposeMapping(columns: readonly string[]): { source: RosterPreviewResponse['source']; mapping?: RosterMapping } {
  const optional = (mapping: Record<string, string | undefined>) => Object.fromEntries(Object.entries(mapping).filter(([, column]) => column !== undefined)) as Partial<RosterMapping>;
  if (find(columns, 'SIS User ID', 'SIS Login ID') && find(columns, 'Student')) {
    const id = find(columns, 'SIS User ID', 'SIS Login ID', 'ID')!;
    return { source: 'canvas', mapping: { student_id: id, ...optional({ name: find(columns, 'Student'), section: find(columns, 'Section'), email: find(columns, 'SIS Login ID') === id ? undefined : find(columns, 'Email') }) } };
  }
  if (find(columns, 'First name') && find(columns, 'Last name', 'Surname')) {
    const id = find(columns, 'ID number', 'idnumber', 'Username', 'Email address');
    const rest = optional({ first_name: find(columns, 'First name'), last_name: find(columns, 'Last name', 'Surname'), email: find(columns, 'Email address', 'Email'), section: find(columns, 'Groups', 'Group') });
    return { source: 'moodle', ...(id ? { mapping: { student_id: id, ...rest } } : {}) };
  }
  const id = find(columns, 'student_id', 'student id', 'studentid', 'id number', 'id', 'matriculation', 'student number');
  const rest = optional({ name: find(columns, 'name', 'student', 'full name'), email: find(columns, 'email', 'email address', 'e-mail'), section: find(columns, 'section', 'group') });
  return { source: 'plain', ...(id ? { mapping: { student_id: id, ...rest } } : {}) };
}

/** The first rows, the columns and the proposed mapping: `POST /roster/preview`. */
export function previewRoster(course: string, table: ParsedRoster, sampleRows = 5): RosterPreviewResponse {
  return { course, ...proposeMapping(table.columns), columns: table.columns, rows: table.rows.length, sample: table.rows.slice(0, sampleRows) };
}

/** Students read with `mapping`; rows without a valid id are skipped with their line (header = line 1). */
export function rosterStudents(
  table: ParsedRoster,
  mapping: RosterMapping,
): { ok: true; students: RosterInput[]; skipped: { line: number; error: string }[] } | { ok: false; error: string } {
  const missing = Object.values(mapping).filter((column) => !table.columns.includes(column));
  if (missing.length > 0) return { ok: false, error: `the file has no column ${missing.map((column) => JSON.stringify(column)).join(', ')}: choose among ${table.columns.map((column) => JSON.stringify(column)).join(', ')}` };
  const cell = (row: Record<string, string>, column: string | undefined) => (column === undefined || row[column] === '' ? null : (row[column] ?? null));
  const students: RosterInput[] = [];
  const skipped: { line: number; error: string }[] = [];
  table.rows.forEach((row, index) => {
    const id = parseWith(studentIdSchema, (row[mapping.student_id] ?? '').trim());
    if (!id.ok) return void skipped.push({ line: table.lines[index]!, error: id.error });
    const joined = [cell(row, mapping.first_name), cell(row, mapping.last_name)].filter((part) => part !== null).join(' ');
    students.push({ studentId: id.value, name: cell(row, mapping.name) ?? (joined || null), email: cell(row, mapping.email), section: cell(row, mapping.section) });
  });
  return { ok: true, students, skipped };
}
