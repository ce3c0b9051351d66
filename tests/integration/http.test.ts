/**
 * The seed's walkthrough against the real server process over HTTP (issue 2's "done when"):
 * create a session, accepted / duplicate / bad_signature / outside_window / stale_qr, the
 * rotating QR, attendance in three forms, overrides, professor access, and a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../crypto/index.ts';
import { decodeQrPayload, encodeQrPayload } from '../../protocol/index.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';

let server: StartedProcess;
let dataDir: string;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(server.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(server.baseUrl + path, { headers: { accept: 'application/json', ...headers } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const createSession = async (body: Record<string, unknown> = {}) => {
  const answer = await post('/create_session', { course: 'Networks', duration_minutes: 20, ...body });
  expect(answer.status).toBe(201);
  return answer.body;
};

const submit = (studentId: string, qr: Record<string, any>) => post('/submit_attendance', { student_id: studentId, payload_b64: qr.payload_b64, signature: qr.signature });

beforeAll(async () => {
  dataDir = tempDir();
  server = await startRollcall(['start', '--data', dataDir]);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('the seed walkthrough', () => {
  it('create_session returns a UUID session id, the signed QR, its URL and the window', async () => {
    const session = await createSession();
    expect(session.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(session.qr_text).toBe(`${server.baseUrl}/?rv=2#/s/${session.payload_b64}.${session.signature}`);
    expect(session.ends_at - session.starts_at).toBe(1200);
    const payload = decodeQrPayload(session.payload_b64);
    expect(payload.ok && payload.value).toMatchObject({ v: 1, s: session.session_id, c: 'Networks', a: session.starts_at, e: session.ends_at, r: 10 });
    expect(JSON.stringify(session)).not.toMatch(/secret/);
  });

  it('accepted for a fresh student, duplicate for the same id, with latency', async () => {
    const session = await createSession();
    const first = await submit('2022IMT-048', session);
    expect(first).toMatchObject({ status: 200, body: { status: 'accepted', reason: 'ok', flags: [] } });
    expect(typeof first.body.latency_ms).toBe('number');
    expect(await submit('2022IMT-048', session)).toMatchObject({ status: 409, body: { status: 'rejected', reason: 'duplicate' } });
    expect(await submit('2022IMT-049', session)).toMatchObject({ status: 200, body: { status: 'accepted' } });
  });

  it('an NFD spelling of an accepted NFC student id is a duplicate: one student, not two', async () => {
    const session = await createSession();
    expect(await submit('Jos\u00e9', session)).toMatchObject({ status: 200, body: { status: 'accepted' } });
    expect(await submit('Jose\u0301', session)).toMatchObject({ status: 409, body: { status: 'rejected', reason: 'duplicate' } });
    const attendance = await get(`/attendance/${session.session_id}`);
    expect(attendance.body.accepted.map((row: { student_id: string }) => row.student_id)).toEqual(['Jos\u00e9']);
  });

  it('bad_signature for a tampered signature, a tampered payload, and a payload whose window was pushed out', async () => {
    const session = await createSession();
    const signature = fromBase64Url(session.signature);
    signature[5]! ^= 0x10;
    expect((await submit('s1', { payload_b64: session.payload_b64, signature: toBase64Url(signature) })).body.reason).toBe('bad_signature');
    const payloadChars = session.payload_b64.split('');
    payloadChars[20] = payloadChars[20] === 'A' ? 'B' : 'A';
    expect((await submit('s1', { payload_b64: payloadChars.join(''), signature: session.signature })).body.reason).toBe('bad_signature');
    const decoded = decodeQrPayload(session.payload_b64);
    if (!decoded.ok) throw new Error('QR does not decode');
    const pushed = encodeQrPayload({ ...decoded.value, e: decoded.value.e + 86_400 });
    const answer = await submit('s1', { payload_b64: pushed, signature: session.signature });
    expect(answer).toMatchObject({ status: 403, body: { status: 'rejected', reason: 'bad_signature' } });
    expect((await get(`/attendance/${session.session_id}`)).body.counts).toEqual({ accepted: 0, rejected: 0, flagged: 0 });
  });

  it('outside_window for a session that has ended, one not yet begun, and one ended early', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const ended = await createSession({ starts_at: nowS - 7200 });
    expect(await submit('s2', ended)).toMatchObject({ status: 422, body: { reason: 'outside_window' } });
    const future = await createSession({ starts_at: nowS + 3600 });
    expect(await submit('s2', future)).toMatchObject({ status: 422, body: { reason: 'outside_window' } });
    const live = await createSession({ rotate_seconds: 0 });
    expect((await post('/end_session', { session_id: live.session_id })).status).toBe(200);
    await waitFor(async () => (await submit('s2', live)).body.reason === 'outside_window', { timeoutMs: 10_000, intervalMs: 200, message: 'the ended session to refuse' });
  });

  it('stale_qr for a fast-rotating QR submitted after it expired', async () => {
    const session = await createSession({ rotate_seconds: 2, skew_seconds: 1 });
    const qr = (await get(`/qr/${session.session_id}`)).body;
    expect(qr).toMatchObject({ rotate_seconds: 2, slot: expect.any(Number), expires_at: (qr.slot + 2) * 1000 });
    // Wait on the server's clock (not ours) until the QR is past t + r + skew.
    await waitFor(async () => (await get(`/qr/${session.session_id}`)).body.server_time_ms > (qr.slot + 2 + 1) * 1000 + 500, { timeoutMs: 15_000, intervalMs: 250, message: 'the QR to expire' });
    expect(await submit('2022IMT-100', qr)).toMatchObject({ status: 422, body: { status: 'rejected', reason: 'stale_qr' } });
    const current = (await get(`/qr/${session.session_id}`)).body;
    expect(current.slot).toBeGreaterThan(qr.slot);
    expect(await submit('2022IMT-100', current)).toMatchObject({ status: 200, body: { status: 'accepted' } });
  });
});

describe('QR, attendance and overrides', () => {
  it('GET /qr/<id> answers the current QR as JSON and as an SVG image', async () => {
    const session = await createSession();
    await submit('2022IMT-048', session);
    const qr = await get(`/qr/${session.session_id}`);
    expect(qr.status).toBe(200);
    expect(qr.body).toMatchObject({ session_id: session.session_id, course: 'Networks', accepted_count: 1, is_live: true });
    expect(qr.body.qr_text).toContain('/?rv=2#/s/');
    const svg = await fetch(`${server.baseUrl}/qr/${session.session_id}.svg`);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toMatch(/^<svg[\s\S]*<path[\s\S]*<\/svg>\s*$/);
  });

  it('attendance is HTML by default, JSON on request, CSV at .csv; overrides show up and are audited', async () => {
    const session = await createSession();
    await submit('2022IMT-048', session);
    await submit('=HYPERLINK("x")', session);
    expect(await post('/override', { session_id: session.session_id, student_id: '2022IMT-077', status: 'accepted', note: 'phone broken' })).toMatchObject({ status: 200 });
    expect(await post('/override', { session_id: session.session_id, student_id: '2022IMT-077', status: 'accepted' })).toMatchObject({ status: 409 });
    expect(await post('/override', { session_id: session.session_id, student_id: '2022IMT-048', status: 'rejected', note: 'left early' })).toMatchObject({ status: 200 });
    const json = (await get(`/attendance/${session.session_id}`)).body;
    expect(json.accepted.map((row: { student_id: string }) => row.student_id).sort()).toEqual(['2022IMT-077', '=HYPERLINK("x")']);
    expect(json.accepted.find((row: { via: string }) => row.via === 'manual')).toMatchObject({ student_id: '2022IMT-077', note: 'phone broken' });
    expect(json.rejected).toEqual([expect.objectContaining({ student_id: '2022IMT-048', reason: 'manual', via: 'manual' })]);
    // Both direct submissions came from this test's one address: the second is flagged shared_address.
    expect(json.accepted.find((row: { student_id: string }) => row.student_id === '=HYPERLINK("x")')).toMatchObject({ flags: ['shared_address'], address: '127.0.0.1' });
    expect(json.counts).toEqual({ accepted: 2, rejected: 1, flagged: 1 });
    expect(JSON.stringify(json)).not.toMatch(/secret/i);
    const html = await fetch(`${server.baseUrl}/attendance/${session.session_id}`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toContain('Networks');
    expect(page).toContain('=HYPERLINK(&#34;x&#34;)');
    const csv = await (await fetch(`${server.baseUrl}/attendance/${session.session_id}.csv`)).text();
    expect(csv.split('\n')[0]).toBe('student_id,status,reason,flags,via,decided_at,device,note,address');
    expect(csv).toContain('2022IMT-077,accepted,ok');
    expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('GET /sessions lists sessions with counts and no secrets', async () => {
    const { body } = await get('/sessions');
    expect(body.sessions.length).toBeGreaterThan(3);
    expect(body.sessions[0]).toHaveProperty('counts');
    expect(JSON.stringify(body)).not.toMatch(/secret|box_secret/);
  });
});

describe('professor routes', () => {
  it('with --require-token, refuse loopback peers without the token and answer with it', async () => {
    const dir = tempDir();
    const guarded = await startRollcall(['start', '--data', dir, '--require-token']);
    try {
      const token = /Admin token[^:]*: (\S+)/.exec(guarded.stdout())?.[1];
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const create = (headers: Record<string, string>) =>
        fetch(`${guarded.baseUrl}/create_session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ course: 'Networks', duration_minutes: 20 }) });
      const refused = await create({});
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'token_required' });
      expect((await create({ authorization: 'Bearer wrong-token-wrong-token-wrong-token-000000' })).status).toBe(403);
      expect((await fetch(`${guarded.baseUrl}/sessions`)).status).toBe(403);
      expect((await fetch(`${guarded.baseUrl}/audit_log`)).status).toBe(403);
      const created = await create({ authorization: `Bearer ${token}` });
      expect(created.status).toBe(201);
      const session = (await created.json()) as { payload_b64: string; signature: string };
      // The student route stays public.
      const submitted = await fetch(`${guarded.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: 'x1', payload_b64: session.payload_b64, signature: session.signature }) });
      expect(submitted.status).toBe(200);
      expect(guarded.stderr()).not.toContain(token!);
    } finally {
      await guarded.stop();
    }
  });

  it('refuses a loopback peer that calls itself by a foreign host name (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/sessions', headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe('restart', () => {
  it('keeps every session and decision across a restart (and after a crash)', async () => {
    const dir = tempDir();
    let first = await startRollcall(['start', '--data', dir]);
    const createAt = async (base: string) =>
      (await (await fetch(`${base}/create_session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ course: 'Networks', duration_minutes: 20, rotate_seconds: 0 }) })).json()) as Record<string, any>;
    const submitAt = async (base: string, studentId: string, qr: Record<string, any>) =>
      (await (await fetch(`${base}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: studentId, payload_b64: qr.payload_b64, signature: qr.signature }) })).json()) as Record<string, any>;
    const session = await createAt(first.baseUrl);
    expect((await submitAt(first.baseUrl, 'A-1', session)).status).toBe('accepted');
    expect((await submitAt(first.baseUrl, 'A-1', session)).reason).toBe('duplicate');
    await first.stop();
    let second = await startRollcall(['start', '--data', dir]);
    const attendance = (await (await fetch(`${second.baseUrl}/attendance/${session.session_id}`, { headers: { accept: 'application/json' } })).json()) as Record<string, any>;
    expect(attendance.counts).toEqual({ accepted: 1, rejected: 1, flagged: 0 });
    // Same secret after restart: the old QR still verifies, and the student is still present.
    expect((await submitAt(second.baseUrl, 'A-1', session)).reason).toBe('duplicate');
    expect((await submitAt(second.baseUrl, 'A-2', session)).status).toBe('accepted');
    await second.kill();
    const third = await startRollcall(['start', '--data', dir]);
    const after = (await (await fetch(`${third.baseUrl}/attendance/${session.session_id}`, { headers: { accept: 'application/json' } })).json()) as Record<string, any>;
    // A-2 came from the address A-1 used: flagged shared_address, which the restarts kept.
    expect(after.counts).toEqual({ accepted: 2, rejected: 2, flagged: 1 });
    expect(/Admin token[^:]*: (\S+)/.exec(third.stdout())?.[1]).toBe(/Admin token[^:]*: (\S+)/.exec(first.stdout())?.[1]);
    await third.stop();
    first = second = third;
  });
});
