/** `rollcall start`, `rollcall validator`, `rollcall relay`: long-running servers. */
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createProbe } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_LOGIN_LINK_MINUTES, startValidatorServer, type DirectPathLimits } from '../../validator/index.ts';
import { toBase64Url } from '../../crypto/index.ts';
import { createLogger, resolveLogFormat, type LogFormatChoice, type Logger } from '../../log/index.ts';
import { startFollowing, validatorIdentity } from '../../validator/follow/startFollowing.ts';
import { CliError } from '../apiClient.ts';
import { CertificateFiles, describeCertificate } from './CertificateFiles.ts';
import { readRelayCa, relayRequest } from './relayHttps.ts';
import { keyFingerprint, redeemEnrolmentCode } from './relayTrust.ts';
import type { Relay } from '../../relay/index.ts';
import { parseTrustedProxies, type TrustedProxies } from '../../net/index.ts';
import { APP_DIST_DIR, dashboardHandler, ensureAppBuilt } from './staticApp.ts';

export interface ServeOptions {
  port: number;
  host: string;
  data: string;
  publicUrl?: string;
  requireToken?: boolean;
  /** Every request comes through a reverse proxy (loopback is not the professor). */
  trustProxy?: boolean;
  /** `rollcall validator --relay URL`: follow the sessions' rooms on that relay. */
  relay?: string;
  /** Direct path: submissions per second per client address (0: no limit), and the burst. */
  directRate?: number;
  directBurst?: number;
  /** `rollcall validator --enroll CODE`: redeem the relay operator's one-time code first. */
  enroll?: string;
  /** R11: WebSocket connections allowed from one address. */
  maxConnectionsPerAddress?: number;
  /** `rollcall relay --store-batch-ms`: R13's window on a shared store. */
  storeBatchMs?: number;
  /** `rollcall relay --store-pool`: PostgreSQL connections kept. */
  storePool?: number;
  /** R11a, R11b: `--trusted-proxy` entries (checked by the parser): the proxy whose X-Forwarded-For is believed (relay and direct path). */
  trustedProxy?: string[];
  /** `--tls-cert` / `--tls-key`: serve HTTPS and WSS with this PEM certificate (chain) and key. */
  tlsCert?: string;
  tlsKey?: string;
  /** `rollcall validator --relay-ca <file>`: a CA (PEM) to trust for a wss:// relay besides Node's. */
  relayCa?: string;
  /** `--log-format`: JSON lines, human lines, or `auto` (human on a terminal). */
  logFormat?: LogFormatChoice;
  /** `--drain-seconds`: on SIGTERM, answer /readyz 503 this long before closing connections. */
  drainSeconds?: number;
  /** `rollcall relay --store postgres://…`: rooms and trust in PostgreSQL, shared by several relays. */
  store?: string;
  /** `rollcall relay --bus redis://…`: the bus between relays sharing `store`. */
  bus?: string;
}

/** The process's loggers, one per component, all in the format the flags chose. */
function loggers(options: ServeOptions): (component: string) => Logger {
  const format = resolveLogFormat(options.logFormat);
  return (component) => createLogger({ component, format });
}


/** `--tls-cert` and `--tls-key`, loaded and checked (a CliError says what is wrong), or none. */
function loadCertificate(options: ServeOptions): CertificateFiles | undefined {
  if (!options.tlsCert && !options.tlsKey) return undefined;
  if (!options.tlsCert || !options.tlsKey) throw new CliError('--tls-cert and --tls-key go together: give the certificate and its private key');
  return new CertificateFiles(options.tlsCert, options.tlsKey);
}

/**
 * Prints what certificate the server uses, warns when the public URL's name is not in it, and
 * reloads it into `server` when its files change or on SIGHUP (new connections get the new
 * one; open connections are not dropped).
 */
