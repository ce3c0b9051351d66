/** `rollcall start`, `rollcall validator`, `rollcall relay`: long-running servers. */
import { mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { startValidatorServer, type DirectPathLimits } from '../../validator/index.ts';
import { toBase64Url } from '../../crypto/index.ts';
import { createLogger, resolveLogFormat, type LogFormatChoice, type Logger } from '../../log/index.ts';
import { startFollowing, validatorIdentity } from '../../validator/follow/startFollowing.ts';
import { CliError } from '../apiClient.ts';
import { keyFingerprint, redeemEnrolmentCode } from './relayTrust.ts';
import { APP_DIST_DIR, dashboardHandler, ensureAppBuilt } from './staticApp.ts';

export interface ServeOptions {
  port: number;
  host: string;
  data: string;
  publicUrl?: string;
  requireToken?: boolean;
  /** `rollcall validator --relay URL`: follow the sessions' rooms on that relay. */
  relay?: string;
  /** Direct path: submissions per second per client address (0: no limit), and the burst. */
  directRate?: number;
  directBurst?: number;
  /** `rollcall validator --enroll CODE`: redeem the relay operator's one-time code first. */
  enroll?: string;
  /** R11: WebSocket connections allowed from one address. */
  maxConnectionsPerAddress?: number;
  /** `--log-format`: JSON lines, human lines, or `auto` (human on a terminal). */
  logFormat?: LogFormatChoice;
  /** `--drain-seconds`: on SIGTERM, answer /readyz 503 this long before closing connections. */
  drainSeconds?: number;
}

/** The process's loggers, one per component, all in the format the flags chose. */
function loggers(options: ServeOptions): (component: string) => Logger {
  const format = resolveLogFormat(options.logFormat);
  return (component) => createLogger({ component, format });
}

/** The direct path's limits the flags set (the validator's defaults for the rest). */
function directPathLimits(options: ServeOptions): { directPathLimits?: Partial<DirectPathLimits> } {
  if (options.directRate === undefined && options.directBurst === undefined) return {};
  return {
    directPathLimits: {
      ...(options.directRate !== undefined ? { submissionsPerSecond: options.directRate } : {}),
      ...(options.directBurst !== undefined ? { burst: options.directBurst } : {}),
    },
  };
}

function relayLimitOptions(options: ServeOptions) {
  return options.maxConnectionsPerAddress ? { limits: { maxConnectionsPerAddress: options.maxConnectionsPerAddress } } : {};
}

/**
 * Runs a server command. Its fatal error (port in use, a bad flag combination) is the usual one
 * `rollcall: …` line, but a JSON record when the logs are JSON, so a supervisor's log pipeline
 * can parse every line of stderr.
 */
export async function runServer(options: ServeOptions, run: (options: ServeOptions) => Promise<void>): Promise<void> {
  try {
    await run(options);
  } catch (error) {
    if (resolveLogFormat(options.logFormat) !== 'json') throw error;
    const message = error instanceof CliError ? error.message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    createLogger({ component: 'cli', format: 'json' }).error(message);
    process.exitCode = 1;
  }
}

/** A LAN address phones can reach when listening on all interfaces; localhost otherwise. */
function defaultPublicUrl(host: string, port: number): string | undefined {
  if (host !== '0.0.0.0' && host !== '::') return undefined;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return `http://${address.address}:${port}`;
    }
  }
  return undefined;
}

/** What a person should do when the server cannot listen; other errors pass through. */
function listenError(error: unknown, options: Pick<ServeOptions, 'port' | 'host'>): unknown {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') return new CliError(`port ${options.port} is already in use on ${options.host}: stop the other program or pass --port`);
  if (code === 'EACCES') return new CliError(`not allowed to listen on ${options.host}:${options.port}: choose a port above 1024`);
  return error;
}

/**
 * Stops cleanly on Ctrl-C / SIGTERM: peers are told to reconnect, SQLite closes its WAL
 * properly, and the exit code is 0, so a supervisor's rolling restart sees a clean stop.
 */
