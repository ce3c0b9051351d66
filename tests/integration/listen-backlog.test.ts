/**
 * A burst of connections larger than Node's default listen backlog (511) is queued by the
 * kernel, not dropped (net/listenBacklog.ts): when a relay takes over a dead relay's phones, or
 * a lecture hall's phones come back with the Wi-Fi, a dropped SYN costs the phone a 1 s
 * retransmission. The server is stopped (SIGSTOP) so that it accepts nothing: every connection
 * that completes its handshake meanwhile sits in the accept queue, whose size is the backlog.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';

const CONNECTIONS = 1_000;
/** The kernel caps every backlog at net.core.somaxconn (4,096 by default since Linux 5.4); the accept queue holds one more. */
const SOMAXCONN = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
const QUEUED = Math.min(CONNECTIONS, SOMAXCONN + 1);
let server: StartedProcess | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  server?.child.kill('SIGCONT');
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.stop();
  server = undefined;
});
afterAll(() => removeTempDirs());

/** Opens CONNECTIONS sockets to `port` and counts those whose handshake completed within `ms`. */
async function handshakesWithin(port: number, ms: number): Promise<number> {
  let connected = 0;
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => connected++);
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  await waitFor(() => connected === QUEUED, { timeoutMs: ms, intervalMs: 50, message: 'every handshake' }).catch(() => undefined);
  return connected;
}

describe('the listen backlog of servers phones connect to', () => {
  for (const [what, args] of [
    ['rollcall relay', ['relay']],
    ['rollcall start (the one-process validator server carries the relay)', ['start']],
  ] as const) {
    it(`${what}: ${CONNECTIONS} connections arriving while it accepts nothing all complete their handshake`, async () => {
      server = await startRollcall([...args, '--data', tempDir('rollcall-backlog-')]);
      server.child.kill('SIGSTOP');
      // With Node's default backlog about 512 complete and the rest wait for SYN retransmissions
      // (1 s, 3 s, 7 s …) that a stopped server never answers.
      expect(await handshakesWithin(server.port, 5_000)).toBe(QUEUED);
    }, 60_000);
  }
});
