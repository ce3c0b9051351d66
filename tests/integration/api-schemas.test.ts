/**
 * protocol/api.ts is the one source of the HTTP API's shapes: every route of a real `rollcall
 * start` answers a body its response schema parses (the same schemas the CLI and the dashboard
 * parse with), every request schema refuses unknown fields the way the validator does, and the
 * term's routes refuse hostile input (oversized roster files, formula cells, bad time zones)
 * without changing anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as api from '../../protocol/api.ts';
import { apiCall } from '../helpers/api.ts';
import { removeTempDirs, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';

let server: StartedProcess;

beforeAll(async () => {
  server = await startRollcall(['start', '--data', tempDir('rollcall-api-schemas-')]);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

const get = <T>(path: string, schema: z.ZodType<T>, status = 200) => apiCall(server.baseUrl, 'GET', path, schema, undefined, status);
const post = <T>(path: string, body: unknown, schema: z.ZodType<T>, status = 200) => apiCall(server.baseUrl, 'POST', path, schema, body, status);

describe('every route answers its protocol/api.ts schema', () => {
  it('the seed-era routes and the term’s', async () => {
    await get('/healthz', api.HealthResponseSchema);
    await post('/login_link', {}, api.LoginLinkResponseSchema, 201);
    await post('/logout', {}, api.LogoutResponseSchema);
    const created = await post('/create_session', { course: 'Schemas', duration_minutes: 20, rotate_seconds: 0, late_after_minutes: 5 }, api.CreateSessionResponseSchema, 201);
    const submitted = await fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: 'S-1', payload_b64: created.payload_b64, signature: created.signature }) });
    expect(api.SubmitAttendanceResponseSchema.parse(await submitted.json())).toMatchObject({ status: 'accepted', attendance_status: 'present' });
    const duplicate = await fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: 'S-1', payload_b64: created.payload_b64, signature: created.signature }) });
    expect(api.SubmitAttendanceResponseSchema.parse(await duplicate.json())).toMatchObject({ status: 'rejected', reason: 'duplicate' });
    const id = created.session_id;
    await get(`/qr/${id}`, api.QrResponseSchema);
    await get(`/attendance/${id}.json`, api.AttendanceResponseSchema);
    await get('/sessions', api.SessionsResponseSchema);
    await post('/session_options', { session_id: id, direct_path: true }, api.SessionOptionsResponseSchema);
    await post('/override', { session_id: id, student_id: 'S-2', status: 'accepted' }, api.OverrideResponseSchema);
    await post('/roster', { course: 'Schemas', student_ids: ['S-1', 'S-2'] }, api.RosterSetResponseSchema);
    await get('/roster?course=Schemas', api.RosterResponseSchema);
    await post('/course', { course: 'Schemas', threshold_percent: 70 }, api.CourseResponseSchema);
    await get('/courses', api.CoursesResponseSchema);
    await post('/roster/preview', { course: 'Schemas', csv: 'student_id\nS-3\n' }, api.RosterPreviewResponseSchema);
    await post('/roster/import', { course: 'Schemas', csv: 'student_id\nS-3\n', mapping: { student_id: 'student_id' } }, api.RosterImportResponseSchema);
    await post('/mark', { session_id: id, student_id: 'S-3', status: 'excused', note: 'field trip' }, api.MarkResponseSchema);
    await get(`/statuses/${id}`, api.SessionStatusesResponseSchema);
    await get('/report?course=Schemas&tz=UTC', api.ReportResponseSchema);
    await get('/student_record?course=Schemas&student_id=S-3', api.StudentRecordResponseSchema);
    await post('/end_session', { session_id: id }, api.EndSessionResponseSchema);
    const test = await post('/create_session', { course: 'Schemas', duration_minutes: 1, starts_at: Math.floor(Date.now() / 1000) - 600 }, api.CreateSessionResponseSchema, 201);
    await post('/delete_session', { session_id: test.session_id }, api.DeleteSessionResponseSchema);
    const audit = await get('/audit_log?course=Schemas', api.AuditLogResponseSchema);
    expect(audit.events[0]).toMatchObject({ action: 'delete_session', detail: { session_id: test.session_id } });
    expect(await get('/nowhere', api.ApiErrorSchema, 404)).toMatchObject({ code: 'not_found' });
  });

  it('the validator refuses what the request schemas refuse: unknown fields, wrong types', async () => {
    const session = await post('/create_session', { course: 'Schemas', duration_minutes: 20 }, api.CreateSessionResponseSchema, 201);
    const cases: [string, z.ZodType, Record<string, unknown>][] = [
      ['/create_session', api.CreateSessionRequestSchema, { course: 'Schemas', duration_minutes: 20, late_after: 5 }],
      ['/create_session', api.CreateSessionRequestSchema, { course: 'Schemas', duration_minutes: 20, late_after_minutes: -1 }],
      ['/mark', api.MarkRequestSchema, { session_id: session.session_id, student_id: 'S-1', status: 'present', reviewed: true }],
      ['/course', api.CourseRequestSchema, { course: 'Schemas', id_case: 'upper' }],
      ['/course', api.CourseRequestSchema, { course: 'Schemas', points: { present: 2, late: 1, excused: null, absent: 0, bonus: 1 } }],
      ['/roster/import', api.RosterImportRequestSchema, { course: 'Schemas', csv: 'id\n1\n', mapping: { student_id: 'id', phone: 'x' } }],
      ['/delete_session', api.DeleteSessionRequestSchema, { session_id: 'not-a-uuid' }],
    ];
    for (const [path, schema, body] of cases) {
      expect(schema.safeParse(body).success, path).toBe(false);
      expect(await post(path, body, api.ApiErrorSchema, 400), path).toMatchObject({ code: 'invalid_request' });
    }
  });
});

describe('the term’s routes under hostile input', () => {
  it('a roster file over 4 MiB is refused 413 before it is read; nothing is stored', async () => {
    const { request } = await import('node:http');
    const url = new URL('/roster/import', server.baseUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(5 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      // Only the start of the declared body: the answer must come before the rest.
      req.write('{"course":"Hostile","csv":"');
    });
    expect(status).toBe(413);
    const roster = await get('/roster?course=Hostile', api.RosterResponseSchema);
    expect(roster.students).toEqual([]);
  });

  it('formula cells in a roster stay text in every export; a time zone that is not one is refused', async () => {
    await post('/roster/import', { course: 'Hostile', csv: 'student_id,name\n=HYPERLINK("http://evil"),@SUM(1)\n', mapping: { student_id: 'student_id', name: 'name' } }, api.RosterImportResponseSchema);
    await post('/create_session', { course: 'Hostile', duration_minutes: 1, starts_at: Math.floor(Date.now() / 1000) - 600, late_sync_minutes: 0 }, api.CreateSessionResponseSchema, 201);
    for (const format of ['csv', 'moodle', 'canvas']) {
      const text = await (await fetch(`${server.baseUrl}/report?course=Hostile&format=${format}&tz=UTC`)).text();
      expect(text, format).toContain(`'=HYPERLINK`);
      expect(text, format).not.toMatch(/(^|,)"?=HYPERLINK/m);
    }
    for (const tz of ['../../etc/passwd', 'UTC%0d%0aX-Evil: 1', 'x'.repeat(100)]) {
      expect(await get(`/report?course=Hostile&tz=${tz}`, api.ApiErrorSchema, 400)).toMatchObject({ code: 'bad_time_zone' });
    }
  });
});
