/**
 * One live room: its RoomState, its peers, and the I/O around admission. An update is
 * inspected, persisted (R5), committed to memory, then broadcast: whole to unfiltered peers,
 * per device to filtered ones. A refused update changes nothing (R6).
 *
 * The store is asynchronous (a shared database answers over the network), so a room judges its
 * updates one at a time through a queue: each is inspected against everything stored before it,
 * and the next waits until it is stored or refused. Updates that other relays stored (the bus,
 * and catching up from the store) go through the same queue, applied without being stored again.
 */
import * as Y from 'yjs';
import { CloseCode, ROOT_ENTRIES, ROOT_RECEIPTS } from '../protocol/index.ts';
import type { RelayLimits } from './limits.ts';
import type { Logger } from '../log/index.ts';
import { refuse, type AdmissionLimits, type Refusal, type Writer } from './inspectUpdate.ts';
import { EMPTY_UPDATE, mergeItemUpdates } from './itemUpdate.ts';
import type { RelayConnection } from './RelayConnection.ts';
import { RoomState, type HeldItem, type Prepared } from './RoomState.ts';
import { encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate } from './syncMessages.ts';
import type { ItemKey, StoredUpdate, UpdateStore } from './UpdateStore.ts';

/** Counters shared by the rooms of one relay (for stats()). */
export interface RelayCounters {
  admitted: number;
  /** Updates that brought nothing new (re-syncs). */
  duplicates: number;
  refused: number;
  compactions: number;
  /** Updates other relays admitted and stored, applied here (the bus, catching up). */
  fromOtherRelays: number;
  /**
   * Peers turned away because the store could not store or load (R5): a write, a room load or a
   * grant closed with 1013, an upgrade whose grant could not be read refused with 503. Each
   * peer retries; a count that grows means PostgreSQL (or the disk) is failing.
   */
  storeFailures: number;
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
  /** An update this relay admitted is stored under `rowId` (the bus tells the other relays). */
  onStored?(rowId: number, update: Uint8Array): void;
  /** Resolves once the room's bus subscription is live: the room is read from the store after it (R12). */
  subscribed?: Promise<void> | void;
}

/** The relay's trust, as a room needs it (implemented by RelayTrust). */
export interface RoomGuard {
  /**
   * Reads what `limitsFor` and `mayWrite` need for `room` from the trust store, when it is not
   * cached yet; undefined when it is (the common case costs no promise).
   */
  load?(room: string): Promise<unknown> | undefined;
  /** Admission limits of `room`: the relay's, lowered by the room's grant. */
  limitsFor(room: string): AdmissionLimits;
  /** Whether `from` may add new items to `room` now (R9 for phones, R10 for the validator). */
  mayWrite(room: string, from: RelayConnection): { ok: true } | Refusal;
}

/** Stored rows are trusted to be admitted once already; room caps must never drop them on load. */
const LOAD_LIMITS = { itemBytes: Number.POSITIVE_INFINITY, roomItems: Number.POSITIVE_INFINITY, roomBytes: Number.POSITIVE_INFINITY };

type Job =
  | { kind: 'admit'; update: Uint8Array; from: RelayConnection }
  | { kind: 'answer'; stateVector: Uint8Array; from: RelayConnection }
  | { kind: 'stored'; row: StoredUpdate }
  | { kind: 'catch-up' };

const NO_KEYS: readonly ItemKey[] = [];

function keysOf(fresh: HeldItem[]): ItemKey[] {
  return fresh.map((held) => ({ root: held.kind === 'entry' ? ROOT_ENTRIES : ROOT_RECEIPTS, key: held.key }));
}

