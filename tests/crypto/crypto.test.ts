import { createHmac, randomBytes as nodeRandomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  constantTimeEqual,
  entrySharedKey,
  fromBase64Url,
  hmacSha256,
  newBoxKeyPair,
  openEntry,
  openReceipt,
  sealEntry,
  sealReceipt,
  signQr,
  toBase64Url,
  tryFromBase64Url,
  verifyQr,
} from '../../crypto/index.ts';

function flipBit(text: string, index: number): string {
  const bytes = fromBase64Url(text);
  bytes[index] = bytes[index]! ^ 0x01;
  return toBase64Url(bytes);
}

describe('base64url', () => {
  it('round-trips every length 0..64 and matches Node’s encoder', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = new Uint8Array(nodeRandomBytes(length));
      const text = toBase64Url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64Url(text)).toEqual(bytes);
    }
  });

  it('refuses padding, foreign characters, impossible lengths and non-canonical trailing bits', () => {
    expect(tryFromBase64Url('AAAA=')).toBeUndefined();
    expect(tryFromBase64Url('AA+A')).toBeUndefined();
    expect(tryFromBase64Url('AA/A')).toBeUndefined();
    expect(tryFromBase64Url('A')).toBeUndefined();
    expect(tryFromBase64Url('AAAAA')).toBeUndefined();
    expect(tryFromBase64Url('AB')).toBeUndefined(); // 'B' leaves a set trailing bit: only 'AA'..'AQ'.. canonical
    expect(tryFromBase64Url('AA')).toEqual(new Uint8Array([0]));
    expect(tryFromBase64Url('héllo')).toBeUndefined();
  });
});

describe('HMAC-SHA256 and the QR signature', () => {
  const secret = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
  const payloadB64 = 'eyJ2IjoxLCJzIjoiYWJjIn0';

  it('matches node:crypto’s HMAC for a fixed test vector', async () => {
    const expected = createHmac('sha256', Buffer.from(secret)).update(payloadB64, 'ascii').digest('base64url');
    const qr = await signQr(secret, payloadB64);
    expect(qr).toEqual({ payload_b64: payloadB64, signature: expected });
    // RFC 4231 test case 2, to pin the primitive itself.
    const mac = await hmacSha256(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?'));
    expect(Buffer.from(mac).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('verifies a genuine QR and refuses one flipped bit in the signature or the payload', async () => {
    const qr = await signQr(secret, payloadB64);
    expect(await verifyQr(secret, qr)).toBe(true);
    for (let i = 0; i < 32; i += 7) {
      expect(await verifyQr(secret, { ...qr, signature: flipBit(qr.signature, i) })).toBe(false);
    }
    expect(await verifyQr(secret, { ...qr, payload_b64: flipBit(payloadB64, 3) })).toBe(false);
    expect(await verifyQr(secret, { ...qr, payload_b64: payloadB64 + 'A' })).toBe(false);
    expect(await verifyQr(secret, { ...qr, signature: qr.signature.slice(0, 42) })).toBe(false);
    expect(await verifyQr(secret, { ...qr, signature: '' })).toBe(false);
  });

  it('refuses a signature made with another secret', async () => {
    const other = await signQr(new Uint8Array(32).fill(7), payloadB64);
    expect(await verifyQr(secret, other)).toBe(false);
  });

  it('compares in constant time over equal lengths', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

describe('sealed entries and receipts', () => {
  const validator = newBoxKeyPair();
  const device = newBoxKeyPair();
  const k = toBase64Url(validator.publicKey);
  const plaintext = { v: 1, student_id: '2022IMT-048', payload_b64: 'abc', signature: 'def', scanned_at: 1_700_000_000_000 };

  it('an entry opens with the validator’s key and is exactly nacl.box(plaintext, n, k, device secret)', () => {
    const entry = sealEntry(plaintext, k, device);
    expect(entry.v).toBe(1);
    expect(fromBase64Url(entry.d)).toEqual(device.publicKey);
    expect(fromBase64Url(entry.n)).toHaveLength(24);
    const viaNacl = nacl.box(new TextEncoder().encode(JSON.stringify(plaintext)), fromBase64Url(entry.n), validator.publicKey, device.secretKey);
    expect(entry.c).toBe(toBase64Url(viaNacl));
    const key = entrySharedKey(entry, validator.secretKey)!;
    expect(openEntry(entry, key)).toEqual({ ok: true, plaintext });
  });

  it('an entry does not open with another session’s key, nor after one flipped bit', () => {
    const entry = sealEntry(plaintext, k, device);
    const otherKey = entrySharedKey(entry, newBoxKeyPair().secretKey)!;
    expect(openEntry(entry, otherKey)).toEqual({ ok: false, problem: 'does_not_open' });
    const key = entrySharedKey(entry, validator.secretKey)!;
    expect(openEntry({ ...entry, c: flipBit(entry.c, 20) }, key)).toEqual({ ok: false, problem: 'does_not_open' });
    expect(openEntry({ ...entry, n: flipBit(entry.n, 0) }, key)).toEqual({ ok: false, problem: 'does_not_open' });
    expect(entrySharedKey({ d: 'short' }, validator.secretKey)).toBeUndefined();
  });

  it('a receipt opens only on the submitting device', () => {
    const entry = sealEntry(plaintext, k, device);
    const key = entrySharedKey(entry, validator.secretKey)!;
    const answer = { v: 1, status: 'accepted', reason: 'ok', flags: [], student_id: '2022IMT-048', decided_at: 1 };
    const receipt = sealReceipt(answer, entry.n, key);
    expect(receipt.n).toBe(entry.n);
    expect(openReceipt(receipt, k, device)).toEqual(answer);
    expect(openReceipt(receipt, k, newBoxKeyPair())).toBeUndefined();
    // A receipt forged by anyone but the validator (here: another key pair posing as it) does not open.
    const forger = newBoxKeyPair();
    const forged = sealReceipt(answer, entry.n, nacl.box.before(device.publicKey, forger.secretKey));
    expect(openReceipt(forged, k, device)).toBeUndefined();
  });
});
