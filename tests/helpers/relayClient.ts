/**
 * A raw y-websocket peer for relay tests: sends exactly the bytes a test chooses (hostile
 * updates, garbage) and records what the relay answers: sync messages applied to its own
 * Y.Doc, the auth "permission denied" reason, the close code, and the bytes received.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { waitFor } from './processes.ts';

export interface RelayClientOptions {
  device?: string;
}

export class RawRelayClient {
  readonly doc = new Y.Doc();
  readonly socket: WebSocket;
  bytesReceived = 0;
  /** Sync step 2 messages received (the relay's answer to our step 1). */
  step2Count = 0;
  /** The relay's own step 1 (its state vector for us). */
  relayStateVector: Uint8Array | undefined;
  deniedReason: string | undefined;
  close: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(url: string, options: RelayClientOptions = {}) {
    const target = new URL(url);
    if (options.device) target.searchParams.set('device', options.device);
    this.socket = new WebSocket(target);
    this.socket.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    this.opened.catch(() => {});
    this.socket.on('message', (data: Buffer) => this.#receive(new Uint8Array(data)));
    this.socket.on('close', (code, reason) => (this.close = { code, reason: reason.toString() }));
    this.socket.on('error', () => {});
  }

  static async connect(baseUrl: string, room: string, options: RelayClientOptions = {}): Promise<RawRelayClient> {
    const client = new RawRelayClient(`${baseUrl.replace(/^http/, 'ws')}/sync/${room}`, options);
    await client.opened;
    return client;
  }

  #receive(data: Uint8Array): void {
    this.bytesReceived += data.length;
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    if (type === 0) {
      const step = decoding.readVarUint(decoder);
      const body = decoding.readVarUint8Array(decoder);
      if (step === 0) this.relayStateVector = body;
      else {
        if (step === 1) this.step2Count++;
        Y.applyUpdate(this.doc, body);
      }
    } else if (type === 2) {
      decoding.readVarUint(decoder);
      this.deniedReason = decoding.readVarString(decoder);
    }
  }

  send(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  #sync(step: number, body: Uint8Array): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint(encoder, step);
    encoding.writeVarUint8Array(encoder, body);
    this.send(encoding.toUint8Array(encoder));
  }

  sendUpdate(update: Uint8Array): void {
    this.#sync(2, update);
  }

  sendSyncStep2(update: Uint8Array): void {
    this.#sync(1, update);
  }

  /** Sends our step 1 and waits for the relay's step 2 (the doc then holds what we may see). */
  async syncRoom(): Promise<void> {
    const before = this.step2Count;
    this.#sync(0, Y.encodeStateVector(this.doc));
    await waitFor(() => this.step2Count > before || this.close, { message: 'sync step 2 from the relay' });
  }

  async closed(): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.close, { message: 'the relay to close the connection' });
  }

  end(): void {
    this.socket.terminate();
  }
}

/** What the room holds, as an unfiltered peer sees it right now. */
export async function roomSnapshot(baseUrl: string, room: string): Promise<{ entries: Record<string, unknown>; receipts: Record<string, unknown>; roots: string[] }> {
  const client = await RawRelayClient.connect(baseUrl, room);
  try {
    await client.syncRoom();
    const roots = [...client.doc.share.keys()].sort();
    return { entries: client.doc.getMap('entries').toJSON(), receipts: client.doc.getMap('receipts').toJSON(), roots };
  } finally {
    client.end();
  }
}
