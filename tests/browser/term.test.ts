/**
 * Issue 11's scenario in real Chromium against `rollcall start`, the dashboard at 1440×900 and
 * at 1024×768: a Moodle-style and a Canvas-style roster imported with the column mapping shown
 * first; a session where one student scans on time, one late, one from an offline phone that
 * syncs after the end (absent, then present with delayed_sync), one never, one excused with a
 * note; the term report's statuses, points, percentages and threshold list; every export
 * downloaded and read back as the format it claims. The dashboard hears every change pushed.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { readSheet } from 'read-excel-file/node';
import { expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.ts';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { waitFor } from '../helpers/processes.ts';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { connectStudent, craftQr, qrPayloadOf, readSessionSecret } from '../helpers/students.ts';
import { systemRequirement, useBrowserRun } from './system.ts';

const COURSE = 'NET301 Networks';

/** Moodle: Participants → Download table data as CSV. */
const MOODLE_CSV = [
  'First name,Last name,ID number,Email address,Groups',
  'Ana,Alves,2022NET-001,ana@uni.example,A',
  'Ben,Brun,2022NET-002,ben@uni.example,A',
  'Chloé,Cruz,2022NET-003,chloe@uni.example,B',
].join('\n');

/** Canvas: Grades → Export (with its "Points Possible" row); 2022NET-003 is in both files. */
const CANVAS_CSV = [
  'Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (1234)',
  '    Points Possible,,,,,10',
  '"Cruz, Chloé",901,2022NET-003,chloe,NET301-B,7',
  '"Dias, Dan",902,2022NET-004,dan,NET301-B,8',
  '"Eng, Eve",903,2022NET-005,eve,NET301-A,9',
].join('\n');

