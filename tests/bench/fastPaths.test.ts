/**
 * The follower's speed-ups must not change a byte or a decision (docs/performance.md): each
 * shortcut is checked here against the slow path it replaced.
 */
import nacl from 'tweetnacl';
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { base64UrlByteLength, newNonce, randomBytes, toBase64Url, tryFromBase64Url } from '../../crypto/index.ts';
import { EntryPlaintextSchema, MAX_ITEM_BYTES, ROOT_RECEIPTS, encodeReceiptUpdate, jsonByteLength, parseEntry, parseWith, receiptsMap, type Receipt } from '../../protocol/index.ts';
import { encodeReceiptBatch } from '../../validator/follow/RoomFollower.ts';
import { nodeRuleCrypto, signPayloadSync } from '../../validator/index.ts';
import { recognisedEntry, recognisedPlaintext } from '../../validator/rules.ts';
import { deviceKeyPair } from '../../bench/rawStudent.ts';

function receipt(): Receipt {
  return { v: 1, n: toBase64Url(randomBytes(24)), rn: toBase64Url(randomBytes(24)), c: toBase64Url(randomBytes(100 + Math.floor(Math.random() * 60))) };
}

/** The client ids of a one-item-per-client update, in the order written. */
function clientsOf(update: Uint8Array): number[] {
  return Y.decodeUpdate(update).structs.map((struct) => struct.id.client);
}

describe('encodeReceiptBatch (receipts merged by concatenation)', () => {
  it.each([1, 2, 7, 200])('gives the bytes Y.mergeUpdates gives for %i one-receipt updates', (count) => {
    const receipts = Array.from({ length: count }, receipt);
    const batch = encodeReceiptBatch(receipts);
    const clients = clientsOf(batch);
    const singles = receipts.map((r, i) => encodeReceiptUpdate(r, clients[i]!));
    expect(batch).toEqual(Y.mergeUpdates(singles));
    expect(batch).toEqual(Y.mergeUpdates([...singles].reverse()));
  });

  it('writes each receipt from its own client at clock 0 (R8), and a doc that applies it holds them all', () => {
    const receipts = Array.from({ length: 50 }, receipt);
    const batch = encodeReceiptBatch(receipts);
    const { structs, ds } = Y.decodeUpdate(batch);
    expect(new Set(structs.map((s) => s.id.client)).size).toBe(50);
    for (const struct of structs) {
      expect(struct.id.clock).toBe(0);
      expect(struct.length).toBe(1);
      expect((struct as Y.Item).parent as unknown).toBe(ROOT_RECEIPTS);
    }
    expect(ds.clients.size).toBe(0);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, batch);
    for (const r of receipts) expect(receiptsMap(doc).get(r.n)).toEqual(r);
  });
});

describe('newNonce (cut from a pool of random bytes)', () => {
  it('gives 24 fresh bytes each time, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const nonce = newNonce();
      expect(nonce).toHaveLength(24);
      seen.add(toBase64Url(nonce));
    }
    expect(seen.size).toBe(1000);
  });
});

describe('nodeRuleCrypto.verifySignature (verified QRs remembered)', () => {
  it('answers as the HMAC does, before and after a QR is remembered, for any secret, and past the memo size', () => {
    const secret = randomBytes(32);
    const payloads = Array.from({ length: 300 }, () => toBase64Url(randomBytes(150)));
    for (let round = 0; round < 2; round++) {
      for (const payload of payloads) {
        const signature = signPayloadSync(secret, payload);
        expect(nodeRuleCrypto.verifySignature(secret, payload, signature)).toBe(true);
        expect(nodeRuleCrypto.verifySignature(randomBytes(32), payload, signature)).toBe(false);
        expect(nodeRuleCrypto.verifySignature(secret, payload, signPayloadSync(secret, `${payload}x`))).toBe(false);
        expect(nodeRuleCrypto.verifySignature(secret, `${payload}A`, signature)).toBe(false);
      }
    }
  });
});

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Damaged copies of `value`: each field replaced, removed or doubled, extra keys, other types. */
function damaged(value: Record<string, unknown>, random: () => number): unknown[] {
  const strings = ['', 'A', 'AA', 'AAA', 'AAAA', 'AB', 'AQ', 'AB=', 'A+B/', 'é', ' x', 'x ', 'a\u0000b', 'a\u200bb', 'Jose\u0301', 'x'.repeat(64), 'x'.repeat(65), 'A'.repeat(2100)];
  const numbers = [0, -0, 1, 2, -1, 1.5, 2 ** 50, 2 ** 50 + 1, Number.NaN, Number.POSITIVE_INFINITY];
  const variants: unknown[] = [null, [], 'entry', 1, [value], { ...value, extra: 1 }, Object.assign(Object.create(null), value), JSON.parse(`{"__proto__":{},${JSON.stringify(value).slice(1)}`)];
  for (const key of Object.keys(value)) {
    const { [key]: removed, ...rest } = value;
    variants.push(rest);
    for (const replacement of [...strings, ...numbers, null, true, {}, [removed]]) variants.push({ ...value, [key]: replacement });
    if (typeof removed === 'string' && removed.length > 0) {
      const at = Math.floor(random() * removed.length);
      for (const character of ['-', '_', '=', '.', 'A', 'B', 'z']) variants.push({ ...value, [key]: removed.slice(0, at) + character + removed.slice(at + 1) });
      variants.push({ ...value, [key]: removed.slice(0, -1) }, { ...value, [key]: `${removed}A` }, { ...value, [key]: removed.slice(0, -1) + 'B' });
    }
  }
  return variants;
}

