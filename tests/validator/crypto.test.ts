/** The validator's Node-native crypto paths are byte-compatible with crypto/ (tweetnacl, WebCrypto). */
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { newBoxKeyPair, randomBytes, signQr, verifyQr } from '../../crypto/index.ts';
import { nativeSharedKey, signPayloadSync, verifySignatureSync } from '../../validator/index.ts';

describe('nativeSharedKey', () => {
  it('equals nacl.box.before for 200 random key pairs', () => {
    for (let i = 0; i < 200; i++) {
      const a = newBoxKeyPair();
      const b = newBoxKeyPair();
      expect(nativeSharedKey(a.publicKey, b.secretKey)).toEqual(nacl.box.before(a.publicKey, b.secretKey));
    }
  });
  it('stays compatible for a low-order (all-zero) public key that OpenSSL refuses', () => {
    const b = newBoxKeyPair();
    const zero = new Uint8Array(32);
    expect(nativeSharedKey(zero, b.secretKey)).toEqual(nacl.box.before(zero, b.secretKey));
  });
});

describe('QR signing with node:crypto', () => {
  it('signs exactly as crypto/signQr and verifies what crypto/ signs', async () => {
    for (let i = 0; i < 20; i++) {
      const secret = randomBytes(32);
      const payload = `payload-${i}-${Math.random().toString(36).slice(2)}`;
      const signed = await signQr(secret, payload);
      expect(signPayloadSync(secret, payload)).toBe(signed.signature);
      expect(verifySignatureSync(secret, payload, signed.signature)).toBe(true);
      expect(await verifyQr(secret, { payload_b64: payload, signature: signPayloadSync(secret, payload) })).toBe(true);
      expect(verifySignatureSync(secret, `${payload}x`, signed.signature)).toBe(false);
      expect(verifySignatureSync(secret, payload, 'short')).toBe(false);
    }
  });
});
