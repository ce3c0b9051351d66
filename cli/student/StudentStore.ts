/**
 * The terminal student client's data folder: the device key pair, and per session the Yjs
 * updates of its document plus the submissions made from this device. SQLite (WAL, FULL sync),
 * so a submission written while offline survives the process exiting or being killed.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { boxKeyPairFromSecretKey, fromBase64Url, newBoxKeyPair, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import type { DecisionReason, ReviewFlag } from '../../protocol/index.ts';

/** One submission made on this device, as the client tracks it until its receipt arrives. */
export interface StudentSubmission {
  nonce: string;
  sessionId: string;
  course: string;
  studentId: string;
  /** The QR's validator key `k`, needed to open the receipt. */
  validatorKey: string;
  scannedAtMs: number;
  /** 'saved' until the relay confirmed a sync that included it; then 'sent'; then the decision. */
  state: 'saved' | 'sent' | 'accepted' | 'rejected';
  reason?: DecisionReason;
  flags?: ReviewFlag[];
  receiptAtMs?: number;
}

const MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE doc_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, update_bytes BLOB NOT NULL);
   CREATE INDEX doc_updates_session ON doc_updates(session_id, id);
   CREATE TABLE submissions (
     nonce TEXT PRIMARY KEY, session_id TEXT NOT NULL, course TEXT NOT NULL, student_id TEXT NOT NULL,
     validator_key TEXT NOT NULL, scanned_at_ms INTEGER NOT NULL, state TEXT NOT NULL,
     reason TEXT, flags TEXT, receipt_at_ms INTEGER, created_seq INTEGER NOT NULL);`,
];

const SQL = {
  getMeta: 'SELECT value FROM meta WHERE key = ?',
  setMeta: 'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  loadUpdates: 'SELECT update_bytes FROM doc_updates WHERE session_id = ? ORDER BY id',
  appendUpdate: 'INSERT INTO doc_updates(session_id, update_bytes) VALUES (?, ?)',
  insertSubmission: `INSERT INTO submissions(nonce, session_id, course, student_id, validator_key, scanned_at_ms, state, created_seq)
                     VALUES (@nonce, @sessionId, @course, @studentId, @validatorKey, @scannedAtMs, @state, (SELECT COUNT(*) FROM submissions))`,
  listSubmissions: 'SELECT * FROM submissions ORDER BY created_seq',
  markSent: "UPDATE submissions SET state = 'sent' WHERE nonce = ? AND state = 'saved'",
  recordDecision: 'UPDATE submissions SET state = ?, reason = ?, flags = ?, receipt_at_ms = ? WHERE nonce = ? AND state IN (\'saved\', \'sent\')',
} as const;

interface SubmissionRow {
  nonce: string;
  session_id: string;
  course: string;
  student_id: string;
  validator_key: string;
  scanned_at_ms: number;
  state: StudentSubmission['state'];
  reason: string | null;
  flags: string | null;
  receipt_at_ms: number | null;
}

export class StudentStore {
  readonly #db: Database.Database;

  constructor(dataDir: string) {
    if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, 'student.db');
    this.#db = new Database(file);
    chmodSync(file, 0o600); // holds the device's secret key
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** The device key pair, made once per data folder (docs/SPEC.md: once per installation). */
  deviceKeyPair(): BoxKeyPair {
    const stored = this.#meta('device_secret_key');
    if (stored) return boxKeyPairFromSecretKey(fromBase64Url(stored));
    const keyPair = newBoxKeyPair();
    this.#setMeta('device_secret_key', toBase64Url(keyPair.secretKey));
    return keyPair;
  }

  /** Last measured offset of the relay's clock against ours (ms to add to Date.now()). */
  clockOffsetMs(): number {
    return Number(this.#meta('clock_offset_ms') ?? 0);
  }

  setClockOffsetMs(offsetMs: number): void {
    this.#setMeta('clock_offset_ms', String(Math.round(offsetMs)));
  }

  loadUpdates(sessionId: string): Uint8Array[] {
    return (this.#db.prepare(SQL.loadUpdates).all(sessionId) as { update_bytes: Buffer }[]).map((row) => new Uint8Array(row.update_bytes));
  }

  appendUpdate(sessionId: string, update: Uint8Array): void {
    this.#db.prepare(SQL.appendUpdate).run(sessionId, Buffer.from(update));
  }

  /** Stores the submission and the doc update that carries it in one transaction. */
  saveSubmission(submission: StudentSubmission, update: Uint8Array): void {
    this.#db.transaction(() => {
      this.#db.prepare(SQL.insertSubmission).run({ ...submission });
      this.appendUpdate(submission.sessionId, update);
    })();
  }

  submissions(): StudentSubmission[] {
    return (this.#db.prepare(SQL.listSubmissions).all() as SubmissionRow[]).map((row) => ({
      nonce: row.nonce,
      sessionId: row.session_id,
      course: row.course,
      studentId: row.student_id,
      validatorKey: row.validator_key,
      scannedAtMs: row.scanned_at_ms,
      state: row.state,
      reason: (row.reason ?? undefined) as DecisionReason | undefined,
      flags: row.flags ? (JSON.parse(row.flags) as ReviewFlag[]) : undefined,
      receiptAtMs: row.receipt_at_ms ?? undefined,
    }));
  }

  markSent(nonce: string): boolean {
    return this.#db.prepare(SQL.markSent).run(nonce).changes > 0;
  }

  /** Records the receipt's decision once; answers false if it was already recorded. */
  recordDecision(nonce: string, status: 'accepted' | 'rejected', reason: DecisionReason, flags: ReviewFlag[], receiptAtMs: number): boolean {
    return this.#db.prepare(SQL.recordDecision).run(status, reason, JSON.stringify(flags), receiptAtMs, nonce).changes > 0;
  }

  close(): void {
    this.#db.close();
  }

  #meta(key: string): string | undefined {
    return (this.#db.prepare(SQL.getMeta).get(key) as { value: string } | undefined)?.value;
  }

  #setMeta(key: string, value: string): void {
    this.#db.prepare(SQL.setMeta).run(key, value);
  }
}
