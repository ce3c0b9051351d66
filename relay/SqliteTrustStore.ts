/**
 * The relay's trust in SQLite: `<data>/relay-trust.db`, a file of its own so that
 * `PRAGMA data_version` changes only when another process (the operator's `rollcall relay
 * enroll` / `revoke`) writes it, not on every admitted update. WAL + synchronous FULL: these
 * are rare writes, and a revocation or a grant must survive a power cut. Only hashes of
 * enrolment codes are stored.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import type { EnrolledValidator, Redemption, StoredGrant, TrustStore } from './TrustStore.ts';

export const TRUST_DB_FILE = 'relay-trust.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS validators (
  public_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  enrolled_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS validators_by_name ON validators (name);
CREATE TABLE IF NOT EXISTS enrolment_codes (
  code_hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  used_at_ms INTEGER,
  used_by TEXT
);
CREATE TABLE IF NOT EXISTS room_grants (
  room TEXT PRIMARY KEY,
  validator TEXT NOT NULL,
  grant_json TEXT NOT NULL,
  signature TEXT NOT NULL,
  writes_until_ms INTEGER NOT NULL,
  issued_at_ms INTEGER NOT NULL,
  reserved_bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS room_grants_by_validator ON room_grants (validator, writes_until_ms);
`;

const SQL = {
  insertCode: 'INSERT INTO enrolment_codes (code_hash, name, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)',
  getCode: 'SELECT name, expires_at_ms, used_at_ms FROM enrolment_codes WHERE code_hash = ?',
  useCode: 'UPDATE enrolment_codes SET used_at_ms = ?, used_by = ? WHERE code_hash = ? AND used_at_ms IS NULL',
  activeByName: 'SELECT public_key FROM validators WHERE name = ? AND revoked_at_ms IS NULL',
  revokeKey: 'UPDATE validators SET revoked_at_ms = ? WHERE public_key = ? AND revoked_at_ms IS NULL',
  revokeName: 'UPDATE validators SET revoked_at_ms = ? WHERE name = ? AND revoked_at_ms IS NULL',
  upsertValidator: `INSERT INTO validators (public_key, name, enrolled_at_ms, revoked_at_ms) VALUES (?, ?, ?, NULL)
    ON CONFLICT (public_key) DO UPDATE SET name = excluded.name, enrolled_at_ms = excluded.enrolled_at_ms, revoked_at_ms = NULL`,
  getValidator: 'SELECT * FROM validators WHERE public_key = ?',
  listValidators: 'SELECT * FROM validators ORDER BY enrolled_at_ms, public_key',
  getGrant: 'SELECT * FROM room_grants WHERE room = ?',
  putGrant: `INSERT INTO room_grants (room, validator, grant_json, signature, writes_until_ms, issued_at_ms, reserved_bytes)
    VALUES (@room, @validator, @grant_json, @signature, @writes_until_ms, @issued_at_ms, @reserved_bytes)
    ON CONFLICT (room) DO UPDATE SET validator = excluded.validator, grant_json = excluded.grant_json, signature = excluded.signature,
      writes_until_ms = excluded.writes_until_ms, issued_at_ms = excluded.issued_at_ms, reserved_bytes = excluded.reserved_bytes`,
  openGrants: 'SELECT * FROM room_grants WHERE validator = ? AND writes_until_ms >= ?',
} as const;

interface ValidatorRow {
  public_key: string;
  name: string;
  enrolled_at_ms: number;
  revoked_at_ms: number | null;
}

interface GrantRow {
  room: string;
  validator: string;
  grant_json: string;
  signature: string;
  writes_until_ms: number;
  issued_at_ms: number;
  reserved_bytes: number;
}

function toValidator(row: ValidatorRow): EnrolledValidator {
  return { publicKey: row.public_key, name: row.name, enrolledAtMs: row.enrolled_at_ms, ...(row.revoked_at_ms !== null ? { revokedAtMs: row.revoked_at_ms } : {}) };
}

function toGrant(row: GrantRow): StoredGrant {
  return {
    room: row.room,
    validator: row.validator,
    grantJson: row.grant_json,
    signature: row.signature,
    writesUntilMs: row.writes_until_ms,
    issuedAtMs: row.issued_at_ms,
    reservedBytes: row.reserved_bytes,
  };
}

type Statements = { [K in keyof typeof SQL]: Database.Statement };

export class SqliteTrustStore implements TrustStore {
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #redeem: (codeHash: string, publicKey: string, nowMs: number) => Redemption;

  constructor(path: string) {
    this.#db = new Database(path);
    // Holds the list of trusted validators: owner-only, like the validator's own database.
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    this.#sql = Object.fromEntries(Object.entries(SQL).map(([name, text]) => [name, this.#db.prepare(text)])) as Statements;
    this.#redeem = this.#db.transaction((codeHash: string, publicKey: string, nowMs: number): Redemption => {
      const code = this.#sql.getCode.get(codeHash) as { name: string; expires_at_ms: number; used_at_ms: number | null } | undefined;
      if (!code) return { ok: false, reason: 'unknown_code' };
      if (code.used_at_ms !== null) return { ok: false, reason: 'used_code' };
      if (code.expires_at_ms < nowMs) return { ok: false, reason: 'expired_code' };
      this.#sql.useCode.run(nowMs, publicKey, codeHash);
      let replaced: string | undefined;
      for (const row of this.#sql.activeByName.all(code.name) as { public_key: string }[]) {
        if (row.public_key === publicKey) continue;
        this.#sql.revokeKey.run(nowMs, row.public_key);
        replaced = row.public_key;
      }
      this.#sql.upsertValidator.run(publicKey, code.name, nowMs);
      return { ok: true, validator: { publicKey, name: code.name, enrolledAtMs: nowMs }, ...(replaced ? { replaced } : {}) };
    });
  }

  async addEnrolmentCode(codeHash: string, name: string, createdAtMs: number, expiresAtMs: number): Promise<void> {
    this.#sql.insertCode.run(codeHash, name, createdAtMs, expiresAtMs);
  }

  async redeemEnrolmentCode(codeHash: string, publicKey: string, nowMs: number): Promise<Redemption> {
    return this.#redeem(codeHash, publicKey, nowMs);
  }

  async enrolDirect(publicKey: string, name: string, nowMs: number): Promise<EnrolledValidator> {
    const existing = await this.validator(publicKey);
    if (existing && existing.revokedAtMs === undefined) return existing;
    this.#sql.upsertValidator.run(publicKey, name, nowMs);
    return (await this.validator(publicKey))!;
  }

  async revoke(name: string, nowMs: number): Promise<number> {
    return this.#sql.revokeName.run(nowMs, name).changes;
  }

  async validator(publicKey: string): Promise<EnrolledValidator | undefined> {
    const row = this.#sql.getValidator.get(publicKey) as ValidatorRow | undefined;
    return row ? toValidator(row) : undefined;
  }

  async validators(): Promise<EnrolledValidator[]> {
    return (this.#sql.listValidators.all() as ValidatorRow[]).map(toValidator);
  }

  async grant(room: string): Promise<StoredGrant | undefined> {
    const row = this.#sql.getGrant.get(room) as GrantRow | undefined;
    return row ? toGrant(row) : undefined;
  }

  async grants(rooms: readonly string[]): Promise<Map<string, StoredGrant>> {
    const grants = new Map<string, StoredGrant>();
    // One file on this machine: an indexed read per room is a few microseconds.
    for (const room of rooms) {
      const row = this.#sql.getGrant.get(room) as GrantRow | undefined;
      if (row) grants.set(room, toGrant(row));
    }
    return grants;
  }

  async putGrant(grant: StoredGrant): Promise<void> {
    this.#sql.putGrant.run({
      room: grant.room,
      validator: grant.validator,
      grant_json: grant.grantJson,
      signature: grant.signature,
      writes_until_ms: grant.writesUntilMs,
      issued_at_ms: grant.issuedAtMs,
      reserved_bytes: grant.reservedBytes,
    });
  }

  async openGrants(validator: string, nowMs: number): Promise<StoredGrant[]> {
    return (this.#sql.openGrants.all(validator, nowMs) as GrantRow[]).map(toGrant);
  }

  async externalVersion(): Promise<number> {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  get isOpen(): boolean {
    return this.#db.open;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
