/**
 * The relay's trust in PostgreSQL, shared by several relays: the same tables as
 * SqliteTrustStore (only hashes of enrolment codes). `externalVersion` is a row that triggers
 * bump on every change of validators or grants (relay/pgSchema.ts): every relay polls it, so a
 * revocation, or a grant another relay stored, is seen by all within `trustRefreshMs`.
 */
import type { Logger } from '../log/index.ts';
import { PgDatabase } from './PgDatabase.ts';
import type { EnrolledValidator, Redemption, StoredGrant, TrustStore } from './TrustStore.ts';

const SQL = {
  insertCode: 'INSERT INTO relay_enrolment_codes (code_hash, name, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)',
  lockCode: 'SELECT name, expires_at_ms, used_at_ms FROM relay_enrolment_codes WHERE code_hash = $1 FOR UPDATE',
  useCode: 'UPDATE relay_enrolment_codes SET used_at_ms = $1, used_by = $2 WHERE code_hash = $3',
  revokeOthersOfName: 'UPDATE relay_validators SET revoked_at_ms = $1 WHERE name = $2 AND public_key <> $3 AND revoked_at_ms IS NULL RETURNING public_key',
  revokeName: 'UPDATE relay_validators SET revoked_at_ms = $1 WHERE name = $2 AND revoked_at_ms IS NULL RETURNING public_key',
  upsertValidator: `INSERT INTO relay_validators (public_key, name, enrolled_at_ms, revoked_at_ms) VALUES ($1, $2, $3, NULL)
    ON CONFLICT (public_key) DO UPDATE SET name = excluded.name, enrolled_at_ms = excluded.enrolled_at_ms, revoked_at_ms = NULL`,
  getValidator: 'SELECT * FROM relay_validators WHERE public_key = $1',
  listValidators: 'SELECT * FROM relay_validators ORDER BY enrolled_at_ms, public_key',
  getGrant: 'SELECT * FROM relay_room_grants WHERE room = $1',
  getGrants: 'SELECT * FROM relay_room_grants WHERE room = ANY($1)',
  putGrant: `INSERT INTO relay_room_grants (room, validator, grant_json, signature, writes_until_ms, issued_at_ms, reserved_bytes)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (room) DO UPDATE SET validator = excluded.validator, grant_json = excluded.grant_json, signature = excluded.signature,
      writes_until_ms = excluded.writes_until_ms, issued_at_ms = excluded.issued_at_ms, reserved_bytes = excluded.reserved_bytes`,
  openGrants: 'SELECT * FROM relay_room_grants WHERE validator = $1 AND writes_until_ms >= $2',
  version: 'SELECT version FROM relay_trust_version',
} as const;

/** bigint columns come back as strings from node-postgres. */
interface ValidatorRow {
  public_key: string;
  name: string;
  enrolled_at_ms: string;
  revoked_at_ms: string | null;
}

interface GrantRow {
  room: string;
  validator: string;
  grant_json: string;
  signature: string;
  writes_until_ms: string;
  issued_at_ms: string;
  reserved_bytes: string;
}

function toValidator(row: ValidatorRow): EnrolledValidator {
  return { publicKey: row.public_key, name: row.name, enrolledAtMs: Number(row.enrolled_at_ms), ...(row.revoked_at_ms !== null ? { revokedAtMs: Number(row.revoked_at_ms) } : {}) };
}

function toGrant(row: GrantRow): StoredGrant {
  return {
    room: row.room,
    validator: row.validator,
    grantJson: row.grant_json,
    signature: row.signature,
    writesUntilMs: Number(row.writes_until_ms),
    issuedAtMs: Number(row.issued_at_ms),
    reservedBytes: Number(row.reserved_bytes),
  };
}

export class PgTrustStore implements TrustStore {
  readonly #database: PgDatabase;
  readonly #ownsDatabase: boolean;
  #isClosed = false;

  /** On a database shared with the relay's PgUpdateStore; closing the store leaves it open. */
  constructor(database: PgDatabase, { ownsDatabase = false }: { ownsDatabase?: boolean } = {}) {
    this.#database = database;
    this.#ownsDatabase = ownsDatabase;
  }

