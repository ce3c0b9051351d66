/**
 * The direct path's guards against the real server process: the per-session switch
 * (`direct_path`). Each test speaks from its own loopback source address (127.0.0.x) so the
 * per-address rules of one test do not touch another's.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, requestFrom, submitFrom } from '../helpers/api.ts';
import { removeTempDirs, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';

let server: StartedProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir();
  server = await startRollcall(['start', '--data', dataDir]);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** Rows of the decisions table for a session, read from the SQLite file itself. */
function storedDecisions(sessionId: string): number {
  const db = new Database(join(dataDir, 'validator.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM decisions WHERE session_id = ?').get(sessionId) as { n: number }).n;
  } finally {
    db.close();
  }
}

const professor = (method: 'GET' | 'POST', path: string, body?: unknown) => requestFrom(server.baseUrl, method, path, body);

describe('direct_path: the per-session switch', () => {
  it('is on by default (the seed API unchanged) and shows in create_session, /sessions and the attendance JSON', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    expect(session).toMatchObject({ direct_path: true });
    expect(await submitFrom(server.baseUrl, '127.0.0.11', 'A-1', session)).toMatchObject({ status: 200, body: { status: 'accepted' } });
    const listed = (await professor('GET', '/sessions')).body.sessions.find((s: { session_id: string }) => s.session_id === session.session_id);
    expect(listed).toMatchObject({ direct_path: true });
    expect((await professor('GET', `/attendance/${session.session_id}`)).body.session).toMatchObject({ direct_path: true });
  });

  it('created with direct_path false: a genuine QR is answered 403 direct_path_disabled and nothing is stored', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20, direct_path: false });
    expect(session).toMatchObject({ direct_path: false });
    const answer = await submitFrom(server.baseUrl, '127.0.0.12', 'A-1', session);
    expect(answer).toMatchObject({ status: 403, body: { status: 'rejected', reason: 'direct_path_disabled', session_id: session.session_id } });
    expect(answer.body.message).toMatch(/Rollcall app/);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(storedDecisions(session.session_id)).toBe(0);
    expect((await professor('GET', `/attendance/${session.session_id}`)).body).toMatchObject({ session: { direct_path: false }, counts: { accepted: 0, rejected: 0 } });
  });

  it('POST /session_options closes and reopens the direct path of a live session, and is audited', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    expect(await submitFrom(server.baseUrl, '127.0.0.13', 'B-1', session)).toMatchObject({ status: 200 });
    const closed = await professor('POST', '/session_options', { session_id: session.session_id, direct_path: false });
    expect(closed).toMatchObject({ status: 200, body: { session_id: session.session_id, direct_path: false, is_live: true } });
    expect(await submitFrom(server.baseUrl, '127.0.0.13', 'B-2', session)).toMatchObject({ status: 403, body: { reason: 'direct_path_disabled' } });
    expect(storedDecisions(session.session_id)).toBe(1);
    expect(await professor('POST', '/session_options', { session_id: session.session_id, direct_path: true })).toMatchObject({ status: 200, body: { direct_path: true } });
    expect(await submitFrom(server.baseUrl, '127.0.0.14', 'B-2', session)).toMatchObject({ status: 200, body: { status: 'accepted' } });
    const db = new Database(join(dataDir, 'validator.db'), { readonly: true });
    const audited = db.prepare(`SELECT detail FROM audit_log WHERE session_id = ? AND action = 'session_options' ORDER BY id`).all(session.session_id) as { detail: string }[];
    db.close();
    expect(audited.map((row) => JSON.parse(row.detail))).toEqual([{ direct_path: false }, { direct_path: true }]);
  });

  it('POST /session_options refuses an unknown session, a missing or mistyped switch and unknown fields, and is a professor route', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    expect(await professor('POST', '/session_options', { session_id: '00000000-0000-4000-8000-000000000000', direct_path: false })).toMatchObject({ status: 404, body: { code: 'unknown_session' } });
    expect(await professor('POST', '/session_options', { session_id: session.session_id })).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(await professor('POST', '/session_options', { session_id: session.session_id, direct_path: 'no' })).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(await professor('POST', '/session_options', { session_id: session.session_id, direct_path: false, rotate_seconds: 0 })).toMatchObject({ status: 400 });
    const foreign = await requestFrom(server.baseUrl, 'POST', '/session_options', { session_id: session.session_id, direct_path: false }, { headers: { host: 'evil.example' } });
    expect(foreign).toMatchObject({ status: 403, body: { code: 'professor_only' } });
    expect((await professor('GET', '/sessions')).body.sessions.find((s: { session_id: string }) => s.session_id === session.session_id)).toMatchObject({ direct_path: true });
  });
});

describe('shared_address: one client address submitting for several student ids', () => {
  it('flags the second and later student ids from one address, never rejects them, and leaves other addresses alone', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    expect(await submitFrom(server.baseUrl, '127.0.0.21', 'S-1', session)).toMatchObject({ status: 200, body: { status: 'accepted', flags: [] } });
    expect(await submitFrom(server.baseUrl, '127.0.0.21', 'S-2', session)).toMatchObject({ status: 200, body: { status: 'accepted', flags: ['shared_address'] } });
    expect(await submitFrom(server.baseUrl, '127.0.0.22', 'S-3', session)).toMatchObject({ status: 200, body: { status: 'accepted', flags: [] } });
    expect(await submitFrom(server.baseUrl, '127.0.0.21', 'S-1', session)).toMatchObject({ status: 409, body: { reason: 'duplicate' } });

    const attendance = (await professor('GET', `/attendance/${session.session_id}`)).body;
    const byStudent = Object.fromEntries(attendance.accepted.map((row: { student_id: string }) => [row.student_id, row]));
    expect(byStudent['S-1']).toMatchObject({ flags: [], via: 'direct', address: '127.0.0.21' });
    expect(byStudent['S-2']).toMatchObject({ flags: ['shared_address'], address: '127.0.0.21' });
    expect(byStudent['S-3']).toMatchObject({ flags: [], address: '127.0.0.22' });
    expect(attendance.counts).toEqual({ accepted: 3, rejected: 1, flagged: 1 });

    const csv = await (await fetch(`${server.baseUrl}/attendance/${session.session_id}.csv`)).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('student_id,status,reason,flags,via,decided_at,device,note,address');
    expect(lines.find((line) => line.startsWith('S-2,'))).toMatch(/^S-2,accepted,ok,shared_address,direct,[^,]+,,,127\.0\.0\.21$/);
  });

  it('counts a session only with itself: the same address in another session starts unflagged', async () => {
    const first = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    const second = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    expect((await submitFrom(server.baseUrl, '127.0.0.23', 'T-1', first)).body.flags).toEqual([]);
    expect((await submitFrom(server.baseUrl, '127.0.0.23', 'T-2', second)).body.flags).toEqual([]);
    expect((await submitFrom(server.baseUrl, '127.0.0.23', 'T-3', second)).body.flags).toEqual(['shared_address']);
  });
});
