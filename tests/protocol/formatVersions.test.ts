/**
 * SPEC.md "Format versions" (F1–F4): entry and receipt plaintexts v1 and v2, and the QR URL's
 * unsigned `rv` hint, as tables. What a reader of the previous release does is checked with the
 * v1 schemas and `parseQrText`, which this release left as they were.
 */
import { describe, expect, it } from 'vitest';
import { entrySharedKey, newBoxKeyPair, openEntry, sealReceipt, toBase64Url } from '../../crypto/index.ts';
import {
  EntryPlaintextSchema,
  EntryPlaintextV1Schema,
  QrJsonSchema,
  ReceiptPlaintextSchema,
  ReceiptPlaintextV1Schema,
  encodeQrPayload,
  openReceiptFor,
  parseQrText,
  parseWith,
  qrEntryVersion,
  qrUrl,
  readScan,
  sealScan,
  type QrPayload,
} from '../../protocol/index.ts';

const validator = newBoxKeyPair();
const payload: QrPayload = {
  v: 1,
  s: '5f0c7d1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f',
  c: 'Networks',
  a: 1_700_000_000,
  e: 1_700_001_200,
  t: 1_700_000_010,
  r: 10,
  k: toBase64Url(validator.publicKey),
};
const qr = { payload_b64: encodeQrPayload(payload), signature: toBase64Url(new Uint8Array(32).fill(9)) };
const entryV1 = { v: 1, student_id: '2022IMT-048', payload_b64: qr.payload_b64, signature: qr.signature, scanned_at: 1_700_000_012_000 };
const receiptV1 = { v: 1, status: 'accepted', reason: 'ok', flags: [], student_id: '2022IMT-048', decided_at: 1_700_000_012_500 };
const rejectedV1 = { ...receiptV1, status: 'rejected', reason: 'stale_qr' };

const accepts = (schema: Parameters<typeof parseWith>[0], value: unknown) => parseWith(schema, value).ok;

describe('entry plaintext versions', () => {
  it.each([
    ['v1', entryV1, true],
    ['v2: the fields of v1 and v: 2', { ...entryV1, v: 2 }, true],
    ['v1 with an unknown field', { ...entryV1, attendance: 'late' }, false],
    ['v2 with an unknown field', { ...entryV1, v: 2, receipt: 2 }, false],
    ['v3', { ...entryV1, v: 3 }, false],
  ])('[F2] this release reads %s: %s', (_name, value, expected) => {
    expect(accepts(EntryPlaintextSchema, value)).toBe(expected);
  });

  it('[F1] a reader of the previous release (the v1 schema, unchanged) reads v1 and refuses v2', () => {
    expect(accepts(EntryPlaintextV1Schema, entryV1)).toBe(true);
    expect(accepts(EntryPlaintextV1Schema, { ...entryV1, v: 2 })).toBe(false);
  });
});

describe('receipt plaintext versions', () => {
  it.each([
    ['v1 accepted', receiptV1, true],
    ['v1 rejected', rejectedV1, true],
    ['v1 with attendance (v1 stays strict)', { ...receiptV1, attendance: 'late' }, false],
    ['v2 accepted present', { ...receiptV1, v: 2, attendance: 'present' }, true],
    ['v2 accepted late', { ...receiptV1, v: 2, attendance: 'late' }, true],
    ['v2 accepted without attendance', { ...receiptV1, v: 2 }, false],
    ['v2 accepted with an unknown attendance', { ...receiptV1, v: 2, attendance: 'excused' }, false],
    ['v2 rejected without attendance', { ...rejectedV1, v: 2 }, true],
    ['v2 rejected with attendance', { ...rejectedV1, v: 2, attendance: 'present' }, false],
    ['v2 with an unknown field', { ...receiptV1, v: 2, attendance: 'late', extra: 1 }, false],
    ['v3', { ...receiptV1, v: 3, attendance: 'late' }, false],
  ])('[F4] this release reads %s: %s', (_name, value, expected) => {
    expect(accepts(ReceiptPlaintextSchema, value)).toBe(expected);
  });

  it('[F1] a reader of the previous release (the v1 schema, unchanged) refuses every v2 receipt, so none is sent to it', () => {
    expect(accepts(ReceiptPlaintextV1Schema, receiptV1)).toBe(true);
    expect(accepts(ReceiptPlaintextV1Schema, { ...receiptV1, v: 2, attendance: 'late' })).toBe(false);
    expect(accepts(ReceiptPlaintextV1Schema, { ...rejectedV1, v: 2 })).toBe(false);
  });
});

