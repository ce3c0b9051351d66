/**
 * Malformed and hostile requests against the real server: each gets a 4xx JSON answer that
 * names the problem (never a 500, never a crash), and the database is unchanged afterwards
 * (row counts of every table a request can write, read through the store, plus the server still
 * answering).
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url } from '../../crypto/index.ts';
import { decodeQrPayload, encodeQrPayload } from '../../protocol/index.ts';
import { removeTempDirs, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { logRecords } from '../helpers/logs.ts';
import { ValidatorStore } from '../../validator/index.ts';

let server: StartedProcess;
let dataDir: string;
let session: { session_id: string; payload_b64: string; signature: string };

/**
 * Row counts of the tables requests can write. Not `connection_intervals`: the follower records
 * there when its link to the session's room comes up or goes down, on its own schedule (its
 * first connection lands some 250 ms after the session is made, later on a busy machine, and any
 * reconnection adds a row), so counting it made "unchanged" fail with no request at fault.
 */
function tableCounts(): Record<string, number> {
  const store = ValidatorStore.openReadOnly(dataDir);
  try {
    const { connection_intervals: _followerLink, ...counts } = store.rowCounts();
    return counts;
  } finally {
    store.close();
  }
}

/** A raw request (any method, headers, body bytes) so nothing in fetch tidies it up. */
function raw(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  dataDir = tempDir();
  // Every case comes from this one address, faster than the direct path's rate limit allows;
  // the limit has its own tests (direct-path.test.ts).
  server = await startRollcall(['start', '--data', dataDir, '--direct-rate', '0']);
  const created = await fetch(`${server.baseUrl}/create_session`, { method: 'POST', headers: json, body: JSON.stringify({ course: 'Networks', duration_minutes: 20 }) });
  session = (await created.json()) as typeof session;
  const accepted = await fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: 'present-1', payload_b64: session.payload_b64, signature: session.signature }) });
  expect(accepted.status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

const submitBody = (fields: Record<string, unknown>) => JSON.stringify({ student_id: '2022IMT-048', payload_b64: session.payload_b64, signature: session.signature, ...fields });

function forgedPayload(change: Record<string, unknown>): string {
  const decoded = decodeQrPayload(session.payload_b64);
  if (!decoded.ok) throw new Error('fixture does not decode');
  return encodeQrPayload({ ...decoded.value, ...change } as never);
}

type Case = [name: string, send: () => Promise<{ status: number; type: string; text: string }>, status: number, mentions: RegExp];

const cases: Case[] = [
  ['submit: bad JSON', () => raw('POST', '/submit_attendance', '{"student_id": ', json), 400, /not valid JSON/],
  ['submit: empty body', () => raw('POST', '/submit_attendance', '', json), 400, /empty/],
  ['submit: a JSON array', () => raw('POST', '/submit_attendance', '[1,2]', json), 400, /JSON object/],
  ['submit: a JSON string', () => raw('POST', '/submit_attendance', '"hello"', json), 400, /JSON object/],
  ['submit: missing signature', () => raw('POST', '/submit_attendance', JSON.stringify({ student_id: 'x', payload_b64: session.payload_b64 }), json), 400, /signature/],
  ['submit: missing student_id', () => raw('POST', '/submit_attendance', JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature }), json), 400, /student_id/],
  ['submit: student_id is a number', () => raw('POST', '/submit_attendance', submitBody({ student_id: 12345 }), json), 400, /student_id/],
  ['submit: student_id is an object', () => raw('POST', '/submit_attendance', submitBody({ student_id: { $ne: null } }), json), 400, /student_id/],
  ['submit: student_id of 10,000 characters', () => raw('POST', '/submit_attendance', submitBody({ student_id: 'x'.repeat(10_000) }), json), 400, /longer than/],
  ['submit: student_id with a newline', () => raw('POST', '/submit_attendance', submitBody({ student_id: 'a\nb' }), json), 400, /control/],
  ['submit: signature is not base64url', () => raw('POST', '/submit_attendance', submitBody({ signature: '!!!not-base64!!!' }), json), 400, /signature/],
  ['submit: payload_b64 is null', () => raw('POST', '/submit_attendance', submitBody({ payload_b64: null }), json), 400, /payload_b64/],
  ['submit: an unknown extra field', () => raw('POST', '/submit_attendance', submitBody({ admin: true }), json), 400, /admin|unrecognized/i],
  ['submit: a body over 16 KiB', () => raw('POST', '/submit_attendance', submitBody({ pad: 'x'.repeat(20_000) }), json), 413, /larger than/],
  ['submit: a 2 MiB body', () => raw('POST', '/submit_attendance', 'x'.repeat(2 * 1024 * 1024), json), 413, /larger than/],
  ['submit: invalid UTF-8', () => raw('POST', '/submit_attendance', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), json), 400, /JSON/],
  ['submit: unknown session (well-formed, self-signed QR)', () => raw('POST', '/submit_attendance', submitBody({ payload_b64: forgedPayload({ s: '00000000-0000-4000-8000-000000000000' }) }), json), 404, /unknown session/],
  ['submit: forged payload (extended end, old signature)', () => raw('POST', '/submit_attendance', submitBody({ payload_b64: forgedPayload({ e: 4_000_000_000 }) }), json), 403, /signature|signed/],
  ['submit: forged signature of zeros', () => raw('POST', '/submit_attendance', submitBody({ signature: toBase64Url(new Uint8Array(32)) }), json), 403, /signature/],
  ['submit: GET instead of POST', () => raw('GET', '/submit_attendance'), 405, /POST/],
  ['create_session: bad JSON', () => raw('POST', '/create_session', '{course:', json), 400, /not valid JSON/],
  ['create_session: duration as a string', () => raw('POST', '/create_session', JSON.stringify({ course: 'Networks', duration_minutes: '20' }), json), 400, /duration_minutes/],
  ['create_session: negative duration', () => raw('POST', '/create_session', JSON.stringify({ course: 'Networks', duration_minutes: -5 }), json), 400, /duration_minutes/],
  ['create_session: missing course', () => raw('POST', '/create_session', JSON.stringify({ duration_minutes: 20 }), json), 400, /course/],
  ['create_session: course of 500 characters', () => raw('POST', '/create_session', JSON.stringify({ course: 'N'.repeat(500), duration_minutes: 20 }), json), 400, /course/],
  ['create_session: rotate_seconds fractional', () => raw('POST', '/create_session', JSON.stringify({ course: 'Networks', duration_minutes: 20, rotate_seconds: 2.5 }), json), 400, /rotate_seconds/],
  ['create_session: starts_at as text', () => raw('POST', '/create_session', JSON.stringify({ course: 'Networks', duration_minutes: 20, starts_at: 'tomorrow' }), json), 400, /starts_at/],
  ['create_session: form-encoded body (cross-site form)', () => raw('POST', '/create_session', 'course=Networks&duration_minutes=20', { 'content-type': 'application/x-www-form-urlencoded' }), 415, /Content-Type: application\/json/],
  ['create_session: huge body', () => raw('POST', '/create_session', JSON.stringify({ course: 'x'.repeat(100_000), duration_minutes: 20 }), json), 413, /larger than/],
  ['end_session: unknown session', () => raw('POST', '/end_session', JSON.stringify({ session_id: '00000000-0000-4000-8000-000000000000' }), json), 404, /no session/],
  ['end_session: not a session id', () => raw('POST', '/end_session', JSON.stringify({ session_id: "1' OR '1'='1" }), json), 400, /session_id/],
  ['override: bad status', () => raw('POST', '/override', JSON.stringify({ session_id: session.session_id, student_id: 'x', status: 'present' }), json), 400, /status/],
  ['override: reject a student who is not present', () => raw('POST', '/override', JSON.stringify({ session_id: session.session_id, student_id: 'nobody', status: 'rejected' }), json), 409, /not marked present/],
  ['attendance: not a session id', () => raw('GET', '/attendance/../../etc/passwd'), 404, /nothing at|not a session|session id/],
  ['attendance: unknown session', () => raw('GET', '/attendance/00000000-0000-4000-8000-000000000000'), 404, /no session/],
  ['qr: upper-case id', () => raw('GET', `/qr/${session.session_id.toUpperCase()}`), 400, /session id/],
  ['unknown route', () => raw('GET', '/admin'), 404, /nothing at/],
  ['professor route with a wrong token', () => raw('GET', '/sessions', undefined, { authorization: 'Bearer nope' }), 403, /token/],
];

