/**
 * Entries and receipts sealed as docs/SPEC.md fixes them. These functions only seal and open;
 * checking the shapes of what was opened is protocol/'s job (schemas), so callers pass the
 * result through `protocol` before trusting it.
 */
import { fromBase64Url, toBase64Url, tryFromBase64Url } from './base64url.ts';
import { naclSharedKey, newNonce, openJson, openSealedJson, sealJson, type BoxKeyPair, type OpenedJson, type SharedKeyFn } from './box.ts';

/** The sealed entry as it sits in the `entries` map (all binary fields base64url). */
export interface SealedEntry {
  v: 1;
  d: string;
  n: string;
  c: string;
}

/** The sealed receipt as it sits in the `receipts` map. */
export interface SealedReceipt {
  v: 1;
  n: string;
  rn: string;
  c: string;
}

/** Seals a submission plaintext from a device to the QR's validator key `k` (base64url). */
export function sealEntry(plaintext: unknown, validatorKeyB64: string, device: BoxKeyPair, sharedKey: SharedKeyFn = naclSharedKey): SealedEntry {
  const nonce = newNonce();
  const key = sharedKey(fromBase64Url(validatorKeyB64), device.secretKey);
  return { v: 1, d: toBase64Url(device.publicKey), n: toBase64Url(nonce), c: sealJson(plaintext, nonce, key) };
}

/**
 * The shared key of an entry's device and the session's validator: opens the entry and seals
 * its receipt. Answers `undefined` when `d` is not a 32-byte key.
 */
export function entrySharedKey(entry: Pick<SealedEntry, 'd'>, validatorSecretKey: Uint8Array, sharedKey: SharedKeyFn = naclSharedKey): Uint8Array | undefined {
  const devicePublicKey = tryFromBase64Url(entry.d);
  if (!devicePublicKey || devicePublicKey.length !== 32) return undefined;
  return sharedKey(devicePublicKey, validatorSecretKey);
}

/**
 * Opens an entry with the shared key: its plaintext, or whether the box did not open or opened
 * on something that is not JSON (the validator answers the two differently).
 */
export function openEntry(entry: Pick<SealedEntry, 'n' | 'c'>, key: Uint8Array): OpenedJson {
  const nonce = tryFromBase64Url(entry.n);
  if (!nonce || nonce.length !== 24) return { ok: false, problem: 'does_not_open' };
  return openSealedJson(entry.c, nonce, key);
}

/** Seals a receipt plaintext answering the entry with nonce `entryNonce`, under the shared key. */
export function sealReceipt(plaintext: unknown, entryNonce: string, key: Uint8Array): SealedReceipt {
  const nonce = newNonce();
  return { v: 1, n: entryNonce, rn: toBase64Url(nonce), c: sealJson(plaintext, nonce, key) };
}

/** Opens a receipt on the device: key = box.before(k, device secret). `undefined` if it does not open. */
export function openReceipt(receipt: Pick<SealedReceipt, 'rn' | 'c'>, validatorKeyB64: string, device: BoxKeyPair, sharedKey: SharedKeyFn = naclSharedKey): unknown {
  const nonce = tryFromBase64Url(receipt.rn);
  const validatorKey = tryFromBase64Url(validatorKeyB64);
  if (!nonce || nonce.length !== 24 || !validatorKey || validatorKey.length !== 32) return undefined;
  return openJson(receipt.c, nonce, sharedKey(validatorKey, device.secretKey));
}
