/**
 * Where a student client keeps its submissions and its last clock offset: IndexedDB on the
 * phone (client/lib/IdbSubmissionStore.ts), SQLite in `rollcall student`
 * (cli/student/SqliteSubmissionStore.ts). One contract suite checks both
 * (tests/core/submissionStoreCases.ts).
 */
import type { Submission } from './submission.ts';

export interface SubmissionStore {
  /** Every submission kept, in any order. */
  loadAll(): Promise<Submission[]>;
  /**
   * Inserts or replaces the submission with this nonce. Resolves once it is durable (a reload or
   * a killed process keeps it); rejects with an Error naming what failed when it could not be written.
   */
  save(submission: Submission): Promise<void>;
  /** The last offset measured against the relay's clock (server − device, ms), if any. */
  loadClockOffsetMs(): Promise<number | undefined>;
  saveClockOffsetMs(offsetMs: number): Promise<void>;
}

/** In memory: for tests of the queue, and a fallback nobody relies on to keep data. */
export class MemorySubmissionStore implements SubmissionStore {
  readonly #submissions = new Map<string, Submission>();
  #clockOffsetMs: number | undefined;

  async loadAll(): Promise<Submission[]> {
    return [...this.#submissions.values()].map((s) => structuredClone(s));
  }

  async save(submission: Submission): Promise<void> {
    this.#submissions.set(submission.nonce, structuredClone(submission));
  }

  async loadClockOffsetMs(): Promise<number | undefined> {
    return this.#clockOffsetMs;
  }

  async saveClockOffsetMs(offsetMs: number): Promise<void> {
    this.#clockOffsetMs = offsetMs;
  }
}
