/**
 * A data folder of `rollcall student` from before the shared core (its own `submissions` table)
 * opens with nothing lost: each row becomes a core record, its sealed entry read back from the
 * session's doc, and a pending one is still pending.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as Y from 'yjs';
import { afterAll, expect, it } from 'vitest';
import { SqliteSubmissionStore } from '../../cli/student/SqliteSubmissionStore.ts';
import { StudentDatabase } from '../../cli/student/StudentDatabase.ts';
import { appendEntry, type Entry } from '../../protocol/index.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';

afterAll(() => removeTempDirs());

/** The schema the terminal client wrote before the core (user_version 1), verbatim. */
const VERSION_1_SCHEMA = `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE doc_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, update_bytes BLOB NOT NULL);
   CREATE INDEX doc_updates_session ON doc_updates(session_id, id);
   CREATE TABLE submissions (
     nonce TEXT PRIMARY KEY, session_id TEXT NOT NULL, course TEXT NOT NULL, student_id TEXT NOT NULL,
     validator_key TEXT NOT NULL, scanned_at_ms INTEGER NOT NULL, state TEXT NOT NULL,
     reason TEXT, flags TEXT, receipt_at_ms INTEGER, created_seq INTEGER NOT NULL);`;

it('[C1] a version-1 data folder is migrated: every submission kept, with its sealed entry, pending ones still pending', async () => {
  const dir = tempDir('rollcall-student-v1-');
  mkdirSync(dir, { recursive: true });
  const old = new Database(join(dir, 'student.db'));
  old.exec(VERSION_1_SCHEMA);
  old.pragma('user_version = 1');
  const entries: Entry[] = ['A', 'B'].map((c) => ({ v: 1, d: 'D'.repeat(43), n: c.repeat(32), c: 'C'.repeat(64) }));
  const doc = new Y.Doc();
  for (const entry of entries) appendEntry(doc, entry);
  old.prepare('INSERT INTO doc_updates(session_id, update_bytes) VALUES (?, ?)').run('s1', Buffer.from(Y.encodeStateAsUpdate(doc)));
  const insert = old.prepare('INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  insert.run(entries[0]!.n, 's1', 'Networks', '2022IMT-048', 'K'.repeat(43), 1_000, 'saved', null, null, null, 0);
  insert.run(entries[1]!.n, 's1', 'Networks', '2022IMT-048', 'K'.repeat(43), 2_000, 'accepted', 'ok', '["new_device"]', 2_500, 1);
  old.close();

  const database = new StudentDatabase(dir);
  const loaded = await new SqliteSubmissionStore(database).loadAll();
  database.close();
  expect(loaded.sort((a, b) => a.scannedAtMs - b.scannedAtMs)).toEqual([
    { nonce: entries[0]!.n, sessionId: 's1', course: 'Networks', studentId: '2022IMT-048', validatorKey: 'K'.repeat(43), qrKey: '', entry: entries[0], scannedAtMs: 1_000, state: 'saved' },
    { nonce: entries[1]!.n, sessionId: 's1', course: 'Networks', studentId: '2022IMT-048', validatorKey: 'K'.repeat(43), qrKey: '', entry: entries[1], scannedAtMs: 2_000, state: 'accepted', reason: 'ok', flags: ['new_device'] },
  ]);
});
