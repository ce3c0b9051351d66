/** Rollcall's isomorphic crypto: runs unchanged in Node 20 and in browsers. */
export { toBase64Url, fromBase64Url, tryFromBase64Url, base64UrlLength, base64UrlByteLength, Base64UrlError } from './base64url.ts';
export { utf8Encode, utf8Decode, constantTimeEqual } from './bytes.ts';
export { importHmacKey, hmacSha256, signQr, verifyQr, type HmacKey, type SignedQr } from './hmac.ts';
export {
  newBoxKeyPair,
  boxKeyPairFromSecretKey,
  randomBytes,
  pooledRandomBytes,
  newNonce,
  naclSharedKey,
  sealJson,
  openJson,
  openSealedJson,
  sealJsonFor,
  openJsonFrom,
  type BoxKeyPair,
  type SharedKeyFn,
  type OpenedJson,
} from './box.ts';
export { sealEntry, entrySharedKey, openEntry, sealReceipt, openReceipt, type SealedEntry, type SealedReceipt } from './sealing.ts';
export {
  newSigningKeyPair,
  signingKeyPairFromSecretKey,
  signDetached,
  verifyDetached,
  SIGN_PUBLIC_KEY_BYTES,
  SIGN_SECRET_KEY_BYTES,
  SIGNATURE_ED25519_BYTES,
  type SigningKeyPair,
} from './signing.ts';
