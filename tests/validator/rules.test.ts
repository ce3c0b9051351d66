/**
 * docs/SPEC.md "Validation", rule by rule: each reason code has cases that fail if the rule is
 * removed, next to a near-identical case that is accepted (so the test pins the rule, not noise).
 */
import { describe, expect, it } from 'vitest';
import { fromBase64Url, newBoxKeyPair, toBase64Url } from '../../crypto/index.ts';
import { encodeQrPayload, decodeQrPayload, REJECTION_REASONS } from '../../protocol/index.ts';
import { decide, signPayloadSync, type DirectInput } from '../../validator/index.ts';
import { docOf, entryValueUpdate, withOwnKey } from '../helpers/roomUpdates.ts';
import { T0_S, entryInput, makeSession, memoryKnown, qrAt, sealedBytesEntry, sealedEntry } from './fixtures.ts';

const NOW_MS = (T0_S + 100) * 1000;
const session = makeSession();
const qr = qrAt(session, NOW_MS);

function direct(overrides: Partial<DirectInput> = {}): DirectInput {
  return { kind: 'direct', nonce: 'http:test', student_id: '2022IMT-048', payload_b64: qr.payload_b64, signature: qr.signature, receivedMs: NOW_MS, ...overrides };
}

function freshEntry(overrides: Partial<Parameters<typeof sealedEntry>[1]> = {}) {
  return sealedEntry(session, { qr, scannedAtMs: NOW_MS, ...overrides });
}

/** Re-signs a modified payload with `secret` (a genuine QR of whoever holds it). */
function resigned(change: (payload: ReturnType<typeof decodeQrPayload> & { ok: true }) => void, secret = session.secret) {
  const decoded = decodeQrPayload(qr.payload_b64);
  if (!decoded.ok) throw new Error('fixture QR does not decode');
  change(decoded);
  const payloadB64 = encodeQrPayload(decoded.value);
  return { payload_b64: payloadB64, signature: signPayloadSync(secret, payloadB64) };
}

describe('decide: the baseline is accepted', () => {
  it('accepts a fresh entry and a fresh direct submission with reason ok and no flags', () => {
    const entryDecision = decide(entryInput(freshEntry(), NOW_MS), session, memoryKnown(), NOW_MS);
    expect(entryDecision).toMatchObject({ status: 'accepted', reason: 'ok', flags: [], studentId: '2022IMT-048', via: 'sync', slotS: qr.slot });
    expect(entryDecision.sharedKey).toBeInstanceOf(Uint8Array);
    expect(decide(direct(), session, memoryKnown(), NOW_MS)).toMatchObject({ status: 'accepted', reason: 'ok', flags: [], via: 'direct' });
  });
});

describe('malformed', () => {
  const cases: [string, () => ReturnType<typeof entryInput>][] = [
    ['an entry missing its ciphertext', () => entryInput({ v: 1, d: freshEntry().d, n: freshEntry().n }, NOW_MS)],
    ['an entry with an unknown field', () => entryInput({ ...freshEntry(), x: 1 }, NOW_MS)],
    ['an entry over 2 KiB', () => entryInput({ ...freshEntry(), c: 'A'.repeat(2100) }, NOW_MS)],
    ['an entry stored under a key other than its nonce', () => entryInput(freshEntry(), NOW_MS, toBase64Url(new Uint8Array(24)))],
    ['a plaintext that is not the schema', () => entryInput(freshEntry({ plaintext: { v: 1, student_id: 42 } }), NOW_MS)],
    ['a plaintext whose student id has control characters', () => entryInput(freshEntry({ studentId: 'bad\u0007id' }), NOW_MS)],
    ['a string instead of an entry', () => entryInput('hello', NOW_MS, 'hello')],
    ['an entry whose fields hide in its prototype (a __proto__ key, as a Y.Doc reads it)', () => {
      const entry = freshEntry();
      const room = docOf(entryValueUpdate(entry.n, withOwnKey({}, '__proto__', entry)));
      return entryInput(room.getMap('entries').get(entry.n), NOW_MS, entry.n);
    }],
    ['an entry carrying a bigint (JSON cannot hold it)', () => entryInput({ ...freshEntry(), v: 1n }, NOW_MS)],
  ];
  for (const [name, make] of cases) {
    it(`rejects ${name}`, () => {
      expect(decide(make(), session, memoryKnown(), NOW_MS)).toMatchObject({ status: 'rejected', reason: 'malformed' });
    });
  }
  it('rejects direct submissions with a wrong-typed student id or a short signature', () => {
    expect(decide(direct({ student_id: 42 }), session, memoryKnown(), NOW_MS).reason).toBe('malformed');
    expect(decide(direct({ signature: 'abc' }), session, memoryKnown(), NOW_MS).reason).toBe('malformed');
    expect(decide(direct({ payload_b64: undefined }), session, memoryKnown(), NOW_MS).reason).toBe('malformed');
  });
});

