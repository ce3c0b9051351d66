/**
 * `npm run bench -- --campus`: a campus at 9:00 (issue 10). PostgreSQL, Redis, K relays behind
 * Caddy and one validator; first 10,000 idle phones measure each relay's memory per connected
 * phone; then S sessions × N students scan over the spread (burst 1); then a second burst during which
 * one relay is SIGKILLed half-way through the burst, when about half the students have sent (its phones reconnect through Caddy to
 * the others). The same load runs against one SQLite relay before the campus and again after it:
 * the same-run baseline is the mean of the two (this VM's speed drifts within a run). Prints
 * progress lines and a table; `--json FILE` writes the figures. Figures, never pass/fail: the
 * exit code is 1 only when a receipt was lost or an entry decided twice.
 */
import { relayMetrics } from '../tests/helpers/relayMetrics.ts';
import { startCaddyBalancer, type BalancerPolicy } from '../tests/helpers/caddy.ts';
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { decodeQrPayload, QrResponseSchema } from '../protocol/index.ts';
import { apiCall, createSession } from '../tests/helpers/api.ts';
import type { CampusPhoneResult, CampusSession, CampusWorkerMessage, CampusWorkerTask } from './campusWorker.ts';
import { monotonicMs } from './CampusPhone.ts';
import { postgresCpuSeconds, relayTakesStoreAndBus, startCampus, startPgHall, startSqliteHall, type Campus } from './campusServers.ts';
import { busPhase } from './busPhase.ts';
import { cleanUp } from './phases.ts';
import { unlessInterrupted } from './interruption.ts';
import { cpuSeconds, machineCpuSeconds, mainThreadWakeups, residentKiB, schedulerState } from './procStats.ts';
import { REPO_ROOT, WORKER_NODE_ARGS, trackChild, type ServerProcess } from './processes.ts';
import { RawRelayClient } from '../tests/helpers/relayClient.ts';
import { randomBytes, toBase64Url } from '../crypto/index.ts';

const HELP = `npm run bench -- --campus [options]

  --relays K          relays behind the load balancer (default 3)
  --sessions S        lectures starting at once (default 50)
  --students N        students per lecture (default 100)
  --seconds T         each burst spread over T seconds (default 30)
  --idle-phones P     connected idle phones for the memory phase (default 10000; 0: skip it)
  --workers W         phone worker processes (default 2)
  --lb-policy P       room_hash (default: deploy/Caddyfile.campus; the path copied into a header,
                      lb_policy header: a lecture's phones on one relay; the run first waits a
                      minute for the rooms its set-up loaded everywhere to unload), least_conn
                      (no affinity: every relay hears every room through the bus) or uri_hash
                      (Caddy 2.6 hashes the path *and* query, and phones carry ?device=…, so it
                      spreads them as least_conn does)
  --store-batch-ms W  the relays' --store-batch-ms (R13: updates admitted within W ms share one
                      PostgreSQL statement; default: the relay's, 25)
  --warmup N          before each measured burst (the campus's first, the one PostgreSQL relay's,
                      the SQLite relay's), a warm-up burst of S × N students over T/3 s that is
                      not measured: every side's processes then run warmed-up code, as a relay
                      that has served a while does (default: N = --students; 0: measure fresh
                      processes, which adds each one's one-off JIT compiling to its figure)
  --baseline-behind-caddy
                      the SQLite baseline's phones go through Caddy too (a one-upstream
                      reverse_proxy, as a hosted relay sits behind its TLS front): both sides
                      then pay the proxy in front of the relay
  --answered-phones A leave (default): a phone that has its receipt stops reconnecting, as one
                      put away; stay: it stays connected and reconnects when its relay dies, as
                      the app left open does, so every phone of the killed relay moves, not only
                      those still waiting (answered_closed, answered_reconnected,
                      answered_reopen_*)
  --json FILE         also write the figures as JSON
  --help              this text

Ctrl-C or SIGTERM stops PostgreSQL, Redis, Caddy, the relays, the validator and the phone workers,
removes their temporary folders, says so in one line, and exits 130 (SIGINT) or 143 (SIGTERM).

Targets (issue 10): 100 % receipts and p99 scan→receipt < 1 s for the campus run and across the
SIGKILL of a relay (zero lost, zero decided twice); relay CPU per admitted entry on PostgreSQL +
Redis ≤ 2× the SQLite relay's in the same run; idle phones ≤ 16 KiB each per relay.`;

interface CampusOptions {
  relays: number;
  sessions: number;
  students: number;
  spreadMs: number;
  idlePhones: number;
  workers: number;
  lbPolicy: BalancerPolicy;
  /** The relays' --store-batch-ms; undefined: the relay's default. */
  storeBatchMs?: number;
  /** Students per session in an unmeasured warm-up burst before each measured one; 0: none. */
  warmupStudents: number;
  /** The SQLite baseline's phones through Caddy too. */
  baselineBehindCaddy?: boolean;
  /** Answered phones stay connected and reconnect when their relay dies (`--answered-phones stay`). */
  answeredStayOpen?: boolean;
  log: (line: string) => void;
}

interface BurstFigures {
  students: number;
  receipts: number;
  accepted: number;
  lost: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Phones whose socket closed under them before the receipt (they were on the killed relay). */
  failover_phones: number;
  failover_receipts: number;
  /** Scan→receipt of those phones only (what the SIGKILL cost them). */
  failover_phones_p50_ms: number;
  failover_phones_p99_ms: number;
  /** Of those phones: socket closed → new socket open, p50 / p99. */
  reopen_p50_ms: number;
  reopen_p99_ms: number;
  /** Of those that had sent before: new socket open → receipt, p50 / p99. */
  after_reopen_p50_ms: number;
  after_reopen_p99_ms: number;
  /**
   * Phones that had their receipt when their socket closed (`--answered-phones stay`), and of
   * those the ones whose new socket was open when the burst's last receipt came (the figures
   * are read then: a phone still reopening counts in the first, not the second).
   */
  answered_closed: number;
  answered_reconnected: number;
  /** Of those: socket closed → new socket open, p50 / p99. */
  answered_reopen_p50_ms: number;
  answered_reopen_p99_ms: number;
  /** Failed attempts to open a socket, by reason, over every phone of the burst. */
  open_failures: Record<string, number>;
  /** Each phone worker's longest event-loop stall during the burst (its phones' timings include it). */
  phone_workers_stall_max_ms?: number[];
  /**
   * The failed-over phones' steps after the SIGKILL, ms after it on the monotonic clock, each
   * [p50, p90, p99]: the socket closed under the phone, its first attempt at another (its
   * backoff's timer fired), the attempt that succeeded, that socket open, the receipt.
   */
  after_kill_ms?: Record<'closed' | 'first_attempt' | 'last_attempt' | 'open' | 'receipt', number[]>;
  /** Where the machine's CPU went in the seconds after the SIGKILL (`cpuAfterKill`). */
  cpu_after_kill?: CpuAfterKill;
}