function serveCertificate(
  certificate: CertificateFiles,
  server: Server | HttpsServer,
  { publicUrl, localUrl }: { publicUrl: string | undefined; localUrl: string },
  print: (line: string) => void,
  log: Logger,
): void {
  print(`TLS: ${describeCertificate(certificate.summary)}; reloaded when ${certificate.certFile} or its key change, or on SIGHUP`);
  const localHost = new URL(localUrl).hostname;
  if (!certificate.summary.covers(localHost)) {
    print(`Note: the certificate does not name ${localHost}: a browser on this computer warns at ${localUrl}; use a name the certificate holds, or a certificate that also names localhost`);
  }
  if (publicUrl) {
    const url = new URL(publicUrl);
    if (url.protocol !== 'https:') print(`Warning: --public-url ${publicUrl} is not https://: phones will open the QR's link without TLS`);
    else if (!certificate.summary.covers(url.hostname)) print(`Warning: the certificate is not valid for ${url.hostname} (the --public-url's name): phones will refuse the page`);
  }
  if (!('setSecureContext' in server)) throw new Error('serveCertificate needs an HTTPS server');
  certificate.watch((pair) => server.setSecureContext(pair), (line) => log.info(line));
  process.on('SIGHUP', () => certificate.reload());
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
  const limits = {
    ...(options.maxConnectionsPerAddress ? { maxConnectionsPerAddress: options.maxConnectionsPerAddress } : {}),
    ...(options.storeBatchMs !== undefined ? { storeBatchMs: options.storeBatchMs } : {}),
    ...(options.storePool !== undefined ? { storePool: options.storePool } : {}),
  };
  return Object.keys(limits).length > 0 ? { limits } : {};
}

/** `--trusted-proxy` as the relay and the validator take it (R11a, R11b), or nothing when none was given. */
function trustedProxyOptions(options: ServeOptions): { trustedProxies?: TrustedProxies } {
  if (!options.trustedProxy?.length) return {};
  const parsed = parseTrustedProxies(options.trustedProxy);
  if (!parsed.ok) throw new CliError(`--trusted-proxy: ${parsed.error}`);
  return { trustedProxies: parsed.proxies };
}

