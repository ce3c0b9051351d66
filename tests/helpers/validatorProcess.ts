/**
 * The signing identity of a real `rollcall validator` process, for split-mode tests and the
 * benchmark (SPEC.md R9, R10): read from (or made in) its data folder's validator.db, so it can
 * be enrolled in a relay's data folder BEFORE that relay starts, and so a test can read a room
 * whole as that validator (a second validator could not: the room is the first one's).
 */
import { validatorIdentity } from '../../validator/follow/startFollowing.ts';
import { ValidatorStore } from '../../validator/index.ts';
import { TestValidator } from './testValidator.ts';

/** The validator that runs, or will run, on `validatorDir` (its key is made now if it has none yet). */
export function validatorOfDataDir(validatorDir: string, name = 'test-validator-process'): TestValidator {
  const store = ValidatorStore.open(validatorDir);
  try {
    return new TestValidator(name, validatorIdentity(store));
  } finally {
    store.close();
  }
}

/** Enrols the validator of `validatorDir` in the relay of `relayDir` (what `rollcall relay enroll` + `--enroll` achieve). */
export function enrolValidatorInRelay(validatorDir: string, relayDir: string): TestValidator {
  return validatorOfDataDir(validatorDir).enrolInDataDir(relayDir);
}
