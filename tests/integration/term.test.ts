/**
 * The term against a real `rollcall start` (relay + validator + follower): provisional absence
 * turned by an offline scan that syncs after the end (sync path), late scans, the audit trail of
 * marks and the review list, roster import with normalised ids, deleting test sessions, the two
 * faults found by hand (a static QR printed before the start; end_session's rounding), and every
 * answer parsed with its protocol/api.ts schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiErrorSchema,
  AuditLogResponseSchema,
  CourseResponseSchema,
  DeleteSessionResponseSchema,
  MarkResponseSchema,
  OverrideResponseSchema,
  QrResponseSchema,
  ReportResponseSchema,
  RosterImportResponseSchema,
  RosterPreviewResponseSchema,
  RosterSetResponseSchema,
  SessionOptionsResponseSchema,
  SessionStatusesResponseSchema,
  SessionsResponseSchema,
  StudentRecordResponseSchema,
  SubmitAttendanceResponseSchema,
  EndSessionResponseSchema,
  CreateSessionResponseSchema,
} from '../../protocol/index.ts';
import { apiCall } from '../helpers/api.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';

let server: StartedProcess;
const phones: SimulatedStudent[] = [];

beforeAll(async () => {
  server = await startRollcall(['start', '--data', tempDir('rollcall-term-')]);
});

afterAll(async () => {
  for (const phone of phones) phone.close();
  await server?.stop();
  removeTempDirs();
});

const get = <T>(path: string, schema: import('zod').ZodType<T>, status = 200) => apiCall(server.baseUrl, 'GET', path, schema, undefined, status);
const post = <T>(path: string, body: unknown, schema: import('zod').ZodType<T>, status = 200) => apiCall(server.baseUrl, 'POST', path, schema, body, status);

async function importRoster(course: string, csv: string) {
  const preview = await post('/roster/preview', { course, csv }, RosterPreviewResponseSchema);
  return post('/roster/import', { course, csv, mapping: preview.mapping }, RosterImportResponseSchema);
}

function createSession(body: Record<string, unknown>) {
  return post('/create_session', { duration_minutes: 20, ...body }, CreateSessionResponseSchema, 201);
}

function submit(studentId: string, qr: { payload_b64: string; signature: string }) {
  return fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: studentId, payload_b64: qr.payload_b64, signature: qr.signature }) }).then(async (response) => ({
    status: response.status,
    body: SubmitAttendanceResponseSchema.parse(await response.json()),
  }));
}

const statusOf = (view: { students: { student_id: string }[] }, id: string) => view.students.find((student) => student.student_id === id);

describe('provisional absence (SPEC.md S3)', () => {
  it('[S3] roster students without a scan are absent, provisionally; an offline scan synced after the end makes one present, another late', async () => {
    await importRoster('Sync 101', 'ID number,First name,Last name\nS-1,Ada,L\nS-2,Alan,T\nS-3,Grace,H\n');
    const nowS = Math.floor(Date.now() / 1000);
    // Ended five minutes ago; offline scans may sync for a day. Late after 2 minutes.
    const session = await createSession({ course: 'Sync 101', starts_at: nowS - 600, duration_minutes: 5, rotate_seconds: 0, late_after_minutes: 2 });
    expect(session.warning).toMatch(/ended/);

    const before = await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema);
    expect(before.students.map((student) => [student.student_id, student.status, student.provisional])).toEqual([
      ['S-1', 'absent', true],
      ['S-2', 'absent', true],
      ['S-3', 'absent', true],
    ]);
    expect(before.counts).toMatchObject({ absent: 3, provisional: 3 });
    expect(before.session.provisional_until).toBe((nowS - 300) * 1000 + 1440 * 60_000);

    // Two phones that were offline in the room: one scanned a minute in, one four minutes in.
    const onTime = connectStudent(server.baseUrl, session.session_id, 's-1');
    const late = connectStudent(server.baseUrl, session.session_id, 'S-2');
    phones.push(onTime, late);
    const a = onTime.submit(session, { scannedAtMs: (nowS - 540) * 1000 });
    const b = late.submit(session, { scannedAtMs: (nowS - 360) * 1000 });
    expect(await onTime.receipt(a.n)).toMatchObject({ status: 'accepted' });
    expect(await late.receipt(b.n)).toMatchObject({ status: 'accepted' });

    const after = await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema);
    expect(statusOf(after, 'S-1')).toMatchObject({ status: 'present', provisional: false, source: 'scan', on_roster: true, scan: { via: 'sync', scanned_at: (nowS - 540) * 1000 } });
    expect(statusOf(after, 'S-2')).toMatchObject({ status: 'late', provisional: false, points: 1 });
    expect(statusOf(after, 'S-3')).toMatchObject({ status: 'absent', provisional: true });
    expect(after.counts).toMatchObject({ present: 1, late: 1, absent: 1, provisional: 1 });

    const report = await get(`/report?course=${encodeURIComponent('Sync 101')}&tz=UTC`, ReportResponseSchema);
    expect(report.provisional_marks).toBe(1);
    const csv = await (await fetch(`${server.baseUrl}/report?course=${encodeURIComponent('Sync 101')}&format=csv&tz=UTC&session_id=${session.session_id}`)).text();
    expect(csv.trim().split('\n').slice(1).map((line) => line.split(',').slice(5, 10).join(','))).toEqual(['S-3,Grace H,absent,0,yes', 'S-2,Alan T,late,1,no', 'S-1,Ada L,present,2,no']);
    expect(report.sessions[0]!.provisional).toBe(true);
    expect(report.students[0]).toMatchObject({ student_id: 'S-3', below_threshold: true, totals: { percent: 0 } });
  });

  it('[S3] once late_sync_minutes has passed an absence is final', async () => {
    await importRoster('Final 101', 'student_id\nF-1\n');
    const nowS = Math.floor(Date.now() / 1000);
    const session = await createSession({ course: 'Final 101', starts_at: nowS - 600, duration_minutes: 5, late_sync_minutes: 0 });
    const view = await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema);
    expect(statusOf(view, 'F-1')).toMatchObject({ status: 'absent', provisional: false });
  });
});

describe('marks and their audit trail (SPEC.md S4)', () => {
  it('[S4] every change is kept with who, when, before, after and note; the latest wins; a flagged scan is confirmed from the review list', async () => {
    await importRoster('Audit 101', 'student_id,name\nA-1,Ada\nA-2,Alan\n');
    const session = await createSession({ course: 'Audit 101', rotate_seconds: 0 });
    // Not on the roster: flagged for review.
    expect((await submit('X-9', session)).body).toMatchObject({ status: 'accepted', flags: ['not_on_roster'], attendance_status: 'present' });

    const first = await post('/mark', { session_id: session.session_id, student_id: 'a-1', status: 'excused', note: 'doctor’s note' }, MarkResponseSchema);
    expect(first).toMatchObject({ student_id: 'A-1', before: null, after: 'excused', note: 'doctor’s note', actor: 'professor' });
    const second = await post('/mark', { session_id: session.session_id, student_id: 'A-1', status: 'present' }, MarkResponseSchema);
    expect(second).toMatchObject({ before: 'excused', after: 'present', note: null });
    await post('/mark', { session_id: session.session_id, student_id: 'X-9', status: 'present', note: 'auditing the course' }, MarkResponseSchema);

    const view = await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema);
    expect(statusOf(view, 'A-1')).toMatchObject({ status: 'present', source: 'mark' });
    expect(view.changes.map((change) => [change.student_id, change.before, change.after, change.note])).toEqual([
      ['A-1', null, 'excused', 'doctor’s note'],
      ['A-1', 'excused', 'present', null],
      ['X-9', 'present', 'present', 'auditing the course'],
    ]);
    expect(view.changes.every((change) => change.at >= first.at)).toBe(true);
    expect(view.review).toEqual([expect.objectContaining({ student_id: 'X-9', flags: ['not_on_roster'], resolved: expect.objectContaining({ note: 'auditing the course' }) })]);

    // The seed-era override is a change of status too: kept in the same trail.
    await post('/override', { session_id: session.session_id, student_id: 'X-9', status: 'rejected', note: 'not in the room' }, OverrideResponseSchema);
    const overridden = await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema);
    expect(statusOf(overridden, 'X-9')).toMatchObject({ status: 'absent', source: 'mark', note: 'not in the room' });
    expect(overridden.changes.at(-1)).toMatchObject({ student_id: 'X-9', before: 'present', after: 'absent', note: 'not in the room' });

    const record = await get(`/student_record?course=${encodeURIComponent('Audit 101')}&student_id=a-1`, StudentRecordResponseSchema);
    expect(record.student).toMatchObject({ student_id: 'A-1', name: 'Ada', on_roster: true });
    expect(record.changes).toHaveLength(2);
  });

  it('refuses a mark with an unknown status, field or session, changing nothing', async () => {
    const session = await createSession({ course: 'Audit 101' });
    const bad = [
      [{ session_id: session.session_id, student_id: 'A-1', status: 'sick' }, 400, 'invalid_request'],
      [{ session_id: session.session_id, student_id: 'A-1', status: 'absent', by: 'me' }, 400, 'invalid_request'],
      [{ session_id: session.session_id, student_id: 'A-1', status: 'absent', note: 'x'.repeat(501) }, 400, 'invalid_request'],
      [{ session_id: '00000000-0000-4000-8000-000000000000', student_id: 'A-1', status: 'absent' }, 404, 'unknown_session'],
    ] as const;
    for (const [body, status, code] of bad) expect(await post('/mark', body, ApiErrorSchema, status)).toMatchObject({ code });
    expect((await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema)).changes).toEqual([]);
  });
});

describe('the audit log (SPEC.md S9)', () => {
  it('[S9] a course’s and a session’s changes, newest first, each with who, when and what; paged with next_before', async () => {
    expect(await post('/roster', { course: 'Log 201', student_ids: ['L-1', 'L-2', 'L-1'] }, RosterSetResponseSchema)).toMatchObject({ students: 2 });
    const session = await createSession({ course: 'Log 201', rotate_seconds: 0 });
    const other = await createSession({ course: 'Log 202', rotate_seconds: 0 });
    await post('/session_options', { session_id: session.session_id, late_after_minutes: 7 }, SessionOptionsResponseSchema);
    await post('/mark', { session_id: session.session_id, student_id: 'L-2', status: 'excused', note: 'field trip' }, MarkResponseSchema);
    await post('/end_session', { session_id: session.session_id }, EndSessionResponseSchema);
    await post('/end_session', { session_id: other.session_id }, EndSessionResponseSchema);

    const course = await get(`/audit_log?course=${encodeURIComponent('Log 201')}`, AuditLogResponseSchema);
    expect(course.events.map((event) => event.action)).toEqual(['end_session', 'mark', 'session_options', 'create_session', 'set_roster']);
    expect(course.next_before).toBeNull();
    const [ended, , options, created, roster] = course.events;
    expect(options).toMatchObject({ actor: 'professor', session_id: session.session_id, detail: { late_after_minutes: 7, late_after_minutes_before: null } });
    expect(created).toMatchObject({ session_id: session.session_id, detail: { course: 'Log 201' } });
    expect(roster).toMatchObject({ session_id: null, detail: { course: 'Log 201', students: 2 } });
    expect(ended!.at).toBeGreaterThanOrEqual(created!.at);
    // Ids fall: newest first. The other course's session is not in this one's log.
    expect(course.events.map((event) => event.id)).toEqual([...course.events.map((event) => event.id)].sort((a, b) => b - a));
    expect(JSON.stringify(course)).not.toContain(other.session_id);

    const one = await get(`/audit_log?session_id=${other.session_id}`, AuditLogResponseSchema);
    expect(one.events.map((event) => [event.action, event.session_id])).toEqual([
      ['end_session', other.session_id],
      ['create_session', other.session_id],
    ]);

    // Paging: two at a time, each page older than the one before, together the whole log.
    const pages: number[][] = [];
    let before: number | null | undefined;
    do {
      const page = await get(`/audit_log?course=${encodeURIComponent('Log 201')}&limit=2${before ? `&before=${before}` : ''}`, AuditLogResponseSchema);
      expect(page.events.length).toBeLessThanOrEqual(2);
      pages.push(page.events.map((event) => event.id));
      before = page.next_before;
    } while (before !== null);
    expect(pages.map((ids) => ids.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(course.events.map((event) => event.id));

    // The whole log holds both courses' events, and no secret of a session.
    const all = await get('/audit_log?limit=1000', AuditLogResponseSchema);
    expect(all.events.map((event) => event.session_id)).toEqual(expect.arrayContaining([session.session_id, other.session_id]));
    expect(JSON.stringify(all)).not.toMatch(/secret|signature|payload_b64/);
  });

  it('refuses a malformed filter or page with 400, saying what to send', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'before=-3', 'before=1.5', 'session_id=not-a-session', 'course=']) {
      const refused = await get(`/audit_log?${query}`, ApiErrorSchema, 400);
      expect(refused, query).toMatchObject({ code: 'invalid_request' });
      expect(refused.error, query).toMatch(/^(limit|before|session_id|course): /);
    }
  });
});

describe('rosters (SPEC.md S6)', () => {
  it('[S6] ids are compared trimmed, in NFC and ignoring case; the roster spelling is shown; a re-import updates, never duplicates', async () => {
    const csv = 'First name,Last name,ID number,Email address\nJosé,Martí, 2022IMT-048 ,jose@example.edu\nAda,L,2022IMT-049,ada@example.edu\n';
    expect(await importRoster('Roster 101', csv)).toMatchObject({ added: 2, updated: 0, skipped: [], students: 2 });
    expect(await importRoster('Roster 101', csv.replace('2022IMT-049', '2022imt-049'))).toMatchObject({ added: 0, updated: 1, unchanged: 1, students: 2 });
    const session = await createSession({ course: 'Roster 101', rotate_seconds: 0 });
    // Scanned with another case: on the roster, so no not_on_roster flag.
    expect((await submit('2022imt-048', session)).body).toMatchObject({ status: 'accepted', flags: [] });
    const view = await get(`/statuses/${session.session_id}`, SessionStatusesResponseSchema);
    expect(view.students.map((student) => [student.student_id, student.status, student.name])).toEqual([
      ['2022IMT-048', 'present', 'José Martí'],
      ['2022imt-049', null, 'Ada L'],
    ]);
  });

  it('refuses an unreadable file, a mapping to a missing column and a file without ids, storing nothing', async () => {
    const course = 'Empty 101';
    expect(await post('/roster/import', { course, csv: 'a,a\n1,2\n', mapping: { student_id: 'a' } }, ApiErrorSchema, 400)).toMatchObject({ code: 'roster_unreadable' });
    expect(await post('/roster/import', { course, csv: 'id\n1\n', mapping: { student_id: 'ID number' } }, ApiErrorSchema, 400)).toMatchObject({ code: 'bad_mapping' });
    expect(await post('/roster/import', { course, csv: 'id\n\n \n', mapping: { student_id: 'id' } }, ApiErrorSchema, 400)).toMatchObject({ code: 'roster_empty' });
    expect(await post('/course', { course, points: { present: 2, late: 1, absent: 0 } }, ApiErrorSchema, 400)).toMatchObject({ code: 'invalid_request' });
    const { courses } = await get('/courses', (await import('../../protocol/index.ts')).CoursesResponseSchema);
    expect(courses.some((entry) => entry.course === course)).toBe(false);
  });
});

describe('sessions of a course', () => {
  it('GET /sessions counts present, late, excused and absent, filtered by course (the Present column is never blank)', async () => {
    await post('/course', { course: 'Counts 101', late_after_minutes: 0 }, CourseResponseSchema);
    await importRoster('Counts 101', 'student_id\nC-1\nC-2\n');
    const session = await createSession({ course: 'Counts 101', rotate_seconds: 0 });
    expect(session.late_after_minutes).toBe(0);
    await waitFor(async () => Date.now() > session.starts_at * 1000 + 1000 || undefined, { message: 'a second into the session' });
    expect((await submit('C-1', session)).body).toMatchObject({ attendance_status: 'late', message: expect.stringMatching(/^Accepted — late/) });
    const { sessions } = await get(`/sessions?course=${encodeURIComponent('Counts 101')}`, SessionsResponseSchema);
    expect(sessions.map((listed) => listed.session_id)).toEqual([session.session_id]);
    expect(sessions[0]!.counts).toMatchObject({ accepted: 1, present: 0, late: 1, absent: 0 });
    const all = await get('/sessions', SessionsResponseSchema);
    expect(all.sessions.length).toBeGreaterThan(1);
  });

  it('[S7] deletes a session without any accepted scan (a test session), and keeps one with attendance', async () => {
    const test = await createSession({ course: 'Delete 101', rotate_seconds: 0 });
    const kept = await createSession({ course: 'Delete 101', rotate_seconds: 0 });
    expect((await submit('D-1', kept)).status).toBe(200);
    expect(await post('/delete_session', { session_id: test.session_id }, ApiErrorSchema, 409)).toMatchObject({ code: 'session_live' });
    await post('/mark', { session_id: test.session_id, student_id: 'D-3', status: 'excused' }, MarkResponseSchema);
    await post('/end_session', { session_id: test.session_id }, EndSessionResponseSchema);
    await post('/end_session', { session_id: kept.session_id }, EndSessionResponseSchema);
    // A stored rejection (scanned after the end) goes with the test session.
    expect((await submit('D-2', test)).body).toMatchObject({ reason: 'outside_window' });
    expect(await post('/delete_session', { session_id: kept.session_id }, ApiErrorSchema, 409)).toMatchObject({ code: 'has_acceptance' });
    expect(await post('/delete_session', { session_id: test.session_id }, DeleteSessionResponseSchema)).toMatchObject({ deleted: true, rejections_deleted: 1 });
    expect(await post('/delete_session', { session_id: test.session_id }, ApiErrorSchema, 404)).toMatchObject({ code: 'unknown_session' });
    const { sessions } = await get(`/sessions?course=${encodeURIComponent('Delete 101')}`, SessionsResponseSchema);
    expect(sessions.map((listed) => listed.session_id)).toEqual([kept.session_id]);
    // [S9] The deleted session's changes stay in its course's log, the deletion with them.
    const log = await get(`/audit_log?course=${encodeURIComponent('Delete 101')}`, AuditLogResponseSchema);
    expect(log.events.filter((event) => event.session_id === test.session_id).map((event) => event.action)).toEqual(['delete_session', 'end_session', 'mark', 'create_session']);
    expect(log.events[0]).toMatchObject({ action: 'delete_session', session_id: test.session_id, detail: { session_id: test.session_id, course: 'Delete 101', rejections_deleted: 1 } });
  });

  it('a static QR made before a scheduled session (printed for the door) works once the session starts', async () => {
    const startsAt = Math.floor(Date.now() / 1000) + 2;
    const printed = await createSession({ course: 'Door 101', starts_at: startsAt, rotate_seconds: 0 });
    expect(printed.slot).toBe(startsAt);
    expect(printed.warning).toBeUndefined();
    await waitFor(async () => Date.now() >= startsAt * 1000 || undefined, { message: 'the session’s start' });
    expect((await submit('door-1', printed)).body).toMatchObject({ status: 'accepted' });
  });

  it('a rotating QR asked for before the start says it will be refused', async () => {
    const early = await createSession({ course: 'Door 101', starts_at: Math.floor(Date.now() / 1000) + 3600, rotate_seconds: 10 });
    expect(early.warning).toMatch(/outside_window/);
    expect((await get(`/qr/${early.session_id}`, QrResponseSchema)).warning).toMatch(/starts at/);
  });

  it('end_session ends at once: not live, and a scan right after is refused outside_window', async () => {
    const session = await createSession({ course: 'End 101', rotate_seconds: 0 });
    const ended = await post('/end_session', { session_id: session.session_id }, EndSessionResponseSchema);
    expect(ended).toMatchObject({ is_live: false, already_ended: false, ended_early: true });
    expect((await submit('late-comer', session)).body).toMatchObject({ status: 'rejected', reason: 'outside_window' });
  });

  it('refuses a report with a bad time zone, format or course', async () => {
    expect(await get('/report?course=Sync%20101&tz=Mars%2FOlympus', ApiErrorSchema, 400)).toMatchObject({ code: 'bad_time_zone' });
    expect(await get('/report?course=Sync%20101&format=pdf', ApiErrorSchema, 400)).toMatchObject({ code: 'invalid_request' });
    expect(await get('/report', ApiErrorSchema, 400)).toMatchObject({ code: 'invalid_request' });
    expect(await get('/report?course=Nowhere%20999', ApiErrorSchema, 404)).toMatchObject({ code: 'unknown_course', error: expect.stringContaining('GET /courses') });
    expect(await get('/student_record?course=Sync%20101&student_id=nobody', ApiErrorSchema, 404)).toMatchObject({ code: 'unknown_student' });
    expect(await get('/report?course=Sync%20101&session_id=00000000-0000-4000-8000-000000000000', ApiErrorSchema, 404)).toMatchObject({ code: 'unknown_session' });
  });
});
