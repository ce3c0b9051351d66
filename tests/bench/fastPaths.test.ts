/**
 * The follower's speed-ups must not change a byte or a decision (docs/performance.md): each
 * shortcut is checked here against the slow path it replaced.
 */
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { newNonce, randomBytes, toBase64Url } from '../../crypto/index.ts';
import { ROOT_RECEIPTS, encodeReceiptUpdate, receiptsMap, type Receipt } from '../../protocol/index.ts';
import { encodeReceiptBatch } from '../../validator/follow/RoomFollower.ts';
import { nodeRuleCrypto, signPayloadSync } from '../../validator/index.ts';

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
