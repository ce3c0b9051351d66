/**
 * Who is asking, from the headers alone (validator/professorAccess.ts), and the store's login
 * links and logins on a clock we move by hand (validator/ValidatorStore.ts, migration 5).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidatorStore } from '../../validator/index.ts';
import { crossSiteRefusal, hasProxyHeaders, isHttpsRequest, loginCookie, loginCookieHeader, requestOrigin } from '../../validator/professorAccess.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';

afterEach(() => removeTempDirs());

const OWN = ['http://127.0.0.1:5000', 'https://rollcall.example.edu'];

describe('hasProxyHeaders: a request that came through a reverse proxy', () => {
  it.each<[string, IncomingHttpHeaders, boolean]>([
    ['X-Forwarded-For', { 'x-forwarded-for': '10.0.0.5' }, true],
    ['X-Forwarded-Proto alone', { 'x-forwarded-proto': 'https' }, true],
    ['X-Forwarded-Host alone', { 'x-forwarded-host': 'rollcall.example.edu' }, true],
    ['Forwarded (RFC 7239)', { forwarded: 'for=10.0.0.5;proto=https' }, true],
    ['X-Real-IP', { 'x-real-ip': '10.0.0.5' }, true],
    ['none of them', { host: 'localhost:5000', 'user-agent': 'curl' }, false],
  ])('%s', (_name, headers, expected) => expect(hasProxyHeaders(headers)).toBe(expected));
});

describe('requestOrigin and isHttpsRequest', () => {
  it('is the Host on the socket’s scheme; forwarded scheme and host only with --trust-proxy', () => {
    const headers = { host: '127.0.0.1:5000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'rollcall.example.edu' };
    expect(requestOrigin(headers, false, false)).toBe('http://127.0.0.1:5000');
    expect(requestOrigin(headers, false, true)).toBe('https://rollcall.example.edu');
    expect(requestOrigin({ host: 'x:5000', forwarded: 'for=1.2.3.4;proto=https;host="rollcall.example.edu"' }, false, true)).toBe('https://rollcall.example.edu');
    expect(requestOrigin({ host: 'rollcall.example.edu:443', 'x-forwarded-proto': 'https' }, false, true)).toBe('https://rollcall.example.edu');
  });
  it('takes a proxy’s word for HTTPS (only ever a stricter cookie)', () => {
    expect(isHttpsRequest({}, false)).toBe(false);
    expect(isHttpsRequest({}, true)).toBe(true);
    expect(isHttpsRequest({ 'x-forwarded-proto': 'https, http' }, false)).toBe(true);
    expect(isHttpsRequest({ forwarded: 'proto=https' }, false)).toBe(true);
    expect(isHttpsRequest({ 'x-forwarded-proto': 'http' }, false)).toBe(false);
  });
});

describe('crossSiteRefusal (CSRF on cookie-authenticated requests)', () => {
  it.each<[string, IncomingHttpHeaders, boolean, boolean]>([
    ['a same-origin POST from our page', { origin: 'http://127.0.0.1:5000', 'sec-fetch-site': 'same-origin' }, true, false],
    ['a POST from the public URL’s origin (behind a proxy that rewrites Host)', { origin: 'https://rollcall.example.edu' }, true, false],
    ['a POST from another site', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, true, true],
    ['a POST from another origin, no Sec-Fetch-Site', { origin: 'https://evil.example' }, true, true],
    ['a POST from another port of the same host (same site)', { origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-site' }, true, true],
    ['a POST marked same-site even with our Origin', { origin: 'http://127.0.0.1:5000', 'sec-fetch-site': 'same-site' }, true, true],
    ['a POST with neither header', {}, true, true],
    ['a POST marked none (no page made it)', { 'sec-fetch-site': 'none' }, true, true],
    ['a GET typed in the address bar', { 'sec-fetch-site': 'none' }, false, false],
    ['a GET with neither header', {}, false, false],
    ['a GET from another site', { 'sec-fetch-site': 'cross-site' }, false, true],
  ])('%s', (_name, headers, isStateChanging, isRefused) => {
    expect(crossSiteRefusal(headers, isStateChanging, OWN) !== undefined).toBe(isRefused);
  });
});

describe('the login cookie', () => {
  it('is read among other cookies, only when it looks like ours', () => {
    const id = 'a'.repeat(43);
    expect(loginCookie({ cookie: `theme=dark; rollcall_professor=${id}; x=1` })).toBe(id);
    expect(loginCookie({ cookie: 'rollcall_professor=short' })).toBeUndefined();
    expect(loginCookie({})).toBeUndefined();
  });
  it('is HttpOnly, SameSite=Strict, whole-site, and Secure only on HTTPS', () => {
    expect(loginCookieHeader('v', 60, false)).toBe('rollcall_professor=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict');
    expect(loginCookieHeader('v', 60, true)).toMatch(/; Secure$/);
  });
});

describe('ValidatorStore login links and logins', () => {
  const login = (idHash: string, expiresAtMs: number) => ({ idHash, expiresAtMs });

  it('a link works once, before it expires; a refused one opens no login', () => {
    const store = ValidatorStore.open(tempDir());
    store.insertLoginLink('link-a', 1_000, 2_000);
    store.insertLoginLink('link-b', 1_000, 2_000);
    expect(store.redeemLoginLink('link-a', login('login-1', 50_000), 1_500)).toBe('ok');
    expect(store.redeemLoginLink('link-a', login('login-2', 50_000), 1_600)).toBe('used');
    expect(store.redeemLoginLink('link-b', login('login-3', 50_000), 2_000)).toBe('expired');
    expect(store.redeemLoginLink('nothing', login('login-4', 50_000), 1_600)).toBe('unknown');
    expect(store.professorLoginExpiry('login-1', 1_600)).toBe(50_000);
    for (const refused of ['login-2', 'login-3', 'login-4']) expect(store.professorLoginExpiry(refused, 1_600)).toBeUndefined();
    store.close();
  });

  it('a login ends at its expiry, or at logout', () => {
    const store = ValidatorStore.open(tempDir());
    store.insertLoginLink('link-a', 0, 10_000);
    store.insertLoginLink('link-b', 0, 10_000);
    expect(store.redeemLoginLink('link-a', login('login-1', 5_000), 1_000)).toBe('ok');
    expect(store.redeemLoginLink('link-b', login('login-2', 50_000), 1_000)).toBe('ok');
    expect(store.professorLoginExpiry('login-1', 4_999)).toBe(5_000);
    expect(store.professorLoginExpiry('login-1', 5_000)).toBeUndefined();
    expect(store.deleteProfessorLogin('login-2')).toBe(true);
    expect(store.professorLoginExpiry('login-2', 1_000)).toBeUndefined();
    expect(store.deleteProfessorLogin('login-2')).toBe(false);
    store.close();
  });
});
