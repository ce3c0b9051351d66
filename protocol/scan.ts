/**
 * What every student client does with a scan, in one place: the phone app
 * (through the submission core, client/core/) and the terminal client (cli/student/) speak the same
 * protocol, so they read a QR, seal an entry and accept a receipt by the same rules.
 * Isomorphic; each client phrases the errors for its own screen.
 */
import { openReceipt, sealEntry, type BoxKeyPair } from '../crypto/index.ts';
import { decodeQrPayload, parseQrText, qrEntryVersion } from './qr.ts';
import {
  ReceiptPlaintextSchema,
  parseWith,
  studentId as studentIdSchema,
  type Entry,
  type EntryPlaintext,
  type EntryVersion,
  type QrJson,
  type QrPayload,
  type ReceiptPlaintext,
} from './schemas.ts';

/** Why a scan cannot be submitted: the QR text, its payload, or the student id. */
export type ScanProblem = 'not_rollcall_qr' | 'damaged_payload' | 'bad_student_id';

/** A scan that can be sealed: the QR as it travels, its decoded payload, and who scanned it. */
export interface ReadScan {
  qr: QrJson;
  payload: QrPayload;
  /** The student id as the validator reads it (NFC): sealed, saved and matched in this spelling. */
  studentId: string;
  /** The entry plaintext version to seal: 2 only when the QR says its validator reads it (F3). */
  entryVersion: EntryVersion;
}

/**
 * Reads a scanned or pasted QR for `studentId`. The HMAC is not checked (only the validator
 * holds the secret); a student id the validator would call `malformed` is refused here.
 */
export function readScan(qrText: string, studentId: string): { ok: true; scan: ReadScan } | { ok: false; problem: ScanProblem; error: string } {
  const qr = parseQrText(qrText);
  if (!qr.ok) return { ok: false, problem: 'not_rollcall_qr', error: qr.error };
  const payload = decodeQrPayload(qr.value.payload_b64);
  if (!payload.ok) return { ok: false, problem: 'damaged_payload', error: payload.error };
  const checkedId = parseWith(studentIdSchema, studentId);
  if (!checkedId.ok) return { ok: false, problem: 'bad_student_id', error: checkedId.error };
  return { ok: true, scan: { qr: qr.value, payload: payload.value, studentId: checkedId.value, entryVersion: qrEntryVersion(qrText) } };
}

/**
 * Seals the scan to the QR's validator key `k` with this device's key (docs/SPEC.md "Entry"), in
 * the scan's entry version: v2 asks for a receipt v2, which says present or late (F2).
 */
export function sealScan(scan: ReadScan, scannedAtMs: number, device: BoxKeyPair): { entry: Entry; plaintext: EntryPlaintext } {
  const plaintext: EntryPlaintext = {
    v: scan.entryVersion,
    student_id: scan.studentId,
    payload_b64: scan.qr.payload_b64,
    signature: scan.qr.signature,
    scanned_at: Math.round(scannedAtMs),
  };
  return { entry: sealEntry(plaintext, scan.payload.k, device) as Entry, plaintext };
}

/**
 * Opens the receipt of one of this device's entries, of either version (v1, or v2 which says
 * present or late). `undefined` when it is not there, does not open, is not a receipt, or names another student (a receipt that does not open is ignored,
 * docs/SPEC.md); an empty `student_id` is the validator saying it could not read ours (`malformed`).
 */
export function openReceiptFor(receipt: unknown, validatorKey: string, device: BoxKeyPair, studentId: string): ReceiptPlaintext | undefined {
  if (!receipt || typeof receipt !== 'object') return undefined;
  const opened = parseWith(ReceiptPlaintextSchema, openReceipt(receipt as { rn: string; c: string }, validatorKey, device));
  if (!opened.ok) return undefined;
  // The validator answers in NFC; a submission saved before ids were normalised may hold NFD.
  if (opened.value.student_id !== studentId.normalize('NFC') && opened.value.student_id !== '') return undefined;
  return opened.value;
}
