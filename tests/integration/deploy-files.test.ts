/**
 * The Caddyfiles in deploy/ are what campus IT installs: Caddy itself must accept them, and
 * they must say what docs/deploy.md and docs/scaling.md promise (a relay on loopback behind one
 * Caddy; several relays with room affinity and health checks on /readyz). `caddy adapt` turns
 * a Caddyfile into Caddy's JSON config without starting anything.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/https.ts';
import { REPO_ROOT } from '../helpers/processes.ts';

const missing = missingTools(['caddy']);
if (missing) console.warn(`SKIPPED deploy file checks: ${missing}`);

interface Handler {
  handler: string;
  upstreams?: { dial: string }[];
  load_balancing?: { selection_policy?: { policy: string; field?: string }; try_duration?: number };
  health_checks?: { active?: { uri?: string; interval?: number }; passive?: { fail_duration?: number } };
  request?: { set?: Record<string, string[]> };
  headers?: { request?: { set?: Record<string, string[]> } };
  routes?: { handle: Handler[] }[];
}

/** Every handler of the adapted config, however deep Caddy nests its routes. */
function handlersOf(file: string): Handler[] {
  const adapted = spawnSync('caddy', ['adapt', '--config', join(REPO_ROOT, 'deploy', file), '--adapter', 'caddyfile'], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
  expect(adapted.status, adapted.stderr).toBe(0);
  const found: Handler[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      if (typeof (value as Handler).handler === 'string') found.push(value as Handler);
      Object.values(value).forEach(walk);
    }
  };
  walk(JSON.parse(adapted.stdout));
  return found;
}

describe.skipIf(missing !== undefined)('deploy/ Caddyfiles', () => {
  it('Caddyfile: one relay on loopback behind Caddy (R11a: the relay trusts 127.0.0.1)', () => {
    const proxies = handlersOf('Caddyfile').filter((handler) => handler.handler === 'reverse_proxy');
    expect(proxies.map((proxy) => proxy.upstreams?.map((upstream) => upstream.dial))).toEqual([['127.0.0.1:5001']]);
  });

  it('[R12] Caddyfile.campus: several relays, a lecture hashed to one of them by its path, /readyz as the health check', () => {
    const handlers = handlersOf('Caddyfile.campus');
    const [proxy, ...others] = handlers.filter((handler) => handler.handler === 'reverse_proxy');
    expect(others).toEqual([]);
    expect(proxy!.upstreams!.length).toBeGreaterThanOrEqual(2);
    expect(proxy!.load_balancing?.selection_policy).toEqual({ policy: 'header', field: 'X-Rollcall-Room' });
    expect(proxy!.health_checks?.active?.uri).toBe('/readyz');
    expect(proxy!.health_checks?.passive?.fail_duration).toBeGreaterThan(0);
    expect(proxy!.load_balancing?.try_duration).toBeGreaterThan(0);
    // The header the policy hashes is set from the request's path before proxying.
    const setsRoom = handlers.some((handler) => handler.handler === 'headers' && handler.request?.set?.['X-Rollcall-Room']?.[0] === '{http.request.uri.path}');
    expect(setsRoom).toBe(true);
  });
});
