/**
 * The relay's PostgreSQL connection pool, shared by PgUpdateStore and PgTrustStore: migrates
 * the schema when it connects (relay/pgSchema.ts), and knows whether the database is reachable
 * (`isAvailable`: /readyz, and the relay's close code 1013 while it is not). A query that fails
 * because the server went away marks it unavailable; a probe every second marks it back.
 */
import pg from 'pg';
import type { Logger } from '../log/index.ts';
import { DEFAULT_RELAY_LIMITS } from './limits.ts';
import { MIGRATIONS, MIGRATION_LOCK, RECORD_SCHEMA_VERSION, SCHEMA_VERSION_TABLE, SELECT_SCHEMA_VERSION } from './pgSchema.ts';
import { redactedUrl } from './redactedUrl.ts';

export interface PgDatabaseOptions {
  logger: Logger;
  /** Connections in the pool, all opened at start and kept (default POOL_SIZE). */
  poolSize?: number;
  /** How long a query waits for a connection, to open one or for one of the pool's to be free (default 5 s). */
  connectTimeoutMs?: number;
}

const PROBE_INTERVAL_MS = 1000;

/**
 * The pool's size: every connection is opened when the relay starts (and again once the server
 * is back after an outage) and kept while idle. A new connection costs the server about 30 ms of
 * CPU on the project's machine (a backend forked, its catalogue caches filled) against 2.5 ms
 * for loading a 600-item room on a warm one; a pool that grew on demand forked a dozen backends
 * on the survivors of a relay's death, just when they load its rooms at once (docs/performance.md,
 * "2026-12-07, evening"). Four (`rollcall relay --store-pool`) serve a relay's grouped appends
 * (R13), room loads and trust reads; more queries wait for one of them rather than fork a backend.
 */
const POOL_SIZE = DEFAULT_RELAY_LIMITS.storePool;

/**
 * pg-pool's error when a query waited `connectionTimeoutMillis` for one of the pool's
 * connections, all taken (node_modules/pg-pool/index.js; a connection that could not be
 * opened in time fails with "Connection terminated due to connection timeout" instead).
 */
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect';

/** SQLSTATE classes that mean "the server or the connection", not "this statement": 08 connection, 57P shutdown, 53300 too many connections. */
function isConnectionError(error: unknown): boolean {
  // Anything but the server's own answer (ECONNREFUSED, a dropped connection, a timeout) is the connection's.
  if (!(error instanceof pg.DatabaseError)) return true;
  const code = error.code ?? '';
  return code.startsWith('08') || code.startsWith('57P') || code === '53300';
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
  return text.replace(/postgres(ql)?:\/\/[^\s]+/g, (url) => redactedUrl(url));
}

export class PgDatabase {
  /** The URL with any password replaced by `***` (for messages and logs). */
  readonly safeUrl: string;
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #size: number;
  /** How long a query waits for a connection (opening one, or one of the pool's to be free). */
  readonly #waitMs: number;
  #isAvailable = true;
  #isClosed = false;
  /** Until `connect` succeeded, a failure is its error to report, not a line in the log. */
  #hasConnected = false;
  #probe: ReturnType<typeof setInterval> | undefined;

