/** The core's SubmissionStore on the terminal client's SQLite file: one JSON record per nonce. */
import type { Submission, SubmissionStore } from '../../client/core/index.ts';
import type { StudentDatabase } from './StudentDatabase.ts';

const SQL = {
  loadAll: 'SELECT record FROM submission_records',
  save: 'INSERT INTO submission_records(nonce, record) VALUES (?, ?) ON CONFLICT(nonce) DO UPDATE SET record = excluded.record',
} as const;

const CLOCK_OFFSET_KEY = 'clock_offset_ms';

export class SqliteSubmissionStore implements SubmissionStore {
  readonly #database: StudentDatabase;

  constructor(database: StudentDatabase) {
    this.#database = database;
  }

  async loadAll(): Promise<Submission[]> {
    return (this.#database.db.prepare(SQL.loadAll).all() as { record: string }[]).map((row) => JSON.parse(row.record) as Submission);
  }

  async save(submission: Submission): Promise<void> {
    this.#database.db.prepare(SQL.save).run(submission.nonce, JSON.stringify(submission));
  }

  async loadClockOffsetMs(): Promise<number | undefined> {
    const stored = this.#database.meta(CLOCK_OFFSET_KEY);
    const offset = stored === undefined ? Number.NaN : Number(stored);
    return Number.isFinite(offset) ? offset : undefined;
  }

  async saveClockOffsetMs(offsetMs: number): Promise<void> {
    this.#database.setMeta(CLOCK_OFFSET_KEY, String(Math.round(offsetMs)));
  }
}
