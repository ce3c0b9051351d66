/**
 * The benchmark's phases. Each starts real processes on loopback, runs a burst of students and
 * returns its figures; lectureHall.ts prints and compares them. A relay trusts only enrolled
 * validators (SPEC.md R9–R11): each relay phase enrols its validator in the relay's data folder
 * before starting it, and raises the per-address connection cap (the whole hall is 127.0.0.1).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { newBoxKeyPair, randomBytes, sealEntry, toBase64Url } from '../crypto/index.ts';
import { decodeQrPayload, encodeReceiptUpdate, entriesMap, receiptsMap, type Entry } from '../protocol/index.ts';
import { createSession } from '../tests/helpers/api.ts';
import { removeTempDirs } from '../tests/helpers/processes.ts';
import { RawRelayClient } from '../tests/helpers/relayClient.ts';
import { sendAndSettle } from '../tests/helpers/roomWriters.ts';
import { TestValidator } from '../tests/helpers/testValidator.ts';
import { validatorOfDataDir } from '../tests/helpers/validatorProcess.ts';
import { cpuSeconds, cpuTimes, peakRssMiB, type CpuTimes } from './procStats.ts';
import { freePort, freePorts, startServer, startWorkers, type ServerProcess } from './processes.ts';
import type { ValidatorProof } from './rawStudent.ts';
import type { StudentResult } from './studentWorker.ts';

export interface BenchOptions {
  students: number;
  spreadMs: number;
  workers: number;
  /** How the rollcall phase simulates phones: wire-level with pre-sealed entries (default), or Y.Doc + provider each. */
  phones?: 'raw' | 'yjs';
  profileDir?: string;
  log: (line: string) => void;
}

export interface ProcessFigures {
  cpu_s: number;
  peak_rss_mib: number;
}

export interface BurstFigures {
  students: number;
  receipts: number;
  accepted: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  last_receipt_ms: number;
  bytes_received_per_student: number;
  bytes_sent_per_student: number;
  max_bytes_received: number;
}

const tempDirs: string[] = [];
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
/**
 * Deletes every folder `tempDir()` made so far, and those the test helpers the bench borrows
 * made (Redis's and Caddy's, tests/helpers/processes.ts); returns how many.
 */
