/**
 * One live room: its RoomState, its peers, and the I/O around admission. An update is
 * inspected, persisted (R5), committed to memory, then broadcast: whole to unfiltered peers,
 * per device to filtered ones. A refused update changes nothing (R6).
 */
import * as Y from 'yjs';
import type { RelayLimits } from './limits.ts';
import type { Logger } from '../log/index.ts';
import { refuse, type AdmissionLimits, type Refusal } from './inspectUpdate.ts';
import { EMPTY_UPDATE, mergeItemUpdates } from './itemUpdate.ts';
import type { RelayConnection } from './RelayConnection.ts';
import { RoomState, type HeldItem } from './RoomState.ts';
import { encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate } from './syncMessages.ts';
import type { UpdateStore } from './UpdateStore.ts';

/** Counters shared by the rooms of one relay (for stats()). */
export interface RelayCounters {
  admitted: number;
  /** Updates that brought nothing new (re-syncs). */
  duplicates: number;
  refused: number;
  compactions: number;
}

export interface RoomOptions {
  name: string;
  store: UpdateStore;
  limits: RelayLimits;
  logger: Logger;
  counters: RelayCounters;
  /** One `store.append` took this long (the /metrics histogram). */
  observeAppendSeconds(seconds: number): void;
  /** Called when the room has had no peer for `limits.idleUnloadMs`. */
  onIdle(room: RelayRoom): void;
  /** Who may write (R9, R10) and the room's caps under its grant (R3). */
  guard: RoomGuard;
}

/** The relay's trust, as a room needs it (implemented by RelayTrust). */
export interface RoomGuard {
  /** Admission limits of `room`: the relay's, lowered by the room's grant. */
  limitsFor(room: string): AdmissionLimits;
  /** Whether `from` may add new items to `room` now (R9 for phones, R10 for the validator). */
  mayWrite(room: string, from: RelayConnection): { ok: true } | Refusal;
}

/** Stored rows are trusted to be admitted once already; room caps must never drop them on load. */
const LOAD_LIMITS = { itemBytes: Number.POSITIVE_INFINITY, roomItems: Number.POSITIVE_INFINITY, roomBytes: Number.POSITIVE_INFINITY };

