/**
 * How relays on several machines hear each other's admitted updates (issue 10). Narrow on purpose,
 * like UpdateStore: a relay publishes every update it admitted (after it is durable in the shared
 * store, R5) and subscribes only to rooms it has clients for. Delivery is best effort: a message
 * lost while the bus was down is recovered from the store (`onReconnect` → catch up every
 * subscribed room with `UpdateStore.loadSince`). One contract suite runs against every
 * implementation (memory for in-process tests, Redis for a campus).
 */
export interface BusMessage {
  room: string;
  /** The store's row id of the update (ids increase per store; lets a relay skip what it has). */
  rowId: number;
  /**
   * The update as admitted. Empty: a head (SPEC.md R12a): the publisher stored the room's rows up
   * to `rowId`, some without publishing them, since it was the only relay holding the room; the
   * listener reads what it lacks from the store.
   */
  update: Uint8Array;
  /** The publishing relay's `relayId`: a relay ignores its own messages. */
  origin: string;
}

export interface RelayBus {
  /** Unique per relay process. */
  readonly relayId: string;
  /**
   * Sends an admitted update to the other relays subscribed to `room`. Never throws; never waits.
   * A bus may leave it unsent while no other relay is subscribed (R12a), and then answers the
   * next relay that subscribes with a head (an empty update under the last row id stored).
   */
  publish(room: string, rowId: number, update: Uint8Array): void;
  /**
   * Starts delivering `room`'s messages from other relays to `onMessage` (one listener per room).
   * May return a promise that resolves (never rejects) once the subscription is live: what is
   * published before that moment may not arrive, so a relay reads the room from the store
   * (`load`, or `loadSince` what it holds) after it resolves.
   */
  subscribe(room: string, onMessage: (message: BusMessage) => void): void | Promise<void>;
  unsubscribe(room: string): void;
  /** Called after the bus was disconnected and is back, with every subscription live again: messages may have been missed. */
  onReconnect(listener: () => void): void;
  /** Updates `publish` left unsent because no other relay held their room (R12a); absent: it never does. */
  readonly unpublished?: number;
  /** False while the bus cannot deliver (the relay is then not ready, /readyz). */
  readonly isConnected: boolean;
  close(): Promise<void>;
}
