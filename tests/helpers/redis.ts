/**
 * A throwaway Redis for tests and the campus benchmark: `redis-server` on a free loopback port,
 * nothing saved (`--save '' --appendonly no`), its working folder a temporary one. `restart()`
 * brings it back on the same port, empty, as a real Redis restart would (pub/sub holds nothing
 * anyway): what the relays' bus must survive (RelayBus `onReconnect`).
 *
 * Without redis-server the tests skip with one line; under CI=true they must run, so a missing
 * redis-server throws.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { describe } from 'vitest';
import { startExecutable, tempDir, type StartedProcess } from './processes.ts';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const isCi = process.env.CI === 'true' || process.env.CI === '1';

/** Why Redis tests cannot run here, or undefined when redis-server is installed (throws under CI). */
export function missingRedis(): string | undefined {
  if (spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).error === undefined) return undefined;
  if (isCi) throw new Error(`the Redis tests need ${REDIS_SERVER} (CI=true): apt-get install redis-server`);
  return `no ${REDIS_SERVER} on this machine (apt-get install redis-server)`;
}

/** `describe` when redis-server is installed; otherwise one SKIPPED line (or a throw under CI). */
export function describeWithRedis(name: string, body: () => void): void {
  const missing = missingRedis();
  if (missing) {
    console.warn(`SKIPPED "${name}": ${missing}`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

/**
 * True when the Redis on `port` is the process `pid` (`INFO server`'s process_id) and accepts
 * commands: after a restart on the same port, the port may hold another test's Redis, which
 * answers PING just as well.
 */
function redisIsProcess(port: number, pid: number, password: string | undefined, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const finish = (isIt: boolean) => {
      socket.destroy();
      resolve(isIt);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write(`${password ? `AUTH ${password}\r\n` : ''}INFO server\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.startsWith('-')) return finish(false);
      const match = /process_id:(\d+)\r\n/.exec(answer);
      if (match) finish(Number(match[1]) === pid);
    });
  });
}

export interface TestRedis {
  port: number;
  /** redis://127.0.0.1:<port> (with the password in it, when there is one) */
  url: string;
  /** The running server process (replaced by `restart()`). */
  readonly process: StartedProcess;
  /** Stops the server (SIGTERM; nothing to save). */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after `stop`/`kill`, or stops it first). */
  restart(): Promise<void>;
}

/**
 * Starts a throwaway redis-server on a free loopback port; ready once it answers PING (with
 * `password`, `requirepass`: PING then answers -NOAUTH, which proves it is up too).
 */
export async function startRedis({ password }: { password?: string } = {}): Promise<TestRedis> {
  const dir = tempDir('rollcall-redis-');
  const args = ['--port', '{port}', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...(password ? ['--requirepass', password] : [])];
  const isReady = (p: number, pid: number) => redisIsProcess(p, pid, password);
  const start = (port?: number) => startExecutable(REDIS_SERVER, args, { ...(port === undefined ? {} : { port }), isReady, timeoutMs: 15_000 });
  let server = await start();
  const port = server.port;
  return {
    port,
    url: password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    get process() {
      return server;
    },
    stop: async () => {
      await server.stop(5000);
    },
    kill: async () => {
      await server.kill();
    },
    restart: async () => {
      await server.stop(5000);
      server = await start(port);
    },
  };
}