function closeOnSignal(log: Logger, close: () => Promise<void>): void {
  let isClosing = false;
  const stop = (signal: string) => {
    if (isClosing) return;
    isClosing = true;
    log.info('stopping', { signal });
    close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error('could not stop cleanly', { error: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

export async function runValidatorServer(options: ServeOptions): Promise<void> {
  const dataDir = resolve(options.data);
  const publicUrl = options.publicUrl ?? defaultPublicUrl(options.host, options.port);
  const logFor = loggers(options);
  try {
    const running = await startValidatorServer({
      port: options.port,
      host: options.host,
      dataDir,
      logger: logFor('validator'),
      extraHandlers: [dashboardHandler()],
      ...(publicUrl ? { publicUrl } : {}),
      ...(options.requireToken ? { requireToken: true } : {}),
      ...directPathLimits(options),
    });
    if (!options.relay) {
      if (options.enroll) throw new CliError('--enroll needs --relay: the relay to enrol with');
      closeOnSignal(logFor('cli'), () => running.close());
      return;
    }
    const identity = validatorIdentity(running.validator.store);
    const key = toBase64Url(identity.publicKey);
    if (options.enroll) {
      let name: string;
      try {
        name = await redeemEnrolmentCode(options.relay, options.enroll, identity);
      } catch (error) {
        await running.close();
        throw error;
      }
      process.stdout.write(`Enrolled with the relay at ${options.relay} as "${name}" (key ${keyFingerprint(key)}…)\n`);
    } else {
      process.stdout.write(`Validator key ${keyFingerprint(key)}… (the relay must have enrolled it: rollcall relay enroll, then --enroll <code> here once)\n`);
    }
    const log = logFor('follower');
    const following = startFollowing({ store: running.validator.store, relayUrl: options.relay, log: (line) => log.info(line) });
    process.stdout.write(`Following session rooms on the relay at ${options.relay}\n`);
    closeOnSignal(logFor('cli'), async () => {
      await following.close();
      await running.close();
    });
  } catch (error) {
    throw listenError(error, options);
  }
}

/** `rollcall relay`: the relay alone, serving the student app too (phones load it from here). */
export async function runRelayServer(options: ServeOptions): Promise<void> {
  await ensureAppBuilt((line) => void process.stdout.write(`${line}\n`));
  const { startRelayServer } = await import('../../relay/index.ts');
  try {
    const logFor = loggers(options);
    const running = await startRelayServer({
      port: options.port,
      host: options.host,
      dataDir: resolve(options.data),
      staticDir: APP_DIST_DIR,
      logger: logFor('relay'),
      ...relayLimitOptions(options),
    });
    process.stdout.write(`Rollcall relay listening on ${running.url} (rooms at /sync/<session_id>, student app at /)\n`);
    closeOnSignal(logFor('cli'), () => running.close({ drainMs: (options.drainSeconds ?? 0) * 1000 }));
  } catch (error) {
    throw listenError(error, options);
  }
}

/** The loopback (or given) address the in-process follower uses to reach this server's relay. */
function selfUrl(host: string, port: number): string {
  const address = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `ws://${address}:${port}`;
}

/**
 * `rollcall start`, the embedded default: one process, one port. The validator's API and the
 * dashboard, the relay's rooms (/sync/<id>), /time and the student app, and the validator's
 * follower, which reaches the relay over a loopback WebSocket like any other peer: the
 * validator trusts the in-process relay no more than a remote one.
 */
export async function runStart(options: ServeOptions): Promise<void> {
  const print = (line: string) => void process.stdout.write(`${line}\n`);
  await ensureAppBuilt(print);
  const dataDir = resolve(options.data);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logFor = loggers(options);
  const relayModule = await import('../../relay/index.ts');
  const relayStore = new relayModule.SqliteUpdateStore(join(dataDir, relayModule.RELAY_DB_FILE));
  const trustStore = new relayModule.SqliteTrustStore(join(dataDir, relayModule.TRUST_DB_FILE));
  const relay = new relayModule.Relay({ store: relayStore, trust: trustStore, staticDir: APP_DIST_DIR, logger: logFor('relay'), ...relayLimitOptions(options) });
  const publicUrl = options.publicUrl ?? defaultPublicUrl(options.host, options.port);
  let running;
  try {
    running = await startValidatorServer({
      port: options.port,
      host: options.host,
      dataDir,
      logger: logFor('validator'),
      extraHandlers: [dashboardHandler(), (req, res) => relay.handleHttp(req, res)],
      onUpgrade: (req, socket, head) => {
        if (!relay.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      },
      ...(publicUrl ? { publicUrl } : {}),
      ...(options.requireToken ? { requireToken: true } : {}),
      ...directPathLimits(options),
    });
  } catch (error) {
    await relay.close();
    relayStore.close();
    trustStore.close();
    throw listenError(error, options);
  }
  // The embedded relay trusts its own validator with no enrolment step (SPEC.md "Enrolment").
  relay.trust.enrolDirect(toBase64Url(validatorIdentity(running.validator.store).publicKey), 'this-laptop');
  const log = logFor('follower');
  const following = startFollowing({ store: running.validator.store, relayUrl: selfUrl(options.host, running.port), log: (line) => log.info(line) });
  print(`Student app: ${running.validator.appBaseUrl()}/   Dashboard: ${running.url}/professor/`);
  const server = running;
  closeOnSignal(logFor('cli'), async () => {
    // As `rollcall relay` does (startRelayServer's close): /readyz 503 first, then phones are
    // told to reconnect (1012); the follower stops before its relay so it does not retry it.
    relay.beginDraining();
    if (options.drainSeconds) await new Promise((done) => setTimeout(done, options.drainSeconds! * 1000));
    await following.close();
    await relay.close();
    await server.close();
    relayStore.close();
    trustStore.close();
  });
}