/** How long after the SIGKILL `cpu_after_kill` looks: the failover's storm is over by then (docs/performance.md). */
const AFTER_KILL_WINDOW_MS = 3000;

/**
 * The CPU each process used in the AFTER_KILL_WINDOW_MS after the SIGKILL, against what it would
 * have used at its own rate over the burst before the kill (`extra_ms`: the failover's cost), and
 * how busy the whole machine was in that window and before it (a share of all its cores).
 */
interface CpuAfterKill {
  window_ms: number;
  machine_busy_share: number;
  machine_busy_share_before: number;
  processes: { name: string; ms: number; at_rate_before_ms: number; extra_ms: number }[];
  extra_ms: number;
}

/** Named CPU readers (seconds so far); one that fails (its process is gone) reads NaN. */
type CpuReaders = Record<string, () => number>;

function readAll(readers: CpuReaders): Record<string, number> {
  return Object.fromEntries(
    Object.entries(readers).map(([name, read]) => {
      try {
        return [name, read()];
      } catch {
        return [name, Number.NaN];
      }
    }),
  );
}

/** What the named processes and the machine had used at one moment (`atMs`: monotonic). */
interface CpuReading {
  atMs: number;
  cpu: Record<string, number>;
  machine: { busy_s: number; all_s: number };
}

function cpuReading(readers: CpuReaders): CpuReading {
  return { atMs: monotonicMs(), cpu: readAll(readers), machine: machineCpuSeconds() };
}

/** `cpu_after_kill` from readings at the burst's start, at the kill and a window after it. */
function cpuAfterKill(start: CpuReading, kill: CpuReading, end: CpuReading): CpuAfterKill {
  const windowMs = end.atMs - kill.atMs;
  const processes = Object.keys(kill.cpu).map((name) => {
    const ms = (end.cpu[name]! - kill.cpu[name]!) * 1000;
    const atRateBeforeMs = ((kill.cpu[name]! - start.cpu[name]!) * 1000 * windowMs) / (kill.atMs - start.atMs);
    return { name, ms: Math.round(ms), at_rate_before_ms: Math.round(atRateBeforeMs), extra_ms: Math.round(ms - atRateBeforeMs) };
  });
  const share = (a: CpuReading, b: CpuReading) => round3((b.machine.busy_s - a.machine.busy_s) / Math.max(1e-9, b.machine.all_s - a.machine.all_s));
  return {
    window_ms: Math.round(windowMs),
    machine_busy_share: share(kill, end),
    machine_busy_share_before: share(start, kill),
    processes,
    extra_ms: processes.reduce((sum, p) => sum + (Number.isFinite(p.extra_ms) ? p.extra_ms : 0), 0),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round1 = (n: number) => Math.round(n * 10) / 10;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** `<name>_p50_ms` and `<name>_p99_ms` of the defined values. */
function spread<N extends string>(name: N, values: (number | undefined)[]): Record<`${N}_p50_ms` | `${N}_p99_ms`, number> {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return { [`${name}_p50_ms`]: round1(percentile(sorted, 50)), [`${name}_p99_ms`]: round1(percentile(sorted, 99)) } as Record<`${N}_p50_ms` | `${N}_p99_ms`, number>;
}

/** p50, p90 and p99 of the defined values. */
function quantiles(values: (number | undefined)[]): number[] {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return [50, 90, 99].map((p) => round1(percentile(sorted, p)));
}

/** BurstFigures.after_kill_ms: each failed-over phone's steps, ms after the SIGKILL at `killedAt` (monotonic). */
function afterKill(results: CampusPhoneResult[], killedAt: number): NonNullable<BurstFigures['after_kill_ms']> {
  const steps = results.map((r) => r.failover).filter((f) => f !== undefined);
  const since = (at: number | undefined) => (at === undefined ? undefined : at - killedAt);
  return {
    closed: quantiles(steps.map((f) => since(f.closedAt))),
    first_attempt: quantiles(steps.map((f) => since(f.firstAttemptAt))),
    last_attempt: quantiles(steps.map((f) => since(f.lastAttemptAt))),
    open: quantiles(steps.map((f) => since(f.openAt))),
    receipt: quantiles(steps.map((f) => since(f.receiptAt))),
  };
}

function summarise(results: CampusPhoneResult[]): BurstFigures {
  const latencies = results.filter((r) => r.latencyMs !== undefined).map((r) => r.latencyMs!).sort((a, b) => a - b);
  const failedOver = results.filter((r) => r.reconnects > 0);
  return {
    students: results.length,
    receipts: latencies.length,
    accepted: results.filter((r) => r.status === 'accepted').length,
    lost: results.length - latencies.length,
    p50_ms: round1(percentile(latencies, 50)),
    p99_ms: round1(percentile(latencies, 99)),
    max_ms: round1(latencies.at(-1) ?? Number.NaN),
    failover_phones: failedOver.length,
    failover_receipts: failedOver.filter((r) => r.latencyMs !== undefined).length,
    ...spread('failover_phones', failedOver.map((r) => r.latencyMs)),
    ...spread('reopen', failedOver.map((r) => r.reopenMs)),
    ...spread('after_reopen', failedOver.map((r) => r.afterReopenMs)),
    answered_closed: results.filter((r) => (r.closesAfterReceipt ?? 0) > 0).length,
    answered_reconnected: results.filter((r) => (r.reconnectsAfterReceipt ?? 0) > 0).length,
    ...spread('answered_reopen', results.map((r) => r.reopenAfterReceiptMs)),
    open_failures: results.reduce<Record<string, number>>((all, r) => {
      for (const [reason, count] of Object.entries(r.failures ?? {})) all[reason] = (all[reason] ?? 0) + count;
      return all;
    }, {}),
  };
}

interface WorkerPool {
  go(): void;
  /** Each worker's longest event-loop stall during the burst (ms), once `done` resolved. */
  stallsMs: number[];
  done: Promise<CampusPhoneResult[]>;
  progress(): { submitted: number; receipts: number };
  /** The workers' process ids. */
  pids: number[];
}

/** How long the phone workers may take to connect every phone before the run stops with an error (not a hang). */
const READY_TIMEOUT_MS = 180_000;

/** Forks `workers` campus workers with `total` phones between them; resolves once all are connected. */
async function startPhones(task: Omit<CampusWorkerTask, 'firstIndex' | 'count'>, total: number, workers: number): Promise<WorkerPool> {
  const shares = Array.from({ length: workers }, (_, i) => Math.floor(total / workers) + (i < total % workers ? 1 : 0));
  const progress = shares.map(() => ({ submitted: 0, receipts: 0 }));
  // What each worker said last before it was ready (the ready timeout's error names it).
  const states = shares.map(() => 'forked, not listening yet');
  const stallsMs = shares.map(() => Number.NaN);
  const stops: (() => Promise<void>)[] = [];
  const children = shares.map((_, i) => {
    const child = fork(join(REPO_ROOT, 'cli/bin/run-ts.js'), [join(REPO_ROOT, 'bench/campusWorker.ts')], { cwd: REPO_ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' }, execArgv: [...process.execArgv, ...WORKER_NODE_ARGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    stops.push(trackChild(`phone worker ${i + 1}`, child, 5000));
    return child;
  });
  const ready: Promise<void>[] = [];
  const results: Promise<CampusPhoneResult[]>[] = [];
  let firstIndex = 0;
  children.forEach((child, i) => {
    ready.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: CampusWorkerMessage) => {
          if (m.type === 'task') states[i] = `task received (${m.phones} phones), building entries, not connecting yet`;
          if (m.type === 'connecting') states[i] = `${m.open} of ${shares[i]} phones open, ${m.pending} of the batch still connecting`;
          if (m.type === 'ready') resolve();
        });
        child.once('close', (code) => reject(new Error(`campus worker ${i} exited with ${code} before it was ready`)));
      }),
    );
    results.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: CampusWorkerMessage) => {
          if (m.type === 'progress') progress[i] = { submitted: m.submitted, receipts: m.receipts };
          if (m.type === 'done') {
            stallsMs[i] = m.stallMs ?? Number.NaN;
            resolve(m.results);
          }
        });
        child.once('close', (code) => reject(new Error(`campus worker ${i} exited with ${code} before reporting`)));
      }),
    );
    const share = { ...task, firstIndex, count: shares[i]! } satisfies CampusWorkerTask;
    child.on('message', (m: CampusWorkerMessage) => {
      if (m.type !== 'listening') return;
      states[i] = 'listening, task sent';
      child.send(share);
    });
    firstIndex += shares[i]!;
  });
  const done = Promise.all(results).then((all) => all.flat());
  // A worker that dies before "go" rejects its results as well as its readiness: that rejection is
  // the readiness error's twin and must not crash the bench (and leave its servers running).
  done.catch(() => undefined);
  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  const isReady = shares.map(() => false);
  ready.forEach((promise, i) => promise.then(() => (isReady[i] = true), () => undefined));
  const notConnected = () =>
    new Error(`the phone workers did not connect their ${total} phones within ${READY_TIMEOUT_MS / 1000} s (${states.map((state, i) => `worker ${i + 1} (pid ${children[i]!.pid}, ${schedulerState(children[i]!.pid)}): ${isReady[i] ? 'ready' : state}`).join('; ')}; see the relays' logs; the run stops here)`);
  try {
    await Promise.race([Promise.all(ready), new Promise<never>((_, reject) => (readyTimer = setTimeout(() => reject(notConnected()), READY_TIMEOUT_MS)))]);
  } catch (error) {
    await Promise.all(stops.map((stop) => stop()));
    throw error;
  } finally {
    clearTimeout(readyTimer);
  }
  return {
    go: () => children.forEach((child) => child.send('go')),
    stallsMs,
    pids: children.map((child) => child.pid!),
    done,
    progress: () => progress.reduce((a, p) => ({ submitted: a.submitted + p.submitted, receipts: a.receipts + p.receipts }), { submitted: 0, receipts: 0 }),
  };
}

