/**
 * A minimal y-websocket peer: it speaks the wire protocol (sync step 1, then one update with its
 * entry, encoded before the clock starts) but never decodes what it receives while the clock
 * runs; it only counts bytes and looks for its receipt (an update that names the `receipts` root
 * and its entry's nonce), handing the message over so the caller can open it afterwards. The
 * server does exactly the work it would do for a full client, while the client costs almost
 * nothing, so a 5,000-phone hall (or 1,000 on an unfiltered stock server) fits on this machine
 * and the 2 cores measure the servers, not the phones.
 *
 * On the relay only a room's validator hears the whole room (SPEC.md R10), and it writes no
 * entries: a student that must hear everything (`roomView`) writes its entry on its `?device=`
 * socket and listens on a second socket proven with the validator's key.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { fromBase64Url, openReceipt, signDetached, type BoxKeyPair } from '../crypto/index.ts';
import { ROOT_RECEIPTS, ReceiptPlaintextSchema, VALIDATOR_MESSAGE_TYPE, challengeSigningBytes, decodeValidatorMessage, encodeValidatorMessage, parseWith } from '../protocol/index.ts';
import { nativeSharedKey } from '../validator/index.ts';

const MESSAGE_SYNC = 0;
const RECEIPTS = Buffer.from('receipts');

/**
 * What a peer needs to prove to the relay that it is a room's validator (R10): the validator's
 * Ed25519 secret key and a grant it signed for the room, base64url (worker tasks travel as JSON).
 */
export interface ValidatorProof {
  room: string;
  secretKey: string;
  grantJson: string;
  grantSignature: string;
}

export interface RawStudentOptions {
  /** Where the student writes its entry (and hears its receipt). */
  url: string;
  /** The message that carried this student's receipt (a y-websocket sync message, undecoded). */
  onReceipt: (message: Buffer) => void;
  /** Also hear the whole room, as its validator, on a second socket at this URL. */
  roomView?: { url: string; proof: ValidatorProof };
}

export class RawStudent {
  bytesReceived = 0;
  bytesSent = 0;
  readonly #socket: WebSocket;
  readonly #roomSocket: WebSocket | undefined;
  #nonce: Buffer | undefined;
  /** The entry's y-websocket update message, encoded by `prepare`. */
  #entryMessage: Uint8Array | undefined;
  #isAnswered = false;
  readonly #opened: Promise<void>;
  /** Resolves once the relay welcomed the room socket (immediately without one). */
  readonly #welcomed: Promise<void>;

  constructor(options: RawStudentOptions) {
    this.#socket = this.#listen(new WebSocket(options.url), options.onReceipt);
    this.#opened = opened(this.#socket);
    const view = options.roomView;
    if (!view) {
      this.#roomSocket = undefined;
      this.#welcomed = Promise.resolve();
      return;
    }
    const roomSocket = this.#listen(new WebSocket(view.url), options.onReceipt);
    this.#roomSocket = roomSocket;
    this.#welcomed = new Promise((resolve, reject) => {
      roomSocket.on('message', (data: Buffer) => {
        if (data[0] !== VALIDATOR_MESSAGE_TYPE) return;
        const decoder = decoding.createDecoder(new Uint8Array(data));
        decoding.readVarUint(decoder);
        const message = decodeValidatorMessage(decoder);
        if (message?.kind === 'welcome') resolve();
        if (message?.kind !== 'challenge') return;
        const challengeSignature = signDetached(challengeSigningBytes(view.proof.room, message.challenge), fromBase64Url(view.proof.secretKey));
        const hello = encodeValidatorMessage({ kind: 'hello', grantJson: view.proof.grantJson, grantSignature: fromBase64Url(view.proof.grantSignature), challengeSignature });
        this.#send(hello, roomSocket);
      });
      roomSocket.once('close', (code, reason) => reject(new Error(`the relay refused the room view: ${code} ${reason.toString()}`)));
      roomSocket.once('error', reject);
    });
    this.#welcomed.catch(() => undefined);
  }

  #listen(socket: WebSocket, onReceipt: (message: Buffer) => void): WebSocket {
    socket.on('message', (data: Buffer) => {
      this.bytesReceived += data.length;
      if (this.#isAnswered || !this.#entryMessage) return;
      if (data.includes(this.#nonce!) && data.includes(RECEIPTS)) {
        this.#isAnswered = true;
        onReceipt(data);
      }
    });
    socket.on('error', () => undefined);
    return socket;
  }

  /** Connects and sends sync step 1 with an empty state vector, as a fresh phone does (on each socket). */
  async connect(): Promise<void> {
    await this.#opened;
    this.#send(syncStep1());
    if (this.#roomSocket) {
      await this.#welcomed;
      this.#send(syncStep1(), this.#roomSocket);
    }
  }

  /** Encodes the entry's update (a y-websocket "update" message) ahead of `submit`. */
  prepare(nonce: string, update: Uint8Array): void {
    this.#nonce = Buffer.from(nonce);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeUpdate(encoder, update);
    this.#entryMessage = encoding.toUint8Array(encoder);
  }

  /** Sends the prepared entry. */
  submit(): void {
    this.#send(this.#entryMessage!);
  }

  close(): void {
    this.#socket.terminate();
    this.#roomSocket?.terminate();
  }

  #send(message: Uint8Array, socket = this.#socket): void {
    this.bytesSent += message.length;
    socket.send(message);
  }
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
}

