/**
 * Writing to a guarded relay room the way its rightful writers do (SPEC.md R9, R10): a
 * validator's connection opens the room with its grant and writes receipts; entries arrive
 * through their phones' `?device=` connections. For relay tests that need a room with content.
 */
import type { Entry } from '../../protocol/index.ts';
import { RawRelayClient } from './relayClient.ts';
import { entryUpdate } from './roomUpdates.ts';
import type { TestValidator } from './testValidator.ts';

/** Opens `room` as `validator` (enrolled in the relay's trust beforehand); the connection reads the whole room and writes receipts. */
export function openRoom(baseUrl: string, room: string, validator: TestValidator): Promise<RawRelayClient> {
  return RawRelayClient.connect(baseUrl, room, { validator });
}

/**
 * Sends `updates` and waits until the relay has handled them: it handles a connection's
 * messages in order, so its answer to a sync step 1 sent behind them means they were admitted
 * (stored, R5) or refused. Throws when the relay closed the connection instead.
 */
export async function sendAndSettle(client: RawRelayClient, updates: Uint8Array[]): Promise<void> {
  for (const update of updates) client.sendUpdate(update);
  await client.syncRoom();
  if (client.close) throw new Error(`the relay closed the writer: ${client.close.code} ${client.close.reason}`);
}

/**
 * Writes each entry as its phone would: one `?device=` connection per device (each entry from a
 * fresh Yjs client), `parallel` phones at a time; resolves once every entry is admitted.
 */
export async function writeEntriesAsPhones(baseUrl: string, room: string, entries: Entry[], { parallel = 8 } = {}): Promise<void> {
  const byDevice = new Map<string, Entry[]>();
  for (const entry of entries) byDevice.set(entry.d, [...(byDevice.get(entry.d) ?? []), entry]);
  const queue = [...byDevice];
  const phone = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [device, own] = next;
      const client = await RawRelayClient.connect(baseUrl, room, { device });
      try {
        await sendAndSettle(client, own.map((entry) => entryUpdate(entry)));
      } finally {
        client.end();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, phone));
}
