/**
 * The contract of the submission core's two storage interfaces, as data: one list of cases per
 * interface, run in Node against the SQLite implementations (storeContract.sqlite.test.ts) and in
 * real Chromium against the IndexedDB ones (storeContract.idb.test.ts, through
 * idbContractPage.ts). Imports nothing Node- or DOM-only and no test framework: a case throws
 * when the contract is broken.
 */
import * as Y from 'yjs';
import { appendEntry, entriesMap, receiptsMap, encodeReceiptUpdate, type Entry } from '../../protocol/index.ts';
import type { SessionDocStore, Submission, SubmissionStore } from '../../client/core/index.ts';

/** Opens storage by name: the same name again is the same storage after a restart (a reload, a new process). */
export interface StoreHarness {
  openSubmissions(name: string): Promise<SubmissionStore>;
  openDocs(name: string): Promise<SessionDocStore>;
}

export interface ContractCase {
  /** Stable id quoted in the test name, e.g. `SS1`. */
  id: string;
  name: string;
  run(harness: StoreHarness): Promise<void>;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function checkSame(actual: unknown, expected: unknown, message: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\n  expected ${e}\n  got      ${a}`);
}

let counter = 0;
/** A fresh name per case, so cases never see each other's storage. */
function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

function base64UrlOfLength(length: number, fill: string): string {
  return fill.repeat(length).slice(0, length);
}

function sampleEntry(seed: number): Entry {
  return { v: 1, d: base64UrlOfLength(43, 'D'), n: `${String(seed).padStart(6, '0')}${base64UrlOfLength(26, 'N')}`, c: base64UrlOfLength(64, 'C') };
}

function sampleSubmission(seed: number, overrides: Partial<Submission> = {}): Submission {
  const entry = sampleEntry(seed);
  return {
    nonce: entry.n,
    sessionId: 'S'.repeat(22),
    course: 'CS101 Algorithms',
    studentId: '2022IMT-048',
    validatorKey: 'K'.repeat(43),
    qrKey: `payload${seed}.signature`,
    entry,
    scannedAtMs: 1_764_000_000_000 + seed,
    state: 'saved',
    ...overrides,
  };
}

function byNonce(submissions: Submission[]): Submission[] {
  return [...submissions].sort((a, b) => (a.nonce < b.nonce ? -1 : 1));
}

export const SUBMISSION_STORE_CASES: ContractCase[] = [
  {
    id: 'SS1',
    name: 'a new store holds no submission and no clock offset',
    async run(h) {
      const store = await h.openSubmissions(fresh('ss1'));
      checkSame(await store.loadAll(), [], 'loadAll of a new store');
      check((await store.loadClockOffsetMs()) === undefined, 'a new store has no clock offset');
    },
  },
  {
    id: 'SS2',
    name: 'a saved submission comes back whole after a restart, optional fields absent stay absent',
    async run(h) {
      const name = fresh('ss2');
      const saved = sampleSubmission(1);
      await (await h.openSubmissions(name)).save(saved);
      const [loaded, ...more] = await (await h.openSubmissions(name)).loadAll();
      checkSame(more, [], 'only one submission');
      checkSame(loaded, saved, 'the submission after a restart');
      check(loaded && !('reason' in loaded) && !('decidedAtMs' in loaded), 'absent optional fields stay absent');
    },
  },
  {
    id: 'SS3',
    name: 'saving the same nonce again replaces it: saved, then sent, then answered, one record',
    async run(h) {
      const name = fresh('ss3');
      const store = await h.openSubmissions(name);
      const saved = sampleSubmission(2);
      await store.save(saved);
      await store.save({ ...saved, state: 'sent', sentAtMs: saved.scannedAtMs + 100 });
      const answered: Submission = { ...saved, state: 'rejected', reason: 'device_reused', flags: [], sentAtMs: saved.scannedAtMs + 100, decidedAtMs: saved.scannedAtMs + 900 };
      await store.save(answered);
      checkSame(await (await h.openSubmissions(name)).loadAll(), [answered], 'the last save wins, after a restart');
    },
  },
  {
    id: 'SS4',
    name: 'fifty submissions saved one after another all come back',
    async run(h) {
      const name = fresh('ss4');
      const store = await h.openSubmissions(name);
      const all = Array.from({ length: 50 }, (_, i) => sampleSubmission(100 + i, { flags: i % 2 ? ['new_device'] : [] }));
      for (const submission of all) await store.save(submission);
      checkSame(byNonce(await (await h.openSubmissions(name)).loadAll()), byNonce(all), 'all fifty after a restart');
    },
  },
  {
    id: 'SS5',
    name: 'the clock offset is kept across a restart, negative too, and the last one wins',
    async run(h) {
      const name = fresh('ss5');
      const store = await h.openSubmissions(name);
      await store.saveClockOffsetMs(120_000);
      await store.saveClockOffsetMs(-3_456);
      check((await (await h.openSubmissions(name)).loadClockOffsetMs()) === -3_456, 'the last offset after a restart');
    },
  },
  {
    id: 'SS6',
    name: 'course names and student ids in any script come back as written',
    async run(h) {
      const name = fresh('ss6');
      const saved = sampleSubmission(3, { course: 'Théorie des graphes — 图论 🧮', studentId: 'ÅSA-Ø48' });
      await (await h.openSubmissions(name)).save(saved);
      checkSame(await (await h.openSubmissions(name)).loadAll(), [saved], 'unicode fields after a restart');
    },
  },
  {
    id: 'SS7',
    name: 'what a receipt v2 said (present or late, SPEC.md F4) comes back after a restart',
    async run(h) {
      const name = fresh('ss7');
      const late = sampleSubmission(4, { state: 'accepted', reason: 'ok', flags: [], decidedAtMs: 1_764_000_000_900, attendance: 'late' });
      const present = sampleSubmission(5, { state: 'accepted', reason: 'ok', flags: [], decidedAtMs: 1_764_000_000_900, attendance: 'present' });
      const store = await h.openSubmissions(name);
      await store.save(late);
      await store.save(present);
      checkSame(byNonce(await (await h.openSubmissions(name)).loadAll()), byNonce([late, present]), 'attendance after a restart');
    },
  },
];

const SESSION = 'T'.repeat(22);
const OTHER_SESSION = 'U'.repeat(22);

async function reopened(h: StoreHarness, name: string, sessionId: string): Promise<Y.Doc> {
  const doc = new Y.Doc();
  const persisted = await (await h.openDocs(name)).open(sessionId, doc);
  await persisted.close();
  return doc;
}

export const SESSION_DOC_STORE_CASES: ContractCase[] = [
  {
    id: 'SD1',
    name: 'a session never kept opens as an empty doc',
    async run(h) {
      const doc = await reopened(h, fresh('sd1'), SESSION);
      check(entriesMap(doc).size === 0 && receiptsMap(doc).size === 0, 'an empty doc');
    },
  },
  {
    id: 'SD2',
    name: 'an entry appended and flushed is in the doc after a restart',
    async run(h) {
      const name = fresh('sd2');
      const doc = new Y.Doc();
      const persisted = await (await h.openDocs(name)).open(SESSION, doc);
      const entry = sampleEntry(7);
      appendEntry(doc, entry);
      await persisted.flushed();
      await persisted.close();
      checkSame(entriesMap(await reopened(h, name, SESSION)).get(entry.n), entry, 'the entry after a restart');
    },
  },
  {
    id: 'SD3',
    name: 'updates that arrive from the relay (a receipt) are kept too',
    async run(h) {
      const name = fresh('sd3');
      const doc = new Y.Doc();
      const persisted = await (await h.openDocs(name)).open(SESSION, doc);
      const receipt = { v: 1 as const, n: sampleEntry(8).n, rn: base64UrlOfLength(32, 'R'), c: base64UrlOfLength(64, 'C') };
      Y.applyUpdate(doc, encodeReceiptUpdate(receipt), 'relay');
      await persisted.flushed();
      await persisted.close();
      checkSame(receiptsMap(await reopened(h, name, SESSION)).get(receipt.n), receipt, 'the receipt after a restart');
    },
  },
  {
    id: 'SD4',
    name: 'each session has its own doc',
    async run(h) {
      const name = fresh('sd4');
      const doc = new Y.Doc();
      const persisted = await (await h.openDocs(name)).open(SESSION, doc);
      appendEntry(doc, sampleEntry(9));
      await persisted.flushed();
      await persisted.close();
      check(entriesMap(await reopened(h, name, OTHER_SESSION)).size === 0, 'the other session is empty');
      check(entriesMap(await reopened(h, name, SESSION)).size === 1, 'this session holds its entry');
    },
  },
  {
    id: 'SD5',
    name: 'a doc reopened and written again keeps both writes, in one state',
    async run(h) {
      const name = fresh('sd5');
      for (const seed of [10, 11]) {
        const doc = new Y.Doc();
        const persisted = await (await h.openDocs(name)).open(SESSION, doc);
        appendEntry(doc, sampleEntry(seed));
        await persisted.flushed();
        await persisted.close();
      }
      const doc = await reopened(h, name, SESSION);
      checkSame([...entriesMap(doc).keys()].sort(), [sampleEntry(10).n, sampleEntry(11).n].sort(), 'both entries');
    },
  },
  {
    id: 'SD6',
    name: 'two hundred entries written one by one come back with the same state vector',
    async run(h) {
      const name = fresh('sd6');
      const doc = new Y.Doc();
      const persisted = await (await h.openDocs(name)).open(SESSION, doc);
      for (let i = 0; i < 200; i++) appendEntry(doc, sampleEntry(1000 + i));
      await persisted.flushed();
      await persisted.close();
      const again = await reopened(h, name, SESSION);
      check(entriesMap(again).size === 200, `200 entries (got ${entriesMap(again).size})`);
      checkSame([...Y.encodeStateVector(again)], [...Y.encodeStateVector(doc)], 'the same state vector');
    },
  },
];

export const ALL_CASES = [...SUBMISSION_STORE_CASES, ...SESSION_DOC_STORE_CASES];