/** The banner's line about `--trusted-proxy` (`counted`: what the client's address is counted by), or none. */
function printTrustedProxies(options: ServeOptions, counted: string, print: (line: string) => void): void {
  if (options.trustedProxy?.length) print(`  Trusted proxies (their X-Forwarded-For names the client ${counted}): ${options.trustedProxy.join(', ')}`);
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

/**
 * The URL put in QR codes when --public-url is not given: with a certificate, its first DNS
 * name (the name phones must use for the certificate to be valid); otherwise a LAN address
 * phones can reach when listening on all interfaces; otherwise the server's own URL.
 */
function defaultPublicUrl(host: string, port: number, certificate?: CertificateFiles): string | undefined {
  if (port === 0) return undefined; // any free port: known only once listening, so the server's own URL
  const scheme = certificate ? 'https' : 'http';
  const certificateName = certificate?.summary.names.find((name) => /[a-z]/i.test(name) && !name.startsWith('*.'));
  if (certificateName) return `${scheme}://${certificateName}:${port}`;
  if (host !== '0.0.0.0' && host !== '::') return undefined;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return `${scheme}://${address.address}:${port}`;
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
 * Fails fast, before anything is created, when the port is taken: a start that fails must not
 * leave a fresh data folder and admin token behind.
 */
async function assertPortFree(options: Pick<ServeOptions, 'port' | 'host'>): Promise<void> {
  if (options.port === 0) return;
  await new Promise<void>((resolvePort, reject) => {
    const probe = createProbe();
    probe.once('error', (error) => reject(listenError(error, options)));
    probe.listen(options.port, options.host, () => probe.close(() => resolvePort()));
  });
}

/** Whether phones get a secure context at `url` (HTTPS, or this computer's own name). */
function isSecureOrigin(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** One log line, when students would open the app over plain HTTP on a LAN name. */
function warnIfInsecure(log: Logger, studentUrl: string): void {
  if (isSecureOrigin(studentUrl)) return;
  log.warn(
    `students open ${studentUrl}, which is not HTTPS: their phones get no offline app and no in-app camera (the phone camera's QR link and paste still work). ` +
      'Serve HTTPS (--tls-cert/--tls-key) or use a hosted relay with a certificate: see docs/deploy.md',
  );
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
  if (options.relay && !options.publicUrl) {
    // Phones load the app from the relay, never from the laptop: the QR must name the relay's
    // stable URL, or each lecture's QR would point at whatever address the laptop has today.
    throw new CliError('with --relay, pass --public-url: the URL phones open (the relay’s, e.g. https://relay.example.edu)');
  }
  const print = (line: string) => void process.stdout.write(`${line}\n`);
  if (options.enroll && !options.relay) throw new CliError('--enroll needs --relay: the relay to enrol with');
  if (options.relayCa && !options.relay) throw new CliError('--relay-ca needs --relay: the relay whose certificate it signed');
  await assertPortFree(options);
  const dataDir = resolve(options.data);
  const certificate = loadCertificate(options);
  const relayCa = options.relayCa ? readRelayCa(options.relayCa) : undefined;
  const publicUrl = options.publicUrl ?? defaultPublicUrl(options.host, options.port, certificate);
  const logFor = loggers(options);
  if (publicUrl) warnIfInsecure(logFor('cli'), publicUrl);
  try {
    const running = await startValidatorServer({
      port: options.port,
      host: options.host,
      dataDir,
      logger: logFor('validator'),
      extraHandlers: [dashboardHandler()],
      ...(publicUrl ? { publicUrl } : {}),
      ...(options.requireToken ? { requireToken: true } : {}),
      ...(certificate ? { tls: certificate.pair } : {}),
      ...(options.trustProxy ? { trustProxy: true } : {}),
      ...directPathLimits(options),
      ...trustedProxyOptions(options),
    });
    printTrustedProxies(options, 'the direct path counts', print);
    if (certificate) serveCertificate(certificate, running.server, { publicUrl, localUrl: running.url }, print, logFor('tls'));
    if (!options.relay) {
      if (options.enroll) throw new CliError('--enroll needs --relay: the relay to enrol with');
      closeOnSignal(logFor('cli'), async () => {
        certificate?.close();
        await running.close();
      });
      return;
    }
    const identity = validatorIdentity(running.validator.store);
    const key = toBase64Url(identity.publicKey);
    if (options.enroll) {
      let name: string;
      try {
        name = await redeemEnrolmentCode(options.relay, options.enroll, identity, relayCa);
      } catch (error) {
        await running.close();
        throw error;
      }
      process.stdout.write(`Enrolled with the relay at ${options.relay} as "${name}" (key ${keyFingerprint(key)}…)\n`);
    } else {
      process.stdout.write(`Validator key ${keyFingerprint(key)}… (the relay must have enrolled it: rollcall relay enroll, then --enroll <code> here once)\n`);
      await checkRelay(options.relay, relayCa, print);
    }
    const log = logFor('follower');
    const following = startFollowing({ store: running.validator.store, relayUrl: options.relay, ...(relayCa ? { relayCa } : {}), log: (line) => log.info(line) });
    const relayUrl = options.relay;
    running.validator.setRelayStatus(() => ({ url: relayUrl, ...following.status() }));
    process.stdout.write(`Following session rooms on the relay at ${options.relay}\n`);
    closeOnSignal(logFor('cli'), async () => {
      certificate?.close();
      await following.close();
      await running.close();
    });
  } catch (error) {
    throw listenError(error, options);
  }
}

/**
 * A relay that cannot be reached is not fatal (the followers retry, phones keep their scans), but
 * a certificate the validator will never trust is a person's to fix: say so at start, once,
 * rather than leave the followers retrying in silence.
 */
async function checkRelay(relayUrl: string, relayCa: string[] | undefined, print: (line: string) => void): Promise<void> {
  try {
    const answer = await relayRequest(relayUrl, '/healthz', { ...(relayCa ? { ca: relayCa } : {}), timeoutMs: 5_000 });
    if (answer.status !== 200) print(`Warning: the relay at ${relayUrl} answered /healthz with HTTP ${answer.status}: is --relay a Rollcall relay?`);
  } catch (error) {
    print(`Warning: ${error instanceof Error ? error.message : String(error)} (still trying in the background)`);
  }
}

/** `rollcall relay`: the relay alone, serving the student app too (phones load it from here). */
export async function runRelayServer(options: ServeOptions): Promise<void> {
  const print = (line: string) => void process.stdout.write(`${line}\n`);
  await assertPortFree(options);
  const certificate = loadCertificate(options);
  await ensureAppBuilt(print);
  const { startRelayServer, STORE_ERROR_CODE, redactedUrl, redisDisplayUrl } = await import('../../relay/index.ts');
  try {
    const logFor = loggers(options);
    const running = await startRelayServer({
      port: options.port,
      host: options.host,
      dataDir: resolve(options.data),
      ...(options.store ? { storeUrl: options.store } : {}),
      ...(options.bus ? { busUrl: options.bus } : {}),
      staticDir: APP_DIST_DIR,
      logger: logFor('relay'),
      ...relayLimitOptions(options),
      ...trustedProxyOptions(options),
      ...(certificate ? { tls: certificate.pair } : {}),
    });
    print(`Rollcall relay listening on ${running.url} (rooms at /sync/<session_id>, student app at /)`);
    // Never the URLs as given: they may hold passwords.
    print(`  Rooms and trust: ${options.store ? `PostgreSQL at ${redactedUrl(options.store)}` : resolve(options.data)}${options.bus ? `; bus to the other relays: ${redisDisplayUrl(options.bus)}` : ''}`);
    printTrustedProxies(options, 'R11 counts', print);
    if (certificate) serveCertificate(certificate, running.server, { publicUrl: undefined, localUrl: running.url }, print, logFor('tls'));
    closeOnSignal(logFor('cli'), async () => {
      certificate?.close();
      await running.close({ drainMs: (options.drainSeconds ?? 0) * 1000 });
    });
  } catch (error) {
    if ((error as { code?: string }).code === STORE_ERROR_CODE) throw new CliError((error as Error).message);
    throw listenError(error, options);
  }
}

/** The relay's rooms on a plain WebSocket port on 127.0.0.1 only, for the in-process follower. */
async function listenForFollower(relay: Pick<Relay, 'handleUpgrade'>): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createHttpServer((_req, res) => void res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (!relay.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
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
  await assertPortFree(options);
  const certificate = loadCertificate(options);
  await ensureAppBuilt(print);
  const dataDir = resolve(options.data);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logFor = loggers(options);
  const relayModule = await import('../../relay/index.ts');
  const relayStore = new relayModule.SqliteUpdateStore(join(dataDir, relayModule.RELAY_DB_FILE));
  const trustStore = new relayModule.SqliteTrustStore(join(dataDir, relayModule.TRUST_DB_FILE));
  const relay = new relayModule.Relay({ store: relayStore, trust: trustStore, staticDir: APP_DIST_DIR, logger: logFor('relay'), ...relayLimitOptions(options), ...trustedProxyOptions(options) });
  const publicUrl = options.publicUrl ?? defaultPublicUrl(options.host, options.port, certificate);
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
      ...(certificate ? { tls: certificate.pair } : {}),
      ...(options.trustProxy ? { trustProxy: true } : {}),
      ...directPathLimits(options),
      ...trustedProxyOptions(options),
      // This command prints its own banner: it runs more than the validator.
      print: () => {},
    });
  } catch (error) {
    await relay.close();
    await relayStore.close();
    await trustStore.close();
    throw listenError(error, options);
  }
  // The embedded relay trusts its own validator with no enrolment step (SPEC.md "Enrolment").
  await relay.trust.enrolDirect(toBase64Url(validatorIdentity(running.validator.store).publicKey), 'this-laptop');
  // With TLS the port speaks only TLS, for a name the certificate holds and a CA this process
  // need not trust; the in-process follower reaches the relay on a loopback-only plain port
  // instead (still a WebSocket peer that proves itself like any other: R10).
  const followerPort = certificate ? await listenForFollower(relay) : undefined;
  const log = logFor('follower');
  const relayUrl = followerPort ? selfUrl('127.0.0.1', followerPort.port) : selfUrl(options.host, running.port);
  const following = startFollowing({ store: running.validator.store, relayUrl, log: (line) => log.info(line) });
  running.validator.setRelayStatus(() => ({ url: 'this process', ...following.status() }));
  const studentUrl = `${running.validator.appBaseUrl()}/`;
  print(`Rollcall is running: validator, relay and both apps in one process, listening on ${options.host}:${running.port}`);
  print(`  Student app (phones):        ${studentUrl}`);
  print(`  Dashboard (this computer):   ${running.url}/professor/`);
  print(`  Sync relay:                  ${running.url.replace(/^http/, 'ws')}/sync/<session_id>`);
  print(`  Data folder:                 ${dataDir}`);
  printTrustedProxies(options, 'R11 and the direct path count', print);
  print(`  Admin token (for professor routes from other computers): ${running.validator.adminToken}`);
  print(`  Dashboard login link (works once, for ${DEFAULT_LOGIN_LINK_MINUTES} minutes; \`rollcall login-link\` makes another): ${running.validator.newLoginLink().url}`);
  if (certificate) serveCertificate(certificate, running.server, { publicUrl, localUrl: running.url }, print, logFor('tls'));
  warnIfInsecure(logFor('cli'), studentUrl);
  const server = running;
  closeOnSignal(logFor('cli'), async () => {
    certificate?.close();
    // As `rollcall relay` does (startRelayServer's close): /readyz 503 first, then phones are
    // told to reconnect (1012); the follower stops before its relay so it does not retry it.
    relay.beginDraining();
    if (options.drainSeconds) await new Promise((done) => setTimeout(done, options.drainSeconds! * 1000));
    await following.close();
    await followerPort?.close();
    await relay.close();
    await server.close();
    await relayStore.close();
    await trustStore.close();
  });
}
