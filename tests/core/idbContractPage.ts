/**
 * Bundled for the browser by storeContract.idb.test.ts: the same contract cases as the SQLite run,
 * against the phone's IndexedDB implementations, exposed as `runStoreContract()` on the page.
 */
import { IdbSessionDocStore } from '../../client/lib/IdbSessionDocStore.ts';
import { IdbSubmissionStore } from '../../client/lib/IdbSubmissionStore.ts';
import { ALL_CASES, type StoreHarness } from './storeContractCases.ts';

/** One case's outcome: `error` is the broken promise, with its stack. */
export interface CaseOutcome {
  id: string;
  error?: string;
}

const harness: StoreHarness = {
  openSubmissions: (name) => IdbSubmissionStore.open(`contract-${name}`),
  openDocs: async (name) => new IdbSessionDocStore(`contract-${name}:`),
};

async function runStoreContract(): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  for (const contractCase of ALL_CASES) {
    try {
      await contractCase.run(harness);
      outcomes.push({ id: contractCase.id });
    } catch (error) {
      outcomes.push({ id: contractCase.id, error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
    }
  }
  return outcomes;
}

(globalThis as unknown as { runStoreContract: typeof runStoreContract }).runStoreContract = runStoreContract;
