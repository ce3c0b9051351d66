/**
 * `npm run bench:term`: how long the term's views take on a full term, in one process on a real
 * SQLite file: a course of --students students over --sessions sessions (about 85 % present, 5 %
 * late, the rest absent, a few marks). Baseline in the same run: reading every session's
 * decisions, the least any view must do. Figures, never pass/fail: this machine is shared.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { newBoxKeyPair, randomBytes } from '../crypto/index.ts';
import {
  canvasGradebookCsv,
  courseContexts,
  courseReport,
  moodleGradebookCsv,
  reportStatusCsv,
  reportXlsx,
  sessionCounts,
  studentRecord,
  ValidatorStore,
  type Decision,
} from '../validator/index.ts';

const HELP = `npm run bench:term -- [--students N (default 300)] [--sessions S (default 40)] [--runs R (default 5)]`;
const { values } = parseArgs({ options: { students: { type: 'string', default: '300' }, sessions: { type: 'string', default: '40' }, runs: { type: 'string', default: '5' }, help: { type: 'boolean' } } });
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const studentCount = Number(values.students);
const sessionCount = Number(values.sessions);
const runs = Number(values.runs);

const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-term-'));
const store = ValidatorStore.open(dir);
const course = 'Networks';
const ids = Array.from({ length: studentCount }, (_, index) => `2026IMT-${String(index).padStart(4, '0')}`);
store.importRoster(course, ids.map((studentId) => ({ studentId, name: `Student ${studentId}`, email: `${studentId}@example.edu`, section: null })), false, { atMs: 0, actor: 'bench', action: 'import_roster' });
store.setCourseSettings(course, { late_after_minutes: 10 }, { atMs: 0, actor: 'bench', action: 'course_settings' });
const weekS = 7 * 86_400;
const firstS = Math.floor(Date.now() / 1000) - sessionCount * weekS;
for (let index = 0; index < sessionCount; index++) {
  const keys = newBoxKeyPair();
  const startsAtS = firstS + index * weekS;
  const id = randomUUID();
  store.insertSession({ id, course, secret: randomBytes(32), boxPublicKey: keys.publicKey, boxSecretKey: keys.secretKey, startsAtS, endsAtS: startsAtS + 5400, rotateSeconds: 10, skewSeconds: 120, lateSyncMinutes: 1440, options: { late_after_minutes: 10 }, createdAtMs: startsAtS * 1000 });
  const decisions: Decision[] = [];
  ids.forEach((studentId, at) => {
    const roll = (at * 7919 + index * 104_729) % 100;
    if (roll >= 90) return;
    const scannedAtMs = (startsAtS + (roll < 5 ? 900 : 60)) * 1000;
    decisions.push({ nonce: randomUUID(), sessionId: id, via: 'sync', status: 'accepted', reason: 'ok', flags: [], studentId, deviceKey: `d${at}`, slotS: Math.floor(scannedAtMs / 10_000) * 10, scannedAtMs, firstSeenMs: scannedAtMs, decidedAtMs: scannedAtMs });
  });
  store.recordDecisions(decisions);
  store.addStatusMark({ session_id: id, student_id: ids[index % studentCount]!, at: (startsAtS + 6000) * 1000, actor: 'bench', before: null, after: 'excused', note: 'bench' }, course);
}

/** Each measurement once per round, rounds interleaved, so the baseline and the views share the machine's weather. */
async function measure(work: { label: string; run: () => unknown }[]): Promise<{ label: string; ms: number }[]> {
  const totals = work.map(() => 0);
  for (let round = 0; round <= runs; round++) {
    for (const [index, item] of work.entries()) {
      const started = performance.now();
      await item.run();
      // Round 0 warms up.
      if (round > 0) totals[index]! += performance.now() - started;
    }
  }
  return work.map((item, index) => ({ label: item.label, ms: totals[index]! / runs }));
}

const nowMs = Date.now();
const sessions = store.listCourseSessions(course);
const report = courseReport(store, course, 'UTC', nowMs);
const rows = await measure([
  { label: 'baseline: read every session’s decisions', run: () => sessions.map((session) => store.decisionsForSession(session.id)) },
  {
    label: 'GET /sessions counts (statuses of every session)',
    run: () => {
      const contextOf = courseContexts(store);
      return sessions.map((session) => sessionCounts(store, session, nowMs, contextOf(session.course)));
    },
  },
  { label: 'GET /report (json)', run: () => courseReport(store, course, 'UTC', nowMs) },
  { label: 'GET /student_record', run: () => studentRecord(store, course, ids[0]!, 'UTC', nowMs) },
  { label: 'status CSV from the report', run: () => reportStatusCsv(report) },
  { label: 'Moodle + Canvas gradebooks from the report', run: () => [moodleGradebookCsv(report), canvasGradebookCsv(report, store.courses.roster(course))] },
  { label: 'xlsx from the report', run: () => reportXlsx(report) },
]);
console.log(`Term views: ${studentCount} students × ${sessionCount} sessions (${report.students.length} in the report), mean of ${runs} interleaved rounds after one warm-up`);
const baseline = rows[0]!.ms;
for (const row of rows) console.log(`  ${row.label.padEnd(50)} ${row.ms.toFixed(1).padStart(8)} ms   ${(row.ms / baseline).toFixed(1).padStart(6)}× baseline`);
store.close();
rmSync(dir, { recursive: true, force: true });