describe('the rv hint in the QR', () => {
  const base = 'https://rollcall.example.edu';
  const plainUrl = qrUrl(base, qr);
  const hintedUrl = qrUrl(base, qr, 2);

  it('[F3] the hint goes in the URL query before the fragment; without it the URL is the v1 one', () => {
    expect(plainUrl).toBe(`${base}/#/s/${qr.payload_b64}.${qr.signature}`);
    expect(hintedUrl).toBe(`${base}/?rv=2#/s/${qr.payload_b64}.${qr.signature}`);
  });

  it('[F3] the previous release’s QR reading (parseQrText, QrJsonSchema) ignores the hint and reads the same QR', () => {
    expect(parseQrText(hintedUrl)).toEqual({ ok: true, value: qr });
    expect(parseQrText(JSON.stringify({ ...qr, rv: 2 }))).toEqual({ ok: true, value: qr });
    expect(parseWith(QrJsonSchema, { ...qr, rv: 2 })).toEqual({ ok: true, value: qr });
  });

  it.each([
    ['a URL with rv=2', `${base}/?rv=2#/s/${qr.payload_b64}.${qr.signature}`, 2],
    ['a URL with rv=2 among other parameters', `${base}/?utm=x&rv=2#/s/${qr.payload_b64}.${qr.signature}`, 2],
    ['a URL of an old validator (no hint)', plainUrl, 1],
    ['a URL saying a later version (the newest this release writes)', `${base}/?rv=7#/s/${qr.payload_b64}.${qr.signature}`, 2],
    ['a URL with rv=1', `${base}/?rv=1#/s/${qr.payload_b64}.${qr.signature}`, 1],
    ['a URL with a garbled rv', `${base}/?rv=2x#/s/${qr.payload_b64}.${qr.signature}`, 1],
    ['rv inside the fragment (not the hint’s place)', `${base}/#/s/${qr.payload_b64}.${qr.signature}?rv=2`, 1],
    ['pasted JSON with "rv": 2', JSON.stringify({ ...qr, rv: 2 }), 2],
    ['pasted JSON with "rv": "2" (a string)', JSON.stringify({ ...qr, rv: '2' }), 1],
    ['the seed’s pasted JSON', JSON.stringify(qr), 1],
    ['a bare pair', `${qr.payload_b64}.${qr.signature}`, 1],
  ])('[F3] %s → entry v%s', (_name, text, expected) => {
    expect(qrEntryVersion(text)).toBe(expected);
  });

  it('[F3] a client seals entry v2 for a hinted QR and v1 for an old validator’s QR, with the same fields', () => {
    const device = newBoxKeyPair();
    for (const [text, version] of [[hintedUrl, 2], [plainUrl, 1]] as const) {
      const read = readScan(text, '2022IMT-048');
      if (!read.ok) throw new Error(read.error);
      expect(read.scan.entryVersion).toBe(version);
      const { entry, plaintext } = sealScan(read.scan, entryV1.scanned_at, device);
      expect(plaintext).toEqual({ ...entryV1, v: version });
      const opened = openEntry(entry, entrySharedKey(entry, validator.secretKey)!);
      expect(opened.ok && opened.plaintext).toEqual({ ...entryV1, v: version });
    }
  });
});

describe('a client opening receipts', () => {
  it('[F4] opens a v1 receipt and a v2 receipt of its entry, and keeps what v2 says', () => {
    const device = newBoxKeyPair();
    const read = readScan(qrUrl('http://x', qr, 2), '2022IMT-048');
    if (!read.ok) throw new Error(read.error);
    const { entry } = sealScan(read.scan, entryV1.scanned_at, device);
    const key = entrySharedKey(entry, validator.secretKey)!;
    expect(openReceiptFor(sealReceipt(receiptV1, entry.n, key), payload.k, device, '2022IMT-048')).toEqual(receiptV1);
    const late = { ...receiptV1, v: 2, attendance: 'late' };
    expect(openReceiptFor(sealReceipt(late, entry.n, key), payload.k, device, '2022IMT-048')).toEqual(late);
    expect(openReceiptFor(sealReceipt({ ...receiptV1, v: 2 }, entry.n, key), payload.k, device, '2022IMT-048')).toBeUndefined();
  });
});
