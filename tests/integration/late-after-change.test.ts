/**
 * SPEC.md S8 against a real `rollcall start`: a session's late rule changed after its creation
 * (`POST /session_options` `late_after_minutes`, `rollcall session set <id> --late-after N`).
 * Statuses, counts and the report follow at once (they are computed, S2), the audit log keeps
 * each change with its before and after, and a bad value is refused with a sentence and changes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiErrorSchema,
  CreateSessionResponseSchema,
  ReportResponseSchema,
  RosterImportResponseSchema,
  RosterPreviewResponseSchema,
  SessionSchema,
  SessionStatusesResponseSchema,
  SessionsResponseSchema,
} from '../../protocol/index.ts';
import { apiCall } from '../helpers/api.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';
import { readValidatorStore } from '../helpers/validatorStore.ts';

let server: StartedProcess;
let dataDir: string;
const phones: SimulatedStudent[] = [];

beforeAll(async () => {
  dataDir = tempDir('rollcall-late-after-');
  server = await startRollcall(['start', '--data', dataDir]);
});

afterAll(async () => {
  for (const phone of phones) phone.close();
  await server?.stop();
  removeTempDirs();
});

const get = <T>(path: string, schema: import('zod').ZodType<T>) => apiCall(server.baseUrl, 'GET', path, schema);
const post = <T>(path: string, body: unknown, schema: import('zod').ZodType<T>, status = 200) => apiCall(server.baseUrl, 'POST', path, schema, body, status);

/** The late-rule changes the audit log holds for a session, oldest first. */
function lateRuleChanges(sessionId: string): unknown[] {
  return readValidatorStore(dataDir, (store) => store.auditLog(sessionId))
    .filter((event) => event.action === 'session_options' && event.detail !== undefined && 'late_after_minutes' in event.detail)
    .map((event) => event.detail);
}

/**
 * An ended session of a course with two roster students whose phones scanned one and four
 * minutes after the start (sync path), late after 2 minutes: S-1 present, S-2 late.
 */
async function sessionWithTwoScans(course: string): Promise<string> {
  const csv = 'ID number,First name\nS-1,Ada\nS-2,Alan\n';
  const preview = await post('/roster/preview', { course, csv }, RosterPreviewResponseSchema);
  await post('/roster/import', { course, csv, mapping: preview.mapping }, RosterImportResponseSchema);
  const nowS = Math.floor(Date.now() / 1000);
  const session = await post('/create_session', { course, starts_at: nowS - 600, duration_minutes: 5, rotate_seconds: 0, late_after_minutes: 2 }, CreateSessionResponseSchema, 201);
  const onTime = connectStudent(server.baseUrl, session.session_id, 'S-1');
  const later = connectStudent(server.baseUrl, session.session_id, 'S-2');
  phones.push(onTime, later);
  const a = onTime.submit(session, { scannedAtMs: (nowS - 540) * 1000 });
  const b = later.submit(session, { scannedAtMs: (nowS - 360) * 1000 });
  expect(await onTime.receipt(a.n)).toMatchObject({ status: 'accepted' });
  expect(await later.receipt(b.n)).toMatchObject({ status: 'accepted' });
  return session.session_id;
}

async function statusesOf(sessionId: string): Promise<[string, string | null][]> {
  const view = await get(`/statuses/${sessionId}`, SessionStatusesResponseSchema);
  return view.students.map((student) => [student.student_id, student.status]);
}

async function listedCounts(sessionId: string, course: string) {
  const { sessions } = await get(`/sessions?course=${encodeURIComponent(course)}`, SessionsResponseSchema);
  return sessions.find((session) => session.session_id === sessionId)!.counts;
}

