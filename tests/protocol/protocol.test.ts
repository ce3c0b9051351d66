import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { entrySharedKey, newBoxKeyPair, sealEntry, sealReceipt, toBase64Url } from '../../crypto/index.ts';
import {
  EntryPlaintextSchema,
  ROOT_ENTRIES,
  ROOT_RECEIPTS,
  appendEntry,
  appendReceipt,
  decodeQrPayload,
  encodeQrPayload,
  encodeReceiptUpdate,
  entriesMap,
  isSessionId,
  openReceiptFor,
  readScan,
  sealScan,
  parseEntry,
  parseQrText,
  parseWith,
  plainJsonProblem,
  qrSlotAt,
  qrSlotEndsAt,
  qrUrl,
  receiptsMap,
  type QrPayload,
} from '../../protocol/index.ts';

const payload: QrPayload = {
  v: 1,
  s: '5f0c7d1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f',
  c: 'Networks',
  a: 1_700_000_000,
  e: 1_700_001_200,
  t: 1_700_000_010,
  r: 10,
  k: toBase64Url(newBoxKeyPair().publicKey),
};
const signature = toBase64Url(new Uint8Array(32).fill(9));

describe('QR payload', () => {
  it('round-trips through payload_b64', () => {
    const b64 = encodeQrPayload(payload);
    expect(b64).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeQrPayload(b64)).toEqual({ ok: true, value: payload });
  });

  it('refuses a payload with a wrong field, an extra field, or that is not JSON', () => {
    const wrong = (p: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(p)));
    expect(decodeQrPayload(wrong({ ...payload, v: 2 })).ok).toBe(false);
    expect(decodeQrPayload(wrong({ ...payload, s: 'not-a-uuid' })).ok).toBe(false);
    expect(decodeQrPayload(wrong({ ...payload, k: 'AAAA' })).ok).toBe(false);
    expect(decodeQrPayload(wrong({ ...payload, c: 'x'.repeat(65) })).ok).toBe(false);
    expect(decodeQrPayload(wrong({ ...payload, extra: 1 })).ok).toBe(false);
    expect(decodeQrPayload(toBase64Url(new TextEncoder().encode('not json'))).ok).toBe(false);
    expect(decodeQrPayload('***').ok).toBe(false);
  });
});

