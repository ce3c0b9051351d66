/**
 * The campus benchmark's processes: a throwaway PostgreSQL (with pg_stat_statements, to count
 * statements per entry) and Redis, K `rollcall relay --store postgres://… --bus redis://…`
 * processes behind Caddy, one `rollcall validator` enrolled in the shared trust store; or, for
 * the same-run baseline, one SQLite relay and its validator. CPU read from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { silentLogger } from '../log/index.ts';
import { PgTrustStore } from '../relay/PgTrustStore.ts';
import { startCaddyBalancer, type BalancerPolicy } from '../tests/helpers/caddy.ts';
import { startPostgres, type TestPostgres } from '../tests/helpers/postgres.ts';
import { runCli, type StartedProcess } from '../tests/helpers/processes.ts';
import { startRedis, type TestRedis } from '../tests/helpers/redis.ts';
import { validatorOfDataDir } from '../tests/helpers/validatorProcess.ts';
import { cpuSeconds, waitedChildrenCpuSeconds } from './procStats.ts';
import { freePort, startServer, type ServerProcess } from './processes.ts';
import { tempDir } from './phases.ts';

/** Whether this tree's `rollcall relay` takes `--store` and `--bus` (issue 10, part A). */
export async function relayTakesStoreAndBus(): Promise<boolean> {
  const help = await runCli(['relay', '--help']);
  return /--store\b/.test(help.stdout) && /--bus\b/.test(help.stdout);
}

/** Relay arguments for a hall of `maxConnections` phones, all from 127.0.0.1 (R11). */
function relayArgs(port: number, dataDir: string, maxConnections: number, extra: string[] = []): string[] {
  return ['relay', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--max-connections-per-address', String(maxConnections), ...extra];
}

function validatorArgs(port: number, dataDir: string, relayHttpUrl: string, extra: string[] = []): string[] {
  return ['validator', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--relay', relayHttpUrl.replace(/^http/, 'ws'), '--public-url', relayHttpUrl, ...extra];
}

/**
 * User + system CPU seconds of every process of a PostgreSQL server: the postmaster, its live
 * backends and those that exited (the postmaster's waited-for children: without them the sum
 * fell when a killed relay's connections ended, by more than PostgreSQL used meanwhile).
 */
export function postgresCpuSeconds(port: number): number {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return { pid: Number(pid), ppid: Number(fields[1]), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') };
      } catch {
        return undefined; // gone meanwhile
      }
    })
    .filter((entry) => entry !== undefined);
  const postmaster = stats.find((entry) => entry.cmdline.includes('postgres') && entry.cmdline.includes(`-p ${port}`) && !stats.some((other) => other.pid === entry.ppid && other.cmdline.includes(`-p ${port}`)));
  if (!postmaster) return Number.NaN;
  return [postmaster, ...stats.filter((entry) => entry.ppid === postmaster.pid)].reduce(
    (sum, entry) => {
      try {
        return sum + cpuSeconds(entry.pid);
      } catch {
        return sum;
      }
    },
    waitedChildrenCpuSeconds(postmaster.pid),
  );
}