export function cleanUp(): number {
  const dirs = tempDirs.splice(0);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  return dirs.length + removeTempDirs();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function summarise(results: StudentResult[]): BurstFigures {
  const latencies = results.filter((r) => r.latencyMs !== undefined).map((r) => r.latencyMs!).sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    students: results.length,
    receipts: latencies.length,
    accepted: results.filter((r) => r.status === 'accepted').length,
    p50_ms: round(percentile(latencies, 50)),
    p95_ms: round(percentile(latencies, 95)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(latencies.at(-1) ?? Number.NaN),
    last_receipt_ms: round(Math.max(...results.map((r) => r.receiptAtMs ?? 0))),
    bytes_received_per_student: Math.round(results.reduce((a, r) => a + r.bytesReceived, 0) / results.length),
    bytes_sent_per_student: Math.round(results.reduce((a, r) => a + r.bytesSent, 0) / results.length),
    max_bytes_received: Math.max(...results.map((r) => r.bytesReceived)),
  };
}

/** A benchmark session: an hour long, rotating every 10 s, as in a real lecture. */
function createBenchSession(validatorUrl: string, course: string, options: Record<string, unknown> = {}) {
  return createSession(validatorUrl, { course, duration_minutes: 60, rotate_seconds: 10, ...options });
}

function validatorKeyOf(qr: { payload_b64: string }): string {
  const payload = decodeQrPayload(qr.payload_b64);
  if (!payload.ok) throw new Error(payload.error);
  return payload.value.k;
}

/** `rollcall relay` arguments; the hall's phones (and, unfiltered, their room views) all come from one address (R11). */
function relayArgs(port: number, dataDir: string, options: BenchOptions): string[] {
  return ['relay', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--max-connections-per-address', String(2 * options.students + 64)];
}

/** Waits until a validator opened `room`: until then the relay refuses phones with 404 (R9). */
async function roomOpened(relayUrl: string, room: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      (await RawRelayClient.connect(relayUrl, room, { device: toBase64Url(randomBytes(32)) })).end();
      return;
    } catch (error) {
      if (!/HTTP 404/.test(String(error)) || Date.now() > deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a burst against `syncUrl` with progress lines; CPU of `measured` processes from "go" until
 * the last receipt (total, and split into user and system time).
 */
async function burst(
  options: BenchOptions,
  task: { syncUrl: string; sessionId: string; qr: { payload_b64: string; signature: string }; validatorKey: string; isFiltered: boolean; isEcho: boolean; isRaw?: boolean; roomView?: ValidatorProof },
  measured: ServerProcess[],
  label: string,
): Promise<{ figures: BurstFigures; results: StudentResult[]; cpu: number[]; cpuTimes: CpuTimes[]; wallMs: number }> {
  const connectStart = performance.now();
  const pool = await startWorkers({ ...task, spreadMs: options.spreadMs }, options.students, options.workers);
  options.log(`  ${label}: ${options.students} students connected and synced in ${((performance.now() - connectStart) / 1000).toFixed(1)} s; burst over ${options.spreadMs / 1000} s`);
  const timesBefore = measured.map((p) => cpuTimes(p.pid));
  const started = performance.now();
  pool.go();
  const ticker = setInterval(() => {
    const p = pool.progress();
    options.log(`  ${label}: ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s  sent ${p.submitted}/${options.students}  receipts ${p.receipts}`);
  }, 1000);
  const results = await pool.done.finally(() => clearInterval(ticker));
  const wallMs = performance.now() - started;
  const times = measured.map((p, i) => {
    const after = cpuTimes(p.pid);
    return { user_s: after.user_s - timesBefore[i]!.user_s, system_s: after.system_s - timesBefore[i]!.system_s };
  });
  return { figures: summarise(results), results, cpu: times.map((t) => t.user_s + t.system_s), cpuTimes: times, wallMs };
}

export interface RollcallFigures extends BurstFigures {
  spread_s: number;
  phones: 'raw' | 'yjs';
  validator_decisions_per_s: number;
  relay: ProcessFigures;
  validator: ProcessFigures;
  relay_cpu_ms_per_update: number;
  /** Validator CPU (user + system, all threads) from "go" to the last receipt, per entry decided. */
  validator_cpu_ms_per_entry: number;
  validator_user_ms_per_entry: number;
  validator_system_ms_per_entry: number;
  /** Where scan→receipt went (raw phones only). */
  legs_ms?: LatencyLegs;
  doc_bytes: number;
  relay_db_bytes: number;
}

/** Size of the room as the relay serves it to its validator (read as `validator`, who must be the room's). */
async function roomBytes(relayUrl: string, sessionId: string, validator: TestValidator): Promise<{ bytes: number; entries: number; receipts: number }> {
  const reader = await RawRelayClient.connect(relayUrl, sessionId, { validator });
  try {
    await reader.syncRoom();
    const doc = reader.doc;
    return { bytes: Y.encodeStateAsUpdate(doc).length, entries: entriesMap(doc).size, receipts: receiptsMap(doc).size };
  } finally {
    reader.end();
  }
}

/**
 * Admits `updates` (one entry each) through `?device=` connections, as phones write, in
 * messages that stay under a phone's size and rate limits (R3); resolves once all are admitted.
 */
async function fillRoom(relayUrl: string, room: string, updates: Uint8Array[]): Promise<void> {
  const entriesPerMessage = 50;
  const messagesPerConnection = 40;
  const perConnection = entriesPerMessage * messagesPerConnection;
  for (let first = 0; first < updates.length; first += perConnection) {
    const share = updates.slice(first, first + perConnection);
    const messages: Uint8Array[] = [];
    for (let i = 0; i < share.length; i += entriesPerMessage) messages.push(Y.mergeUpdates(share.slice(i, i + entriesPerMessage)));
    const phone = await RawRelayClient.connect(relayUrl, room, { device: toBase64Url(randomBytes(32)) });
    try {
      await sendAndSettle(phone, messages);
    } finally {
      phone.end();
    }
  }
}

/** p50 and p99 of each leg of scan→receipt, in ms. */
export interface LatencyLegs {
  /** Phone sends → the validator first hears the entry (relay admission, storage, forwarding). */
  to_validator: { p50: number; p99: number };
  /** First heard → decided (the follower's queue and the group commit's wait). */
  queued: { p50: number; p99: number };
  /** Decided → the phone has its receipt (commit, sealing, the relay admitting and forwarding it). */
  answered: { p50: number; p99: number };
}

/** Lines the phones' clocks up with the validator's decisions (one machine, one clock). */
function latencyLegs(validatorDir: string, sessionId: string, results: StudentResult[]): LatencyLegs | undefined {
  const timed = results.filter((r) => r.nonce && r.submittedAtUnixMs !== undefined && r.receiptAtUnixMs !== undefined);
  if (timed.length === 0) return undefined;
  const db = new Database(join(validatorDir, 'validator.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT nonce, first_seen_ms, decided_at_ms FROM decisions WHERE session_id = ?').all(sessionId) as { nonce: string; first_seen_ms: number; decided_at_ms: number }[];
    const byNonce = new Map(rows.map((row) => [row.nonce, row]));
    const legs = { to_validator: [] as number[], queued: [] as number[], answered: [] as number[] };
    for (const r of timed) {
      const row = byNonce.get(r.nonce!);
      if (!row) continue;
      legs.to_validator.push(row.first_seen_ms - r.submittedAtUnixMs!);
      legs.queued.push(row.decided_at_ms - row.first_seen_ms);
      legs.answered.push(r.receiptAtUnixMs! - row.decided_at_ms);
    }
    const summary = (values: number[]) => {
      const sorted = values.sort((a, b) => a - b);
      return { p50: round1(percentile(sorted, 50)), p99: round1(percentile(sorted, 99)) };
    };
    return { to_validator: summary(legs.to_validator), queued: summary(legs.queued), answered: summary(legs.answered) };
  } finally {
    db.close();
  }
}

function decisionRate(validatorDir: string, sessionId: string): { decisions: number; perSecond: number; firstSeenMs: number } {
  const db = new Database(join(validatorDir, 'validator.db'), { readonly: true });
  try {
    const row = db
      .prepare("SELECT COUNT(*) AS n, MIN(first_seen_ms) AS first, MAX(decided_at_ms) AS last FROM decisions WHERE session_id = ? AND via = 'sync'")
      .get(sessionId) as { n: number; first: number; last: number };
    const spanMs = Math.max(1, row.last - row.first);
    return { decisions: row.n, perSecond: Math.round((row.n / spanMs) * 1000), firstSeenMs: row.first };
  } finally {
    db.close();
  }
}

/** Node writes one profile per thread (the tsx loader has its own): one folder per process. */
function profileArgs(options: BenchOptions, name: string): string[] {
  return options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, `${name}-${Date.now()}`)}`] : [];
}

/** The local-first path: relay and validator as separate processes, phones with filtered sync. */
export async function rollcallPhase(options: BenchOptions): Promise<RollcallFigures> {
  const relayDir = tempDir('bench-relay-');
  const validatorDir = tempDir('bench-validator-');
  // Chosen together: two freePort() calls in a row may return the same port.
  const [relayPort, validatorPort] = (await freePorts(2)) as [number, number];
  // The validator's identity, enrolled before the relay starts; the bench also reads the room whole as it.
  const identity = await validatorOfDataDir(validatorDir, 'bench-validator').enrolInDataDir(relayDir);
  const relay = await startServer('cli/bin/rollcall.js', relayArgs(relayPort, relayDir, options), relayPort, profileArgs(options, 'relay'));
  const validator = await startServer(
    'cli/bin/rollcall.js',
    ['validator', '--host', '127.0.0.1', '--port', String(validatorPort), '--data', validatorDir, '--relay', `ws://127.0.0.1:${relayPort}`, '--public-url', `http://127.0.0.1:${relayPort}`],
    validatorPort,
    profileArgs(options, 'validator'),
  );
  try {
    const session = await createBenchSession(validator.url, 'Bench');
    await roomOpened(relay.url, session.session_id); // the follower picks up new sessions within 250 ms
    const phones = options.phones ?? 'raw';
    const { figures, results, cpu, cpuTimes: times } = await burst(
      options,
      { syncUrl: `ws://127.0.0.1:${relayPort}/sync`, sessionId: session.session_id, qr: session, validatorKey: validatorKeyOf(session), isFiltered: true, isEcho: false, isRaw: phones === 'raw' },
      [relay, validator],
      `rollcall (${options.students} students, ${options.spreadMs / 1000} s)`,
    );
    if (figures.receipts < figures.students) {
      // A lost receipt is a bug to chase, not a figure: show what the servers said.
      options.log(`  rollcall: ${figures.students - figures.receipts} receipts missing; relay log tail:\n${relay.output().slice(-3000)}\n  validator log tail:\n${validator.output().slice(-3000)}`);
    }
    const room = await roomBytes(relay.url, session.session_id, identity);
    const rate = decisionRate(validatorDir, session.session_id);
    const { statSync } = await import('node:fs');
    const dbBytes = ['relay.db', 'relay.db-wal'].reduce((a, f) => a + (statSync(join(relayDir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
    const perEntryMs = (seconds: number) => round3((seconds * 1000) / Math.max(1, rate.decisions));
    const legs = latencyLegs(validatorDir, session.session_id, results);
    return {
      ...figures,
      spread_s: options.spreadMs / 1000,
      phones,
      validator_decisions_per_s: rate.perSecond,
      relay: { cpu_s: round3(cpu[0]!), peak_rss_mib: round1(peakRssMiB(relay.pid)) },
      validator: { cpu_s: round3(cpu[1]!), peak_rss_mib: round1(peakRssMiB(validator.pid)) },
      relay_cpu_ms_per_update: round3((cpu[0]! * 1000) / Math.max(1, figures.receipts)),
      validator_cpu_ms_per_entry: perEntryMs(cpu[1]!),
      validator_user_ms_per_entry: perEntryMs(times[1]!.user_s),
      validator_system_ms_per_entry: perEntryMs(times[1]!.system_s),
      ...(legs ? { legs_ms: legs } : {}),
      doc_bytes: room.bytes,
      relay_db_bytes: dbBytes,
    };
  } finally {
    await validator.stop();
    await relay.stop();
  }
}

export interface EchoFigures extends BurstFigures {
  server: ProcessFigures;
  server_cpu_ms_per_update: number;
}

/** The validator-less echo's connection: it hears every entry and writes stand-in receipts. */
interface EchoPeer {
  doc: Y.Doc;
  sendReceipts(update: Uint8Array): void;
  close(): void;
}

/** On the stock server: a stock provider (every peer may read and write everything there). */
async function stockEcho(port: number, sessionId: string): Promise<EchoPeer> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, sessionId, doc, { WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket, disableBc: true });
  while (!provider.synced) await new Promise((r) => setTimeout(r, 20));
  return { doc, sendReceipts: (update) => Y.applyUpdate(doc, update), close: () => (provider.destroy(), doc.destroy()) };
}

/** On the relay: the room's validator (R10), opening the room with `grant`. */
async function relayEcho(port: number, sessionId: string, validator: TestValidator, grant: ReturnType<TestValidator['grant']>): Promise<EchoPeer> {
  const client = await RawRelayClient.connect(`http://127.0.0.1:${port}`, sessionId, { validator, grant });
  await client.syncRoom();
  return { doc: client.doc, sendReceipts: (update) => client.sendUpdate(update), close: () => client.end() };
}

/**
 * Baseline (a), apples to apples: the same 1,000 wire-level phones and the same
 * validator-less echo (for each new entry a stand-in receipt of the same size class, batched per
 * tick as the validator batches) against either the stock y-websocket server or Rollcall's
 * relay, each in its own measured process. The stock server cannot filter, so there every phone
 * receives the whole room; the relay sends each phone its own items only. On the relay the echo
 * is an enrolled validator that opens the room. `relay-unfiltered` makes every phone also hear
 * the whole room, as the room's validator on a second socket (phones may not read it unfiltered,
 * R10), so both servers fan every update out to every phone: the same work but for admission
 * and persistence (and the phones' filtered sockets), the fairest per-update ratio.
 */
export async function echoPhase(options: BenchOptions, target: 'stock' | 'relay' | 'relay-unfiltered'): Promise<EchoFigures> {
  const port = await freePort();
  const echoValidator = new TestValidator('bench-echo');
  let server: ServerProcess;
  if (target === 'stock') server = await startServer('cli/bin/run-ts.js', ['bench/stockServer.ts', String(port)], port, profileArgs(options, 'stock'));
  else {
    const relayDir = tempDir('bench-echo-relay-');
    await echoValidator.enrolInDataDir(relayDir);
    server = await startServer('cli/bin/rollcall.js', relayArgs(port, relayDir, options), port, profileArgs(options, 'relay-echo'));
  }
  const sessionId = crypto.randomUUID();
  const validator = newBoxKeyPair();
  const payloadB64 = toBase64Url(new TextEncoder().encode(JSON.stringify({ v: 1, s: sessionId, c: 'Bench', a: 0, e: 0, t: 0, r: 10, k: toBase64Url(validator.publicKey) })));
  const qr = { payload_b64: payloadB64, signature: toBase64Url(randomBytes(32)) };
  // One grant for the echo and every room view: a later one would not be refused, an older one would (R9).
  const grant = echoValidator.grant(sessionId);
  const echo = target === 'stock' ? await stockEcho(port, sessionId) : await relayEcho(port, sessionId, echoValidator, grant);
  const pending = new Set<string>();
  let isFlushScheduled = false;
  entriesMap(echo.doc).observe((event) => {
    for (const key of event.keysChanged) pending.add(key);
    if (isFlushScheduled) return;
    isFlushScheduled = true;
    setImmediate(() => {
      isFlushScheduled = false;
      const updates = [...pending].map((n) => encodeReceiptUpdate({ v: 1, n, rn: toBase64Url(randomBytes(24)), c: toBase64Url(randomBytes(116)) }));
      pending.clear();
      for (let i = 0; i < updates.length; i += 200) echo.sendReceipts(Y.mergeUpdates(updates.slice(i, i + 200)));
    });
  });
  const roomView: ValidatorProof | undefined =
    target === 'relay-unfiltered'
      ? { room: sessionId, secretKey: toBase64Url(echoValidator.identity.secretKey), grantJson: grant.grantJson, grantSignature: toBase64Url(grant.signature) }
      : undefined;
  try {
    const { figures, cpu } = await burst(
      options,
      { syncUrl: `ws://127.0.0.1:${port}/sync`, sessionId, qr, validatorKey: toBase64Url(validator.publicKey), isFiltered: target === 'relay', isEcho: true, isRaw: true, ...(roomView ? { roomView } : {}) },
      [server],
      { stock: 'stock y-websocket + echo', relay: 'relay + echo', 'relay-unfiltered': 'relay + echo, phones also hear the whole room' }[target],
    );
    return { ...figures, server: { cpu_s: round3(cpu[0]!), peak_rss_mib: round1(peakRssMiB(server.pid)) }, server_cpu_ms_per_update: round3((cpu[0]! * 1000) / Math.max(1, figures.receipts)) };
  } finally {
    echo.close();
    await server.stop();
  }
}

export interface HttpFigures {
  students: number;
  accepted: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  last_answer_ms: number;
  validator: ProcessFigures;
  /** Validator CPU per request: the same rules with no sync, no sealing and no receipt. */
  validator_cpu_ms_per_request: number;
}

/** Baseline (b): the same students through the seed's `POST /submit_attendance`. */
export async function httpPhase(options: BenchOptions): Promise<HttpFigures> {
  const port = await freePort();
  // Every simulated phone shares this process's address: the per-address rate limit would turn
  // the baseline into a measure of 429s, so it is off here (--direct-rate 0).
  const validator = await startServer('cli/bin/rollcall.js', ['validator', '--host', '127.0.0.1', '--port', String(port), '--data', tempDir('bench-http-'), '--direct-rate', '0'], port);
  try {
    const session = await createBenchSession(validator.url, 'Bench HTTP');
    const cpuBefore = cpuSeconds(validator.pid);
    const started = performance.now();
    const latencies: number[] = [];
    let accepted = 0;
    let lastAt = 0;
    await Promise.all(
      Array.from({ length: options.students }, async (_, i) => {
        await new Promise((r) => setTimeout(r, Math.random() * options.spreadMs));
        const sentAt = performance.now();
        const response = await fetch(`${validator.url}/submit_attendance`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ student_id: `H${i}`, payload_b64: session.payload_b64, signature: session.signature }),
        }).catch(() => undefined);
        const body = (await response?.json().catch(() => undefined)) as { status?: string } | undefined;
        const now = performance.now();
        latencies.push(now - sentAt);
        lastAt = Math.max(lastAt, now - started);
        if (body?.status === 'accepted') accepted++;
      }),
    );
    latencies.sort((a, b) => a - b);
    const cpuS = cpuSeconds(validator.pid) - cpuBefore;
    return {
      students: options.students,
      accepted,
      p50_ms: round1(percentile(latencies, 50)),
      p95_ms: round1(percentile(latencies, 95)),
      p99_ms: round1(percentile(latencies, 99)),
      max_ms: round1(latencies.at(-1)!),
      last_answer_ms: round1(lastAt),
      validator: { cpu_s: round3(cpuS), peak_rss_mib: round1(peakRssMiB(validator.pid)) },
      validator_cpu_ms_per_request: round3((cpuS * 1000) / options.students),
    };
  } finally {
    await validator.stop();
  }
}