function writerOf(from: RelayConnection): Writer {
  return from.device === undefined ? 'validator' : 'device';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class RelayRoom {
  readonly name: string;
  readonly state = new RoomState();
  /** Resolves once stored rows are loaded (R5: no sync step before that). */
  readonly ready: Promise<void>;
  readonly #options: RoomOptions;
  readonly #connections = new Set<RelayConnection>();
  readonly #byDevice = new Map<string, Set<RelayConnection>>();
  /** Every stored row of the room with an id up to this one is applied. */
  #lastRowId = 0;
  /** Rows above `#lastRowId` applied already (this relay's own, the bus's): catching up skips them. */
  readonly #appliedAbove = new Set<number>();
  #rowsSinceCompaction = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #jobs: Job[] = [];
  #isCatchUpQueued = false;
  #isRunning = false;
  #compaction: Promise<void> | undefined;
  #onSettled: (() => void)[] = [];
  #isStopped = false;

  constructor(options: RoomOptions) {
    this.name = options.name;
    this.#options = options;
    this.ready = this.#load();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The id up to which every stored row of the room is applied (tests). */
  get lastRowId(): number {
    return this.#lastRowId;
  }

  async #load(): Promise<void> {
    await this.#options.subscribed;
    const rows = await this.#options.store.load(this.name);
    for (const row of rows) this.#applyStored(row, false);
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
    if (this.#connections.size > 0 || this.#idleTimer || this.#isStopped) return;
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
    try {
      if (connection.device === undefined) return { ok: true, message: encodeSyncStep2(this.state.updateMissingFrom(Y.decodeStateVector(stateVector))) };
      const updates = this.state.deviceItemUpdates(connection.device);
      return { ok: true, message: encodeSyncStep2(Y.diffUpdate(updates.length === 0 ? EMPTY_UPDATE : mergeItemUpdates(updates), stateVector)) };
    } catch {
      return refuse('R2', 'sync step 1 carries no valid state vector');
    }
  }

  /**
   * Admission of an update from `from` (R1–R3, R5–R10), in its turn: it is stored, then
   * broadcast, or refused (the peer is told why and closed). A re-sync that brings nothing new
   * is admitted even where writing is over (R9): a phone re-sends its entries on every connect
   * and must still receive its receipt.
   */
  admit(update: Uint8Array, from: RelayConnection): void {
    this.#enqueue({ kind: 'admit', update, from });
  }

  /**
   * A peer's sync step 1, answered in its turn: after every update it sent before (a writer that
   * asks for the room behind its updates learns they were stored or refused).
   */
  answerSyncStep1(stateVector: Uint8Array, from: RelayConnection): void {
    this.#enqueue({ kind: 'answer', stateVector, from });
  }

  /** An update another relay stored under `rowId` (the bus): applied and broadcast, not stored again. */
  applyStored(rowId: number, update: Uint8Array): void {
    this.#enqueue({ kind: 'stored', row: { id: rowId, update } });
  }

  /** Reads what other relays stored since the last row applied (the bus was down, or dropped a message). */
  catchUp(): void {
    if (this.#isCatchUpQueued) return;
    this.#isCatchUpQueued = true;
    this.#enqueue({ kind: 'catch-up' });
  }

  /** Another relay stored the room's rows up to `rowId` (a head, R12a): read those this relay has not applied. */
  catchUpTo(rowId: number): void {
    if (rowId > this.#lastRowId) this.catchUp();
  }

  /** Resolves when nothing is queued, being stored or compacted (a graceful stop waits for it). */
  settled(): Promise<void> {
    if (!this.#isRunning && !this.#compaction) return Promise.resolve();
    return new Promise((done) => this.#onSettled.push(done));
  }

  #enqueue(job: Job): void {
    this.#jobs.push(job);
    if (!this.#isRunning) void this.#run();
  }

  async #run(): Promise<void> {
    this.#isRunning = true;
    try {
      await this.ready;
    } catch {
      // The room could not load (the relay logs it and drops the room): its peers re-send.
      this.#jobs.length = 0;
      this.#isCatchUpQueued = false;
      this.#isRunning = false;
      this.#settle();
      return;
    }
    let job: Job | undefined;
    while ((job = this.#jobs.shift())) {
      try {
        if (job.kind === 'admit') await this.#admit(job.update, job.from);
        else if (job.kind === 'answer') this.#answer(job.stateVector, job.from);
        else if (job.kind === 'stored') this.#applyStored(job.row, true);
        else {
          this.#isCatchUpQueued = false;
          await this.#catchUp();
        }
      } catch (error) {
        if (job.kind === 'catch-up') this.#options.logger.warn('could not catch up with the store; will retry', { room: this.name, error: message(error) });
        else {
          // A bug, not the peer's fault: logged, and the next update is judged as usual.
          this.#options.logger.error('could not judge an update', { room: this.name, error: message(error) });
          if (job.kind === 'admit' || job.kind === 'answer') job.from.close(1011, 'internal error');
        }
      }
    }
    this.#isRunning = false;
    this.#settle();
  }

  #settle(): void {
    if (this.#isRunning || this.#compaction) return;
    for (const done of this.#onSettled.splice(0)) done();
  }

  async #admit(update: Uint8Array, from: RelayConnection): Promise<void> {
    // A refused peer's later messages are not judged (R6); one that left re-sends on reconnect.
    if (from.isClosed) return;
    const { counters, guard } = this.#options;
    try {
      const loading = guard.load?.(this.name);
      if (loading) await loading;
    } catch (error) {
      this.#storeFailed(from, 'could not read the room’s grant; refusing the update', error);
      return;
    }
    const prepared = this.#prepare(update, from);
    if (!prepared) return;
    let appended;
    try {
      const startedAt = performance.now();
      const { store } = this.#options;
      // A store of one relay (SQLite) does not record keys: its room's memory already holds R7.
      appended = await store.append(this.name, prepared.toStore, store.holdsKeys ? keysOf(prepared.fresh) : NO_KEYS);
      this.#options.observeAppendSeconds((performance.now() - startedAt) / 1000);
      if (!appended.ok) {
        // Another relay stored one of these keys a moment ago (or an earlier attempt of ours whose
        // answer was lost): learn what the store holds, then judge the update again.
        await this.#catchUp();
        const again = this.#prepare(update, from);
        if (again) from.refuse(refuse('R7', `the room already holds ${appended.conflict.root === ROOT_ENTRIES ? 'an entry under this nonce' : 'a receipt for this entry'}`));
        return;
      }
    } catch (error) {
      this.#storeFailed(from, 'could not store an update; refusing it', error);
      return;
    }
    // Stored (R5): from here on it is admitted, even if its sender has gone meanwhile.
    this.state.commit(prepared.fresh, prepared.toStore.length);
    counters.admitted++;
    this.#rowsSinceCompaction++;
    this.#markApplied(appended.id, appended.previousId);
    // The bus first: Redis's reply then tends to arrive while this relay is still writing to its
    // peers, and is read in the same event-loop turn instead of waking the relay again.
    try {
      this.#options.onStored?.(appended.id, prepared.toStore);
    } catch (error) {
      // The bus is best effort (R12): the other relays catch up from the store.
      this.#options.logger.warn('could not publish an admitted update on the bus', { room: this.name, error: message(error) });
    }
    this.#broadcast(prepared.toStore, prepared.fresh, from);
    this.#maybeCompact();
  }

  #answer(stateVector: Uint8Array, from: RelayConnection): void {
    if (from.isClosed) return;
    const reply = this.syncStep2For(from, stateVector);
    if (reply.ok) from.send(reply.message);
    else from.refuse(reply);
  }

  /** Inspects an update against the room: what to store, or nothing (refused, the peer told; or nothing new). */
  #prepare(update: Uint8Array, from: RelayConnection): (Prepared & { ok: true; toStore: Uint8Array }) | undefined {
    const { counters, guard } = this.#options;
    const prepared = this.state.prepare(update, guard.limitsFor(this.name), writerOf(from));
    if (!prepared.ok) {
      from.refuse(prepared);
      return undefined;
    }
    if (prepared.toStore === null) {
      counters.duplicates++;
      return undefined;
    }
    const access = guard.mayWrite(this.name, from);
    if (!access.ok) {
      from.refuse(access);
      return undefined;
    }
    return prepared as Prepared & { ok: true; toStore: Uint8Array };
  }

  /** Not persisted, so not admitted (R5): the peer keeps the update and re-sends it on reconnect. */
  #storeFailed(from: RelayConnection, what: string, error: unknown): void {
    this.#options.logger.error(what, { room: this.name, error: message(error) });
    this.#options.counters.storeFailures++;
    from.close(CloseCode.StoreUnavailable, 'the relay could not store this update; reconnect later');
  }

  /**
   * A row stored by this relay (`previousId`: the room's row before it) or another one. The
   * room's rows are contiguous up to `#lastRowId`; a row whose predecessor is unknown waits
   * in `#appliedAbove` until catching up fills the gap.
   */
  #markApplied(id: number, previousId?: number): void {
    if (id <= this.#lastRowId) return;
    if (previousId === this.#lastRowId && this.#appliedAbove.size === 0) this.#lastRowId = id;
    else {
      this.#appliedAbove.add(id);
      // Our own row did not follow the last one we know: another relay stored rows between.
      if (previousId !== undefined) this.catchUp();
    }
  }

  /**
   * Applies a row already in the store (loading, the bus, catching up); broadcast when live.
   * A row read by catching up is applied even under an id the bus already delivered: another
   * relay may have compacted rows this relay never got into one row under that id, and only
   * what is new in it comes out of `prepare` (the rest is a duplicate).
   */
  #applyStored(row: StoredUpdate, isLive: boolean, isCatchUp = false): void {
    if (row.id <= this.#lastRowId && isLive) return;
    if (!isCatchUp && this.#appliedAbove.has(row.id)) return;
    const prepared = this.state.prepare(row.update, LOAD_LIMITS, 'stored');
    if (!prepared.ok) {
      this.#options.logger.error('a stored update of this room no longer passes admission; skipped', { room: this.name, row: row.id, rule: prepared.rule, reason: prepared.reason });
    } else if (prepared.toStore !== null) {
      this.state.commit(prepared.fresh, isLive ? prepared.toStore.length : row.update.length);
      if (isLive) {
        this.#options.counters.fromOtherRelays++;
        this.#rowsSinceCompaction++;
        this.#broadcast(prepared.toStore, prepared.fresh, undefined);
      }
    }
    if (isLive) this.#markApplied(row.id);
    else this.#lastRowId = row.id;
  }

  async #catchUp(): Promise<void> {
    const rows = await this.#options.store.loadSince(this.name, this.#lastRowId);
    for (const row of rows) {
      this.#applyStored(row, true, true);
      // Rows come in id order and every one up to here is now applied.
      this.#lastRowId = row.id;
    }
    for (const id of this.#appliedAbove) if (id <= this.#lastRowId) this.#appliedAbove.delete(id);
    this.#maybeCompact();
  }

  #broadcast(stored: Uint8Array, fresh: HeldItem[], from: RelayConnection | undefined): void {
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

  /**
   * R5 compaction: past the threshold, the room's rows become one merged row. Only up to a row
   * below which every row is applied (a merge must not drop another relay's row it never saw);
   * in the background: admissions go on meanwhile (their rows get later ids).
   */
  #maybeCompact(): void {
    if (this.#rowsSinceCompaction < this.#options.limits.compactAfterRows || this.#lastRowId === 0) return;
    if (this.#appliedAbove.size > 0 || this.#compaction || this.#isStopped) return;
    const upToId = this.#lastRowId;
    const merged = this.state.fullUpdate();
    this.#rowsSinceCompaction = 1;
    this.#compaction = this.#options.store
      .replace(this.name, merged, upToId)
      .then(
        () => {
          this.#options.counters.compactions++;
        },
        (error: unknown) => {
          // Compaction is an optimisation: the rows are still all there.
          this.#options.logger.warn('could not compact the room', { room: this.name, error: message(error) });
        },
      )
      .finally(() => {
        this.#compaction = undefined;
        this.#settle();
      });
  }

  /** The relay stopped: no idle timer may fire after it. */
  stop(): void {
    this.#isStopped = true;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
