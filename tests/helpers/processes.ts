/**
 * Real processes for integration tests: spawn `node cli/bin/rollcall.js <args>` or
 * `node cli/bin/run-ts.js <file> <args>` on a free loopback port, wait until GET /healthz
 * answers 200, collect stdout/stderr, and stop them. Shared by every part's tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackRunning } from './runningProcesses.ts';

/** The repository root (tests/helpers/../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** In `args`, replaced by the free port chosen for the process. */
export const PORT = '{port}';

/** Polls `condition` until it returns a truthy value (returned) or the deadline passes (throws). */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 20_000, intervalMs = 50, message = 'condition' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`);
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

const tempDirs: string[] = [];

/** A fresh temporary folder; `removeTempDirs()` deletes every one made so far. */
export function tempDir(prefix = 'rollcall-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Deletes every folder `tempDir()` made so far; returns how many. */
export function removeTempDirs(): number {
  const dirs = tempDirs.splice(0);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  return dirs.length;
}

/** A loopback port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * `count` distinct loopback ports nobody listens on right now. Two `freePort()` calls may return
 * the same port (the first is closed before the second is chosen, and the OS may hand it out
 * again): a config that needs two ports (Caddy's https_port and http_port) takes them here,
 * chosen while all of them are held.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolvePort, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => {
              const address = server.address();
              resolvePort(typeof address === 'object' && address ? address.port : 0);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((closed) => (server.listening ? server.close(() => closed()) : closed()))));
  }
}

export interface StartedProcess {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL at once: a crash. */
  kill(): Promise<number | string>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Path polled until it answers 200 (default /healthz); null: do not wait. */
  readyPath?: string | null;
  timeoutMs?: number;
  /** Use this port instead of a free one (a restart on the same port). */
  port?: number;
  /** Says whether the process is ready on `port` (default: GET http://127.0.0.1:<port><readyPath> answers 200). */
  /**
   * Whether the server is up; `pid` is the process just started: a probe that can ask the server
   * who it is should check it, since a restart on the same port may find another test's server
   * there (the port was free while ours was down).
   */
  isReady?: (port: number, pid: number) => Promise<boolean>;
}

/** Spawns `node <script> <args>` from the repo root, `{port}` in args replaced by a free port. */
export function startProcess(script: string, args: string[], options: StartOptions = {}): Promise<StartedProcess> {
  return startExecutable(process.execPath, [join(REPO_ROOT, script), ...args], options);
}

/** Spawns any program (e.g. caddy) from the repo root, `{port}` in args replaced by a free port. */
export async function startExecutable(executable: string, args: string[], options: StartOptions = {}): Promise<StartedProcess> {
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnce(executable, args, port, options);
    } catch (error) {
      lastError = error;
      // Another process took the port between freePort() and listen(): try another.
      if (!(error instanceof Error && /EADDRINUSE|already in use/.test(error.message))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(executable: string, args: string[], port: number, options: StartOptions): Promise<StartedProcess> {
  const child = spawn(executable, args.map((arg) => arg.replaceAll(PORT, String(port))), {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exitValue: number | string | undefined;
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async (graceMs = 10_000) => {
    if (exitValue !== undefined) return exitValue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const value = await exited;
    clearTimeout(timer);
    return value;
  };
  // "rollcall.js relay on port 41000", "redis-server on port 6380": what an interrupted bench says it stopped.
  const untrack = trackRunning({ name: `${executable === process.execPath ? `${basename(args[0] ?? 'node')} ${args[1] ?? ''}`.trim() : basename(executable)} on port ${port}`, stop: () => stop(5000) });
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitValue = code ?? signal ?? 'unknown';
      untrack();
      resolveExit(exitValue);
    });
  });
  const started: StartedProcess = {
    child,
    port,
    baseUrl,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop,
    kill: async () => {
      if (exitValue !== undefined) return exitValue;
      child.kill('SIGKILL');
      return exited;
    },
  };
  if (options.readyPath === null) return started;
  const readyPath = options.readyPath ?? '/healthz';
  try {
    await waitFor(
      async () => {
        if (exitValue !== undefined) throw new Error(`process exited (${exitValue}) before it was ready: ${stderr.slice(-2000)}`);
        if (options.isReady) return options.isReady(port, child.pid!).catch(() => false);
        const response = await fetch(baseUrl + readyPath, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, message: `${args[0] ?? executable} to answer ${readyPath} on port ${port}` },
    );
  } catch (error) {
    await stop(2000);
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`${detail}\nstderr: ${stderr.slice(-2000)}\nstdout: ${stdout.slice(-1000)}`);
  }
  return started;
}

/** `node cli/bin/rollcall.js <args>`: e.g. `startRollcall(['start', '--data', dir])` (port and host added). */
export function startRollcall(args: string[], options: StartOptions = {}): Promise<StartedProcess> {
  const withPort = args.includes('--port') ? args : [...args, '--port', PORT];
  const withHost = withPort.includes('--host') ? withPort : [...withPort, '--host', '127.0.0.1'];
  return startProcess('cli/bin/rollcall.js', withHost, options);
}

/** `node cli/bin/run-ts.js <file> <args>`: any TypeScript entry; put `PORT` in args where it takes its port. */
export function startTsEntry(file: string, args: string[], options: StartOptions = {}): Promise<StartedProcess> {
  return startProcess('cli/bin/run-ts.js', [file, ...args], options);
}

/** Runs `node <args>` from the repo root to completion, collecting its output. */
export function runNode(args: string[], { env, timeoutMs = 60_000 }: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Runs `node cli/bin/rollcall.js <args>` to completion (a CLI client command). */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode([join(REPO_ROOT, 'cli/bin/rollcall.js'), ...args], options);
}
