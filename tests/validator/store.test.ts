/** ValidatorStore over a real SQLite file: schema and migrations, durability settings, idempotent batches, bindings, identity. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { newBoxKeyPair } from '../../crypto/index.ts';
import { decideAndRecord, ValidatorStore, type Decision } from '../../validator/index.ts';
import { MIGRATIONS } from '../../validator/migrations.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';
import { T0_S, entryInput, makeSession, qrAt, sealedEntry } from './fixtures.ts';

afterEach(() => removeTempDirs());

function decision(overrides: Partial<Decision> = {}): Decision {
  return { nonce: 'n1', sessionId: 's', via: 'sync', status: 'accepted', reason: 'ok', flags: [], studentId: 'A', deviceKey: 'dev1', firstSeenMs: 1, decidedAtMs: 2, ...overrides };
}

describe('ValidatorStore', () => {
  it('creates the schema at the latest version, in WAL mode with synchronous FULL, file mode 0600', () => {
    const dir = tempDir();
    const store = ValidatorStore.open(dir);
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    store.close();
    expect(statSync(join(dir, 'validator.db')).mode & 0o777).toBe(0o600);
    const raw = new Database(join(dir, 'validator.db'));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const reopened = ValidatorStore.open(dir);
    expect(reopened.durability()).toEqual({ journalMode: 'wal', synchronous: 2 });
    reopened.close();
  });

  it('opens read-only beside its owner: reads what the owner wrote, counts rows per table, refuses every write', () => {
    const dir = tempDir();
    const owner = ValidatorStore.open(dir);
    const session = makeSession();
    owner.insertSession(session);
    owner.recordDecision(decision({ sessionId: session.id }));
    const interval = owner.recordConnected(session.id, 10);
    const reader = ValidatorStore.openReadOnly(dir);
    expect(reader.getDecision(session.id, 'n1')).toMatchObject({ studentId: 'A', status: 'accepted' });
    expect(reader.getSession(session.id)?.secret).toEqual(session.secret);
    expect(reader.rowCounts()).toMatchObject({ sessions: 1, decisions: 1, connection_intervals: 1 });
    expect(() => reader.recordDecision(decision({ sessionId: session.id, nonce: 'n2' }))).toThrow(/readonly/i);
    reader.close();
    // Opening a reader repaired nothing: the owner's interval is still open.
    expect(owner.wasConnectedThroughout(session.id, 10, 10_000)).toBe(true);
    owner.recordDisconnected(interval, 20);
    owner.close();
    expect(() => ValidatorStore.openReadOnly(tempDir())).toThrow();
  });

  it('refuses a database from a newer Rollcall instead of misreading it', () => {
    const dir = tempDir();
    ValidatorStore.open(dir).close();
    const raw = new Database(join(dir, 'validator.db'));
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => ValidatorStore.open(dir)).toThrow(/newer than this Rollcall/);
  });

  it('keeps sessions (with secrets) and decisions across a reopen', () => {
    const dir = tempDir();
    const session = makeSession();
    let store = ValidatorStore.open(dir);
    store.insertSession(session);
    store.recordDecision(decision({ sessionId: session.id }));
    store.close();
    store = ValidatorStore.open(dir);
    expect(store.getSession(session.id)).toEqual(session);
    expect(store.getDecision(session.id, 'n1')).toMatchObject({ studentId: 'A', status: 'accepted' });
    expect(store.getDecision(makeSession().id, 'n1')).toBeUndefined(); // decisions are per session
    store.close();
  });

  it('upgrades a version-1 database in place: its decisions are kept, now keyed by (session, nonce)', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'validator.db'));
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO sessions (id, course, secret, box_public_key, box_secret_key, starts_at_s, ends_at_s, rotate_seconds, skew_seconds, late_sync_minutes, created_at_ms)
      VALUES ('s1', 'Networks', x'00', x'00', x'00', 1, 2, 10, 2, 10, 1)`).run();
    raw.prepare(`INSERT INTO decisions (nonce, session_id, via, student_id, device_key, status, reason, first_seen_ms, decided_at_ms)
      VALUES ('n1', 's1', 'sync', 'A', 'dev1', 'accepted', 'ok', 1, 2)`).run();
    raw.close();
    const store = ValidatorStore.open(dir);
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    expect(store.getDecision('s1', 'n1')).toMatchObject({ sessionId: 's1', studentId: 'A', status: 'accepted' });
    store.close();
  });

  it('[S9] upgrades a version-6 audit log in place: each event gets its course, a deleted session’s too, and a deletion its session', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'validator.db'));
    for (const migration of MIGRATIONS.slice(0, 6)) raw.exec(migration);
    raw.pragma('user_version = 6');
    raw.prepare(`INSERT INTO sessions (id, course, secret, box_public_key, box_secret_key, starts_at_s, ends_at_s, rotate_seconds, skew_seconds, late_sync_minutes, created_at_ms)
      VALUES ('kept', 'Networks', x'00', x'00', x'00', 1, 2, 10, 2, 10, 1)`).run();
    const audit = raw.prepare(`INSERT INTO audit_log (at_ms, actor, action, session_id, detail) VALUES (?, 'professor', ?, ?, ?)`);
    audit.run(1, 'set_roster', null, JSON.stringify({ course: 'Networks', students: 2 }));
    audit.run(2, 'create_session', 'kept', JSON.stringify({ course: 'Networks' }));
    audit.run(3, 'create_session', 'gone', JSON.stringify({ course: 'Networks' }));
    audit.run(4, 'end_session', 'gone', '{}');
    audit.run(5, 'delete_session', null, JSON.stringify({ session_id: 'gone', course: 'Networks', rejections_deleted: 0 }));
    audit.run(6, 'end_session', 'kept', '{}');
    audit.run(7, 'login', null, '{}');
    raw.close();
    const store = ValidatorStore.open(dir);
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    const networks = store.auditPage({ course: 'Networks', limit: 100 });
    expect(networks.map((event) => [event.action, event.sessionId ?? null])).toEqual([
      ['end_session', 'kept'],
      ['delete_session', 'gone'],
      ['end_session', 'gone'],
      ['create_session', 'gone'],
      ['create_session', 'kept'],
      ['set_roster', null],
    ]);
    expect(store.auditPage({ limit: 100 }).map((event) => event.action)).toContain('login');
    store.close();
  });

  it('keeps one signing identity: made on first use, the same after a reopen', () => {
    const dir = tempDir();
    let store = ValidatorStore.open(dir);
    let made = 0;
    const makeKeyPair = () => (made++, { publicKey: new Uint8Array(32).fill(7), secretKey: new Uint8Array(64).fill(9) });
    const first = store.signingIdentity(makeKeyPair);
    expect(store.signingIdentity(makeKeyPair)).toEqual(first);
    store.close();
    store = ValidatorStore.open(dir);
    expect(store.signingIdentity(makeKeyPair)).toEqual(first);
    expect(made).toBe(1);
    store.close();
  });

  it('recordDecisions is idempotent per nonce and turns a second acceptance of a student into duplicate', () => {
    const store = ValidatorStore.open(tempDir());
    const session = makeSession();
    store.insertSession(session);
    const first = decision({ sessionId: session.id });
    const [stored] = store.recordDecisions([first]);
    expect(stored).toMatchObject({ status: 'accepted' });
    const [replayed] = store.recordDecisions([{ ...first, status: 'rejected', reason: 'stale_qr' }]);
    expect(replayed).toMatchObject({ status: 'accepted', reason: 'ok' });
    const [second] = store.recordDecisions([decision({ sessionId: session.id, nonce: 'n2', deviceKey: 'dev2' })]);
    expect(second).toMatchObject({ status: 'rejected', reason: 'duplicate' });
    expect(store.countDecisions(session.id)).toEqual({ decisions: 2, accepted: 1, rejected: 1 });
    expect(store.deviceBinding(session.id, 'dev1')).toBe('A');
    expect(store.deviceBinding(session.id, 'dev2')).toBeUndefined();
    expect(store.studentDevices('A')).toEqual(['dev1']);
    store.close();
  });

  it('a nonce is one decision per session: the same nonce in another session is decided there on its own', () => {
    const store = ValidatorStore.open(tempDir());
    const honest = makeSession();
    const other = makeSession();
    store.insertSession(honest);
    store.insertSession(other);
    // An entry copied into another session's room must not block the honest one.
    const [copied] = store.recordDecisions([decision({ sessionId: other.id, status: 'rejected', reason: 'undecryptable', studentId: undefined })]);
    const [original] = store.recordDecisions([decision({ sessionId: honest.id })]);
    expect(copied).toMatchObject({ sessionId: other.id, status: 'rejected' });
    expect(original).toMatchObject({ sessionId: honest.id, status: 'accepted' });
    expect(store.getDecision(honest.id, 'n1')).toMatchObject({ status: 'accepted' });
    expect(store.getDecision(other.id, 'n1')).toMatchObject({ status: 'rejected', reason: 'undecryptable' });
    store.close();
  });

  it('decideAndRecord decides a batch once: two entries of one student in one batch give one acceptance', () => {
    const store = ValidatorStore.open(tempDir());
    const session = makeSession();
    store.insertSession(session);
    const nowMs = (T0_S + 60) * 1000;
    const qr = qrAt(session, nowMs);
    const device = newBoxKeyPair();
    const a = sealedEntry(session, { qr, scannedAtMs: nowMs, device });
    const b = sealedEntry(session, { qr, scannedAtMs: nowMs, device });
    const other = sealedEntry(session, { qr, scannedAtMs: nowMs, device, studentId: 'someone-else' });
    const results = decideAndRecord(store, session, [entryInput(a, nowMs), entryInput(b, nowMs), entryInput(a, nowMs), entryInput(other, nowMs)], nowMs);
    expect(results.map((result) => result.decision.reason)).toEqual(['ok', 'duplicate', 'ok', 'device_reused']);
    expect(results[0]!.sharedKey).toBeInstanceOf(Uint8Array);
    const again = decideAndRecord(store, session, [entryInput(a, nowMs + 1)], nowMs + 1);
    expect(again[0]).toMatchObject({ isNew: false, decision: { reason: 'ok', decidedAtMs: nowMs } });
    expect(store.countDecisions(session.id)).toEqual({ decisions: 3, accepted: 1, rejected: 2 });
    store.close();
  });

  it('upgrades a version-1 database in place: its decisions stay, with no client address', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'validator.db'));
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO sessions (id, course, secret, box_public_key, box_secret_key, starts_at_s, ends_at_s, rotate_seconds, skew_seconds, late_sync_minutes, created_at_ms)
      VALUES ('s', 'Networks', x'00', x'00', x'00', 0, 1, 10, 120, 1440, 0)`).run();
    raw.prepare(`INSERT INTO decisions (nonce, session_id, via, student_id, status, reason, first_seen_ms, decided_at_ms) VALUES ('http:old', 's', 'direct', 'A', 'accepted', 'ok', 1, 2)`).run();
    raw.close();
    const store = ValidatorStore.open(dir);
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    expect(store.getDecision('s', 'http:old')).toEqual({ nonce: 'http:old', sessionId: 's', via: 'direct', status: 'accepted', reason: 'ok', flags: [], studentId: 'A', firstSeenMs: 1, decidedAtMs: 2 });
    expect(store.getSession('s')?.options).toEqual({});
    store.recordDecision(decision({ sessionId: 's', nonce: 'http:new', via: 'direct', studentId: 'B', deviceKey: undefined, status: 'rejected', reason: 'duplicate', clientAddress: '10.0.0.5' }));
    expect(store.getDecision('s', 'http:new')).toMatchObject({ clientAddress: '10.0.0.5' });
    expect(store.wasAddressUsedByAnotherStudent('s', '10.0.0.5', 'C')).toBe(true);
    expect(store.wasAddressUsedByAnotherStudent('s', '10.0.0.5', 'B')).toBe(false);
    expect(store.wasAddressUsedByAnotherStudent('s', '10.0.0.6', 'C')).toBe(false);
    expect(store.wasAddressUsedByAnotherStudent('other-session', '10.0.0.5', 'C')).toBe(false);
    store.close();
  });

  it('decideAndRecord flags shared_address within one batch of direct submissions from one address', () => {
    const store = ValidatorStore.open(tempDir());
    const session = makeSession();
    store.insertSession(session);
    const nowMs = (T0_S + 60) * 1000;
    const qr = qrAt(session, nowMs);
    const direct = (nonce: string, studentId: string, clientAddress: string) =>
      ({ kind: 'direct' as const, nonce, student_id: studentId, payload_b64: qr.payload_b64, signature: qr.signature, receivedMs: nowMs, clientAddress });
    const results = decideAndRecord(store, session, [direct('http:1', 'A', '10.0.0.5'), direct('http:2', 'B', '10.0.0.5'), direct('http:3', 'C', '10.0.0.6')], nowMs);
    expect(results.map((result) => result.decision.flags)).toEqual([[], ['shared_address'], []]);
    store.close();
  });

  it('records connection intervals and answers whether one covered a span; a crash closes dangling ones', () => {
    const dir = tempDir();
    let store = ValidatorStore.open(dir);
    const id = store.recordConnected('s', 1000);
    expect(store.wasConnectedThroughout('s', 1500, 9999)).toBe(true);
    store.recordDisconnected(id, 5000);
    expect(store.wasConnectedThroughout('s', 1500, 4000)).toBe(true);
    expect(store.wasConnectedThroughout('s', 1500, 6000)).toBe(false);
    store.recordConnected('s', 7000);
    store.close();
    store = ValidatorStore.open(dir);
    expect(store.wasConnectedThroughout('s', 7000, 8000)).toBe(false);
    store.close();
  });

  it('manual overrides: accept once, revoke a standing acceptance, audit both', () => {
    const store = ValidatorStore.open(tempDir());
    const session = makeSession();
    store.insertSession(session);
    const audit = { atMs: 1, actor: 'professor', action: 'override', sessionId: session.id };
    const manual = decision({ sessionId: session.id, nonce: 'manual:1', via: 'manual', deviceKey: undefined });
    expect(store.recordManualDecision(manual, audit)).toBe('inserted');
    expect(store.recordManualDecision({ ...manual, nonce: 'manual:2' }, audit)).toBe('exists');
    expect(store.revokeAcceptance(session.id, 'A', { ...manual, nonce: 'manual:3', status: 'rejected', reason: 'manual' }, audit)).toBe(true);
    expect(store.acceptedStudent(session.id, 'A')).toBeUndefined();
    expect(store.revokeAcceptance(session.id, 'A', { ...manual, nonce: 'manual:4', status: 'rejected', reason: 'manual' }, audit)).toBe(false);
    expect(store.auditLog(session.id)).toHaveLength(2);
    store.close();
  });

  it('rosters: undefined without one, membership with one', () => {
    const store = ValidatorStore.open(tempDir());
    expect(store.isOnRoster('Networks', 'A')).toBeUndefined();
    store.setRoster('Networks', ['A']);
    expect(store.isOnRoster('Networks', 'A')).toBe(true);
    expect(store.isOnRoster('Networks', 'B')).toBe(false);
    store.close();
  });

  it('lists the sessions still open for entries: until end + late_sync_minutes + grace', () => {
    const store = ValidatorStore.open(tempDir());
    const endsAtS = T0_S + 1200;
    const live = makeSession({ endsAtS, lateSyncMinutes: 10 });
    const noGrace = makeSession({ endsAtS, lateSyncMinutes: 0 });
    store.insertSession(live);
    store.insertSession(noGrace);
    const justAfterEnd = endsAtS * 1000 + 60_000;
    expect(store.sessionIdsOpenForEntries(justAfterEnd, 0).sort()).toEqual([live.id]);
    expect(store.sessionIdsOpenForEntries(justAfterEnd, 60_000).sort()).toEqual([live.id, noGrace.id].sort());
    expect(store.sessionIdsOpenForEntries(endsAtS * 1000 + 11 * 60_000, 0)).toEqual([]);
    // What the follower's room grants say: phones write until end + late_sync_minutes.
    expect(store.sessionsOpenForEntries(justAfterEnd, 0)).toEqual([{ id: live.id, writesUntilMs: endsAtS * 1000 + 10 * 60_000 }]);
    store.close();
  });

  it('[quota] past the cap per device and session, a sync rejection is answered but only counted; replays and other devices are unaffected', () => {
    const store = ValidatorStore.open(tempDir());
    const session = makeSession();
    store.insertSession(session);
    store.maxStoredRejectionsPerDevice = 3;
    const junk = (i: number, deviceKey = 'junk-device') =>
      decision({ sessionId: session.id, nonce: `n${deviceKey}${i}`, status: 'rejected', reason: 'undecryptable', studentId: undefined, deviceKey });
    const results = store.recordDecisions([0, 1, 2, 3, 4].map((i) => junk(i)));
    // Every one is answered with its own decision (the receipt is still sealed)…
    expect(results.map((d) => d.reason)).toEqual(Array(5).fill('undecryptable'));
    // …but only three are stored, and two are counted.
    expect(store.decisionsForSession(session.id)).toHaveLength(3);
    expect(store.unstoredSyncRejections(session.id)).toEqual([{ deviceKey: 'junk-device', count: 2, lastAtMs: 2 }]);
    // A replay of a stored rejection keeps its stored answer; another device has its own cap;
    // acceptances are never capped.
    expect(store.recordDecision(junk(0))).toMatchObject({ nonce: 'njunk-device0' });
    expect(store.unstoredSyncRejections(session.id)[0]!.count).toBe(2);
    store.recordDecision(junk(0, 'honest-device'));
    store.recordDecision(decision({ sessionId: session.id, nonce: 'accepted-1', deviceKey: 'junk-device', studentId: 'Z' }));
    expect(store.decisionsForSession(session.id)).toHaveLength(5);
    store.close();
  });
});