describe('malformed, not undecryptable: the box opened', () => {
  for (const [name, bytes] of [
    ['not JSON', new TextEncoder().encode('not json {')],
    ['not UTF-8', Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ] as const) {
    it(`rejects a plaintext that is ${name} as malformed, keeping the box key for the receipt`, () => {
      const entry = sealedBytesEntry(session, bytes);
      const decision = decide(entryInput(entry, NOW_MS), session, memoryKnown(), NOW_MS);
      expect(decision).toMatchObject({ status: 'rejected', reason: 'malformed', deviceKey: entry.d });
      expect(decision.sharedKey).toBeInstanceOf(Uint8Array);
    });
  }
});

describe('undecryptable', () => {
  it('rejects an entry sealed to another validator key', () => {
    const entry = freshEntry({ validatorKey: newBoxKeyPair().publicKey });
    expect(decide(entryInput(entry, NOW_MS), session, memoryKnown(), NOW_MS)).toMatchObject({ status: 'rejected', reason: 'undecryptable', deviceKey: entry.d });
  });
  it('rejects an entry whose ciphertext was altered', () => {
    const entry = freshEntry();
    const bytes = fromBase64Url(entry.c);
    bytes[bytes.length - 1]! ^= 1;
    expect(decide(entryInput({ ...entry, c: toBase64Url(bytes) }, NOW_MS), session, memoryKnown(), NOW_MS).reason).toBe('undecryptable');
  });
});

describe('wrong_session', () => {
  const other = makeSession();
  const otherQr = qrAt(other, NOW_MS);
  it('names a genuine QR of another session, sealed to this session, for what it is (before the HMAC check)', () => {
    const entry = freshEntry({ qr: otherQr });
    expect(decide(entryInput(entry, NOW_MS), session, memoryKnown(), NOW_MS).reason).toBe('wrong_session');
  });
  it('applies to the direct path when the QR names another session', () => {
    expect(decide(direct({ payload_b64: otherQr.payload_b64, signature: otherQr.signature }), session, memoryKnown(), NOW_MS).reason).toBe('wrong_session');
  });
});

describe('bad_signature', () => {
  it('rejects a flipped signature', () => {
    const signature = fromBase64Url(qr.signature);
    signature[0]! ^= 1;
    const forged = { payload_b64: qr.payload_b64, signature: toBase64Url(signature) };
    expect(decide(entryInput(freshEntry({ qr: forged }), NOW_MS), session, memoryKnown(), NOW_MS).reason).toBe('bad_signature');
    expect(decide(direct(forged), session, memoryKnown(), NOW_MS).reason).toBe('bad_signature');
  });
  it('rejects a payload whose window was pushed out (re-encoded, old signature)', () => {
    const pushed = resigned((decoded) => (decoded.value.e += 3600));
    const forged = { payload_b64: pushed.payload_b64, signature: qr.signature };
    expect(decide(direct(forged), session, memoryKnown(), NOW_MS).reason).toBe('bad_signature');
  });
  it('rejects a QR signed with another secret', () => {
    const forged = resigned(() => {}, new Uint8Array(32));
    expect(decide(direct(forged), session, memoryKnown(), NOW_MS).reason).toBe('bad_signature');
  });
  it('rejects a payload that does not decode (never signed by a validator)', () => {
    const forged = { payload_b64: 'bm90IGpzb24', signature: qr.signature };
    expect(decide(direct(forged), session, memoryKnown(), NOW_MS).reason).toBe('bad_signature');
  });
});

describe('outside_window', () => {
  it('rejects a QR whose slot lies before the start (a session not yet begun)', () => {
    const future = makeSession({ startsAtS: T0_S + 3600, endsAtS: T0_S + 4800 });
    const early = qrAt(future, NOW_MS);
    expect(early.slot).toBeLessThan(future.startsAtS);
    expect(decide(direct({ payload_b64: early.payload_b64, signature: early.signature }), future, memoryKnown(), NOW_MS).reason).toBe('outside_window');
  });
  it('rejects a QR whose slot lies after the end', () => {
    const lateMs = (session.endsAtS + 30) * 1000;
    const late = qrAt(session, lateMs);
    const entry = sealedEntry(session, { qr: late, scannedAtMs: lateMs });
    expect(decide(entryInput(entry, lateMs), session, memoryKnown(), lateMs).reason).toBe('outside_window');
  });
  it('rejects a direct submission received after the end even with a QR from inside the window', () => {
    const static0 = makeSession({ rotateSeconds: 0 });
    const kept = qrAt(static0, NOW_MS);
    const afterEnd = (static0.endsAtS + 5) * 1000;
    expect(decide(direct({ payload_b64: kept.payload_b64, signature: kept.signature, receivedMs: afterEnd }), static0, memoryKnown(), afterEnd).reason).toBe('outside_window');
    expect(decide(direct({ payload_b64: kept.payload_b64, signature: kept.signature, receivedMs: NOW_MS }), static0, memoryKnown(), NOW_MS).reason).toBe('ok');
  });
  it('rejects an entry scanned and first seen after the end plus skew, but not one scanned in time and synced late', () => {
    const static0 = makeSession({ rotateSeconds: 0 });
    const kept = qrAt(static0, NOW_MS);
    const wellAfter = (static0.endsAtS + 600) * 1000;
    const scannedLate = sealedEntry(static0, { qr: kept, scannedAtMs: wellAfter });
    expect(decide(entryInput(scannedLate, wellAfter), static0, memoryKnown(), wellAfter).reason).toBe('outside_window');
    const scannedInTime = sealedEntry(static0, { qr: kept, scannedAtMs: NOW_MS });
    expect(decide(entryInput(scannedInTime, wellAfter), static0, memoryKnown(), wellAfter).reason).toBe('ok');
  });
});

describe('stale_qr', () => {
  const windowEndMs = (qr.slot + qr.rotate_seconds + session.skewSeconds) * 1000;
  it('rejects a rotating QR when both scanned_at and first-seen are past t + r + skew', () => {
    const entry = freshEntry({ scannedAtMs: windowEndMs + 1000 });
    expect(decide(entryInput(entry, windowEndMs + 2000), session, memoryKnown(), windowEndMs + 2000).reason).toBe('stale_qr');
    expect(decide(direct({ receivedMs: windowEndMs + 1 }), session, memoryKnown(), windowEndMs + 1).reason).toBe('stale_qr');
  });
  it('accepts an entry seen in time whatever the phone clock says, and one scanned in time but seen late', () => {
    const wrongClock = freshEntry({ scannedAtMs: NOW_MS + 3_600_000 });
    expect(decide(entryInput(wrongClock, NOW_MS), session, memoryKnown(), NOW_MS).reason).toBe('ok');
    const offline = freshEntry({ scannedAtMs: NOW_MS });
    expect(decide(entryInput(offline, windowEndMs + 60_000), session, memoryKnown(), windowEndMs + 60_000).reason).toBe('ok');
  });
  it('does not apply to a static QR (r = 0)', () => {
    const static0 = makeSession({ rotateSeconds: 0 });
    const kept = qrAt(static0, NOW_MS);
    const laterMs = NOW_MS + 600_000;
    expect(decide(direct({ payload_b64: kept.payload_b64, signature: kept.signature, receivedMs: laterMs }), static0, memoryKnown(), laterMs).reason).toBe('ok');
  });
});

describe('sync_too_late', () => {
  it('rejects an entry first seen more than late_sync_minutes after the end, and accepts it just inside', () => {
    const entry = freshEntry({ scannedAtMs: NOW_MS });
    const limitMs = session.endsAtS * 1000 + session.lateSyncMinutes * 60_000;
    expect(decide(entryInput(entry, limitMs + 1), session, memoryKnown(), limitMs + 1).reason).toBe('sync_too_late');
    expect(decide(entryInput(entry, limitMs), session, memoryKnown(), limitMs).reason).toBe('ok');
  });
});

describe('device_reused', () => {
  it('rejects a device already accepted for another student in this session, not for the same student', () => {
    const device = newBoxKeyPair();
    const entry = freshEntry({ device, studentId: '2022IMT-049' });
    const deviceKey = toBase64Url(device.publicKey);
    expect(decide(entryInput(entry, NOW_MS), session, memoryKnown({ bindings: { [deviceKey]: '2022IMT-048' } }), NOW_MS).reason).toBe('device_reused');
    expect(decide(entryInput(entry, NOW_MS), session, memoryKnown({ bindings: { [deviceKey]: '2022IMT-049' } }), NOW_MS).reason).toBe('ok');
  });
  it('does not apply to the direct path (no device)', () => {
    expect(decide(direct({ student_id: 'someone-else' }), session, memoryKnown({ bindings: { x: 'y' } }), NOW_MS).reason).toBe('ok');
  });
});

describe('duplicate', () => {
  it('rejects a student already accepted in this session, on both paths', () => {
    const known = memoryKnown({ accepted: ['2022IMT-048'] });
    expect(decide(entryInput(freshEntry(), NOW_MS), session, known, NOW_MS).reason).toBe('duplicate');
    expect(decide(direct(), session, known, NOW_MS).reason).toBe('duplicate');
    expect(decide(direct({ student_id: '2022IMT-050' }), session, known, NOW_MS).reason).toBe('ok');
  });
});

describe('student ids are compared in one spelling (NFC)', () => {
  const nfc = 'Jos\u00e9';
  const nfd = 'Jose\u0301';

  it('[duplicate] an NFD spelling of an accepted NFC student id is a duplicate, on both paths', () => {
    expect(nfd).not.toBe(nfc);
    const known = memoryKnown({ accepted: [nfc] });
    expect(decide(entryInput(freshEntry({ studentId: nfd }), NOW_MS), session, known, NOW_MS).reason).toBe('duplicate');
    expect(decide(direct({ student_id: nfd }), session, known, NOW_MS).reason).toBe('duplicate');
  });

  it('a decision records the NFC spelling whichever spelling arrived, on both paths', () => {
    expect(decide(entryInput(freshEntry({ studentId: nfd }), NOW_MS), session, memoryKnown(), NOW_MS)).toMatchObject({ status: 'accepted', studentId: nfc });
    expect(decide(direct({ student_id: nfd }), session, memoryKnown(), NOW_MS)).toMatchObject({ status: 'accepted', studentId: nfc });
  });
});

describe('order: the first failing rule decides', () => {
  it('a stale duplicate is stale_qr; a duplicate from a reused device is device_reused; a forged duplicate is bad_signature', () => {
    const device = newBoxKeyPair();
    const deviceKey = toBase64Url(device.publicKey);
    const known = memoryKnown({ accepted: ['2022IMT-048'], bindings: { [deviceKey]: 'other' } });
    const late = NOW_MS + 300_000;
    expect(decide(entryInput(freshEntry({ device, scannedAtMs: late }), late), session, known, late).reason).toBe('stale_qr');
    expect(decide(entryInput(freshEntry({ device }), NOW_MS), session, known, NOW_MS).reason).toBe('device_reused');
    const forged = { payload_b64: qr.payload_b64, signature: toBase64Url(new Uint8Array(32)) };
    expect(decide(direct(forged), session, known, NOW_MS).reason).toBe('bad_signature');
  });
  it('covers every rejection reason of protocol/ in this file', () => {
    expect(REJECTION_REASONS).toEqual(['malformed', 'undecryptable', 'wrong_session', 'bad_signature', 'outside_window', 'stale_qr', 'sync_too_late', 'device_reused', 'duplicate']);
  });
});

describe('review flags on accepted entries', () => {
  it('new_device: the student was accepted before with another device', () => {
    const device = newBoxKeyPair();
    const own = toBase64Url(device.publicKey);
    expect(decide(entryInput(freshEntry({ device }), NOW_MS), session, memoryKnown({ devices: { '2022IMT-048': ['other-device'] } }), NOW_MS).flags).toEqual(['new_device']);
    expect(decide(entryInput(freshEntry({ device }), NOW_MS), session, memoryKnown({ devices: { '2022IMT-048': [own] } }), NOW_MS).flags).toEqual([]);
  });
  it('not_on_roster: only when the course has a roster', () => {
    expect(decide(direct(), session, memoryKnown({ roster: ['someone'] }), NOW_MS).flags).toEqual(['not_on_roster']);
    expect(decide(direct(), session, memoryKnown({ roster: ['2022IMT-048'] }), NOW_MS).flags).toEqual([]);
    expect(decide(direct(), session, memoryKnown(), NOW_MS).flags).toEqual([]);
  });
  it('delayed_sync: first seen over 5 minutes after the slot while the validator was connected all along', () => {
    const seenMs = qr.slot * 1000 + 6 * 60_000;
    const entry = freshEntry({ scannedAtMs: NOW_MS });
    const connected = memoryKnown({ connected: [[qr.slot * 1000 - 1000, seenMs + 1000]] });
    expect(decide(entryInput(entry, seenMs), session, connected, seenMs)).toMatchObject({ reason: 'ok', flags: ['delayed_sync'] });
    const gap = memoryKnown({ connected: [[qr.slot * 1000 + 60_000, seenMs + 1000]] });
    expect(decide(entryInput(entry, seenMs), session, gap, seenMs).flags).toEqual([]);
  });
});

describe('shared_address (direct path): one client address, several student ids', () => {
  const fromAddress = (studentId: string) => direct({ student_id: studentId, clientAddress: '10.0.0.5' });
  it('flags an accepted direct submission whose address already submitted for another student id', () => {
    const known = memoryKnown({ addresses: { '10.0.0.5': ['2022IMT-001'] } });
    expect(decide(fromAddress('2022IMT-048'), session, known, NOW_MS)).toMatchObject({ reason: 'ok', flags: ['shared_address'], clientAddress: '10.0.0.5' });
  });
  it('does not flag the same student again from that address, nor another address', () => {
    const known = memoryKnown({ addresses: { '10.0.0.5': ['2022IMT-048'], '10.0.0.6': ['2022IMT-001'] } });
    expect(decide(fromAddress('2022IMT-048'), session, known, NOW_MS).flags).toEqual([]);
    expect(decide(direct({ clientAddress: '10.0.0.7' }), session, known, NOW_MS).flags).toEqual([]);
  });
  it('is a flag, never a rejection, and sits beside the other flags', () => {
    const known = memoryKnown({ addresses: { '10.0.0.5': ['2022IMT-001'] }, roster: ['someone'] });
    expect(decide(fromAddress('2022IMT-048'), session, known, NOW_MS)).toMatchObject({ status: 'accepted', flags: ['not_on_roster', 'shared_address'] });
  });
  it('keeps the address on a rejected direct decision (so it counts for the next one) and never on the sync path', () => {
    expect(decide(fromAddress('2022IMT-048'), session, memoryKnown({ accepted: ['2022IMT-048'] }), NOW_MS)).toMatchObject({ reason: 'duplicate', clientAddress: '10.0.0.5' });
    expect(decide(entryInput(freshEntry(), NOW_MS), session, memoryKnown({ addresses: { '10.0.0.5': ['x'] } }), NOW_MS).clientAddress).toBeUndefined();
  });
});
