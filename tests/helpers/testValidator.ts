/**
 * A validator identity for tests (SPEC.md R9–R11): an Ed25519 key pair that a test enrols in a
 * relay's trust store and uses to sign room grants and answer the relay's challenge, so raw
 * test peers can open rooms and read them whole as the real validator does.
 */
import { join } from 'node:path';
import { newSigningKeyPair, signDetached, toBase64Url, type SigningKeyPair } from '../../crypto/index.ts';
import { grantSigningBytes, type RoomGrant } from '../../protocol/index.ts';
import { SqliteTrustStore, TRUST_DB_FILE, type TrustStore } from '../../relay/index.ts';
import type { SignedGrant } from '../../validator/follow/startFollowing.ts';

export class TestValidator {
  readonly identity: SigningKeyPair;
  readonly name: string;

  constructor(name = `test-validator-${Math.random().toString(36).slice(2, 8)}`, identity = newSigningKeyPair()) {
    this.name = name;
    this.identity = identity;
  }

  get publicKey(): string {
    return toBase64Url(this.identity.publicKey);
  }

  /** Enrols this validator in a trust store directly (what `rollcall relay enroll` + `--enroll` achieve). */
  async enrolIn(trust: TrustStore): Promise<this> {
    await trust.enrolDirect(this.publicKey, this.name, Date.now());
    return this;
  }

  /** Enrols this validator in a relay data folder's relay-trust.db (before or while the relay runs). */
  async enrolInDataDir(dataDir: string): Promise<this> {
    const trust = new SqliteTrustStore(join(dataDir, TRUST_DB_FILE));
    try {
      await this.enrolIn(trust);
    } finally {
      await trust.close();
    }
    return this;
  }

  /** A signed grant for `room` (default: writable for an hour); `extra` overrides fields. */
  grant(room: string, extra: Partial<RoomGrant> = {}): SignedGrant {
    const now = Date.now();
    const grant: RoomGrant = { v: 1, room, validator: this.publicKey, writes_until_ms: now + 3600_000, issued_at_ms: now, ...extra };
    const grantJson = JSON.stringify(grant);
    return { grantJson, signature: signDetached(grantSigningBytes(grantJson), this.identity.secretKey) };
  }
}
