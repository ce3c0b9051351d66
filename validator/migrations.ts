/**
 * 2 (branch direct-path; renumber at merge if another migration landed first): the socket address
 * of each direct submission, for the `shared_address` flag and the cap on stored rejections per
 * address, and the count of rejections past that cap, answered but not stored (docs/http-api.md).
 * Sync and manual decisions keep `client_address` NULL.
 */
const DIRECT_PATH_CLIENT_ADDRESSES = `ALTER TABLE decisions ADD COLUMN client_address TEXT;
   CREATE INDEX decisions_by_client_address ON decisions (session_id, client_address, status)
     WHERE client_address IS NOT NULL;
   CREATE TABLE unstored_direct_rejections (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     client_address TEXT NOT NULL,
     count INTEGER NOT NULL,
     last_at_ms INTEGER NOT NULL,
     PRIMARY KEY (session_id, client_address)
   );`;

/**
 * The validator's SQLite schema as an ordered list of migrations. `PRAGMA user_version` holds
 * how many have run; each runs once, in its own transaction, so a data folder made by an older
 * version upgrades in place and a newer one is refused instead of being misread.
 * Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: sessions, decisions, device bindings, audit log, relay connection intervals, rosters.
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     course TEXT NOT NULL,
     secret BLOB NOT NULL,
     box_public_key BLOB NOT NULL,
     box_secret_key BLOB NOT NULL,
     starts_at_s INTEGER NOT NULL,
     ends_at_s INTEGER NOT NULL,
     rotate_seconds INTEGER NOT NULL,
     skew_seconds INTEGER NOT NULL,
     late_sync_minutes INTEGER NOT NULL,
     options TEXT NOT NULL DEFAULT '{}',
     created_at_ms INTEGER NOT NULL,
     ended_early_at_ms INTEGER
   );
   CREATE TABLE decisions (
     nonce TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     via TEXT NOT NULL CHECK (via IN ('sync', 'direct', 'manual')),
     student_id TEXT,
     device_key TEXT,
     status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
     reason TEXT NOT NULL,
     flags TEXT NOT NULL DEFAULT '[]',
     slot_s INTEGER,
     scanned_at_ms INTEGER,
     first_seen_ms INTEGER NOT NULL,
     decided_at_ms INTEGER NOT NULL,
     note TEXT,
     revoked_at_ms INTEGER
   );
   -- One standing acceptance per student and session: the store itself refuses a second one,
   -- whichever path (sync, direct, manual) it comes from.
   CREATE UNIQUE INDEX decisions_one_accept ON decisions (session_id, student_id)
     WHERE status = 'accepted' AND revoked_at_ms IS NULL;
   CREATE INDEX decisions_by_session ON decisions (session_id, decided_at_ms);
   CREATE TABLE device_bindings (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     device_key TEXT NOT NULL,
     student_id TEXT NOT NULL,
     bound_at_ms INTEGER NOT NULL,
     PRIMARY KEY (session_id, device_key)
   );
   CREATE INDEX device_bindings_by_student ON device_bindings (student_id, device_key);
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at_ms INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     session_id TEXT,
     detail TEXT NOT NULL DEFAULT '{}'
   );
   CREATE TABLE connection_intervals (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL,
     connected_at_ms INTEGER NOT NULL,
     disconnected_at_ms INTEGER
   );
   CREATE INDEX connection_intervals_by_session ON connection_intervals (session_id, connected_at_ms);
   CREATE TABLE roster (
     course TEXT NOT NULL,
     student_id TEXT NOT NULL,
     PRIMARY KEY (course, student_id)
   );`,
  // 2: the validator's signing identity (Ed25519, SPEC.md R9–R10), and decisions keyed by
  // (session, nonce): a nonce copied into another session's room must not block the honest entry.
  `CREATE TABLE identity (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     sign_public_key BLOB NOT NULL,
     sign_secret_key BLOB NOT NULL,
     created_at_ms INTEGER NOT NULL
   );
   CREATE TABLE decisions_v2 (
     nonce TEXT NOT NULL,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     via TEXT NOT NULL CHECK (via IN ('sync', 'direct', 'manual')),
     student_id TEXT,
     device_key TEXT,
     status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
     reason TEXT NOT NULL,
     flags TEXT NOT NULL DEFAULT '[]',
     slot_s INTEGER,
     scanned_at_ms INTEGER,
     first_seen_ms INTEGER NOT NULL,
     decided_at_ms INTEGER NOT NULL,
     note TEXT,
     revoked_at_ms INTEGER,
     PRIMARY KEY (session_id, nonce)
   );
   INSERT INTO decisions_v2 SELECT nonce, session_id, via, student_id, device_key, status, reason, flags,
     slot_s, scanned_at_ms, first_seen_ms, decided_at_ms, note, revoked_at_ms FROM decisions;
   DROP TABLE decisions;
   ALTER TABLE decisions_v2 RENAME TO decisions;
   CREATE UNIQUE INDEX decisions_one_accept ON decisions (session_id, student_id)
     WHERE status = 'accepted' AND revoked_at_ms IS NULL;
   CREATE INDEX decisions_by_session ON decisions (session_id, decided_at_ms);`,
  // 3: the client address of direct-path submissions (shared_address flag) and the per-address
  // count of rejections answered but not stored.
  DIRECT_PATH_CLIENT_ADDRESSES,
  // 4: the sync path's cap on stored rejections per device and session (SPEC.md "Quotas"):
  // past it a rejection is answered (its receipt is sealed) but only counted here.
  `CREATE INDEX decisions_by_device ON decisions (session_id, device_key, status) WHERE device_key IS NOT NULL;
   CREATE TABLE unstored_sync_rejections (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     device_key TEXT NOT NULL,
     count INTEGER NOT NULL,
     last_at_ms INTEGER NOT NULL,
     PRIMARY KEY (session_id, device_key)
   );`,
  // 5 (branch professor-login; renumber at merge if another migration landed first): one-time
  // dashboard login links and the dashboard logins they open (docs/http-api.md "Dashboard
  // login"). Only SHA-256 hashes of the secrets are stored: a copy of this file (a backup) opens
  // no dashboard. A link is spent by setting used_at_ms, in the same transaction as the login.
  `CREATE TABLE login_links (
     secret_hash TEXT PRIMARY KEY,
     created_at_ms INTEGER NOT NULL,
     expires_at_ms INTEGER NOT NULL,
     used_at_ms INTEGER
   );
   CREATE TABLE professor_logins (
     id_hash TEXT PRIMARY KEY,
     created_at_ms INTEGER NOT NULL,
     expires_at_ms INTEGER NOT NULL
   );`,
  // 6 (branch term; renumber at merge if another migration landed first): courses with their
  // settings (late rule, points, threshold, how ids compare), roster rows with the file's details
  // and a comparison key (unique per course: a re-import updates, never duplicates), and the
  // professor's status marks, each row one change kept for the audit trail (docs/SPEC.md S1–S6).
  // Rosters made before courses existed keep comparing ids exactly (id_case "sensitive"), so
  // their rows' keys are their ids (already trimmed and NFC: the schema made them so).
  `CREATE TABLE courses (
     name TEXT PRIMARY KEY,
     settings TEXT NOT NULL DEFAULT '{}',
     created_at_ms INTEGER NOT NULL
   );
   INSERT INTO courses (name, settings, created_at_ms)
     SELECT DISTINCT course, '{"id_case":"sensitive"}', 0 FROM roster;
   ALTER TABLE roster ADD COLUMN id_key TEXT;
   ALTER TABLE roster ADD COLUMN name TEXT;
   ALTER TABLE roster ADD COLUMN email TEXT;
   ALTER TABLE roster ADD COLUMN section TEXT;
   UPDATE roster SET id_key = student_id;
   CREATE UNIQUE INDEX roster_by_key ON roster (course, id_key);
   CREATE INDEX sessions_by_course ON sessions (course, starts_at_s);
   CREATE TABLE status_marks (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     student_id TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('present', 'late', 'excused', 'absent')),
     before_status TEXT CHECK (before_status IN ('present', 'late', 'excused', 'absent')),
     note TEXT,
     actor TEXT NOT NULL,
     at_ms INTEGER NOT NULL
   );
   CREATE INDEX status_marks_by_session ON status_marks (session_id, id);`,
  // 7: the course of each audit event, kept on the row (GET /audit_log?course=, SPEC.md S9): a
  // deleted test session's row is gone, and its events must still be its course's. Earlier rows
  // take their session's course, else the course their session was created for (its
  // create_session event), else the course their detail names (rosters, settings).
  `ALTER TABLE audit_log ADD COLUMN course TEXT;
   UPDATE audit_log SET course = COALESCE(
     (SELECT course FROM sessions WHERE sessions.id = audit_log.session_id),
     (SELECT json_extract(created.detail, '$.course') FROM audit_log AS created
       WHERE created.action = 'create_session' AND created.session_id = audit_log.session_id),
     (SELECT json_extract(deleted.detail, '$.course') FROM audit_log AS deleted
       WHERE deleted.action = 'delete_session' AND json_extract(deleted.detail, '$.session_id') = audit_log.session_id),
     json_extract(detail, '$.course'));
   UPDATE audit_log SET session_id = json_extract(detail, '$.session_id')
     WHERE action = 'delete_session' AND session_id IS NULL;
   CREATE INDEX audit_log_by_course ON audit_log (course, id);
   CREATE INDEX audit_log_by_session ON audit_log (session_id, id);`,
];
