/**
 * The test helpers' y-websocket provider (tests/helpers/SyncProvider.ts): a process holding
 * many phones adds one `exit` listener, not one per phone (Node warns past ten), and a
 * destroyed provider leaves it.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { expect, it } from 'vitest';
import { SyncProvider, liveSyncProviders } from '../helpers/SyncProvider.ts';

it('thirty providers at once add at most one process exit listener; destroying them releases every one', () => {
  const listenersBefore = process.listenerCount('exit');
  const providersBefore = liveSyncProviders();
  const phones = Array.from({ length: 30 }, () => {
    const doc = new Y.Doc();
    const provider = new SyncProvider('ws://127.0.0.1:9/sync', '00000000-0000-4000-8000-000000000000', doc, {
      connect: false,
      disableBc: true,
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    return { doc, provider };
  });
  expect(process.listenerCount('exit') - listenersBefore).toBeLessThanOrEqual(1);
  expect(liveSyncProviders() - providersBefore).toBe(30);
  for (const { doc, provider } of phones) {
    provider.destroy();
    doc.destroy();
  }
  expect(liveSyncProviders()).toBe(providersBefore);
  expect(process.listenerCount('exit') - listenersBefore).toBeLessThanOrEqual(1);
});
