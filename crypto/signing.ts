/**
 * Ed25519 signatures (tweetnacl `sign`): a validator's long-lived identity. A relay trusts a
 * validator by its public key (enrolment) and checks that it signed each room grant and each
 * connection challenge. Detached signatures only: what is signed travels beside them.
 */
import nacl from 'tweetnacl';

export const SIGN_PUBLIC_KEY_BYTES = 32;
export const SIGN_SECRET_KEY_BYTES = 64;
export const SIGNATURE_ED25519_BYTES = 64;

export interface SigningKeyPair {
  publicKey: Uint8Array;
  /** 64 bytes (seed + public key, as tweetnacl keeps it). Never log it. */
  secretKey: Uint8Array;
}

export function newSigningKeyPair(): SigningKeyPair {
  return nacl.sign.keyPair();
}

export function signingKeyPairFromSecretKey(secretKey: Uint8Array): SigningKeyPair {
  return nacl.sign.keyPair.fromSecretKey(secretKey);
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(message, secretKey);
}

/** False (never a throw) for a key or signature of the wrong length. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_ED25519_BYTES || publicKey.length !== SIGN_PUBLIC_KEY_BYTES) return false;
  return nacl.sign.detached.verify(message, signature, publicKey);
}
