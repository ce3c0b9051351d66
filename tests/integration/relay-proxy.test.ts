/**
 * R11 behind a load balancer (SPEC.md R11a): real `rollcall relay` processes behind real Caddy
 * (tests/helpers/caddy.ts `startCaddyBalancer`). Linux lets a client bind any 127.x.y.z, so
 * "phones" from 127.0.0.2 and 127.0.0.3 are distinct clients to Caddy, which reaches the relay
 * from 127.0.0.1 and names the client in X-Forwarded-For.
 */
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, signDetached, toBase64Url } from '../../crypto/index.ts';
import { enrolmentSigningBytes } from '../../protocol/index.ts';
import { startCaddyBalancer } from '../helpers/caddy.ts';
import { missingTools } from '../helpers/https.ts';
import { logRecords } from '../helpers/logs.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { relayMetrics } from '../helpers/relayMetrics.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const missing = missingTools(['caddy']);
if (missing) console.warn(`SKIPPED trusted-proxy tests: ${missing}`);

/** A relay (two connections per address) with Caddy in front, and a room its validator opened. */
interface FrontedRelay {
  relay: StartedProcess;
  balancer: StartedProcess;
  room: string;
}

const fronted: FrontedRelay[] = [];
const clients: RawRelayClient[] = [];

