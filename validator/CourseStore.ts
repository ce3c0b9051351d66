/**
 * Courses, their rosters and the professor's status marks, in the validator's SQLite file
 * (migration 6). Reached through `ValidatorStore.courses`; ValidatorStore owns the connection,
 * the transactions and the change events.
 */
import type Database from 'better-sqlite3';
import type { CourseSettings, CourseSummary, RosterStudent, StatusChange } from '../protocol/index.ts';
import { studentKey } from './studentIds.ts';

/** Moodle's attendance defaults: present 2, late 1, excused not counted, absent 0; 80 % threshold. */
export const DEFAULT_COURSE_SETTINGS: CourseSettings = {
  late_after_minutes: null,
  threshold_percent: 80,
  points: { present: 2, late: 1, excused: null, absent: 0 },
  id_case: 'insensitive',
};

/** A roster row as an import gives it (the id already parsed as a student id). */
export interface RosterInput {
  studentId: string;
  name: string | null;
  email: string | null;
  section: string | null;
}

export interface RosterImportCounts {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
}

const SQL = {
  getCourse: `SELECT settings FROM courses WHERE name = ?`,
  upsertCourse: `INSERT INTO courses (name, settings, created_at_ms) VALUES (@name, @settings, @at_ms)
    ON CONFLICT (name) DO UPDATE SET settings = @settings`,
  listCourses: `SELECT name FROM courses UNION SELECT course FROM roster UNION SELECT course FROM sessions ORDER BY 1`,
  courseExists: `SELECT 1 FROM courses WHERE name = @name UNION ALL SELECT 1 FROM roster WHERE course = @name
    UNION ALL SELECT 1 FROM sessions WHERE course = @name LIMIT 1`,
  rosterSize: `SELECT COUNT(*) AS n FROM roster WHERE course = ?`,
  sessionCount: `SELECT COUNT(*) AS n FROM sessions WHERE course = ?`,
  roster: `SELECT student_id, name, email, section FROM roster WHERE course = ? ORDER BY student_id`,
  rosterRowByKey: `SELECT student_id, name, email, section FROM roster WHERE course = ? AND id_key = ?`,
  insertRosterRow: `INSERT INTO roster (course, student_id, id_key, name, email, section) VALUES (@course, @student_id, @id_key, @name, @email, @section)`,
  updateRosterRow: `UPDATE roster SET student_id = @student_id, name = @name, email = @email, section = @section WHERE course = @course AND id_key = @id_key`,
  deleteRosterRow: `DELETE FROM roster WHERE course = ? AND id_key = ?`,
  rosterKeys: `SELECT student_id, id_key FROM roster WHERE course = ?`,
  rekeyRosterRow: `UPDATE roster SET id_key = ? WHERE course = ? AND student_id = ?`,
  clearRoster: `DELETE FROM roster WHERE course = ?`,
  hasRoster: `SELECT 1 FROM roster WHERE course = ? LIMIT 1`,
  onRoster: `SELECT 1 FROM roster WHERE course = ? AND id_key = ?`,
  insertMark: `INSERT INTO status_marks (session_id, student_id, status, before_status, note, actor, at_ms)
    VALUES (@session_id, @student_id, @status, @before_status, @note, @actor, @at_ms)`,
  marks: `SELECT * FROM status_marks WHERE session_id = ? ORDER BY id`,
  deleteMarks: `DELETE FROM status_marks WHERE session_id = ?`,
} as const;

type Statements = { [K in keyof typeof SQL]: Database.Statement };

interface MarkRow {
  session_id: string;
  student_id: string;
  status: StatusChange['after'];
  before_status: StatusChange['after'] | null;
  note: string | null;
  actor: string;
  at_ms: number;
}