/** One run of the scale phase: the rollcall path at one hall size and one spread. */
export type ScaleRow = Pick<
  RollcallFigures,
  | 'students'
  | 'spread_s'
  | 'receipts'
  | 'accepted'
  | 'p50_ms'
  | 'p99_ms'
  | 'max_ms'
  | 'last_receipt_ms'
  | 'validator_cpu_ms_per_entry'
  | 'validator_user_ms_per_entry'
  | 'validator_system_ms_per_entry'
  | 'relay_cpu_ms_per_update'
  | 'legs_ms'
>;

/**
 * The follower at lecture-hall scale: the rollcall phase (fresh relay and validator each time)
 * for every hall size in `students` and every spread in `seconds`, one run after the other, so
 * the validator's CPU per entry can be compared across arrival patterns (all at once, a burst,
 * a trickle) and room sizes in one run.
 */
export async function scalePhase(options: BenchOptions, students: number[], seconds: number[]): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const count of students) {
    for (const spreadS of seconds) {
      const r = await rollcallPhase({ ...options, students: count, spreadMs: spreadS * 1000 });
      rows.push({
        students: r.students,
        spread_s: r.spread_s,
        receipts: r.receipts,
        accepted: r.accepted,
        p50_ms: r.p50_ms,
        p99_ms: r.p99_ms,
        max_ms: r.max_ms,
        last_receipt_ms: r.last_receipt_ms,
        validator_cpu_ms_per_entry: r.validator_cpu_ms_per_entry,
        validator_user_ms_per_entry: r.validator_user_ms_per_entry,
        validator_system_ms_per_entry: r.validator_system_ms_per_entry,
        relay_cpu_ms_per_update: r.relay_cpu_ms_per_update,
        ...(r.legs_ms ? { legs_ms: r.legs_ms } : {}),
      });
      options.log(`  scale: ${count} students over ${spreadS} s: ${r.receipts} receipts, p99 ${r.p99_ms} ms, validator ${r.validator_cpu_ms_per_entry} ms CPU per entry`);
    }
  }
  return rows;
}

