/**
 * Two relays in this process on one PostgreSQL database, hearing each other through a
 * MemoryBus (SPEC.md R12): any relay serves any room. A phone on relay A is answered by the
 * validator on relay B; two writes of one key at the two relays at once are admitted once (R7);
 * a message the bus dropped is recovered from the store.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { entriesMap, receiptsMap } from '../../protocol/index.ts';
import { silentLogger } from '../../log/index.ts';
import { memoryBusHub, type MemoryBusHub } from '../../relay/MemoryBus.ts';
import { RedisBus } from '../../relay/RedisBus.ts';
import { PgDatabase } from '../../relay/PgDatabase.ts';
import { PgTrustStore } from '../../relay/PgTrustStore.ts';
import { PgUpdateStore } from '../../relay/PgUpdateStore.ts';
import { serveRelay, type InProcessRelay } from '../helpers/inProcessRelay.ts';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { describeWithRedis, startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { openRoom, sendAndSettle } from '../helpers/roomWriters.ts';
import { entryUpdate, fakeDevice, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { TestValidator } from '../helpers/testValidator.ts';

describeWithPostgres('[R12] two relays on one PostgreSQL database and a bus', () => {
  let server: TestPostgres | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A relay with its own pool on `url` and its own bus on `hub` (as on its own machine). */
  async function relayOn(url: string, hub: MemoryBusHub, limits = {}): Promise<InProcessRelay> {
    const database = await PgDatabase.connect(url, { logger: silentLogger });
    const bus = hub.open();
    const relay = await serveRelay({ store: new PgUpdateStore(database), trust: new PgTrustStore(database), bus, limits });
    cleanups.push(async () => {
      await relay.close();
      await bus.close();
      await database.close();
    });
    return relay;
  }

  async function twoRelays(limits = {}) {
    const url = await server!.createDatabase();
    const hub = memoryBusHub();
    const [a, b] = [await relayOn(url, hub, limits), await relayOn(url, hub, limits)];
    const validator = new TestValidator();
    const trust = await PgTrustStore.connect(url, { logger: silentLogger }); // the operator's enrolment
    await validator.enrolIn(trust);
    await trust.close();
    return { a, b, hub, validator, room: randomUUID() };
  }

  function connectPhone(relay: InProcessRelay, room: string, device: string): Promise<RawRelayClient> {
    // The room's grant was stored by the other relay a moment ago: this one sees it within a refresh.
    return waitFor(() => RawRelayClient.connect(relay.baseUrl, room, { device }).catch(() => undefined), { message: 'the phone to be let in' });
  }

  it('a phone on relay A is answered by the validator on relay B, each hearing only what it may (filtered on A, whole on B)', async () => {
    const { a, b, validator, room } = await twoRelays();
    const validatorLink = await openRoom(b.baseUrl, room, validator);
    cleanups.push(() => validatorLink.end());
    const device = fakeDevice();
    const phone = await connectPhone(a, room, device);
    const otherPhone = await connectPhone(a, room, fakeDevice());
    cleanups.push(() => phone.end(), () => otherPhone.end());
    const entry = fakeEntry(device);
    await sendAndSettle(phone, [entryUpdate(entry)]);
    await waitFor(() => entriesMap(validatorLink.doc).get(entry.n), { message: 'the entry to reach the validator on B' });
    const receipt = fakeReceipt(entry.n);
    await sendAndSettle(validatorLink, [receiptUpdate(receipt)]);
    await waitFor(() => receiptsMap(phone.doc).get(entry.n), { message: 'the receipt to reach the phone on A' });
    expect(receiptsMap(phone.doc).get(entry.n)).toEqual(receipt);
    // The other phone on A syncs the room and holds nothing of this device's (R8 filtering).
    await otherPhone.syncRoom();
    expect(entriesMap(otherPhone.doc).size + receiptsMap(otherPhone.doc).size).toBe(0);
    expect(a.relay.stats()).toMatchObject({ admitted: 1, fromOtherRelays: 1 });
    expect(b.relay.stats()).toMatchObject({ admitted: 1, fromOtherRelays: 1 });
  });

  it('[R7] the same key written at both relays at the same moment is admitted once; the other writer gets the ordinary R7 refusal', async () => {
    const { a, b, hub, validator, room } = await twoRelays();
    const validatorLink = await openRoom(b.baseUrl, room, validator);
    cleanups.push(() => validatorLink.end());
    const device = fakeDevice();
    const [atA, atB] = [await connectPhone(a, room, device), await connectPhone(b, room, device)];
    cleanups.push(() => atA.end(), () => atB.end());
    // One nonce, two different first writes of it (two Yjs clients): only one may stand.
    const entry = fakeEntry(device);
    const [fromA, fromB] = [entryUpdate(entry), entryUpdate({ ...entry, c: fakeEntry(device).c })];
    // Neither relay hears the other: only the store's key index can tell them apart.
    hub.cut();
    atA.sendUpdate(fromA);
    atB.sendUpdate(fromB);
    const outcomes = await Promise.all([atA, atB].map((phone) => phone.syncRoom().then(() => phone.close)));
    const refused = outcomes.filter((close) => close !== undefined);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 4403, reason: expect.stringMatching(/^R7: /) });
    hub.restore();
    await waitFor(() => entriesMap(validatorLink.doc).get(entry.n), { message: 'the admitted entry at the validator' });
    expect(a.relay.stats().admitted + b.relay.stats().admitted).toBe(1);
    expect(a.relay.stats().refusedByRule['R7'] ?? 0).toBe(refused[0] === atA.close ? 1 : 0);
  });

  it('[R5] an update the bus dropped (it was down) reaches the other relay’s peers from the store once the bus is back', async () => {
    const { a, b, hub, validator, room } = await twoRelays({ busCatchUpMs: 60_000 });
    const validatorLink = await openRoom(b.baseUrl, room, validator);
    cleanups.push(() => validatorLink.end());
    const device = fakeDevice();
    const phone = await connectPhone(a, room, device);
    cleanups.push(() => phone.end());
    await sendAndSettle(phone, [entryUpdate(fakeEntry(device))]);
    await waitFor(() => entriesMap(validatorLink.doc).size === 1, { message: 'the first entry at the validator' });
    hub.cut();
    const lost = fakeEntry(device);
    await sendAndSettle(phone, [entryUpdate(lost, new Y.Doc())]);
    expect(entriesMap(validatorLink.doc).get(lost.n)).toBeUndefined();
    hub.restore();
    await waitFor(() => entriesMap(validatorLink.doc).get(lost.n), { message: 'the dropped entry, caught up from the store' });
  });

  it('[R5] an update the bus lost while connected reaches the other relay’s peers by the periodic catch-up (busCatchUpMs)', async () => {
    const { a, b, hub, validator, room } = await twoRelays({ busCatchUpMs: 300 });
    const validatorLink = await openRoom(b.baseUrl, room, validator);
    cleanups.push(() => validatorLink.end());
    const device = fakeDevice();
    const phone = await connectPhone(a, room, device);
    cleanups.push(() => phone.end());
    hub.dropNext();
    const lost = fakeEntry(device);
    await sendAndSettle(phone, [entryUpdate(lost)]);
    await waitFor(() => entriesMap(validatorLink.doc).get(lost.n), { message: 'the lost entry, caught up from the store' });
    expect(b.relay.stats().fromOtherRelays).toBe(1);
  });

  describeWithRedis('on Redis', () => {
    it('[R12a] a room relay A held alone: its unpublished entries reach the validator that opens the room on B, and A publishes again once B is there (periodic catch-up off)', async () => {
      const redis = await startRedis();
      cleanups.push(() => redis.stop());
      const url = await server!.createDatabase();
      const limits = { busCatchUpMs: 3_600_000 };
      const relayWithRedis = async () => {
        const database = await PgDatabase.connect(url, { logger: silentLogger });
        const bus = await RedisBus.connect(redis.url, { relayId: randomUUID() });
        const relay = await serveRelay({ store: new PgUpdateStore(database), trust: new PgTrustStore(database), bus, limits });
        cleanups.push(async () => {
          await relay.close();
          await bus.close();
          await database.close();
        });
        return { ...relay, bus };
      };
      const [a, b] = [await relayWithRedis(), await relayWithRedis()];
      const validator = new TestValidator();
      const trust = await PgTrustStore.connect(url, { logger: silentLogger });
      await validator.enrolIn(trust);
      await trust.close();
      const room = randomUUID();
      // The validator opens the room on A and leaves: A's phone writes with no other relay there.
      const opening = await openRoom(a.baseUrl, room, validator);
      const device = fakeDevice();
      const phone = await connectPhone(a, room, device);
      cleanups.push(() => phone.end());
      await opening.end();
      const early = [fakeEntry(device), fakeEntry(device), fakeEntry(device)];
      for (const entry of early) await sendAndSettle(phone, [entryUpdate(entry, new Y.Doc())]);
      await waitFor(() => a.bus.unpublished >= 1, { message: 'A to stop publishing the room it holds alone' });
      expect(a.bus.aloneRooms).toBe(1);
      // The validator comes back through B: it gets every entry, the unpublished ones included.
      const validatorLink = await openRoom(b.baseUrl, room, validator);
      cleanups.push(() => validatorLink.end());
      await validatorLink.syncRoom();
      await waitFor(() => early.every((entry) => entriesMap(validatorLink.doc).get(entry.n)), { message: 'A’s entries at the validator on B' });
      // B's join brought A back to publishing: a later entry crosses the bus, and a receipt comes back.
      await waitFor(() => a.bus.aloneRooms === 0, { message: 'A to hear B join' });
      const late = fakeEntry(device);
      await sendAndSettle(phone, [entryUpdate(late, new Y.Doc())]);
      await waitFor(() => entriesMap(validatorLink.doc).get(late.n), { message: 'the later entry at the validator, through the bus' });
      const receipt = fakeReceipt(late.n);
      await sendAndSettle(validatorLink, [receiptUpdate(receipt)]);
      await waitFor(() => receiptsMap(phone.doc).get(late.n), { message: 'the receipt at the phone on A' });
      expect(b.relay.stats().fromOtherRelays).toBeGreaterThanOrEqual(1);
    });
  });
});