export class CourseStore {
  readonly #db: Database.Database;
  readonly #sql: Statements;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#sql = Object.fromEntries(Object.entries(SQL).map(([name, text]) => [name, db.prepare(text)])) as Statements;
  }

  /** The course's settings; defaults for a course never configured. */
  settings(course: string): CourseSettings {
    const row = this.#sql.getCourse.get(course) as { settings: string } | undefined;
    const stored = row ? (JSON.parse(row.settings) as Partial<CourseSettings>) : {};
    return { ...DEFAULT_COURSE_SETTINGS, ...stored, points: { ...DEFAULT_COURSE_SETTINGS.points, ...stored.points } };
  }

  /** Creates the course or changes the given settings; roster keys follow a change of `id_case`. */
  setSettings(course: string, change: Partial<CourseSettings>, nowMs: number): CourseSettings {
    return this.#db.transaction(() => {
      const before = this.settings(course);
      const after: CourseSettings = { ...before, ...change, points: change.points ?? before.points };
      this.#sql.upsertCourse.run({ name: course, settings: JSON.stringify(after), at_ms: nowMs });
      if (after.id_case !== before.id_case) this.#rekey(course, after.id_case);
      return after;
    })();
  }

  /** Recomputes the roster's comparison keys; refuses (throws) if two rows would become one. */
  #rekey(course: string, idCase: CourseSettings['id_case']): void {
    const rows = this.#sql.rosterKeys.all(course) as { student_id: string; id_key: string }[];
    for (const row of rows) this.#sql.rekeyRosterRow.run(`\u0000${row.id_key}`, course, row.student_id);
    for (const row of rows) this.#sql.rekeyRosterRow.run(studentKey(row.student_id, idCase), course, row.student_id);
  }

  summary(course: string): CourseSummary {
    return {
      course,
      settings: this.settings(course),
      roster_size: (this.#sql.rosterSize.get(course) as { n: number }).n,
      session_count: (this.#sql.sessionCount.get(course) as { n: number }).n,
    };
  }

  /** Whether the course has settings, a roster or a session. */
  exists(course: string): boolean {
    return this.#sql.courseExists.get({ name: course }) !== undefined;
  }

  /** Every course with settings, a roster or a session. */
  list(): CourseSummary[] {
    return (this.#sql.listCourses.all() as { name: string }[]).map((row) => this.summary(row.name));
  }

  roster(course: string): RosterStudent[] {
    return this.#sql.roster.all(course) as RosterStudent[];
  }

  /**
   * Adds and updates roster rows by comparison key (a re-import updates, never duplicates; the
   * file's spelling replaces the old one, a detail it leaves empty keeps its old value), and with
   * `removeMissing` deletes rows the file lacks.
   * Two rows of one file with the same key: the later wins.
   */
  importRoster(course: string, students: readonly RosterInput[], removeMissing: boolean, nowMs: number): RosterImportCounts {
    return this.#db.transaction((): RosterImportCounts => {
      const { id_case: idCase } = this.settings(course);
      this.#sql.upsertCourse.run({ name: course, settings: JSON.stringify(this.settings(course)), at_ms: nowMs });
      // Ids are stored in NFC without surrounding spaces (what the student id schema makes of them).
      const spelled = students.map((student) => ({ ...student, studentId: student.studentId.trim().normalize('NFC') }));
      const byKey = new Map(spelled.map((student) => [studentKey(student.studentId, idCase), student]));
      const counts: RosterImportCounts = { added: 0, updated: 0, unchanged: 0, removed: 0 };
      for (const [key, student] of byKey) {
        const existing = this.#sql.rosterRowByKey.get(course, key) as RosterStudent | undefined;
        // A detail the file leaves out or empty keeps the value an earlier import gave it.
        const row = { course, student_id: student.studentId, id_key: key, name: student.name ?? existing?.name ?? null, email: student.email ?? existing?.email ?? null, section: student.section ?? existing?.section ?? null };
        if (!existing) {
          this.#sql.insertRosterRow.run(row);
          counts.added++;
        } else if (existing.student_id !== row.student_id || existing.name !== row.name || existing.email !== row.email || existing.section !== row.section) {
          this.#sql.updateRosterRow.run(row);
          counts.updated++;
        } else {
          counts.unchanged++;
        }
      }
      if (removeMissing) {
        for (const row of this.#sql.rosterKeys.all(course) as { id_key: string }[]) {
          if (byKey.has(row.id_key)) continue;
          this.#sql.deleteRosterRow.run(course, row.id_key);
          counts.removed++;
        }
      }
      return counts;
    })();
  }

  /** The seed's `POST /roster`: the roster becomes exactly these ids (no details). */
  replaceRosterIds(course: string, studentIds: readonly string[], nowMs: number): void {
    this.#db.transaction(() => {
      this.#sql.clearRoster.run(course);
      this.importRoster(course, studentIds.map((studentId) => ({ studentId, name: null, email: null, section: null })), false, nowMs);
    })();
  }

  /** `undefined` when the course has no roster; otherwise whether the student is on it (compared as the course says). */
  isOnRoster(course: string, studentId: string): boolean | undefined {
    if (this.#sql.hasRoster.get(course) === undefined) return undefined;
    return this.#sql.onRoster.get(course, studentKey(studentId, this.settings(course).id_case)) !== undefined;
  }

  addMark(change: StatusChange): void {
    this.#sql.insertMark.run({
      session_id: change.session_id,
      student_id: change.student_id,
      status: change.after,
      before_status: change.before,
      note: change.note,
      actor: change.actor,
      at_ms: change.at,
    });
  }

  /** The session's marks, oldest first: every change, kept (the audit trail). */
  marks(sessionId: string): StatusChange[] {
    return (this.#sql.marks.all(sessionId) as MarkRow[]).map((row) => ({
      session_id: row.session_id,
      student_id: row.student_id,
      at: row.at_ms,
      actor: row.actor,
      before: row.before_status,
      after: row.status,
      note: row.note,
    }));
  }

  /** Part of deleting a test session (ValidatorStore.deleteSession). */
  deleteMarks(sessionId: string): void {
    this.#sql.deleteMarks.run(sessionId);
  }
}
