/**
 * One contract suite for every TrustStore (relay/TrustStore.ts: enrolment codes, validators,
 * room grants), run against the memory, the SQLite and the PostgreSQL implementation; plus what
 * only the shared ones promise: trust survives reopening, and another process's write is
 * visible (`externalVersion`).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../log/index.ts';
import { PgTrustStore } from '../../relay/PgTrustStore.ts';
import { MemoryTrustStore, SqliteTrustStore, TRUST_DB_FILE, type StoredGrant, type TrustStore } from '../../relay/index.ts';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';

afterAll(removeTempDirs);

const T0 = 1_800_000_000_000;

function grant(room: string, validator: string, writesUntilMs: number, reservedBytes = 1024): StoredGrant {
  return { room, validator, grantJson: `{"room":"${room}"}`, signature: 'sig', writesUntilMs, issuedAtMs: T0, reservedBytes };
}

function runTrustStoreContract(name: string, open: () => TrustStore | Promise<TrustStore>): void {
  describe(`TrustStore contract: ${name}`, () => {
    it('is open until closed (the relay’s /readyz reads it)', async () => {
      const trust = await open();
      expect(trust.isOpen).toBe(true);
      await trust.close();
      expect(trust.isOpen).toBe(false);
    });

    it('[R9] a code redeems once, for its name; a used, unknown or expired code does not', async () => {
      const trust = await open();
      await trust.addEnrolmentCode('hash-1', 'prof-a', T0, T0 + 1000);
      await trust.addEnrolmentCode('hash-2', 'prof-b', T0, T0 + 1000);
      const first = await trust.redeemEnrolmentCode('hash-1', 'key-a', T0 + 10);
      expect(first).toMatchObject({ ok: true, validator: { publicKey: 'key-a', name: 'prof-a' } });
      expect(await trust.redeemEnrolmentCode('hash-1', 'key-x', T0 + 20)).toEqual({ ok: false, reason: 'used_code' });
      expect(await trust.redeemEnrolmentCode('nope', 'key-x', T0 + 20)).toEqual({ ok: false, reason: 'unknown_code' });
      expect(await trust.redeemEnrolmentCode('hash-2', 'key-b', T0 + 1001)).toEqual({ ok: false, reason: 'expired_code' });
      expect(await trust.validator('key-a')).toMatchObject({ name: 'prof-a', enrolledAtMs: T0 + 10 });
      expect(await trust.validator('key-x')).toBeUndefined();
      await trust.close();
    });

    it('[R9] re-enrolling a name under a new key revokes the old key (a professor’s new laptop)', async () => {
      const trust = await open();
      await trust.addEnrolmentCode('h1', 'prof-a', T0, T0 + 1000);
      await trust.addEnrolmentCode('h2', 'prof-a', T0, T0 + 1000);
      await trust.redeemEnrolmentCode('h1', 'old-key', T0 + 1);
      const second = await trust.redeemEnrolmentCode('h2', 'new-key', T0 + 2);
      expect(second).toMatchObject({ ok: true, replaced: 'old-key' });
      expect((await trust.validator('old-key'))?.revokedAtMs).toBe(T0 + 2);
      expect((await trust.validator('new-key'))?.revokedAtMs).toBeUndefined();
      await trust.close();
    });

    it('[R10] revoke by name marks every active key of that name and says how many', async () => {
      const trust = await open();
      await trust.enrolDirect('key-a', 'prof-a', T0);
      await trust.enrolDirect('key-b', 'prof-b', T0);
      expect(await trust.revoke('prof-a', T0 + 5)).toBe(1);
      expect(await trust.revoke('prof-a', T0 + 6)).toBe(0);
      expect((await trust.validator('key-a'))?.revokedAtMs).toBe(T0 + 5);
      expect((await trust.validators()).map((v) => [v.name, v.revokedAtMs !== undefined])).toEqual([
        ['prof-a', true],
        ['prof-b', false],
      ]);
      await trust.close();
    });

    it('enrolDirect is idempotent for an active key and re-trusts a revoked one', async () => {
      const trust = await open();
      await trust.enrolDirect('key-a', 'laptop', T0);
      expect((await trust.enrolDirect('key-a', 'laptop', T0 + 9)).enrolledAtMs).toBe(T0);
      await trust.revoke('laptop', T0 + 10);
      expect((await trust.enrolDirect('key-a', 'laptop', T0 + 11)).revokedAtMs).toBeUndefined();
      await trust.close();
    });

    it('[R11] grants: one per room (replaced), open ones listed per validator until writes_until', async () => {
      const trust = await open();
      await trust.putGrant(grant('room-1', 'key-a', T0 + 100));
      await trust.putGrant(grant('room-2', 'key-a', T0 + 50));
      await trust.putGrant(grant('room-3', 'key-b', T0 + 100));
      await trust.putGrant({ ...grant('room-1', 'key-a', T0 + 200), issuedAtMs: T0 + 1 });
      expect(await trust.grant('room-1')).toMatchObject({ writesUntilMs: T0 + 200, issuedAtMs: T0 + 1 });
      expect(await trust.grant('room-9')).toBeUndefined();
      expect((await trust.openGrants('key-a', T0 + 60)).map((g) => g.room)).toEqual(['room-1']);
      expect((await trust.openGrants('key-a', T0)).map((g) => g.room).sort()).toEqual(['room-1', 'room-2']);
      await trust.close();
    });

    it('grants(rooms) reads the grants of many rooms at once; rooms without one are absent', async () => {
      const trust = await open();
      await trust.putGrant(grant('room-1', 'key-a', T0 + 100));
      await trust.putGrant(grant('room-2', 'key-b', T0 + 50));
      const read = await trust.grants(['room-1', 'room-2', 'room-9']);
      expect([...read.keys()].sort()).toEqual(['room-1', 'room-2']);
      expect(read.get('room-2')).toEqual(grant('room-2', 'key-b', T0 + 50));
      expect(await trust.grants([])).toEqual(new Map());
      await trust.close();
    });
  });
}

runTrustStoreContract('memory', () => new MemoryTrustStore());
runTrustStoreContract('SQLite', () => new SqliteTrustStore(join(tempDir('rollcall-trust-'), TRUST_DB_FILE)));

describe('SqliteTrustStore', () => {
  it('keeps validators and grants across reopening, and sees another connection’s revocation', async () => {
    const path = join(tempDir('rollcall-trust-'), TRUST_DB_FILE);
    const relay = new SqliteTrustStore(path);
    await relay.enrolDirect('key-a', 'prof-a', T0);
    await relay.putGrant(grant('room-1', 'key-a', T0 + 100));
    const before = await relay.externalVersion();
    const operator = new SqliteTrustStore(path); // `rollcall relay revoke` in another process
    expect(await operator.grant('room-1')).toMatchObject({ validator: 'key-a' });
    await operator.revoke('prof-a', T0 + 1);
    await operator.close();
    expect(await relay.externalVersion()).not.toBe(before);
    expect((await relay.validator('key-a'))?.revokedAtMs).toBe(T0 + 1);
    await relay.close();
  });
});

describeWithPostgres('PgTrustStore (a PostgreSQL started for this file)', () => {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const connect = (url: string) => PgTrustStore.connect(url, { logger: silentLogger });

  runTrustStoreContract('PostgreSQL', async () => connect(await server!.createDatabase()));

  it('[R10] another relay’s revocation, and a grant it stored, change the version every relay polls', async () => {
    const url = await server!.createDatabase();
    const relayA = await connect(url);
    const relayB = await connect(url); // another relay, or `rollcall relay revoke --store …`
    await relayA.enrolDirect('key-a', 'prof-a', T0);
    const before = await relayA.externalVersion();
    await relayB.putGrant(grant('room-1', 'key-a', T0 + 100));
    const afterGrant = await relayA.externalVersion();
    expect(afterGrant).not.toBe(before);
    expect(await relayA.grant('room-1')).toMatchObject({ validator: 'key-a', writesUntilMs: T0 + 100 });
    expect(await relayB.revoke('prof-a', T0 + 1)).toBe(1);
    expect(await relayA.externalVersion()).not.toBe(afterGrant);
    expect((await relayA.validator('key-a'))?.revokedAtMs).toBe(T0 + 1);
    await Promise.all([relayA.close(), relayB.close()]);
  });

  it('[R9] one code redeemed by two relays at the same moment enrols exactly one key', async () => {
    const url = await server!.createDatabase();
    const [relayA, relayB] = await Promise.all([connect(url), connect(url)]);
    await relayA.addEnrolmentCode('hash-1', 'prof-a', T0, T0 + 1000);
    const results = await Promise.all([relayA.redeemEnrolmentCode('hash-1', 'key-a', T0 + 1), relayB.redeemEnrolmentCode('hash-1', 'key-b', T0 + 1)]);
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.find((result) => !result.ok)).toEqual({ ok: false, reason: 'used_code' });
    expect(await relayA.validators()).toHaveLength(1);
    await Promise.all([relayA.close(), relayB.close()]);
  });
});