export interface ValidatorAloneFigures {
  /** The entry plaintext version of every entry in the room (SPEC.md F2: v2 entries get receipts v2). */
  entry_version: 1 | 2;
  entries: number;
  decisions: number;
  decisions_per_s: number;
  catch_up_ms: number;
}

/**
 * The validator alone, on a pre-filled room: entries are admitted while no validator runs, then
 * the validator starts and catches up. Decisions per second over first-seen → last decision.
 */
export async function validatorAlonePhase(options: BenchOptions, entryCount: number, entryVersion: 1 | 2 = 1): Promise<ValidatorAloneFigures> {
  const relayPort = await freePort();
  const relayDir = tempDir('bench-alone-relay-');
  const validatorDir = tempDir('bench-alone-validator-');
  const identity = await validatorOfDataDir(validatorDir, 'bench-validator').enrolInDataDir(relayDir);
  const relay = await startServer('cli/bin/rollcall.js', relayArgs(relayPort, relayDir, options), relayPort);
  const validatorPort = await freePort();
  const validatorArgs = ['validator', '--host', '127.0.0.1', '--port', String(validatorPort), '--data', validatorDir, '--relay', `ws://127.0.0.1:${relayPort}`, '--public-url', `http://127.0.0.1:${relayPort}`];
  try {
    // Make the session, then stop the validator so the room fills with no one deciding.
    const first = await startServer('cli/bin/rollcall.js', validatorArgs, validatorPort);
    // Late from the start: a receipt v2 then computes and says `late` (SPEC.md S2, F2).
    const session = await createBenchSession(first.url, 'Bench alone', { late_after_minutes: 0 });
    await first.stop();
    const k = validatorKeyOf(session);
    const updates: Uint8Array[] = [];
    for (let i = 0; i < entryCount; i++) {
      const scratch = new Y.Doc();
      const entry = sealEntry({ v: entryVersion, student_id: `A${i}`, payload_b64: session.payload_b64, signature: session.signature, scanned_at: Date.now() }, k, newBoxKeyPair()) as Entry;
      entriesMap(scratch).set(entry.n, entry);
      updates.push(Y.encodeStateAsUpdate(scratch));
    }
    // The room is opened with the validator's identity (its first run may have stopped before
    // its follower did), then phones fill it (R9, R10).
    (await RawRelayClient.connect(relay.url, session.session_id, { validator: identity })).end();
    await fillRoom(relay.url, session.session_id, updates);
    const filled = (await roomBytes(relay.url, session.session_id, identity)).entries;
    if (filled !== entryCount) throw new Error(`the pre-filled room holds ${filled} of ${entryCount} entries`);
    options.log(`  validator alone: room pre-filled with ${entryCount} entries; starting the validator`);
    const started = performance.now();
    const validator = await startServer('cli/bin/rollcall.js', validatorArgs, validatorPort, profileArgs(options, 'validator-alone'));
    try {
      // Decisions are stamped with their batch's start, so the span is measured here: from the
      // first entry the validator saw (its own clock, the same machine's) to the moment the
      // last decision is committed, polled every 10 ms.
      let rate = decisionRate(validatorDir, session.session_id);
      while (rate.decisions < entryCount && performance.now() - started < 120_000) {
        await new Promise((r) => setTimeout(r, 10));
        rate = decisionRate(validatorDir, session.session_id);
      }
      const doneAtMs = Date.now();
      const spanMs = Math.max(1, doneAtMs - rate.firstSeenMs);
      return { entry_version: entryVersion, entries: entryCount, decisions: rate.decisions, decisions_per_s: Math.round((rate.decisions / spanMs) * 1000), catch_up_ms: Math.round(performance.now() - started) };
    } finally {
      await validator.stop();
    }
  } finally {
    await relay.stop();
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
