/**
 * A raw y-websocket peer for relay tests: sends exactly the bytes a test chooses (hostile
 * updates, garbage) and records what the relay answers: sync messages applied to its own
 * Y.Doc, the auth "permission denied" reason, the close code, and the bytes received.
 * With `validator`, it answers the relay's challenge with that validator's grant (R10), as the
 * real follower does; `opened` then resolves once the relay welcomed it.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { signDetached } from '../../crypto/index.ts';
import { VALIDATOR_MESSAGE_TYPE, challengeSigningBytes, decodeValidatorMessage, encodeValidatorMessage } from '../../protocol/index.ts';
import type { SignedGrant } from '../../validator/follow/startFollowing.ts';
import { waitFor } from './processes.ts';
import type { TestValidator } from './testValidator.ts';

export interface RelayClientOptions {
  device?: string;
  /** Connect as this validator (unfiltered), presenting `grant` (default: its one-hour grant for the room). */
  validator?: TestValidator;
  grant?: SignedGrant;
  /** For wss:// with a test CA: the certificates to trust (tests/helpers/https.ts). */
  ca?: Buffer;
  /** Connect from this local address: any 127.x.y.z on Linux, so one test makes "phones" on distinct addresses. */
  localAddress?: string;
  /** Extra upgrade request headers (a forged X-Forwarded-For). */
  headers?: Record<string, string>;
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
  /** The relay's challenge (unfiltered connections) and welcome (once proven). */
  challenge: Uint8Array | undefined;
  welcome: { room: string; name: string; writes_until_ms: number } | undefined;
  readonly opened: Promise<void>;
  readonly #options: RelayClientOptions;
  readonly #room: string;

  constructor(url: string, options: RelayClientOptions = {}) {
    const target = new URL(url);
    this.#options = options;
    this.#room = decodeURIComponent(target.pathname.split('/').pop() ?? '');
    if (options.device) target.searchParams.set('device', options.device);
    this.socket = new WebSocket(target, {
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    this.socket.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => {
        if (!options.validator) resolve();
        else waitFor(() => this.welcome ?? this.close, { message: 'the relay to welcome the validator' }).then(() => (this.welcome ? resolve() : reject(new Error(`validator refused: ${this.close?.code} ${this.close?.reason}`))), reject);
      });
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
    } else if (type === VALIDATOR_MESSAGE_TYPE) {
      const message = decodeValidatorMessage(decoder);
      if (message?.kind === 'challenge') {
        this.challenge = message.challenge;
        const validator = this.#options.validator;
        if (validator) this.sendHello(this.#options.grant ?? validator.grant(this.#room), validator);
      } else if (message?.kind === 'welcome') this.welcome = JSON.parse(message.welcome);
    }
  }

  /** Answers the relay's challenge as `validator`, presenting `grant`. */
  sendHello(grant: SignedGrant, validator: TestValidator): void {
    const challengeSignature = signDetached(challengeSigningBytes(this.#room, this.challenge!), validator.identity.secretKey);
    this.send(encodeValidatorMessage({ kind: 'hello', grantJson: grant.grantJson, grantSignature: grant.signature, challengeSignature }));
  }

  /** Presents a newer grant on a welcomed connection. */
  sendGrant(grant: SignedGrant): void {
    this.send(encodeValidatorMessage({ kind: 'grant', grantJson: grant.grantJson, grantSignature: grant.signature }));
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

/** What the room holds, as its validator sees it right now. */
export async function roomSnapshot(baseUrl: string, room: string, validator: TestValidator): Promise<{ entries: Record<string, unknown>; receipts: Record<string, unknown>; roots: string[] }> {
  const client = await RawRelayClient.connect(baseUrl, room, { validator });
  try {
    await client.syncRoom();
    const roots = [...client.doc.share.keys()].sort();
    return { entries: client.doc.getMap('entries').toJSON(), receipts: client.doc.getMap('receipts').toJSON(), roots };
  } finally {
    client.end();
  }
}
