/**
 * What a relay trusts (SPEC.md "Who may write what", R9–R11): the validators its operator
 * enrolled, the one-time codes that enrol them, and the grants that keep rooms open. Narrow on
 * purpose, like UpdateStore: one contract suite (tests/relay/trustStore.test.ts) runs against
 * every implementation. Asynchronous, because a shared database (PostgreSQL, several relays)
 * answers over the network; RelayTrust caches what the hot paths read.
 */

/** A validator the operator enrolled: trusted while not revoked. */
export interface EnrolledValidator {
  /** Ed25519 public key, base64url. */
  publicKey: string;
  /** The operator's name for it (e.g. `prof-lovelace-laptop`); unique among active validators. */
  name: string;
  enrolledAtMs: number;
  revokedAtMs?: number;
}

/** A room's current grant, as the validator signed it. */
export interface StoredGrant {
  room: string;
  /** The signer (Ed25519 public key, base64url). */
  validator: string;
  /** The grant's JSON text exactly as signed, and its detached signature (base64url). */
  grantJson: string;
  signature: string;
  writesUntilMs: number;
  issuedAtMs: number;
  /** Bytes the grant reserves against its validator's quota (R11). */
  reservedBytes: number;
}

export type Redemption =
  | { ok: true; validator: EnrolledValidator; replaced?: string }
  | { ok: false; reason: 'unknown_code' | 'used_code' | 'expired_code' };

export interface TrustStore {
  /** Stores a new one-time enrolment code (only its hash) for a validator to be called `name`. */
  addEnrolmentCode(codeHash: string, name: string, createdAtMs: number, expiresAtMs: number): Promise<void>;
  /**
   * Redeems a code for `publicKey`, atomically: the code must exist, be unused and unexpired.
   * The validator is enrolled under the code's name; an active validator of that name with
   * another key is revoked (a professor's new laptop replaces the old one: `replaced`).
   */
  redeemEnrolmentCode(codeHash: string, publicKey: string, nowMs: number): Promise<Redemption>;
  /** Enrols without a code (`rollcall start` trusts its own validator). Idempotent per key. */
  enrolDirect(publicKey: string, name: string, nowMs: number): Promise<EnrolledValidator>;
  /** Revokes every active validator called `name`; returns how many. */
  revoke(name: string, nowMs: number): Promise<number>;
  validator(publicKey: string): Promise<EnrolledValidator | undefined>;
  validators(): Promise<EnrolledValidator[]>;
  grant(room: string): Promise<StoredGrant | undefined>;
  /** The grants of those of `rooms` that have one, in one read (the relay refreshing its cache). */
  grants(rooms: readonly string[]): Promise<Map<string, StoredGrant>>;
  /** Inserts or replaces the room's grant. */
  putGrant(grant: StoredGrant): Promise<void>;
  /** Grants of `validator` that still let phones write at `nowMs` (its open rooms, R11). */
  openGrants(validator: string, nowMs: number): Promise<StoredGrant[]>;
  /**
   * A number that changes when another process changed this store (the operator's
   * `rollcall relay revoke` while the relay runs, another relay's grant); it may also change
   * after this store's own writes. The relay re-reads validators and its cached grants then.
   */
  externalVersion(): Promise<number>;
  /** False once closed: the relay is not ready without its trust (/readyz). */
  readonly isOpen: boolean;
  close(): Promise<void>;
}

/** In memory: tests, and a relay that need not survive a restart. */
export class MemoryTrustStore implements TrustStore {
  readonly #codes = new Map<string, { name: string; expiresAtMs: number; usedAtMs?: number }>();
  readonly #validators = new Map<string, EnrolledValidator>();
  readonly #grants = new Map<string, StoredGrant>();

  async addEnrolmentCode(codeHash: string, name: string, _createdAtMs: number, expiresAtMs: number): Promise<void> {
    this.#codes.set(codeHash, { name, expiresAtMs });
  }

  async redeemEnrolmentCode(codeHash: string, publicKey: string, nowMs: number): Promise<Redemption> {
    const code = this.#codes.get(codeHash);
    if (!code) return { ok: false, reason: 'unknown_code' };
    if (code.usedAtMs !== undefined) return { ok: false, reason: 'used_code' };
    if (code.expiresAtMs < nowMs) return { ok: false, reason: 'expired_code' };
    code.usedAtMs = nowMs;
    let replaced: string | undefined;
    for (const other of this.#validators.values()) {
      if (other.name === code.name && other.publicKey !== publicKey && other.revokedAtMs === undefined) {
        other.revokedAtMs = nowMs;
        replaced = other.publicKey;
      }
    }
    const validator: EnrolledValidator = { publicKey, name: code.name, enrolledAtMs: nowMs };
    this.#validators.set(publicKey, validator);
    return { ok: true, validator: { ...validator }, ...(replaced ? { replaced } : {}) };
  }

  async enrolDirect(publicKey: string, name: string, nowMs: number): Promise<EnrolledValidator> {
    const existing = this.#validators.get(publicKey);
    if (existing && existing.revokedAtMs === undefined) return { ...existing };
    const validator: EnrolledValidator = { publicKey, name, enrolledAtMs: nowMs };
    this.#validators.set(publicKey, validator);
    return { ...validator };
  }

  async revoke(name: string, nowMs: number): Promise<number> {
    let count = 0;
    for (const validator of this.#validators.values()) {
      if (validator.name === name && validator.revokedAtMs === undefined) {
        validator.revokedAtMs = nowMs;
        count++;
      }
    }
    return count;
  }

  async validator(publicKey: string): Promise<EnrolledValidator | undefined> {
    const validator = this.#validators.get(publicKey);
    return validator ? { ...validator } : undefined;
  }

  async validators(): Promise<EnrolledValidator[]> {
    return [...this.#validators.values()].map((validator) => ({ ...validator }));
  }

  async grant(room: string): Promise<StoredGrant | undefined> {
    const grant = this.#grants.get(room);
    return grant ? { ...grant } : undefined;
  }

  async grants(rooms: readonly string[]): Promise<Map<string, StoredGrant>> {
    return new Map(rooms.flatMap((room) => (this.#grants.has(room) ? [[room, { ...this.#grants.get(room)! }] as const] : [])));
  }

  async putGrant(grant: StoredGrant): Promise<void> {
    this.#grants.set(grant.room, { ...grant });
  }

  async openGrants(validator: string, nowMs: number): Promise<StoredGrant[]> {
    return [...this.#grants.values()].filter((grant) => grant.validator === validator && grant.writesUntilMs >= nowMs).map((grant) => ({ ...grant }));
  }

  async externalVersion(): Promise<number> {
    return 0;
  }

  isOpen = true;

  async close(): Promise<void> {
    this.isOpen = false;
  }
}
