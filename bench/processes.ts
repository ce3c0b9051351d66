/** Starting and stopping the measured server processes and the student workers. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackRunning } from '../tests/helpers/runningProcesses.ts';
import type { StudentResult, WorkerMessage, WorkerTask } from './studentWorker.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export { freePort, freePorts } from '../tests/helpers/processes.ts';

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  stop(): Promise<void>;
  output(): string;
}

/**
 * Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Until then
 * it is tracked (tests/helpers/runningProcesses.ts) as `name`, so an interrupted bench stops it.
 */
export function trackChild(name: string, child: ChildProcess, graceMs = 10_000): () => Promise<void> {
  const exited = new Promise<void>((resolveExit) => (child.exitCode !== null || child.signalCode !== null ? resolveExit() : child.once('exit', () => resolveExit())));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  const untrack = trackRunning({ name, stop });
  void exited.then(untrack);
  return stop;
}

/**
 * Node options every server a benchmark starts gets (relays, validators; not the phone workers),
 * from `ROLLCALL_BENCH_NODE_ARGS`, split on spaces: V8 flags that NODE_OPTIONS refuses, such as
 * `--perf-basic-prof-only-functions` or `--log-deopt --logfile=/tmp/v8.log` (docs/performance.md, "Profiling").
 */
const SERVER_NODE_ARGS = (process.env.ROLLCALL_BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/** The same for the campus bench's phone workers, from `ROLLCALL_BENCH_WORKER_NODE_ARGS` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/w`). */
export const WORKER_NODE_ARGS = (process.env.ROLLCALL_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/** Spawns `node [nodeArgs] <script> <args>` and waits until `GET <url>/healthz` answers 200. */
export async function startServer(script: string, args: string[], port: number, nodeArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...SERVER_NODE_ARGS, ...nodeArgs, join(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // "relay on port 41000", "validator on port 41001", "bench/stockServer.ts on port 41002"
  const stop = trackChild(`${args[0] ?? script} on port ${port}`, child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited before it was ready:\n${output.slice(-2000)}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${script} did not answer /healthz within 60 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, pid: child.pid!, url, output: () => output, stop };
}

export interface WorkerPool {
  /** Starts the burst in every worker at once. */
  go(): void;
  /** Resolves with every student's result. */
  done: Promise<StudentResult[]>;
  /** Latest progress across workers. */
  progress(): { submitted: number; receipts: number };
}

/** Forks `workers` student worker processes, each with its share, and waits until all are connected. */
export async function startWorkers(task: Omit<WorkerTask, 'firstIndex' | 'count'>, students: number, workers: number): Promise<WorkerPool> {
  const shares = Array.from({ length: workers }, (_, i) => Math.floor(students / workers) + (i < students % workers ? 1 : 0));
  const progress = shares.map(() => ({ submitted: 0, receipts: 0 }));
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const results: Promise<StudentResult[]>[] = [];
  let firstIndex = 0;
  shares.forEach((count, i) => {
    const child = fork(join(REPO_ROOT, 'cli/bin/run-ts.js'), [join(REPO_ROOT, 'bench/studentWorker.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    trackChild(`student worker ${i + 1}`, child, 5000);
    ready.push(new Promise((resolveReady) => child.on('message', (m: WorkerMessage) => m.type === 'ready' && resolveReady())));
    results.push(
      new Promise((resolveDone, reject) => {
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'progress') progress[i] = { submitted: m.submitted, receipts: m.receipts };
          if (m.type === 'done') resolveDone(m.results);
        });
        // 'close', not 'exit': it comes after the IPC channel delivered everything the worker sent.
        child.once('close', (code) => reject(new Error(`student worker ${i} exited with ${code} before reporting`)));
      }),
    );
    // Sent once the worker listens: a message that arrives while its modules still load is dropped.
    const share = { ...task, firstIndex, count } satisfies WorkerTask;
    child.on('message', (m: WorkerMessage) => m.type === 'listening' && child.send(share));
    firstIndex += count;
  });
  await Promise.all(ready);
  return {
    go: () => children.forEach((c) => c.send('go')),
    done: Promise.all(results).then((all) => all.flat()),
    progress: () => progress.reduce((a, p) => ({ submitted: a.submitted + p.submitted, receipts: a.receipts + p.receipts }), { submitted: 0, receipts: 0 }),
  };
}
