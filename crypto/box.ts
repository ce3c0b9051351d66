/**
 * nacl.box sealing of entries and receipts, exactly as docs/SPEC.md fixes them:
 *
 *   entry.c   = nacl.box(plaintext, n,  k, device secret key)
 *   receipt.c = nacl.box(plaintext, rn, d, validator secret key)
 *
 * Both directions share one key, box.before(d, validator secret) = box.before(k, device secret),
 * so a validator computes it once per entry for opening the entry and sealing the receipt. The
 * `SharedKeyFn` hook lets the validator compute that key with Node's native X25519 (about 20×
 * faster than tweetnacl's) while staying byte-compatible.
 */
import nacl from 'tweetnacl';
import { toBase64Url, tryFromBase64Url } from './base64url.ts';
import { utf8Decode, utf8Encode } from './bytes.ts';

export interface BoxKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Computes the nacl.box shared key of (their public key, my secret key). */
export type SharedKeyFn = (theirPublicKey: Uint8Array, mySecretKey: Uint8Array) => Uint8Array;

export const naclSharedKey: SharedKeyFn = (theirPublicKey, mySecretKey) => nacl.box.before(theirPublicKey, mySecretKey);

export function newBoxKeyPair(): BoxKeyPair {
  return nacl.box.keyPair();
}

/** Rebuilds a key pair from its 32-byte secret key. */
export function boxKeyPairFromSecretKey(secretKey: Uint8Array): BoxKeyPair {
  return nacl.box.keyPair.fromSecretKey(secretKey);
}

export function randomBytes(length: number): Uint8Array {
  return nacl.randomBytes(length);
}

/**
 * Random bytes for values made many times a second (nonces, Yjs client ids) are cut from a pool
 * refilled 4 KiB at a time: one call to the platform's random source (getRandomValues, about
 * 3 µs each in Node 20) per 4 KiB instead of one per value; the validator draws a nonce and a
 * client id for every receipt. Each byte is handed out once. Secrets use {@link randomBytes}.
 */
const POOL_BYTES = 4096;
let pool: Uint8Array = new Uint8Array(0);
let poolOffset = 0;

export function pooledRandomBytes(length: number): Uint8Array {
  if (length > POOL_BYTES) return nacl.randomBytes(length);
  if (poolOffset + length > pool.length) {
    pool = nacl.randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const bytes = pool.slice(poolOffset, poolOffset + length);
  poolOffset += length;
  return bytes;
}

export function newNonce(): Uint8Array {
  return pooledRandomBytes(nacl.box.nonceLength);
}

/** Seals JSON-serialisable `message` under a precomputed shared key; returns base64url ciphertext. */
export function sealJson(message: unknown, nonce: Uint8Array, sharedKey: Uint8Array): string {
  return toBase64Url(nacl.box.after(utf8Encode(JSON.stringify(message)), nonce, sharedKey));
}

/**
 * What opening a sealed JSON message gives. The two failures differ in what they prove: a box
 * that does not open says nothing about its sender; one that opens was sealed with this key
 * (by its holder), even if what it holds is not UTF-8 JSON.
 */
export type OpenedJson = { ok: true; plaintext: unknown } | { ok: false; problem: 'does_not_open' | 'not_json' };

/** Opens base64url ciphertext `c` under a shared key and parses it as JSON; failures are data. */
export function openSealedJson(c: string, nonce: Uint8Array, sharedKey: Uint8Array): OpenedJson {
  const box = tryFromBase64Url(c);
  const plain = box && nacl.box.open.after(box, nonce, sharedKey);
  if (!plain) return { ok: false, problem: 'does_not_open' };
  try {
    return { ok: true, plaintext: JSON.parse(utf8Decode(plain)) };
  } catch {
    return { ok: false, problem: 'not_json' };
  }
}

/**
 * Opens base64url ciphertext `c` under a shared key and parses it as JSON. Answers `undefined`
 * when the box does not open or the plaintext is not UTF-8 JSON: callers treat that as data.
 */
export function openJson(c: string, nonce: Uint8Array, sharedKey: Uint8Array): unknown {
  const opened = openSealedJson(c, nonce, sharedKey);
  return opened.ok ? opened.plaintext : undefined;
}

/** Convenience for one-off sealing without a precomputed key. */
export function sealJsonFor(
  message: unknown,
  nonce: Uint8Array,
  theirPublicKey: Uint8Array,
  mySecretKey: Uint8Array,
  sharedKey: SharedKeyFn = naclSharedKey,
): string {
  return sealJson(message, nonce, sharedKey(theirPublicKey, mySecretKey));
}

export function openJsonFrom(
  c: string,
  nonce: Uint8Array,
  theirPublicKey: Uint8Array,
  mySecretKey: Uint8Array,
  sharedKey: SharedKeyFn = naclSharedKey,
): unknown {
  return openJson(c, nonce, sharedKey(theirPublicKey, mySecretKey));
}

