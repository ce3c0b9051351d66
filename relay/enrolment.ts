/**
 * One-time enrolment codes (SPEC.md "Enrolment"): the relay's operator makes one per validator
 * (`rollcall relay enroll --name …`), tells it to the professor out of band, and the validator
 * redeems it once (`rollcall validator --relay … --enroll <code>`). 100 random bits in Crockford
 * base32, grouped for reading aloud; only a SHA-256 of the code is stored.
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A fresh code such as `7QX2M-K9D4T-A1B8C-ZP3RW`. A secret: print it once, never log it. */
export function newEnrolmentCode(): string {
  const bytes = randomBytes(20);
  let text = '';
  for (let i = 0; i < 20; i++) text += ALPHABET[bytes[i]! % 32];
  return text.match(/.{5}/g)!.join('-');
}

/** Forgiving about how a person typed it: case, dashes, spaces, O for 0, I and L for 1. */
export function normaliseEnrolmentCode(text: string): string {
  return text.toUpperCase().replace(/[\s-]+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export function hashEnrolmentCode(text: string): string {
  return createHash('sha256').update(`rollcall enrolment code\n${normaliseEnrolmentCode(text)}`).digest('hex');
}

/** Names are what operators type to revoke: short, printable, no spaces. */
export const VALIDATOR_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
