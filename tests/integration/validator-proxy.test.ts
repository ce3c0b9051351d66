/**
 * The validator's direct path behind a proxy (SPEC.md R11b, "Client address"): real `rollcall
 * start` processes behind real Caddy (tests/helpers/caddy.ts `startCaddyBalancer`, one
 * upstream). Linux lets a client bind any 127.x.y.z, so "phones" from 127.0.0.2, 127.0.0.3, …
 * are distinct clients to Caddy, which reaches Rollcall from 127.0.0.1 and names the phone in
 * X-Forwarded-For. Each test speaks from its own addresses so per-address state never leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, requestFrom, submitFrom, type CreatedSession, type JsonAnswer } from '../helpers/api.ts';
import { startCaddyBalancer } from '../helpers/caddy.ts';
import { missingTools } from '../helpers/https.ts';
import { logRecords } from '../helpers/logs.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';

const missing = missingTools(['caddy']);
if (missing) console.warn(`SKIPPED validator trusted-proxy tests: ${missing}`);

/** `rollcall start` and the Caddy in front of it. */
interface Fronted {
  server: StartedProcess;
  caddy: StartedProcess;
}

const started: StartedProcess[] = [];

/** A low rate limit (1 a second, 3 at once), so "limited" is reached in a few requests and a refill takes a second. */
const LOW_RATE = ['--direct-rate', '1', '--direct-burst', '3'];

async function startFronted(extra: string[]): Promise<Fronted> {
  const server = await startRollcall(['start', '--data', tempDir('rollcall-valproxy-'), ...LOW_RATE, ...extra]);
  started.push(server);
  const caddy = await startCaddyBalancer([server.port]);
  started.unshift(caddy);
  return { server, caddy };
}

afterAll(async () => {
  for (const process of started) await process.stop();
  removeTempDirs();
});

/** The address and flags the attendance JSON (read on loopback, the professor's own) holds per student. */
async function recorded(server: StartedProcess, session: CreatedSession): Promise<Record<string, { address: string; flags: string[] }>> {
  const attendance = (await requestFrom(server.baseUrl, 'GET', `/attendance/${session.session_id}`, undefined)).body;
  return Object.fromEntries(attendance.accepted.map((row: { student_id: string; address: string; flags: string[] }) => [row.student_id, { address: row.address, flags: row.flags }]));
}

/** A body the direct path refuses as malformed, from `localAddress` (stores nothing; spends a token). */
const garbage = (baseUrl: string, localAddress: string, headers: Record<string, string> = {}): Promise<JsonAnswer> =>
  requestFrom(baseUrl, 'POST', '/submit_attendance', { student_id: 'x' }, { localAddress, headers });

/** Garbage from `localAddress` until it is answered 429; at most 10 tries (the burst is 3). */
async function exhaust(baseUrl: string, localAddress: string): Promise<JsonAnswer> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const answer = await garbage(baseUrl, localAddress);
    if (answer.status === 429) return answer;
    expect(answer.status).toBe(400);
  }
  throw new Error(`${localAddress} was never rate limited`);
}

