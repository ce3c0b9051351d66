/**
 * `npm run bench`: a lecture hall scanning at once. Starts real relay and validator processes
 * on loopback, simulates N students (own device key and connection each, wire-level with
 * pre-sealed entries unless `--phones yjs`) in worker processes, and measures the local-first
 * path against two baselines in the same run: the stock y-websocket server with a
 * validator-less echo, and the seed's HTTP path. `--phases scale` repeats the local-first path
 * over hall sizes and spreads for the validator's CPU per entry. Prints a table (and
 * `--json FILE`). Figures, never pass/fail: this machine is shared.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUp, echoPhase, httpPhase, rollcallPhase, scalePhase, validatorAlonePhase, type BenchOptions, type ValidatorAloneFigures, type LatencyLegs, type ScaleRow } from './phases.ts';
import { REPO_ROOT } from './processes.ts';
import { stopEverythingOnSignal, unlessInterrupted } from './interruption.ts';

const HELP = `npm run bench -- [options]

  --students N          students in the hall (default 1000)
  --seconds S           spread the burst over S seconds; 0: every student at the same instant (default 2)
  --workers W           student worker processes (default 2: both cores)
  --phones KIND         raw: wire-level phones, entries sealed and encoded before the clock starts,
                        receipts opened after it stops (default); yjs: a Y.Doc and a y-websocket
                        provider per phone, as the real client (the phones then cost more CPU than
                        the servers). The rollcall and scale phases only: the baselines are raw.
  --phases LIST         comma list of rollcall,stock,http,alone,scale (default: rollcall,stock,http,alone)
  --scale-students LIST hall sizes of the scale phase (default 1000,5000)
  --scale-seconds LIST  spreads of the scale phase, in seconds (default 0,2,10)
  --json FILE           also write the figures as JSON
  --profile             write CPU profiles (.cpuprofile) of relay and validator to bench/results/
  --validator-only      only the validator alone on a pre-filled room (same as --phases alone)
  --alone-entries N     entries in that pre-filled room (default: the larger of --students and 5000)
  --alone-versions LIST entry plaintext versions of the alone phase, one run each in this order
                        (default 1; e.g. 1,2,1,2 compares receipts v1 and v2 in the same run)
  --campus              the campus benchmark instead (PostgreSQL, Redis, K relays behind Caddy,
                        a relay SIGKILLed mid-burst): npm run bench -- --campus --help
  --help                this text

Ctrl-C or SIGTERM stops every process the run started and removes its temporary folders, says
so in one line, and exits 130 (SIGINT) or 143 (SIGTERM).

Targets (docs/SPEC.md, issue 5): 100 % receipts, p99 scan→receipt < 1 s for 1,000 students within 10 s;
validator ≥ 3,000 decisions/s; relay CPU per admitted update ≤ 1.2× the stock server's;
1,000-entry doc ≤ 600 KB; ≤ 4 KB received per phone.
The follower at lecture-hall scale (issue "Who may write what"; --phases scale): validator CPU
≤ 0.5 ms per entry at every spread, for 1,000 and 5,000 students; 5,000 over 10 s: 100 %
receipts, p99 < 1 s; 1,000 at one instant (--seconds 0): p99 < 250 ms.`;

// Ctrl-C or SIGTERM: stop every server and worker, remove the folders (bench's and the helpers'), exit 128 + n.
stopEverythingOnSignal(cleanUp);

if (process.argv.includes('--campus')) {
  // The campus benchmark (issue 10) has options of its own: bench/campus.ts.
  const { runCampusCli } = await import('./campus.ts');
  const code = await runCampusCli(process.argv.slice(2)).catch(async (error: unknown) => {
    await unlessInterrupted();
    throw error;
  });
  await unlessInterrupted();
  process.exit(code);
}

const { values } = parseArgs({
  options: {
    students: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    phases: { type: 'string', default: 'rollcall,stock,http,alone' },
    phones: { type: 'string', default: 'raw' },
    'scale-students': { type: 'string', default: '1000,5000' },
    'scale-seconds': { type: 'string', default: '0,2,10' },
    json: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'validator-only': { type: 'boolean', default: false },
    'alone-entries': { type: 'string' },
    'alone-versions': { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(HELP);
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number of at least 1 (got "${text}"). Run with --help for usage.`);
    process.exit(2);
  }
  return n;
}

const phases = new Set((values['validator-only'] ? 'alone' : values.phases!).split(',').map((p) => p.trim()));
for (const phase of phases) {
  if (!['rollcall', 'stock', 'http', 'alone', 'scale'].includes(phase)) {
    console.error(`unknown phase "${phase}": choose from rollcall, stock, http, alone, scale`);
    process.exit(2);
  }
}
if (values.phones !== 'raw' && values.phones !== 'yjs') {
  console.error(`--phones must be raw or yjs (got "${values.phones}")`);
  process.exit(2);
}
const scaleStudents = values['scale-students']!.split(',').map((n) => positiveInt('scale-students', n.trim()));
const scaleSeconds = values['scale-seconds']!.split(',').map((text) => {
  const seconds = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    console.error(`--scale-seconds takes seconds (0 or more), comma separated (got "${text}")`);
    process.exit(2);
  }
  return seconds;
});
const profileDir = values.profile ? join(REPO_ROOT, 'bench', 'results') : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const options: BenchOptions = {
  students: positiveInt('students', values.students!),
  spreadMs: Number(values.seconds) * 1000,
  workers: positiveInt('workers', values.workers!),
  phones: values.phones,
  ...(profileDir ? { profileDir } : {}),
  log: (line) => console.log(line),
};
if (!Number.isFinite(options.spreadMs) || options.spreadMs < 0) {
  console.error('--seconds must be a number of seconds (0 or more)');
  process.exit(2);
}

const report: Record<string, unknown> = {
  students: options.students,
  spread_s: options.spreadMs / 1000,
  workers: options.workers,
  phones: options.phones,
  machine: `${(await import('node:os')).cpus().length} cores, node ${process.version}`,
  date: new Date().toISOString(),
};

const started = performance.now();
try {
  if (phases.has('rollcall')) {
    console.log(`\n[1/5] Rollcall: relay + validator processes, ${options.students} phones with filtered sync`);
    const r = await rollcallPhase(options);
    Object.assign(report, {
      receipts: r.receipts,
      accepted: r.accepted,
      p50_ms: r.p50_ms,
      p95_ms: r.p95_ms,
      p99_ms: r.p99_ms,
      max_ms: r.max_ms,
      last_receipt_ms: r.last_receipt_ms,
      // Paced by arrivals (the burst's spread), not capacity: the alone phase below measures that
      // and, when it runs, takes the `validator_decisions_per_s` key.
      validator_decisions_per_s_in_burst: r.validator_decisions_per_s,
      validator_decisions_per_s: r.validator_decisions_per_s,
      relay_cpu_s: r.relay.cpu_s,
      relay_peak_rss_mib: r.relay.peak_rss_mib,
      validator_cpu_s: r.validator.cpu_s,
      validator_peak_rss_mib: r.validator.peak_rss_mib,
      validator_cpu_ms_per_entry: r.validator_cpu_ms_per_entry,
      validator_user_ms_per_entry: r.validator_user_ms_per_entry,
      validator_system_ms_per_entry: r.validator_system_ms_per_entry,
      legs_ms: r.legs_ms,
      relay_cpu_ms_per_update: r.relay_cpu_ms_per_update,
      bytes_per_student: r.bytes_received_per_student,
      bytes_sent_per_student: r.bytes_sent_per_student,
      max_bytes_per_student: r.max_bytes_received,
      doc_bytes: r.doc_bytes,
      relay_db_bytes: r.relay_db_bytes,
    });
  }
  if (phases.has('stock')) {
    console.log(`\n[2/5] Baseline (a): the same wire-level phones and echo against the stock y-websocket server, then against the relay`);
    const stock = await echoPhase(options, 'stock');
    const relay = await echoPhase(options, 'relay');
    const relayUnfiltered = await echoPhase(options, 'relay-unfiltered');
    report.stock = stock;
    report.relay_echo = relay;
    report.relay_echo_unfiltered = relayUnfiltered;
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    report.relay_overhead_ratio = ratio(relay.server_cpu_ms_per_update, stock.server_cpu_ms_per_update);
    report.relay_overhead_ratio_same_fanout = ratio(relayUnfiltered.server_cpu_ms_per_update, stock.server_cpu_ms_per_update);
  }
  if (phases.has('http')) {
    console.log(`\n[3/5] Baseline (b): the seed's POST /submit_attendance, ${options.students} students`);
    report.http = await httpPhase(options);
  }
  if (phases.has('alone')) {
    const aloneEntries = values['alone-entries'] ? positiveInt('alone-entries', values['alone-entries']) : Math.max(options.students, 5000);
    const versions = values['alone-versions']!.split(',').map((v) => v.trim());
    if (versions.some((v) => v !== '1' && v !== '2')) {
      console.error(`--alone-versions takes a comma list of 1 and 2 (entry plaintext versions), not "${values['alone-versions']}"`);
      process.exit(2);
    }
    console.log(`\n[4/5] The validator alone on a pre-filled room of ${aloneEntries} entries (entry versions ${versions.join(', ')})`);
    const runs = [];
    for (const version of versions) runs.push(await validatorAlonePhase(options, aloneEntries, Number(version) as 1 | 2));
    const alone = runs[0]!;
    report.validator_alone = alone;
    report.validator_alone_runs = runs;
    report.validator_alone_decisions_per_s = alone.decisions_per_s;
    report.validator_decisions_per_s = alone.decisions_per_s;
  }
  if (phases.has('scale')) {
    console.log(`\n[5/5] The follower at scale: ${scaleStudents.join(', ')} students × over ${scaleSeconds.join(', ')} s, one run each`);
    report.scale = await scalePhase(options, scaleStudents, scaleSeconds);
  }
} catch (error) {
  await unlessInterrupted(); // a phase whose servers an interruption stopped: the interruption reports
  throw error;
} finally {
  cleanUp();
}
await unlessInterrupted();
report.bench_seconds = Math.round((performance.now() - started) / 100) / 10;

printTable(report);
if (values.json) {
  writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nJSON written to ${values.json}`);
}
if (profileDir) console.log(`CPU profiles in ${profileDir} (open in Chrome DevTools → Performance, or speedscope)`);
// A run that lost receipts is a failed run (the smoke test relies on the exit code too).
const lost =
  (typeof report.receipts === 'number' && report.receipts < options.students) ||
  ((report.scale ?? []) as ScaleRow[]).some((row) => row.receipts < row.students);
process.exit(lost ? 1 : 0);

function legsText(legs: LatencyLegs): string {
  return [legs.to_validator, legs.queued, legs.answered].map((leg) => `${leg.p50}/${leg.p99}`).join(', ') + ' ms';
}

function printTable(r: Record<string, any>): void {
  const rows: [string, string, string][] = [];
  const add = (what: string, value: unknown, target = '') => rows.push([what, value === undefined ? '–' : String(value), target]);
  if (r.receipts !== undefined) {
    add('receipts / students', `${r.receipts} / ${r.students} (${r.accepted} accepted)`, '100 %');
    add('scan→receipt p50 / p95 / p99 / max', `${r.p50_ms} / ${r.p95_ms} / ${r.p99_ms} / ${r.max_ms} ms`, 'p99 < 1000 ms');
    add('last receipt after burst start', `${r.last_receipt_ms} ms`, `< ${10_000} ms`);
    if (r.legs_ms) add('p50 / p99 of: to validator, queued, answered', legsText(r.legs_ms));
    add('validator decisions/s (in the burst)', r.validator_decisions_per_s_in_burst, '(paced by arrivals)');
    add('relay CPU / peak RSS', `${r.relay_cpu_s} s / ${r.relay_peak_rss_mib} MiB`);
    add('validator CPU / peak RSS', `${r.validator_cpu_s} s / ${r.validator_peak_rss_mib} MiB`);
    add('validator CPU per entry (user + system)', `${r.validator_cpu_ms_per_entry} ms (${r.validator_user_ms_per_entry} + ${r.validator_system_ms_per_entry})`, '≤ 0.5 ms');
    add('relay CPU per admitted entry', `${r.relay_cpu_ms_per_update} ms`);
    add('bytes received per phone (avg / max)', `${r.bytes_per_student} / ${r.max_bytes_per_student} B`, '≤ 4096 B');
    add('bytes sent per phone', `${r.bytes_sent_per_student} B`);
    add('session doc (as served to the validator)', `${r.doc_bytes} B`, '≤ 600 KB');
    add('relay.db on disk', `${r.relay_db_bytes} B`);
  }
  if (r.stock) {
    add('stock + echo: receipts / p50 / p99', `${r.stock.receipts} / ${r.stock.p50_ms} / ${r.stock.p99_ms} ms`);
    add('stock + echo: server CPU / per entry / RSS', `${r.stock.server.cpu_s} s / ${r.stock.server_cpu_ms_per_update} ms / ${r.stock.server.peak_rss_mib} MiB`);
    add('stock + echo: bytes received per phone', `${r.stock.bytes_received_per_student} B`);
    add('relay + echo: receipts / p50 / p99', `${r.relay_echo.receipts} / ${r.relay_echo.p50_ms} / ${r.relay_echo.p99_ms} ms`);
    add('relay + echo: server CPU / per entry / RSS', `${r.relay_echo.server.cpu_s} s / ${r.relay_echo.server_cpu_ms_per_update} ms / ${r.relay_echo.server.peak_rss_mib} MiB`);
    add('relay + echo, every phone hears the room: server CPU / per entry', `${r.relay_echo_unfiltered.server.cpu_s} s / ${r.relay_echo_unfiltered.server_cpu_ms_per_update} ms`);
    add('relay overhead ratio (same phones, filtered)', r.relay_overhead_ratio, '≤ 1.2');
    add('relay overhead ratio (same fan-out, unfiltered)', r.relay_overhead_ratio_same_fanout, '≤ 1.2');
  }
  if (r.http) {
    add('HTTP path: accepted / p50 / p99', `${r.http.accepted} / ${r.http.p50_ms} / ${r.http.p99_ms} ms`);
    add('HTTP path: validator CPU / per request', `${r.http.validator.cpu_s} s / ${r.http.validator_cpu_ms_per_request} ms`, '(no sync, no sealing)');
  }
  for (const run of (r.validator_alone_runs ?? []) as ValidatorAloneFigures[]) {
    add(`validator alone, entries v${run.entry_version}: decisions/s`, `${run.decisions_per_s} (${run.decisions}/${run.entries}, caught up in ${run.catch_up_ms} ms incl. start)`, '≥ 3000');
  }
  for (const row of (r.scale ?? []) as ScaleRow[]) {
    const target = row.spread_s === 0 && row.students === 1000 ? 'p99 < 250 ms' : row.students >= 5000 && row.spread_s <= 10 ? 'p99 < 1000 ms' : '';
    add(
      `scale ${row.students} over ${row.spread_s} s: receipts / p50 / p99 / max`,
      `${row.receipts} / ${row.p50_ms} / ${row.p99_ms} / ${row.max_ms} ms, last at ${row.last_receipt_ms} ms`,
      `100 %${target ? `, ${target}` : ''}`,
    );
    if (row.legs_ms) add(`scale ${row.students} over ${row.spread_s} s: to validator, queued, answered`, legsText(row.legs_ms));
    add(`scale ${row.students} over ${row.spread_s} s: validator / relay CPU per entry`, `${row.validator_cpu_ms_per_entry} ms (${row.validator_user_ms_per_entry} + ${row.validator_system_ms_per_entry}) / ${row.relay_cpu_ms_per_update} ms`, '≤ 0.5 ms (validator)');
  }
  add('bench wall time', `${r.bench_seconds} s`, '< 180 s');
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(`\nRollcall lecture-hall benchmark: ${r.students} students, burst over ${r.spread_s} s, ${r.phones} phones, ${r.machine}`);
  for (const row of rows) console.log(`  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
}
