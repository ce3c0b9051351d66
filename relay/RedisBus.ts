/**
 * RelayBus over Redis pub/sub (issue 10): one channel per room (`rollcall:room:<room>`), each
 * message the binary payload of busPayload.ts. Two connections, because a Redis connection that
 * subscribes can do nothing else: one publishes, one subscribes.
 *
 * Pub/sub keeps nothing, and that is fine here: the store is the truth (R5). While Redis is away
 * publishes wait in the client's bounded offline queue (past it they are dropped), and once both
 * connections are back node-redis has re-subscribed every room before `ready`, after which the
 * `onReconnect` listeners run: the relay reloads each subscribed room from the store (`loadSince`)
 * and so gets whatever the bus dropped meanwhile.
 *
 * A relay that is the only one holding a room does not publish there (SPEC.md R12a): with room
 * affinity at the load balancer that is nearly every room, and every publish would only come
 * back to its own publisher. PUBLISH answers how many subscribers it reached, this relay's own
 * included: 1 (and nothing heard from another relay meanwhile) marks the room alone. A relay
 * whose subscription turns live publishes a join; a relay that was alone answers any message
 * from another relay with a head (the last row id it stored there) and publishes again, and the
 * newcomer catches up from the store up to that head. After a Redis outage every room is
 * announced again and nothing is alone.
 *
 * The URL may carry a password: it reaches the client and nothing else. Logs name Redis as
 * `redis://host:port`, and one line says it was lost (not one per retry), one that it is back.
 */
import { createClient, ErrorReply } from 'redis';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { busPayloadPrefix, decodeBusPayload, encodeBusHead, encodeBusJoin, encodeBusPayload, hasBusPayloadPrefix } from './busPayload.ts';
import type { BusMessage, RelayBus } from './RelayBus.ts';

type RedisClient = ReturnType<typeof createClient>;

export interface RedisBusOptions {
  /** This relay process's id (unique): its own messages come back from Redis and are ignored. */
  relayId: string;
  logger?: Logger;
  /** First wait before reconnecting, doubled per failed attempt up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long `connect` waits for Redis before it gives up. */
  connectTimeoutMs?: number;
}

/** Publishes waiting for Redis to come back; past this they are dropped (the store has them). */
const OFFLINE_QUEUE_MAX = 10_000;
const CHANNEL_PREFIX = 'rollcall:room:';
/** A head reaches the listener as a message with no update (RelayBus). */
const EMPTY_UPDATE = new Uint8Array(0);
/** After a reconnection, SUBSCRIBEs that fail again are re-sent this many times, this far apart. */
const RESUBSCRIBE_ROUNDS = 5;
const RESUBSCRIBE_PAUSE_MS = 200;

/** `redis://host:port[/db]` of a Redis URL: no user name, no password. */
export function redisDisplayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/** An error's message with every appearance of the URL's password (and the URL itself) removed. */
function scrubbed(error: unknown, url: string): string {
  let message = error instanceof Error ? error.message || error.name : String(error);
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // an unparsable URL has no password we could find in a message
  }
  message = message.replaceAll(url, redisDisplayUrl(url));
  if (password) message = message.replaceAll(password, '[redacted]');
  return message;
}

export class RedisBus implements RelayBus {
  readonly relayId: string;
  /** How this relay's own payloads start: they come back from Redis and are dropped undecoded. */
  readonly #ownPrefix: Uint8Array;
  readonly #url: string;
  readonly #logger: Logger;
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  /** The rooms this relay wants, with their listener. */
  readonly #listeners = new Map<string, (message: BusMessage) => void>();
  /** Rooms whose SUBSCRIBE Redis confirmed (node-redis re-subscribes these by itself). */
  readonly #subscribed = new Set<string>();
  /** The latest SUBSCRIBE of each wanted room, settled once Redis answered or the connection dropped. */
  readonly #subscribing = new Map<string, Promise<void>>();
  #isComingBack = false;
  /** Rooms subscribed while the subscriber connection was down, resolved once it is back and they were subscribed. */
  readonly #subscribedWhileDown = new Map<string, () => void>();
  readonly #reconnectListeners: (() => void)[] = [];
  /** Since when the bus has been down (ms), or undefined while it is up. */
  #downSinceMs: number | undefined;
  #hasStarted = false;
  #isClosed = false;
  #errors = 0;
  #failedPublishes = 0;
  /** Rooms no other relay subscribed to at this relay's last publish: not published to (R12a). */
  readonly #alone = new Set<string>();
  /** Per room, messages heard from other relays: a PUBLISH's "no one else" is stale if this moved. */
  readonly #heardFromOthers = new Map<string, number>();
  /** Per room, the last row id this relay stored (published or not): the head it answers with. */
  readonly #lastStored = new Map<string, number>();
  #unpublished = 0;
  /** This relay's join (R12a), encoded once: the same bytes for every room. */
  readonly #joinPayload: Buffer;

