/**
 * `rollcall relay --store postgres://…` as a process, on a PostgreSQL started for this file
 * (SPEC.md R5, R12): a clear one-line error and a non-zero exit when PostgreSQL or Redis cannot
 * be reached at start (no password in it); while PostgreSQL is down under a running relay,
 * /readyz says so and a phone's write is refused with 1013, not admitted and not lost: the
 * phone re-sends it once PostgreSQL is back, and gets its receipt.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { CloseCode, appendEntry, entriesMap, receiptsMap } from '../../protocol/index.ts';
import { silentLogger } from '../../log/index.ts';
import { PgTrustStore } from '../../relay/PgTrustStore.ts';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { freePort, runCli, startRollcall, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { openRoom, sendAndSettle } from '../helpers/roomWriters.ts';
import { fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { relayMetrics } from '../helpers/relayMetrics.ts';
import { TestValidator } from '../helpers/testValidator.ts';

describeWithPostgres('rollcall relay --store postgres://…', () => {
  let server: TestPostgres | undefined;
  const cleanups: (() => Promise<unknown> | void)[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The database's URL with a password in it (trust authentication ignores it; it must never be printed). */
  async function urlWithPassword(): Promise<string> {
    return (await server!.createDatabase()).replace('postgres://rollcall@', 'postgres://rollcall:pg-s3cret@');
  }

  it('exits 1 with one line saying what to check, without the password, when PostgreSQL or Redis cannot be reached at start (flags or environment)', async () => {
    const nobody = `postgres://rollcall:pg-s3cret@127.0.0.1:${await freePort()}/rollcall`;
    const args = ['relay', '--port', '0', '--host', '127.0.0.1', '--log-format', 'pretty'];
    const viaFlag = await runCli([...args, '--store', nobody]);
    const viaEnv = await runCli(args, { env: { ROLLCALL_RELAY_STORE: nobody } });
    for (const run of [viaFlag, viaEnv]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^rollcall: cannot use PostgreSQL at postgres:\/\/rollcall:\*\*\*@127\.0\.0\.1:\d+\/rollcall: .*Check that the server runs.*\n$/);
      expect(run.stdout + run.stderr).not.toContain('pg-s3cret');
    }
    const noRedis = await runCli([...args, '--store', await urlWithPassword(), '--bus', `redis://:bus-s3cret@127.0.0.1:${await freePort()}`]);
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(/^rollcall: could not reach Redis at redis:\/\/127\.0\.0\.1:\d+ .*check the --bus URL/m);
    expect(noRedis.stdout + noRedis.stderr).not.toMatch(/bus-s3cret|pg-s3cret/);
    const busAlone = await runCli([...args, '--bus', 'redis://127.0.0.1:1']);
    expect(busAlone).toMatchObject({ code: 1, stderr: expect.stringContaining('give --store postgres://… too') });
  });

  it('`--store-pool N` (or ROLLCALL_RELAY_STORE_POOL) is how many connections the relay opens at start and keeps; 4 without it', async () => {
    const observer = new pg.Client({ connectionString: server!.url });
    await observer.connect();
    cleanups.push(() => observer.end());
    const connectionsTo = async (url: string) =>
      Number((await observer.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [new URL(url).pathname.slice(1)])).rows[0]!.n);
    for (const { args, env, expected } of [
      { args: [], env: {}, expected: 4 },
      { args: ['--store-pool', '2'], env: {}, expected: 2 },
      { args: [], env: { ROLLCALL_RELAY_STORE_POOL: '6' }, expected: 6 },
    ]) {
      const url = await server!.createDatabase();
      const relay = await startRollcall(['relay', '--store', url, '--log-format', 'json', ...args], { readyPath: '/readyz', env });
      try {
        expect(await connectionsTo(url), JSON.stringify({ args, env })).toBe(expected);
      } finally {
        await relay.stop();
      }
    }
  });

  it('[R10] `rollcall relay enroll|validators|revoke --store` manage the shared trust; a running relay closes the revoked validator’s connection', async () => {
    const url = await urlWithPassword();
    const relay: StartedProcess = await startRollcall(['relay', '--store', url, '--log-format', 'json'], { readyPath: '/readyz' });
    cleanups.push(() => relay.stop());
    const enrolled = await runCli(['relay', 'enroll', '--name', 'prof-shared', '--store', url]);
    expect(enrolled.code).toBe(0);
    expect(enrolled.stdout).toMatch(/[0-9A-Z]{5}(-[0-9A-Z]{5}){3}/);
    const validator = new TestValidator('prof-shared');
    const trust = await PgTrustStore.connect(url, { logger: silentLogger });
    await validator.enrolIn(trust);
    await trust.close();
    const listed = await runCli(['relay', 'validators', '--json'], { env: { ROLLCALL_RELAY_STORE: url } });
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'prof-shared', revoked_at: null })]);
    const link = await openRoom(relay.baseUrl, randomUUID(), validator);
    cleanups.push(() => link.end());
    const revoked = await runCli(['relay', 'revoke', 'prof-shared', '--store', url]);
    expect(revoked.code).toBe(0);
    expect(await link.closed()).toMatchObject({ code: 4403, reason: expect.stringContaining('revoked') });
    for (const run of [enrolled, listed, revoked]) expect(run.stdout + run.stderr).not.toContain('pg-s3cret');
  });

  it('[R5] while PostgreSQL is down /readyz answers 503 and a phone’s entry is refused with 1013, unstored; once it is back the phone re-sends it and gets its receipt', async () => {
    const url = await urlWithPassword();
    const validator = new TestValidator();
    const trust = await PgTrustStore.connect(url, { logger: silentLogger }); // `rollcall relay enroll --store …` in effect
    await validator.enrolIn(trust);
    await trust.close();
    const relay: StartedProcess = await startRollcall(['relay', '--store', url, '--log-format', 'json'], { readyPath: '/readyz' });
    cleanups.push(() => relay.stop());
    const readiness = async () => (await fetch(`${relay.baseUrl}/readyz`)).status;

    const room = randomUUID();
    const opener = await openRoom(relay.baseUrl, room, validator);
    cleanups.push(() => opener.end());
    const entry = fakeEntry();
    const doc = new Y.Doc();
    const phone = new WebsocketProvider(`${relay.baseUrl.replace(/^http/, 'ws')}/sync`, room, doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { device: entry.d },
    });
    cleanups.push(() => phone.destroy());
    const closes: number[] = [];
    phone.on('connection-close', (event: { code: number } | null) => void (event && closes.push(event.code)));
    await waitFor(() => phone.synced, { message: 'the phone to sync' });

    await server!.pause();
    cleanups.push(() => server!.resume());
    await waitFor(async () => (await readiness()) === 503, { message: '/readyz to say the store is away' });
    expect(await (await fetch(`${relay.baseUrl}/readyz`)).json()).toEqual({ ok: false, reason: 'a store is closed or unreachable' });
    appendEntry(doc, entry);
    await waitFor(() => closes.includes(CloseCode.StoreUnavailable), { message: 'the relay to refuse the write with 1013' });
    expect(entriesMap(opener.doc).get(entry.n)).toBeUndefined();
    // What an operator's alert reads: the store unreachable, and peers turned away for it.
    const metric = async (series: string) => (await relayMetrics(relay.baseUrl)).get(series);
    expect(await metric('rollcall_relay_reachable{part="store"}')).toBe(0);
    expect(await metric('rollcall_relay_store_failures_total')).toBeGreaterThanOrEqual(1);

    await server!.resume();
    await waitFor(async () => (await readiness()) === 200, { message: '/readyz to be ready again' });
    expect(await metric('rollcall_relay_reachable{part="store"}')).toBe(1);
    // y-websocket reconnects by itself and re-sends what the relay lacks.
    await waitFor(() => entriesMap(opener.doc).get(entry.n), { timeoutMs: 30_000, message: 'the re-sent entry at the validator' });
    await sendAndSettle(opener, [receiptUpdate(fakeReceipt(entry.n))]);
    await waitFor(() => receiptsMap(doc).get(entry.n), { message: 'the receipt at the phone' });
    expect(relay.stdout() + relay.stderr()).not.toContain('pg-s3cret');
    expect(relay.stderr()).toContain('PostgreSQL is unreachable');
    // Whichever query finds the server first (a trust poll, the probe, an append) says so, once.
    expect(relay.stderr().match(/PostgreSQL is back/g)).toHaveLength(1);
    // R13 on /metrics: the appends the store was sent (the refused try, the entry, the receipt) and the statements that carried them.
    const metrics = await (await fetch(`${relay.baseUrl}/metrics`)).text();
    const total = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(total('rollcall_relay_store_appends_total')).toBeGreaterThanOrEqual(2);
    expect(total('rollcall_relay_store_statements_total')).toBeGreaterThanOrEqual(1);
    expect(total('rollcall_relay_store_statements_total')).toBeLessThanOrEqual(total('rollcall_relay_store_appends_total'));
  });
});
