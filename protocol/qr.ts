/**
 * The QR code: encoding and decoding of the payload, the two text forms a QR travels in
 * (the app URL `…/#/s/<payload_b64>.<signature>` and the seed's pasted JSON), and slot maths.
 */
import { toBase64Url, tryFromBase64Url } from '../crypto/base64url.ts';
import { utf8Decode, utf8Encode } from '../crypto/bytes.ts';
import { LATEST_ENTRY_VERSION, QrJsonSchema, QrPayloadSchema, parseWith, type EntryVersion, type Parsed, type QrJson, type QrPayload } from './schemas.ts';

/** Fragment route of the student app that carries a QR: `#/s/<payload_b64>.<signature>`. */
export const QR_URL_FRAGMENT_PREFIX = '#/s/';

/**
 * The QR URL's query parameter (and the QR JSON's field) by which a validator says the newest
 * entry plaintext version it reads (docs/SPEC.md F3): `…/?rv=2#/s/<payload_b64>.<signature>`.
 * In the query, not the fragment: phones of the previous release read only what follows `#/s/`,
 * so they ignore it. It is not signed, on purpose: forging it changes only the format of the
 * forger's own entry and receipt (a v2 entry to a v1 validator is refused as `malformed`).
 */
export const RECEIPT_VERSION_PARAM = 'rv';

export function encodeQrPayload(payload: QrPayload): string {
  return toBase64Url(utf8Encode(JSON.stringify(payload)));
}

/** Decodes and schema-checks `payload_b64`. Does not check the signature: see `verifyQr`. */
export function decodeQrPayload(payloadB64: string): Parsed<QrPayload> {
  const bytes = tryFromBase64Url(payloadB64);
  if (!bytes) return { ok: false, error: 'payload is not base64url' };
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(bytes));
  } catch {
    return { ok: false, error: 'payload is not UTF-8 JSON' };
  }
  return parseWith(QrPayloadSchema, json);
}

/**
 * The QR's text: a URL that opens the student app, so a phone's own camera app works too.
 * `readsEntryVersion` above 1 adds the `rv` hint (F3); without it the URL is the v1 one.
 */
export function qrUrl(appBaseUrl: string, qr: QrJson, readsEntryVersion: number = 1): string {
  const hint = readsEntryVersion > 1 ? `?${RECEIPT_VERSION_PARAM}=${readsEntryVersion}` : '';
  return `${appBaseUrl.replace(/\/+$/, '')}/${hint}${QR_URL_FRAGMENT_PREFIX}${qr.payload_b64}.${qr.signature}`;
}

/**
 * The entry plaintext version to seal for a scanned or pasted QR (F3): the newest this release
 * writes that the QR's validator says it reads (the `rv` query parameter of the URL, or the `rv`
 * field of the QR JSON); 1 when the QR says nothing (a validator of the previous release).
 */
export function qrEntryVersion(text: string): EntryVersion {
  const trimmed = text.trim();
  let hint: unknown;
  if (trimmed.startsWith('{')) {
    try {
      hint = (JSON.parse(trimmed) as Record<string, unknown>)[RECEIPT_VERSION_PARAM];
    } catch {
      return 1;
    }
  } else {
    const fragmentAt = trimmed.indexOf('#');
    const beforeFragment = fragmentAt >= 0 ? trimmed.slice(0, fragmentAt) : trimmed;
    const queryAt = beforeFragment.indexOf('?');
    if (queryAt < 0) return 1;
    hint = Number(new URLSearchParams(beforeFragment.slice(queryAt + 1)).get(RECEIPT_VERSION_PARAM));
  }
  if (typeof hint !== 'number' || !Number.isInteger(hint) || hint < 2) return 1;
  return Math.min(hint, LATEST_ENTRY_VERSION) as EntryVersion;
}

/**
 * Reads what a scanner or a paste produced: the QR URL (any origin), a bare
 * `<payload_b64>.<signature>`, or the seed's JSON `{"payload_b64","signature"}`.
 */
export function parseQrText(text: string): Parsed<QrJson> {
  const trimmed = text.trim();
  if (trimmed.length === 0) return { ok: false, error: 'nothing to read: the QR text is empty' };
  if (trimmed.length > 4096) return { ok: false, error: 'QR text is too long' };
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      return { ok: false, error: 'QR JSON does not parse' };
    }
    return parseWith(QrJsonSchema, json);
  }
  const at = trimmed.indexOf(QR_URL_FRAGMENT_PREFIX);
  const pair = at >= 0 ? trimmed.slice(at + QR_URL_FRAGMENT_PREFIX.length) : trimmed;
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(pair);
  if (!match) return { ok: false, error: 'not a Rollcall QR code (expected the app link or the QR JSON)' };
  return parseWith(QrJsonSchema, { payload_b64: match[1], signature: match[2] });
}

/** Timing of a session's QR. */
export interface QrTiming {
  startsAtS: number;
  rotateSeconds: number;
}

/**
 * The slot `t` of the QR issued at `nowS`. A rotating QR's slots are aligned on the session
 * start (`a + k*r`), so every QR shown during a slot is the same and can be cached. A static QR
 * carries its issue time.
 */
export function qrSlotAt(timing: QrTiming, nowS: number): number {
  const now = Math.floor(nowS);
  if (timing.rotateSeconds <= 0) return now;
  return timing.startsAtS + Math.floor((now - timing.startsAtS) / timing.rotateSeconds) * timing.rotateSeconds;
}

/** When the QR of slot `t` is replaced (Unix s); `undefined` for a static QR. */
export function qrSlotEndsAt(timing: QrTiming, slotS: number): number | undefined {
  return timing.rotateSeconds > 0 ? slotS + timing.rotateSeconds : undefined;
}

/**
 * How every Rollcall QR is drawn. Error correction L (7 %): a projected code is never
 * scratched or folded, and L keeps the ~300-character link at version 11 (61 modules) instead
 * of 13 (69) at M, so each module is 13 % larger for a phone at the back of the hall. The quiet
 * zone is the 4 modules the QR standard asks for.
 */
export const QR_RENDER_OPTIONS = { errorCorrectionLevel: 'L', margin: 4 } as const;