describe('QR text in its three forms', () => {
  const qr = { payload_b64: encodeQrPayload(payload), signature };

  it('reads the app URL, the bare pair and the seed’s pasted JSON alike', () => {
    const url = qrUrl('https://rollcall.example.edu/', qr);
    expect(url).toBe(`https://rollcall.example.edu/#/s/${qr.payload_b64}.${signature}`);
    expect(parseQrText(url)).toEqual({ ok: true, value: qr });
    expect(parseQrText(`  ${qr.payload_b64}.${signature}\n`)).toEqual({ ok: true, value: qr });
    expect(parseQrText(JSON.stringify(qr))).toEqual({ ok: true, value: qr });
  });

  it('explains what is wrong with text that is no Rollcall QR', () => {
    for (const text of ['', 'hello world', '{"payload_b64":1}', '{broken', `https://x/#/s/${qr.payload_b64}`, `${qr.payload_b64}.short`]) {
      const parsed = parseQrText(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(3);
    }
  });
});

describe('slot maths', () => {
  it('aligns rotating slots on the session start and keeps a static QR’s issue time', () => {
    const timing = { startsAtS: 1000, rotateSeconds: 10 };
    expect(qrSlotAt(timing, 1000)).toBe(1000);
    expect(qrSlotAt(timing, 1009.9)).toBe(1000);
    expect(qrSlotAt(timing, 1010)).toBe(1010);
    expect(qrSlotAt(timing, 995)).toBe(990); // before the start: a slot before `a`, so outside_window
    expect(qrSlotEndsAt(timing, 1010)).toBe(1020);
    expect(qrSlotAt({ startsAtS: 1000, rotateSeconds: 0 }, 1234.5)).toBe(1234);
    expect(qrSlotEndsAt({ startsAtS: 1000, rotateSeconds: 0 }, 1234)).toBeUndefined();
  });
});

describe('schemas', () => {
  it('accepts a sealed entry and refuses one over 2 KiB or with a bad field', () => {
    const entry = sealEntry({ v: 1 }, payload.k, newBoxKeyPair());
    expect(parseEntry(entry).ok).toBe(true);
    expect(parseEntry({ ...entry, c: 'A'.repeat(2100) }).ok).toBe(false);
    expect(parseEntry({ ...entry, d: entry.n }).ok).toBe(false);
    expect(parseEntry({ ...entry, v: '1' }).ok).toBe(false);
    expect(parseEntry([entry]).ok).toBe(false);
    expect(parseEntry(null).ok).toBe(false);
  });

  it('[R2] plainJsonProblem accepts plain JSON and names what lib0 can decode but JSON cannot hold', () => {
    expect(plainJsonProblem({ a: [1, 'x', null, true, { b: -0.5 }] })).toBeUndefined();
    for (const value of [{ a: 1n }, { a: undefined }, { a: new Uint8Array(2) }, { a: Number.NaN }, { a: [Infinity] }, Object.create({ a: 1 }), Object.create(null), JSON.parse('{"__proto__": {"a": 1}}')]) {
      expect(plainJsonProblem(value)).toMatch(/./);
    }
  });

  it('student ids refuse control characters, blanks and padding', () => {
    const base = { v: 1, payload_b64: 'abc', signature, scanned_at: 1 };
    expect(parseWith(EntryPlaintextSchema, { ...base, student_id: '2022IMT-048' }).ok).toBe(true);
    for (const id of ['', ' 2022IMT-048', 'a\u0000b', 'a\nb', 'x'.repeat(65), 'a\u202Eb']) {
      expect(parseWith(EntryPlaintextSchema, { ...base, student_id: id }).ok).toBe(false);
    }
  });

  it('session ids are lowercase UUIDs only', () => {
    expect(isSessionId(payload.s)).toBe(true);
    expect(isSessionId(payload.s.toUpperCase())).toBe(false);
    expect(isSessionId('../etc/passwd')).toBe(false);
    expect(isSessionId(42)).toBe(false);
  });
});

describe('session document layout', () => {
  it('an entry is a first write of its key: no origin, no deletion', () => {
    const doc = new Y.Doc();
    const entry = sealEntry({ v: 1 }, payload.k, newBoxKeyPair());
    let update: Uint8Array | undefined;
    doc.on('update', (u: Uint8Array) => (update = u));
    expect(appendEntry(doc, entry)).toBe(true);
    expect(appendEntry(doc, entry)).toBe(false); // never overwritten
    const decoded = Y.decodeUpdate(update!);
    expect(decoded.ds.clients.size).toBe(0);
    expect(decoded.structs).toHaveLength(1);
    const item = decoded.structs[0] as Y.Item;
    expect(item.parent).toBe(ROOT_ENTRIES);
    expect(item.parentSub).toBe(entry.n);
    expect(item.origin).toBeNull();
    expect(entriesMap(doc).get(entry.n)).toEqual(entry);
  });

  it('each receipt comes from a fresh client at clock 0, whatever the doc already holds', () => {
    const doc = new Y.Doc();
    const receipt = { v: 1 as const, n: toBase64Url(new Uint8Array(24).fill(1)), rn: toBase64Url(new Uint8Array(24).fill(2)), c: 'A'.repeat(40) };
    const other = { ...receipt, n: toBase64Url(new Uint8Array(24).fill(3)) };
    expect(appendReceipt(doc, receipt)).toBe(true);
    expect(appendReceipt(doc, receipt)).toBe(false);
    const update = encodeReceiptUpdate(other);
    const decoded = Y.decodeUpdate(update);
    expect(decoded.structs).toHaveLength(1);
    expect(decoded.structs[0]!.id.clock).toBe(0);
    expect((decoded.structs[0] as Y.Item).parent).toBe(ROOT_RECEIPTS);
    expect(appendReceipt(doc, other)).toBe(true);
    expect(receiptsMap(doc).size).toBe(2);
  });

  it('a receipt update is byte for byte what a scratch Y.Doc holding only that receipt encodes', () => {
    const receipt = { v: 1 as const, n: toBase64Url(new Uint8Array(24).fill(4)), rn: toBase64Url(new Uint8Array(24).fill(5)), c: 'B'.repeat(40) };
    const scratch = new Y.Doc();
    scratch.clientID = 123456789;
    receiptsMap(scratch).set(receipt.n, { ...receipt });
    expect(encodeReceiptUpdate(receipt, 123456789)).toEqual(Y.encodeStateAsUpdate(scratch));
    // Fresh clients: two receipts never share one (R8 would refuse the second).
    const clients = new Set(Array.from({ length: 200 }, () => Y.decodeUpdate(encodeReceiptUpdate(receipt)).structs[0]!.id.client));
    expect(clients.size).toBe(200);
  });
});

describe('a scan on a student client (readScan, sealScan, openReceiptFor)', () => {
  const validator = newBoxKeyPair();
  const scanPayload = { ...payload, k: toBase64Url(validator.publicKey) };
  const qr = { payload_b64: encodeQrPayload(scanPayload), signature };

  it('names what is wrong with a scan: the QR text, its payload, or the student id', () => {
    expect(readScan('hello', '2022IMT-048')).toMatchObject({ ok: false, problem: 'not_rollcall_qr' });
    expect(readScan(`${toBase64Url(new TextEncoder().encode('{}'))}.${signature}`, '2022IMT-048')).toMatchObject({ ok: false, problem: 'damaged_payload' });
    expect(readScan(JSON.stringify(qr), ' padded ')).toMatchObject({ ok: false, problem: 'bad_student_id' });
    expect(readScan(JSON.stringify(qr), '2022IMT-048')).toEqual({ ok: true, scan: { qr, payload: scanPayload, studentId: '2022IMT-048', entryVersion: 1 } });
  });

  it('seals the NFC spelling of the student id, and takes an NFC receipt for an id saved in NFD', () => {
    const read = readScan(JSON.stringify(qr), 'Jose\u0301');
    if (!read.ok) throw new Error(read.error);
    expect(read.scan.studentId).toBe('Jos\u00e9');
    const device = newBoxKeyPair();
    const { entry, plaintext } = sealScan(read.scan, 1, device);
    expect(plaintext.student_id).toBe('Jos\u00e9');
    const receipt = sealReceipt({ v: 1, status: 'accepted', reason: 'ok', flags: [], student_id: 'Jos\u00e9', decided_at: 1 }, entry.n, entrySharedKey(entry, validator.secretKey)!);
    expect(openReceiptFor(receipt, scanPayload.k, device, 'Jose\u0301')).toMatchObject({ status: 'accepted' });
  });

  it('accepts only a receipt that opens and names this student (or none, for malformed)', () => {
    const read = readScan(JSON.stringify(qr), '2022IMT-048');
    if (!read.ok) throw new Error(read.error);
    const device = newBoxKeyPair();
    const { entry, plaintext } = sealScan(read.scan, 1_700_000_000_123.4, device);
    expect(plaintext.scanned_at).toBe(1_700_000_000_123);
    const key = entrySharedKey(entry, validator.secretKey)!;
    const answer = (studentId: string) => sealReceipt({ v: 1, status: 'accepted', reason: 'ok', flags: [], student_id: studentId, decided_at: 1 }, entry.n, key);
    expect(openReceiptFor(answer('2022IMT-048'), scanPayload.k, device, '2022IMT-048')).toMatchObject({ status: 'accepted' });
    expect(openReceiptFor(answer(''), scanPayload.k, device, '2022IMT-048')).toMatchObject({ student_id: '' });
    expect(openReceiptFor(answer('someone-else'), scanPayload.k, device, '2022IMT-048')).toBeUndefined();
    expect(openReceiptFor(answer('2022IMT-048'), scanPayload.k, newBoxKeyPair(), '2022IMT-048')).toBeUndefined();
    expect(openReceiptFor(undefined, scanPayload.k, device, '2022IMT-048')).toBeUndefined();
  });
});
