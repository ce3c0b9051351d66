/**
 * Relays on several machines (issue 10), as real processes on loopback: three `rollcall relay
 * --store postgres://… --bus redis://…` behind Caddy, one throwaway PostgreSQL and Redis, one
 * `rollcall validator` enrolled in the shared trust store and connected to relay C. Each test is
 * one of the "done when" cases. Faults come at chosen points (a SIGKILL right after the
 * first half of a burst was sent, Redis stopped between two halves), never after a random sleep.
 */
import { readValidatorStore } from '../helpers/validatorStore.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes, toBase64Url } from '../../crypto/index.ts';
import { silentLogger } from '../../log/index.ts';
import { PgTrustStore } from '../../relay/PgTrustStore.ts';
import { createSession, type CreatedSession } from '../helpers/api.ts';
import { startCaddyBalancer } from '../helpers/caddy.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { RawRelayClient, roomSnapshot } from '../helpers/relayClient.ts';
import { relayMetrics } from '../helpers/relayMetrics.ts';
import { entryUpdate, fakeEntry } from '../helpers/roomUpdates.ts';
import { connectStudent, qrPayloadOf, type SimulatedStudent } from '../helpers/students.ts';
import { validatorOfDataDir } from '../helpers/validatorProcess.ts';
import { describeInCampus } from '../helpers/campus.ts';

const phones: SimulatedStudent[] = [];
const clients: RawRelayClient[] = [];

function phone(baseUrl: string, sessionId: string, studentId: string, device?: SimulatedStudent['device']): SimulatedStudent {
  const student = connectStudent(baseUrl, sessionId, studentId, device ? { device } : {});
  phones.push(student);
  return student;
}

