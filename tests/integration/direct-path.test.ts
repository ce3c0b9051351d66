/**
 * The direct path's guards against the real server process: the per-session switch
 * (`direct_path`), the `shared_address` flag, the rate limit per client address and the cap on
 * stored rejections per address. Each test speaks from its own loopback source address
 * (127.0.0.x) so the per-address rules of one test do not touch another's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, requestFrom, submitFrom } from '../helpers/api.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { readValidatorStore } from '../helpers/validatorStore.ts';

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

/** Decisions stored for a session, read from the validator's store (not its HTTP answers). */
function storedDecisions(sessionId: string, validatorDataDir = dataDir): number {
  return readValidatorStore(validatorDataDir, (store) => store.countDecisions(sessionId).decisions);
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
    const audited = readValidatorStore(dataDir, (store) => store.auditLog(session.session_id)).filter((event) => event.action === 'session_options');
    expect(audited.map((event) => event.detail)).toEqual([{ direct_path: false }, { direct_path: true }]);
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

/**
 * Sends waves of `wave` requests at once until one is answered 429, and says how long that took:
 * the bucket refills 5 a second while they travel, so on a busy machine a single wave may all
 * get through; what the limit promises is "at most 20 + 5 per second elapsed", which is checked.
 */
async function floodUntilLimited<T extends { status: number }>(wave: number, send: (i: number) => Promise<T>): Promise<{ answers: T[]; allowedAtMost: number }> {
  const answers: T[] = [];
  const startedMs = performance.now();
  while (!answers.some((answer) => answer.status === 429)) {
    answers.push(...(await Promise.all(Array.from({ length: wave }, (_, i) => send(answers.length + i)))));
  }
  const elapsedS = (performance.now() - startedMs) / 1000;
  return { answers, allowedAtMost: 20 + Math.ceil(5 * elapsedS) };
}

describe('rate limit per client address (default: 5 per second, 20 at once)', () => {
  it('answers past the burst 429 with Retry-After and a JSON body, stores nothing for those, and admits the address again after Retry-After', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    const before = storedDecisions(session.session_id);
    const { answers, allowedAtMost } = await floodUntilLimited(40, (i) => submitFrom(server.baseUrl, '127.0.0.31', `R-${i}`, session));
    const limited = answers.filter((answer) => answer.status === 429);
    const decided = answers.filter((answer) => answer.status !== 429);
    expect(decided.length).toBeGreaterThanOrEqual(20);
    expect(decided.length).toBeLessThanOrEqual(allowedAtMost);
    expect(decided.every((answer) => answer.status === 200)).toBe(true);
    const refusal = limited[0]!;
    expect(refusal.body).toMatchObject({ status: 'rejected', reason: 'rate_limited', flags: [], retry_after_s: 1 });
    expect(refusal.body.error).toMatch(/127\.0\.0\.31.*5 per second/);
    expect(refusal.headers['retry-after']).toBe('1');
    expect(refusal.headers['access-control-expose-headers']).toMatch(/retry-after/);
    expect(storedDecisions(session.session_id) - before).toBe(decided.length);

    // Another address is not held up by the first one's flood.
    expect(await submitFrom(server.baseUrl, '127.0.0.32', 'R-other', session)).toMatchObject({ status: 200 });
    // Retry-After is a promise: after it, the address is answered again.
    await new Promise((resolve) => setTimeout(resolve, Number(refusal.headers['retry-after']) * 1000));
    expect(await submitFrom(server.baseUrl, '127.0.0.31', 'R-late', session)).toMatchObject({ status: 200, body: { status: 'accepted' } });
  });

  it('counts malformed requests too (the limit runs before the body is read)', async () => {
    const { answers: bad, allowedAtMost } = await floodUntilLimited(30, () => requestFrom(server.baseUrl, 'POST', '/submit_attendance', { student_id: 'x' }, { localAddress: '127.0.0.33' }));
    const read = bad.filter((answer) => answer.status === 400).length;
    expect(read).toBeGreaterThanOrEqual(20);
    expect(read).toBeLessThanOrEqual(allowedAtMost);
    expect(read + bad.filter((answer) => answer.status === 429).length).toBe(bad.length);
  });
});