function syncStep1(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  syncProtocol.writeSyncStep1(encoder, new Y.Doc());
  return encoding.toUint8Array(encoder);
}

/**
 * The status of the receipt for `nonce` in a message the relay sent (a sync step 2 or update,
 * undecoded until now), opened with the device key as the phone would (`openReceipt` + the
 * receipt schema + the student id); 'unopenable' otherwise.
 */
export function openedReceiptStatus(message: Buffer, nonce: string, validatorKey: string, device: BoxKeyPair, studentId: string): string {
  const decoder = decoding.createDecoder(new Uint8Array(message));
  decoding.readVarUint(decoder); // y-websocket message type: sync
  decoding.readVarUint(decoder); // sync step 2 or update
  // Y.decodeUpdate leaves a first write's parent as the root's name (docs/SPEC.md, "Notes from reading Yjs").
  const { structs } = Y.decodeUpdate(decoding.readVarUint8Array(decoder));
  for (const struct of structs) {
    if (!(struct instanceof Y.Item) || (struct.parent as unknown) !== ROOT_RECEIPTS || struct.parentSub !== nonce || !(struct.content instanceof Y.ContentAny)) continue;
    const receipt = struct.content.arr[0] as { rn: string; c: string };
    const opened = parseWith(ReceiptPlaintextSchema, openReceipt(receipt, validatorKey, device, nativeSharedKey));
    if (!opened.ok || opened.value.student_id !== studentId) return 'unopenable';
    return opened.value.status;
  }
  return 'unopenable';
}

/** PKCS #8 DER of an X25519 private key, up to its 32 bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * A device key pair with Node's X25519 (tweetnacl's takes about 1 ms): same key format as
 * `nacl.box.keyPair`, 32 random bytes and their public key.
 *
 * Not `generateKeyPairSync` and then `export`: on Node 20 that deadlocks now and then. A garbage
 * collection that runs inside `KeyObject.export` (it allocates the JWK's strings while holding
 * the key's mutex) can finalize the key-generation job that made the key, and the job's
 * destructor takes the same mutex (gdb: `~KeyGenJob` under `ExportJWKEdKey`, the main thread in
 * `futex_wait` for ever). It hung a campus benchmark worker in about 1 run in 3; a loop of two
 * processes making 2,500 pairs each hung in round 11 of 40. Importing the key makes no job.
 */
export function deviceKeyPair(): BoxKeyPair {
  const secretKey = randomBytes(32);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  return { publicKey: fromBase64Url(createPublicKey(privateKey).export({ format: 'jwk' }).x!), secretKey: new Uint8Array(secretKey) };
}
