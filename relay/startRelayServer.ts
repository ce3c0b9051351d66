/**
 * A standalone relay: its own HTTP server, rooms stored in `<dataDir>/relay.db`, enrolled
 * validators and room grants in `<dataDir>/relay-trust.db`; or, for several relays (R12), both
 * in PostgreSQL (`storeUrl`) with a Redis bus between them (`busUrl`).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LISTEN_BACKLOG, type TrustedProxies } from '../net/index.ts';
import { relayLimits, type RelayLimits } from './limits.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { PgDatabase } from './PgDatabase.ts';
import { PgTrustStore } from './PgTrustStore.ts';
import { PgUpdateStore } from './PgUpdateStore.ts';
import { Relay } from './Relay.ts';
import type { RelayBus } from './RelayBus.ts';
import { RedisBus } from './RedisBus.ts';
import { SqliteTrustStore, TRUST_DB_FILE } from './SqliteTrustStore.ts';
import { SqliteUpdateStore } from './SqliteUpdateStore.ts';
import type { TrustStore } from './TrustStore.ts';
import type { UpdateStore } from './UpdateStore.ts';

export interface RelayServerOptions {
  /** 0: any free port (see the returned `port`). */
  port: number;
  host?: string;
  /** Folder of relay.db and relay-trust.db (created if missing); unused with `storeUrl`. */
  dataDir: string;
  /** `postgres://…`: rooms and trust in PostgreSQL, shared with other relays, instead of `dataDir`. */
  storeUrl?: string;
  /** `redis://…`: the bus to the other relays on `storeUrl` (R12). Needs `storeUrl`. */
  busUrl?: string;
  staticDir?: string;
  limits?: Partial<RelayLimits>;
  /** A load balancer in front (R11a): its X-Forwarded-For names the client R11 counts. */
  trustedProxies?: TrustedProxies;
  logger?: Logger;
  /**
   * Serve HTTPS and WSS on the port with this PEM certificate chain and key. Swap them later
   * with `server.setSecureContext` (open connections keep theirs).
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

export interface RunningRelayServer {
  port: number;
  /** http://<host>:<port>, or https:// with `tls` */
  url: string;
  relay: Relay;
  /** The listening server (a node:https one with `tls`: `setSecureContext` reloads the certificate). */
  server: Server | HttpsServer;
  /**
   * Graceful stop (SIGTERM): /readyz answers 503 and upgrades are refused for `drainMs` (a load
   * balancer's time to notice; default 0), then the port stops listening, every peer is closed
   * with 1012 so it reconnects (`Relay.close`), and the stores are closed.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

export const RELAY_DB_FILE = 'relay.db';

interface RelayStores {
  store: UpdateStore;
  trust: TrustStore;
  bus?: RelayBus;
  close(): Promise<void>;
}

/** Opens what the relay keeps its rooms and trust in; rejects with a sentence a person can act on. */
async function openStores(options: RelayServerOptions, logger: Logger): Promise<RelayStores> {
  if (options.busUrl && !options.storeUrl) throw new Error('a bus (--bus) joins relays that share one store: give --store postgres://… too');
  if (!options.storeUrl) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const store = new SqliteUpdateStore(join(options.dataDir, RELAY_DB_FILE));
    const trust = new SqliteTrustStore(join(options.dataDir, TRUST_DB_FILE));
    return { store, trust, close: async () => void (await Promise.all([store.close(), trust.close()])) };
  }
  if (!/^postgres(ql)?:\/\//.test(options.storeUrl)) throw new Error('--store takes a PostgreSQL URL, postgres://user[:password]@host[:port]/database (without it the relay keeps its rooms in --data)');
  const limits = relayLimits(options.limits);
  const database = await PgDatabase.connect(options.storeUrl, { logger, poolSize: limits.storePool });
  let bus: RedisBus | undefined;
  try {
    if (options.busUrl) bus = await RedisBus.connect(options.busUrl, { relayId: randomUUID(), logger });
  } catch (error) {
    await database.close();
    throw error;
  }
  return {
    store: new PgUpdateStore(database, { batchWindowMs: limits.storeBatchMs }),
    trust: new PgTrustStore(database),
    ...(bus ? { bus } : {}),
    close: async () => {
      await bus?.close();
      await database.close();
    },
  };
}

/** `code` of the error `startRelayServer` rejects with when its store or bus cannot be used (its message says what to check). */
export const STORE_ERROR_CODE = 'RELAY_STORE_UNAVAILABLE';

export async function startRelayServer(options: RelayServerOptions): Promise<RunningRelayServer> {
  const logger = options.logger ?? createLogger({ component: 'relay' });
  const stores = await openStores(options, logger).catch((error: unknown) => {
    throw Object.assign(new Error(error instanceof Error ? error.message : String(error)), { code: STORE_ERROR_CODE });
  });
  const { store, trust } = stores;
  if (stores.bus) logger.info('relay sharing its rooms with other relays', { relay_id: stores.bus.relayId });
  const relay = new Relay({
    store,
    trust,
    ...(stores.bus ? { bus: stores.bus } : {}),
    logger,
    ...(options.staticDir === undefined ? {} : { staticDir: options.staticDir }),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
  });
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    if (relay.handleHttp(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not found. This is a Rollcall relay: WebSocket rooms at /sync/<session_id>, GET /time, GET /healthz.\n');
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, answer) : createServer(answer);
  server.on('upgrade', (req, socket, head) => {
    if (relay.handleUpgrade(req, socket, head)) return;
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port, host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await relay.close();
    await stores.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    relay,
    server,
    close: ({ drainMs = 0 } = {}) =>
      (closing ??= (async () => {
        relay.beginDraining();
        if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
        const isServerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await relay.close();
        server.closeAllConnections();
        await isServerClosed;
        await stores.close();
      })()),
  };
}
