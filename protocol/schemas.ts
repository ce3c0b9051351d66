/**
 * The wire formats of docs/SPEC.md as zod schemas, and their TypeScript types. Everything read
 * from a QR, a room or a request goes through one of these before it is trusted.
 * Objects are strict: an unknown field is `malformed`, so a v1 reader never half-understands.
 */
import { z } from 'zod';
import { base64UrlLength, tryFromBase64Url } from '../crypto/base64url.ts';
import {
  MAX_COURSE_CHARS,
  MAX_ITEM_BYTES,
  MAX_STUDENT_ID_CHARS,
  NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
} from './constants.ts';
import { ACCEPTED_REASON, REJECTION_REASONS, REVIEW_FLAGS, SCAN_ATTENDANCE } from './reasons.ts';

/** Canonical, unpadded base64url text (decodes, and re-encodes to itself). */
export const base64Url = z.string().refine((text) => tryFromBase64Url(text) !== undefined, 'not canonical base64url');

/** Canonical base64url of exactly `bytes` bytes. */
export function base64UrlOf(bytes: number) {
  return z
    .string()
    .length(base64UrlLength(bytes), `must be base64url of ${bytes} bytes`)
    .refine((text) => tryFromBase64Url(text)?.length === bytes, `must be base64url of ${bytes} bytes`);
}

/** Session ids are lowercase UUIDs (as crypto.randomUUID makes them): one spelling per room. */
export const SESSION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const sessionId = z.string().regex(SESSION_ID_PATTERN, 'must be a session id (lowercase UUID)');
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

const unixSeconds = z.number().int().min(0).max(2 ** 40);
const unixMs = z.number().int().min(0).max(2 ** 50);

/**
 * Student ids: printable text without control characters, as the seed's `2022IMT-048`. Parsing
 * yields the NFC spelling: "José" typed with é (NFC) or with e + U+0301 (NFD, as macOS and some
 * keyboards produce) is one student, so a second spelling can neither split a student in two
 * nor dodge the one-acceptance-per-student rule. The checks apply to the NFC spelling.
 */
export const studentId = z
  .string()
  .transform((text) => text.normalize('NFC'))
  .pipe(
    z
      .string()
      .min(1, 'student id is empty')
      .max(MAX_STUDENT_ID_CHARS, `student id is longer than ${MAX_STUDENT_ID_CHARS} characters`)
      .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, 'student id has control characters')
      .refine((s) => s.trim() === s, 'student id has leading or trailing spaces'),
  );

export const courseName = z
  .string()
  .min(1, 'course is empty')
  .max(MAX_COURSE_CHARS, `course is longer than ${MAX_COURSE_CHARS} characters`)
  .regex(/^[^\p{Cc}]+$/u, 'course has control characters');

/** The signed QR payload (short names keep the QR readable from the back of a hall). */
export const QrPayloadSchema = z.strictObject({
  v: z.literal(1),
  s: sessionId,
  c: courseName,
  a: unixSeconds,
  e: unixSeconds,
  t: unixSeconds,
  r: z.number().int().min(0).max(86_400),
  k: base64UrlOf(PUBLIC_KEY_BYTES),
});
export type QrPayload = z.infer<typeof QrPayloadSchema>;

/** The seed's QR JSON, also the pair inside the QR URL. */
export const QrJsonSchema = z.object({
  payload_b64: base64Url.pipe(z.string().min(1).max(1024)),
  signature: base64UrlOf(SIGNATURE_BYTES),
});
export type QrJson = z.infer<typeof QrJsonSchema>;

/** A sealed submission in the `entries` map. */
export const EntrySchema = z.strictObject({
  v: z.literal(1),
  d: base64UrlOf(PUBLIC_KEY_BYTES),
  n: base64UrlOf(NONCE_BYTES),
  c: base64Url.pipe(z.string().min(base64UrlLength(16)).max(MAX_ITEM_BYTES)),
});
export type Entry = z.infer<typeof EntrySchema>;

/**
 * What a device seals inside an entry, version 1 (docs/SPEC.md "Entry", F1): every validator
 * reads it. A v1 entry is answered with a v1 receipt.
 */
export const EntryPlaintextV1Schema = z.strictObject({
  v: z.literal(1),
  student_id: studentId,
  payload_b64: QrJsonSchema.shape.payload_b64,
  signature: QrJsonSchema.shape.signature,
  scanned_at: unixMs,
});

/**
 * Entry plaintext version 2 (F2): the fields of v1, and `v: 2` says "this device reads receipt
 * v2". A validator of the previous release refuses it as `malformed` (its schema is strict), so a
 * device sends it only when the QR says the validator reads it (the `rv` hint, F3).
 */
export const EntryPlaintextV2Schema = EntryPlaintextV1Schema.extend({ v: z.literal(2) });

/** Every entry plaintext version this release reads, told apart by `v`. */
export const EntryPlaintextSchema = z.discriminatedUnion('v', [EntryPlaintextV1Schema, EntryPlaintextV2Schema]);
export type EntryPlaintext = z.infer<typeof EntryPlaintextSchema>;
/** The entry plaintext versions this release writes and reads. */
export type EntryVersion = EntryPlaintext['v'];
/** The newest entry version (and receipt version) this release speaks. */
export const LATEST_ENTRY_VERSION = 2 satisfies EntryVersion;

