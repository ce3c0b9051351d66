/**
 * The terminal student client's data folder: one SQLite file (WAL, FULL sync, so a submission
 * written while offline survives the process exiting or being killed) holding the device key
 * pair, the submissions and each session's Yjs updates. The core reaches it through
 * SqliteSubmissionStore and SqliteSessionDocStore.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as Y from 'yjs';
import { boxKeyPairFromSecretKey, fromBase64Url, newBoxKeyPair, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import { entriesMap, type Entry } from '../../protocol/index.ts';
import type { Submission } from '../../client/core/index.ts';

const MIGRATIONS: Array<(db: Database.Database) => void> = [
  (db) =>
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE doc_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, update_bytes BLOB NOT NULL);
   CREATE INDEX doc_updates_session ON doc_updates(session_id, id);
   CREATE TABLE submissions (
     nonce TEXT PRIMARY KEY, session_id TEXT NOT NULL, course TEXT NOT NULL, student_id TEXT NOT NULL,
     validator_key TEXT NOT NULL, scanned_at_ms INTEGER NOT NULL, state TEXT NOT NULL,
     reason TEXT, flags TEXT, receipt_at_ms INTEGER, created_seq INTEGER NOT NULL);`),
  // The shared core keeps the whole Submission (with its sealed entry) as one JSON record.
  // Rows of the old table get their entry from the session's doc, where the old client wrote
  // it in the same transaction; they never recorded their QR, so a repeat of one is not recognised.
  (db) => {
    db.exec('CREATE TABLE submission_records (nonce TEXT PRIMARY KEY, record TEXT NOT NULL)');
    const rows = db.prepare('SELECT * FROM submissions').all() as Array<Record<string, string | number | null>>;
    const insert = db.prepare('INSERT INTO submission_records(nonce, record) VALUES (?, ?)');
    for (const row of rows) {
      const doc = new Y.Doc();
      for (const { update_bytes } of db.prepare('SELECT update_bytes FROM doc_updates WHERE session_id = ? ORDER BY id').all(row.session_id) as { update_bytes: Buffer }[]) {
        Y.applyUpdate(doc, new Uint8Array(update_bytes));
      }
      const entry = entriesMap(doc).get(String(row.nonce)) as Entry | undefined;
      doc.destroy();
      if (!entry) continue; // never happens: the old client wrote both in one transaction
      const submission: Submission = {
        nonce: String(row.nonce),
        sessionId: String(row.session_id),
        course: String(row.course),
        studentId: String(row.student_id),
        validatorKey: String(row.validator_key),
        qrKey: '',
        entry,
        scannedAtMs: Number(row.scanned_at_ms),
        state: row.state as Submission['state'],
        ...(row.reason ? { reason: row.reason as Submission['reason'] } : {}),
        ...(row.flags ? { flags: JSON.parse(String(row.flags)) as Submission['flags'] } : {}),
      };
      insert.run(submission.nonce, JSON.stringify(submission));
    }
    db.exec('DROP TABLE submissions');
  },
];

export class StudentDatabase {
  readonly db: Database.Database;

  constructor(dataDir: string) {
    if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, 'student.db');
    this.db = new Database(file);
    chmodSync(file, 0o600); // holds the device's secret key
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        MIGRATIONS[v]!(this.db);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** The device key pair, made once per data folder (docs/SPEC.md: once per installation). */
  deviceKeyPair(): BoxKeyPair {
    const stored = this.meta('device_secret_key');
    if (stored) return boxKeyPairFromSecretKey(fromBase64Url(stored));
    const keyPair = newBoxKeyPair();
    this.setMeta('device_secret_key', toBase64Url(keyPair.secretKey));
    return keyPair;
  }

  meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    this.db.close();
  }
}
