/**
 * Debian's Caddy as a test's TLS front (the campus deployment in docs/deploy.md): a Caddyfile
 * generated for loopback ports, the test CA's certificate (`tls <cert> <key>`: no ACME, no
 * internal CA), `reverse_proxy` to a relay on plain HTTP. Admin endpoint off, no redirect
 * listener, state in a temporary folder: nothing outside the test's ports and folders.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpsRequest, TEST_HOST, type TestPki } from './https.ts';
import { freePort, freePorts, startExecutable, tempDir, type StartedProcess } from './processes.ts';

/** The Caddyfile of the test: https://rollcall.test:<port> in front of `upstreamPort`. */
export function testCaddyfile({ port, httpPort, upstreamPort, pki, stateDir }: { port: number; httpPort: number; upstreamPort: number; pki: TestPki; stateDir: string }): string {
  return `{
	admin off
	auto_https disable_redirects
	http_port ${httpPort}
	https_port ${port}
	storage file_system ${stateDir}
}

https://${TEST_HOST}:${port} {
	bind 127.0.0.1
	tls ${pki.cert} ${pki.key}
	# Passes the client's Host and upgrades WebSockets by itself.
	reverse_proxy 127.0.0.1:${upstreamPort}
}
`;
}

/** Starts `caddy run` in front of `upstreamPort`; ready when GET /healthz through it answers 200 over TLS. */
export async function startCaddy(pki: TestPki, upstreamPort: number): Promise<StartedProcess> {
  const dir = tempDir('rollcall-caddy-');
  // Two distinct ports: Caddy refuses an https_port equal to its http_port.
  const [port, httpPort] = (await freePorts(2)) as [number, number];
  const config = join(dir, 'Caddyfile');
  writeFileSync(config, testCaddyfile({ port, httpPort, upstreamPort, pki, stateDir: join(dir, 'state') }));
  return startExecutable('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
    port,
    env: { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    isReady: async (caddyPort) => (await httpsRequest(pki, caddyPort, '/healthz')).status === 200,
    timeoutMs: 30_000,
  });
}

export type BalancerPolicy = 'least_conn' | 'uri_hash' | 'room_hash';

export interface BalancerOptions {
  /** How often Caddy asks each upstream's /readyz (a draining or dead relay is taken out). */
  healthIntervalMs?: number;
  /** How long a request keeps trying other upstreams when the one it picked cannot be reached. */
  tryDurationMs?: number;
  /**
   * least_conn (default) spreads sockets evenly; uri_hash hashes path and query (a phone's
   * ?device= too, so not per room); room_hash keeps a room's sockets on one relay while it lives
   * (Caddy copies the path, /sync/<room>, into a header and hashes that: docs/scaling.md).
   */
  lbPolicy?: BalancerPolicy;
  /** What Caddy polls to know an upstream is up (default /readyz, the relay's; `rollcall validator` alone has only /healthz). */
  healthUri?: string;
}

/**
 * The Caddyfile of a load balancer over several relays (docs/scaling.md): plain HTTP on
 * 127.0.0.1:<port> (TLS is tested with `startCaddy`), `reverse_proxy` to every upstream, no
 * sticky routing. A dead upstream is skipped three ways: a refused dial is retried on another
 * upstream for `lb_try_duration`; a failed request marks it down for `fail_duration` (passive);
 * `/readyz` polled every `health_interval` (active; 503 while a relay drains).
 * `least_conn`: WebSockets are long-lived, so new phones go where the fewest are.
 */
export function balancerCaddyfile({ port, upstreamPorts, stateDir, healthIntervalMs = 500, tryDurationMs = 5000, lbPolicy = 'least_conn', healthUri = '/readyz' }: { port: number; upstreamPorts: number[]; stateDir: string } & BalancerOptions): string {
  return `{
	admin off
	auto_https off
	http_port ${port}
	storage file_system ${stateDir}
}

http://127.0.0.1:${port} {
	bind 127.0.0.1
${lbPolicy === 'room_hash' ? '\trequest_header X-Rollcall-Room {path}\n' : ''}	reverse_proxy ${upstreamPorts.map((upstream) => `127.0.0.1:${upstream}`).join(' ')} {
		lb_policy ${lbPolicy === 'room_hash' ? 'header X-Rollcall-Room' : lbPolicy}
		lb_try_duration ${tryDurationMs}ms
		lb_try_interval 100ms
		fail_duration 10s
		health_uri ${healthUri}
		health_interval ${healthIntervalMs}ms
		health_timeout 1s
	}
}
`;
}

/** Starts Caddy balancing over `upstreamPorts`; ready when GET /healthz through it answers 200. */
export async function startCaddyBalancer(upstreamPorts: number[], options: BalancerOptions = {}): Promise<StartedProcess> {
  const dir = tempDir('rollcall-caddy-lb-');
  const port = await freePort();
  const config = join(dir, 'Caddyfile');
  writeFileSync(config, balancerCaddyfile({ port, upstreamPorts, stateDir: join(dir, 'state'), ...options }));
  return startExecutable('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
    port,
    env: { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    timeoutMs: 30_000,
  });
}
