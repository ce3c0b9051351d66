/**
 * A full disk loses nothing (issue 3's durability chain, tested with faults): the relay and the
 * validator run in this process over real sockets and real SQLite files, and their stores are
 * made to fail the way SQLite fails on a full disk (SQLITE_FULL) for a while. The submission
 * waits on the phone, and once space is back it is admitted, decided once, and answered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/index.ts';
import { MemoryTrustStore, Relay, SqliteUpdateStore, type Appended, type ItemKey, type UpdateStore } from '../../relay/index.ts';
import { ValidatorStore, createValidator, issueQr, newSessionRecord, silentLogger, type Validator } from '../../validator/index.ts';
import { startFollowing, validatorIdentity, type FollowerManager } from '../../validator/follow/startFollowing.ts';
import { removeTempDirs, tempDir, waitFor } from '../helpers/processes.ts';
import * as Y from 'yjs';
import { newBoxKeyPair, sealEntry, toBase64Url } from '../../crypto/index.ts';
import { entriesMap, type Entry } from '../../protocol/index.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { connectStudent, qrPayloadOf, type SimulatedStudent } from '../helpers/students.ts';

/** The error better-sqlite3 throws when the disk is full. */
function diskFullError(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

/** A real SQLite store whose writes fail as on a full disk while `isFull` is set. */
class FillableStore implements UpdateStore {
  isFull = false;
  appended = 0;
  constructor(readonly inner: SqliteUpdateStore) {}
  load(room: string) {
    return this.inner.load(room);
  }
  loadSince(room: string, afterId: number) {
    return this.inner.loadSince(room, afterId);
  }
  async append(room: string, update: Uint8Array, keys: readonly ItemKey[]): Promise<Appended> {
    if (this.isFull) throw diskFullError();
    this.appended++;
    return this.inner.append(room, update, keys);
  }
  async replace(room: string, merged: Uint8Array, upToId: number): Promise<void> {
    if (this.isFull) throw diskFullError();
    await this.inner.replace(room, merged, upToId);
  }
  rooms() {
    return this.inner.rooms();
  }
  heads(rooms: readonly string[]) {
    return this.inner.heads(rooms);
  }
  get isOpen() {
    return this.inner.isOpen;
  }
  get holdsKeys() {
    return this.inner.holdsKeys;
  }
  close() {
    return this.inner.close();
  }
}

let server: Server | undefined;
let relay: Relay | undefined;
let following: FollowerManager | undefined;
let store: ValidatorStore | undefined;
let relayStore: FillableStore | undefined;
const phonesToClose: SimulatedStudent[] = [];
const writersToClose: RawRelayClient[] = [];
let validator: Validator | undefined;

afterEach(async () => {
  for (const phone of phonesToClose.splice(0)) phone.close();
  for (const writer of writersToClose.splice(0)) writer.end();
  await following?.close();
  await relay?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await relayStore?.close();
  store?.close();
  validator?.close();
  validator = undefined;
  removeTempDirs();
});

async function startSystem() {
  relayStore = new FillableStore(new SqliteUpdateStore(join(tempDir('rollcall-full-relay-'), 'relay.db')));
  relay = new Relay({ store: relayStore, trust: new MemoryTrustStore() });
  const activeRelay = relay;
  server = createServer((req, res) => {
    if (!activeRelay.handleHttp(req, res)) res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!activeRelay.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store = ValidatorStore.open(tempDir('rollcall-full-validator-'));
  // The relay trusts this validator, as `rollcall start` trusts its own (R10).
  await relay.trust.enrolDirect(toBase64Url(validatorIdentity(store).publicKey), 'disk-full-validator');
  const session = newSessionRecord({ course: 'Networks', duration_minutes: 30, rotate_seconds: 0 }, Date.now());
  store.insertSession(session);
  following = startFollowing({ store, relayUrl: baseUrl, refreshMs: 200 });
  // Phones may connect once the validator opened the room (R9).
  await waitFor(() => activeRelay.trust.isOpened(session.id), { message: 'the validator to open the room' });
  const qr = issueQr(session, Date.now(), baseUrl);
  return { baseUrl, session, qr };
}

function syncDecisions(sessionId: string) {
  return store!.decisionsForSession(sessionId).filter((d) => d.via === 'sync');
}

describe('a full disk delays a submission but never loses it', () => {
  it('validator disk full on the direct path: POST /submit_attendance answers 503 unavailable with Retry-After, then accepts once space is back', async () => {
    const activeValidator = (validator = createValidator({ dataDir: tempDir('rollcall-full-direct-'), logger: silentLogger }));
    server = createServer((req, res) => {
      if (!activeValidator.handleHttp(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const session = newSessionRecord({ course: 'Networks', duration_minutes: 30, rotate_seconds: 0 }, Date.now());
    activeValidator.store.insertSession(session);
    const qr = issueQr(session, Date.now(), baseUrl);
    const realRecord = activeValidator.store.recordDirectDecision.bind(activeValidator.store);
    let isFull = true;
    activeValidator.store.recordDirectDecision = (decision, cap) => {
      if (isFull) throw diskFullError();
      return realRecord(decision, cap);
    };
    const submit = () =>
      fetch(`${baseUrl}/submit_attendance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ student_id: '2022IMT-048', payload_b64: qr.payload_b64, signature: qr.signature }) });
    const refused = await submit();
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ code: 'unavailable', error: expect.stringMatching(/cannot store.*try again/i) });
    expect(activeValidator.store.decisionsForSession(session.id)).toHaveLength(0);
    isFull = false;
    const accepted = await submit();
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ status: 'accepted' });
    expect(activeValidator.store.decisionsForSession(session.id)).toHaveLength(1);
  });


  it('[R5] relay disk full: the update is refused unstored (1013, try again later), the phone keeps it and re-sends once space is back', async () => {
    const { baseUrl, session, qr } = await startSystem();
    const phone = connectStudent(baseUrl, session.id, '2022IMT-048');
    phonesToClose.push(phone);
    await waitFor(() => phone.provider.synced, { message: 'the phone synced' });
    const closes: number[] = [];
    phone.provider.on('connection-close', (event: { code: number } | null) => event && closes.push(event.code));
    relayStore!.isFull = true;
    const entry = phone.submit(qr);
    // The close is the proof: the relay closes only after the append failed, and it broadcasts
    // only what it stored (R5), so nothing can reach the validator after this point.
    await waitFor(() => closes.includes(CloseCode.StoreUnavailable), { message: 'the relay to close with 1013' });
    expect(relayStore!.appended).toBe(0);
    expect(syncDecisions(session.id)).toHaveLength(0);
    relayStore!.isFull = false; // space is back; y-websocket reconnects by itself and re-sends
    expect(await phone.receipt(entry.n, 30_000)).toMatchObject({ status: 'accepted', student_id: '2022IMT-048' });
    expect(syncDecisions(session.id)).toHaveLength(1);
  });

  it('validator disk full: nothing is decided or answered while it lasts, then every entry is decided once', async () => {
    const { baseUrl, session, qr } = await startSystem();
    const realRecord = store!.recordDecisions.bind(store);
    let isFull = true;
    let failedWrites = 0;
    store!.recordDecisions = (decisions) => {
      if (isFull) {
        failedWrites++;
        throw diskFullError();
      }
      return realRecord(decisions);
    };
    const entries = ['A', 'B', 'C'].map((id) => {
      const phone = connectStudent(baseUrl, session.id, `2022IMT-${id}`);
      phonesToClose.push(phone);
      return { phone, entry: phone.submit(qr) };
    });
    await waitFor(() => failedWrites >= 2, { message: 'the validator to retry after a failed write' });
    expect(syncDecisions(session.id)).toHaveLength(0);
    expect(entries.every(({ phone, entry }) => phone.doc.getMap('receipts').get(entry.n) === undefined)).toBe(true);
    isFull = false;
    for (const { phone, entry } of entries) expect(await phone.receipt(entry.n, 30_000)).toMatchObject({ status: 'accepted' });
    const decided = syncDecisions(session.id);
    expect(decided).toHaveLength(3);
    expect(new Set(decided.map((d) => d.nonce))).toEqual(new Set(entries.map((e) => e.entry.n)));
  });

  it('an entry that makes the judge throw delays only itself: the rest of its batch is decided', async () => {
    const { baseUrl, session, qr } = await startSystem();
    const realRecord = store!.recordDecisions.bind(store);
    let poisonNonce = '';
    store!.recordDecisions = (decisions) => {
      if (decisions.some((d) => d.nonce === poisonNonce)) throw new Error('simulated bug on one entry');
      return realRecord(decisions);
    };
    const k = qrPayloadOf(qr).k;
    const students = ['poison', '2022IMT-D', '2022IMT-E', '2022IMT-F'].map((studentId) => {
      const device = newBoxKeyPair();
      const entry = sealEntry({ v: 1, student_id: studentId, payload_b64: qr.payload_b64, signature: qr.signature, scanned_at: Date.now() }, k, device) as Entry;
      return { studentId, device, entry };
    });
    poisonNonce = students[0]!.entry.n;
    const phones = students.slice(1).map((s) => {
      const phone = connectStudent(baseUrl, session.id, s.studentId, { device: s.device });
      phonesToClose.push(phone);
      return phone;
    });
    // All four entries reach the validator in one message (as when a relay replays a room), so
    // they are judged as one batch, and the poisoned one would fail the others with it. They
    // are sent through one `?device=` connection (each from its own Yjs client: R8).
    const writer = await RawRelayClient.connect(baseUrl, session.id, { device: toBase64Url(students[0]!.device.publicKey) });
    writersToClose.push(writer);
    await waitFor(() => phones.every((p) => p.provider.synced), { message: 'phones synced' });
    const updates = students.map(({ entry }) => {
      const scratch = new Y.Doc();
      entriesMap(scratch).set(entry.n, entry);
      return Y.encodeStateAsUpdate(scratch);
    });
    writer.sendUpdate(Y.mergeUpdates(updates));
    for (const [i, phone] of phones.entries()) {
      expect(await phone.receipt(students[i + 1]!.entry.n, 30_000, k)).toMatchObject({ status: 'accepted' });
    }
    expect(store!.getDecision(session.id, poisonNonce)).toBeUndefined();
  });
});
