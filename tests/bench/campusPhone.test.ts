/**
 * The campus bench's phone (bench/CampusPhone.ts) against a bare WebSocket server on loopback:
 * a socket that closes before the receipt is reopened and the entry sent again; after the
 * receipt, the phone reconnects only with `staysOpen` (`--answered-phones stay`: the app left
 * open), which decides how many phones a relay's death moves.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { CampusPhone } from '../../bench/CampusPhone.ts';
import { encodeSyncUpdate } from '../../relay/syncMessages.ts';

const NONCE = 'nonce-of-this-phone-entry';
/** Not a real receipt: CampusPhone recognises one by its nonce and the receipts map's name. */
const RECEIPT_MESSAGE = Buffer.concat([Buffer.from([0, 2]), Buffer.from(`receipts ${NONCE}`)]);
const ENTRY_UPDATE = new Uint8Array([1, 2, 3, 4]);

let server: WebSocketServer | undefined;
let phone: CampusPhone | undefined;

afterEach(async () => {
  phone?.close();
  phone = undefined;
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that keeps every socket it accepted, and every message each one sent. */
async function startServer(): Promise<{ url: string; sockets: { socket: WebSocket; messages: Buffer[] }[] }> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const sockets: { socket: WebSocket; messages: Buffer[] }[] = [];
  server.on('connection', (socket) => {
    const held = { socket, messages: [] as Buffer[] };
    sockets.push(held);
    socket.on('message', (data: Buffer) => held.messages.push(Buffer.from(data)));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/sync/room`, sockets };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A phone connected, its entry sent, the socket closed under it before the receipt, then answered on the new one. */
async function answeredAfterOneDrop(staysOpen: boolean) {
  const { url, sockets } = await startServer();
  const receipts: Buffer[] = [];
  phone = new CampusPhone({ url, onReceipt: (message) => receipts.push(message), ...(staysOpen ? { staysOpen } : {}) });
  await phone.connect();
  phone.prepare(NONCE, ENTRY_UPDATE);
  phone.submit();
  const entryMessage = Buffer.from(encodeSyncUpdate(ENTRY_UPDATE));
  await until(() => sockets[0]!.messages.some((m) => m.equals(entryMessage)), 'the entry on the first socket');
  sockets[0]!.socket.terminate();
  await until(() => sockets[1]?.messages.some((m) => m.equals(entryMessage)) === true, 'the entry sent again on a second socket');
  sockets[1]!.socket.send(RECEIPT_MESSAGE);
  await until(() => receipts.length === 1, 'the receipt');
  return { sockets, receipts };
}

describe('bench/CampusPhone', () => {
  it('re-sends its entry on a new socket when one closes before the receipt; once answered it stops reconnecting (default)', async () => {
    const { sockets } = await answeredAfterOneDrop(false);
    expect(phone!.reconnects).toBe(1);
    expect(phone!.isAnswered).toBe(true);
    sockets[1]!.socket.terminate();
    // Its backoff after an open socket is 50–150 ms: a phone that meant to come back would have by now.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(sockets).toHaveLength(2);
    expect(phone!.closesAfterReceipt).toBe(0);
    expect(phone!.reconnectsAfterReceipt).toBe(0);
  });

  it('with staysOpen, an answered phone reconnects when its socket closes, sends sync step 1 and not its entry, and counts it apart', async () => {
    const { sockets } = await answeredAfterOneDrop(true);
    sockets[1]!.socket.terminate();
    await until(() => sockets.length === 3 && sockets[2]!.messages.length > 0, 'a third socket');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Only its sync step 1 (message type 0, step 1): the entry was answered.
    expect(sockets[2]!.messages.map((m) => [m[0], m[1]])).toEqual([[0, 0]]);
    expect(phone!.reconnects).toBe(1);
    expect(phone!.closesAfterReceipt).toBe(1);
    expect(phone!.reconnectsAfterReceipt).toBe(1);
    expect(phone!.reopenAfterReceiptMs).toBeGreaterThan(0);
  });
});
