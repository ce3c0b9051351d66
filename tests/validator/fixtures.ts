/** Shared fixtures for validator unit tests: a session with real keys, sealed entries, in-memory facts. */
import { randomUUID } from 'node:crypto';
import nacl from 'tweetnacl';
import { newBoxKeyPair, newNonce, randomBytes, sealEntry, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import type { Entry } from '../../protocol/index.ts';
import { issueQr, type EntryInput, type KnownFacts, type SessionRecord } from '../../validator/index.ts';

export const T0_S = 1_700_000_000;

export function makeSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const keys = newBoxKeyPair();
  return {
    id: randomUUID(),
    course: 'Networks',
    secret: randomBytes(32),
    boxPublicKey: keys.publicKey,
    boxSecretKey: keys.secretKey,
    startsAtS: T0_S,
    endsAtS: T0_S + 20 * 60,
    rotateSeconds: 10,
    skewSeconds: 120,
    lateSyncMinutes: 1440,
    options: {},
    createdAtMs: T0_S * 1000,
    ...overrides,
  };
}

/** The QR the session shows at `atMs`. */
export function qrAt(session: SessionRecord, atMs: number) {
  return issueQr(session, atMs, 'http://app.test');
}

export interface EntryOptions {
  studentId?: string;
  scannedAtMs: number;
  qr: { payload_b64: string; signature: string };
  device?: BoxKeyPair;
  /** Seal to this validator key instead of the session's. */
  validatorKey?: Uint8Array;
  /** Replace the plaintext entirely. */
  plaintext?: unknown;
  /** The plaintext's version (SPEC.md F2); 1 by default. */
  version?: 1 | 2;
}

export function sealedEntry(session: SessionRecord, options: EntryOptions): Entry {
  const plaintext = options.plaintext ?? {
    v: options.version ?? 1,
    student_id: options.studentId ?? '2022IMT-048',
    payload_b64: options.qr.payload_b64,
    signature: options.qr.signature,
    scanned_at: options.scannedAtMs,
  };
  return sealEntry(plaintext, toBase64Url(options.validatorKey ?? session.boxPublicKey), options.device ?? newBoxKeyPair()) as Entry;
}

/** An entry whose box opens with the session's key but holds `plaintext` bytes as they are (not JSON-encoded). */
export function sealedBytesEntry(session: SessionRecord, plaintext: Uint8Array, device: BoxKeyPair = newBoxKeyPair()): Entry {
  const nonce = newNonce();
  const c = nacl.box(plaintext, nonce, session.boxPublicKey, device.secretKey);
  return { v: 1, d: toBase64Url(device.publicKey), n: toBase64Url(nonce), c: toBase64Url(c) };
}

export function entryInput(entry: unknown, firstSeenMs: number, key?: string): EntryInput {
  return { kind: 'entry', key: key ?? (entry as { n: string }).n, entry, firstSeenMs };
}

export interface MemoryFacts {
  accepted?: string[];
  bindings?: Record<string, string>;
  devices?: Record<string, string[]>;
  roster?: string[];
  connected?: [number, number][];
  /** Client address → student ids submitted from it (direct path). */
  addresses?: Record<string, string[]>;
}

export function memoryKnown(facts: MemoryFacts = {}): KnownFacts {
  return {
    isStudentAccepted: (studentId) => facts.accepted?.includes(studentId) ?? false,
    deviceStudent: (deviceKey) => facts.bindings?.[deviceKey],
    studentDevices: (studentId) => facts.devices?.[studentId] ?? [],
    isOnRoster: (studentId) => (facts.roster ? facts.roster.includes(studentId) : undefined),
    wasConnectedThroughout: (fromMs, toMs) => (facts.connected ?? []).some(([from, to]) => from <= fromMs && to >= toMs),
    wasAddressUsedByAnotherStudent: (clientAddress, studentId) => (facts.addresses?.[clientAddress] ?? []).some((other) => other !== studentId),
  };
}
