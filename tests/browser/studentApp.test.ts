/**
 * The student app in real Chromium on a 390×844 phone viewport, against the real system:
 * paste path, QR link opened on load, and offline (service worker shell, submission saved on the
 * phone, accepted when the network returns with no action).
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { ACCEPTED_LATE_TEXT } from '../../protocol/index.ts';
import { ACCEPTED_UNSAID_TEXT } from '../../client/core/index.ts';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { createSession, qrLink, systemRequirement, useBrowserRun } from './system.ts';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true };

async function enterStudentId(page: Page, studentId: string): Promise<void> {
  await page.getByLabel('Student id').fill(studentId);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('button', { name: 'Scan the QR code' }).waitFor();
}

function submissionIn(page: Page, state: string) {
  return page.locator(`[data-testid="submission"][data-state="${state}"]`);
}

describeInChromium(
  'student app in Chromium',
  () => {
    const run = useBrowserRun();

    it('first run asks for the student id, then a pasted QR JSON is accepted, with the latency, and stays in the history after a reload', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/`);
      await page.getByLabel('Student id').waitFor();
      await keepScreenshot(page, 'student-1-first-run');
      await enterStudentId(page, '2022IMT-048');
      await keepScreenshot(page, 'student-2-home');

      const session = await createSession(run.system.baseUrl, { course: 'CS101 Algorithms', duration_minutes: 60 });
      await page.getByRole('button', { name: 'Paste the QR text' }).click();
      await page.getByLabel(/QR link or its JSON/).fill(JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature }));
      await page.getByRole('button', { name: 'Submit' }).click();

      const accepted = submissionIn(page, 'accepted');
      await accepted.waitFor({ timeout: 45_000 });
      await expect(accepted.getByText('Accepted', { exact: true })).toBeTruthy();
      expect(await accepted.textContent()).toMatch(/Answered [\d.]+ (s|min) after the scan/);
      expect(await accepted.textContent()).toContain('CS101 Algorithms');
      await keepScreenshot(page, 'student-3-accepted');

      // Reloading keeps it: the history comes back from IndexedDB.
      await page.reload();
      await page.getByRole('button', { name: /History \(1\)/ }).click();
      expect(await page.locator('.history li.accepted').count()).toBe(1);
      expect(errors.filter((e) => !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
      await run.closeContext();
    });

    it('a QR link opened from the phone camera app submits on load, with no tap, and a bad paste says what to do', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      await page.goto(`${run.system.baseUrl}/`);
      await enterStudentId(page, '2022IMT-049');

      await page.getByRole('button', { name: 'Paste the QR text' }).click();
      await page.getByLabel(/QR link or its JSON/).fill('hello world');
      await page.getByRole('button', { name: 'Submit' }).click();
      expect(await page.getByRole('alert').textContent()).toMatch(/not a Rollcall QR code.*Scan the code shown by your professor/);

      const session = await createSession(run.system.baseUrl, { course: 'PHY201', duration_minutes: 30 });
      // A link without the rv hint, as a validator of the previous release draws it: entry v1, receipt v1 (SPEC.md F3).
      await page.goto('about:blank');
      await page.goto(qrLink(run.system.baseUrl, session));
      await submissionIn(page, 'accepted').waitFor({ timeout: 45_000 });
      // [F4] A receipt v1 says neither present nor late, and the phone claims neither.
      expect(await submissionIn(page, 'accepted').getAttribute('data-attendance')).toBeNull();
      expect(await submissionIn(page, 'accepted').textContent()).toContain(ACCEPTED_UNSAID_TEXT);
      // The QR left the address bar, so a reload does not scan it again.
      expect(new URL(page.url()).hash).toBe('#/');
      await run.closeContext();
    });

    it('[F3][F4] the QR link of this release’s validator (rv=2) on a late scan: the phone shows "Accepted — late", on its card, in its status region and in the history, after a reload too', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/`);
      await enterStudentId(page, '2022IMT-050');
      // Began ten minutes ago, late after two: a scan now is late (SPEC.md S2).
      const nowS = Math.floor(Date.now() / 1000);
      const session = await createSession(run.system.baseUrl, { course: 'MA301 Late', starts_at: nowS - 600, duration_minutes: 30, rotate_seconds: 0, late_after_minutes: 2 });
      expect(session.qr_text).toContain('/?rv=2#/s/');
      await page.goto('about:blank');
      await page.goto(session.qr_text);

      const card = page.locator('[data-testid="submission"][data-state="accepted"][data-attendance="late"]');
      await card.waitFor({ timeout: 45_000 });
      expect(await card.locator('.state').textContent()).toBe('Accepted — late');
      expect(await card.textContent()).toContain(ACCEPTED_LATE_TEXT);
      await page.waitForFunction(() => document.querySelector('[data-testid="announcer"]')?.textContent?.startsWith('MA301 Late: Accepted — late.'));
      await keepScreenshot(page, 'student-7-accepted-late');
      // The QR and its hint left the address bar.
      expect(new URL(page.url()).search).toBe('');
      expect(new URL(page.url()).hash).toBe('#/');

      await page.getByRole('button', { name: /History \(1\)/ }).click();
      const item = page.getByTestId('history-item');
      expect(await item.locator('.state').textContent()).toBe('Accepted — late');
      expect(await item.textContent()).toContain(ACCEPTED_LATE_TEXT);
      // Kept on the phone: after a reload the history still says late (IndexedDB holds it).
      await page.reload();
      await page.getByRole('button', { name: /History \(1\)/ }).click();
      expect(await page.getByTestId('history-item').locator('.state').textContent()).toBe('Accepted — late');
      expect(errors.filter((e) => !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
      await run.closeContext();
    });

    it('works offline: the service worker serves the app, the scan is saved on the phone, and is accepted when the network returns', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/`);
      await enterStudentId(page, '2022IMT-050');
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
      const session = await createSession(run.system.baseUrl, { course: 'MA102 Offline', duration_minutes: 60 });

      await context.setOffline(true);
      await page.reload();
      await page.getByRole('button', { name: 'Scan the QR code' }).waitFor();
      expect(await page.getByRole('status').filter({ hasText: 'Offline' }).count()).toBe(1);
      await keepScreenshot(page, 'student-4-offline-shell');

      // The QR text as this release's validator issues it (`/?rv=2#/s/…`): the service worker
      // serves the app for that URL too (its query is no precached page).
      await page.goto('about:blank');
      await page.goto(session.qr_text);
      const saved = submissionIn(page, 'saved');
      await saved.waitFor();
      expect(await saved.textContent()).toContain('Saved on this phone');
      await keepScreenshot(page, 'student-5-offline-saved');

      await context.setOffline(false);
      await page.locator('[data-testid="submission"][data-state="accepted"][data-attendance="present"]').waitFor({ timeout: 60_000 });
      await keepScreenshot(page, 'student-6-back-online-accepted');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    });
  },
  systemRequirement,
);
