/**
 * The storage contract of the submission core (storeContractCases.ts) against the terminal
 * client's SQLite implementations. Each name is a data folder; opening it again is a restart.
 */
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { SqliteSessionDocStore } from '../../cli/student/SqliteSessionDocStore.ts';
import { SqliteSubmissionStore } from '../../cli/student/SqliteSubmissionStore.ts';
import { StudentDatabase } from '../../cli/student/StudentDatabase.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';
import { SESSION_DOC_STORE_CASES, SUBMISSION_STORE_CASES, type StoreHarness } from './storeContractCases.ts';

const root = tempDir('rollcall-store-contract-');
const open: StudentDatabase[] = [];
function database(name: string): StudentDatabase {
  const db = new StudentDatabase(join(root, name));
  open.push(db);
  return db;
}

const harness: StoreHarness = {
  openSubmissions: async (name) => new SqliteSubmissionStore(database(name)),
  openDocs: async (name) => new SqliteSessionDocStore(database(name)),
};

afterAll(() => {
  for (const db of open.splice(0)) db.close();
  removeTempDirs();
});

describe('SubmissionStore contract: SQLite (cli/student)', () => {
  for (const contractCase of SUBMISSION_STORE_CASES) it(`[${contractCase.id}] ${contractCase.name}`, () => contractCase.run(harness));
});

describe('SessionDocStore contract: SQLite (cli/student)', () => {
  for (const contractCase of SESSION_DOC_STORE_CASES) it(`[${contractCase.id}] ${contractCase.name}`, () => contractCase.run(harness));
});