  private constructor(url: string, options: RedisBusOptions) {
    this.relayId = options.relayId;
    this.#ownPrefix = busPayloadPrefix(options.relayId);
    this.#joinPayload = Buffer.from(encodeBusJoin(options.relayId));
    this.#url = url;
    this.#logger = options.logger ?? silentLogger;
    const minBackoffMs = options.minBackoffMs ?? 50;
    const maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.#publisher = createClient({
      url,
      commandsQueueMaxLength: OFFLINE_QUEUE_MAX,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 5000,
        // Before the first connection a failure is `connect`'s to report; after it, retry forever.
        reconnectStrategy: (retries, cause) => (this.#hasStarted && !this.#isClosed ? Math.min(maxBackoffMs, minBackoffMs * 2 ** retries) + Math.floor(Math.random() * minBackoffMs) : cause),
      },
    });
    this.#subscriber = this.#publisher.duplicate();
    for (const client of [this.#publisher, this.#subscriber]) {
      // Without an 'error' listener an outage would throw out of the event loop.
      client.on('error', (error: unknown) => this.#lost(error));
      client.on('ready', () => this.#maybeBack());
    }
  }

  /**
   * Connects both connections to `url` (`redis://[:password@]host:port[/db]`, or rediss://).
   * Throws an error a person can act on when Redis cannot be reached or refuses (no password
   * in it).
   */
  static async connect(url: string, options: RedisBusOptions): Promise<RedisBus> {
    let bus: RedisBus;
    try {
      bus = new RedisBus(url, options);
    } catch (error) {
      throw new Error(`the Redis URL for the relays' bus is not usable (${scrubbed(error, url)}): give it as redis://[:password@]host:port`);
    }
    try {
      await Promise.all([bus.#publisher.connect(), bus.#subscriber.connect()]);
    } catch (error) {
      bus.#isClosed = true;
      for (const client of [bus.#publisher, bus.#subscriber]) if (client.isOpen) client.destroy();
      throw new Error(`could not reach Redis at ${redisDisplayUrl(url)} (${scrubbed(error, url)}): start Redis there, or check the --bus URL and its password`);
    }
    bus.#hasStarted = true;
    return bus;
  }

  get isConnected(): boolean {
    return !this.#isClosed && this.#publisher.isReady && this.#subscriber.isReady;
  }

  publish(room: string, rowId: number, update: Uint8Array): void {
    if (this.#isClosed) return;
    if (rowId > (this.#lastStored.get(room) ?? 0)) this.#lastStored.set(room, rowId);
    if (this.#alone.has(room)) {
      this.#unpublished++;
      return;
    }
    const payload = encodeBusPayload({ origin: this.relayId, rowId, update });
    // Only while our own subscription is live does "1 receiver" mean "only us".
    const isLive = this.#subscribed.has(room) && !this.#isComingBack;
    const heard = this.#heardFromOthers.get(room) ?? 0;
    this.#publisher.publish(CHANNEL_PREFIX + room, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)).then(
      (receivers) => {
        if (receivers <= 1 && isLive && this.#subscribed.has(room) && !this.#isComingBack && (this.#heardFromOthers.get(room) ?? 0) === heard) this.#alone.add(room);
      },
      (error: unknown) => this.#publishFailed(error),
    );
  }

  /** A join or a head: best effort like every publish (a lost one costs a catch-up's delay, R12). */
  #publishControl(room: string, payload: Buffer): void {
    this.#publisher.publish(CHANNEL_PREFIX + room, payload).catch((error: unknown) => this.#publishFailed(error));
  }

  /** Redis never took a publish (the connection dropped under it): the other relays catch up from the store. */
  #publishFailed(error: unknown): void {
    this.#failedPublishes++;
    this.#lost(error);
  }

  /**
   * Also returns a promise that resolves once the subscription is live in Redis (never rejects):
   * a relay that loads the room from the store after it misses nothing published meanwhile.
   */
  subscribe(room: string, onMessage: (message: BusMessage) => void): Promise<void> {
    if (this.#isClosed) return Promise.resolve();
    const isNew = !this.#listeners.has(room);
    this.#listeners.set(room, onMessage);
    if (!isNew) return this.#subscribing.get(room) ?? Promise.resolve();
    if (!this.#subscriber.isReady) {
      // Not into node-redis's offline queue: a SUBSCRIBE queued there was confirmed on the new
      // connection and Redis sent it the channel's messages, yet no listener heard them (1 run in
      // 4 under CPU load: tests/relay/relayBus.test.ts, "a room subscribed while Redis is away").
      // `#maybeBack` subscribes it once the connection is back, before the relay catches up.
      const live = new Promise<void>((resolve) => this.#subscribedWhileDown.set(room, resolve));
      this.#subscribing.set(room, live);
      return live;
    }
    return this.#subscribeChannel(room);
  }

  unsubscribe(room: string): void {
    if (!this.#listeners.delete(room) || this.#isClosed) return;
    this.#subscribed.delete(room);
    this.#alone.delete(room);
    this.#heardFromOthers.delete(room);
    this.#lastStored.delete(room);
    this.#subscribing.delete(room);
    const waiting = this.#subscribedWhileDown.get(room);
    if (waiting) {
      this.#subscribedWhileDown.delete(room);
      waiting();
      return;
    }
    this.#subscriber.unsubscribe(CHANNEL_PREFIX + room).catch((error: unknown) => this.#lost(error));
  }

  /**
   * node-redis registers a channel's listener when Redis confirms the SUBSCRIBE, and
   * re-subscribes after a reconnection only the confirmed ones: a SUBSCRIBE lost with the
   * connection is made again in `#maybeBack`.
   */
  #subscribeChannel(room: string): Promise<void> {
    const live = this.#subscriber.subscribe(CHANNEL_PREFIX + room, (payload: Buffer) => this.#deliver(room, payload), true).then(
      () => {
        if (!this.#listeners.has(room)) return;
        this.#subscribed.add(room);
        // Before the relay reads the room from the store: a relay alone there publishes again.
        this.#publishControl(room, this.#joinPayload);
      },
      (error: unknown) => {
        this.#lost(error);
        // Refused while the connection looked up (it dropped under the SUBSCRIBE): once the
        // connection is back `#maybeBack` re-sends it; if it is up already, try again shortly.
        // Redis's own refusal (an ACL on the channel) is not retried: it would refuse again.
        if (error instanceof ErrorReply) return;
        const retry = setTimeout(() => {
          if (!this.#isClosed && this.isConnected && this.#listeners.has(room) && !this.#subscribed.has(room) && !this.#isComingBack) void this.#subscribeChannel(room);
        }, RESUBSCRIBE_PAUSE_MS);
        retry.unref();
      },
    );
    this.#subscribing.set(room, live);
    return live;
  }

  onReconnect(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  /** Rooms subscribed now (tests, /metrics). */
  get subscribedRooms(): number {
    return this.#listeners.size;
  }

  /** Publishes Redis never took (the connection dropped under them): the other relays catch up from the store. */
  get failedPublishes(): number {
    return this.#failedPublishes;
  }

  /** Admitted updates left unpublished because no other relay held their room (R12a; /metrics). */
  get unpublished(): number {
    return this.#unpublished;
  }

  /** Rooms this relay holds alone, not publishing there (R12a; tests, /metrics). */
  get aloneRooms(): number {
    return this.#alone.size;
  }

  /** Rooms whose SUBSCRIBE Redis confirmed (tests). */
  get liveRooms(): number {
    return this.#subscribed.size;
  }

  /** Errors the connections reported so far (failed reconnection attempts among them), logged or not. */
  get errors(): number {
    return this.#errors;
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#listeners.clear();
    for (const resolve of this.#subscribedWhileDown.values()) resolve();
    this.#subscribedWhileDown.clear();
    await Promise.all(
      [this.#publisher, this.#subscriber].map(async (client) => {
        if (!client.isOpen) return;
        // Sends what is queued when Redis is there; otherwise there is nothing to wait for.
        if (client.isReady) await client.close().catch(() => client.isOpen && client.destroy());
        else client.destroy();
      }),
    );
  }

  #deliver(room: string, payload: Buffer): void {
    const listener = this.#listeners.get(room);
    if (!listener) return;
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
    // Our own publish, back from Redis (half of all deliveries with room affinity): not decoded.
    if (hasBusPayloadPrefix(bytes, this.#ownPrefix)) return;
    const message = decodeBusPayload(room, bytes);
    if (!message) {
      // Another program on the channel, or a relay of another version: not ours to apply.
      this.#logger.warn('dropped a bus message that is not in this relay’s format', { room, bytes: payload.length });
      return;
    }
    if (message.origin === this.relayId) return;
    this.#heardFromOthers.set(room, (this.#heardFromOthers.get(room) ?? 0) + 1);
    // Another relay holds the room now: publish again, and tell it up to where we stored unpublished.
    if (this.#alone.delete(room)) {
      const last = this.#lastStored.get(room);
      if (last !== undefined) this.#publishControl(room, Buffer.from(encodeBusHead(this.relayId, last)));
    }
    if (message.kind === 'join') return;
    try {
      listener({ room, origin: message.origin, rowId: message.rowId, update: message.kind === 'head' ? EMPTY_UPDATE : message.update });
    } catch (error) {
      this.#logger.error('a bus listener failed', { room, error: error instanceof Error ? error.message : String(error) });
    }
  }

  #lost(error: unknown): void {
    this.#errors++;
    if (this.#isClosed || !this.#hasStarted || this.#downSinceMs !== undefined) return;
    this.#downSinceMs = Date.now();
    this.#logger.warn('lost the connection to Redis (the relays’ bus); retrying, and rooms catch up from the store once it is back', {
      redis: redisDisplayUrl(this.#url),
      error: scrubbed(error, this.#url),
    });
  }

  #maybeBack(): void {
    if (this.#isClosed || !this.#hasStarted || !this.isConnected || this.#isComingBack) return;
    this.#isComingBack = true;
    this.#resubscribeMissing().then(() => {
      this.#isComingBack = false;
      if (this.#isClosed || !this.isConnected) return;
      const downForMs = this.#downSinceMs === undefined ? undefined : Date.now() - this.#downSinceMs;
      this.#downSinceMs = undefined;
      // What was published while Redis was away may be lost, and relays that were alone may not
      // be now: every room publishes again and announces itself (the catch-up below reads the rest).
      this.#alone.clear();
      for (const room of this.#subscribed) this.#publishControl(room, this.#joinPayload);
      this.#logger.info('the connection to Redis is back; catching up every subscribed room from the store', { redis: redisDisplayUrl(this.#url), down_ms: downForMs });
      for (const listener of this.#reconnectListeners) {
        try {
          listener();
        } catch (error) {
          this.#logger.error('a bus reconnect listener failed', { error: error instanceof Error ? error.message : String(error) });
        }
      }
    });
  }

  /**
   * Every wanted room live again before the relay catches up (else a publish could slip between).
   * A SUBSCRIBE can fail even now (the connection dropped and came back under it): each round
   * re-sends those still missing, a few times, while connected.
   */
  async #resubscribeMissing(): Promise<void> {
    const missing = () => [...this.#listeners.keys()].filter((room) => !this.#subscribed.has(room));
    // SUBSCRIBEs sent just before the outage, answered (or refused) now; not those of rooms subscribed while down.
    await Promise.all(missing().filter((room) => !this.#subscribedWhileDown.has(room)).map((room) => this.#subscribing.get(room)));
    try {
      await this.#resubscribeRounds(missing);
    } finally {
      // Subscribed, or left to catch up from the store (R12): either way their rooms may load now.
      // One still missing is subscribed at the next reconnection (it stays wanted and unconfirmed).
      for (const resolve of this.#subscribedWhileDown.values()) resolve();
      this.#subscribedWhileDown.clear();
    }
  }

  async #resubscribeRounds(missing: () => string[]): Promise<void> {
    for (let round = 0; round < RESUBSCRIBE_ROUNDS && missing().length > 0; round++) {
      if (this.#isClosed || !this.isConnected) return;
      if (round > 0) await new Promise((done) => setTimeout(done, RESUBSCRIBE_PAUSE_MS));
      await Promise.all(missing().map((room) => this.#subscribeChannel(room)));
    }
    if (missing().length > 0 && !this.#isClosed && this.isConnected) {
      this.#logger.warn('some rooms could not subscribe on the bus; they catch up from the store until they can', { rooms: missing().length });
    }
  }
}