describe('base64UrlByteLength (a canonical base64url check without decoding)', () => {
  it('accepts exactly what tryFromBase64Url decodes, and says how many bytes', () => {
    const random = seeded(3);
    const characters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .é';
    for (let i = 0; i < 20_000; i++) {
      let text = toBase64Url(randomBytes(Math.floor(random() * 40)));
      if (i % 2 === 1) text = Array.from({ length: Math.floor(random() * 9) }, () => characters[Math.floor(random() * characters.length)]).join('');
      else if (i % 4 === 2 && text.length > 0) {
        const at = Math.floor(random() * text.length);
        text = text.slice(0, at) + characters[Math.floor(random() * characters.length)] + text.slice(at + 1);
      }
      expect(base64UrlByteLength(text), text).toBe(tryFromBase64Url(text)?.length);
    }
  });
});

describe('recognisedEntry and recognisedPlaintext (the schemas skipped for well-formed values)', () => {
  it('accept only entries parseEntry accepts, and return what it returns; every entry a phone writes is recognised', () => {
    const random = seeded(1);
    let recognised = 0;
    for (let i = 0; i < 200; i++) {
      const entry = { v: 1, d: toBase64Url(randomBytes(32)), n: toBase64Url(randomBytes(24)), c: toBase64Url(randomBytes(16 + Math.floor(random() * 1500))) };
      const expected = parseEntry(entry);
      expect(recognisedEntry(entry)).toEqual(expected.ok ? expected.value : undefined);
      if (jsonByteLength(entry) <= MAX_ITEM_BYTES) expect(recognisedEntry(entry)).toBeDefined();
      for (const value of damaged(entry, random)) {
        const fast = recognisedEntry(value);
        if (fast === undefined) continue;
        recognised++;
        expect(parseEntry(value)).toEqual({ ok: true, value: fast });
      }
    }
    expect(recognised).toBeGreaterThan(0);
  });

  it('[F2] accept only plaintexts the schema accepts (v1 and v2), and return what it returns; ASCII student ids are recognised', () => {
    const random = seeded(2);
    for (let i = 0; i < 200; i++) {
      const plaintext = {
        v: i % 2 === 0 ? 1 : 2,
        student_id: ['2022IMT-048', 'a', 'x'.repeat(64), "O'Brien J.", 'B7'][i % 5]!,
        payload_b64: toBase64Url(randomBytes(1 + Math.floor(random() * 760))),
        signature: toBase64Url(randomBytes(32)),
        scanned_at: Math.floor(random() * 2 ** 41),
      };
      expect(recognisedPlaintext(plaintext)).toEqual(parseWith(EntryPlaintextSchema, plaintext).ok ? plaintext : undefined);
      expect(recognisedPlaintext(plaintext)).toBeDefined();
      for (const value of damaged(plaintext, random)) {
        const fast = recognisedPlaintext(value);
        if (fast === undefined) continue;
        const slow = parseWith(EntryPlaintextSchema, value);
        expect(slow).toEqual({ ok: true, value: fast });
        expect(Object.is(slow.ok && slow.value.scanned_at, fast.scanned_at)).toBe(true);
        expect(jsonByteLength(value)).toBeLessThanOrEqual(MAX_ITEM_BYTES);
      }
    }
  });
});

describe('deviceKeyPair (the benchmarks’ phones, Node X25519 without generateKeyPairSync)', () => {
  it('gives the public key nacl.box gives for the same secret key, for 200 random pairs', () => {
    for (let i = 0; i < 200; i++) {
      const pair = deviceKeyPair();
      expect(pair.secretKey).toHaveLength(32);
      expect(toBase64Url(pair.publicKey)).toBe(toBase64Url(nacl.box.keyPair.fromSecretKey(pair.secretKey).publicKey));
    }
  });

  it('makes a different pair each call', () => {
    expect(toBase64Url(deviceKeyPair().secretKey)).not.toBe(toBase64Url(deviceKeyPair().secretKey));
  });
});
