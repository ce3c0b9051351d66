/**
 * Reads a running validator's store through its own API (never its SQL): opened read-only
 * beside the process that owns it, closed after `read`.
 */
import { ValidatorStore } from '../../validator/index.ts';

export function readValidatorStore<T>(validatorDataDir: string, read: (store: ValidatorStore) => T): T {
  const store = ValidatorStore.openReadOnly(validatorDataDir);
  try {
    return read(store);
  } finally {
    store.close();
  }
}