describe.skipIf(missing !== undefined)('rollcall start --trusted-proxy 127.0.0.1 behind Caddy: the direct path counts phones', () => {
  let fronted: Fronted;

  beforeAll(async () => {
    fronted = await startFronted(['--trusted-proxy', '127.0.0.1']);
  });

  it('[R11b] says in its banner that the direct path counts the client the proxy names', () => {
    expect(fronted.server.stdout()).toContain('Trusted proxies (their X-Forwarded-For names the client R11 and the direct path count): 127.0.0.1');
  });

  it('[R11b] two students from two phones are not flagged shared_address, and each is recorded under its phone’s address', async () => {
    const session = await createSession(fronted.server.baseUrl, { course: 'Proxies', duration_minutes: 20 });
    expect(await submitFrom(fronted.caddy.baseUrl, '127.0.0.2', 'P-1', session)).toMatchObject({ status: 200, body: { status: 'accepted', flags: [] } });
    expect(await submitFrom(fronted.caddy.baseUrl, '127.0.0.3', 'P-2', session)).toMatchObject({ status: 200, body: { status: 'accepted', flags: [] } });
    // The flag still works per phone: a second id from one phone is flagged.
    expect(await submitFrom(fronted.caddy.baseUrl, '127.0.0.2', 'P-3', session)).toMatchObject({ status: 200, body: { status: 'accepted', flags: ['shared_address'] } });
    expect(await recorded(fronted.server, session)).toEqual({
      'P-1': { address: '127.0.0.2', flags: [] },
      'P-2': { address: '127.0.0.3', flags: [] },
      'P-3': { address: '127.0.0.2', flags: ['shared_address'] },
    });
  });

  it('[R11b] rate-limits each phone on its own: one phone’s flood does not hold up another', async () => {
    const refusal = await exhaust(fronted.caddy.baseUrl, '127.0.0.4');
    expect(refusal.body).toMatchObject({ reason: 'rate_limited' });
    expect(refusal.body.error).toMatch(/from 127\.0\.0\.4:/);
    // Right after (the bucket refills one a second): another phone is read, not limited.
    expect((await garbage(fronted.caddy.baseUrl, '127.0.0.5')).status).toBe(400);
  });

  it('[R11b] a phone cannot choose its address: a forged X-Forwarded-For, through Caddy or straight to the port, changes nothing', async () => {
    const session = await createSession(fronted.server.baseUrl, { course: 'Proxies', duration_minutes: 20 });
    // Through Caddy: Caddy trusts no client's header and names the phone itself.
    const viaCaddy = (studentId: string, forged: string) =>
      requestFrom(fronted.caddy.baseUrl, 'POST', '/submit_attendance', { student_id: studentId, payload_b64: session.payload_b64, signature: session.signature }, { localAddress: '127.0.0.6', headers: { 'x-forwarded-for': forged } });
    expect(await viaCaddy('F-1', '198.51.100.1')).toMatchObject({ status: 200, body: { flags: [] } });
    expect(await viaCaddy('F-2', '198.51.100.2')).toMatchObject({ status: 200, body: { flags: ['shared_address'] } });
    // Straight to Rollcall from a peer that is not a trusted proxy: the header is ignored.
    const direct = (studentId: string, forged: string) =>
      requestFrom(fronted.server.baseUrl, 'POST', '/submit_attendance', { student_id: studentId, payload_b64: session.payload_b64, signature: session.signature }, { localAddress: '127.0.0.7', headers: { 'x-forwarded-for': forged } });
    expect(await direct('F-3', '198.51.100.3')).toMatchObject({ status: 200, body: { flags: [] } });
    expect(await direct('F-4', '198.51.100.4')).toMatchObject({ status: 200, body: { flags: ['shared_address'] } });
    expect(await recorded(fronted.server, session)).toEqual({
      'F-1': { address: '127.0.0.6', flags: [] },
      'F-2': { address: '127.0.0.6', flags: ['shared_address'] },
      'F-3': { address: '127.0.0.7', flags: [] },
      'F-4': { address: '127.0.0.7', flags: ['shared_address'] },
    });
    // A forged header does not escape the rate limit either: were each forged address its own
    // bucket, all four would be read (400). Sent at once into a spent bucket that refills one
    // token a second, at least three are refused.
    await exhaust(fronted.server.baseUrl, '127.0.0.8');
    const forged = await Promise.all(['198.51.100.9', '198.51.100.10', '198.51.100.11', '198.51.100.12'].map((address) => garbage(fronted.server.baseUrl, '127.0.0.8', { 'x-forwarded-for': address })));
    const limited = forged.filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const answer of limited) expect(answer.body.error).toMatch(/from 127\.0\.0\.8:/);
  });

  it('[R11b] a trusted proxy’s request with no X-Forwarded-For is counted under the proxy and logged once', async () => {
    // 127.0.0.1 is the trusted proxy: a request from it that names no client.
    expect((await garbage(fronted.server.baseUrl, '127.0.0.1')).status).toBe(400);
    expect((await garbage(fronted.server.baseUrl, '127.0.0.1')).status).toBe(400);
    const warned = () => logRecords(fronted.server.stderr()).filter((record) => String(record.msg).includes('direct submission from a trusted proxy carried no X-Forwarded-For'));
    await waitFor(() => warned().length > 0, { message: 'the missing-header warning' });
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toMatchObject({ level: 'warn', proxy: '127.0.0.1' });
  });

  it('the professor is still decided by the socket: a phone behind Caddy is not local, even naming 127.0.0.1 itself', async () => {
    expect((await requestFrom(fronted.server.baseUrl, 'GET', '/sessions', undefined)).status).toBe(200);
    for (const headers of [{}, { 'x-forwarded-for': '127.0.0.1' }, { 'x-forwarded-for': '::1', forwarded: 'for=127.0.0.1' }] as Record<string, string>[]) {
      const answer = await requestFrom(fronted.caddy.baseUrl, 'GET', '/sessions', undefined, { localAddress: '127.0.0.9', headers });
      expect(answer, JSON.stringify(headers)).toMatchObject({ status: 403, body: { code: 'professor_only' } });
    }
    const adminToken = /Admin token[^:]*: (\S+)/.exec(fronted.server.stdout())?.[1];
    expect(adminToken).toBeDefined();
    // The route itself works through Caddy: the refusals above are the rule, not a broken proxy.
    expect((await requestFrom(fronted.caddy.baseUrl, 'GET', '/sessions', undefined, { localAddress: '127.0.0.9', headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(200);
  });
});

describe.skipIf(missing !== undefined)('rollcall start without --trusted-proxy behind Caddy (the default)', () => {
  let fronted: Fronted;

  beforeAll(async () => {
    fronted = await startFronted([]);
  });

  it('[R11b] counts every phone as Caddy’s address: the second student is flagged shared_address, and X-Forwarded-For is ignored', async () => {
    const session = await createSession(fronted.server.baseUrl, { course: 'Proxies', duration_minutes: 20 });
    expect(await submitFrom(fronted.caddy.baseUrl, '127.0.0.2', 'N-1', session)).toMatchObject({ status: 200, body: { flags: [] } });
    expect(await submitFrom(fronted.caddy.baseUrl, '127.0.0.3', 'N-2', session)).toMatchObject({ status: 200, body: { flags: ['shared_address'] } });
    expect(await recorded(fronted.server, session)).toEqual({
      'N-1': { address: '127.0.0.1', flags: [] },
      'N-2': { address: '127.0.0.1', flags: ['shared_address'] },
    });
  });

  it('[R11b] rate-limits all phones behind Caddy together, under Caddy’s address', async () => {
    await exhaust(fronted.caddy.baseUrl, '127.0.0.4');
    // Another phone, right after: its bucket is Caddy's, already spent; of four sent at once
    // (one token refills a second) at least three are refused.
    const other = await Promise.all([0, 1, 2, 3].map(() => garbage(fronted.caddy.baseUrl, '127.0.0.5')));
    const limited = other.filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const answer of limited) expect(answer.body.error).toMatch(/from 127\.0\.0\.1:/);
  });
});

describe.skipIf(missing !== undefined)('rollcall validator behind Caddy, trusted proxies from the environment', () => {
  it('[R11b] ROLLCALL_TRUSTED_PROXIES gives rollcall validator the same rule: two phones, no shared_address', async () => {
    const server = await startRollcall(['validator', '--data', tempDir('rollcall-valproxy-env-')], { env: { ROLLCALL_TRUSTED_PROXIES: '127.0.0.1' } });
    started.push(server);
    // Alone, the validator has /healthz but no /readyz (the relay's drain signal).
    const caddy = await startCaddyBalancer([server.port], { healthUri: '/healthz' });
    started.unshift(caddy);
    expect(server.stdout()).toContain('Trusted proxies (their X-Forwarded-For names the client the direct path counts): 127.0.0.1');
    const session = await createSession(server.baseUrl, { course: 'Proxies', duration_minutes: 20 });
    expect(await submitFrom(caddy.baseUrl, '127.0.0.2', 'V-1', session)).toMatchObject({ status: 200, body: { flags: [] } });
    expect(await submitFrom(caddy.baseUrl, '127.0.0.3', 'V-2', session)).toMatchObject({ status: 200, body: { flags: [] } });
    expect(await recorded(server, session)).toEqual({ 'V-1': { address: '127.0.0.2', flags: [] }, 'V-2': { address: '127.0.0.3', flags: [] } });
  });

  it('[R11b] rollcall start still reads the old name, ROLLCALL_RELAY_TRUSTED_PROXIES, for both parts', async () => {
    const server = await startRollcall(['start', '--data', tempDir('rollcall-valproxy-old-')], { env: { ROLLCALL_RELAY_TRUSTED_PROXIES: '127.0.0.1' } });
    started.push(server);
    const caddy = await startCaddyBalancer([server.port]);
    started.unshift(caddy);
    expect(server.stdout()).toContain('Trusted proxies (their X-Forwarded-For names the client R11 and the direct path count): 127.0.0.1');
    const session = await createSession(server.baseUrl, { course: 'Proxies', duration_minutes: 20 });
    expect(await submitFrom(caddy.baseUrl, '127.0.0.2', 'O-1', session)).toMatchObject({ status: 200, body: { flags: [] } });
    expect(await submitFrom(caddy.baseUrl, '127.0.0.3', 'O-2', session)).toMatchObject({ status: 200, body: { flags: [] } });
  });
});
