/**
 * The relay: y-websocket rooms at /sync/<session_id> guarded by admission (SPEC.md R1–R11),
 * persisted through an UpdateStore, opened and answered only by validators its TrustStore
 * trusts, plus /healthz, /readyz, /metrics, /time, /validators/enroll and the app's static
 * files. It owns no server: `handleHttp` and `handleUpgrade` mount it on any Node HTTP server
 * (its own in startRelayServer, the validator's in `rollcall start`). `close()` is graceful: a
 * restart loses nothing admitted and every peer reconnects (`beginDraining`, `close`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  CHALLENGE_BYTES,
  CloseCode,
  DEVICE_QUERY_PARAM,
  PUBLIC_KEY_BYTES,
  SYNC_PATH_PREFIX,
  base64UrlOf,
  encodeValidatorMessage,
  isSessionId,
  type ValidatorMessage,
} from '../protocol/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { HttpRoutes } from './httpRoutes.ts';
import { refuse, type Refusal } from './inspectUpdate.ts';
import { NO_TRUSTED_PROXIES, UnusableForwardedFor, requestClientAddress, type TrustedProxies } from '../net/index.ts';
import { relayLimits, type RelayLimits } from './limits.ts';
import { RelayConnection } from './RelayConnection.ts';
import { RelayMetrics } from './RelayMetrics.ts';
import { EMPTY_AWARENESS as EMPTY_AWARENESS_MESSAGE } from './syncMessages.ts';
import { RelayRoom, type RelayCounters } from './RelayRoom.ts';
import { RelayTrust } from './RelayTrust.ts';
import type { RelayBus } from './RelayBus.ts';
import type { TrustStore } from './TrustStore.ts';
import type { UpdateStore } from './UpdateStore.ts';

export interface RelayOptions {
  store: UpdateStore;
  /**
   * Other relays on the same store (R12): what this relay admits is published after it is
   * stored; what they admit in a room loaded here is applied and forwarded to this relay's peers.
   */
  bus?: RelayBus;
  /** Enrolled validators, enrolment codes and room grants (R9–R11). */
  trust: TrustStore;
  /** The built app (dist/client): served with an SPA fallback to index.html. */
  staticDir?: string;
  limits?: Partial<RelayLimits>;
  /**
   * Proxies (a load balancer) whose X-Forwarded-For names the client R11 counts (R11a);
   * default none: every request is counted under its socket's address.
   */
  trustedProxies?: TrustedProxies;
  logger?: Logger;
  /** Unix ms; the relay's only clock (GET /time, rate limits, keep-alive). */
  clock?: () => number;
}

/** What a relay is doing, for /healthz, /metrics, tests and benchmarks. */
export interface RelayStats {
  rooms: number;
  connections: number;
  /** Phones (`?device=`) and unfiltered peers (validators, proven or still proving). */
  connectionsByKind: { phone: number; validator: number };
  /** Updates admitted that brought something new. */
  admitted: number;
  /** Updates admitted that brought nothing new (re-syncs). */
  duplicates: number;
  refused: number;
  /** Refusals per rule id (R1…R11). */
  refusedByRule: Record<string, number>;
  compactions: number;
  /** Updates other relays admitted, applied here and forwarded to this relay's peers (R12). */
  fromOtherRelays: number;
  /** Bytes of WebSocket messages received from and sent to peers. */
  bytesReceived: number;
  bytesSent: number;
  /** Requests from a trusted proxy without a usable X-Forwarded-For, counted under the proxy's address (R11a). */
  unusableForwardedFor: number;
  /** Peers turned away because the store could not store or load (RelayCounters.storeFailures). */
  storeFailures: number;
  /** Whether the stores (rooms and trust) can be used now, and the bus between relays if there is one (what /readyz also reads). */
  reachable: { store: boolean; bus?: boolean };
  /** A store that groups appends (PostgreSQL, R13): appends sent and the statements that carried them. */
  store?: { appends: number; statements: number };
}

const deviceKey = base64UrlOf(PUBLIC_KEY_BYTES);

