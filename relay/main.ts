/**
 * The relay as a process: `node cli/bin/run-ts.js relay/main.ts --port 0 --data <dir>
 * [--host 127.0.0.1] [--static dist/client] [--store postgres://…] [--bus redis://…]
 * [--trusted-proxy <addresses and CIDR ranges, comma-separated>] [--store-batch-ms <ms>]`.
 * Prints `relay listening on http://HOST:PORT`.
 * (`rollcall relay` is the user-facing command; this entry is for tests and benchmarks.)
 */
import { createLogger } from '../log/index.ts';
import { OLD_TRUSTED_PROXIES_ENV, TRUSTED_PROXIES_ENV, parseTrustedProxies } from '../net/index.ts';
import { startRelayServer } from './startRelayServer.ts';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const port = Number(option('port') ?? '5001');
const dataDir = option('data');
if (!dataDir || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: relay/main.ts --data <dir> [--port <n>, 0 = any] [--host <addr>] [--static <dir>] [--store postgres://…] [--bus redis://…] [--trusted-proxy <list>] [--store-batch-ms <ms>]\n');
  process.exit(2);
}
const staticDir = option('static');
const storeUrl = option('store') ?? process.env.ROLLCALL_RELAY_STORE;
const busUrl = option('bus') ?? process.env.ROLLCALL_RELAY_BUS;
const trusted = parseTrustedProxies([option('trusted-proxy') ?? process.env[TRUSTED_PROXIES_ENV] ?? process.env[OLD_TRUSTED_PROXIES_ENV] ?? '']);
if (!trusted.ok) {
  process.stderr.write(`--trusted-proxy: ${trusted.error}\n`);
  process.exit(2);
}
const storeBatchMs = option('store-batch-ms');
if (storeBatchMs !== undefined && !(/^\d{1,4}$/.test(storeBatchMs) && Number(storeBatchMs) <= 1000)) {
  process.stderr.write(`--store-batch-ms takes whole milliseconds from 0 to 1000 (got "${storeBatchMs}")\n`);
  process.exit(2);
}
const logger = createLogger({ component: 'relay' });
try {
  const running = await startRelayServer({ port, host: option('host') ?? '127.0.0.1', dataDir, logger, ...(staticDir ? { staticDir } : {}), ...(storeUrl ? { storeUrl } : {}), ...(busUrl ? { busUrl } : {}), trustedProxies: trusted.proxies, ...(storeBatchMs !== undefined ? { limits: { storeBatchMs: Number(storeBatchMs) } } : {}) });
  process.stdout.write(`relay listening on ${running.url}\n`);
  let isStopping = false;
  const stop = () => {
    if (isStopping) return;
    isStopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  logger.error('relay could not start', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
