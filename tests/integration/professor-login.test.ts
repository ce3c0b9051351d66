/**
 * The professor behind a reverse proxy (docs/http-api.md "Who may call what", "Dashboard
 * login"), against real `rollcall start` processes: a proxied loopback request is nobody,
 * `--trust-proxy` makes every request one, Host: 0.0.0.0 is not this computer, and a one-time
 * login link becomes a cookie that works through the proxy, once, with CSRF checks, and whose
 * secrets never reach a log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFrom, type JsonAnswer } from '../helpers/api.ts';
import { logRecords } from '../helpers/logs.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';

/** What nginx/Caddy add in front of every phone's request (the peer stays 127.0.0.1). */
const PROXIED = { 'x-forwarded-for': '10.0.0.23' };
const NEW_SESSION = { course: 'Networks', duration_minutes: 20 };

const ask = (server: StartedProcess, method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}, body?: unknown): Promise<JsonAnswer> =>
  requestFrom(server.baseUrl, method, path, body ?? (method === 'POST' ? {} : undefined), { headers });

const tokenOf = (server: StartedProcess) => /Admin token[^:]*: (\S+)/.exec(server.stdout())?.[1] ?? '';
/** The secret of the login link printed at start. */
const printedSecret = (server: StartedProcess) => /\/professor\/login#([A-Za-z0-9_-]+)/.exec(server.stdout())?.[1] ?? '';