describeInCampus('three relays on PostgreSQL and Redis behind Caddy', () => {
  let postgres: TestPostgres;
  let redis: TestRedis;
  let databaseUrl: string;
  const relays: StartedProcess[] = [];
  let balancer: StartedProcess;
  let validator: StartedProcess;
  let validatorDir: string;
  const extraRelays: StartedProcess[] = [];

  function relayArgs(dataDir = tempDir('rollcall-campus-relay-')): string[] {
    return ['relay', '--data', dataDir, '--store', databaseUrl, '--bus', redis.url, '--max-connections-per-address', '200'];
  }

  /** Opens a session on the validator and waits until every relay in `on` lets phones in (R9). */
  async function openSession(on: StartedProcess[] = relays): Promise<CreatedSession> {
    const session = await createSession(validator.baseUrl, { course: 'Distributed systems', duration_minutes: 30 });
    for (const relay of on) {
      await waitFor(
        async () => {
          const client = await RawRelayClient.connect(relay.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) }).catch(() => undefined);
          client?.end();
          return client !== undefined;
        },
        { message: `relay ${relay.port} to know the room is open` },
      );
    }
    return session;
  }

  /** Decisions per student of a session in the validator's own database (two = decided twice). */
  function decisionsPerStudent(sessionId: string): Map<string, number> {
    const decisions = readValidatorStore(validatorDir, (store) => store.decisionsForSession(sessionId));
    const perStudent = new Map<string, number>();
    for (const decision of decisions) perStudent.set(decision.studentId ?? "", (perStudent.get(decision.studentId ?? "") ?? 0) + 1);
    return perStudent;
  }


  beforeAll(async () => {
    postgres = await startPostgres();
    databaseUrl = await postgres.createDatabase();
    redis = await startRedis();
    for (let i = 0; i < 3; i++) relays.push(await startRollcall(relayArgs()));
    balancer = await startCaddyBalancer(relays.map((relay) => relay.port));
    // Enrolled straight in the shared trust store (what `rollcall relay enroll` + `--enroll` achieve): every relay sees it.
    validatorDir = tempDir('rollcall-campus-validator-');
    const trust = await PgTrustStore.connect(databaseUrl, { logger: silentLogger });
    try {
      await validatorOfDataDir(validatorDir, 'prof-campus').enrolIn(trust);
    } finally {
      await trust.close();
    }
    // The validator is connected to relay C only: phones elsewhere reach it through the bus.
    const relayC = relays[2]!;
    validator = await startRollcall(['validator', '--data', validatorDir, '--relay', relayC.baseUrl, '--public-url', balancer.baseUrl]);
  }, 180_000);

  afterAll(async () => {
    for (const student of phones) student.close();
    for (const client of clients) client.end();
    await validator?.stop();
    await balancer?.stop();
    for (const relay of [...relays, ...extraRelays]) await relay.stop();
    await redis?.stop();
    await postgres?.stop();
    removeTempDirs();
  });

  it('[R12] a phone on relay A is answered by the validator connected to relay C', async () => {
    const [relayA] = relays;
    const session = await openSession();
    const student = phone(relayA!.baseUrl, session.session_id, 'CAMPUS-A-1');
    const entry = student.submit(session);
    expect(await student.receipt(entry.n)).toMatchObject({ status: 'accepted', student_id: 'CAMPUS-A-1' });
    // The validator never had a socket on relay A.
    const healthA = (await (await fetch(`${relayA!.baseUrl}/healthz`)).json()) as { connections: number };
    expect(healthA.connections).toBeGreaterThanOrEqual(1);
    expect(validator.stdout() + validator.stderr()).not.toContain(`:${relayA!.port}`);
  });

  it('[R7][R12] concurrent writes of one key on relays A and B: exactly one is admitted, on every relay', async () => {
    const [relayA, relayB] = relays;
    const session = await openSession();
    const writerA = await RawRelayClient.connect(relayA!.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) });
    const writerB = await RawRelayClient.connect(relayB!.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) });
    clients.push(writerA, writerB);
    await Promise.all([writerA.syncRoom(), writerB.syncRoom()]);
    const entryA = fakeEntry();
    const entryB = { ...fakeEntry(), n: entryA.n };
    writerA.sendUpdate(entryUpdate(entryA));
    writerB.sendUpdate(entryUpdate(entryB));
    const loser = await waitFor(() => (writerA.close ? 'A' : writerB.close ? 'B' : undefined), { message: 'one of the two writes to be refused' });
    const [refused, kept, keptEntry] = loser === 'A' ? [writerA, writerB, entryB] : [writerB, writerA, entryA];
    expect(refused.close).toMatchObject({ code: 4403 });
    expect(refused.deniedReason).toMatch(/^R7: /);
    const identity = validatorOfDataDir(validatorDir, 'prof-campus');
    for (const relay of relays) {
      const snapshot = await waitFor(async () => {
        const seen = await roomSnapshot(relay.baseUrl, session.session_id, identity);
        return seen.entries[entryA.n] ? seen : undefined;
      }, { message: `relay ${relay.port} to hold the key` });
      expect(snapshot.entries[entryA.n]).toEqual(keptEntry);
    }
    expect(kept.close).toBeUndefined();
  });

  it('[R12] SIGKILL of relay B mid-burst loses nothing: its phones reconnect through Caddy and are answered by another relay', async () => {
    const relayB = relays[1]!;
    const session = await openSession();
    const burst = Array.from({ length: 30 }, (_, i) => phone(balancer.baseUrl, session.session_id, `KILL-${i}`));
    await waitFor(() => burst.every((student) => student.provider.synced), { message: 'every phone synced through Caddy' });
    const onB = ((await (await fetch(`${relayB.baseUrl}/healthz`)).json()) as { connections: number }).connections;
    expect(onB).toBeGreaterThan(0); // least_conn spread the phones: some are on B
    const entries = burst.slice(0, 15).map((student) => student.submit(session));
    // The chosen point: half the burst sent, some of it still in flight on B.
    expect(await relayB.kill()).toBe('SIGKILL');
    entries.push(...burst.slice(15).map((student) => student.submit(session)));
    const receipts = await Promise.all(burst.map((student, i) => student.receipt(entries[i]!.n, 60_000)));
    expect(receipts.map((receipt) => receipt.status)).toEqual(burst.map(() => 'accepted'));
    expect(receipts.map((receipt) => receipt.student_id).sort()).toEqual(burst.map((student) => student.studentId).sort());
    const decisions = decisionsPerStudent(session.session_id);
    expect([...decisions.values()].every((n) => n === 1)).toBe(true);
    expect(decisions.size).toBe(30);
    // Back for the tests after this one, on the same port (Caddy's health check finds it again).
    relays[1] = await startRollcall(relayArgs(), { port: relayB.port });
  });

  it('[R12] a Redis restart mid-session loses nothing: relays catch up from PostgreSQL', async () => {
    const [relayA] = relays;
    const session = await openSession();
    const before = Array.from({ length: 5 }, (_, i) => phone(relayA!.baseUrl, session.session_id, `REDIS-BEFORE-${i}`));
    await waitFor(() => before.every((student) => student.provider.synced), { message: 'phones on relay A synced' });
    const beforeEntries = before.map((student) => student.submit(session));
    await Promise.all(before.map((student, i) => student.receipt(beforeEntries[i]!.n)));
    const busReachable = async () => (await relayMetrics(relayA!.baseUrl)).get('rollcall_relay_reachable{part="bus"}');
    expect(await busReachable()).toBe(1);
    await redis.stop();
    // What an operator's alert reads; the store stays reachable.
    await waitFor(async () => (await busReachable()) === 0, { message: 'relay A to report the bus unreachable on /metrics' });
    expect((await relayMetrics(relayA!.baseUrl)).get('rollcall_relay_reachable{part="store"}')).toBe(1);
    // Written while relay A cannot tell relay C: stored in PostgreSQL, no message on the bus.
    const during = Array.from({ length: 5 }, (_, i) => phone(relayA!.baseUrl, session.session_id, `REDIS-DURING-${i}`));
    await waitFor(() => during.every((student) => student.provider.synced), { message: 'more phones on relay A' });
    const duringEntries = during.map((student) => student.submit(session));
    await redis.restart();
    const receipts = await Promise.all(during.map((student, i) => student.receipt(duringEntries[i]!.n, 60_000)));
    expect(receipts.map((receipt) => receipt.status)).toEqual(during.map(() => 'accepted'));
    await waitFor(async () => (await busReachable()) === 1, { message: 'relay A to report the bus back on /metrics' });
    const logs = relays.map((relay) => relay.stderr()).join('\n');
    expect(logs).toMatch(/lost the connection to Redis/);
    expect(logs).toMatch(/connection to Redis is back/);
  });

  it('[R5][R12] a relay started on an empty machine serves a room from PostgreSQL', async () => {
    const session = await openSession();
    const first = phone(relays[0]!.baseUrl, session.session_id, 'EMPTY-MACHINE-1');
    const entry = first.submit(session);
    await first.receipt(entry.n);
    const fresh = await startRollcall(relayArgs(tempDir('rollcall-campus-empty-')));
    extraRelays.push(fresh);
    // The same phone, on the new relay: its entry and receipt come back from PostgreSQL (filtered).
    const again = phone(fresh.baseUrl, session.session_id, 'EMPTY-MACHINE-1', first.device);
    // A fresh phone object knows no QR yet: it opens the receipt with the validator key of the session's QR.
    expect(await again.receipt(entry.n, 30_000, qrPayloadOf(session).k)).toMatchObject({ status: 'accepted', student_id: 'EMPTY-MACHINE-1' });
    const whole = await roomSnapshot(fresh.baseUrl, session.session_id, validatorOfDataDir(validatorDir, 'prof-campus'));
    expect(Object.keys(whole.entries)).toEqual([entry.n]);
    expect(Object.keys(whole.receipts)).toEqual([entry.n]);
  });
});