/** Waits until a validator opened `room` as seen through `relayUrl` (phones get 404 until then, R9). */
async function roomOpened(relayUrl: string, room: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      (await RawRelayClient.connect(relayUrl, room, { device: toBase64Url(randomBytes(32)) })).end();
      return;
    } catch (error) {
      if (!/HTTP (404|502|503)/.test(String(error)) || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** S sessions on the validator, each open on every relay in `relayUrls`. */
async function openSessions(validatorUrl: string, relayUrls: string[], count: number): Promise<CampusSession[]> {
  const sessions: CampusSession[] = [];
  for (let i = 0; i < count; i++) {
    const created = await createSession(validatorUrl, { course: `Lecture ${i + 1}`, duration_minutes: 90, rotate_seconds: 10 });
    const payload = decodeQrPayload(created.payload_b64);
    if (!payload.ok) throw new Error(payload.error);
    sessions.push({ sessionId: created.session_id, qr: { payload_b64: created.payload_b64, signature: created.signature }, validatorKey: payload.value.k, validatorUrl });
  }
  for (const session of sessions) for (const url of relayUrls) await roomOpened(url, session.sessionId);
  return sessions;
}

/**
 * The sessions with the QR projected now: a rotating QR is accepted only until skew_seconds
 * after it was replaced, and a run reaches its later bursts minutes after the sessions opened
 * (with --warmup, the failover burst's students were all answered "expired" when the phones kept
 * the QR of the session's creation).
 */
async function withCurrentQr(sessions: readonly CampusSession[]): Promise<CampusSession[]> {
  return Promise.all(
    sessions.map(async (session) => {
      const current = await apiCall(session.validatorUrl, 'GET', `/qr/${session.sessionId}`, QrResponseSchema);
      return { ...session, qr: { payload_b64: current.payload_b64, signature: current.signature } };
    }),
  );
}

/** Entries decided more than once: two decisions for one nonce, or two standing acceptances for one student. */
function decidedTwice(validatorDir: string): number {
  const db = new Database(join(validatorDir, 'validator.db'), { readonly: true });
  try {
    const nonces = db.prepare('SELECT COUNT(*) - COUNT(DISTINCT session_id || nonce) AS n FROM decisions').get() as { n: number };
    const students = db.prepare("SELECT COUNT(*) AS n FROM (SELECT 1 FROM decisions WHERE status = 'accepted' GROUP BY session_id, student_id HAVING COUNT(*) > 1)").get() as { n: number };
    return nonces.n + students.n;
  } finally {
    db.close();
  }
}

interface MeasuredBurst {
  figures: BurstFigures;
  /** CPU seconds per measured process from "go" to the last receipt. */
  cpu: number[];
}

/**
 * One burst of `students` phones over `sessions` through `syncUrl`, with progress lines; CPU of
 * `measure` (functions returning a process's CPU seconds so far) over the burst. `midway.kill` runs
 * half-way through the spread (about half the phones have sent).
 */
async function burst(
  options: CampusOptions,
  label: string,
  syncUrl: string,
  sessions: CampusSession[],
  idPrefix: string,
  measure: (() => number)[],
  /** Run half-way through the spread (`kill`); `cpuOf` names the processes whose CPU `cpu_after_kill` shows. */
  midway?: { kill: () => void; cpuOf: (workerPids: number[]) => CpuReaders },
): Promise<MeasuredBurst> {
  const total = options.sessions * options.students;
  const connectStart = performance.now();
  const pool = await startPhones({ mode: 'burst', syncUrls: [syncUrl], sessions: await withCurrentQr(sessions), spreadMs: options.spreadMs, idPrefix, ...(options.answeredStayOpen ? { answeredStayOpen: true } : {}) }, total, options.workers);
  options.log(`  ${label}: ${total} phones connected in ${((performance.now() - connectStart) / 1000).toFixed(1)} s; burst over ${options.spreadMs / 1000} s`);
  const before = measure.map((read) => read());
  const started = performance.now();
  const readers = midway?.cpuOf(pool.pids) ?? {};
  const atStart = cpuReading(readers);
  /** The kill: the CPU read just before it, its moment (monotonic ms), and the read AFTER_KILL_WINDOW_MS later. */
  let killed: { reading: CpuReading; atMs: number; windowEnd: Promise<CpuReading> } | undefined;
  pool.go();
  // Half-way through the spread, when about half the students have sent. A timer, not the
  // workers' progress counts: those come every 500 ms, and a short burst (the smoke test's 2 s)
  // could end before a tick saw half of them, leaving the run without its kill.
  const midwayTimer = midway
    ? setTimeout(() => {
        const reading = cpuReading(readers);
        const atMs = monotonicMs();
        midway.kill();
        killed = { reading, atMs, windowEnd: new Promise((resolve) => setTimeout(resolve, AFTER_KILL_WINDOW_MS)).then(() => cpuReading(readers)) };
      }, options.spreadMs / 2)
    : undefined;
  const ticker = setInterval(() => {
    const p = pool.progress();
    if (Math.round((performance.now() - started) / 500) % 4 === 0) options.log(`  ${label}: ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s  sent ${p.submitted}/${total}  receipts ${p.receipts}`);
  }, 500);
  const results = await pool.done.finally(() => {
    clearInterval(ticker);
    clearTimeout(midwayTimer);
  });
  // Every receipt came before half the spread: the figures would say nothing of a failover.
  if (midway && !killed) throw new Error(`${label}: every phone had its receipt before the relay was to be killed (${options.spreadMs / 2} ms in); use a longer --seconds`);
  const cpu = measure.map((read, i) => read() - before[i]!);
  const figures: BurstFigures = { ...summarise(results), phone_workers_stall_max_ms: pool.stallsMs.map(round1) };
  if (killed) {
    figures.after_kill_ms = afterKill(results, killed.atMs);
    figures.cpu_after_kill = cpuAfterKill(atStart, killed.reading, await killed.windowEnd);
  }
  return { figures, cpu };
}

/** An unmeasured burst of S × `--warmup` students over T/3 s, so that the measured one runs on warmed-up processes. */
async function warmUp(options: CampusOptions, label: string, syncUrl: string, sessions: CampusSession[], idPrefix: string): Promise<void> {
  if (options.warmupStudents === 0) return;
  const warm = await burst({ ...options, students: options.warmupStudents, spreadMs: options.spreadMs / 3 }, `${label} warm-up`, syncUrl, sessions, idPrefix, []);
  if (warm.figures.lost > 0) options.log(`  ${label} warm-up: ${warm.figures.lost} receipts missing`);
}

/**
 * With room affinity, waits until each room is loaded on one relay only: opening the sessions
 * (and the idle phones) loaded every room on every relay, and a loaded room hears all of its
 * updates through the bus, which is the very work affinity saves. A room with no peer unloads
 * after a minute (relay/limits.ts `idleUnloadMs`).
 */
async function roomsOnOneRelay(options: CampusOptions, relays: readonly { url: string }[], rooms: number): Promise<void> {
  options.log(`  room_hash: waiting for the rooms the set-up loaded everywhere to unload (a minute after their last peer)`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const loaded = await metricOfEach(relays, 'rollcall_relay_open_rooms');
    const total = loaded.reduce((a, b) => a + b, 0);
    if (total <= rooms) {
      options.log(`  rooms loaded per relay: ${loaded.join(' + ')} = ${total} for ${rooms} sessions`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`rooms still loaded on several relays after 120 s (${loaded.join(' + ')})`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** A relay's JS heap in use plus memory outside the heap (Buffers), in KiB, from its /metrics. */
async function heapKiB(relay: ServerProcess): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return (value('nodejs_heap_size_used_bytes') + value('nodejs_external_memory_bytes')) / 1024;
}

/** One sample of each relay's /metrics (0 where the relay does not report it), in the relays' order. */
function metricOfEach(relays: readonly { url: string }[], name: string): Promise<number[]> {
  return Promise.all(relays.map(async (relay) => (await relayMetrics(relay.url)).get(name) ?? 0));
}

/** Admitted updates the relays left off the bus so far (R12a), summed. */
async function busUnpublished(relays: readonly { url: string }[]): Promise<number> {
  return (await metricOfEach(relays, 'rollcall_relay_bus_unpublished_total')).reduce((a, b) => a + b, 0);
}

/**
 * Every measured relay is scraped once before its burst, as a Prometheus would scrape them all:
 * a relay's process metrics (the event-loop lag monitor among them) start at its first scrape,
 * and until 2026-12-06 only the campus relays had been scraped (by `roomsOnOneRelay`), so they
 * alone ran the monitor through their bursts (docs/performance.md, "2026-12-06").
 */
async function scrapeOnce(relays: readonly { url: string }[]): Promise<void> {
  await Promise.all(relays.map((relay) => relayMetrics(relay.url)));
}

interface IdleFigures {
  phones: number;
  /** Growth of each relay's resident memory, per phone connected to it. */
  kib_per_phone: number[];
  max_kib_per_phone: number;
  /** Growth of each relay's JS heap + external memory, per phone (garbage not yet collected included). */
  heap_kib_per_phone: number[];
}

/** Connects `phones` idle phones straight to the relays (round robin) and reports each relay's memory per phone. */
async function idlePhase(options: CampusOptions, relays: ServerProcess[], sessions: CampusSession[]): Promise<IdleFigures> {
  const before = relays.map((relay) => residentKiB(relay.pid));
  const heapBefore = await Promise.all(relays.map(heapKiB));
  const started = performance.now();
  const pool = await startPhones({ mode: 'idle', syncUrls: relays.map((relay) => `${relay.url.replace(/^http/, 'ws')}/sync`), sessions, spreadMs: 0, idPrefix: 'IDLE' }, options.idlePhones, options.workers);
  options.log(`  idle: ${options.idlePhones} phones connected in ${((performance.now() - started) / 1000).toFixed(1)} s; letting the relays settle for 20 s`);
  // Every phone has synced and heard a keep-alive round or two before memory is read.
  await new Promise((resolve) => setTimeout(resolve, 20_000));
  const after = relays.map((relay) => residentKiB(relay.pid));
  const heapAfter = await Promise.all(relays.map(heapKiB));
  const perRelay = relays.map((_, i) => Math.floor(options.idlePhones / relays.length) + (i < options.idlePhones % relays.length ? 1 : 0));
  const kibPerPhone = after.map((kib, i) => round1((kib - before[i]!) / perRelay[i]!));
  pool.go(); // "stop"
  await pool.done;
  return {
    phones: options.idlePhones,
    kib_per_phone: kibPerPhone,
    max_kib_per_phone: Math.max(...kibPerPhone),
    heap_kib_per_phone: heapAfter.map((kib, i) => round1((kib - heapBefore[i]!) / perRelay[i]!)),
  };
}

export async function runCampus(options: CampusOptions): Promise<Record<string, unknown>> {
  const total = options.sessions * options.students;
  const maxConnections = 2 * Math.max(total, options.idlePhones) + 1000;
  const report: Record<string, unknown> = {
    relays: options.relays,
    sessions: options.sessions,
    students_per_session: options.students,
    students: total,
    spread_s: options.spreadMs / 1000,
    lb_policy: options.lbPolicy,
    answered_phones: options.answeredStayOpen ? 'stay' : 'leave',
    ...(options.storeBatchMs !== undefined ? { store_batch_ms: options.storeBatchMs } : {}),
    warmup_students_per_session: options.warmupStudents,
    baseline_behind_caddy: options.baselineBehindCaddy ?? false,
    machine: `${(await import('node:os')).cpus().length} cores, node ${process.version}`,
    date: new Date().toISOString(),
  };
  options.log(`\n[0/7] The bus alone: ${options.relays} RedisBus instances, ${options.sessions} rooms, 20,000 messages`);
  report.bus = await busPhase({ buses: options.relays, rooms: options.sessions, log: options.log });
  options.log(`\n[1/7] Baseline, before: one SQLite relay and its validator, ${options.sessions} × ${options.students} over ${options.spreadMs / 1000} s`);
  const before = await sqliteBaseline(options, maxConnections, 'sqlite before', 'B', false);
  report.sqlite_before = before;
  if (!(await relayTakesStoreAndBus())) {
    options.log('\nThis tree’s `rollcall relay` has no --store/--bus yet: the campus (PostgreSQL + Redis) run is skipped; the SQLite baseline still runs.');
    report.campus_skipped = 'rollcall relay has no --store/--bus in this tree';
  } else {
    options.log(`\n[2/7] Campus: PostgreSQL, Redis, ${options.relays} relays behind Caddy, one validator`);
    const campus = await startCampus(options.relays, maxConnections, options.log, options.lbPolicy, relayExtra(options));
    try {
      Object.assign(report, await campusPhases(options, campus));
      options.log(`\n[6/7] One relay on PostgreSQL + Redis and its validator, phones straight to it, the same ${options.sessions} × ${options.students} over ${options.spreadMs / 1000} s`);
      const pgHall = await startPgHall(campus, maxConnections, relayExtra(options));
      try {
        const sessions = await openSessions(pgHall.validator.url, [pgHall.relay.url], options.sessions);
        const pgUrl = `${pgHall.relay.url.replace(/^http/, 'ws')}/sync`;
        await warmUp(options, 'one pg relay', pgUrl, sessions, 'WP');
        await scrapeOnce([pgHall.relay]);
        const measured = await burst(options, 'one pg relay', pgUrl, sessions, 'P', [() => cpuSeconds(pgHall.relay.pid), () => cpuSeconds(pgHall.validator.pid), () => mainThreadWakeups(pgHall.relay.pid)]);
        report.one_pg_relay = hallFigures(measured, pgHall.validatorDir);
      } finally {
        await pgHall.stop();
      }
    } finally {
      await campus.stop();
    }
  }
  options.log(`\n[7/7] Baseline again, after: a new SQLite relay and validator, the same load`);
  const after = await sqliteBaseline(options, maxConnections, 'sqlite after', 'S', report.campus_skipped !== undefined);
  report.sqlite_after = after;
  // Against the mean of the baselines run before and after the campus: this shared VM's speed
  // drifts by more than the effect measured (docs/performance.md, 2026-12-04), and a drift that
  // is steady over the run cancels out of the mean; the two ratios around it show how much.
  const sqlitePerEntry = round3((before.relay_cpu_ms_per_entry + after.relay_cpu_ms_per_entry) / 2);
  report.sqlite = { ...after, relay_cpu_ms_per_entry: sqlitePerEntry, relay_cpu_ms_per_entry_before: before.relay_cpu_ms_per_entry, relay_cpu_ms_per_entry_after: after.relay_cpu_ms_per_entry, receipts: Math.min(before.receipts, after.receipts), lost: before.lost + after.lost, decided_twice: before.decided_twice + after.decided_twice };
  const campusPerEntry = report.relay_cpu_ms_per_entry as number | undefined;
  if (campusPerEntry !== undefined) {
    report.relay_cpu_ratio = round3(campusPerEntry / sqlitePerEntry);
    report.relay_cpu_ratio_against_before = round3(campusPerEntry / before.relay_cpu_ms_per_entry);
    report.relay_cpu_ratio_against_after = round3(campusPerEntry / after.relay_cpu_ms_per_entry);
  }
  const onePg = report.one_pg_relay as { relay_cpu_ms_per_entry: number } | undefined;
  if (onePg) {
    report.one_relay_cpu_ratio = round3(onePg.relay_cpu_ms_per_entry / sqlitePerEntry);
    report.one_relay_cpu_ratio_against_after = round3(onePg.relay_cpu_ms_per_entry / after.relay_cpu_ms_per_entry);
  }
  return report;
}

/** The baseline: one SQLite relay and its validator (fresh ones), the same S × N over T s; its figures. */
async function sqliteBaseline(options: CampusOptions, maxConnections: number, label: string, idPrefix: string, measureIdle: boolean): Promise<ReturnType<typeof hallFigures> & { idle?: IdleFigures }> {
  const hall = await startSqliteHall(maxConnections);
  try {
    const sessions = await openSessions(hall.validator.url, [hall.relay.url], options.sessions);
    let idle: IdleFigures | undefined;
    if (measureIdle && options.idlePhones > 0) {
      // Without the campus relays, the per-phone memory is measured on the SQLite relay (fresh, before its burst).
      options.log(`  ${options.idlePhones} idle phones on the SQLite relay first (memory per phone)`);
      idle = await idlePhase(options, [hall.relay], sessions);
    }
    const front = options.baselineBehindCaddy ? await startCaddyBalancer([Number(new URL(hall.relay.url).port)]) : undefined;
    if (front) options.log(`  the baseline's phones go through Caddy on ${front.baseUrl}`);
    let measured: Awaited<ReturnType<typeof burst>>;
    try {
      const sqliteUrl = `${(front?.baseUrl ?? hall.relay.url).replace(/^http/, 'ws')}/sync`;
      await warmUp(options, label, sqliteUrl, sessions, `W${idPrefix}`);
      await scrapeOnce([hall.relay]);
      measured = await burst(options, label, sqliteUrl, sessions, idPrefix, [() => cpuSeconds(hall.relay.pid), () => cpuSeconds(hall.validator.pid), () => mainThreadWakeups(hall.relay.pid)]);
    } finally {
      await front?.stop();
    }
    return { ...hallFigures(measured, hall.validatorDir), ...(idle ? { idle } : {}) };
  } finally {
    await hall.stop();
  }
}

/** A one-relay hall's burst: its figures, its relay's CPU per admitted entry, entries decided twice. */
function hallFigures(measured: { figures: BurstFigures; cpu: number[] }, validatorDir: string) {
  const perEntry = (seconds: number) => round3((seconds * 1000) / Math.max(1, measured.figures.receipts));
  return {
    ...measured.figures,
    relay_cpu_s: round3(measured.cpu[0]!),
    relay_cpu_ms_per_entry: perEntry(measured.cpu[0]!),
    // The validator does the same work per entry in every phase: its figure moving between phases is the machine's speed moving.
    validator_cpu_ms_per_entry: perEntry(measured.cpu[1]!),
    relay_wakeups_per_entry: round3(measured.cpu[2]! / Math.max(1, measured.figures.receipts)),
    decided_twice: decidedTwice(validatorDir),
  };
}

/** What every PostgreSQL relay of the run is started with beyond the defaults. */
function relayExtra(options: CampusOptions): string[] {
  return options.storeBatchMs === undefined ? [] : ['--store-batch-ms', String(options.storeBatchMs)];
}

async function campusPhases(options: CampusOptions, campus: Campus): Promise<Record<string, unknown>> {
  const sessions = await openSessions(campus.validator.url, campus.relays.map((relay) => relay.url), options.sessions);
  options.log(`  ${sessions.length} sessions open on every relay`);
  const relayCpu = campus.relays.map((relay) => () => cpuSeconds(relay.pid));
  const measure = [...relayCpu, () => postgresCpuSeconds(campus.postgres.port), () => cpuSeconds(campus.redis.process.child.pid!), () => cpuSeconds(campus.validator.pid), () => cpuSeconds(campus.balancer.child.pid!), ...campus.relays.map((relay) => () => mainThreadWakeups(relay.pid))];
  const syncUrl = `${campus.url.replace(/^http/, 'ws')}/sync`;
  let idle: IdleFigures | undefined;
  if (options.idlePhones > 0) {
    // First, on relays that have served nothing yet: memory a burst freed would hide the cost.
    options.log(`\n[3/7] ${options.idlePhones} idle phones connected straight to the relays (memory per phone)`);
    idle = await idlePhase(options, campus.relays, sessions);
  }
  if (options.lbPolicy === 'room_hash') await roomsOnOneRelay(options, campus.relays, sessions.length);
  await warmUp(options, 'campus', syncUrl, sessions, 'WC');
  await scrapeOnce(campus.relays);
  await campus.resetStatements();
  const unpublishedBefore = await busUnpublished(campus.relays);
  options.log(`\n[4/7] Burst 1: ${options.sessions} × ${options.students} students through Caddy`);
  const first = await burst(options, 'campus', syncUrl, sessions, 'C', measure);
  const statements = await campus.statements();
  const unpublished = (await busUnpublished(campus.relays)) - unpublishedBefore;
  const k = options.relays;
  const relaysCpuS = first.cpu.slice(0, k).reduce((a, b) => a + b, 0);
  const perEntry = (seconds: number) => round3((seconds * 1000) / Math.max(1, first.figures.receipts));
  const figures: Record<string, unknown> = {
    receipts: first.figures.receipts,
    accepted: first.figures.accepted,
    lost: first.figures.lost,
    p50_ms: first.figures.p50_ms,
    p99_ms: first.figures.p99_ms,
    max_ms: first.figures.max_ms,
    relay_cpu_s: first.cpu.slice(0, k).map(round3),
    relay_cpu_ms_per_entry: perEntry(relaysCpuS),
    postgres_cpu_ms_per_entry: perEntry(first.cpu[k]!),
    redis_cpu_ms_per_entry: perEntry(first.cpu[k + 1]!),
    validator_cpu_ms_per_entry: perEntry(first.cpu[k + 2]!),
    caddy_cpu_ms_per_entry: perEntry(first.cpu[k + 3]!),
    // Every relay's event-loop wake-ups over the burst, per entry of the whole campus.
    relay_wakeups_per_entry: round3(first.cpu.slice(k + 4, k + 4 + k).reduce((a, b) => a + b, 0) / Math.max(1, first.figures.receipts)),
    postgres_statements_per_entry: round3(statements / Math.max(1, first.figures.receipts)),
    // Of the burst's admitted updates (an entry and its receipt each), those no relay published
    // because no other relay held their room (R12a): near 1 with room affinity, 0 without.
    bus_unpublished_share: round3(unpublished / Math.max(1, 2 * first.figures.receipts)),
    ...(idle ? { idle } : {}),
  };
  options.log(`\n[5/7] Burst 2: the same load; one relay is SIGKILLed half-way through it`);
  // The relay holding the median share of the rooms is killed: room_hash spreads them unevenly
  // (9 to 26 of 50 on one relay seen), and the failover's figures follow how many phones must
  // move (638 to 1,349 of 5,000 on 2026-12-07, when the last relay was killed whatever it held).
  // Without affinity every relay holds every room, and the middle one goes.
  const openRooms = await metricOfEach(campus.relays, 'rollcall_relay_open_rooms');
  const byRooms = campus.relays.map((relay, i) => ({ relay, rooms: openRooms[i]! })).sort((x, y) => x.rooms - y.rooms);
  const { relay: victim, rooms: victimRooms } = byRooms[Math.floor((byRooms.length - 1) / 2)]!;
  const survivors = campus.relays.filter((relay) => relay !== victim);
  const loopLagMaxMs = async () => Promise.all(survivors.map(async (relay) => round1(((await relayMetrics(relay.url)).get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000)));
  // Reading /metrics resets the event-loop delay histogram: the read after the burst covers the SIGKILL and after.
  await loopLagMaxMs();
  const cpuOf = (workerPids: number[]): CpuReaders => ({
    ...Object.fromEntries(survivors.map((relay) => [`relay ${campus.relays.indexOf(relay) + 1} (survivor)`, () => cpuSeconds(relay.pid)])),
    Caddy: () => cpuSeconds(campus.balancer.child.pid!),
    validator: () => cpuSeconds(campus.validator.pid),
    PostgreSQL: () => postgresCpuSeconds(campus.postgres.port),
    Redis: () => cpuSeconds(campus.redis.process.child.pid!),
    ...Object.fromEntries(workerPids.map((pid, i) => [`phone worker ${i + 1}`, () => cpuSeconds(pid)])),
  });
  const second = await burst(
    options,
    'failover',
    syncUrl,
    sessions,
    'F',
    [() => cpuSeconds(campus.balancer.child.pid!)],
    {
      kill: () => {
        victim.child.kill('SIGKILL');
        options.log(`  failover: SIGKILL sent to the relay on ${victim.url} (${victimRooms} of the ${openRooms.join(' + ')} rooms loaded) at ${monotonicMs().toFixed(1)} ms on the monotonic clock (the clock of --cpu-prof profiles, in µs)`);
      },
      cpuOf,
    },
  );
  const survivorLagMs = await loopLagMaxMs();
  Object.assign(figures, {
    failover: { ...second.figures, killed_relay_rooms: victimRooms, survivors_loop_lag_max_ms: survivorLagMs, caddy_cpu_s: round3(second.cpu[0]!) },
    failover_receipts: second.figures.failover_receipts,
    failover_phones: second.figures.failover_phones,
    decided_twice: decidedTwice(campus.validatorDir),
  });
  figures.lost = first.figures.lost + second.figures.lost;
  return figures;
}

function printTable(r: Record<string, any>): void {
  const rows: [string, string, string][] = [];
  const add = (what: string, value: unknown, target = '') => rows.push([what, value === undefined ? '–' : String(value), target]);
  if (r.receipts !== undefined) {
    add('campus: receipts / students', `${r.receipts} / ${r.students} (${r.accepted} accepted)`, '100 %');
    add('campus: scan→receipt p50 / p99 / max', `${r.p50_ms} / ${r.p99_ms} / ${r.max_ms} ms`, 'p99 < 1000 ms');
    add('campus: relay CPU per admitted entry (all relays)', `${r.relay_cpu_ms_per_entry} ms (relays: ${r.relay_cpu_s.join(' + ')} s)`);
    add('campus: event-loop wake-ups per admitted entry (all relays)', r.relay_wakeups_per_entry);
    add('campus: PostgreSQL / Redis / validator / Caddy CPU per entry', `${r.postgres_cpu_ms_per_entry} / ${r.redis_cpu_ms_per_entry} / ${r.validator_cpu_ms_per_entry} / ${r.caddy_cpu_ms_per_entry} ms`);
    add('campus: PostgreSQL statements per entry', r.postgres_statements_per_entry);
    add('campus: admitted updates left off the bus (no other relay held the room, R12a)', `${Math.round(r.bus_unpublished_share * 100)} %`);
    if (r.idle) add(`idle: ${r.idle.phones} phones, RSS (heap) per phone per relay`, `${r.idle.kib_per_phone.join(' / ')} KiB (${r.idle.heap_kib_per_phone.join(' / ')})`, '≤ 16 KiB');
    add('failover: receipts / students (accepted, lost)', `${r.failover.receipts} / ${r.failover.students} (${r.failover.accepted}, ${r.failover.lost})`, '100 %, 0 lost');
    add('failover: scan→receipt p50 / p99 / max', `${r.failover.p50_ms} / ${r.failover.p99_ms} / ${r.failover.max_ms} ms`, 'p99 < 1000 ms');
    add('failover: phones on the killed relay, answered', `${r.failover_receipts} / ${r.failover_phones}`, 'all');
    add('failover: those phones, scan→receipt p50 / p99', `${r.failover.failover_phones_p50_ms} / ${r.failover.failover_phones_p99_ms} ms`);
    add('failover: socket closed → open on another relay, p50 / p99', `${r.failover.reopen_p50_ms} / ${r.failover.reopen_p99_ms} ms`);
    if (r.answered_phones === 'stay') add('failover: answered phones moved too (--answered-phones stay): closed, reopened; closed → open p50 / p99', `${r.failover.answered_closed}, ${r.failover.answered_reconnected}; ${r.failover.answered_reopen_p50_ms} / ${r.failover.answered_reopen_p99_ms} ms`);
    add('failover: rooms loaded on the killed relay (the median relay)', r.failover.killed_relay_rooms);
    add('failover: longest event-loop stall of each surviving relay (burst 2)', `${r.failover.survivors_loop_lag_max_ms.join(' / ')} ms`);
    add('failover: Caddy CPU over burst 2', `${r.failover.caddy_cpu_s} s`);
    add('failover: longest event-loop stall of each phone worker', `${r.failover.phone_workers_stall_max_ms?.join(' / ')} ms`);
    add('failover: failed attempts to open a socket', Object.entries(r.failover.open_failures).map(([reason, count]) => `${count} × ${reason}`).join(', ') || 'none');
    add('failover: sent before, new socket open → receipt, p50 / p99', `${r.failover.after_reopen_p50_ms} / ${r.failover.after_reopen_p99_ms} ms`);
    for (const [step, what] of [['closed', 'socket closed'], ['first_attempt', 'first attempt at another'], ['last_attempt', 'attempt that opened'], ['open', 'socket open'], ['receipt', 'receipt']] as const) {
      add(`failover: after the SIGKILL, ${what}, p50 / p90 / p99`, `${r.failover.after_kill_ms?.[step]?.join(' / ')} ms`);
    }
    const cpu = r.failover.cpu_after_kill as CpuAfterKill | undefined;
    if (cpu) {
      add(`failover: machine busy in the ${cpu.window_ms} ms after the SIGKILL (before it)`, `${Math.round(cpu.machine_busy_share * 100)} % (${Math.round(cpu.machine_busy_share_before * 100)} %) of all cores`);
      add(`failover: CPU in those ${cpu.window_ms} ms beyond each process's rate before (total ${cpu.extra_ms} ms)`, cpu.processes.map((p) => `${p.name} ${p.extra_ms >= 0 ? '+' : ''}${p.extra_ms}`).join(', '));
    }
    add('entries decided twice', r.decided_twice, '0');
  } else add('campus', r.campus_skipped);
  if (r.one_pg_relay) {
    add('one PostgreSQL + Redis relay: receipts (accepted) / p50 / p99', `${r.one_pg_relay.receipts} (${r.one_pg_relay.accepted}) / ${r.one_pg_relay.p50_ms} / ${r.one_pg_relay.p99_ms} ms`);
    add('one PostgreSQL + Redis relay: relay / validator CPU per admitted entry; relay wake-ups per entry', `${r.one_pg_relay.relay_cpu_ms_per_entry} / ${r.one_pg_relay.validator_cpu_ms_per_entry} ms; ${r.one_pg_relay.relay_wakeups_per_entry}`);
  }
  for (const [side, figures] of [['before', r.sqlite_before], ['after', r.sqlite_after]] as const) {
    add(`sqlite ${side}: receipts (accepted) / p50 / p99`, `${figures.receipts} (${figures.accepted}) / ${figures.p50_ms} / ${figures.p99_ms} ms`, '100 %');
    add(`sqlite ${side}: relay / validator CPU per admitted entry; relay wake-ups per entry`, `${figures.relay_cpu_ms_per_entry} / ${figures.validator_cpu_ms_per_entry} ms; ${figures.relay_wakeups_per_entry}`);
  }
  add('sqlite: relay CPU per admitted entry, mean of the two', `${r.sqlite.relay_cpu_ms_per_entry} ms`);
  if (r.sqlite.idle) add(`sqlite: ${r.sqlite.idle.phones} idle phones, RSS (heap) per phone`, `${r.sqlite.idle.kib_per_phone.join(' / ')} KiB (${r.sqlite.idle.heap_kib_per_phone.join(' / ')})`, '≤ 16 KiB');
  if (r.relay_cpu_ratio !== undefined) {
    add('relay CPU ratio, all campus relays (PostgreSQL + Redis / SQLite mean)', r.relay_cpu_ratio, '≤ 2');
    add('  the same against the baseline before / after', `${r.relay_cpu_ratio_against_before} / ${r.relay_cpu_ratio_against_after}`);
  }
  if (r.one_relay_cpu_ratio !== undefined) add('relay CPU ratio, one relay each (PostgreSQL + Redis / SQLite)', r.one_relay_cpu_ratio, '≤ 2');
  if (r.bus) add('bus alone: messages/s, relay + Redis CPU per message, p50 / p99', `${r.bus.messages_per_s}/s, ${r.bus.relays_cpu_us_per_message} + ${r.bus.redis_cpu_us_per_message} µs, ${r.bus.p50_ms} / ${r.bus.p99_ms} ms`);
  add('bench wall time', `${r.bench_seconds} s`);
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(`\nRollcall campus benchmark: ${r.relays} relays, ${r.sessions} sessions × ${r.students_per_session} students over ${r.spread_s} s, ${r.machine}`);
  for (const row of rows) console.log(`  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
}

function answeredPhonesOf(text: string): 'leave' | 'stay' {
  if (text !== 'leave' && text !== 'stay') throw new Error(`--answered-phones must be leave or stay (got "${text}"). Run with --campus --help for usage.`);
  return text;
}

function lbPolicyOf(text: string): BalancerPolicy {
  if (text !== 'least_conn' && text !== 'uri_hash' && text !== 'room_hash') throw new Error(`--lb-policy must be least_conn, uri_hash or room_hash (got "${text}"). Run with --campus --help for usage.`);
  return text;
}

/** The `--campus` entry of `npm run bench`; returns the exit code. */
export async function runCampusCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--campus'),
    options: {
      relays: { type: 'string', default: '3' },
      sessions: { type: 'string', default: '50' },
      students: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '30' },
      'idle-phones': { type: 'string', default: '10000' },
      workers: { type: 'string', default: '2' },
      'lb-policy': { type: 'string', default: 'room_hash' },
      'store-batch-ms': { type: 'string' },
      'baseline-behind-caddy': { type: 'boolean', default: false },
      'answered-phones': { type: 'string', default: 'leave' },
      warmup: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const whole = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min} (got "${text}"). Run with --campus --help for usage.`);
    return n;
  };
  let options: CampusOptions;
  try {
    const seconds = Number(values.seconds);
    if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`--seconds must be 0 or more (got "${values.seconds}")`);
    options = {
      relays: whole('relays', values.relays!, 2),
      sessions: whole('sessions', values.sessions!, 1),
      students: whole('students', values.students!, 1),
      spreadMs: seconds * 1000,
      idlePhones: whole('idle-phones', values['idle-phones']!, 0),
      workers: whole('workers', values.workers!, 1),
      lbPolicy: lbPolicyOf(values['lb-policy']!),
      ...(values['store-batch-ms'] !== undefined ? { storeBatchMs: whole('store-batch-ms', values['store-batch-ms'], 0) } : {}),
      // As large as the measured burst unless said otherwise (docs/performance.md, 2026-12-07).
      warmupStudents: whole('warmup', values.warmup ?? values.students!, 0),
      baselineBehindCaddy: values['baseline-behind-caddy'] === true,
      answeredStayOpen: answeredPhonesOf(values['answered-phones']!) === 'stay',
      log: (line) => console.log(line),
    };
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const started = performance.now();
  let report: Record<string, unknown>;
  try {
    report = await runCampus(options);
  } catch (error) {
    await unlessInterrupted(); // servers stopped under a phase by Ctrl-C: bench/interruption.ts reports and exits
    throw error;
  } finally {
    cleanUp();
  }
  report.bench_seconds = round1((performance.now() - started) / 1000);
  printTable(report);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nJSON written to ${values.json}`);
  }
  const lost = (report.lost as number | undefined) ?? 0;
  const sqliteLost = (report.sqlite as { lost: number }).lost;
  const onePg = report.one_pg_relay as { lost: number; decided_twice: number } | undefined;
  const onePgFailed = onePg !== undefined && (onePg.lost > 0 || onePg.decided_twice > 0);
  return lost > 0 || sqliteLost > 0 || onePgFailed || ((report.decided_twice as number | undefined) ?? 0) > 0 ? 1 : 0;
}