export class RelayRoom {
  readonly name: string;
  readonly state = new RoomState();
  /** Resolves once stored rows are loaded (R5: no sync step before that). */
  readonly ready: Promise<void>;
  readonly #options: RoomOptions;
  readonly #connections = new Set<RelayConnection>();
  readonly #byDevice = new Map<string, Set<RelayConnection>>();
  #lastRowId = 0;
  #rowsSinceCompaction = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: RoomOptions) {
    this.name = options.name;
    this.#options = options;
    this.ready = this.#load();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async #load(): Promise<void> {
    const rows = await this.#options.store.load(this.name);
    for (const row of rows) {
      const prepared = this.state.prepare(row.update, LOAD_LIMITS, 'stored');
      if (prepared.ok) this.state.commit(prepared.fresh, row.update.length);
      else this.#options.logger.error('a stored update of this room no longer passes admission; skipped', { room: this.name, row: row.id, rule: prepared.rule, reason: prepared.reason });
      this.#lastRowId = row.id;
    }
    this.#rowsSinceCompaction = rows.length;
    this.#maybeCompact();
    this.#armIdleTimer();
  }

  join(connection: RelayConnection): void {
    this.#connections.add(connection);
    if (connection.device !== undefined) {
      const peers = this.#byDevice.get(connection.device) ?? new Set();
      peers.add(connection);
      this.#byDevice.set(connection.device, peers);
    }
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  leave(connection: RelayConnection): void {
    if (!this.#connections.delete(connection)) return;
    if (connection.device !== undefined) {
      const peers = this.#byDevice.get(connection.device);
      peers?.delete(connection);
      if (peers?.size === 0) this.#byDevice.delete(connection.device);
    }
    this.#armIdleTimer();
  }

  #armIdleTimer(): void {
    if (this.#connections.size > 0 || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#connections.size === 0) this.#options.onIdle(this);
    }, this.#options.limits.idleUnloadMs);
    this.#idleTimer.unref?.();
  }

  /** The relay's sync step 1: the state vector of what this peer may see (so it sends what we lack). */
  syncStep1For(connection: RelayConnection): Uint8Array {
    const stateVector = connection.device === undefined ? this.state.fullStateVector() : this.state.deviceStateVector(connection.device);
    return encodeSyncStep1(stateVector);
  }

  /** Answer to the peer's sync step 1: what it may see and lacks. */
  syncStep2For(connection: RelayConnection, stateVector: Uint8Array): { ok: true; message: Uint8Array } | Refusal {
    let update: Uint8Array;
    if (connection.device === undefined) update = this.state.fullUpdate();
    else {
      const updates = this.state.deviceItemUpdates(connection.device);
      update = updates.length === 0 ? EMPTY_UPDATE : mergeItemUpdates(updates);
    }
    try {
      return { ok: true, message: encodeSyncStep2(Y.diffUpdate(update, stateVector)) };
    } catch {
      return refuse('R2', 'sync step 1 carries no valid state vector');
    }
  }

  /**
   * Admission of an update from `from` (R1–R3, R5–R10). On success it is stored, then broadcast.
   * A re-sync that brings nothing new is admitted even where writing is over (R9): a phone
   * re-sends its entries on every connect and must still receive its receipt.
   */
  admit(update: Uint8Array, from: RelayConnection): { ok: true } | Refusal {
    const { store, counters, guard } = this.#options;
    const prepared = this.state.prepare(update, guard.limitsFor(this.name), from.device === undefined ? 'validator' : 'device');
    if (!prepared.ok) return prepared;
    if (prepared.toStore === null) {
      counters.duplicates++;
      return { ok: true };
    }
    const access = guard.mayWrite(this.name, from);
    if (!access.ok) return access;
    try {
      const startedAt = performance.now();
      this.#lastRowId = store.append(this.name, prepared.toStore);
      this.#options.observeAppendSeconds((performance.now() - startedAt) / 1000);
    } catch (error) {
      // Not persisted, so not admitted (R5): the peer keeps it and re-sends on reconnect.
      this.#options.logger.error('could not store an update; refusing it', { room: this.name, error: error instanceof Error ? error.message : String(error) });
      from.close(1011, 'the relay could not store this update; try again later');
      return { ok: true };
    }
    this.state.commit(prepared.fresh, prepared.toStore.length);
    counters.admitted++;
    this.#rowsSinceCompaction++;
    this.#broadcast(prepared.toStore, prepared.fresh, from);
    this.#maybeCompact();
    return { ok: true };
  }

  #broadcast(stored: Uint8Array, fresh: HeldItem[], from: RelayConnection): void {
    let wholeMessage: Uint8Array | undefined;
    for (const peer of this.#connections) {
      if (peer === from || peer.device !== undefined) continue;
      wholeMessage ??= encodeSyncUpdate(stored);
      peer.send(wholeMessage);
    }
    if (this.#byDevice.size === 0) return;
    const perDevice = new Map<string, Uint8Array[]>();
    const add = (device: string | undefined, itemUpdate: Uint8Array) => {
      if (device === undefined || !this.#byDevice.has(device)) return;
      const updates = perDevice.get(device);
      if (updates) updates.push(itemUpdate);
      else perDevice.set(device, [itemUpdate]);
    };
    for (const held of fresh) {
      if (held.kind === 'entry') {
        add(held.device, held.update);
        // A receipt that arrived before its entry reaches the device with the entry.
        const receipt = this.state.receiptUpdate(held.key);
        if (receipt) add(held.device, receipt);
      } else {
        add(this.state.deviceOfEntry(held.key), held.update);
      }
    }
    for (const [device, updates] of perDevice) {
      const message = encodeSyncUpdate(mergeItemUpdates(updates));
      for (const peer of this.#byDevice.get(device)!) if (peer !== from) peer.send(message);
    }
  }

  /** R5 compaction: past the threshold, the room's rows become one merged row. */
  #maybeCompact(): void {
    if (this.#rowsSinceCompaction < this.#options.limits.compactAfterRows || this.#lastRowId === 0) return;
    try {
      this.#options.store.replace(this.name, this.state.fullUpdate(), this.#lastRowId);
      this.#rowsSinceCompaction = 1;
      this.#options.counters.compactions++;
    } catch (error) {
      // Compaction is an optimisation: the rows are still all there.
      this.#options.logger.warn('could not compact the room', { room: this.name, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The relay stopped: no idle timer may fire after it. */
  stop(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
