/**
 * HMAC-SHA256 through WebCrypto (present in browsers and in Node 20 as globalThis.crypto), and
 * the QR signature of docs/SPEC.md: base64url(HMAC-SHA256(secret, ASCII bytes of payload_b64)).
 */
import { toBase64Url, tryFromBase64Url } from './base64url.ts';
import { constantTimeEqual, utf8Encode } from './bytes.ts';

const subtle = globalThis.crypto.subtle;

/** A session secret imported once for signing; keep it, importing per call costs more than the HMAC. */
export type HmacKey = CryptoKey;

export async function importHmacKey(secret: Uint8Array): Promise<HmacKey> {
  return subtle.importKey('raw', secret as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

export async function hmacSha256(key: HmacKey | Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = key instanceof Uint8Array ? await importHmacKey(key) : key;
  return new Uint8Array(await subtle.sign('HMAC', cryptoKey, message as BufferSource));
}

/** The QR pair as it travels: the seed's JSON form. */
export interface SignedQr {
  payload_b64: string;
  signature: string;
}

/** Signs an already encoded payload (`payload_b64`), returning the seed's QR JSON pair. */
export async function signQr(secret: HmacKey | Uint8Array, payloadB64: string): Promise<SignedQr> {
  const mac = await hmacSha256(secret, utf8Encode(payloadB64));
  return { payload_b64: payloadB64, signature: toBase64Url(mac) };
}

/**
 * True when `qr.signature` is the HMAC of `qr.payload_b64` under `secret`. The comparison is
 * constant-time; a signature that is not canonical base64url of 32 bytes is simply false.
 */
export async function verifyQr(secret: HmacKey | Uint8Array, qr: SignedQr): Promise<boolean> {
  const given = tryFromBase64Url(qr.signature);
  if (!given || given.length !== 32) return false;
  const expected = await hmacSha256(secret, utf8Encode(qr.payload_b64));
  return constantTimeEqual(given, expected);
}

