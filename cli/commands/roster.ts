/** `rollcall roster import|show`: a course's roster from a Moodle or Canvas CSV export, through a running server. */
import { readFileSync } from 'node:fs';
import { RosterImportResponseSchema, RosterPreviewResponseSchema, RosterResponseSchema, type RosterMapping } from '../../protocol/index.ts';
import { apiRequest, CliError, parseAnswer, type ServerOptions } from '../apiClient.ts';

/** Columns the professor names instead of the proposed ones (`--id-column` and friends). */
export interface MappingOptions {
  idColumn?: string;
  nameColumn?: string;
  firstNameColumn?: string;
  lastNameColumn?: string;
  emailColumn?: string;
  sectionColumn?: string;
}

export interface RosterImportOptions extends ServerOptions, MappingOptions {
  course: string;
  file: string;
  /** Also remove roster students the file does not list. */
  removeMissing?: boolean;
  /** Show the columns, the mapping and the first rows; import nothing. */
  dryRun?: boolean;
  json?: boolean;
}

function chosenMapping(proposed: RosterMapping | undefined, options: MappingOptions): RosterMapping | undefined {
  const studentId = options.idColumn ?? proposed?.student_id;
  if (studentId === undefined) return undefined;
  const pick = (given: string | undefined, fallback: string | undefined) => given ?? fallback;
  const fields = {
    name: pick(options.nameColumn, proposed?.name),
    first_name: pick(options.firstNameColumn, proposed?.first_name),
    last_name: pick(options.lastNameColumn, proposed?.last_name),
    email: pick(options.emailColumn, proposed?.email),
    section: pick(options.sectionColumn, proposed?.section),
  };
  return { student_id: studentId, ...Object.fromEntries(Object.entries(fields).filter(([, column]) => column !== undefined && column !== '')) };
}

export async function importRoster(options: RosterImportOptions, print: (line: string) => void = console.log): Promise<void> {
  let csv: string;
  try {
    csv = readFileSync(options.file, 'utf8');
  } catch {
    throw new CliError(`cannot read ${options.file}: export the participants (Moodle) or the gradebook (Canvas) as CSV and give its path`);
  }
  const previewAnswer = await apiRequest(options, 'POST', 'roster/preview', { course: options.course, csv });
  const preview = parseAnswer(previewAnswer, RosterPreviewResponseSchema, 'reading the roster file');
  const mapping = chosenMapping(preview.mapping, options);
  if (!options.json || options.dryRun) {
    print(`${options.file}: ${preview.rows} rows, looks like a ${preview.source === 'plain' ? 'plain CSV' : `${preview.source} export`}.`);
    print(`Columns: ${preview.columns.join(', ')}`);
    print(mapping ? `Mapping: ${Object.entries(mapping).map(([field, column]) => `${field} ← "${column}"`).join(', ')}` : 'Mapping: no column looks like a student id.');
    for (const row of preview.sample.slice(0, 3)) print(`  e.g. ${mapping ? Object.entries(mapping).map(([field, column]) => `${field}=${row[column] ?? ''}`).join('  ') : JSON.stringify(row)}`);
  }
  if (!mapping) throw new CliError('say which column holds the student id: --id-column "<column>" (one of the columns above)');
  if (options.dryRun) return void print('Dry run: nothing imported. Run again without --dry-run to import with this mapping.');
  const answer = await apiRequest(options, 'POST', 'roster/import', { course: options.course, csv, mapping, ...(options.removeMissing ? { remove_missing: true } : {}) });
  const result = parseAnswer(answer, RosterImportResponseSchema, 'importing the roster');
  if (options.json) return void print(JSON.stringify(result, null, 2));
  print(`${options.course}: ${result.added} added, ${result.updated} updated, ${result.unchanged} unchanged${result.removed ? `, ${result.removed} removed` : ''}; the roster has ${result.students} students.`);
  for (const skipped of result.skipped) print(`  line ${skipped.line} skipped: ${skipped.error}`);
}

export async function showRoster(options: ServerOptions & { course: string; json?: boolean }, print: (line: string) => void = console.log): Promise<void> {
  const answer = await apiRequest(options, 'GET', `roster?course=${encodeURIComponent(options.course)}`);
  const roster = parseAnswer(answer, RosterResponseSchema, 'reading the roster');
  if (options.json) return void print(JSON.stringify(roster, null, 2));
  if (roster.students.length === 0) return void print(`${options.course} has no roster yet: rollcall roster import --course "${options.course}" <file.csv>`);
  print(`${options.course}: ${roster.students.length} students`);
  for (const student of roster.students) print(`  ${student.student_id.padEnd(20)} ${student.name ?? ''}${student.email ? `  <${student.email}>` : ''}${student.section ? `  ${student.section}` : ''}`);
}
