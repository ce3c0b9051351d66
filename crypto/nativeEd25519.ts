/**
 * Ed25519 with Node's native crypto (OpenSSL), for the parts that run in Node: the relay
 * verifies every validator's grant and challenge answer, the validator signs them. Not exported
 * from crypto/index.ts, which stays isomorphic (the browser apps use signing.ts, tweetnacl).
 *
 * Same keys and signatures as signing.ts: Ed25519 signatures are deterministic, so a signature
 * made here is byte for byte tweetnacl's (tested). Why: tweetnacl's pure-JS scalar
 * multiplication took 3–8 ms per verification on this 2-core machine, and a relay verifies two
 * per validator connection — a relay taking over a dead relay's 300 lectures at once blocked
 * its event loop for seconds (docs/performance.md); OpenSSL takes tens of microseconds.
 *
 * One difference, on purpose: OpenSSL refuses a signature whose S is not reduced (S ≥ L, a
 * malleated copy of a valid signature), which tweetnacl accepts. No honest signer makes one.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { SIGNATURE_ED25519_BYTES, SIGN_PUBLIC_KEY_BYTES, SIGN_SECRET_KEY_BYTES } from './signing.ts';

/** Few validators sign for a relay, one identity signs for a validator: keep their key objects. */
const CACHE_SIZE = 256;
const publicKeys = new Map<string, KeyObject>();
const privateKeys = new Map<string, KeyObject>();

function cached(cache: Map<string, KeyObject>, id: string, make: () => KeyObject): KeyObject {
  let key = cache.get(id);
  if (!key) {
    key = make();
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(id, key);
  }
  return key;
}

/** False (never a throw) for a key or signature of the wrong length, or a key that is not a curve point. */
export function nativeVerifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_ED25519_BYTES || publicKey.length !== SIGN_PUBLIC_KEY_BYTES) return false;
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
  try {
    // JWK import: OpenSSL 3's DER decoder is ten times slower for the same key (validator/nativeSharedKey.ts).
    const key = cached(publicKeys, x, () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }));
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** The detached signature of `message` by a 64-byte tweetnacl secret key (seed ‖ public key). */
export function nativeSignDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== SIGN_SECRET_KEY_BYTES) throw new Error(`an Ed25519 secret key has ${SIGN_SECRET_KEY_BYTES} bytes`);
  const bytes = Buffer.from(secretKey.buffer, secretKey.byteOffset, secretKey.byteLength);
  const x = bytes.subarray(32).toString('base64url');
  // Keyed by a hash of the secret key, not the key itself.
  const key = cached(privateKeys, createHash('sha256').update(bytes).digest('base64url'), () => createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: bytes.subarray(0, 32).toString('base64url'), x }, format: 'jwk' }));
  return new Uint8Array(sign(null, message, key));
}