describe('cap on stored rejections per session and client address (50)', () => {
  let unlimited: StartedProcess;
  let unlimitedDir: string;
  beforeAll(async () => {
    unlimitedDir = tempDir();
    // The rate limit off, so 60 duplicates arrive at once; the cap is what is under test.
    unlimited = await startRollcall(['start', '--data', unlimitedDir, '--direct-rate', '0']);
  });
  afterAll(async () => {
    await unlimited?.stop();
  });

  it('answers duplicates past the cap as duplicate, counts them per address, never caps acceptances, and keeps the count across a restart', async () => {
    const session = await createSession(unlimited.baseUrl, { course: 'Networks', duration_minutes: 20 });
    expect((await submitFrom(unlimited.baseUrl, '127.0.0.41', 'D-1', session)).status).toBe(200);
    const duplicates = await Promise.all(Array.from({ length: 60 }, () => submitFrom(unlimited.baseUrl, '127.0.0.41', 'D-1', session)));
    expect(duplicates.every((answer) => answer.status === 409 && answer.body.reason === 'duplicate')).toBe(true);
    // A new student from that address is still accepted and stored (flagged), and another address still stores its rejections.
    expect(await submitFrom(unlimited.baseUrl, '127.0.0.41', 'D-2', session)).toMatchObject({ status: 200, body: { flags: ['shared_address'] } });
    expect((await submitFrom(unlimited.baseUrl, '127.0.0.42', 'D-1', session)).status).toBe(409);

    const attendance = (await requestFrom(unlimited.baseUrl, 'GET', `/attendance/${session.session_id}`, undefined)).body;
    expect(attendance.counts).toEqual({ accepted: 2, rejected: 51, flagged: 1 });
    expect(attendance.rejected.filter((row: { address: string }) => row.address === '127.0.0.41')).toHaveLength(50);
    expect(attendance.unstored_rejections).toEqual([{ address: '127.0.0.41', count: 10, last_at: expect.any(Number) }]);
    expect(storedDecisions(session.session_id, unlimitedDir)).toBe(53);

    const text = await runCli(['attendance', session.session_id, '--server', unlimited.baseUrl]);
    expect(text.stdout).toMatch(/\+ 10 more direct rejections from 127\.0\.0\.41, counted but not stored/);
    expect(text.stdout).toMatch(/accepted\s+D-2\s+\S+\s+direct from 127\.0\.0\.41\s+flags: shared_address/);

    await unlimited.stop();
    unlimited = await startRollcall(['start', '--data', unlimitedDir, '--direct-rate', '0']);
    expect((await requestFrom(unlimited.baseUrl, 'GET', `/attendance/${session.session_id}`, undefined)).body.unstored_rejections).toEqual([
      { address: '127.0.0.41', count: 10, last_at: expect.any(Number) },
    ]);
  });

  it('caps every kind of stored rejection, not only duplicates, per session', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const ended = await createSession(unlimited.baseUrl, { course: 'Networks', duration_minutes: 20, starts_at: nowS - 7200 });
    const answers = await Promise.all(Array.from({ length: 55 }, (_, i) => submitFrom(unlimited.baseUrl, '127.0.0.43', `W-${i}`, ended)));
    expect(answers.every((answer) => answer.status === 422 && answer.body.reason === 'outside_window')).toBe(true);
    const attendance = (await requestFrom(unlimited.baseUrl, 'GET', `/attendance/${ended.session_id}`, undefined)).body;
    expect(attendance.counts.rejected).toBe(50);
    expect(attendance.unstored_rejections).toEqual([{ address: '127.0.0.43', count: 5, last_at: expect.any(Number) }]);
  });
});