describe('malformed and hostile requests', () => {
  it(`has at least 20 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const [name, send, status, mentions] of cases) {
    it(`${name} → ${status} JSON naming the problem, database unchanged`, async () => {
      const before = tableCounts();
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(answer.type).toMatch(/^application\/json/);
      const body = JSON.parse(answer.text) as { error?: string };
      expect(body.error).toMatch(mentions);
      expect(tableCounts()).toEqual(before);
    });
  }

  it('a request declaring a 1 TB body is answered 413 at once, before any body byte, and its connection closed', async () => {
    for (const path of ['/submit_attendance', '/create_session']) {
      const socket = connect(server.port, '127.0.0.1');
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n`);
      // No body byte is ever sent: a server that waits for the body never answers nor closes
      // (the test's timeout then fails it); the close event is the proof, no timer guesses.
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: expect.stringMatching(/larger than/) });
    }
  });

  it('after all of them the server is alive and the one real decision is intact', async () => {
    const response = await fetch(`${server.baseUrl}/attendance/${session.session_id}`, { headers: { accept: 'application/json' } });
    const attendance = (await response.json()) as { counts: Record<string, number> };
    expect(attendance.counts).toEqual({ accepted: 1, rejected: 0, flagged: 0 });
    const answered = logRecords(server.stderr()).filter((record) => record.msg === 'http');
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.filter((record) => Number(record.status) >= 500)).toEqual([]);
    expect(tableCounts()).toMatchObject({ sessions: 1, decisions: 1 });
  });
});