describe('changing a session’s late rule (SPEC.md S8)', () => {
  it('[S8] POST /session_options late_after_minutes: statuses, counts and the report follow at once, and the audit log keeps each change', async () => {
    const sessionId = await sessionWithTwoScans('Late 101');
    expect(await statusesOf(sessionId)).toEqual([
      ['S-1', 'present'],
      ['S-2', 'late'],
    ]);
    expect(await listedCounts(sessionId, 'Late 101')).toMatchObject({ accepted: 2, present: 1, late: 1 });

    // The professor meant 5 minutes: both on time.
    const changed = await post('/session_options', { session_id: sessionId, late_after_minutes: 5 }, SessionSchema);
    expect(changed).toMatchObject({ session_id: sessionId, late_after_minutes: 5, direct_path: true });
    expect(await statusesOf(sessionId)).toEqual([
      ['S-1', 'present'],
      ['S-2', 'present'],
    ]);
    expect(await listedCounts(sessionId, 'Late 101')).toMatchObject({ accepted: 2, present: 2, late: 0 });
    const report = await get(`/report?course=${encodeURIComponent('Late 101')}&tz=UTC`, ReportResponseSchema);
    expect(report.students.map((student) => [student.student_id, student.totals.present, student.totals.late])).toEqual(
      expect.arrayContaining([
        ['S-1', 1, 0],
        ['S-2', 1, 0],
      ]),
    );

    // Half a minute: both late. No late status: both present.
    await post('/session_options', { session_id: sessionId, late_after_minutes: 0.5 }, SessionSchema);
    expect(await statusesOf(sessionId)).toEqual([
      ['S-1', 'late'],
      ['S-2', 'late'],
    ]);
    expect((await post('/session_options', { session_id: sessionId, late_after_minutes: null }, SessionSchema)).late_after_minutes).toBeNull();
    expect(await listedCounts(sessionId, 'Late 101')).toMatchObject({ present: 2, late: 0 });

    // The same value again is no change: not logged. The direct path switch still works alone, untouched by the rule.
    await post('/session_options', { session_id: sessionId, late_after_minutes: null }, SessionSchema);
    expect(await post('/session_options', { session_id: sessionId, direct_path: false }, SessionSchema)).toMatchObject({ direct_path: false, late_after_minutes: null });
    expect(lateRuleChanges(sessionId)).toEqual([
      { late_after_minutes: 5, late_after_minutes_before: 2 },
      { late_after_minutes: 0.5, late_after_minutes_before: 5 },
      { late_after_minutes: null, late_after_minutes_before: 0.5 },
    ]);
  });

  it('[S8] a bad late_after_minutes, or nothing to change, is refused 400 with a sentence and changes nothing; an unknown session is 404', async () => {
    const sessionId = await sessionWithTwoScans('Late 102');
    const refusals: [unknown, RegExp][] = [
      [{ session_id: sessionId, late_after_minutes: -1 }, /^late_after_minutes: must be a number of minutes from 0 to 1440 after the start, or null for no late status$/],
      [{ session_id: sessionId, late_after_minutes: 1441 }, /^late_after_minutes: must be a number of minutes from 0 to 1440/],
      [{ session_id: sessionId, late_after_minutes: '10' }, /^late_after_minutes: must be a number of minutes/],
      [{ session_id: sessionId, late_after_minutes: true }, /^late_after_minutes: must be a number of minutes/],
      [{ session_id: sessionId }, /say what to change: direct_path .* late_after_minutes/],
      [{ session_id: sessionId, late_after_minutes: 5, late_after: 5 }, /late_after/],
    ];
    for (const [body, message] of refusals) {
      const refused = await post('/session_options', body, ApiErrorSchema, 400);
      expect(refused.code, JSON.stringify(body)).toBe('invalid_request');
      expect(refused.error, JSON.stringify(body)).toMatch(message);
    }
    const unknown = await post('/session_options', { session_id: '00000000-0000-4000-8000-000000000000', late_after_minutes: 5 }, ApiErrorSchema, 404);
    expect(unknown.code).toBe('unknown_session');

    const view = await get(`/statuses/${sessionId}`, SessionStatusesResponseSchema);
    expect(view.session.late_after_minutes).toBe(2);
    expect(view.students.map((student) => student.status)).toEqual(['present', 'late']);
    expect(lateRuleChanges(sessionId)).toEqual([]);
  });

  it('[S8] rollcall session set <id> --late-after N (and none) changes it; bad values are refused before anything is sent', async () => {
    const sessionId = await sessionWithTwoScans('Late 103');
    const cli = (...args: string[]) => runCli([...args, '--server', server.baseUrl]);

    const set = await cli('session', 'set', sessionId, '--late-after', '5');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`Session ${sessionId}: scans more than 5 min after the start count as late; statuses follow at once`);
    const statuses = await cli('session', 'statuses', sessionId);
    expect(statuses.stdout).toContain('2 present, 0 late');
    expect(statuses.stdout).toContain('Late: scans more than 5 min after the start.');

    const none = await cli('session', 'options', sessionId, '--late-after', 'none');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain('no scan counts as late');
    expect((await cli('session', 'statuses', sessionId)).stdout).toContain('No late rule: every accepted scan is present.');

    for (const bad of ['-3', '1441', 'ten', '2.5']) {
      const refused = await cli('session', 'set', sessionId, '--late-after', bad);
      expect(refused.code, bad).not.toBe(0);
      expect(refused.stderr, bad).toMatch(/--late-after must be a whole number of minutes from 0 to 1440, or none/);
    }
    const nothing = await cli('session', 'set', sessionId);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toMatch(/say what to change: --late-after <minutes> \(or none\), --direct-path/);
    // `none` reaches the server as null for a course too (commander turned a parser's null into '').
    const course = await cli('course', 'set', 'Late 103', '--late-after', 'none');
    expect(course.code, course.stderr).toBe(0);
    expect(course.stdout).toContain('late after: never (no late status)');
    const help = await cli('session', 'set', '--help');
    expect(help.stdout).toMatch(/--late-after <minutes>/);
    expect(lateRuleChanges(sessionId)).toEqual([
      { late_after_minutes: 5, late_after_minutes_before: 2 },
      { late_after_minutes: null, late_after_minutes_before: 5 },
    ]);
  });
});