  /** A store with a database of its own (`rollcall relay enroll --store …`, tests); `poolSize` 1 serves a command. */
  static async connect(url: string, options: { logger: Logger; poolSize?: number }): Promise<PgTrustStore> {
    return new PgTrustStore(await PgDatabase.connect(url, options), { ownsDatabase: true });
  }

  async addEnrolmentCode(codeHash: string, name: string, createdAtMs: number, expiresAtMs: number): Promise<void> {
    await this.#database.query(SQL.insertCode, [codeHash, name, createdAtMs, expiresAtMs]);
  }

  async redeemEnrolmentCode(codeHash: string, publicKey: string, nowMs: number): Promise<Redemption> {
    return this.#database.transaction(async (query) => {
      // FOR UPDATE: two relays redeeming one code at once: the second waits, then sees it used.
      const [code] = await query<{ name: string; expires_at_ms: string; used_at_ms: string | null }>(SQL.lockCode, [codeHash]);
      if (!code) return { ok: false, reason: 'unknown_code' };
      if (code.used_at_ms !== null) return { ok: false, reason: 'used_code' };
      if (Number(code.expires_at_ms) < nowMs) return { ok: false, reason: 'expired_code' };
      await query(SQL.useCode, [nowMs, publicKey, codeHash]);
      const replaced = await query<{ public_key: string }>(SQL.revokeOthersOfName, [nowMs, code.name, publicKey]);
      await query(SQL.upsertValidator, [publicKey, code.name, nowMs]);
      const validator: EnrolledValidator = { publicKey, name: code.name, enrolledAtMs: nowMs };
      return { ok: true, validator, ...(replaced[0] ? { replaced: replaced[0].public_key } : {}) };
    });
  }

  async enrolDirect(publicKey: string, name: string, nowMs: number): Promise<EnrolledValidator> {
    const existing = await this.validator(publicKey);
    if (existing && existing.revokedAtMs === undefined) return existing;
    await this.#database.query(SQL.upsertValidator, [publicKey, name, nowMs]);
    return (await this.validator(publicKey))!;
  }

  async revoke(name: string, nowMs: number): Promise<number> {
    return (await this.#database.query(SQL.revokeName, [nowMs, name])).length;
  }

  async validator(publicKey: string): Promise<EnrolledValidator | undefined> {
    const [row] = await this.#database.query<ValidatorRow>(SQL.getValidator, [publicKey]);
    return row ? toValidator(row) : undefined;
  }

  async validators(): Promise<EnrolledValidator[]> {
    return (await this.#database.query<ValidatorRow>(SQL.listValidators)).map(toValidator);
  }

  async grant(room: string): Promise<StoredGrant | undefined> {
    const [row] = await this.#database.query<GrantRow>(SQL.getGrant, [room]);
    return row ? toGrant(row) : undefined;
  }

  async grants(rooms: readonly string[]): Promise<Map<string, StoredGrant>> {
    if (rooms.length === 0) return new Map();
    const rows = await this.#database.query<GrantRow>(SQL.getGrants, [rooms]);
    return new Map(rows.map((row) => [row.room, toGrant(row)]));
  }

  async putGrant(grant: StoredGrant): Promise<void> {
    await this.#database.query(SQL.putGrant, [grant.room, grant.validator, grant.grantJson, grant.signature, grant.writesUntilMs, grant.issuedAtMs, grant.reservedBytes]);
  }

  async openGrants(validator: string, nowMs: number): Promise<StoredGrant[]> {
    return (await this.#database.query<GrantRow>(SQL.openGrants, [validator, nowMs])).map(toGrant);
  }

  async externalVersion(): Promise<number> {
    const [row] = await this.#database.query<{ version: string }>(SQL.version);
    return Number(row?.version ?? 0);
  }

  get isOpen(): boolean {
    return !this.#isClosed && this.#database.isAvailable;
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#ownsDatabase) await this.#database.close();
  }
}
