/**
 * crypto/nativeEd25519.ts against tweetnacl (crypto/signing.ts): the relay verifies and the
 * validator signs with Node's native Ed25519, phones and old validators with tweetnacl — they
 * must agree on every honest signature, and the native one refuses what it should.
 */
import { describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import { nativeSignDetached, nativeVerifyDetached } from '../../crypto/nativeEd25519.ts';
import { newSigningKeyPair, signDetached, verifyDetached } from '../../crypto/index.ts';

/** The order of Ed25519's base point: S + L verifies in tweetnacl (it does not reduce S), not in OpenSSL. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function withS(signature: Uint8Array, s: bigint): Uint8Array {
  const copy = signature.slice();
  for (let i = 0; i < 32; i++) copy[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
  return copy;
}

function sOf(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(signature[32 + i]!);
  return s;
}

describe('[R10] native Ed25519 (relay and validator) agrees with tweetnacl (phones, older validators)', () => {
  it('signs byte for byte as tweetnacl, and each verifies the other’s signatures', () => {
    for (let i = 0; i < 40; i++) {
      const pair = newSigningKeyPair();
      const message = nacl.randomBytes(i * 7);
      const native = nativeSignDetached(message, pair.secretKey);
      expect(native).toEqual(signDetached(message, pair.secretKey));
      expect(nativeVerifyDetached(message, signDetached(message, pair.secretKey), pair.publicKey)).toBe(true);
      expect(verifyDetached(message, native, pair.publicKey)).toBe(true);
    }
  });

  it('refuses, without throwing, a changed message, another key, a flipped bit, wrong lengths and a key that is not a point', () => {
    const pair = newSigningKeyPair();
    const other = newSigningKeyPair();
    const message = new TextEncoder().encode('grant for room 1');
    const signature = signDetached(message, pair.secretKey);
    const flipped = signature.slice();
    flipped[10] = flipped[10]! ^ 1;
    const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [
      ['changed message', new TextEncoder().encode('grant for room 2'), signature, pair.publicKey],
      ['another key', message, signature, other.publicKey],
      ['flipped bit', message, flipped, pair.publicKey],
      ['short signature', message, signature.subarray(0, 63), pair.publicKey],
      ['short key', message, signature, pair.publicKey.subarray(0, 31)],
      ['key off the curve', message, signature, new Uint8Array(32).fill(0xff)],
    ];
    for (const [name, m, s, k] of cases) {
      expect({ name, native: nativeVerifyDetached(m, s, k) }).toEqual({ name, native: false });
      expect({ name, tweetnacl: verifyDetached(m, s, k) }).toEqual({ name, tweetnacl: false });
    }
  });

  it('refuses a malleated signature (S + L) that tweetnacl accepts: stricter, never looser', () => {
    const pair = newSigningKeyPair();
    const message = new TextEncoder().encode('challenge');
    const signature = signDetached(message, pair.secretKey);
    const malleated = withS(signature, sOf(signature) + L);
    expect(verifyDetached(message, malleated, pair.publicKey)).toBe(true);
    expect(nativeVerifyDetached(message, malleated, pair.publicKey)).toBe(false);
    expect(nativeVerifyDetached(message, signature, pair.publicKey)).toBe(true);
  });

  it('a secret key of the wrong length is an error, not a signature', () => {
    expect(() => nativeSignDetached(new Uint8Array(3), new Uint8Array(32))).toThrow(/64 bytes/);
  });
});