  private constructor(url: string, options: PgDatabaseOptions) {
    this.safeUrl = redactedUrl(url);
    this.#logger = options.logger;
    this.#size = options.poolSize ?? POOL_SIZE;
    this.#waitMs = options.connectTimeoutMs ?? 5000;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: this.#size,
      min: this.#size,
      connectionTimeoutMillis: this.#waitMs,
      idleTimeoutMillis: 30_000, // only above `min`, which is all of them: none is closed for idling
      keepAlive: true,
    });
    // An idle connection the server dropped (a restart) must not end the process.
    this.#pool.on('error', (error) => this.#lost(error));
  }

  /**
   * Connects and migrates; rejects with a sentence naming the (password-free) URL and what to
   * check when the server cannot be reached or refuses.
   */
  static async connect(url: string, options: PgDatabaseOptions): Promise<PgDatabase> {
    let database: PgDatabase;
    try {
      database = new PgDatabase(url, options);
    } catch (error) {
      throw new Error(`the --store URL is not a PostgreSQL URL (${describe(error)}): expected postgres://user[:password]@host[:port]/database`);
    }
    try {
      await database.#migrate();
      await database.#openAll();
      database.#hasConnected = true;
    } catch (error) {
      await database.#pool.end().catch(() => {});
      throw new Error(`cannot use PostgreSQL at ${database.safeUrl}: ${describe(error)}. Check that the server runs and accepts this user and database (the URL, its password, pg_hba.conf).`);
    }
    return database;
  }

  /** False while the server cannot be reached (or once closed). */
  get isAvailable(): boolean {
    return this.#isAvailable && !this.#isClosed;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  async query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]> {
    if (this.#isClosed) throw new Error('the PostgreSQL store is closed');
    try {
      const result = await this.#pool.query<Row>(text, values);
      this.#markAvailable();
      return result.rows;
    } catch (error) {
      if (isConnectionError(error)) this.#lost(error);
      throw new Error(describe(error));
    }
  }

  /** Runs `work` in one transaction on one connection (rolled back if it throws). */
  async transaction<T>(work: (query: <Row extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<Row[]>) => Promise<T>): Promise<T> {
    if (this.#isClosed) throw new Error('the PostgreSQL store is closed');
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      if (isConnectionError(error)) this.#lost(error);
      throw new Error(describe(error));
    }
    let isBroken = false;
    try {
      await client.query('BEGIN');
      const result = await work(async (text, values) => (await client.query(text, values)).rows);
      await client.query('COMMIT');
      this.#markAvailable();
      return result;
    } catch (error) {
      isBroken = isConnectionError(error);
      if (isBroken) this.#lost(error);
      else await client.query('ROLLBACK').catch(() => (isBroken = true));
      throw new Error(describe(error));
    } finally {
      client.release(isBroken);
    }
  }

  async #migrate(): Promise<void> {
    await this.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await query(SCHEMA_VERSION_TABLE);
      const [row] = await query<{ version: number }>(SELECT_SCHEMA_VERSION);
      const current = Number(row?.version ?? 0);
      if (current > MIGRATIONS.length) throw new Error(`the database's schema is version ${current}, newer than this relay's (${MIGRATIONS.length}): upgrade this relay`);
      for (let version = current + 1; version <= MIGRATIONS.length; version++) {
        await query(MIGRATIONS[version - 1]!);
        await query(RECORD_SCHEMA_VERSION, [version]);
      }
      if (current < MIGRATIONS.length) this.#logger.info('PostgreSQL schema migrated', { from: current, to: MIGRATIONS.length });
    });
  }

  /** Opens every connection of the pool now, not when a burst of queries first needs them (POOL_SIZE). */
  async #openAll(): Promise<void> {
    const clients: pg.PoolClient[] = [];
    try {
      for (let i = 0; i < this.#size; i++) clients.push(await this.#pool.connect());
    } finally {
      for (const client of clients) client.release();
    }
  }

  /** A statement answered: if PostgreSQL had been taken for gone, say that it is back (whichever query saw it first). */
  #markAvailable(): void {
    if (this.#isAvailable) return;
    this.#isAvailable = true;
    if (!this.#isClosed) this.#logger.info('PostgreSQL is back: writes are admitted again', { store: this.safeUrl });
  }

  #lost(error: unknown): void {
    if (this.#isClosed || !this.#hasConnected) return;
    if (this.#isAvailable) {
      // Every connection stayed busy for the whole wait: a server too slow to answer (or gone
      // without resetting the connections: a partition), or more work than the pool. Not a
      // refused connection, so not "unreachable"; either way writes wait for an answer.
      const isPoolBusy = error instanceof Error && error.message === POOL_WAIT_TIMEOUT;
      if (isPoolBusy) {
        this.#logger.error(`PostgreSQL did not answer in time: all ${this.#size} connections of the pool stayed busy for ${this.#waitMs / 1000} s (a slow or unreachable server, or more work than --store-pool allows); writes are refused (1013) until one answers`, { store: this.safeUrl });
      } else {
        this.#logger.error('PostgreSQL is unreachable: writes are refused (1013) until it is back', { store: this.safeUrl, error: describe(error) });
      }
    }
    this.#isAvailable = false;
    if (this.#probe) return;
    this.#probe = setInterval(() => {
      this.#pool.query('SELECT 1').then(
        () => {
          clearInterval(this.#probe);
          this.#probe = undefined;
          this.#markAvailable();
          // An outage closed some of the pool's connections: open them again before they are
          // needed. After a busy pool every one is still open, and taking them all would only
          // keep them from the queries waiting for one.
          if (this.#pool.totalCount < this.#size) this.#openAll().catch(() => {});
        },
        () => {},
      );
    }, PROBE_INTERVAL_MS);
    this.#probe.unref();
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#probe);
    await this.#pool.end();
  }
}