export interface Campus {
  postgres: TestPostgres;
  databaseUrl: string;
  redis: TestRedis;
  relays: ServerProcess[];
  balancer: StartedProcess;
  /** http://127.0.0.1:<balancer port> */
  url: string;
  validator: ServerProcess;
  validatorDir: string;
  /** Statements run in the campus database since the last reset (pg_stat_statements). */
  statements(): Promise<number>;
  resetStatements(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts PostgreSQL, Redis, `relays` relays on both, Caddy over them, and an enrolled validator behind Caddy. */
export async function startCampus(relayCount: number, maxConnections: number, log: (line: string) => void, lbPolicy: BalancerPolicy = 'least_conn', relayExtra: string[] = []): Promise<Campus> {
  const postgres = await startPostgres();
  const stoppers: (() => Promise<unknown>)[] = [() => postgres.stop()];
  try {
    const databaseUrl = await postgres.createDatabase();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    await admin.end();
    await postgres.pause();
    await postgres.resume();
    const statsClient = new pg.Client({ connectionString: databaseUrl });
    await statsClient.connect();
    stoppers.push(() => statsClient.end());
    await statsClient.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    log(`  PostgreSQL on port ${postgres.port} (pg_stat_statements on)`);
    const redis = await startRedis();
    stoppers.push(() => redis.stop());
    log(`  Redis on port ${redis.port}`);
    const relays: ServerProcess[] = [];
    for (let i = 0; i < relayCount; i++) {
      const port = await freePort();
      const relay = await startServer('cli/bin/rollcall.js', relayArgs(port, tempDir(`campus-relay-${i}-`), maxConnections, ['--store', databaseUrl, '--bus', redis.url, ...relayExtra]), port);
      relays.push(relay);
      stoppers.push(() => relay.stop());
    }
    log(`  ${relayCount} relays on ports ${relays.map((relay) => new URL(relay.url).port).join(', ')}`);
    const balancer = await startCaddyBalancer(relays.map((relay) => Number(new URL(relay.url).port)), { lbPolicy });
    stoppers.push(() => balancer.stop());
    log(`  Caddy balancing them on ${balancer.baseUrl} (lb_policy ${lbPolicy})`);
    const { validator, validatorDir } = await startPgValidator(databaseUrl, balancer.baseUrl, 'campus-validator-');
    stoppers.push(() => validator.stop());
    log(`  validator enrolled in the shared trust store, following rooms through Caddy`);
    const ownDatabase = `dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT ILIKE '%pg_stat_statements%'`;
    return {
      postgres,
      databaseUrl,
      redis,
      relays,
      balancer,
      url: balancer.baseUrl,
      validator,
      validatorDir,
      statements: async () => Number((await statsClient.query(`SELECT COALESCE(SUM(calls), 0) AS calls FROM pg_stat_statements WHERE ${ownDatabase}`)).rows[0].calls),
      resetStatements: async () => void (await statsClient.query('SELECT pg_stat_statements_reset()')),
      stop: () => stopAll(stoppers),
    };
  } catch (error) {
    await stopAll(stoppers);
    throw error;
  }
}

async function stopAll(stoppers: (() => Promise<unknown>)[]): Promise<void> {
  for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
}

/**
 * One relay on PostgreSQL + Redis (a database of its own on the campus's server, the campus's
 * Redis) and its validator, phones straight to it: the same load as the SQLite hall on the same
 * kind of process, so the two relays' CPU per entry compare the stores and the bus alone.
 */
export async function startPgHall(campus: Campus, maxConnections: number, relayExtra: string[] = []): Promise<Hall> {
  const databaseUrl = await campus.postgres.createDatabase();
  const relayPort = await freePort();
  const relay = await startServer('cli/bin/rollcall.js', relayArgs(relayPort, tempDir('campus-pg-relay-'), maxConnections, ['--store', databaseUrl, '--bus', campus.redis.url, ...relayExtra]), relayPort);
  try {
    const { validator, validatorDir } = await startPgValidator(databaseUrl, relay.url, 'campus-pg-validator-');
    return {
      relay,
      validator,
      validatorDir,
      stop: async () => {
        await validator.stop();
        await relay.stop();
      },
    };
  } catch (error) {
    await relay.stop();
    throw error;
  }
}

/**
 * A validator enrolled straight in a shared PostgreSQL trust store (what `rollcall relay enroll`
 * + `--enroll` achieve), following rooms through `relayUrl`.
 */
async function startPgValidator(databaseUrl: string, relayUrl: string, dirPrefix: string): Promise<{ validator: ServerProcess; validatorDir: string }> {
  const validatorDir = tempDir(dirPrefix);
  const trust = await PgTrustStore.connect(databaseUrl, { logger: silentLogger });
  try {
    await validatorOfDataDir(validatorDir, 'campus-validator').enrolIn(trust);
  } finally {
    await trust.close();
  }
  const validatorPort = await freePort();
  const validator = await startServer('cli/bin/rollcall.js', validatorArgs(validatorPort, validatorDir, relayUrl), validatorPort);
  return { validator, validatorDir };
}

/** One relay and its validator (the SQLite baseline, the one PostgreSQL relay). */
export interface Hall {
  relay: ServerProcess;
  validator: ServerProcess;
  validatorDir: string;
  stop(): Promise<void>;
}

/** The baseline: one SQLite relay (no bus) and its validator, as `npm run bench` runs them. */
export async function startSqliteHall(maxConnections: number): Promise<Hall> {
  const relayDir = tempDir('campus-sqlite-relay-');
  const validatorDir = tempDir('campus-sqlite-validator-');
  await validatorOfDataDir(validatorDir, 'campus-validator').enrolInDataDir(relayDir);
  const relayPort = await freePort();
  const relay = await startServer('cli/bin/rollcall.js', relayArgs(relayPort, relayDir, maxConnections), relayPort);
  const validatorPort = await freePort();
  const validator = await startServer('cli/bin/rollcall.js', validatorArgs(validatorPort, validatorDir, relay.url), validatorPort).catch(async (error: unknown) => {
    await relay.stop();
    throw error;
  });
  return {
    relay,
    validator,
    validatorDir,
    stop: async () => {
      await validator.stop();
      await relay.stop();
    },
  };
}
