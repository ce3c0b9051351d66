/**
 * Simulated students for integration tests: each has its own device key, Y.Doc and a stock
 * y-websocket provider with `?device=` (as the phone app connects), and can craft entries,
 * honest or hostile. Until the validator opens the room the relay refuses the upgrade (404,
 * R9) and the provider retries by itself, as a phone does. Also reads a session's secret from
 * the validator's SQLite file, so a test can sign QRs of its own choosing (a slot in the past,
 * say) the way only the validator could. (No unfiltered observer: only the room's validator
 * reads a room whole, R10; use roomSnapshot in relayClient.ts with a TestValidator.)
 */
import type { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { SyncProvider } from './SyncProvider.ts';
import { newBoxKeyPair, openReceipt, sealEntry, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import {
  ReceiptPlaintextSchema,
  appendEntry,
  decodeQrPayload,
  encodeQrPayload,
  entriesMap,
  parseWith,
  receiptsMap,
  type Entry,
  type QrJson,
  type QrPayload,
  type ReceiptPlaintext,
} from '../../protocol/index.ts';
import { signPayloadSync } from '../../validator/index.ts';
import { waitFor } from './processes.ts';
import { readValidatorStore } from './validatorStore.ts';

export interface SimulatedStudent {
  studentId: string;
  device: BoxKeyPair;
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Seals and appends an entry for this QR; returns it. */
  submit(qr: QrJson, options?: { scannedAtMs?: number; plaintext?: Record<string, unknown>; studentId?: string }): Entry;
  /** Waits for the receipt of `nonce` and opens it (`validatorKey`: for entries this object did not submit). */
  receipt(nonce: string, timeoutMs?: number, validatorKey?: string): Promise<ReceiptPlaintext>;
  /** Bytes received over this student's socket so far. */
  bytesReceived(): number;
  close(): void;
}

/** A `ws` WebSocket that counts the bytes it receives (for filtered-sync measurements). */
function countingWebSocket(counter: { bytes: number }): typeof WebSocket {
  return class CountingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      this.on('message', (data: Buffer | ArrayBuffer) => (counter.bytes += data.byteLength));
    }
  } as unknown as typeof WebSocket;
}

export function relaySyncUrl(baseUrl: string): string {
  return baseUrl.replace(/^http/, 'ws') + '/sync';
}

export function connectStudent(baseUrl: string, sessionId: string, studentId: string, { device = newBoxKeyPair() } = {}): SimulatedStudent {
  const doc = new Y.Doc();
  const counter = { bytes: 0 };
  // y-websocket's provider, with one shared process `exit` listener (a test holds dozens of phones).
  const provider = new SyncProvider(relaySyncUrl(baseUrl), sessionId, doc, {
    WebSocketPolyfill: countingWebSocket(counter) as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { device: toBase64Url(device.publicKey) },
  });
  const validatorKeys = new Map<string, string>();
  return {
    studentId,
    device,
    doc,
    provider,
    submit(qr, options = {}) {
      const payload = decodeQrPayload(qr.payload_b64);
      if (!payload.ok) throw new Error(`test QR does not decode: ${payload.error}`);
      const plaintext = options.plaintext ?? {
        v: 1,
        student_id: options.studentId ?? studentId,
        payload_b64: qr.payload_b64,
        signature: qr.signature,
        scanned_at: options.scannedAtMs ?? Date.now(),
      };
      const entry = sealEntry(plaintext, payload.value.k, device) as Entry;
      validatorKeys.set(entry.n, payload.value.k);
      appendEntry(doc, entry);
      return entry;
    },
    async receipt(nonce, timeoutMs = 30_000, validatorKey = validatorKeys.get(nonce)) {
      const sealed = await waitFor(() => receiptsMap(doc).get(nonce) as { rn: string; c: string } | undefined, { timeoutMs, message: `receipt for ${nonce.slice(0, 8)}` });
      const opened = parseWith(ReceiptPlaintextSchema, openReceipt(sealed, validatorKey ?? '', device));
      if (!opened.ok) throw new Error(`receipt does not open: ${opened.error}`);
      return opened.value;
    },
    bytesReceived: () => counter.bytes,
    close() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Reads a session's HMAC secret from the validator's database (tests only: it never leaves the laptop). */
export function readSessionSecret(validatorDataDir: string, sessionId: string): Uint8Array {
  const session = readValidatorStore(validatorDataDir, (store) => store.getSession(sessionId));
  if (!session) throw new Error(`no session ${sessionId} in ${validatorDataDir}`);
  return session.secret;
}

/** Signs a QR with fields of the test's choosing, as the validator would (needs the secret). */
export function craftQr(secret: Uint8Array, payload: QrPayload): QrJson {
  const payloadB64 = encodeQrPayload(payload);
  return { payload_b64: payloadB64, signature: signPayloadSync(secret, payloadB64) };
}

export function qrPayloadOf(qr: QrJson): QrPayload {
  const payload = decodeQrPayload(qr.payload_b64);
  if (!payload.ok) throw new Error(payload.error);
  return payload.value;
}

export { entriesMap, receiptsMap };
