/**
 * An interrupted benchmark leaves nothing behind (bench/interruption.ts): SIGINT to
 * `npm run bench -- --campus` once PostgreSQL, Redis, three relays, Caddy, the validator and the
 * phone workers are up, and to `npm run bench` once its relay, validator and workers are up.
 * Every process it started is gone, every port free, every folder removed; it said so in one
 * line and exited 130 (128 + SIGINT). What it started is read from /proc and from its progress
 * lines, never guessed by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeInCampus } from '../helpers/campus.ts';
import { descendantsOf, isGone, isPortFree, postgresOnPort, processTable, type ProcessSeen } from '../helpers/procTable.ts';
import { REPO_ROOT, waitFor } from '../helpers/processes.ts';

interface BenchRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | string>;
}

function startBench(args: string[]): BenchRun {
  const child = spawn(process.execPath, ['cli/bin/run-ts.js', 'bench/lectureHall.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** What a failed test must not leave running: the bench and what it started, each by its pid. */
const leftovers: { bench?: BenchRun; processes: ProcessSeen[]; folders: string[] } = { processes: [], folders: [] };

afterEach(async () => {
  if (leftovers.bench && leftovers.bench.child.exitCode === null && leftovers.bench.child.signalCode === null) {
    leftovers.bench.child.kill('SIGKILL');
    await leftovers.bench.exited;
  }
  for (const seen of leftovers.processes) if (!isGone(seen)) process.kill(seen.pid, 'SIGKILL');
  for (const folder of leftovers.folders) rmSync(folder, { recursive: true, force: true });
  leftovers.bench = undefined;
  leftovers.processes = [];
  leftovers.folders = [];
});

/** Waits for a progress line of the bench (or its early exit, reported with its output). */
async function progressLine(run: BenchRun, line: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const found = await waitFor(() => line.exec(run.stdout()) ?? (run.child.exitCode !== null ? 'exited' : undefined), { timeoutMs, intervalMs: 100, message: `the bench to print ${line}` }).catch(
    (error: Error) => error.message,
  );
  if (typeof found === 'string') throw new Error(`${found === 'exited' ? `the bench exited (${run.child.exitCode}) before printing ${line}` : found}\nstdout: ${run.stdout().slice(-2000)}\nstderr: ${run.stderr().slice(-2000)}`);
  return found;
}

/** The value of `--data <folder>` in a process's command line. */
const dataFolderOf = (seen: ProcessSeen) => / --data (\S+)/.exec(seen.cmdline)?.[1];

/** SIGINT, then: exit 130, one line saying what was stopped, every process gone, every port free, every folder removed. */
async function interruptAndCheck(run: BenchRun, started: ProcessSeen[], ports: number[], folders: string[]): Promise<string> {
  run.child.kill('SIGINT');
  const code = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve('still running 60 s after SIGINT'), 60_000))]);
  expect(code, run.stderr()).toBe(130);
  const lines = run.stderr().split('\n').filter((line) => line.startsWith('Interrupted'));
  expect(lines).toHaveLength(1);
  expect(started.filter((seen) => !isGone(seen)).map((seen) => `${seen.pid} ${seen.cmdline}`)).toEqual([]);
  for (const port of ports) expect(await isPortFree(port), `port ${port}`).toBe(true);
  expect(folders.filter((folder) => existsSync(folder))).toEqual([]);
  return lines[0]!;
}

describeInCampus('npm run bench -- --campus, interrupted', () => {
  it('SIGINT once everything is up stops PostgreSQL, Redis, Caddy, the relays, the validator and the workers, removes their folders, says so and exits 130', async () => {
    const run = startBench(['--campus', '--sessions', '2', '--students', '3', '--seconds', '2', '--idle-phones', '0', '--relays', '3']);
    leftovers.bench = run;
    // PostgreSQL is up from this line on; the burst's line means every part is (phones included).
    const postgresPort = Number((await progressLine(run, /PostgreSQL on port (\d+)/, 120_000))[1]);
    await progressLine(run, /campus: \d+ phones connected/, 120_000);
    const redisPort = Number(/Redis on port (\d+)/.exec(run.stdout())?.[1]);
    const relayPorts = (/relays on ports ([\d, ]+)/.exec(run.stdout())?.[1] ?? '').split(',').map((port) => Number(port.trim()));
    const caddyPort = Number(/Caddy balancing them on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stdout())?.[1]);
    expect(relayPorts).toHaveLength(3);

    const table = processTable();
    const postgres = postgresOnPort(postgresPort, table);
    const children = descendantsOf(run.child.pid!, table);
    const started = [...children, ...postgres];
    leftovers.processes = started;
    // pg_ctl detached PostgreSQL: it is not among the bench's descendants, which is why it outlived Ctrl-C.
    expect(postgres.length).toBeGreaterThan(0);
    const postgresFolder = dirname(/ -D (\S+)/.exec(postgres[0]!.cmdline)?.[1] ?? '');
    expect(postgresFolder).toMatch(/rollcall-pg-/);
    expect(existsSync(postgresFolder)).toBe(true);
    expect(children.some((seen) => seen.cmdline.includes('redis-server'))).toBe(true);
    expect(children.some((seen) => /\bcaddy\b/.test(seen.cmdline))).toBe(true);
    expect(children.filter((seen) => / relay /.test(seen.cmdline))).toHaveLength(3);
    expect(children.some((seen) => seen.cmdline.includes('campusWorker'))).toBe(true);
    const folders = [postgresFolder, ...children.map(dataFolderOf).filter((folder) => folder !== undefined)];
    leftovers.folders = folders;

    const line = await interruptAndCheck(run, started, [postgresPort, redisPort, caddyPort, ...relayPorts], folders);
    expect(line).toMatch(new RegExp(`^Interrupted by SIGINT: stopped \\d+ processes \\(.*PostgreSQL on port ${postgresPort}.*\\); removed \\d+ temporary folders\\.$`));
    expect(line).toContain(`redis-server on port ${redisPort}`);
  }, 240_000);
});

describe('npm run bench, interrupted', () => {
  it('SIGINT during the burst stops its relay, validator and student workers, removes their folders, says so and exits 130', async () => {
    const run = startBench(['--students', '40', '--seconds', '20', '--workers', '2', '--phases', 'rollcall']);
    leftovers.bench = run;
    await progressLine(run, /: 40 students connected and synced/, 120_000);
    const children = descendantsOf(run.child.pid!);
    leftovers.processes = children;
    const servers = children.filter((seen) => / (relay|validator) /.test(seen.cmdline));
    expect(servers).toHaveLength(2);
    expect(children.filter((seen) => seen.cmdline.includes('studentWorker'))).toHaveLength(2);
    const ports = servers.map((seen) => Number(/ --port (\d+)/.exec(seen.cmdline)?.[1]));
    const folders = servers.map(dataFolderOf).filter((folder) => folder !== undefined);
    expect(folders).toHaveLength(2);
    leftovers.folders = folders;

    const line = await interruptAndCheck(run, children, ports, folders);
    expect(line).toMatch(/^Interrupted by SIGINT: stopped \d+ processes \(.*relay on port \d+.*\); removed \d+ temporary folders\.$/);
  }, 180_000);
});
