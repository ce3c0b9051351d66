/**
 * A RelayBus inside one process: several Relay instances in one test hear each other through a
 * shared hub, as relays on several machines do through Redis. Delivery is asynchronous (as over
 * a network) and best effort: while the hub is cut (`cut`, `restart`), messages are dropped and
 * `isConnected` is false; when it is back, every bus's `onReconnect` listeners run.
 */
import { randomUUID } from 'node:crypto';
import type { BusMessage, RelayBus } from './RelayBus.ts';

/** The medium the buses of one process share. */
export interface MemoryBusHub {
  /** A bus for one relay (a fresh id unless given). */
  open(relayId?: string): MemoryBus;
  /** Takes the medium away: nothing is delivered until `restore`. */
  cut(): void;
  /** Brings it back: each open bus's `onReconnect` listeners run. */
  restore(): void;
  /** `cut`, then `restore` on a later turn (the RelayBus contract's restart). */
  restart(): Promise<void>;
}

export function memoryBusHub(): MemoryBusHub {
  const buses = new Set<MemoryBus>();
  let isUp = true;
  const hub: MemoryBusHub & { deliver(from: MemoryBus, message: BusMessage): void; isUp(): boolean; forget(bus: MemoryBus): void } = {
    open: (relayId = randomUUID()) => {
      const bus = new MemoryBus(hub, relayId);
      buses.add(bus);
      return bus;
    },
    cut: () => {
      isUp = false;
    },
    restore: () => {
      if (isUp) return;
      isUp = true;
      for (const bus of buses) bus.reconnected();
    },
    restart: async () => {
      hub.cut();
      await new Promise((done) => setImmediate(done));
      hub.restore();
    },
    deliver: (from, message) => {
      if (!isUp) return;
      for (const bus of buses) if (bus !== from) bus.receive(message);
    },
    isUp: () => isUp,
    forget: (bus) => void buses.delete(bus),
  };
  return hub;
}

type Hub = ReturnType<typeof memoryBusHub> & { deliver(from: MemoryBus, message: BusMessage): void; isUp(): boolean; forget(bus: MemoryBus): void };

export class MemoryBus implements RelayBus {
  readonly relayId: string;
  readonly #hub: Hub;
  readonly #listeners = new Map<string, (message: BusMessage) => void>();
  readonly #reconnectListeners: (() => void)[] = [];
  #isClosed = false;

  /** Made by `memoryBusHub().open()`. */
  constructor(hub: MemoryBusHub, relayId: string) {
    this.#hub = hub as Hub;
    this.relayId = relayId;
  }

  publish(room: string, rowId: number, update: Uint8Array): void {
    if (this.#isClosed) return;
    this.#hub.deliver(this, { room, rowId, update: update.slice(), origin: this.relayId });
  }

  subscribe(room: string, onMessage: (message: BusMessage) => void): void {
    this.#listeners.set(room, onMessage);
  }

  unsubscribe(room: string): void {
    this.#listeners.delete(room);
  }

  onReconnect(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  get isConnected(): boolean {
    return !this.#isClosed && this.#hub.isUp();
  }

  /** The hub delivers a message published by another bus (on a later turn, as a network would). */
  receive(message: BusMessage): void {
    if (this.#isClosed || !this.#listeners.has(message.room)) return;
    setImmediate(() => {
      if (this.#hub.isUp()) this.#listeners.get(message.room)?.({ ...message, update: message.update.slice() });
    });
  }

  /** The hub is back. */
  reconnected(): void {
    if (this.#isClosed) return;
    for (const listener of this.#reconnectListeners) listener();
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    this.#listeners.clear();
    this.#hub.forget(this);
  }
}
