/**
 * The QR signature with Node's HMAC: synchronous and ~10× faster than awaiting WebCrypto
 * (docs/testing.md "Measured facts"), so the rules stay a synchronous pure function. Byte-identical to
 * `crypto/`'s `signQr`/`verifyQr` (tested): base64url(HMAC-SHA256(secret, ASCII payload_b64)).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { toBase64Url, tryFromBase64Url } from '../crypto/index.ts';

export function signPayloadSync(secret: Uint8Array, payloadB64: string): string {
  return toBase64Url(new Uint8Array(createHmac('sha256', secret).update(payloadB64, 'utf8').digest()));
}

/** Constant-time check of `signature` against the HMAC of `payloadB64`. */
export function verifySignatureSync(secret: Uint8Array, payloadB64: string, signature: string): boolean {
  const given = tryFromBase64Url(signature);
  if (!given || given.length !== 32) return false;
  const expected = createHmac('sha256', secret).update(payloadB64, 'utf8').digest();
  return timingSafeEqual(given, expected);
}
