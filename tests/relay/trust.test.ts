/**
 * The pure checks of who may write what (relay/trust.ts), rule by rule: a room grant
 * ([R9] well-formed, signed, for this room, not too far ahead, not older), its signer
 * ([R10] enrolled, not revoked, not another validator's room), quotas ([R11]), the answer to
 * the challenge, and when phones may write.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, randomBytes, signDetached } from '../../crypto/index.ts';
import { MAX_GRANT_AHEAD_MS, challengeSigningBytes } from '../../protocol/index.ts';
import { MemoryTrustStore, checkChallengeAnswer, checkGrant, roomWritability, type GrantLimits } from '../../relay/index.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const NOW = Date.now();
const LIMITS: GrantLimits = { maxOpenRoomsPerValidator: 3, maxReservedBytesPerValidator: 100 * 1024 * 1024, roomBytes: 4 * 1024 * 1024 };

async function setup() {
  const trust = new MemoryTrustStore();
  const alice = await new TestValidator('alice').enrolIn(trust);
  const bob = await new TestValidator('bob').enrolIn(trust);
  const stranger = new TestValidator('stranger');
  return { trust, alice, bob, stranger, room: randomUUID() };
}

async function check(trust: MemoryTrustStore, room: string, signed: { grantJson: string; signature: Uint8Array }, signer?: string, limits = LIMITS) {
  const result = await checkGrant(room, signed.grantJson, signed.signature, trust, NOW, limits, signer);
  if (result.ok) await trust.putGrant(result.stored);
  return result;
}

describe('room grants', () => {
  it('[R9] an enrolled validator’s grant for the room is accepted and says what to store', async () => {
    const { trust, alice, room } = await setup();
    const result = await check(trust, room, alice.grant(room, { writes_until_ms: NOW + 60_000 }));
    expect(result).toMatchObject({ ok: true, stored: { room, validator: alice.publicKey, writesUntilMs: NOW + 60_000, reservedBytes: LIMITS.roomBytes } });
  });

  it('[R9] max_bytes lowers what the grant reserves, never raises it past the relay’s room cap', async () => {
    const { trust, alice, room } = await setup();
    expect(await check(trust, room, alice.grant(room, { max_bytes: 100_000 }))).toMatchObject({ ok: true, stored: { reservedBytes: 100_000 } });
    const other = randomUUID();
    expect(await check(trust, other, alice.grant(other, { max_bytes: 2 ** 40 }))).toMatchObject({ ok: true, stored: { reservedBytes: LIMITS.roomBytes } });
  });

  it.each([
    ['text that is not JSON', (g: { grantJson: string; signature: Uint8Array }) => ({ ...g, grantJson: g.grantJson.slice(1) }), 'R9'],
    ['a forged signature', (g: { grantJson: string; signature: Uint8Array }) => ({ ...g, signature: randomBytes(64) }), 'R9'],
    ['a truncated signature', (g: { grantJson: string; signature: Uint8Array }) => ({ ...g, signature: g.signature.slice(0, 63) }), 'R9'],
    ['a field changed after signing', (g: { grantJson: string; signature: Uint8Array }) => ({ ...g, grantJson: g.grantJson.replace(/"writes_until_ms":\d+/, `"writes_until_ms":${NOW + 7200_000}`) }), 'R9'],
    ['an unknown field', (g: { grantJson: string; signature: Uint8Array }) => ({ ...g, grantJson: g.grantJson.replace('{', '{"admin":true,') }), 'R9'],
  ])('[R9] a grant with %s is refused', async (_name, tamper, rule) => {
    const { trust, alice, room } = await setup();
    expect(await check(trust, room, tamper(alice.grant(room)))).toMatchObject({ ok: false, rule });
    expect(await trust.grant(room)).toBeUndefined();
  });

  it('[R9] a grant for another room is refused', async () => {
    const { trust, alice, room } = await setup();
    expect(await check(trust, room, alice.grant(randomUUID()))).toMatchObject({ ok: false, rule: 'R9', reason: expect.stringContaining('another room') });
  });

  it('[R9] a grant that keeps the room open too far ahead is refused', async () => {
    const { trust, alice, room } = await setup();
    expect(await check(trust, room, alice.grant(room, { writes_until_ms: NOW + MAX_GRANT_AHEAD_MS + 1000 }))).toMatchObject({ ok: false, rule: 'R9' });
  });

  it('[R9] a newer grant of the same validator replaces the room’s; an older one is refused', async () => {
    const { trust, alice, room } = await setup();
    expect((await check(trust, room, alice.grant(room, { issued_at_ms: NOW - 10, writes_until_ms: NOW + 1000 }))).ok).toBe(true);
    expect((await check(trust, room, alice.grant(room, { issued_at_ms: NOW, writes_until_ms: NOW + 5 }))).ok).toBe(true);
    expect((await trust.grant(room))?.writesUntilMs).toBe(NOW + 5);
    expect(await check(trust, room, alice.grant(room, { issued_at_ms: NOW - 20 }))).toMatchObject({ ok: false, rule: 'R9', reason: expect.stringContaining('older') });
  });

  it('[R10] a validator the relay never enrolled cannot open a room', async () => {
    const { trust, stranger, room } = await setup();
    expect(await check(trust, room, stranger.grant(room))).toMatchObject({ ok: false, rule: 'R10', reason: expect.stringContaining('enrol') });
  });

  it('[R10] a revoked validator cannot open a room', async () => {
    const { trust, alice, room } = await setup();
    await trust.revoke('alice', NOW);
    expect(await check(trust, room, alice.grant(room))).toMatchObject({ ok: false, rule: 'R10', reason: expect.stringContaining('revoked') });
  });

  it('[R10] a second validator cannot open the first one’s room', async () => {
    const { trust, alice, bob, room } = await setup();
    expect((await check(trust, room, alice.grant(room))).ok).toBe(true);
    expect(await check(trust, room, bob.grant(room))).toMatchObject({ ok: false, rule: 'R10', reason: expect.stringContaining('another validator') });
    expect((await trust.grant(room))?.validator).toBe(alice.publicKey);
  });

  it('[R10] …not even after the first was revoked, unless it is the same name re-enrolled with a new key', async () => {
    const { trust, alice, bob, room } = await setup();
    await check(trust, room, alice.grant(room));
    await trust.revoke('alice', NOW);
    expect((await check(trust, room, bob.grant(room))).ok).toBe(false);
    const newLaptop = await new TestValidator('alice').enrolIn(trust);
    expect(await check(trust, room, newLaptop.grant(room))).toMatchObject({ ok: true });
  });

  it('[R10] a welcomed connection cannot present another validator’s grant', async () => {
    const { trust, alice, bob, room } = await setup();
    expect(await check(trust, room, bob.grant(room), alice.publicKey)).toMatchObject({ ok: false, rule: 'R10' });
  });

  it('[R11] a validator holds at most maxOpenRoomsPerValidator open rooms; renewing one of them is not a new room', async () => {
    const { trust, alice } = await setup();
    const rooms = [randomUUID(), randomUUID(), randomUUID()];
    for (const room of rooms) expect((await check(trust, room, alice.grant(room))).ok).toBe(true);
    const fourth = randomUUID();
    expect(await check(trust, fourth, alice.grant(fourth))).toMatchObject({ ok: false, rule: 'R11', closeCode: 4429 });
    const later = Date.now() + 1000;
    expect((await check(trust, rooms[0]!, alice.grant(rooms[0]!, { issued_at_ms: later }))).ok).toBe(true);
    // A room whose writing time is over no longer counts.
    expect((await check(trust, rooms[1]!, alice.grant(rooms[1]!, { issued_at_ms: later, writes_until_ms: NOW - 1 }))).ok).toBe(true);
    expect((await check(trust, fourth, alice.grant(fourth))).ok).toBe(true);
  });

  it('[R11] the bytes a validator’s open rooms reserve are bounded', async () => {
    const { trust, alice } = await setup();
    const limits = { ...LIMITS, maxOpenRoomsPerValidator: 100, maxReservedBytesPerValidator: 10 * 1024 * 1024 };
    const rooms = [randomUUID(), randomUUID()];
    for (const room of rooms) expect((await check(trust, room, alice.grant(room), undefined, limits)).ok).toBe(true);
    const third = randomUUID();
    expect(await check(trust, third, alice.grant(third), undefined, limits)).toMatchObject({ ok: false, rule: 'R11' });
    expect((await check(trust, third, alice.grant(third, { max_bytes: 1024 * 1024 }), undefined, limits)).ok).toBe(true);
  });
});

describe('the challenge', () => {
  it('[R10] the answer verifies only for this room, this challenge and this key', async () => {
    const { alice, bob, room } = await setup();
    const challenge = randomBytes(32);
    const answer = signDetached(challengeSigningBytes(room, challenge), alice.identity.secretKey);
    expect(checkChallengeAnswer(room, challenge, answer, alice.publicKey)).toBe(true);
    expect(checkChallengeAnswer(randomUUID(), challenge, answer, alice.publicKey)).toBe(false);
    expect(checkChallengeAnswer(room, randomBytes(32), answer, alice.publicKey)).toBe(false);
    expect(checkChallengeAnswer(room, challenge, answer, bob.publicKey)).toBe(false);
    expect(checkChallengeAnswer(room, challenge, answer.slice(1), alice.publicKey)).toBe(false);
    expect(fromBase64Url(alice.publicKey)).toHaveLength(32);
  });
});

describe('when phones may write', () => {
  it('[R9] only while a trusted validator’s grant keeps the room open', async () => {
    const { trust, alice, room } = await setup();
    expect(roomWritability(undefined, undefined, NOW)).toMatchObject({ ok: false, rule: 'R9', reason: expect.stringContaining('no validator') });
    const result = await check(trust, room, alice.grant(room, { writes_until_ms: NOW + 10 }));
    if (!result.ok) throw new Error('grant refused');
    const owner = await trust.validator(alice.publicKey);
    expect(roomWritability(result.stored, owner, NOW + 10)).toEqual({ ok: true });
    expect(roomWritability(result.stored, owner, NOW + 11)).toMatchObject({ ok: false, rule: 'R9', reason: expect.stringContaining('closed') });
    await trust.revoke('alice', NOW);
    expect(roomWritability(result.stored, await trust.validator(alice.publicKey), NOW)).toMatchObject({ ok: false, rule: 'R9', reason: expect.stringContaining('no longer trusted') });
  });
});
