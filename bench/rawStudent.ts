/**
 * A minimal y-websocket peer for the baselines: it speaks the wire protocol (sync step 1, then
 * one update with its entry) but never decodes what it receives; it only counts bytes and looks
 * for its receipt (an update that names the `receipts` root and its entry's nonce). The server
 * does exactly the work it would do for a full client, while the client costs almost nothing,
 * so a 1,000-phone hall on an unfiltered stock server fits on this machine.
 */
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;
const RECEIPTS = Buffer.from('receipts');

export interface RawStudentOptions {
  url: string;
  onReceipt: () => void;
}

export class RawStudent {
  bytesReceived = 0;
  bytesSent = 0;
  readonly #socket: WebSocket;
  #nonce: Buffer | undefined;
  #isAnswered = false;
  readonly #opened: Promise<void>;

  constructor(options: RawStudentOptions) {
    this.#socket = new WebSocket(options.url);
    this.#opened = new Promise((resolve, reject) => {
      this.#socket.once('open', () => resolve());
      this.#socket.once('error', reject);
    });
    this.#socket.on('message', (data: Buffer) => {
      this.bytesReceived += data.length;
      if (this.#isAnswered || !this.#nonce) return;
      if (data.includes(this.#nonce) && data.includes(RECEIPTS)) {
        this.#isAnswered = true;
        options.onReceipt();
      }
    });
    this.#socket.on('error', () => undefined);
  }

  /** Connects and sends sync step 1 with an empty state vector, as a fresh phone does. */
  async connect(): Promise<void> {
    await this.#opened;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, new Y.Doc());
    this.#send(encoding.toUint8Array(encoder));
  }

  /** Sends the entry's update (a y-websocket "update" message). */
  submit(nonce: string, update: Uint8Array): void {
    this.#nonce = Buffer.from(nonce);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeUpdate(encoder, update);
    this.#send(encoding.toUint8Array(encoder));
  }

  close(): void {
    this.#socket.terminate();
  }

  #send(message: Uint8Array): void {
    this.bytesSent += message.length;
    this.#socket.send(message);
  }
}
