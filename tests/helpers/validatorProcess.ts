/**
 * The signing identity of a real `rollcall validator` process, for split-mode tests and the
 * benchmark (SPEC.md R9, R10): read from (or made in) its data folder's validator.db, so it can
 * be enrolled in a relay's data folder BEFORE that relay starts, and so a test can read a room
 * whole as that validator (a second validator could not: the room is the first one's).
 */
import { validatorIdentity } from '../../validator/follow/startFollowing.ts';
import { ValidatorStore } from '../../validator/index.ts';
import { runCli } from './processes.ts';
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
export function enrolValidatorInRelay(validatorDir: string, relayDir: string): Promise<TestValidator> {
  return validatorOfDataDir(validatorDir).enrolInDataDir(relayDir);
}

/** `rollcall relay enroll --name <name> --data <relayDir>`: the one-time code it prints (what an operator gives the professor). */
export async function enrolmentCodeFromCli(relayDir: string, name: string): Promise<string> {
  const result = await runCli(['relay', 'enroll', '--name', name, '--data', relayDir]);
  const code = /^\s+([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3})\s*$/m.exec(result.stdout)?.[1];
  if (result.code !== 0 || !code) throw new Error(`rollcall relay enroll printed no code (exit ${result.code}): ${result.stdout}${result.stderr}`);
  return code;
}
