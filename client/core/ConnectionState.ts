/**
 * What is true about this device's way to the relay, in the three words a student needs:
 * `offline` (the device has no network), `unreachable` (it has one, but the relay does not
 * answer: the laptop is asleep, the relay is down, the Wi-Fi is a captive portal), `connected`.
 * `checking` until the first answer. Pure bookkeeping: the queue feeds it the device's network
 * flag, the result of each GET /time and each session socket's state.
 */
export type Reachability = 'offline' | 'checking' | 'unreachable' | 'connected';

export class ConnectionState {
  #hasNetwork = true;
  /** Result of the last GET /time; undefined before the first one. */
  #relayAnswered: boolean | undefined;
  readonly #connectedSockets = new Set<string>();
  readonly #listeners = new Set<(state: Reachability) => void>();
  #last: Reachability = 'checking';

  get state(): Reachability {
    if (!this.#hasNetwork) return 'offline';
    if (this.#connectedSockets.size > 0) return 'connected';
    if (this.#relayAnswered === undefined) return 'checking';
    return this.#relayAnswered ? 'connected' : 'unreachable';
  }

  onChange(listener: (state: Reachability) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  setNetwork(hasNetwork: boolean): void {
    this.#hasNetwork = hasNetwork;
    this.#emit();
  }

  relayAnswered(answered: boolean): void {
    this.#relayAnswered = answered;
    this.#emit();
  }

  /** A session socket opened (true) or closed (false). An open socket is an answer too. */
  socket(sessionId: string, isConnected: boolean): void {
    if (isConnected) {
      this.#connectedSockets.add(sessionId);
      this.#relayAnswered = true;
    } else {
      this.#connectedSockets.delete(sessionId);
    }
    this.#emit();
  }

  /** True when no socket is open: only a GET /time can tell whether the relay still answers. */
  get hasNoOpenSocket(): boolean {
    return this.#connectedSockets.size === 0;
  }

  #emit(): void {
    const now = this.state;
    if (now === this.#last) return;
    this.#last = now;
    for (const listener of this.#listeners) listener(now);
  }
}
