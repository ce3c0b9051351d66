/**
 * The validator's durable state in one SQLite file (WAL, synchronous=FULL: a decision that was
 * answered must survive a power cut, since a receipt or an HTTP answer already went out).
 * All SQL lives here as named statements; callers see records, never rows.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { CourseSettings, ReviewFlag, StatusChange } from '../protocol/index.ts';
import { CourseStore, type RosterImportCounts, type RosterInput } from './CourseStore.ts';
import { MIGRATIONS } from './migrations.ts';
import type { AuditEvent, Decision, SessionRecord } from './types.ts';

export const DB_FILE_NAME = 'validator.db';

/** See {@link ValidatorStore.maxStoredRejectionsPerDevice}: an honest phone is rejected a handful of times. */
export const DEFAULT_STORED_REJECTIONS_PER_DEVICE = 20;

interface SessionRow {
  id: string;
  course: string;
  secret: Buffer;
  box_public_key: Buffer;
  box_secret_key: Buffer;
  starts_at_s: number;
  ends_at_s: number;
  rotate_seconds: number;
  skew_seconds: number;
  late_sync_minutes: number;
  options: string;
  created_at_ms: number;
  ended_early_at_ms: number | null;
}

interface DecisionRow {
  nonce: string;
  session_id: string;
  via: Decision['via'];
  student_id: string | null;
  device_key: string | null;
  status: Decision['status'];
  reason: Decision['reason'];
  flags: string;
  slot_s: number | null;
  scanned_at_ms: number | null;
  first_seen_ms: number;
  decided_at_ms: number;
  note: string | null;
  revoked_at_ms: number | null;
  client_address: string | null;
}

/** Counts of a session's decisions, as the attendance page shows them. */
export interface DecisionCounts {
  decisions: number;
  accepted: number;
  rejected: number;
}

/** Rejections of one client address in one session that were answered but not stored (over the cap). */
export interface UnstoredRejections {
  clientAddress: string;
  count: number;
  lastAtMs: number;
}

/** What redeeming a login link did (`ValidatorStore.redeemLoginLink`). */
export type LoginLinkOutcome = 'ok' | 'used' | 'expired' | 'unknown';

/**
 * What changed in the store (the `change` event): the dashboard's live view listens to learn
 * when to read again. `kind` says what: a session made, ended, changed or deleted, decisions
 * recorded, a status mark, a roster or a course's settings.
 */
export interface StoreChange {
  kind: 'session' | 'decisions' | 'mark' | 'roster' | 'course';
  session_id?: string;
  course?: string;
}

/** What `deleteSession` did. */
export type DeleteSessionOutcome = { ok: true; rejectionsDeleted: number } | { ok: false; reason: 'unknown_session' | 'has_acceptance' };

/** What `recordManualDecision` did. */
export type RecordOutcome = 'inserted' | 'exists';

