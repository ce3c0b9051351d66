/**
 * The device identity: a nacl.box key pair made once per installation, and the student id
 * entered on first run. Both stay on the phone (IndexedDB); the public key is the `d` of
 * every entry this device writes and the `?device=` of its filtered sync.
 */
import { boxKeyPairFromSecretKey, newBoxKeyPair, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import type { KeyValueStore } from './idbStore.ts';

const SECRET_KEY = 'device-secret-key';
const STUDENT_ID = 'student-id';

/** This installation's identity as the app uses it. */
export interface Device {
  keyPair: BoxKeyPair;
  /** base64url of the public key: entry `d` and the sync `device` parameter. */
  publicKeyB64: string;
}

/** Loads the device key pair, making and storing one on first run. */
export async function loadOrCreateDevice(store: KeyValueStore): Promise<Device> {
  const stored = await store.get<Uint8Array>(SECRET_KEY);
  let keyPair: BoxKeyPair;
  if (stored instanceof Uint8Array && stored.length === 32) {
    keyPair = boxKeyPairFromSecretKey(stored);
  } else {
    keyPair = newBoxKeyPair();
    await store.set(SECRET_KEY, keyPair.secretKey);
  }
  return { keyPair, publicKeyB64: toBase64Url(keyPair.publicKey) };
}

export async function loadStudentId(store: KeyValueStore): Promise<string | undefined> {
  const id = await store.get<string>(STUDENT_ID);
  return typeof id === 'string' ? id : undefined;
}

export async function saveStudentId(store: KeyValueStore, studentId: string): Promise<void> {
  await store.set(STUDENT_ID, studentId);
}
