/**
 * A throwaway PostgreSQL for tests: a fresh data folder (owned by the `postgres` user, since the
 * server refuses to run as root), `initdb -A trust`, a server on a free loopback port with its
 * socket in that folder, one database per test file (`createDatabase`), and `stop()` that shuts
 * it down fast and removes the folder. `pause()` / `resume()` stop and start the same instance
 * on the same port ("PostgreSQL goes away" tests). In CI (CI=true) a machine without PostgreSQL
 * fails loudly; elsewhere the suite skips with one clear line (as `describeInChromium`).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { freePort } from './processes.ts';
import { trackRunning } from './runningProcesses.ts';

const isCi = process.env.CI === 'true' || process.env.CI === '1';
const SUPERUSER = 'rollcall';
const isRoot = process.getuid?.() === 0;

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl (Debian's layout), or POSTGRES_BIN. */
function findPostgresBin(): string | undefined {
  if (process.env.POSTGRES_BIN) return existsSync(join(process.env.POSTGRES_BIN, 'initdb')) ? process.env.POSTGRES_BIN : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

export const POSTGRES_BIN = findPostgresBin();

/** Why PostgreSQL cannot be started here, or undefined when it can. */
function missingPostgres(): string | undefined {
  if (!POSTGRES_BIN) return 'no PostgreSQL server binaries (apt-get install postgresql, or set POSTGRES_BIN)';
  if (isRoot) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root and there is no `postgres` user to run the server as';
    }
  }
  return undefined;
}

/** `describe` when PostgreSQL can be started; otherwise throws under CI, or skips with one line. */
export function describeWithPostgres(name: string, body: () => void): void {
  const missing = missingPostgres();
  if (!missing) {
    describe(name, body);
    return;
  }
  if (isCi) throw new Error(`tests "${name}" need PostgreSQL (CI=true): ${missing}`);
  console.warn(`SKIPPED PostgreSQL tests "${name}": ${missing}`);
  describe.skip(name, body);
}

export interface TestPostgres {
  port: number;
  /** postgres://rollcall@127.0.0.1:<port>/postgres (the maintenance database). */
  url: string;
  /** A new, empty database; its URL. One per test file or suite keeps suites isolated. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown), keeping its data: clients see it go away. */
  pause(): Promise<void>;
  /** Starts the same data folder again on the same port. */
  resume(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses root). */
function runAsOwner(program: string, args: string[]): void {
  const path = join(POSTGRES_BIN!, program);
  try {
    if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', path, ...args], { stdio: 'pipe' });
    else execFileSync(path, args, { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`${program} failed: ${stderr.trim() || (error instanceof Error ? error.message : String(error))}`);
  }
}

let databaseCount = 0;

/** Starts a fresh server; ready when it accepts connections. */
export async function startPostgres(): Promise<TestPostgres> {
  const missing = missingPostgres();
  if (missing) throw new Error(`cannot start PostgreSQL: ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-pg-'));
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  let port = 0;
  let isRunning = false;
  const stopServer = () => {
    if (!isRunning) return;
    runAsOwner('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    isRunning = false;
  };
  const removeAll = async () => {
    try {
      stopServer();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      untrack();
    }
  };
  // Tracked from its folder on: pg_ctl detaches the server from us, so nothing else would stop it.
  const untrack = trackRunning({
    get name() {
      return port ? `PostgreSQL on port ${port}` : `PostgreSQL (being set up in ${dir})`;
    },
    stop: removeAll,
  });
  const start = (onPort: number) =>
    // fsync off: a test's data need not survive a power cut, and the machine is shared.
    runAsOwner('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${onPort} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  try {
    runAsOwner('initdb', ['-D', dataDir, '-A', 'trust', '-U', SUPERUSER, '--no-sync', '-E', 'UTF8', '--locale', 'C']);
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        start(port);
        isRunning = true;
        break;
      } catch (error) {
        // Another process took the port between freePort() and listen: try another.
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        if (attempt >= 2 || !/already in use|could not bind/i.test(log)) throw new Error(`${error instanceof Error ? error.message : String(error)}\n${log.slice(-2000)}`);
      }
    }
  } catch (error) {
    await removeAll();
    throw error;
  }
  const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  return {
    port,
    url,
    async createDatabase() {
      const name = `rollcall_${process.pid}_${++databaseCount}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`;
    },
    async pause() {
      stopServer();
    },
    async resume() {
      if (isRunning) return;
      start(port);
      isRunning = true;
    },
    stop: removeAll,
  };
}
