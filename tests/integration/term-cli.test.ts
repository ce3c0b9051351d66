/**
 * The term from the command line against a real `rollcall start`: roster import from a Moodle
 * and a Canvas export, course settings, session create --late-after, mark, session statuses,
 * report (table, --csv, --xlsx, --gradebook moodle|canvas, --rejected, --student), session
 * delete, and complete --help. What the CLI prints as JSON is read with the same protocol/api.ts
 * schemas the validator answers with.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogResponseSchema, ListedSessionSchema, ReportResponseSchema, SessionsResponseSchema } from '../../protocol/index.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';

let server: StartedProcess;
let work: string;

beforeAll(async () => {
  work = tempDir('rollcall-term-cli-');
  server = await startRollcall(['start', '--data', join(work, 'data')]);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

async function cli(...args: string[]) {
  const result = await runCli([...args, '--server', server.baseUrl]);
  if (result.code !== 0) throw new Error(`rollcall ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

describe('rollcall roster, course, report', () => {
  let session: { session_id: string; payload_b64: string; signature: string; late_after_minutes: number };

  it('imports a Moodle roster showing the mapping first, re-imports without duplicates', async () => {
    const moodle = join(work, 'moodle.csv');
    writeFileSync(moodle, 'First name,Surname,ID number,Email address\nAda,Lovelace,2022IMT-048,ada@example.edu\nAlan,Turing,2022IMT-050,alan@example.edu\n,,,nobody@example.edu\n');
    const dry = await cli('roster', 'import', '--course', 'Networks', moodle, '--dry-run');
    expect(dry).toContain('looks like a moodle export');
    expect(dry).toContain('student_id ← "ID number"');
    expect(dry).toContain('Dry run: nothing imported');
    expect(await cli('roster', 'show', '--course', 'Networks')).toContain('no roster yet');
    const imported = await cli('roster', 'import', '--course', 'Networks', moodle);
    expect(imported).toContain('Networks: 2 added, 0 updated, 0 unchanged; the roster has 2 students.');
    expect(imported).toContain('line 4 skipped: student id is empty');
    expect(await cli('roster', 'import', '--course', 'Networks', moodle)).toContain('0 added, 0 updated, 2 unchanged');
    expect(await cli('roster', 'show', '--course', 'Networks')).toMatch(/2022IMT-048\s+Ada Lovelace\s+<ada@example.edu>/);
  });

  it('sets the course’s rules, creates a session with its late rule, marks a student, lists statuses and counts', async () => {
    expect(await cli('course', 'set', 'Networks', '--late-after', '0', '--threshold', '60', '--points', 'present=100,late=50,excused=none,absent=0')).toContain('late after: 0 min');
    const created = await cli('session', 'create', '--course', 'Networks', '--duration', '20', '--rotate', '0', '--json');
    session = JSON.parse(created) as typeof session;
    expect(session.late_after_minutes).toBe(0);
    const submitted = await fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: '2022imt-048', payload_b64: session.payload_b64, signature: session.signature }) });
    expect(await submitted.json()).toMatchObject({ status: 'accepted' });
    expect(await cli('mark', session.session_id, '2022IMT-050', 'excused', '--note', 'conference')).toContain('2022IMT-050: no status → excused (conference)');
    const statuses = await cli('session', 'statuses', session.session_id);
    expect(statuses).toMatch(/excused\s+2022IMT-050/);
    expect(statuses).toContain('no status → excused (conference)');

    const listed = SessionsResponseSchema.shape.sessions.parse(JSON.parse(await cli('session', 'list', '--course', 'Networks', '--json')));
    expect(listed.map((entry) => entry.counts.excused)).toEqual([1]);
    expect(ListedSessionSchema.parse(listed[0]).session_id).toBe(session.session_id);
  });

  it('reports the term as a table, JSON, CSV, xlsx, Moodle and Canvas gradebooks, rejected submissions, and one student’s record', async () => {
    const xlsx = join(work, 'term.xlsx');
    const canvasFile = join(work, 'canvas.csv');
    // Independent reads: run side by side.
    const [json, table, csvText, wroteXlsx, moodleText, wroteCanvas, rejected, record] = await Promise.all([
      cli('report', '--course', 'Networks', '--json', '--tz', 'UTC'),
      cli('report', '--course', 'Networks'),
      cli('report', '--course', 'Networks', '--csv', '--tz', 'UTC'),
      cli('report', '--course', 'Networks', '--xlsx', xlsx),
      cli('report', '--course', 'Networks', '--gradebook', 'moodle'),
      cli('report', '--course', 'Networks', '--gradebook', 'canvas', '--output', canvasFile),
      cli('report', '--course', 'Networks', '--rejected'),
      cli('report', '--course', 'Networks', '--student', '2022imt-050'),
    ]);

    const report = ReportResponseSchema.parse(JSON.parse(json));
    // Late after 0 minutes: any scan after the session's first instant is late.
    expect(report.students.map((student) => [student.student_id, student.cells[0]!.status])).toEqual([
      ['2022IMT-048', 'late'],
      ['2022IMT-050', 'excused'],
    ]);
    expect(table).toMatch(/2022IMT-050\s+E/);

    const csv = parse(csvText, { columns: true }) as Record<string, string>[];
    expect(csv.map((row) => [row.course, row.student_id, row.status])).toContainEqual(['Networks', '2022IMT-050', 'excused']);
    expect(csv[0]!.session_start_iso).toMatch(/^\d{4}-\d\d-\d\dT/);

    expect(wroteXlsx).toContain(`Wrote ${xlsx}`);
    expect((await readSheet(readFileSync(xlsx), 'Term'))[0]![0]).toBe('Student id');

    const moodleGrades = parse(moodleText, { columns: true }) as Record<string, string>[];
    expect(moodleGrades.map((row) => row['ID number'])).toEqual(['2022IMT-048', '2022IMT-050']);
    expect(moodleGrades[0]!['Email address']).toBe('ada@example.edu');
    expect(wroteCanvas).toContain('Canvas');
    expect(readFileSync(canvasFile, 'utf8').split('\n')[1]).toBe('Points Possible,,,,,100');
    expect(rejected.split('\n')[0]).toMatch(/^course,session_start_local,/);

    expect(record).toContain('2022IMT-050 (Alan Turing) in Networks');
    expect(record).toContain('changed');
  });

  it('imports a Canvas gradebook export, the Points Possible row left out', async () => {
    const canvas = join(work, 'canvas-roster.csv');
    writeFileSync(canvas, 'Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"Hopper, Grace",7,G-1,grace,Sec 1\n');
    expect(await cli('roster', 'import', '--course', 'Compilers', canvas)).toContain('1 added');
    expect(await cli('roster', 'show', '--course', 'Compilers')).toMatch(/G-1\s+Hopper, Grace\s+Sec 1/);
  });

  it('asks for --id-column when no column looks like an id, and deletes a test session but not one with attendance', async () => {
    const odd = join(work, 'odd.csv');
    writeFileSync(odd, 'Matrikel,Name\nM-1,Eva\n');
    const refused = await runCli(['roster', 'import', '--course', 'Logic', odd, '--server', server.baseUrl]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--id-column');
    expect(await cli('roster', 'import', '--course', 'Logic', odd, '--id-column', 'Matrikel', '--name-column', 'Name')).toContain('1 added');

    const test = JSON.parse(await cli('session', 'create', '--course', 'Logic', '--duration', '5', '--json')) as { session_id: string };
    const live = await runCli(['session', 'delete', test.session_id, '--server', server.baseUrl]);
    expect(live.code).toBe(1);
    expect(live.stderr).toContain('end it first');
    await cli('session', 'end', test.session_id);
    expect(await cli('session', 'delete', test.session_id)).toContain('deleted');
    const again = await runCli(['session', 'delete', test.session_id, '--server', server.baseUrl]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no session with this id');
  });

  it('--help of every new command lists its options', async () => {
    const help = async (...args: string[]) => (await runCli([...args, '--help'])).stdout;
    const roster = await help('roster', 'import');
    for (const option of ['--course', '--id-column', '--name-column', '--first-name-column', '--last-name-column', '--email-column', '--section-column', '--remove-missing', '--dry-run', '--json', '--server', '--token']) expect(roster).toContain(option);
    const report = await help('report');
    for (const option of ['--course', '--csv', '--xlsx', '--gradebook', 'moodle', 'canvas', '--rejected', '--student', '--output', '--tz', '--json']) expect(report).toContain(option);
    const course = await help('course', 'set');
    for (const option of ['--late-after', '--threshold', '--points', '--id-case']) expect(course).toContain(option);
    expect(await help('session', 'create')).toContain('--late-after');
    expect(await help('mark')).toContain('present, late, excused, absent'.split(', ')[0]);
    expect(await help('session', 'delete')).toContain('no accepted scan');
    const audit = await help('audit');
    for (const option of ['--session', '--course', '--limit', '--before', '--json', '--server', '--token']) expect(audit).toContain(option);
    const top = await help();
    for (const command of ['roster', 'course', 'report', 'mark', 'audit']) expect(top).toContain(command);
  });

  it('[S9] rollcall audit prints a course’s log newest first, pages with --before, and --json is the API’s answer', async () => {
    const created = JSON.parse(await cli('session', 'create', '--course', 'Audit CLI', '--duration', '5', '--json')) as { session_id: string };
    await cli('session', 'end', created.session_id);
    await cli('mark', created.session_id, 'Q-1', 'excused', '--note', 'two words');
    const lines = (await cli('audit', '--course', 'Audit CLI')).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`professor  mark  ${created.session_id}  student_id=Q-1 before=null after=excused note="two words"$`));
    expect(lines[1]).toMatch(/professor {2}end_session /);
    expect(lines[2]).toMatch(/professor {2}create_session .*course="Audit CLI"/);
    const json = AuditLogResponseSchema.parse(JSON.parse(await cli('audit', '--session', created.session_id, '--limit', '2', '--json')));
    expect(json.events.map((event) => event.action)).toEqual(['mark', 'end_session']);
    expect(json.next_before).toBe(json.events[1]!.id);
    const first = await cli('audit', '--session', created.session_id, '--limit', '2');
    expect(first).toContain(`Older events: add --before ${json.next_before}`);
    expect(await cli('audit', '--session', created.session_id, '--before', String(json.next_before))).toMatch(/create_session/);
    expect(await cli('audit', '--course', 'No Such Course')).toContain('Nothing in the audit log');
    // A note that would drive the terminal (an escape sequence, C1, a bidi override) prints escaped.
    await cli('mark', created.session_id, 'Q-2', 'excused', '--note', 'ok\u001b[2J\u009b31m\u202egnp.exe');
    const hostile = (await cli('audit', '--session', created.session_id, '--limit', '1')).trim();
    expect(hostile.split('\n')[0]).toMatch(/note="ok\\u001b\[2J\\u009b31m\\u202egnp\.exe"$/);
    expect(hostile).not.toMatch(/[\u001b\u009b\u202e]/);
    const refused = await runCli(['audit', '--limit', '0', '--server', server.baseUrl]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--limit must be a whole number from 1 to 1000');
  });

  it('refuses bad --points and --late-after in one line, exit code 1', async () => {
    const points = await runCli(['course', 'set', 'Networks', '--points', 'present=2,late=1', '--server', server.baseUrl]);
    expect(points.code).toBe(1);
    expect(points.stderr).toContain('--points must name excused');
    const late = await runCli(['session', 'create', '--course', 'Networks', '--duration', '5', '--late-after', 'soon', '--server', server.baseUrl]);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('--late-after');
  });
});
