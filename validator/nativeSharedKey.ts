/**
 * nacl.box's shared key computed with Node's native X25519 (about 20× faster than tweetnacl's
 * scalar multiplication, docs/testing.md "Measured facts"), byte-compatible with `nacl.box.before`:
 * box.before(pk, sk) = HSalsa20(key = X25519(sk, pk), input = 16 zero bytes, constant = "expand 32-byte k").
 * The validator opens every entry and seals every receipt with this key, so it is the hot path.
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import type { SharedKeyFn } from '../crypto/index.ts';

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const ZERO_16 = new Uint8Array(16);
/** "expand 32-byte k", the Salsa20 constant nacl uses in box.before. */
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107]);

interface TweetNaclLowLevel {
  crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array): number;
}
const lowlevel = (nacl as unknown as { lowlevel: TweetNaclLowLevel }).lowlevel;

/** A validator uses a handful of session secret keys: keep their KeyObjects instead of re-parsing DER. */
const privateKeyCache = new Map<string, KeyObject>();
const PRIVATE_KEY_CACHE_SIZE = 64;

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(secretKey).toString('base64');
  let key = privateKeyCache.get(cacheKey);
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
    if (privateKeyCache.size >= PRIVATE_KEY_CACHE_SIZE) privateKeyCache.delete(privateKeyCache.keys().next().value!);
    privateKeyCache.set(cacheKey, key);
  }
  return key;
}

export const nativeSharedKey: SharedKeyFn = (theirPublicKey, mySecretKey) => {
  if (theirPublicKey.length !== 32 || mySecretKey.length !== 32) return nacl.box.before(theirPublicKey, mySecretKey);
  let shared: Buffer;
  try {
    // JWK import: 6 µs against 62 µs for the same key as DER/SPKI (OpenSSL 3's DER decoder is
    // the slow part; measured for the lecture-hall benchmark, docs/performance.md).
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(theirPublicKey).toString('base64url') }, format: 'jwk' });
    shared = diffieHellman({ publicKey, privateKey: privateKeyObject(mySecretKey) });
  } catch {
    // OpenSSL refuses low-order public keys (all-zero shared secret); tweetnacl does not.
    // Stay byte-compatible: such an entry then simply fails to open, as it would in tweetnacl.
    return nacl.box.before(theirPublicKey, mySecretKey);
  }
  const key = new Uint8Array(32);
  lowlevel.crypto_core_hsalsa20(key, ZERO_16, new Uint8Array(shared), SIGMA);
  return key;
};