/** `rollcall login-link` against the server: a fresh link's secret and expiry. */
async function newLink(server: StartedProcess, dataDir: string, expiresMinutes?: number): Promise<{ secret: string; expiresAt: number; url: string }> {
  const made = await runCli(['login-link', '--json', '--server', server.baseUrl, '--data', dataDir, ...(expiresMinutes ? ['--expires', String(expiresMinutes)] : [])]);
  expect(made.code, made.stderr).toBe(0);
  const link = JSON.parse(made.stdout) as { login_url: string; expires_at: number };
  return { secret: /#(.+)$/.exec(link.login_url)?.[1] ?? '', expiresAt: link.expires_at, url: link.login_url };
}

/** The login cookie's `name=value` from a Set-Cookie answer. */
function cookieOf(answer: JsonAnswer): string {
  const header = ([] as string[]).concat(answer.headers['set-cookie'] ?? [])[0] ?? '';
  return header.split(';')[0]!;
}

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

describe('loopback is the professor only when no proxy stands in between', () => {
  it('a loopback request that came through a proxy (X-Forwarded-For, Forwarded, X-Real-IP, X-Forwarded-Proto) is refused without a login or the token', async () => {
    expect((await ask(server, 'GET', '/sessions')).status).toBe(200);
    for (const header of <Record<string, string>[]>[PROXIED, { forwarded: 'for=10.0.0.23;proto=https' }, { 'x-real-ip': '10.0.0.23' }, { 'x-forwarded-proto': 'https' }]) {
      expect(await ask(server, 'GET', '/sessions', header)).toMatchObject({ status: 403, body: { code: 'professor_only' } });
      expect(await ask(server, 'POST', '/create_session', header, NEW_SESSION)).toMatchObject({ status: 403, body: { code: 'professor_only' } });
      expect(await ask(server, 'GET', '/qr/00000000-0000-4000-8000-000000000000', header)).toMatchObject({ status: 403 });
    }
    expect((await ask(server, 'POST', '/create_session', { ...PROXIED, authorization: `Bearer ${tokenOf(server)}` }, NEW_SESSION)).status).toBe(201);
  });

  it('from loopback, a POST a browser marks as cross-origin is refused; a script’s (no Origin) and our own page’s are not', async () => {
    expect(await ask(server, 'POST', '/create_session', { origin: 'https://evil.example' }, NEW_SESSION)).toMatchObject({ status: 403, body: { code: 'cross_site' } });
    expect(await ask(server, 'POST', '/create_session', { 'sec-fetch-site': 'cross-site' }, NEW_SESSION)).toMatchObject({ status: 403, body: { code: 'cross_site' } });
    expect((await ask(server, 'POST', '/create_session', {}, NEW_SESSION)).status).toBe(201);
    expect((await ask(server, 'POST', '/create_session', { origin: server.baseUrl, 'sec-fetch-site': 'same-origin' }, NEW_SESSION)).status).toBe(201);
  });

  it('with --trust-proxy a plain loopback request is refused; the token and a login link still work', async () => {
    const dir = tempDir();
    const proxied = await startRollcall(['start', '--data', dir, '--trust-proxy']);
    try {
      expect(await ask(proxied, 'GET', '/sessions')).toMatchObject({ status: 403, body: { code: 'professor_only' } });
      expect(await ask(proxied, 'POST', '/create_session', {}, NEW_SESSION)).toMatchObject({ status: 403 });
      expect((await ask(proxied, 'GET', '/sessions', { authorization: `Bearer ${tokenOf(proxied)}` })).status).toBe(200);
      const login = await ask(proxied, 'POST', '/login', { origin: proxied.baseUrl }, { secret: printedSecret(proxied) });
      expect(login.status).toBe(200);
      expect((await ask(proxied, 'GET', '/sessions', { cookie: cookieOf(login) })).status).toBe(200);
    } finally {
      await proxied.stop();
    }
  });

  it('Host: 0.0.0.0 (or [::]) is not a name of this computer, even listening on 0.0.0.0', async () => {
    const open = await startRollcall(['start', '--data', tempDir(), '--host', '0.0.0.0']);
    try {
      expect((await ask(open, 'GET', '/sessions', { host: `localhost:${open.port}` })).status).toBe(200);
      expect(await ask(open, 'GET', '/sessions', { host: `0.0.0.0:${open.port}` })).toMatchObject({ status: 403, body: { code: 'professor_only' } });
      expect(await ask(open, 'POST', '/create_session', { host: `0.0.0.0:${open.port}` }, NEW_SESSION)).toMatchObject({ status: 403 });
      expect((await ask(open, 'GET', '/sessions', { host: `[::]:${open.port}` })).status).toBe(403);
    } finally {
      await open.stop();
    }
  });
});

describe('one-time login link', () => {
  it('works once through a proxy, sets an HttpOnly SameSite=Strict cookie that authorises the dashboard’s calls, and logout ends it', async () => {
    expect(server.stdout()).toMatch(new RegExp(`Dashboard login link .*: ${server.baseUrl}/professor/login#[A-Za-z0-9_-]{43}\\n`));
    const page = await fetch(`${server.baseUrl}/professor/login`, { headers: PROXIED });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');

    const login = await ask(server, 'POST', '/login', { ...PROXIED, origin: server.baseUrl, 'sec-fetch-site': 'same-origin' }, { secret: printedSecret(server) });
    expect(login).toMatchObject({ status: 200, body: { ok: true } });
    const setCookie = String(([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]);
    expect(setCookie).toMatch(/^rollcall_professor=[A-Za-z0-9_-]{43}; /);
    expect(setCookie.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Strict']);
    expect(login.body.expires_at).toBeGreaterThan(Date.now() + 11 * 3600_000);

    const again = await ask(server, 'POST', '/login', { ...PROXIED, origin: server.baseUrl }, { secret: printedSecret(server) });
    expect(again).toMatchObject({ status: 403, body: { code: 'login_link_used' } });
    expect(again.headers['set-cookie']).toBeUndefined();

    // The dashboard's own calls, through the proxy, with the cookie and its page's origin.
    const cookie = cookieOf(login);
    const fromDashboard = { ...PROXIED, cookie, origin: server.baseUrl, 'sec-fetch-site': 'same-origin' };
    const created = await ask(server, 'POST', '/create_session', fromDashboard, NEW_SESSION);
    expect(created.status).toBe(201);
    expect((await ask(server, 'GET', '/sessions', fromDashboard)).body.sessions.map((s: { session_id: string }) => s.session_id)).toContain(created.body.session_id);
    expect((await ask(server, 'GET', `/qr/${created.body.session_id}`, fromDashboard)).status).toBe(200);
    expect((await ask(server, 'GET', `/attendance/${created.body.session_id}`, fromDashboard)).status).toBe(200);
    expect((await ask(server, 'POST', '/end_session', fromDashboard, { session_id: created.body.session_id })).status).toBe(200);

    const logout = await ask(server, 'POST', '/logout', fromDashboard);
    expect(logout).toMatchObject({ status: 200, body: { logged_out: true } });
    expect(String(([] as string[]).concat(logout.headers['set-cookie'] ?? [])[0])).toMatch(/^rollcall_professor=; .*Max-Age=0/);
    expect(await ask(server, 'GET', '/sessions', fromDashboard)).toMatchObject({ status: 403, body: { code: 'login_expired' } });

    // [S9] The audit log has the link, the login and the logout, and neither the link's secret nor the cookie's.
    const log = await ask(server, 'GET', '/audit_log?limit=1000');
    expect(log.status).toBe(200);
    expect(log.body.events.map((event: { action: string }) => event.action)).toEqual(expect.arrayContaining(['login_link', 'login', 'create_session', 'end_session', 'logout']));
    const logged = JSON.stringify(log.body);
    expect(printedSecret(server)).toHaveLength(43);
    expect(logged).not.toContain(printedSecret(server));
    expect(logged).not.toContain(cookie.slice(cookie.indexOf('=') + 1));
  });

  it('with --require-token a login link still lets a browser in; two racing uses of one link open one login', async () => {
    const guarded = await startRollcall(['start', '--data', tempDir(), '--require-token']);
    try {
      expect(await ask(guarded, 'GET', '/sessions')).toMatchObject({ status: 403, body: { code: 'token_required' } });
      const secret = printedSecret(guarded);
      const race = await Promise.all([1, 2, 3].map(() => ask(guarded, 'POST', '/login', { origin: guarded.baseUrl }, { secret })));
      expect(race.map((answer) => answer.status).sort()).toEqual([200, 403, 403]);
      const winner = race.find((answer) => answer.status === 200)!;
      expect((await ask(guarded, 'GET', '/sessions', { cookie: cookieOf(winner) })).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  it('expires: a link used after its minutes is refused and opens nothing', async () => {
    const link = await newLink(server, dataDir, 0.02);
    expect(link.expiresAt - Date.now()).toBeLessThanOrEqual(1200);
    await waitFor(() => Date.now() > link.expiresAt + 100, { message: 'the link to expire' });
    const late = await ask(server, 'POST', '/login', { ...PROXIED, origin: server.baseUrl }, { secret: link.secret });
    expect(late).toMatchObject({ status: 403, body: { code: 'login_link_expired' } });
    expect(late.headers['set-cookie']).toBeUndefined();
    // A link that never was one is named so too.
    expect(await ask(server, 'POST', '/login', { origin: server.baseUrl }, { secret: 'A'.repeat(43) })).toMatchObject({ status: 403, body: { code: 'login_link_unknown' } });
  });

  it('sets a Secure cookie when the proxy says HTTPS, and the link is on the public URL (--trust-proxy)', async () => {
    const proxied = await startRollcall(['start', '--data', tempDir(), '--trust-proxy', '--public-url', 'https://rollcall.example.edu']);
    try {
      expect(proxied.stdout()).toMatch(/Dashboard login link .*: https:\/\/rollcall\.example\.edu\/professor\/login#[A-Za-z0-9_-]{43}\n/);
      const viaProxy = { 'x-forwarded-for': '10.0.0.23', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'rollcall.example.edu', origin: 'https://rollcall.example.edu' };
      const login = await ask(proxied, 'POST', '/login', viaProxy, { secret: printedSecret(proxied) });
      expect(login.status).toBe(200);
      expect(String(([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]).split('; ')).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Secure']));
      expect((await ask(proxied, 'POST', '/create_session', { ...viaProxy, cookie: cookieOf(login) }, NEW_SESSION)).status).toBe(201);
    } finally {
      await proxied.stop();
    }
  });

  it('refuses a cross-site POST that carries the login cookie with 403 cross_site, and changes nothing', async () => {
    const link = await newLink(server, dataDir);
    const login = await ask(server, 'POST', '/login', { ...PROXIED, origin: server.baseUrl }, { secret: link.secret });
    const cookie = cookieOf(login);
    const before = (await ask(server, 'GET', '/sessions', { ...PROXIED, cookie })).body.sessions.length as number;
    for (const marks of <Record<string, string>[]>[{ origin: 'https://evil.example' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, { origin: `http://127.0.0.1:${server.port + 1}`, 'sec-fetch-site': 'same-site' }, {}]) {
      const refused = await ask(server, 'POST', '/create_session', { ...PROXIED, cookie, ...marks }, NEW_SESSION);
      expect(refused).toMatchObject({ status: 403, body: { code: 'cross_site', error: expect.stringMatching(/cross-site/) } });
    }
    expect(await ask(server, 'POST', '/logout', { ...PROXIED, cookie, origin: 'https://evil.example' })).toMatchObject({ status: 403, body: { code: 'cross_site' } });
    expect((await ask(server, 'GET', '/sessions', { ...PROXIED, cookie })).body.sessions.length).toBe(before);
    // The bearer token cannot be attached by another site's page: no Origin check for it.
    expect((await ask(server, 'POST', '/create_session', { ...PROXIED, authorization: `Bearer ${tokenOf(server)}`, origin: 'https://evil.example' }, NEW_SESSION)).status).toBe(201);
  });

  it('neither a login secret nor the login cookie appears in any log line, even sent where it does not belong', async () => {
    const link = await newLink(server, dataDir);
    const stray = await newLink(server, dataDir);
    await fetch(`${server.baseUrl}/login?secret=${stray.secret}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.baseUrl }, body: '{}' });
    await fetch(`${server.baseUrl}/sessions?token=${stray.secret}`, { headers: PROXIED });
    // A client that sends the fragment itself (browsers never do): the request line holds the secret.
    const { request } = await import('node:http');
    await new Promise<void>((resolve, reject) => {
      const raw = request({ host: '127.0.0.1', port: server.port, method: 'POST', path: `/login#${stray.secret}`, headers: { 'content-type': 'application/json', origin: server.baseUrl } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      raw.on('error', reject);
      raw.end(JSON.stringify({ secret: 'B'.repeat(43) }));
    });
    expect((await ask(server, 'POST', '/login', { origin: server.baseUrl }, { secret: `${stray.secret}` + 'x' })).status).toBe(400);
    const login = await ask(server, 'POST', '/login', { ...PROXIED, origin: server.baseUrl }, { secret: link.secret });
    expect(login.status).toBe(200);
    const cookieValue = cookieOf(login).split('=')[1]!;
    // The request log has the /login line (so this checks the lines that were written).
    await waitFor(() => logRecords(server.stderr()).some((record) => record.path === '/login' && record.status === 200), { message: 'the login request to be logged' });
    const logs = server.stderr();
    for (const secret of [printedSecret(server), link.secret, stray.secret, cookieValue, tokenOf(server)]) {
      expect(secret.length).toBeGreaterThan(40);
      expect(logs).not.toContain(secret);
    }
    // The link printed at start is in the start banner only, once.
    expect(server.stdout().split(printedSecret(server)).length).toBe(2);
  });

  it('the CLI explains a refused login-link request, and start/validator list --trust-proxy', async () => {
    const guarded = await startRollcall(['start', '--data', tempDir(), '--trust-proxy']);
    try {
      const refused = await runCli(['login-link', '--server', guarded.baseUrl, '--data', tempDir()], { env: { ROLLCALL_ADMIN_TOKEN: '' } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/making a login link failed \(HTTP 403\)/);
    } finally {
      await guarded.stop();
    }
    for (const command of ['start', 'validator']) expect((await runCli([command, '--help'])).stdout).toContain('--trust-proxy');
  });
});
