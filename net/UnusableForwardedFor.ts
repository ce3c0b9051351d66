/**
 * Requests from a trusted proxy whose X-Forwarded-For could not be used (missing, or not a list
 * of addresses): they are counted under the proxy's own address (R11a, R11b). Counted here, and
 * reported to the part once per kind: a misconfigured balancer would otherwise write a log line
 * per phone.
 */
import type { ClientAddress } from './clientAddress.ts';

export type UnusableKind = 'missing_header' | 'malformed_header';

export class UnusableForwardedFor {
  #count = 0;
  readonly #reported = new Set<UnusableKind>();
  readonly #report: (kind: UnusableKind, proxy: string) => void;

  constructor(report: (kind: UnusableKind, proxy: string) => void) {
    this.#report = report;
  }

  /** How many requests so far. */
  get count(): number {
    return this.#count;
  }

  /** Notes `client` and returns the address to count it under. */
  addressOf(client: ClientAddress): string {
    if (client.source === 'missing_header' || client.source === 'malformed_header') {
      this.#count++;
      if (!this.#reported.has(client.source)) {
        this.#reported.add(client.source);
        this.#report(client.source, client.address);
      }
    }
    return client.address;
  }
}
