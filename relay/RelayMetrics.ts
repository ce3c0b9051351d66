/**
 * GET /metrics: what a relay is doing, in Prometheus's text format (prom-client). Counts only:
 * no room names, device keys, addresses or validator names, so a scrape leaks nothing a peer
 * could use; labels take a handful of fixed values (`kind`, `rule`), so series never grow with
 * traffic. Counters are read from the relay's own tallies at scrape time (nothing is added to
 * the per-update path but the store-latency observation).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RELAY_RULES } from '../protocol/index.ts';

const RULE_IDS = Object.keys(RELAY_RULES);

/** The relay's tallies, as `Relay.stats()` gives them. */
export interface MetricsSource {
  connectionsByKind: { phone: number; validator: number };
  rooms: number;
  admitted: number;
  duplicates: number;
  refusedByRule: Record<string, number>;
  bytesReceived: number;
  bytesSent: number;
  unusableForwardedFor: number;
  storeFailures: number;
  reachable: { store: boolean; bus?: boolean };
  store?: { appends: number; statements: number };
  /** A bus that leaves a room unpublished while no other relay holds it (Redis, R12a). */
  bus?: { unpublished: number };
}

/** Seconds: a WAL insert takes tens of microseconds; a slow disk shows up in the upper buckets. */
const APPEND_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Sets a counter to a total kept elsewhere (the relay's tallies only grow). */
function setTotal<T extends string>(counter: Counter<T>, total: number, labels?: Partial<Record<T, string>>): void {
  if (labels) {
    counter.remove(labels);
    counter.inc(labels, total);
  } else {
    counter.reset();
    counter.inc(total);
  }
}

export class RelayMetrics {
  readonly #registry = new Registry();
  readonly #appendSeconds: Histogram;
  #hasProcessMetrics = false;

  constructor(source: () => MetricsSource) {
    const registers = [this.#registry];
    new Gauge({
      name: 'rollcall_relay_connections',
      help: 'Open WebSocket connections: phones (?device=) and validators (unfiltered, proven or still proving).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const { connectionsByKind } = source();
        this.set({ kind: 'phone' }, connectionsByKind.phone);
        this.set({ kind: 'validator' }, connectionsByKind.validator);
      },
    });
    new Gauge({
      name: 'rollcall_relay_open_rooms',
      help: 'Rooms loaded in memory (a room with no peer is unloaded after a minute).',
      registers,
      collect() {
        this.set(source().rooms);
      },
    });
    new Gauge({
      name: 'rollcall_relay_reachable',
      help: 'Whether this relay can use its store (rooms and trust; PostgreSQL with --store: 0 while it is unreachable, and writes are refused with 1013) and, with --bus, Redis (0 while it is unreachable: writes are still admitted, other relays hear them once it is back). Either at 0: /readyz answers 503.',
      labelNames: ['part'] as const,
      registers,
      collect() {
        const { reachable } = source();
        this.set({ part: 'store' }, reachable.store ? 1 : 0);
        if (reachable.bus !== undefined) this.set({ part: 'bus' }, reachable.bus ? 1 : 0);
      },
    });
    new Counter({
      name: 'rollcall_relay_store_failures_total',
      help: 'Store failures that turned a peer away (R5): a write, room load or grant that could not be stored or loaded (the connection closed with 1013), an upgrade whose grant could not be read (503). Peers retry; growth means the store is failing.',
      registers,
      collect() {
        setTotal(this, source().storeFailures);
      },
    });
    new Counter({
      name: 'rollcall_relay_updates_admitted_total',
      help: 'Updates admitted that brought something new (stored, then broadcast).',
      registers,
      collect() {
        setTotal(this, source().admitted);
      },
    });
    new Counter({
      name: 'rollcall_relay_updates_unchanged_total',
      help: 'Updates admitted that brought nothing new (a re-sync): neither stored nor broadcast.',
      registers,
      collect() {
        setTotal(this, source().duplicates);
      },
    });
    new Counter({
      name: 'rollcall_relay_refused_total',
      help: 'Refusals by rule id (SPEC.md R1-R11): updates, grants and proofs refused on a socket, and upgrades refused (R4, R9, R11).',
      labelNames: ['rule'] as const,
      registers,
      collect() {
        const { refusedByRule } = source();
        for (const rule of RULE_IDS) setTotal(this, refusedByRule[rule] ?? 0, { rule });
      },
    });
    new Counter({
      name: 'rollcall_relay_received_bytes_total',
      help: 'Bytes of WebSocket messages received from peers.',
      registers,
      collect() {
        setTotal(this, source().bytesReceived);
      },
    });
    new Counter({
      name: 'rollcall_relay_sent_bytes_total',
      help: 'Bytes of WebSocket messages sent to peers.',
      registers,
      collect() {
        setTotal(this, source().bytesSent);
      },
    });
    new Counter({
      name: 'rollcall_relay_unusable_forwarded_for_total',
      help: 'Upgrades and enrolments from a trusted proxy (--trusted-proxy) without a usable X-Forwarded-For, counted under the proxy\'s own address (R11a): a misconfigured load balancer.',
      registers,
      collect() {
        setTotal(this, source().unusableForwardedFor);
      },
    });
    new Counter({
      name: 'rollcall_relay_store_appends_total',
      help: 'Admitted updates sent to a store that groups them (PostgreSQL, R13); 0 on SQLite, which stores each at once.',
      registers,
      collect() {
        const { store } = source();
        if (store) setTotal(this, store.appends);
      },
    });
    new Counter({
      name: 'rollcall_relay_store_statements_total',
      help: 'Statements that carried them (a group is one; appends / statements is how well --store-batch-ms groups).',
      registers,
      collect() {
        const { store } = source();
        if (store) setTotal(this, store.statements);
      },
    });
    new Counter({
      name: 'rollcall_relay_bus_unpublished_total',
      help: 'Admitted updates not published on the bus because no other relay held their room (R12a): with room affinity, most of them.',
      registers,
      collect() {
        const { bus } = source();
        if (bus) setTotal(this, bus.unpublished);
      },
    });
    this.#appendSeconds = new Histogram({
      name: 'rollcall_relay_store_append_seconds',
      help: 'Time to store one admitted update (UpdateStore.append), which every admission waits for (R5).',
      buckets: APPEND_BUCKETS,
      registers,
    });
  }

  /** One `UpdateStore.append` took `seconds`. */
  observeAppend(seconds: number): void {
    this.#appendSeconds.observe(seconds);
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The exposition text. Process metrics (event-loop lag, memory, CPU) start at the first scrape: relays that are never scraped (tests) run no monitor. */
  async text(): Promise<string> {
    if (!this.#hasProcessMetrics) {
      this.#hasProcessMetrics = true;
      collectDefaultMetrics({ register: this.#registry });
    }
    return this.#registry.metrics();
  }
}
