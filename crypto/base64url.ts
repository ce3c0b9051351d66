/**
 * base64url without padding (RFC 4648 §5), isomorphic (no Buffer, no atob).
 *
 * Decoding is strict: any character outside the alphabet, an impossible length, or non-zero
 * trailing bits is refused, so every byte string has exactly one accepted text form. That keeps
 * keys such as a device key `d` from having two spellings that decode to the same bytes.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export class Base64UrlError extends Error {
  override name = 'Base64UrlError';
}

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/** Decodes strictly; throws {@link Base64UrlError} on anything but canonical unpadded base64url. */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new Base64UrlError('invalid base64url length');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let bitCount = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? LOOKUP[code]! : -1;
    if (value < 0) throw new Base64UrlError('invalid base64url character');
    bits = (bits << 6) | value;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[o++] = (bits >> bitCount) & 0xff;
    }
  }
  if (bitCount > 0 && (bits & ((1 << bitCount) - 1)) !== 0) {
    throw new Base64UrlError('non-canonical base64url (trailing bits set)');
  }
  return out;
}

/** Like {@link fromBase64Url} but answers `undefined` instead of throwing. */
export function tryFromBase64Url(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text);
  } catch {
    return undefined;
  }
}

/**
 * The number of bytes `text` decodes to when it is canonical unpadded base64url (exactly what
 * {@link fromBase64Url} accepts), or `undefined`; checks without decoding or allocating.
 */
export function base64UrlByteLength(text: string): number | undefined {
  const length = text.length;
  if (length % 4 === 1) return undefined;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || LOOKUP[code]! < 0) return undefined;
  }
  // The last character of a 2- or 3-character tail carries 4 or 2 bits past the last byte: zero.
  const tail = length % 4;
  if (tail !== 0) {
    const last = LOOKUP[text.charCodeAt(length - 1)]!;
    if ((last & (tail === 2 ? 0b1111 : 0b11)) !== 0) return undefined;
  }
  return Math.floor((length * 3) / 4);
}

/** Length in characters of the unpadded base64url text of `byteLength` bytes. */
export function base64UrlLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3);
}
