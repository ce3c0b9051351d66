/**
 * `node cli/bin/run-ts.js bench/admission.ts [--entries 5000] [--rounds 5] [--store sqlite|memory|postgres://…] [--compact-after 500]`:
 * the relay's admission path alone, in one process: phones' entry updates go through
 * RelayConnection → RelayRoom (inspect, store, broadcast to a validator peer), with no sockets or
 * network in the way. Prints admitted entries per second and µs per entry, best of the rounds,
 * for the chosen store (the SQLite path must stay as fast as before admission became async).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relayLimits } from '../relay/limits.ts';
import { RelayConnection } from '../relay/RelayConnection.ts';
import { RelayRoom, type RelayCounters } from '../relay/RelayRoom.ts';
import { SqliteUpdateStore } from '../relay/SqliteUpdateStore.ts';
import { MemoryUpdateStore, type UpdateStore } from '../relay/UpdateStore.ts';
import { PgUpdateStore } from '../relay/PgUpdateStore.ts';
import { encodeSyncUpdate } from '../relay/syncMessages.ts';
import { silentLogger } from '../log/index.ts';
import * as Y from 'yjs';
import { entryUpdate, fakeDevice, fakeEntry } from '../tests/helpers/roomUpdates.ts';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1]! : fallback;
}

const entries = Number(option('entries', '5000'));
const rounds = Number(option('rounds', '5'));
const storeKind = option('store', 'sqlite');
const limits = relayLimits({ deviceMessagesPerSecond: 1e9, deviceBurst: 1e9, compactAfterRows: Number(option("compact-after", "500")) });

async function openStore(dir: string): Promise<UpdateStore> {
  if (storeKind === 'memory') return new MemoryUpdateStore();
  if (storeKind.startsWith('postgres')) return PgUpdateStore.connect(storeKind, { logger: silentLogger });
  return new SqliteUpdateStore(join(dir, 'relay.db'));
}

async function round(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-admission-'));
  const store = await openStore(dir);
  const counters: RelayCounters = { admitted: 0, duplicates: 0, refused: 0, compactions: 0, fromOtherRelays: 0, storeFailures: 0 };
  const room = new RelayRoom({
    name: crypto.randomUUID(),
    store,
    limits,
    logger: silentLogger,
    counters,
    observeAppendSeconds: () => {},
    onIdle: () => {},
    guard: { limitsFor: () => limits, mayWrite: () => ({ ok: true }) },
  });
  await room.ready;
  const connection = (device: string | undefined) =>
    new RelayConnection({
      id: 1,
      socket: { send: () => {}, close: () => {} },
      device,
      limits,
      now: Date.now,
      onRefused: (_from, refusal) => {
        console.error(`an entry was refused (${refusal.rule}: ${refusal.reason}): the benchmark is broken`);
        process.exit(1);
      },
      onValidatorMessage: () => {},
      onError: (_from, error) => {
        throw error;
      },
    });
  const validator = connection(undefined);
  validator.proven('bench');
  room.join(validator);
  validator.attach(room);
  const phones = Array.from({ length: 50 }, () => {
    const phone = connection(fakeDevice());
    room.join(phone);
    phone.attach(room);
    return phone;
  });
  // Distinct Yjs clients: two random ones that collide would be refused (R8).
  const messages = Array.from({ length: entries }, (_, i) => {
    const doc = new Y.Doc();
    doc.clientID = i + 1;
    return encodeSyncUpdate(entryUpdate(fakeEntry(phones[i % phones.length]!.device), doc));
  });
  const startedAt = performance.now();
  messages.forEach((message, i) => phones[i % phones.length]!.receive(message));
  while (counters.admitted < entries) await new Promise((done) => setImmediate(done));
  const seconds = (performance.now() - startedAt) / 1000;
  room.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return seconds;
}

await round(); // warm-up
const times: number[] = [];
for (let i = 0; i < rounds; i++) times.push(await round());
const best = Math.min(...times);
const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
console.log(`store ${storeKind.startsWith('postgres') ? 'postgres' : storeKind}: ${entries} entries, best of ${rounds}: ${Math.round(entries / best)} entries/s (${((best / entries) * 1e6).toFixed(1)} µs each), median ${((median / entries) * 1e6).toFixed(1)} µs`);