function socketData(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class Relay {
  readonly limits: RelayLimits;
  readonly #store: UpdateStore;
  readonly #bus: RelayBus | undefined;
  readonly #busCatchUp: ReturnType<typeof setInterval> | undefined;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #http: HttpRoutes;
  readonly #trust: RelayTrust;
  readonly #trustStore: TrustStore;
  /** Open WebSocket connections per client address (R11, R11a). */
  readonly #connectionsByAddress = new Map<string, number>();
  readonly #trustedProxies: TrustedProxies;
  /** Requests from a trusted proxy whose X-Forwarded-For was missing or malformed (logged once each way). */
  readonly #unusableForwardedFor: UnusableForwardedFor;
  readonly #wss: WebSocketServer;
  readonly #rooms = new Map<string, RelayRoom>();
  readonly #sockets = new Map<WebSocket, { connection: RelayConnection; isAlive: boolean }>();
  readonly #counters: RelayCounters = { admitted: 0, duplicates: 0, refused: 0, compactions: 0, fromOtherRelays: 0, storeFailures: 0 };
  readonly #refusedByRule: Record<string, number> = {};
  readonly #keepAlive: ReturnType<typeof setInterval>;
  /** The keep-alive goes round the sockets in slices, one a second (see #tick). */
  readonly #keepAliveSlices: number;
  #keepAliveTicks = 0;
  readonly #trustRefresh: ReturnType<typeof setInterval>;
  readonly #metrics: RelayMetrics;
  /** Called once the last socket has closed (while closing). */
  #onAllClosed: (() => void) | undefined;
  #bytesReceived = 0;
  #bytesSent = 0;
  #nextConnectionId = 1;
  /** Stopping: /readyz answers 503 and upgrades are refused with 503 (peers retry). */
  #isDraining = false;
  #isClosed = false;
  #isRefreshingTrust = false;
  /** The periodic catch-up's read of the rooms' last rows is under way. */
  #isCatchingUp = false;
  /** Re-reading trust failed (the store is away) and has not succeeded since. */
  #isTrustStale = false;

  constructor(options: RelayOptions) {
    this.limits = relayLimits(options.limits);
    this.#store = options.store;
    this.#bus = options.bus;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.clock ?? Date.now;
    this.#trustedProxies = options.trustedProxies ?? NO_TRUSTED_PROXIES;
    this.#unusableForwardedFor = new UnusableForwardedFor((kind, proxy) => {
      // No header can be honest (a probe, `rollcall start`'s own follower on loopback): info.
      // A header that is not a list of addresses is a proxy misconfigured: a warning.
      if (kind === 'missing_header') {
        this.#logger.info("a request from a trusted proxy carried no X-Forwarded-For: it is counted under the proxy's own address (R11a). Logged once; a load balancer in front should set the header (Caddy's reverse_proxy does)", { proxy });
      } else {
        this.#logger.warn("a request from a trusted proxy carried an X-Forwarded-For that is not a list of IP addresses: it is counted under the proxy's own address (R11a). Logged once; check what the proxy writes in the header", { proxy });
      }
    });
    this.#trust = new RelayTrust({ store: options.trust, limits: this.limits, logger: this.#logger, now: this.#now, addressOf: (req) => this.#addressOf(req) });
    this.#metrics = new RelayMetrics(() => this.stats());
    this.#trustStore = options.trust;
    this.#http = new HttpRoutes({
      ...(options.staticDir === undefined ? {} : { staticDir: options.staticDir }),
      now: this.#now,
      health: () => ({ rooms: this.#rooms.size, connections: this.#sockets.size, refused_by_rule: { ...this.#refusedByRule } }),
      readiness: () => {
        if (this.#isDraining) return { isReady: false, reason: 'draining: the relay is stopping' };
        const reachable = this.#reachable();
        if (!reachable.store) return { isReady: false, reason: 'a store is closed or unreachable' };
        if (reachable.bus === false) return { isReady: false, reason: 'the bus between relays is unreachable' };
        return { isReady: true };
      },
      metrics: this.#metrics,
    });
    // ws enforces a hard ceiling (close 1009); the per-connection limits below it answer 4413 (R3).
    const ceiling = 2 * Math.max(this.limits.fullMessageBytes, this.limits.deviceMessageBytes);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: ceiling, perMessageDeflate: false });
    this.#keepAliveSlices = Math.max(1, Math.round(this.limits.keepAliveMs / 1000));
    this.#keepAlive = setInterval(() => this.#tick(), this.limits.keepAliveMs / this.#keepAliveSlices);
    this.#keepAlive.unref();
    this.#trustRefresh = setInterval(() => void this.#refreshTrust(), this.limits.trustRefreshMs);
    this.#trustRefresh.unref();
    if (this.#bus) {
      // The bus is best effort (R12): after an outage, and every few seconds in case it dropped
      // a message, each loaded room reads from the store what other relays stored since.
      this.#bus.onReconnect(() => this.#catchUpRooms());
      this.#busCatchUp = setInterval(() => void this.#catchUpMovedRooms(), this.limits.busCatchUpMs);
      this.#busCatchUp.unref();
    }
  }

  #catchUpRooms(): void {
    if (this.#isClosed) return;
    for (const room of this.#rooms.values()) room.catchUp();
  }

  /**
   * The periodic catch-up (R12): one read of every loaded room's last row id, then only the rooms
   * with a row this relay has not applied read their rows (a room per statement for each room
   * every few seconds would cost a relay with hundreds of rooms more than its admissions).
   */
  async #catchUpMovedRooms(): Promise<void> {
    // One read at a time: a store slower than busCatchUpMs must not pile reads up in its pool.
    if (this.#isClosed || this.#rooms.size === 0 || this.#isCatchingUp) return;
    this.#isCatchingUp = true;
    let heads: Map<string, number>;
    try {
      heads = await this.#store.heads([...this.#rooms.keys()]);
    } catch (error) {
      this.#logger.warn('could not read the rooms’ last rows to catch up; will retry', { error: error instanceof Error ? error.message : String(error) });
      return;
    } finally {
      this.#isCatchingUp = false;
    }
    if (this.#isClosed) return;
    for (const [name, head] of heads) {
      const room = this.#rooms.get(name);
      if (room && head > room.lastRowId) room.catchUp();
    }
  }

  /** The relay's trust (enrol its own validator in `rollcall start`; tests). */
  get trust(): RelayTrust {
    return this.#trust;
  }

  /** Answers /healthz, /readyz, /metrics, /time, enrolment and the static app; false when the request is not the relay's. Never throws. */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    try {
      return this.#trust.handleEnrolHttp(req, res) || this.#http.handle(req, res);
    } catch (error) {
      this.#logger.error('http handler failed', { path: req.url?.split(/[?#]/)[0], error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error.\n');
      return true;
    }
  }

  /**
   * Takes WebSocket upgrades to /sync/*: true when the path is the relay's (answered, or refused
   * with HTTP 400 under R4), false for other paths (the caller decides).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    if (!url.pathname.startsWith(SYNC_PATH_PREFIX)) return false;
    socket.on('error', () => socket.destroy());
    let room: string;
    try {
      room = decodeURIComponent(url.pathname.slice(SYNC_PATH_PREFIX.length));
    } catch {
      room = '';
    }
    // Not a rule's refusal: y-websocket retries an HTTP refusal, and finds the relay back after its restart.
    if (this.#isDraining) return this.#refuseUpgrade(socket, 503, 'the relay is restarting; try again shortly');
    if (!isSessionId(room)) {
      this.#countRefusal('R4');
      this.#logger.warn('refused R4: room name is not a session id', { room: String(room).slice(0, 60) });
      return this.#refuseUpgrade(socket, 400, 'R4: room names are session ids (lowercase UUID)');
    }
    const device = url.searchParams.get(DEVICE_QUERY_PARAM) ?? undefined;
    if (device !== undefined && !deviceKey.safeParse(device).success) {
      return this.#refuseUpgrade(socket, 400, `the ${DEVICE_QUERY_PARAM} parameter must be a device public key (base64url of ${PUBLIC_KEY_BYTES} bytes)`);
    }
    const address = this.#addressOf(req);
    if ((this.#connectionsByAddress.get(address) ?? 0) >= this.limits.maxConnectionsPerAddress) {
      this.#countRefusal('R11');
      this.#logger.warn('refused R11: too many connections from one address', { address, limit: this.limits.maxConnectionsPerAddress });
      return this.#refuseUpgrade(socket, 429, `R11: more than ${this.limits.maxConnectionsPerAddress} connections from this address`);
    }
    if (device === undefined) {
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, room, device, address));
      return true;
    }
    this.#trust.isOpened(room).then(
      (isOpened) => {
        if (socket.destroyed) return;
        if (!isOpened) {
          // Nothing is loaded or stored for a room nobody opened: a spammer's random names cost a lookup.
          // Phones retry (an HTTP refusal is transient to y-websocket) until the validator opens it.
          this.#countRefusal('R9');
          this.#refuseUpgrade(socket, 404, 'R9: no validator has opened this room (yet); try again shortly');
          return;
        }
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, room, device, address));
      },
      (error: unknown) => {
        this.#storeFailed('could not read the room’s grant', room, error);
        this.#refuseUpgrade(socket, 503, 'the relay cannot reach its store; try again shortly');
      },
    );
    return true;
  }

  /** The client address R11 counts (R11a). */
  #addressOf(req: IncomingMessage): string {
    return this.#unusableForwardedFor.addressOf(requestClientAddress(req, this.#trustedProxies));
  }

  #refuseUpgrade(socket: Duplex, status: number, reason: string): true {
    const text = { 400: 'Bad Request', 404: 'Not Found', 429: 'Too Many Requests' }[status] ?? 'Service Unavailable';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`);
    return true;
  }

  #accept(ws: WebSocket, roomName: string, device: string | undefined, address: string): void {
    if (this.#isClosed) {
      // An upgrade that was under way when close() went round the peers: it reconnects too.
      ws.close(CloseCode.Restarting, 'the relay is restarting; reconnect shortly');
      return;
    }
    const challenge = device === undefined ? new Uint8Array(randomBytes(CHALLENGE_BYTES)) : undefined;
    const connection = new RelayConnection({
      id: this.#nextConnectionId++,
      socket: {
        send: (message) => {
          this.#bytesSent += message.length;
          ws.send(message);
        },
        close: (code, reason) => ws.close(code, reason),
      },
      device,
      ...(challenge ? { challenge } : {}),
      address,
      limits: this.limits,
      now: this.#now,
      onRefused: (refused, refusal) => this.#onRefused(roomName, refused, refusal),
      onValidatorMessage: (from, message) => void this.#onValidatorMessage(roomName, from, message),
      onError: (failed, error) =>
        this.#logger.error('connection handler failed', { room: roomName, conn: failed.id, error: error instanceof Error ? error.message : String(error) }),
    });
    this.#connectionsByAddress.set(address, (this.#connectionsByAddress.get(address) ?? 0) + 1);
    this.#sockets.set(ws, { connection, isAlive: true });
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data) => {
      const message = socketData(data);
      this.#bytesReceived += message.length;
      connection.receive(message);
    });
    ws.on('pong', () => {
      const entry = this.#sockets.get(ws);
      if (entry) entry.isAlive = true;
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.#sockets.delete(ws);
      const count = (this.#connectionsByAddress.get(address) ?? 1) - 1;
      if (count > 0) this.#connectionsByAddress.set(address, count);
      else this.#connectionsByAddress.delete(address);
      connection.closed();
      if (this.#sockets.size === 0) this.#onAllClosed?.();
    });
    if (challenge) {
      // R10: an unfiltered peer hears nothing of the room until it proves it is its validator.
      connection.send(encodeValidatorMessage({ kind: 'challenge', challenge }));
      const timer = setTimeout(() => {
        if (connection.validatorKey === undefined) connection.refuse(refuse('R10', 'no proof that this connection is the room’s validator', CloseCode.Unauthorized));
      }, this.limits.validatorProofTimeoutMs);
      timer.unref();
      ws.once('close', () => clearTimeout(timer));
      return;
    }
    this.#join(roomName, connection);
  }

  /** Loads the room (R5) and lets the connection in: step 1 goes out once it is loaded. */
  #join(roomName: string, connection: RelayConnection): void {
    const room = this.#room(roomName);
    room.ready.then(
      () => {
        if (connection.isClosed) return;
        room.join(connection);
        connection.attach(room);
      },
      (error: unknown) => {
        this.#storeFailed('could not load the room', roomName, error);
        this.#unload(room);
        connection.close(CloseCode.StoreUnavailable, 'the relay could not load this room; reconnect later');
      },
    );
  }

  /** A validator's hello (proof + grant) or newer grant (R9, R10, R11). */
  async #onValidatorMessage(roomName: string, connection: RelayConnection, message: ValidatorMessage): Promise<void> {
    let result;
    try {
      result = await this.#trust.acceptValidatorMessage(roomName, connection, message);
    } catch (error) {
      this.#storeFailed('could not store a room grant', roomName, error);
      connection.close(CloseCode.StoreUnavailable, 'the relay could not store the grant; reconnect later');
      return;
    }
    if (connection.isClosed) return;
    if (!result.ok) {
      connection.refuse(result);
      return;
    }
    const grant = this.#trust.grantOf(roomName)!;
    if (message.kind === 'hello') {
      connection.proven(result.validator.publicKey);
      this.#logger.info('validator opened the room', { room: roomName, conn: connection.id, validator: result.validator.name, until: new Date(grant.writesUntilMs).toISOString() });
      const welcome = JSON.stringify({ room: roomName, name: result.validator.name, writes_until_ms: grant.writesUntilMs });
      connection.send(encodeValidatorMessage({ kind: 'welcome', welcome }));
      this.#join(roomName, connection);
    }
  }

  /** Closes the connections of validators the operator revoked meanwhile (another process). */
  async #refreshTrust(): Promise<void> {
    if (this.#isRefreshingTrust) return;
    this.#isRefreshingTrust = true;
    let lost: string[];
    try {
      lost = await this.#trust.refresh();
      if (this.#isTrustStale) this.#logger.info('the trusted validators are read again');
      this.#isTrustStale = false;
    } catch (error) {
      // One line per outage, not one a second: the store logs that it is unreachable too.
      if (!this.#isTrustStale) this.#logger.error('could not re-read the trusted validators; the last ones read still hold', { error: error instanceof Error ? error.message : String(error) });
      this.#isTrustStale = true;
      return;
    } finally {
      this.#isRefreshingTrust = false;
    }
    if (lost.length === 0) return;
    const revoked = new Set(lost);
    for (const { connection } of this.#sockets.values()) {
      if (connection.validatorKey !== undefined && revoked.has(connection.validatorKey)) {
        connection.refuse(refuse('R10', 'this validator was revoked by the relay’s operator'));
      }
    }
  }

  #unload(room: RelayRoom): void {
    if (this.#rooms.get(room.name) !== room) return;
    this.#rooms.delete(room.name);
    this.#bus?.unsubscribe(room.name);
  }

  #room(name: string): RelayRoom {
    let room = this.#rooms.get(name);
    const bus = this.#bus;
    if (!room) {
      room = new RelayRoom({
        name,
        store: this.#store,
        guard: this.#trust,
        limits: this.limits,
        logger: this.#logger,
        counters: this.#counters,
        observeAppendSeconds: (seconds) => this.#metrics.observeAppend(seconds),
        onIdle: (idle) => this.#unload(idle),
        ...(bus ? { onStored: (rowId: number, update: Uint8Array) => bus.publish(name, rowId, update) } : {}),
        // Subscribed before the room is read from the store: nothing stored meanwhile is missed.
        subscribed: bus?.subscribe(name, (message) => {
          if (message.origin === bus.relayId) return;
          const loaded = this.#rooms.get(name);
          // An empty update is a head (R12a): rows the other relay stored while it held the room alone.
          if (message.update.length === 0) loaded?.catchUpTo(message.rowId);
          else loaded?.applyStored(message.rowId, message.update);
        }),
      });
      this.#rooms.set(name, room);
    }
    return room;
  }

  #countRefusal(rule: string): void {
    this.#counters.refused++;
    this.#refusedByRule[rule] = (this.#refusedByRule[rule] ?? 0) + 1;
  }

  #onRefused(roomName: string, connection: RelayConnection, refusal: Refusal): void {
    this.#countRefusal(refusal.rule);
    this.#logger.warn(`refused ${refusal.rule}: ${refusal.reason}`, {
      room: roomName,
      conn: connection.id,
      device: connection.device?.slice(0, 8),
      close: refusal.closeCode,
    });
  }

  /** Keep-alive: ws pings find dead peers; quiet peers hear an empty awareness update. */
  /**
   * Every socket is pinged (and a quiet one sent an empty awareness message) once per
   * `keepAliveMs`, a slice of them each second by connection id: pinging 2,500 sockets in one
   * turn stalled the event loop for about 90 ms (10,000: 400 ms), in the middle of whatever
   * the relay was answering (docs/performance.md, "2026-12-07, afternoon").
   */
  #tick(): void {
    const slice = this.#keepAliveTicks++ % this.#keepAliveSlices;
    const quietSinceMs = this.#now() - this.limits.keepAliveMs / 2;
    for (const [ws, entry] of this.#sockets) {
      if (entry.connection.id % this.#keepAliveSlices !== slice) continue;
      if (!entry.isAlive) {
        ws.terminate();
        continue;
      }
      entry.isAlive = false;
      try {
        ws.ping();
      } catch {
        ws.terminate();
        continue;
      }
      if (entry.connection.lastSentAtMs < quietSinceMs) entry.connection.send(EMPTY_AWARENESS_MESSAGE);
    }
  }

  /** Whether the stores (rooms and trust) can be used now, and the bus if there is one: /readyz and /metrics read this. */
  #reachable(): RelayStats['reachable'] {
    return { store: this.#store.isOpen && this.#trustStore.isOpen, ...(this.#bus ? { bus: this.#bus.isConnected } : {}) };
  }

  /** A store read or write failed, and a peer is turned away for it (it retries): logged and counted (RelayCounters.storeFailures). */
  #storeFailed(what: string, room: string, error: unknown): void {
    this.#logger.error(what, { room, error: error instanceof Error ? error.message : String(error) });
    this.#counters.storeFailures++;
  }

  stats(): RelayStats {
    let phone = 0;
    for (const { connection } of this.#sockets.values()) if (connection.device !== undefined) phone++;
    return {
      rooms: this.#rooms.size,
      connections: this.#sockets.size,
      connectionsByKind: { phone, validator: this.#sockets.size - phone },
      ...this.#counters,
      refusedByRule: { ...this.#refusedByRule },
      bytesReceived: this.#bytesReceived,
      bytesSent: this.#bytesSent,
      unusableForwardedFor: this.#unusableForwardedFor.count,
      reachable: this.#reachable(),
      ...(this.#store.statistics ? { store: this.#store.statistics } : {}),
      ...(this.#bus?.unpublished !== undefined ? { bus: { unpublished: this.#bus.unpublished } } : {}),
    };
  }

  /** Whether a room is in memory now (tests of loading and unloading). */
  isRoomLoaded(name: string): boolean {
    return this.#rooms.has(name);
  }

  /**
   * The first step of stopping: /readyz answers 503 and new WebSocket upgrades are refused with
   * 503 (peers retry), while connected peers go on syncing. `close()` follows, at once or after
   * a load balancer has had time to notice.
   */
  beginDraining(): void {
    if (this.#isDraining) return;
    this.#isDraining = true;
    // Lines about peers only when there are some (a relay that failed to listen has none).
    if (this.#sockets.size > 0) this.#logger.info('draining: refusing new connections, /readyz answers 503', { connections: this.#sockets.size, rooms: this.#rooms.size });
  }

  /**
   * Graceful stop (SIGTERM): drains, lets rooms that are loading finish and judge what their
   * peers sent meanwhile (each room's queue of admissions runs empty), then closes every peer
   * with 1012 (service restart), which y-websocket and the follower answer by reconnecting;
   * waits up to `limits.shutdownGraceMs` for the close handshakes, drops what is left, lets the
   * rooms finish what was being stored, and stops the timers. Everything admitted is already in
   * the store (R5); closing the stores is the caller's.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.beginDraining();
    await Promise.allSettled([...this.#rooms.values()].map((room) => room.ready.then(() => room.settled())));
    const peers = this.#sockets.size;
    const allClosed = new Promise<void>((done) => {
      this.#onAllClosed = done;
      if (this.#sockets.size === 0) done();
    });
    for (const { connection } of this.#sockets.values()) connection.close(CloseCode.Restarting, 'the relay is restarting; reconnect shortly');
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([allClosed, new Promise<void>((done) => (graceTimer = setTimeout(done, this.limits.shutdownGraceMs)))]);
    clearTimeout(graceTimer);
    const dropped = this.#sockets.size;
    for (const ws of this.#sockets.keys()) ws.terminate();
    clearInterval(this.#keepAlive);
    clearInterval(this.#trustRefresh);
    clearInterval(this.#busCatchUp);
    await Promise.allSettled([...this.#rooms.values()].map((room) => room.settled()));
    for (const room of this.#rooms.values()) {
      room.stop();
      this.#bus?.unsubscribe(room.name);
    }
    this.#rooms.clear();
    await new Promise<void>((done) => this.#wss.close(() => done()));
    if (peers > 0) this.#logger.info('relay closed: peers told to reconnect (1012)', { peers, dropped_after_grace: dropped });
  }
}
