/**
 * Debian's Caddy as a test's TLS front (the campus deployment in docs/deploy.md): a Caddyfile
 * generated for loopback ports, the test CA's certificate (`tls <cert> <key>`: no ACME, no
 * internal CA), `reverse_proxy` to a relay on plain HTTP. Admin endpoint off, no redirect
 * listener, state in a temporary folder: nothing outside the test's ports and folders.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpsRequest, TEST_HOST, type TestPki } from './https.ts';
import { freePort, startExecutable, tempDir, type StartedProcess } from './processes.ts';

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
  const port = await freePort();
  const config = join(dir, 'Caddyfile');
  writeFileSync(config, testCaddyfile({ port, httpPort: await freePort(), upstreamPort, pki, stateDir: join(dir, 'state') }));
  return startExecutable('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
    port,
    env: { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    isReady: async (caddyPort) => (await httpsRequest(pki, caddyPort, '/healthz')).status === 200,
    timeoutMs: 30_000,
  });
}
