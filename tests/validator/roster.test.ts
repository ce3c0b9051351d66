/**
 * Rosters: reading Moodle and Canvas exports (pure), and the course store over real SQLite
 * (SPEC.md S6: a re-import updates, never duplicates; ids compared as the course says; rosters
 * made before courses keep comparing exactly).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidatorStore } from '../../validator/index.ts';
import { MIGRATIONS } from '../../validator/migrations.ts';
import { proposeMapping, readRosterTable, rosterStudents } from '../../validator/rosterCsv.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';

afterEach(() => removeTempDirs());

const MOODLE = '\uFEFFFirst name,Last name,ID number,Email address,Groups\nAda,Lovelace,2022IMT-048,ada@example.edu,G1\nAlan,Turing, 2022IMT-050 ,alan@example.edu,G2\n';
const CANVAS = 'Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (1234)\n    Points Possible,,,,,10\n"Lovelace, Ada",101,2022IMT-048,ada,Sec A,9\n"Turing, Alan",102,2022IMT-050,alan,Sec B,\n';

function table(csv: string) {
  const parsed = readRosterTable(csv);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed;
}

describe('roster CSV files', () => {
  it('recognises a Moodle participants export (byte order mark, "ID number", first and last names)', () => {
    const parsed = table(MOODLE);
    expect(parsed.columns).toEqual(['First name', 'Last name', 'ID number', 'Email address', 'Groups']);
    const { source, mapping } = proposeMapping(parsed.columns);
    expect(source).toBe('moodle');
    expect(mapping).toEqual({ student_id: 'ID number', first_name: 'First name', last_name: 'Last name', email: 'Email address', section: 'Groups' });
    const read = rosterStudents(parsed, mapping!);
    expect(read).toEqual({ ok: true, skipped: [], students: [
      { studentId: '2022IMT-048', name: 'Ada Lovelace', email: 'ada@example.edu', section: 'G1' },
      { studentId: '2022IMT-050', name: 'Alan Turing', email: 'alan@example.edu', section: 'G2' },
    ] });
  });

  it('recognises a Canvas gradebook export and leaves out its "Points Possible" row', () => {
    const parsed = table(CANVAS);
    expect(parsed.rows).toHaveLength(2);
    const { source, mapping } = proposeMapping(parsed.columns);
    expect(source).toBe('canvas');
    expect(mapping).toEqual({ student_id: 'SIS User ID', name: 'Student', section: 'Section' });
    const read = rosterStudents(parsed, mapping!);
    expect(read.ok && read.students.map((student) => [student.studentId, student.name, student.section])).toEqual([
      ['2022IMT-048', 'Lovelace, Ada', 'Sec A'],
      ['2022IMT-050', 'Turing, Alan', 'Sec B'],
    ]);
  });

  it('reads semicolon-separated files, proposes nothing when no column looks like an id, and names bad rows by line', () => {
    const parsed = table('Matrikel;Name\nX-1;Eva\n\n;Nobody\nbad\u0007id;Bell\n');
    expect(proposeMapping(parsed.columns)).toEqual({ source: 'plain' });
    const read = rosterStudents(parsed, { student_id: 'Matrikel', name: 'Name' });
    expect(read.ok && read.students.map((student) => student.studentId)).toEqual(['X-1']);
    expect(read.ok && read.skipped).toEqual([
      { line: 3, error: 'student id is empty' },
      { line: 4, error: 'student id has control characters' },
    ]);
    expect(rosterStudents(parsed, { student_id: 'Student number' })).toEqual({ ok: false, error: expect.stringContaining('no column "Student number"') });
  });

  it('refuses an empty file, a header naming a column twice, and broken quoting, saying what to do', () => {
    expect(readRosterTable('')).toMatchObject({ ok: false, error: expect.stringContaining('empty') });
    expect(readRosterTable('id,id\n1,2\n')).toMatchObject({ ok: false, error: expect.stringContaining('twice') });
    expect(readRosterTable('id,name\n"1,2\n')).toMatchObject({ ok: false, error: expect.stringContaining('not readable CSV') });
  });
});

describe('course store', () => {
  const students = (...ids: string[]) => ids.map((studentId) => ({ studentId, name: null, email: null, section: null }));
  const audit = { atMs: 1, actor: 'professor', action: 'import_roster' };

  it('[S6] a re-import updates by normalised id, never duplicates; the file’s spelling and details replace the old ones', () => {
    const store = ValidatorStore.open(tempDir());
    expect(store.importRoster('Networks', students('2022IMT-048', 'José'), false, audit)).toEqual({ added: 2, updated: 0, unchanged: 0, removed: 0 });
    expect(store.importRoster('Networks', [...students('2022imt-048', 'Jose\u0301'), { studentId: 'N-1', name: 'New', email: 'n@x', section: null }], false, audit)).toEqual({ added: 1, updated: 1, unchanged: 1, removed: 0 });
    expect(store.courses.roster('Networks').map((student) => student.student_id)).toEqual(['2022imt-048', 'José', 'N-1']);
    expect(store.isOnRoster('Networks', '2022IMT-048')).toBe(true);
    expect(store.isOnRoster('Networks', 'jOSÉ')).toBe(true);
    expect(store.isOnRoster('Other', 'José')).toBeUndefined();
    expect(store.importRoster('Networks', students('N-1'), true, audit)).toMatchObject({ unchanged: 1, removed: 2 });
    expect(store.auditLog().filter((event) => event.action === 'import_roster').map((event) => event.detail)).toHaveLength(3);
    store.close();
  });

  it('[S6] a course that compares with case keeps "abc" and "ABC" apart; switching to ignoring case is refused while they collide', () => {
    const store = ValidatorStore.open(tempDir());
    store.setCourseSettings('Networks', { id_case: 'sensitive' }, { ...audit, action: 'course_settings' });
    store.importRoster('Networks', students('abc', 'ABC'), false, audit);
    expect(store.courses.roster('Networks')).toHaveLength(2);
    expect(store.isOnRoster('Networks', 'Abc')).toBe(false);
    expect(() => store.setCourseSettings('Networks', { id_case: 'insensitive' }, { ...audit, action: 'course_settings' })).toThrow(/UNIQUE/);
    expect(store.courses.settings('Networks').id_case).toBe('sensitive');
    expect(store.courses.roster('Networks')).toHaveLength(2);
    store.close();
  });

  it('[S1] settings default to Moodle’s (2 / 1 / not counted / 0, 80 %) and change one at a time', () => {
    const store = ValidatorStore.open(tempDir());
    expect(store.courses.settings('Networks')).toEqual({ late_after_minutes: null, threshold_percent: 80, points: { present: 2, late: 1, excused: null, absent: 0 }, id_case: 'insensitive' });
    store.setCourseSettings('Networks', { late_after_minutes: 10 }, { ...audit, action: 'course_settings' });
    store.setCourseSettings('Networks', { threshold_percent: 75 }, { ...audit, action: 'course_settings' });
    expect(store.courses.settings('Networks')).toMatchObject({ late_after_minutes: 10, threshold_percent: 75 });
    expect(store.courses.list().map((course) => course.course)).toEqual(['Networks']);
    store.close();
  });

  it('upgrades a version-5 database: its rosters keep comparing ids exactly and gain details', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'validator.db'));
    for (const [index, migration] of MIGRATIONS.slice(0, 5).entries()) {
      raw.exec(migration);
      raw.pragma(`user_version = ${index + 1}`);
    }
    raw.prepare('INSERT INTO roster (course, student_id) VALUES (?, ?)').run('Networks', 'abc');
    raw.prepare('INSERT INTO roster (course, student_id) VALUES (?, ?)').run('Networks', 'ABC');
    raw.close();
    const store = ValidatorStore.open(dir);
    expect(store.courses.settings('Networks').id_case).toBe('sensitive');
    expect(store.isOnRoster('Networks', 'abc')).toBe(true);
    expect(store.isOnRoster('Networks', 'Abc')).toBe(false);
    expect(store.importRoster('Networks', [{ studentId: 'abc', name: 'Ann', email: null, section: null }], false, audit)).toMatchObject({ updated: 1, added: 0 });
    store.close();
  });

  it('emits a change for each write (what the dashboard listens to)', () => {
    const store = ValidatorStore.open(tempDir());
    const changes: unknown[] = [];
    const stop = store.onChange((change) => changes.push(change));
    store.importRoster('Networks', students('A'), false, audit);
    store.setCourseSettings('Networks', { threshold_percent: 70 }, { ...audit, action: 'course_settings' });
    stop();
    store.setRoster('Networks', ['B']);
    expect(changes).toEqual([
      { kind: 'roster', course: 'Networks' },
      { kind: 'course', course: 'Networks' },
    ]);
    store.close();
  });
});