async function connections(relay: StartedProcess): Promise<number> {
  return ((await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { connections: number }).connections;
}

/** Starts the relay and Caddy, enrols a validator and opens a room with it (its grant keeps the room open after it leaves: R9). */
async function startFronted(extra: string[]): Promise<FrontedRelay> {
  const dir = tempDir('rollcall-proxy-relay-');
  const relay = await startRollcall(['relay', '--data', dir, '--max-connections-per-address', '2', ...extra]);
  const balancer = await startCaddyBalancer([relay.port]);
  const enrol = await runCli(['relay', 'enroll', '--name', 'prof-hopper', '--data', dir]);
  const code = /^\s+([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3})\s*$/m.exec(enrol.stdout)?.[1];
  if (!code) throw new Error(`no code in: ${enrol.stdout}`);
  const validator = new TestValidator('prof-hopper');
  const body = JSON.stringify({ code, public_key: validator.publicKey, proof: toBase64Url(signDetached(enrolmentSigningBytes(code), validator.identity.secretKey)) });
  expect((await fetch(`${balancer.baseUrl}/validators/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(200);
  const room = randomUUID();
  (await RawRelayClient.connect(balancer.baseUrl, room, { validator })).end();
  await waitFor(async () => (await connections(relay)) === 0, { message: 'the validator’s connection to close' });
  const started = { relay, balancer, room };
  fronted.push(started);
  return started;
}

/** A phone's upgrade from `localAddress`: 101 (the socket stays open until the test ends) or the HTTP status of the refusal. */
async function phone(baseUrl: string, room: string, localAddress: string, headers?: Record<string, string>): Promise<number> {
  try {
    clients.push(await RawRelayClient.connect(baseUrl, room, { device: toBase64Url(randomBytes(32)), localAddress, ...(headers ? { headers } : {}) }));
    return 101;
  } catch (error) {
    const match = /HTTP (\d+)/.exec(String(error));
    if (!match) throw error;
    return Number(match[1]);
  }
}

/** A malformed `POST /validators/enroll` from `localAddress`: 400, or 429 once the address spent its attempts (R11). */
function enrolAttempt(baseUrl: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/validators/enroll`, { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('{}');
  });
}

/** Attempts from `localAddress` until it is refused with 429; how many were answered 400 before. */
async function exhaustEnrolments(baseUrl: string, localAddress: string): Promise<number> {
  for (let answered = 0; answered <= 20; answered++) {
    const status = await enrolAttempt(baseUrl, localAddress);
    if (status === 429) return answered;
    expect(status).toBe(400);
  }
  throw new Error(`${localAddress} was never refused`);
}

/** The addresses named by the relay's R11 refusals of connections. */
function refusedAddresses(relay: StartedProcess): unknown[] {
  return logRecords(relay.stderr())
    .filter((record) => record.msg === 'refused R11: too many connections from one address')
    .map((record) => record.address);
}

/**
 * The addresses named by the R11 refusal lines logged from line `from` on, once there are
 * `count` of them (stderr reaches the test after the HTTP answer does).
 */
async function refusalsLogged(relay: StartedProcess, from: number, count: number): Promise<unknown[]> {
  await waitFor(() => refusedAddresses(relay).length >= from + count, { message: `${count} R11 refusal log lines` });
  return refusedAddresses(relay).slice(from);
}

async function endPhones(relay: StartedProcess): Promise<void> {
  for (const client of clients.splice(0)) client.end();
  await waitFor(async () => (await connections(relay)) === 0, { message: 'the phones’ connections to close' });
}

afterAll(async () => {
  for (const client of clients) client.end();
  for (const { relay, balancer } of fronted) {
    await balancer.stop();
    await relay.stop();
  }
  removeTempDirs();
});

describe.skipIf(missing !== undefined)('a relay behind Caddy with --trusted-proxy 127.0.0.1', () => {
  let trusting: FrontedRelay;

  beforeAll(async () => {
    trusting = await startFronted(['--trusted-proxy', '127.0.0.1']);
  });

  afterEach(async () => endPhones(trusting.relay));

  it('says which proxies it trusts when it starts', async () => {
    await waitFor(() => trusting.relay.stdout().includes('Trusted proxies (their X-Forwarded-For names the client R11 counts): 127.0.0.1'), { message: 'the banner’s trusted proxies' });
  });

  it('[R11][R11a] counts each phone behind the proxy under its own address: a third from 127.0.0.2 is refused, one from 127.0.0.3 connects', async () => {
    const { balancer, relay, room } = trusting;
    const logged = refusedAddresses(relay).length;
    expect(await phone(balancer.baseUrl, room, '127.0.0.2')).toBe(101);
    expect(await phone(balancer.baseUrl, room, '127.0.0.2')).toBe(101);
    // Caddy replaces what a phone writes in X-Forwarded-For: a forged one buys nothing.
    expect(await phone(balancer.baseUrl, room, '127.0.0.2', { 'x-forwarded-for': '10.9.9.9' })).toBe(429);
    expect(await phone(balancer.baseUrl, room, '127.0.0.3')).toBe(101);
    expect(await connections(relay)).toBe(3);
    expect(await refusalsLogged(relay, logged, 1)).toEqual(['127.0.0.2']);
  });

  it('[R11a] ignores X-Forwarded-For from a peer that is not a trusted proxy: a phone straight from 127.0.0.5 is counted as 127.0.0.5', async () => {
    const { relay, room } = trusting;
    const logged = refusedAddresses(relay).length;
    expect(await phone(relay.baseUrl, room, '127.0.0.5', { 'x-forwarded-for': '10.9.9.9' })).toBe(101);
    expect(await phone(relay.baseUrl, room, '127.0.0.5', { 'x-forwarded-for': '10.9.9.8' })).toBe(101);
    expect(await phone(relay.baseUrl, room, '127.0.0.5', { 'x-forwarded-for': '10.9.9.7' })).toBe(429);
    expect(await refusalsLogged(relay, logged, 1)).toEqual(['127.0.0.5']);
    expect(relay.stderr()).not.toContain('10.9.9.');
  });

  it('[R11a] a trusted proxy’s request without a usable X-Forwarded-For is counted under the proxy’s address, and logged once, not per request', async () => {
    const { relay, room } = trusting;
    const logged = refusedAddresses(relay).length;
    const unusable = async () => (await relayMetrics(relay.baseUrl)).get('rollcall_relay_unusable_forwarded_for_total') ?? 0;
    const before = await unusable();
    // Straight from 127.0.0.1, the trusted proxy's own address: no header, then a header that lists no address.
    expect(await phone(relay.baseUrl, room, '127.0.0.1')).toBe(101);
    expect(await phone(relay.baseUrl, room, '127.0.0.1')).toBe(101);
    expect(await phone(relay.baseUrl, room, '127.0.0.1')).toBe(429);
    expect(await phone(relay.baseUrl, room, '127.0.0.1', { 'x-forwarded-for': 'unknown' })).toBe(429);
    expect(await phone(relay.baseUrl, room, '127.0.0.1', { 'x-forwarded-for': '203.0.113.9:4711' })).toBe(429);
    expect(await unusable()).toBe(before + 5);
    // The last request's refusal is logged after anything its address could log: once it is here, all is.
    expect(await refusalsLogged(relay, logged, 3)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    const records = logRecords(relay.stderr());
    const missingLines = records.filter((record) => record.msg.startsWith('a request from a trusted proxy carried no X-Forwarded-For'));
    const malformedLines = records.filter((record) => record.msg.startsWith('a request from a trusted proxy carried an X-Forwarded-For that is not a list of IP addresses'));
    expect(missingLines.map((record) => [record.level, record.proxy])).toEqual([['info', '127.0.0.1']]);
    expect(malformedLines.map((record) => [record.level, record.proxy])).toEqual([['warn', '127.0.0.1']]);
  });

  it('[R11][R11a] one address behind the proxy exhausting its enrolment attempts does not block another', async () => {
    const { balancer } = trusting;
    expect(await exhaustEnrolments(balancer.baseUrl, '127.0.0.2')).toBe(10);
    expect(await enrolAttempt(balancer.baseUrl, '127.0.0.2')).toBe(429);
    expect(await enrolAttempt(balancer.baseUrl, '127.0.0.3')).toBe(400);
  });
});

describe.skipIf(missing !== undefined)('a relay behind Caddy without --trusted-proxy', () => {
  let plain: FrontedRelay;

  beforeAll(async () => {
    plain = await startFronted([]);
  });

  afterEach(async () => endPhones(plain.relay));

  it('[R11][R11a] counts every phone behind the proxy as the proxy’s one address', async () => {
    const { balancer, relay, room } = plain;
    const logged = refusedAddresses(relay).length;
    expect(await phone(balancer.baseUrl, room, '127.0.0.2')).toBe(101);
    expect(await phone(balancer.baseUrl, room, '127.0.0.2')).toBe(101);
    expect(await phone(balancer.baseUrl, room, '127.0.0.2')).toBe(429);
    expect(await phone(balancer.baseUrl, room, '127.0.0.3')).toBe(429);
    expect(await connections(relay)).toBe(2);
    expect(await refusalsLogged(relay, logged, 2)).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('[R11][R11a] shares one enrolment bucket among every address behind the proxy', async () => {
    const { balancer } = plain;
    // At most ten: the validator's enrolment in startFronted spent one of the same bucket (refilled by now, or not).
    expect(await exhaustEnrolments(balancer.baseUrl, '127.0.0.2')).toBeLessThanOrEqual(10);
    expect(await enrolAttempt(balancer.baseUrl, '127.0.0.3')).toBe(429);
  });
});

describe('rollcall relay --trusted-proxy', () => {
  it('[R11a] refuses a malformed entry at start with one line naming it and the expected form, from the flag or the environment', async () => {
    const dir = tempDir('rollcall-proxy-bad-');
    const fromFlag = await runCli(['relay', '--data', dir, '--port', '0', '--trusted-proxy', '10.0.0.0/8,caddy.campus.example']);
    expect(fromFlag.code).toBe(1);
    expect(fromFlag.stderr.split('\n')[0]).toMatch(/--trusted-proxy.*"caddy\.campus\.example" is not an IP address or CIDR range, e\.g\. 10\.0\.0\.5, 10\.0\.0\.0\/8/);
    const fromEnv = await runCli(['relay', '--data', dir, '--port', '0'], { env: { ROLLCALL_RELAY_TRUSTED_PROXIES: '10.0.0.0/33' } });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr.split('\n')[0]).toMatch(/ROLLCALL_RELAY_TRUSTED_PROXIES.*"10\.0\.0\.0\/33" is not an IP address or CIDR range/);
    expect(fromFlag.stdout + fromEnv.stdout).not.toContain('listening');
  });

  it('is documented in --help of the commands that serve phones (relay, start, validator)', async () => {
    for (const command of ['relay', 'start', 'validator']) {
      const help = await runCli([command, '--help']);
      expect(help.stdout).toContain('--trusted-proxy <list>');
      expect(help.stdout).toMatch(/X-Forwarded-For\s+names the\s+client/);
    }
  });
});

describe('rollcall start --trusted-proxy', () => {
  let server: StartedProcess | undefined;

  afterAll(async () => {
    await server?.stop();
  });

  it('[R11][R11a] counts the client a trusted proxy names on the embedded relay too', async () => {
    server = await startRollcall(['start', '--data', tempDir('rollcall-proxy-start-'), '--trusted-proxy', '127.0.0.1', '--max-connections-per-address', '2']);
    await waitFor(() => server!.stdout().includes('Trusted proxies (their X-Forwarded-For names the client R11 and the direct path count): 127.0.0.1'), { message: 'the banner’s trusted proxies' });
    // Unfiltered peers: taken at the upgrade, before any grant (R11 is checked first), held until their proof times out.
    const peer = async (forwardedFor: string): Promise<number> => {
      try {
        clients.push(await RawRelayClient.connect(server!.baseUrl, randomUUID(), { headers: { 'x-forwarded-for': forwardedFor } }));
        return 101;
      } catch (error) {
        return Number(/HTTP (\d+)/.exec(String(error))?.[1] ?? 0);
      }
    };
    expect(await peer('203.0.113.1')).toBe(101);
    expect(await peer('203.0.113.1')).toBe(101);
    expect(await peer('203.0.113.1')).toBe(429);
    expect(await peer('203.0.113.2')).toBe(101);
    expect(await refusalsLogged(server!, 0, 1)).toEqual(['203.0.113.1']);
  });
});