/** `datetime-local` text of a Unix ms instant in this machine's (and Chromium's) time zone. */
function localInput(ms: number): string {
  const at = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}T${two(at.getHours())}:${two(at.getMinutes())}`;
}

/**
 * The one shortcut: \`delayed_sync\` needs the follower connected to the room for 5 minutes
 * between the QR's slot and the late entry (SPEC.md). Instead of waiting, the session starts 7
 * minutes in the past and the follower's connection record is dated back to its start.
 */
function dateFollowerConnectionBack(dataDir: string, sessionId: string, fromMs: number): void {
  const db = new Database(join(dataDir, 'validator.db'));
  try {
    db.pragma('busy_timeout = 5000');
    const changed = db.prepare('UPDATE connection_intervals SET connected_at_ms = ? WHERE session_id = ?').run(fromMs, sessionId).changes;
    if (changed === 0) throw new Error('the follower has no connection record for the session yet');
  } finally {
    db.close();
  }
}

async function importRoster(page: Page, fileName: string, csv: string, expected: { source: RegExp; idColumn: string; added: number }): Promise<void> {
  await page.getByLabel('Roster CSV file').setInputFiles({ name: fileName, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByTestId('import-source').filter({ hasText: expected.source }).waitFor();
  // The mapping is shown, with the id column proposed, before anything is imported.
  expect(await page.getByLabel('Student id column').inputValue()).toBe(expected.idColumn);
  expect(await page.getByTestId('import-sample').textContent()).toContain('2022NET-003');
  await expectAccessible(page, `roster import (${fileName})`);
  await page.getByRole('button', { name: /^Import \d+ students$/ }).click();
  await page.getByTestId('import-outcome').filter({ hasText: new RegExp(`${expected.added} added`) }).waitFor();
}

/** Elements that reach past the window's right edge (outside scrollable regions). */
function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('main *')]
      .filter((element) => !element.closest('.scroll') && element.getBoundingClientRect().right > innerWidth + 0.5)
      .map((element) => `${element.tagName.toLowerCase()}.${element.className} (right ${Math.round(element.getBoundingClientRect().right)})`)
      .slice(0, 5),
  );
}

/** The status the Students panel shows for a student. */
const statusOf = (page: Page, studentId: string) => page.locator(`tr[data-student="${studentId}"] [data-testid="student-status"]`).textContent();

/** Clicks an export button and returns the downloaded file's bytes. */
async function download(page: Page, button: string): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
  return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
}

describeInChromium(
  'issue 11: courses, rosters, statuses and the term report in Chromium',
  () => {
    const run = useBrowserRun();

    it('imports Moodle and Canvas rosters, runs a session (on time, late, offline then synced, never, excused), and reports and exports the term', async () => {
      const context = await run.open({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/professor/`);

      // The course page, opened by name before its first session; two roster files.
      await page.getByRole('link', { name: 'Courses: rosters and term reports' }).click();
      await page.getByLabel('Open by name').fill(COURSE);
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      await page.getByRole('heading', { name: COURSE }).waitFor();
      await importRoster(page, 'moodle-participants.csv', MOODLE_CSV, { source: /Moodle/, idColumn: 'ID number', added: 3 });
      await importRoster(page, 'canvas-grades.csv', CANVAS_CSV, { source: /Canvas/, idColumn: 'SIS User ID', added: 2 });
      const roster = page.getByTestId('roster');
      await waitFor(async () => (await roster.locator('tbody tr').count()) === 5, { message: 'a roster of 5 (2022NET-003 once)' });
      expect(await page.getByRole('alert').filter({ hasText: /\S/ }).allTextContents()).toEqual([]);
      // The course's rule: under 60 % is listed first (points stay Moodle's 2 / 1 / not counted / 0).
      await page.getByLabel(/^Attendance rule/).fill('60');
      await page.getByRole('button', { name: 'Save the rules' }).click();
      await page.getByTestId('settings-outcome').filter({ hasText: 'under 60 %' }).waitFor();
      expect(await roster.textContent()).toContain('Chloé');
      await keepScreenshot(page, 'term-1-roster');

      // A session that started 7 minutes ago (see dateFollowerConnectionBack), "late" from about
      // 20 s from now (time enough to scan on time on a loaded machine).
      const startsAtMs = Math.floor(Date.now() / 60_000) * 60_000 - 7 * 60_000;
      const lateAfterMinutes = Math.ceil((Date.now() + 20_000 - startsAtMs) / 600) / 100;
      await page.getByRole('link', { name: 'Rollcall' }).click();
      await page.getByLabel('Course', { exact: true }).fill(COURSE);
      await page.getByLabel('Duration (minutes)').fill('30');
      await page.getByLabel(/^Late after/).fill(String(lateAfterMinutes));
      await page.getByLabel('Start later').check();
      await page.getByLabel('Starts at').fill(localInput(startsAtMs));
      await page.getByRole('button', { name: 'Create session' }).click();
      const qr = page.getByTestId('qr');
      await qr.locator('svg').waitFor();
      const sessionId = /#\/session\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? '';
      const pairOf = async () => {
        const [payload_b64 = '', signature = ''] = (/#\/s\/(.+)$/.exec((await qr.getAttribute('data-qr-text')) ?? '')?.[1] ?? '').split('.');
        return { payload_b64, signature };
      };
      const direct = async (studentId: string) =>
        (await (await fetch(`${run.system.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: studentId, ...(await pairOf()) }) })).json()) as { reason: string; attendance_status?: string };
      const dataDir = /Data folder:\s+(\S+)/.exec(run.system.stdout())?.[1] ?? '';

      // 001 on time. 003's phone scanned the QR of a minute after the start, offline: its entry
      // waits on the phone until after the end.
      expect(await direct('2022NET-001')).toMatchObject({ reason: 'ok', attendance_status: 'present' });
      const offlineSlotMs = startsAtMs + 60_000;
      const offlineQr = craftQr(readSessionSecret(dataDir, sessionId), { ...qrPayloadOf(await pairOf()), t: offlineSlotMs / 1000 });
      await waitFor(async () => (await statusOf(page, '2022NET-001')) === 'Present', { message: '001 present, pushed' });

      // 002 after the late mark.
      await waitFor(() => Date.now() > startsAtMs + lateAfterMinutes * 60_000 + 1_500, { timeoutMs: 30_000, message: 'the late mark to pass' });
      expect(await direct('2022NET-002')).toMatchObject({ reason: 'ok', attendance_status: 'late' });
      await waitFor(async () => (await statusOf(page, '2022NET-002')) === 'Late', { message: '002 late, pushed' });
      // Each counted once: on time under Present, late under Late (Present once read the accepted
      // count, late students included); the Scans panel counts both as accepted scans.
      await page.getByTestId('status-counts').filter({ hasText: /1 present · 1 late/ }).waitFor();
      await page.getByTestId('attendance-counts').filter({ hasText: /2 accepted/ }).waitFor();
      const list = await context.newPage();
      await list.goto(`${run.system.baseUrl}/professor/`);
      const listed = list.locator('tbody tr').filter({ has: list.locator(`a[href="#/session/${sessionId}"]`) });
      await listed.getByTestId('session-late').filter({ hasText: /^1$/ }).waitFor();
      expect(await listed.getByTestId('session-present').textContent()).toBe('1');
      await list.close();

      // The end: the QR gives way to the result; the others are absent, provisionally.
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'End session now' }).click();
      await page.getByTestId('session-result').waitFor();
      for (const studentId of ['2022NET-003', '2022NET-004', '2022NET-005']) {
        await waitFor(async () => (await statusOf(page, studentId)) === 'Absent (provisional)', { message: `${studentId} provisionally absent` });
      }

      // 005 excused, with a note, from the session view; the audit trail shows it.
      await page.getByRole('button', { name: 'Change status: 2022NET-005' }).click();
      await page.getByRole('dialog').getByLabel('Excused').check();
      await page.getByLabel('Note (kept in the audit trail)').fill('doctor’s note, seen by the office');
      await page.getByRole('button', { name: 'Save status' }).click();
      await waitFor(async () => (await statusOf(page, '2022NET-005')) === 'Excused', { message: '005 excused' });
      await page.getByTestId('audit-trail').filter({ hasText: /2022NET-005: Absent → Excused by .*doctor’s note/ }).waitFor();

      // 003's phone comes back online after the end: its scan from before the end syncs.
      dateFollowerConnectionBack(dataDir, sessionId, startsAtMs - 1000);
      const phone = connectStudent(run.system.baseUrl, sessionId, '2022NET-003');
      try {
        const entry = phone.submit(offlineQr, { scannedAtMs: offlineSlotMs + 2000 });
        const receipt = await phone.receipt(entry.n, 45_000);
        expect(receipt).toMatchObject({ status: 'accepted' });
      } finally {
        phone.close();
      }
      await waitFor(async () => (await statusOf(page, '2022NET-003')) === 'Present', { timeoutMs: 20_000, message: '003 present after the late sync, pushed' });
      const review = page.getByTestId('flagged');
      await review.filter({ hasText: /2022NET-003\s*synced late/ }).waitFor();
      await page.getByRole('button', { name: 'Confirm Present: 2022NET-003' }).click();
      await review.filter({ hasText: /confirmed Present/ }).waitFor();
      await expectAccessible(page, 'ended session with statuses');
      await keepScreenshot(page, 'term-2-session');

      // The same screen at 1024×768 (a 4:3 projector laptop): nothing wider than the window.
      await page.setViewportSize({ width: 1024, height: 768 });
      expect(await overflowing(page)).toEqual([]);
      await keepScreenshot(page, 'term-3-session-1024');

      // The term report: statuses, points (2/1/not counted/0), percentages, threshold list first.
      await page.getByRole('link', { name: /Course page/ }).click();
      // [S9] The course's recent changes, newest first: 003 confirmed, 005 excused, the end, the
      // session, the rules, the rosters; each session's with a link to it.
      const changes = page.getByTestId('course-audit');
      await changes.filter({ hasText: /2022NET-005: Absent → Excused — “doctor’s note, seen by the office”/ }).waitFor();
      const lines = (await changes.locator('li').allTextContents()).map((line) => line.replace(/\s+/g, ' '));
      const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
      expect(at(/2022NET-003: Present → Present/)).toBe(0);
      expect(at(/2022NET-005: Absent → Excused/)).toBe(1);
      expect(at(/Session ended/)).toBe(2);
      expect(at(/Session created/)).toBe(3);
      expect(at(/Settings changed: .*threshold percent/)).toBeGreaterThan(3);
      expect(at(/Roster imported \(\d+ rows\)/)).toBeGreaterThan(at(/Settings changed/));
      expect(await changes.locator('li').nth(1).getByRole('link', { name: 'open the session' }).getAttribute('href')).toBe(`#/session/${sessionId}`);
      await expectAccessible(page, 'course page with its recent changes');
      await page.getByRole('link', { name: 'Term report' }).first().click();
      const report = page.getByTestId('report');
      await report.waitFor();
      const rowOf = (studentId: string) => page.locator(`tr[data-student="${studentId}"]`);
      const expected: [string, string, string, string][] = [
        ['2022NET-001', 'Present', '2 / 2', '100.0 %'],
        ['2022NET-002', 'Late', '1 / 2', '50.0 %'],
        ['2022NET-003', 'Present', '2 / 2', '100.0 %'],
        ['2022NET-004', 'Absent (provisional)', '0 / 2', '0.0 %'],
        ['2022NET-005', 'Excused', '0 / 0', '—'],
      ];
      for (const [studentId, status, points, percent] of expected) {
        expect(await rowOf(studentId).locator('td').first().getAttribute('title')).toBe(status);
        expect(await rowOf(studentId).getByTestId('points').textContent()).toBe(points);
        expect(await rowOf(studentId).getByTestId('percent').textContent()).toBe(percent);
      }
      await page.getByRole('heading', { name: 'Under 60 %' }).waitFor();
      const belowIds = (await page.getByTestId('below-threshold').locator('li').allTextContents()).map((text) => text.slice(0, 11)).sort();
      expect(belowIds).toEqual(['2022NET-002', '2022NET-004']);
      const order = await report.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-student')));
      expect(order.slice(0, 2).sort()).toEqual(['2022NET-002', '2022NET-004']);
      expect(await overflowing(page)).toEqual([]);
      await expectAccessible(page, 'term report');
      await keepScreenshot(page, 'term-4-report-1024');
      await page.setViewportSize({ width: 1440, height: 900 });

      // Every export, read back as what it claims to be.
      const csv = await download(page, 'CSV (every status)');
      expect(csv.name).toMatch(/\.csv$/);
      const csvRows = parse(csv.bytes, { columns: true, bom: true }) as Record<string, string>[];
      const csvOf = (studentId: string) => csvRows.find((row) => Object.values(row).includes(studentId));
      expect(Object.values(csvOf('2022NET-002') ?? {})).toEqual(expect.arrayContaining([COURSE, 'late']));
      expect(Object.values(csvOf('2022NET-005') ?? {})).toEqual(expect.arrayContaining(['excused']));

      const rejected = await download(page, 'Refused scans (CSV)');
      expect(() => parse(rejected.bytes, { columns: true, bom: true })).not.toThrow();

      const xlsx = await download(page, 'Excel (.xlsx)');
      expect(xlsx.name).toMatch(/\.xlsx$/);
      const sheet = await readSheet(xlsx.bytes);
      const sheetText = JSON.stringify(sheet);
      for (const studentId of ['2022NET-001', '2022NET-002', '2022NET-003', '2022NET-004', '2022NET-005']) expect(sheetText).toContain(studentId);

      const moodle = parse((await download(page, 'Moodle gradebook CSV')).bytes, { columns: true, bom: true }) as Record<string, string>[];
      expect(Object.keys(moodle[0] ?? {})).toContain('ID number');
      expect(moodle.map((row) => row['ID number']).sort()).toEqual(expect.arrayContaining(['2022NET-001', '2022NET-004']));

      const canvas = parse((await download(page, 'Canvas gradebook CSV')).bytes, { columns: true, bom: true, relax_column_count: true }) as Record<string, string>[];
      expect(Object.keys(canvas[0] ?? {}).slice(0, 5)).toEqual(['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section']);
      expect(canvas.map((row) => row['SIS User ID'])).toEqual(expect.arrayContaining(['2022NET-001', '2022NET-005']));

      // A student's own record, one click from the report.
      await page.getByRole('link', { name: 'Record of 2022NET-002' }).click();
      const totals = page.getByTestId('record-totals');
      await waitFor(async () => /1 late [\s\S]*1 of 2 points \(50\.0 %\) — under the threshold/.test((await totals.textContent().catch(() => '')) ?? ''), {
        message: 'the record of 2022NET-002',
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}; it says: ${await totals.textContent().catch(() => '(no totals)')} ${await page.locator('main').textContent()}`);
      });
      await expectAccessible(page, 'student record');
      await keepScreenshot(page, 'term-5-student');

      // [S9] Past 20 changes the course page offers the older ones: 20 more marks (of 2022NET-005,
      // excused again, so the report above stays true) push the rosters off the first 20.
      await page.goto(`${run.system.baseUrl}/professor/#/course/${encodeURIComponent(COURSE)}`);
      await changes.locator('li').first().waitFor();
      for (let i = 1; i <= 20; i++) {
        const marked = await fetch(`${run.system.baseUrl}/mark`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session_id: sessionId, student_id: '2022NET-005', status: 'excused', note: `call ${i}` }) });
        expect(marked.status).toBe(200);
      }
      await changes.filter({ hasText: '— “call 20”' }).waitFor();
      await waitFor(async () => (await changes.locator('li').count()) === 20 && !(await changes.textContent())?.includes('Roster imported'), { message: 'the 20 latest changes only' });
      await page.getByRole('button', { name: 'Show older changes' }).click();
      await changes.filter({ hasText: /Roster imported/ }).waitFor();
      expect(await changes.locator('li').count()).toBeGreaterThan(25);
      expect(await page.getByRole('button', { name: 'Show older changes' }).count()).toBe(0);
      // The button is gone: the focus is on the first of the older changes, not lost to the page.
      expect(await page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="course-audit"] li')).indexOf(document.activeElement!))).toBe(20);
      await expectAccessible(page, 'course page, older changes shown');
      await keepScreenshot(page, 'term-6-course-changes');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    }, 180_000); // one term in one test: two imports, a session with a 20 s late mark, five exports
  },
  systemRequirement,
);
