/**
 * What one room holds, in memory, without a Y.Doc: every admitted item as its own update,
 * indexed for admission (keys, clocks, client facts) and for filtered sync (entries per
 * device). Pure: no I/O, no timers. RelayRoom persists and broadcasts around it.
 *
 * Why no Y.Doc: admitted items never reference each other, so the room's state is exactly the
 * set of its items. Decoding an update costs a few microseconds; applying it to a Y.Doc
 * costs tens. The full state for an unfiltered peer is a merge of the items, cached.
 */
import * as Y from 'yjs';
import { decodeUpdateSafely, inspectUpdate, type AdmissionLimits, type AdmittedItem, type ClientFacts, type Refusal, type RoomFacts, type Writer } from './inspectUpdate.ts';
import { EMPTY_UPDATE, encodeItemUpdate, mergeItemUpdates } from './itemUpdate.ts';

export interface StoredEntry {
  device: string;
  client: number;
  clock: number;
  update: Uint8Array;
}

/** An item the room admitted, with its own update bytes. */
export interface HeldItem extends AdmittedItem {
  update: Uint8Array;
}

/** The outcome of `prepare`: refused, or the new items and the bytes to persist (null: nothing new). */
export type Prepared = Refusal | { ok: true; fresh: HeldItem[]; toStore: Uint8Array | null; duplicates: number };

export class RoomState implements RoomFacts {
  readonly #clocks = new Map<number, number>();
  readonly #clientFacts = new Map<number, ClientFacts>();
  readonly #entries = new Map<string, StoredEntry>();
  readonly #receipts = new Map<string, { client: number; update: Uint8Array }>();
  readonly #entriesByDevice = new Map<string, string[]>();
  #byteCount = 0;
  /** Merge of every item (cached for unfiltered sync until the next commit). */
  #merged: Uint8Array | undefined;

  clockOf(client: number): number {
    return this.#clocks.get(client) ?? 0;
  }
  hasEntry(nonce: string): boolean {
    return this.#entries.has(nonce);
  }
  hasReceipt(nonce: string): boolean {
    return this.#receipts.has(nonce);
  }
  clientFacts(client: number): ClientFacts | undefined {
    return this.#clientFacts.get(client);
  }
  get itemCount(): number {
    return this.#entries.size + this.#receipts.size;
  }
  get entryCount(): number {
    return this.#entries.size;
  }
  get receiptCount(): number {
    return this.#receipts.size;
  }
  get byteCount(): number {
    return this.#byteCount;
  }

  /**
   * Decodes and inspects an update without changing the room. On success `toStore` is what to
   * persist: the update itself when every struct in it is new, else only its new items (so a
   * forged "duplicate" never reaches storage, where a later merge could prefer it).
   */
  prepare(update: Uint8Array, limits: AdmissionLimits, writer: Writer): Prepared {
    const decoding = decodeUpdateSafely(update);
    if (!decoding.ok) return decoding;
    const inspection = inspectUpdate(decoding.decoded, this, limits, update.length, writer);
    if (!inspection.ok) return inspection;
    const fresh = inspection.fresh.map((admitted) => ({ ...admitted, update: encodeItemUpdate(admitted.item) }));
    let toStore: Uint8Array | null = null;
    if (fresh.length > 0) {
      const isAllFresh = inspection.duplicates === 0 && !inspection.hasSkips;
      toStore = isAllFresh ? update : mergeItemUpdates(fresh.map((held) => held.update));
    }
    return { ok: true, fresh, toStore, duplicates: inspection.duplicates };
  }

  /** Adds prepared items (after they were persisted). */
  commit(fresh: HeldItem[], storedBytes: number): void {
    for (const held of fresh) {
      const { client, clock } = held.item.id;
      this.#clocks.set(client, clock + 1);
      if (held.kind === 'entry') {
        const device = held.device!;
        this.#clientFacts.set(client, { kind: 'entry', device });
        this.#entries.set(held.key, { device, client, clock, update: held.update });
        const nonces = this.#entriesByDevice.get(device);
        if (nonces) nonces.push(held.key);
        else this.#entriesByDevice.set(device, [held.key]);
      } else {
        this.#clientFacts.set(client, { kind: 'receipt' });
        this.#receipts.set(held.key, { client, update: held.update });
      }
    }
    if (fresh.length > 0) this.#merged = undefined;
    this.#byteCount += storedBytes;
  }

  /** The device whose entry `nonce` is (to route a receipt), if the room holds that entry. */
  deviceOfEntry(nonce: string): string | undefined {
    return this.#entries.get(nonce)?.device;
  }

  /** The receipt update for an entry, if held. */
  receiptUpdate(nonce: string): Uint8Array | undefined {
    return this.#receipts.get(nonce)?.update;
  }

  /** Every item merged into one update (what an unfiltered peer needs), cached between changes. */
  fullUpdate(): Uint8Array {
    if (!this.#merged) {
      const updates = [...this.#entries.values(), ...this.#receipts.values()].map((held) => held.update);
      this.#merged = updates.length === 0 ? EMPTY_UPDATE : mergeItemUpdates(updates);
    }
    return this.#merged;
  }

  /**
   * What a peer that holds `known` (a decoded state vector) lacks, as one update: the items at
   * or past its clock for their client. Equal to `Y.diffUpdate(fullUpdate(), sv)` (every item is
   * one clock long and nothing is ever deleted), without merging the whole room first: an
   * unfiltered peer that keeps a copy (a y-websocket client, an auditor) holds nearly all of it.
   * Rollcall's validator keeps none and asks with an empty state vector: it gets the cached
   * `fullUpdate` (docs/performance.md, "2026-12-07, afternoon").
   */
  updateMissingFrom(known: Map<number, number>): Uint8Array {
    if (known.size === 0) return this.fullUpdate();
    const missing: Uint8Array[] = [];
    for (const { client, clock, update } of this.#entries.values()) if (clock >= (known.get(client) ?? 0)) missing.push(update);
    for (const { client, update } of this.#receipts.values()) if ((known.get(client) ?? 0) === 0) missing.push(update);
    return missing.length === 0 ? EMPTY_UPDATE : mergeItemUpdates(missing);
  }

  fullStateVector(): Uint8Array {
    return Y.encodeStateVector(this.#clocks);
  }

  /** Item updates a `?device=` connection may see: that device's entries and their receipts. */
  deviceItemUpdates(device: string): Uint8Array[] {
    const updates: Uint8Array[] = [];
    for (const nonce of this.#entriesByDevice.get(device) ?? []) {
      updates.push(this.#entries.get(nonce)!.update);
      const receipt = this.#receipts.get(nonce);
      if (receipt) updates.push(receipt.update);
    }
    return updates;
  }

  /** The state vector of that device's share of the room: only the clients it will receive. */
  deviceStateVector(device: string): Uint8Array {
    const clocks = new Map<number, number>();
    for (const nonce of this.#entriesByDevice.get(device) ?? []) {
      const { client } = this.#entries.get(nonce)!;
      clocks.set(client, this.clockOf(client));
      const receipt = this.#receipts.get(nonce);
      if (receipt) clocks.set(receipt.client, 1);
    }
    return Y.encodeStateVector(clocks);
  }
}