/** A sealed validator answer in the `receipts` map, keyed by the nonce of the entry it answers. */
export const ReceiptSchema = z.strictObject({
  v: z.literal(1),
  n: base64UrlOf(NONCE_BYTES),
  rn: base64UrlOf(NONCE_BYTES),
  c: base64Url.pipe(z.string().min(base64UrlLength(16)).max(MAX_ITEM_BYTES)),
});
export type Receipt = z.infer<typeof ReceiptSchema>;

const receiptPlaintextV1Fields = {
  v: z.literal(1),
  status: z.enum(['accepted', 'rejected']),
  reason: z.enum([ACCEPTED_REASON, ...REJECTION_REASONS]),
  flags: z.array(z.enum(REVIEW_FLAGS)).max(REVIEW_FLAGS.length),
  /** Empty when the entry opened but its plaintext was malformed (no readable student id). */
  student_id: z.union([studentId, z.literal('')]),
  decided_at: unixMs,
};

/**
 * Receipt plaintext version 1 (F1): the answer to a v1 entry. An accepted v1 receipt does not
 * say whether the student is present or late.
 */
export const ReceiptPlaintextV1Schema = z.strictObject(receiptPlaintextV1Fields);

/**
 * Receipt plaintext version 2 (F2): the answer to a v2 entry, v1's fields and `attendance`
 * (`present` or `late`, SPEC.md S2), required when accepted and absent when rejected.
 */
export const ReceiptPlaintextV2Schema = z
  .strictObject({ ...receiptPlaintextV1Fields, v: z.literal(2), attendance: z.enum(SCAN_ATTENDANCE).optional() })
  .superRefine((receipt, context) => {
    if (receipt.status === 'accepted' && receipt.attendance === undefined) {
      context.addIssue({ code: 'custom', path: ['attendance'], message: 'an accepted v2 receipt says present or late' });
    }
    if (receipt.status === 'rejected' && receipt.attendance !== undefined) {
      context.addIssue({ code: 'custom', path: ['attendance'], message: 'a rejected receipt has no attendance' });
    }
  });

/** Every receipt plaintext version this release reads, told apart by `v`. */
export const ReceiptPlaintextSchema = z.discriminatedUnion('v', [ReceiptPlaintextV1Schema, ReceiptPlaintextV2Schema]);
export type ReceiptPlaintext = z.infer<typeof ReceiptPlaintextSchema>;

/** Deeper than any wire object nests (entries and receipts are flat): refused, not walked. */
const MAX_JSON_DEPTH = 8;

/**
 * Why `value` is not plain JSON, or `undefined` when it is: null, booleans, strings, finite
 * numbers, arrays and objects whose prototype is Object.prototype, all the way down. Values a
 * Y.Doc holds were decoded by lib0, which can also yield bigint, undefined, Uint8Array and
 * non-finite numbers (JSON.stringify throws on a bigint), and which assigns `obj[key]`: a key
 * named `__proto__` sets the prototype, so the fields hide there, JSON.stringify measures `{}`
 * and a schema reads the inherited fields. An own `__proto__` key (JSON.parse makes one) is
 * refused as well. Check this before measuring or parsing a value read from a room.
 */
export function plainJsonProblem(value: unknown, depth = 0): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'a non-finite number';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (depth >= MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
  const prototype = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return 'an array with a foreign prototype';
    for (const element of value) {
      const problem = plainJsonProblem(element, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (prototype !== Object.prototype) return prototype === null ? 'an object without a prototype' : 'binary data or an object with a foreign prototype (a __proto__ key)';
  if (Object.hasOwn(value, '__proto__')) return 'an object with a __proto__ key';
  for (const field of Object.values(value)) {
    const problem = plainJsonProblem(field, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** Size of a value as the JSON text the limits speak of. */
export function jsonByteLength(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

/** Result of parsing untrusted input: data, or a one-line reason a person can read. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseWith<T>(schema: z.ZodType<T>, input: unknown): Parsed<T> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, error: `${where}${issue?.message ?? 'invalid'}` };
}

/** Parses an entry as read from a room: plain JSON, then the 2 KiB item limit, then the schema. */
export function parseEntry(input: unknown): Parsed<Entry> {
  const notJson = plainJsonProblem(input);
  if (notJson) return { ok: false, error: `entry is not plain JSON (${notJson})` };
  if (jsonByteLength(input) > MAX_ITEM_BYTES) return { ok: false, error: `entry is over ${MAX_ITEM_BYTES} bytes` };
  return parseWith(EntrySchema, input);
}

export function parseReceipt(input: unknown): Parsed<Receipt> {
  const notJson = plainJsonProblem(input);
  if (notJson) return { ok: false, error: `receipt is not plain JSON (${notJson})` };
  if (jsonByteLength(input) > MAX_ITEM_BYTES) return { ok: false, error: `receipt is over ${MAX_ITEM_BYTES} bytes` };
  return parseWith(ReceiptSchema, input);
}