const SQL = {
  tableNames: `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  insertSession: `INSERT INTO sessions (id, course, secret, box_public_key, box_secret_key, starts_at_s, ends_at_s,
      rotate_seconds, skew_seconds, late_sync_minutes, options, created_at_ms, ended_early_at_ms)
    VALUES (@id, @course, @secret, @box_public_key, @box_secret_key, @starts_at_s, @ends_at_s,
      @rotate_seconds, @skew_seconds, @late_sync_minutes, @options, @created_at_ms, @ended_early_at_ms)`,
  getSession: `SELECT * FROM sessions WHERE id = ?`,
  listSessions: `SELECT * FROM sessions ORDER BY created_at_ms DESC, id`,
  listCourseSessions: `SELECT * FROM sessions WHERE course = ? ORDER BY created_at_ms DESC, id`,
  hasAnyAcceptance: `SELECT 1 FROM decisions WHERE session_id = ? AND status = 'accepted' LIMIT 1`,
  // (deleteSession runs these one by one)
  deleteDecisions: `DELETE FROM decisions WHERE session_id = ?`,
  deleteBindings: `DELETE FROM device_bindings WHERE session_id = ?`,
  deleteUnstoredDirect: `DELETE FROM unstored_direct_rejections WHERE session_id = ?`,
  deleteUnstoredSync: `DELETE FROM unstored_sync_rejections WHERE session_id = ?`,
  deleteIntervals: `DELETE FROM connection_intervals WHERE session_id = ?`,
  deleteSession: `DELETE FROM sessions WHERE id = ?`,
  endSession: `UPDATE sessions SET ends_at_s = @ends_at_s, ended_early_at_ms = @at_ms WHERE id = @id`,
  setSessionOptions: `UPDATE sessions SET options = @options WHERE id = @id`,
  // ON CONFLICT(session_id, nonce) only: a second standing acceptance of a student still raises, so the
  // caller learns of it instead of losing the row.
  insertDecision: `INSERT INTO decisions (nonce, session_id, via, student_id, device_key, status, reason, flags,
      slot_s, scanned_at_ms, first_seen_ms, decided_at_ms, note, revoked_at_ms, client_address)
    VALUES (@nonce, @session_id, @via, @student_id, @device_key, @status, @reason, @flags,
      @slot_s, @scanned_at_ms, @first_seen_ms, @decided_at_ms, @note, @revoked_at_ms, @client_address)
    ON CONFLICT (session_id, nonce) DO NOTHING`,
  getDecision: `SELECT * FROM decisions WHERE session_id = ? AND nonce = ?`,
  decisionsForSession: `SELECT * FROM decisions WHERE session_id = ? ORDER BY decided_at_ms, nonce`,
  countDecisions: `SELECT COUNT(*) AS decisions,
      COALESCE(SUM(status = 'accepted' AND revoked_at_ms IS NULL), 0) AS accepted,
      COALESCE(SUM(NOT (status = 'accepted' AND revoked_at_ms IS NULL)), 0) AS rejected
    FROM decisions WHERE session_id = ?`,
  acceptedStudent: `SELECT * FROM decisions WHERE session_id = ? AND student_id = ? AND status = 'accepted'
      AND revoked_at_ms IS NULL LIMIT 1`,
  revokeAcceptance: `UPDATE decisions SET revoked_at_ms = @at_ms WHERE session_id = @session_id AND student_id = @student_id
      AND status = 'accepted' AND revoked_at_ms IS NULL`,
  addressUsedByAnotherStudent: `SELECT 1 FROM decisions WHERE session_id = ? AND client_address = ?
      AND student_id IS NOT NULL AND student_id <> ? LIMIT 1`,
  // LIMIT inside: the count only needs to reach the cap, however many rows an address has.
  storedDirectRejections: `SELECT COUNT(*) AS n FROM (SELECT 1 FROM decisions WHERE session_id = @session_id
      AND client_address = @client_address AND status = 'rejected' LIMIT @cap)`,
  countUnstoredRejection: `INSERT INTO unstored_direct_rejections (session_id, client_address, count, last_at_ms)
    VALUES (@session_id, @client_address, 1, @at_ms)
    ON CONFLICT (session_id, client_address) DO UPDATE SET count = count + 1, last_at_ms = @at_ms`,
  unstoredRejections: `SELECT client_address, count, last_at_ms FROM unstored_direct_rejections WHERE session_id = ?
    ORDER BY count DESC, client_address`,
  storedSyncRejections: `SELECT COUNT(*) AS n FROM (SELECT 1 FROM decisions WHERE session_id = @session_id
      AND device_key = @device_key AND status = 'rejected' AND via = 'sync' LIMIT @cap)`,
  countUnstoredSyncRejection: `INSERT INTO unstored_sync_rejections (session_id, device_key, count, last_at_ms)
    VALUES (@session_id, @device_key, 1, @at_ms)
    ON CONFLICT (session_id, device_key) DO UPDATE SET count = count + 1, last_at_ms = @at_ms`,
  unstoredSyncRejections: `SELECT device_key, count, last_at_ms FROM unstored_sync_rejections WHERE session_id = ?
    ORDER BY count DESC, device_key`,
  bindDevice: `INSERT OR IGNORE INTO device_bindings (session_id, device_key, student_id, bound_at_ms)
    VALUES (?, ?, ?, ?)`,
  deviceBinding: `SELECT student_id FROM device_bindings WHERE session_id = ? AND device_key = ?`,
  studentDevices: `SELECT DISTINCT device_key FROM device_bindings WHERE student_id = ? ORDER BY device_key`,
  insertAudit: `INSERT INTO audit_log (at_ms, actor, action, session_id, course, detail) VALUES (?, ?, ?, ?, ?, ?)`,
  sessionCourse: `SELECT course FROM sessions WHERE id = ?`,
  auditLog: `SELECT * FROM audit_log WHERE (@session_id IS NULL OR session_id = @session_id) ORDER BY id`,
  // Newest first, one page: a session's events, or a course's (its sessions', deleted ones' too,
  // and those that name it, such as its roster and settings: migration 7), before an id.
  auditPage: `SELECT id, at_ms, actor, action, session_id, detail FROM audit_log
    WHERE (@session_id IS NULL OR session_id = @session_id)
      AND (@course IS NULL OR course = @course)
      AND (@before IS NULL OR id < @before)
    ORDER BY id DESC LIMIT @limit`,
  openInterval: `INSERT INTO connection_intervals (session_id, connected_at_ms) VALUES (?, ?)`,
  closeInterval: `UPDATE connection_intervals SET disconnected_at_ms = ? WHERE id = ? AND disconnected_at_ms IS NULL`,
  closeDanglingIntervals: `UPDATE connection_intervals SET disconnected_at_ms = connected_at_ms WHERE disconnected_at_ms IS NULL`,
  coveringInterval: `SELECT 1 FROM connection_intervals WHERE session_id = ? AND connected_at_ms <= ?
      AND (disconnected_at_ms IS NULL OR disconnected_at_ms >= ?) LIMIT 1`,
  getIdentity: `SELECT sign_public_key, sign_secret_key FROM identity WHERE id = 1`,
  insertIdentity: `INSERT OR IGNORE INTO identity (id, sign_public_key, sign_secret_key, created_at_ms) VALUES (1, ?, ?, ?)`,
  openForEntriesUntil: `SELECT id, ends_at_s * 1000 + late_sync_minutes * 60000 + @grace_ms AS writes_until_ms FROM sessions
    WHERE ends_at_s * 1000 + late_sync_minutes * 60000 + @grace_ms >= @now_ms`,
  // Dashboard login (migration 5): hashes only; expired rows are swept when new ones are made.
  insertLoginLink: `INSERT INTO login_links (secret_hash, created_at_ms, expires_at_ms) VALUES (?, ?, ?)`,
  sweepLoginLinks: `DELETE FROM login_links WHERE expires_at_ms < ?`,
  getLoginLink: `SELECT expires_at_ms, used_at_ms FROM login_links WHERE secret_hash = ?`,
  // The WHERE makes spending a link atomic: of two concurrent redemptions only one changes the row.
  spendLoginLink: `UPDATE login_links SET used_at_ms = @now_ms WHERE secret_hash = @secret_hash AND used_at_ms IS NULL AND expires_at_ms > @now_ms`,
  insertProfessorLogin: `INSERT INTO professor_logins (id_hash, created_at_ms, expires_at_ms) VALUES (?, ?, ?)`,
  sweepProfessorLogins: `DELETE FROM professor_logins WHERE expires_at_ms < ?`,
  professorLoginExpiry: `SELECT expires_at_ms FROM professor_logins WHERE id_hash = ? AND expires_at_ms > ?`,
  deleteProfessorLogin: `DELETE FROM professor_logins WHERE id_hash = ?`,
} as const;

type Statements = { [K in keyof typeof SQL]: Database.Statement };

/** A row of `audit_log`. */
interface AuditRow {
  id: number;
  at_ms: number;
  actor: string;
  action: string;
  session_id: string | null;
  detail: string;
}

function auditEventOf(row: AuditRow): AuditEvent {
  return {
    atMs: row.at_ms,
    actor: row.actor,
    action: row.action,
    ...(row.session_id ? { sessionId: row.session_id } : {}),
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  };
}

/** Which page of the audit log `auditPage` reads (`GET /audit_log`). */
export interface AuditFilter {
  sessionId?: string;
  course?: string;
  beforeId?: number;
  limit: number;
}

/** The validator's SQLite store. One instance per data folder; not shared between processes. */
export class ValidatorStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #events = new EventEmitter();
  /** Courses, rosters and status marks (CourseStore.ts); its writes are announced by the methods below. */
  readonly courses: CourseStore;

  /** Opens (creating if needed) `<dataDir>/validator.db`, with file mode 0600: it holds session secrets. */
  static open(dataDir: string): ValidatorStore {
    if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new ValidatorStore(join(dataDir, DB_FILE_NAME));
  }

  /**
   * Opens an existing `<dataDir>/validator.db` to read only, beside the validator process that
   * owns it (tests, diagnostics): nothing is migrated or repaired, and any write throws.
   */
  static openReadOnly(dataDir: string): ValidatorStore {
    return new ValidatorStore(join(dataDir, DB_FILE_NAME), { readOnly: true });
  }

  constructor(path: string, options: { readOnly?: boolean } = {}) {
    this.path = path;
    if (options.readOnly) {
      this.#db = new Database(path, { readonly: true, fileMustExist: true });
      this.#db.pragma('busy_timeout = 5000');
      const version = this.schemaVersion;
      if (version !== MIGRATIONS.length) throw new Error(`validator database ${path} has schema version ${version}, not ${MIGRATIONS.length}: open it read-write once (start the validator) first`);
      this.#sql = Object.fromEntries(Object.entries(SQL).map(([name, text]) => [name, this.#db.prepare(text)])) as Statements;
      this.courses = new CourseStore(this.#db);
      return;
    }
    this.#db = new Database(path);
    if (path !== ':memory:') {
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
      }
    }
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#migrate();
    this.#sql = Object.fromEntries(Object.entries(SQL).map(([name, text]) => [name, this.#db.prepare(text)])) as Statements;
    this.courses = new CourseStore(this.#db);
    // An interval left open by a crash says nothing about the time after the crash.
    this.#sql.closeDanglingIntervals.run();
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`validator database ${this.path} has schema version ${version}, newer than this Rollcall (${MIGRATIONS.length}); upgrade Rollcall`);
    }
    for (let index = version; index < MIGRATIONS.length; index++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[index]!);
        this.#db.pragma(`user_version = ${index + 1}`);
      })();
    }
  }

  /** Schema version (`PRAGMA user_version`). */
  get schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  /** The connection's journal mode and synchronous level (2 = FULL), for checks and `rollcall` diagnostics. */
  durability(): { journalMode: string; synchronous: number } {
    return {
      journalMode: this.#db.pragma('journal_mode', { simple: true }) as string,
      synchronous: this.#db.pragma('synchronous', { simple: true }) as number,
    };
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /**
   * Rows per table, by table name: a diagnostic, and how tests check that refused input changed
   * nothing. (Names come from sqlite_master, never from a caller.)
   */
  rowCounts(): Record<string, number> {
    const tables = this.#sql.tableNames.all() as { name: string }[];
    return Object.fromEntries(tables.map(({ name }) => [name, (this.#db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
  }

  /**
   * Runs `work` in one transaction (one disk flush for everything it writes; nested writes
   * become savepoints). The follower's group commit: a few milliseconds of entries, from every
   * room, decided and made durable together before any of their receipts is sealed.
   */
  inTransaction<T>(work: () => T): T {
    return this.#db.transaction(work)();
  }

  // ---- change events

  /**
   * Calls `listener` after each change this store makes (see {@link StoreChange}); returns a
   * function that stops it. A listener that throws is ignored: it must not undo a write.
   */
  onChange(listener: (change: StoreChange) => void): () => void {
    const safe = (change: StoreChange) => {
      try {
        listener(change);
      } catch {
        // a listener's bug must not fail the write that already happened
      }
    };
    this.#events.on('change', safe);
    return () => void this.#events.off('change', safe);
  }

  #changed(change: StoreChange): void {
    this.#events.emit('change', change);
  }

  // ---- sessions

  insertSession(session: SessionRecord): void {
    this.#sql.insertSession.run(sessionToRow(session));
    this.#changed({ kind: 'session', session_id: session.id, course: session.course });
  }

  /** A course's sessions, newest first. */
  listCourseSessions(course: string): SessionRecord[] {
    return (this.#sql.listCourseSessions.all(course) as SessionRow[]).map(rowToSession);
  }

  /**
   * Deletes a session that never accepted anyone (a test session) with everything it holds:
   * rejected decisions, device bindings, counters, marks. One with any acceptance, even revoked,
   * is kept: a student's attendance is never lost.
   */
  deleteSession(id: string): DeleteSessionOutcome {
    const outcome = this.#db.transaction((): DeleteSessionOutcome => {
      const session = this.getSession(id);
      if (!session) return { ok: false, reason: 'unknown_session' };
      if (this.#sql.hasAnyAcceptance.get(id) !== undefined) return { ok: false, reason: 'has_acceptance' };
      const rejectionsDeleted = this.#sql.deleteDecisions.run(id).changes;
      for (const statement of [this.#sql.deleteBindings, this.#sql.deleteUnstoredDirect, this.#sql.deleteUnstoredSync, this.#sql.deleteIntervals]) statement.run(id);
      this.courses.deleteMarks(id);
      this.#sql.deleteSession.run(id);
      return { ok: true, rejectionsDeleted };
    })();
    if (outcome.ok) this.#changed({ kind: 'session', session_id: id });
    return outcome;
  }

  getSession(id: string): SessionRecord | undefined {
    const row = this.#sql.getSession.get(id) as SessionRow | undefined;
    return row ? rowToSession(row) : undefined;
  }

  listSessions(): SessionRecord[] {
    return (this.#sql.listSessions.all() as SessionRow[]).map(rowToSession);
  }

  /**
   * Ids of the sessions whose rooms may still receive entries at `nowMs`: not yet past their end
   * plus `late_sync_minutes` plus `graceMs` (no secrets decoded).
   */
  sessionIdsOpenForEntries(nowMs: number, graceMs: number): string[] {
    return this.sessionsOpenForEntries(nowMs, graceMs).map((session) => session.id);
  }

  /**
   * The sessions whose rooms may still receive entries, with the instant until which phones may
   * write to each room (end + `late_sync_minutes` + `graceMs`): what the follower's room grant
   * says. Read several times a second by the follower, so it reads two columns only.
   */
  sessionsOpenForEntries(nowMs: number, graceMs: number): { id: string; writesUntilMs: number }[] {
    return (this.#sql.openForEntriesUntil.all({ now_ms: nowMs, grace_ms: graceMs }) as { id: string; writes_until_ms: number }[]).map((row) => ({
      id: row.id,
      writesUntilMs: row.writes_until_ms,
    }));
  }

  // ---- identity

  /**
   * The validator's Ed25519 signing key pair, made on first use and kept in this file: relays
   * trust the public key (enrolment), grants and proofs are signed with the secret one.
   */
  signingIdentity(makeKeyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array }): { publicKey: Uint8Array; secretKey: Uint8Array } {
    let row = this.#sql.getIdentity.get() as { sign_public_key: Buffer; sign_secret_key: Buffer } | undefined;
    if (!row) {
      const pair = makeKeyPair();
      this.#sql.insertIdentity.run(Buffer.from(pair.publicKey), Buffer.from(pair.secretKey), Date.now());
      row = this.#sql.getIdentity.get() as { sign_public_key: Buffer; sign_secret_key: Buffer };
    }
    return { publicKey: new Uint8Array(row.sign_public_key), secretKey: new Uint8Array(row.sign_secret_key) };
  }

  /** Moves a session's end to `atMs` (rounded down to the second). Returns the updated session. */
  endSession(id: string, atMs: number): SessionRecord | undefined {
    this.#sql.endSession.run({ id, ends_at_s: Math.floor(atMs / 1000), at_ms: atMs });
    this.#changed({ kind: 'session', session_id: id });
    return this.getSession(id);
  }

  /** Replaces a session's options (JSON object). Returns the updated session. */
  setSessionOptions(id: string, options: Record<string, unknown>): SessionRecord | undefined {
    this.#sql.setSessionOptions.run({ id, options: JSON.stringify(options) });
    this.#changed({ kind: 'session', session_id: id });
    return this.getSession(id);
  }

  // ---- decisions

  /**
   * Stores decisions in one transaction (the sync follower calls this with thousands at a
   * time) and returns, in input order, the decision that now stands for each nonce:
   * - a nonce already decided keeps its first decision (decisions are final, so a replayed
   *   entry gets the same answer), which is returned instead of the new one;
   * - an acceptance of a student who already has a standing acceptance in the session (the
   *   caller's view was stale) is stored as rejected `duplicate`, never dropped.
   * Accepted decisions with a device key bind that device to the student for the session.
   */
  recordDecisions(decisions: readonly Decision[]): Decision[] {
    const stored = this.#recordMany(decisions);
    this.#announceDecisions(decisions);
    return stored;
  }

  #announceDecisions(decisions: readonly Decision[]): void {
    for (const sessionId of new Set(decisions.map((decision) => decision.sessionId))) this.#changed({ kind: 'decisions', session_id: sessionId });
  }

  /**
   * Stored rejections per device and session on the sync path (SPEC.md "Quotas"): past this, a
   * rejection of that device's entries is still answered (its receipt sealed) but only counted,
   * so one hostile phone cannot fill the professor's disk with rejected junk.
   */
  maxStoredRejectionsPerDevice = DEFAULT_STORED_REJECTIONS_PER_DEVICE;

  /** One decision; see {@link recordDecisions}. */
  recordDecision(decision: Decision): Decision {
    return this.recordDecisions([decision])[0]!;
  }

  // Inside the follower's group commit (`inTransaction`) no nested SAVEPOINT: it copies every
  // page it touches into a sub-journal for nothing (the outer transaction is all or nothing).
  readonly #recordMany = (decisions: readonly Decision[]): Decision[] =>
    this.#db.inTransaction
      ? decisions.map((decision) => this.#recordOne(decision))
      : this.#db.transaction((batch: readonly Decision[]) => batch.map((decision) => this.#recordOne(decision)))(decisions);

  #recordOne(decision: Decision): Decision {
    if (decision.via === 'sync' && decision.status === 'rejected' && decision.deviceKey !== undefined && this.#isOverDeviceCap(decision)) {
      this.#sql.countUnstoredSyncRejection.run({ session_id: decision.sessionId, device_key: decision.deviceKey, at_ms: decision.decidedAtMs });
      return decision;
    }
    let stored = decision;
    let inserted: boolean;
    try {
      inserted = this.#sql.insertDecision.run(decisionToRow(decision)).changes > 0;
    } catch (error) {
      if (!isUniqueViolation(error) || decision.status !== 'accepted') throw error;
      stored = { ...decision, status: 'rejected', reason: 'duplicate', flags: [] };
      inserted = this.#sql.insertDecision.run(decisionToRow(stored)).changes > 0;
    }
    if (!inserted) return this.getDecision(decision.sessionId, decision.nonce)!;
    if (stored.status === 'accepted' && stored.deviceKey && stored.studentId) {
      this.#sql.bindDevice.run(stored.sessionId, stored.deviceKey, stored.studentId, stored.decidedAtMs);
    }
    return stored;
  }

  /** Whether `decision` (a sync rejection not stored before) would pass its device's cap. */
  #isOverDeviceCap(decision: Decision): boolean {
    const cap = this.maxStoredRejectionsPerDevice;
    const stored = this.#sql.storedSyncRejections.get({ session_id: decision.sessionId, device_key: decision.deviceKey, cap }) as { n: number };
    if (stored.n < cap) return false;
    // A replay of a rejection that was stored keeps its stored answer.
    return this.#sql.getDecision.get(decision.sessionId, decision.nonce) === undefined;
  }

  /** Per device, the session's sync rejections that were answered and counted but not stored; most first. */
  unstoredSyncRejections(sessionId: string): { deviceKey: string; count: number; lastAtMs: number }[] {
    const rows = this.#sql.unstoredSyncRejections.all(sessionId) as { device_key: string; count: number; last_at_ms: number }[];
    return rows.map((row) => ({ deviceKey: row.device_key, count: row.count, lastAtMs: row.last_at_ms }));
  }

  /** The decision of entry `nonce` in this session (decisions are per session: SPEC.md). */
  getDecision(sessionId: string, nonce: string): Decision | undefined {
    const row = this.#sql.getDecision.get(sessionId, nonce) as DecisionRow | undefined;
    return row ? rowToDecision(row) : undefined;
  }

  decisionsForSession(sessionId: string): Decision[] {
    return (this.#sql.decisionsForSession.all(sessionId) as DecisionRow[]).map(rowToDecision);
  }

  countDecisions(sessionId: string): DecisionCounts {
    return this.#sql.countDecisions.get(sessionId) as DecisionCounts;
  }

  /** The standing acceptance of `studentId` in the session, if any. */
  acceptedStudent(sessionId: string, studentId: string): Decision | undefined {
    const row = this.#sql.acceptedStudent.get(sessionId, studentId) as DecisionRow | undefined;
    return row ? rowToDecision(row) : undefined;
  }

  /**
   * A professor's rejection of a present student: the acceptance stays in the table (its
   * receipt already went out) but is marked revoked, and a manual rejection is recorded.
   * Returns false when the student had no standing acceptance.
   */
  revokeAcceptance(sessionId: string, studentId: string, manualRejection: Decision, audit: AuditEvent): boolean {
    const isRevoked = this.#db.transaction(() => {
      const changed = this.#sql.revokeAcceptance.run({ session_id: sessionId, student_id: studentId, at_ms: manualRejection.decidedAtMs }).changes;
      if (changed === 0) return false;
      this.#sql.insertDecision.run(decisionToRow(manualRejection));
      this.#insertAudit(audit);
      return true;
    })();
    if (isRevoked) this.#changed({ kind: 'decisions', session_id: sessionId });
    return isRevoked;
  }

  /** Records a manual decision and its audit row together. 'exists' if the student is already accepted. */
  recordManualDecision(decision: Decision, audit: AuditEvent): RecordOutcome {
    const outcome = this.#db.transaction((): RecordOutcome => {
      try {
        if (this.#sql.insertDecision.run(decisionToRow(decision)).changes === 0) return 'exists';
      } catch (error) {
        if (isUniqueViolation(error)) return 'exists';
        throw error;
      }
      this.#insertAudit(audit);
      return 'inserted';
    })();
    if (outcome === 'inserted') this.#changed({ kind: 'decisions', session_id: decision.sessionId });
    return outcome;
  }

  /**
   * Stores a direct decision, except a rejection from a client address that already has
   * `maxStoredRejections` stored rejections in the session: that one is only counted (per session
   * and address), so one address cannot fill the disk with duplicates. Acceptances are always
   * stored. Returns the decision that stands and whether it was stored.
   */
  recordDirectDecision(decision: Decision, maxStoredRejections: number): { decision: Decision; isStored: boolean } {
    const result = this.#db.transaction(() => {
      const address = decision.clientAddress;
      if (decision.status === 'rejected' && address !== undefined) {
        const stored = this.#sql.storedDirectRejections.get({ session_id: decision.sessionId, client_address: address, cap: maxStoredRejections }) as { n: number };
        if (stored.n >= maxStoredRejections) {
          this.#sql.countUnstoredRejection.run({ session_id: decision.sessionId, client_address: address, at_ms: decision.decidedAtMs });
          return { decision, isStored: false };
        }
      }
      return { decision: this.#recordOne(decision), isStored: true };
    })();
    if (result.isStored) this.#changed({ kind: 'decisions', session_id: decision.sessionId });
    return result;
  }

  /** Per client address, the session's direct rejections that were counted but not stored; most first. */
  unstoredRejections(sessionId: string): UnstoredRejections[] {
    const rows = this.#sql.unstoredRejections.all(sessionId) as { client_address: string; count: number; last_at_ms: number }[];
    return rows.map((row) => ({ clientAddress: row.client_address, count: row.count, lastAtMs: row.last_at_ms }));
  }

  /** A decision of this session from `clientAddress` names a student other than `studentId` (direct path). */
  wasAddressUsedByAnotherStudent(sessionId: string, clientAddress: string, studentId: string): boolean {
    return this.#sql.addressUsedByAnotherStudent.get(sessionId, clientAddress, studentId) !== undefined;
  }

  // ---- device bindings

  /** The student this device was accepted for in this session. */
  deviceBinding(sessionId: string, deviceKey: string): string | undefined {
    const row = this.#sql.deviceBinding.get(sessionId, deviceKey) as { student_id: string } | undefined;
    return row?.student_id;
  }

  /** Every device a student was accepted with, across all sessions. */
  studentDevices(studentId: string): string[] {
    return (this.#sql.studentDevices.all(studentId) as { device_key: string }[]).map((row) => row.device_key);
  }

  // ---- dashboard login (callers pass hashes, never the secrets themselves)

  /** Stores a one-time login link's secret hash, valid until `expiresAtMs`. */
  insertLoginLink(secretHash: string, nowMs: number, expiresAtMs: number): void {
    this.#db.transaction(() => {
      this.#sql.sweepLoginLinks.run(nowMs);
      this.#sql.insertLoginLink.run(secretHash, nowMs, expiresAtMs);
    })();
  }

  /**
   * Spends a login link and opens a login with it, in one transaction: `ok`, or why not. A link
   * works once and only before it expires; a refused one opens nothing.
   */
  redeemLoginLink(secretHash: string, login: { idHash: string; expiresAtMs: number }, nowMs: number): LoginLinkOutcome {
    return this.#db.transaction((): LoginLinkOutcome => {
      if (this.#sql.spendLoginLink.run({ secret_hash: secretHash, now_ms: nowMs }).changes === 1) {
        this.#sql.sweepProfessorLogins.run(nowMs);
        this.#sql.insertProfessorLogin.run(login.idHash, nowMs, login.expiresAtMs);
        return 'ok';
      }
      const link = this.#sql.getLoginLink.get(secretHash) as { expires_at_ms: number; used_at_ms: number | null } | undefined;
      if (!link) return 'unknown';
      return link.used_at_ms !== null ? 'used' : 'expired';
    })();
  }

  /** When the login with this id hash ends, or undefined if there is none (logged out, expired). */
  professorLoginExpiry(idHash: string, nowMs: number): number | undefined {
    return (this.#sql.professorLoginExpiry.get(idHash, nowMs) as { expires_at_ms: number } | undefined)?.expires_at_ms;
  }

  /** Ends a login (logout). True if there was one. */
  deleteProfessorLogin(idHash: string): boolean {
    return this.#sql.deleteProfessorLogin.run(idHash).changes > 0;
  }

  // ---- audit log

  audit(event: AuditEvent): void {
    this.#insertAudit(event);
  }

  /**
   * The row keeps its course (the session's, else the event's own, else the one its detail names),
   * so that a course's events stay its own after a test session is deleted.
   */
  #insertAudit(event: AuditEvent): void {
    const sessionCourse = event.sessionId === undefined ? undefined : (this.#sql.sessionCourse.get(event.sessionId) as { course: string } | undefined)?.course;
    const namedCourse = typeof event.detail?.course === 'string' ? event.detail.course : undefined;
    const course = sessionCourse ?? event.course ?? namedCourse ?? null;
    this.#sql.insertAudit.run(event.atMs, event.actor, event.action, event.sessionId ?? null, course, JSON.stringify(event.detail ?? {}));
  }

  auditLog(sessionId?: string): AuditEvent[] {
    return (this.#sql.auditLog.all({ session_id: sessionId ?? null }) as AuditRow[]).map(auditEventOf);
  }

  /** One page of the audit log, newest first (`GET /audit_log`, SPEC.md S9). */
  auditPage(filter: AuditFilter): (AuditEvent & { id: number })[] {
    const rows = this.#sql.auditPage.all({ session_id: filter.sessionId ?? null, course: filter.course ?? null, before: filter.beforeId ?? null, limit: filter.limit }) as AuditRow[];
    return rows.map((row) => ({ id: row.id, ...auditEventOf(row) }));
  }

  // ---- connection intervals (the sync follower records when it was connected to the relay)

  /** Opens an interval; returns its id for {@link recordDisconnected}. */
  recordConnected(sessionId: string, atMs: number): number {
    return Number(this.#sql.openInterval.run(sessionId, atMs).lastInsertRowid);
  }

  recordDisconnected(intervalId: number, atMs: number): void {
    this.#sql.closeInterval.run(atMs, intervalId);
  }

  /** True when one recorded connection covered all of [fromMs, toMs]. */
  wasConnectedThroughout(sessionId: string, fromMs: number, toMs: number): boolean {
    return this.#sql.coveringInterval.get(sessionId, fromMs, toMs) !== undefined;
  }

  // ---- courses, rosters, marks (CourseStore.ts), announced as changes

  /** The seed's `POST /roster`: the course's roster becomes exactly these ids. */
  setRoster(course: string, studentIds: readonly string[], nowMs = Date.now()): void {
    this.courses.replaceRosterIds(course, studentIds, nowMs);
    this.#changed({ kind: 'roster', course });
  }

  /** Adds and updates roster rows (see CourseStore.importRoster) and writes the audit row, together. */
  importRoster(course: string, students: readonly RosterInput[], removeMissing: boolean, audit: AuditEvent): RosterImportCounts {
    const counts = this.#db.transaction(() => {
      const result = this.courses.importRoster(course, students, removeMissing, audit.atMs);
      this.#insertAudit({ ...audit, detail: { ...audit.detail, ...result } });
      return result;
    })();
    this.#changed({ kind: 'roster', course });
    return counts;
  }

  /** Creates the course or changes its settings, with an audit row. */
  setCourseSettings(course: string, change: Partial<CourseSettings>, audit: AuditEvent): CourseSettings {
    const settings = this.#db.transaction(() => {
      const after = this.courses.setSettings(course, change, audit.atMs);
      this.#insertAudit(audit);
      return after;
    })();
    this.#changed({ kind: 'course', course });
    return settings;
  }

  /** Records a professor's status mark (one row of the audit trail) and its audit-log row. */
  addStatusMark(change: StatusChange, course: string): void {
    this.#db.transaction(() => {
      this.courses.addMark(change);
      this.#insertAudit({ atMs: change.at, actor: change.actor, action: 'mark', sessionId: change.session_id, detail: { student_id: change.student_id, before: change.before, after: change.after, note: change.note } });
    })();
    this.#changed({ kind: 'mark', session_id: change.session_id, course });
  }

  /** `undefined` when the course has no roster; otherwise whether the student is on it (ids compared as the course says). */
  isOnRoster(course: string, studentId: string): boolean | undefined {
    return this.courses.isOnRoster(course, studentId);
  }
}

/**
 * SQLite could not write because the disk is full (SQLITE_FULL). Nothing of the failed
 * transaction was stored; the same write can succeed once space is back, so callers answer
 * "try again" instead of treating it as a bug.
 */
export function isDiskFull(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error as { code: unknown }).code === 'SQLITE_FULL';
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

function sessionToRow(session: SessionRecord): SessionRow {
  return {
    id: session.id,
    course: session.course,
    secret: Buffer.from(session.secret),
    box_public_key: Buffer.from(session.boxPublicKey),
    box_secret_key: Buffer.from(session.boxSecretKey),
    starts_at_s: session.startsAtS,
    ends_at_s: session.endsAtS,
    rotate_seconds: session.rotateSeconds,
    skew_seconds: session.skewSeconds,
    late_sync_minutes: session.lateSyncMinutes,
    options: JSON.stringify(session.options),
    created_at_ms: session.createdAtMs,
    ended_early_at_ms: session.endedEarlyAtMs ?? null,
  };
}

function rowToSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    course: row.course,
    secret: new Uint8Array(row.secret),
    boxPublicKey: new Uint8Array(row.box_public_key),
    boxSecretKey: new Uint8Array(row.box_secret_key),
    startsAtS: row.starts_at_s,
    endsAtS: row.ends_at_s,
    rotateSeconds: row.rotate_seconds,
    skewSeconds: row.skew_seconds,
    lateSyncMinutes: row.late_sync_minutes,
    options: JSON.parse(row.options) as Record<string, unknown>,
    createdAtMs: row.created_at_ms,
    ...(row.ended_early_at_ms !== null ? { endedEarlyAtMs: row.ended_early_at_ms } : {}),
  };
}

function decisionToRow(decision: Decision): DecisionRow {
  return {
    nonce: decision.nonce,
    session_id: decision.sessionId,
    via: decision.via,
    student_id: decision.studentId ?? null,
    device_key: decision.deviceKey ?? null,
    status: decision.status,
    reason: decision.reason,
    flags: JSON.stringify(decision.flags),
    slot_s: decision.slotS ?? null,
    scanned_at_ms: decision.scannedAtMs ?? null,
    first_seen_ms: decision.firstSeenMs,
    decided_at_ms: decision.decidedAtMs,
    note: decision.note ?? null,
    revoked_at_ms: decision.revokedAtMs ?? null,
    client_address: decision.clientAddress ?? null,
  };
}

function rowToDecision(row: DecisionRow): Decision {
  return {
    nonce: row.nonce,
    sessionId: row.session_id,
    via: row.via,
    status: row.status,
    reason: row.reason,
    flags: JSON.parse(row.flags) as ReviewFlag[],
    ...(row.student_id !== null ? { studentId: row.student_id } : {}),
    ...(row.device_key !== null ? { deviceKey: row.device_key } : {}),
    ...(row.slot_s !== null ? { slotS: row.slot_s } : {}),
    ...(row.scanned_at_ms !== null ? { scannedAtMs: row.scanned_at_ms } : {}),
    firstSeenMs: row.first_seen_ms,
    decidedAtMs: row.decided_at_ms,
    ...(row.note !== null ? { note: row.note } : {}),
    ...(row.revoked_at_ms !== null ? { revokedAtMs: row.revoked_at_ms } : {}),
    ...(row.client_address !== null ? { clientAddress: row.client_address } : {}),
  };
}
