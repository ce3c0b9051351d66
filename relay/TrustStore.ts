/**
 * What a relay trusts (SPEC.md "Who may write what", R9–R11): the validators its operator
 * enrolled, the one-time codes that enrol them, and the grants that keep rooms open. Narrow on
 * purpose, like UpdateStore: one contract suite (tests/relay/trustStore.test.ts) runs against
 * every implementation. Synchronous: every call is a small indexed read or write.
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
  addEnrolmentCode(codeHash: string, name: string, createdAtMs: number, expiresAtMs: number): void;
  /**
   * Redeems a code for `publicKey`, atomically: the code must exist, be unused and unexpired.
   * The validator is enrolled under the code's name; an active validator of that name with
   * another key is revoked (a professor's new laptop replaces the old one: `replaced`).
   */
  redeemEnrolmentCode(codeHash: string, publicKey: string, nowMs: number): Redemption;
  /** Enrols without a code (`rollcall start` trusts its own validator). Idempotent per key. */
  enrolDirect(publicKey: string, name: string, nowMs: number): EnrolledValidator;
  /** Revokes every active validator called `name`; returns how many. */
  revoke(name: string, nowMs: number): number;
  validator(publicKey: string): EnrolledValidator | undefined;
  validators(): EnrolledValidator[];
  grant(room: string): StoredGrant | undefined;
  /** Inserts or replaces the room's grant. */
  putGrant(grant: StoredGrant): void;
  /** Grants of `validator` that still let phones write at `nowMs` (its open rooms, R11). */
  openGrants(validator: string, nowMs: number): StoredGrant[];
  /**
   * A number that changes when another process changed this store (the operator's
   * `rollcall relay revoke` while the relay runs); the relay re-reads validators then.
   */
  externalVersion(): number;
  /** False once closed: the relay is not ready without its trust (/readyz). */
  readonly isOpen: boolean;
  close(): void;
}

/** In memory: tests, and a relay that need not survive a restart. */
export class MemoryTrustStore implements TrustStore {
  readonly #codes = new Map<string, { name: string; expiresAtMs: number; usedAtMs?: number }>();
  readonly #validators = new Map<string, EnrolledValidator>();
  readonly #grants = new Map<string, StoredGrant>();

  addEnrolmentCode(codeHash: string, name: string, _createdAtMs: number, expiresAtMs: number): void {
    this.#codes.set(codeHash, { name, expiresAtMs });
  }

  redeemEnrolmentCode(codeHash: string, publicKey: string, nowMs: number): Redemption {
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

  enrolDirect(publicKey: string, name: string, nowMs: number): EnrolledValidator {
    const existing = this.#validators.get(publicKey);
    if (existing && existing.revokedAtMs === undefined) return { ...existing };
    const validator: EnrolledValidator = { publicKey, name, enrolledAtMs: nowMs };
    this.#validators.set(publicKey, validator);
    return { ...validator };
  }

  revoke(name: string, nowMs: number): number {
    let count = 0;
    for (const validator of this.#validators.values()) {
      if (validator.name === name && validator.revokedAtMs === undefined) {
        validator.revokedAtMs = nowMs;
        count++;
      }
    }
    return count;
  }

  validator(publicKey: string): EnrolledValidator | undefined {
    const validator = this.#validators.get(publicKey);
    return validator ? { ...validator } : undefined;
  }

  validators(): EnrolledValidator[] {
    return [...this.#validators.values()].map((validator) => ({ ...validator }));
  }

  grant(room: string): StoredGrant | undefined {
    const grant = this.#grants.get(room);
    return grant ? { ...grant } : undefined;
  }

  putGrant(grant: StoredGrant): void {
    this.#grants.set(grant.room, { ...grant });
  }

  openGrants(validator: string, nowMs: number): StoredGrant[] {
    return [...this.#grants.values()].filter((grant) => grant.validator === validator && grant.writesUntilMs >= nowMs).map((grant) => ({ ...grant }));
  }

  externalVersion(): number {
    return 0;
  }

  isOpen = true;

  close(): void {
    this.isOpen = false;
  }
}
