/**
 * The student screen keeps the thread (issue 12), in real Chromium on a phone viewport against
 * the real system: after an offline scan and a reload the home screen shows the saved scan, and
 * its answer arrives there with no navigation; every screen passes axe (no serious or critical
 * WCAG A/AA violation); focus moves to the new view's heading; the live regions are in the page,
 * one per status, never nested, before their text changes.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.ts';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { createSession, qrLink, systemRequirement, useBrowserRun } from './system.ts';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true };

function submissionIn(page: Page, state: string) {
  return page.locator(`[data-testid="submission"][data-state="${state}"]`);
}

async function enterStudentId(page: Page, studentId: string): Promise<void> {
  await page.getByLabel('Student id').fill(studentId);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('button', { name: 'Paste the QR text' }).waitFor();
}

/** The text of the element that has the keyboard focus, and its tag. */
function focused(page: Page): Promise<{ tag: string; text: string }> {
  return page.evaluate(() => ({ tag: document.activeElement?.tagName ?? '', text: document.activeElement?.textContent?.trim() ?? '' }));
}

/** Contrast ratio of the focused element's outline colour against the page's white (WCAG relative luminance). */
function focusRingContrast(page: Page): Promise<number> {
  return page.evaluate(() => {
    const style = getComputedStyle(document.activeElement!);
    if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 2) return 0;
    const [r, g, b] = (style.outlineColor.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
    const channel = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    const luminance = 0.2126 * channel(r ?? 0) + 0.7152 * channel(g ?? 0) + 0.0722 * channel(b ?? 0);
    return (1 + 0.05) / (luminance + 0.05);
  });
}

/** Every live region on the page, and any that sits inside another (which screen readers may not announce). */
function liveRegions(page: Page): Promise<{ regions: string[]; nested: string[] }> {
  return page.evaluate(() => {
    const selector = '[role="status"], [role="alert"], [aria-live]';
    const all = [...document.querySelectorAll(selector)];
    const label = (el: Element) => `${el.getAttribute('role') ?? 'live'}:${el.getAttribute('data-testid') ?? el.id ?? el.tagName}`;
    return { regions: all.map(label), nested: all.filter((el) => el.parentElement?.closest(selector)).map(label) };
  });
}

describeInChromium(
  'student screen in Chromium',
  () => {
    const run = useBrowserRun();

    it('offline scan, reload, back online: the saved scan is on the home screen after the reload and its answer arrives there, with no navigation', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/`);
      await enterStudentId(page, '2022IMT-060');
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
      const session = await createSession(run.system.baseUrl, { course: 'MA201 Reload', duration_minutes: 60 });

      await context.setOffline(true);
      await page.goto('about:blank');
      await page.goto(qrLink(run.system.baseUrl, session));
      await submissionIn(page, 'saved').waitFor();
      await page.reload();
      const saved = submissionIn(page, 'saved');
      await saved.waitFor();
      expect(await saved.textContent()).toContain('MA201 Reload');
      expect(await saved.getByTestId('hint').textContent()).toContain('as soon as this phone is online');
      expect(await page.getByTestId('connection').textContent()).toBe('Offline');
      await expectAccessible(page, 'home, a scan saved offline');
      await keepScreenshot(page, 'screen-1-saved-after-reload');

      await context.setOffline(false);
      const accepted = submissionIn(page, 'accepted');
      await accepted.waitFor({ timeout: 60_000 });
      expect(await accepted.textContent()).toContain('MA201 Reload');
      expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Mark attendance'); // still home: no navigation
      await page.getByTestId('announcer').filter({ hasText: 'MA201 Reload: Accepted.' }).waitFor();
      expect(await page.getByTestId('connection').textContent()).toBe('Connected');
      await expectAccessible(page, 'home, the answer');
      await keepScreenshot(page, 'screen-2-answer-on-home');

      // A reload keeps it: the latest answer stays on the home screen.
      await page.reload();
      await submissionIn(page, 'accepted').waitFor();
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
      await run.closeContext();
    });

    it('axe on every screen; focus moves to each new view’s heading; one live region per status, present before it changes, none nested', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      await page.goto(`${run.system.baseUrl}/`);
      await page.getByLabel('Student id').waitFor();
      await expectAccessible(page, 'first run');
      expect((await liveRegions(page)).nested).toEqual([]);

      await page.getByLabel('Student id').fill('2022\u200bIMT-061'); // a zero-width space: a format character no id may hold
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('alert').filter({ hasText: 'cannot be used' }).waitFor();
      await expectAccessible(page, 'first run, a bad student id');

      await enterStudentId(page, '2022IMT-061');
      expect(await focused(page)).toEqual({ tag: 'H2', text: 'Mark attendance' });
      await page.keyboard.press('Tab');
      expect(await focusRingContrast(page)).toBeGreaterThanOrEqual(3); // WCAG 2.4.11 / 1.4.11: 3:1 against the page
      const home = await liveRegions(page);
      expect(home.nested).toEqual([]);
      expect(home.regions).toEqual(['status:connection', 'status:announcer', 'alert:problem']);
      expect(await page.getByTestId('announcer').textContent()).toBe('');
      await expectAccessible(page, 'home, nothing scanned yet');

      await page.getByRole('button', { name: 'Paste the QR text' }).click();
      expect(await focused(page)).toEqual({ tag: 'H2', text: 'Paste the QR text' });
      await page.getByLabel(/QR link or its JSON/).fill('hello world');
      await page.getByRole('button', { name: 'Submit' }).click();
      const problem = page.getByTestId('problem');
      await problem.filter({ hasText: 'Scan the code shown by your professor' }).waitFor();
      expect(await problem.textContent()).toBe('This is not a Rollcall QR code (expected the app link or the QR JSON). Scan the code shown by your professor.');
      await expectAccessible(page, 'paste, a bad paste');

      const session = await createSession(run.system.baseUrl, { course: 'CS301 Screens', duration_minutes: 60 });
      await page.getByLabel(/QR link or its JSON/).fill(JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature }));
      await page.getByRole('button', { name: 'Submit' }).click();
      await submissionIn(page, 'accepted').waitFor({ timeout: 45_000 });
      expect(await focused(page)).toEqual({ tag: 'H2', text: 'Mark attendance' });
      await expectAccessible(page, 'home, accepted');

      // A session that has not begun: rejected, and the reason says what to do next.
      const early = await createSession(run.system.baseUrl, { course: 'CS302 Tomorrow', duration_minutes: 60, starts_at: Math.floor(Date.now() / 1000) + 86_400 });
      await page.goto(qrLink(run.system.baseUrl, early));
      const rejected = submissionIn(page, 'rejected');
      await rejected.waitFor({ timeout: 45_000 });
      expect(await rejected.textContent()).toContain('Check the time of your lecture');
      expect(await submissionIn(page, 'accepted').count()).toBe(0); // only the latest answer stays on the home screen
      await expectAccessible(page, 'home, rejected');

      await page.getByRole('button', { name: 'Scan the QR code' }).click();
      expect(await focused(page)).toEqual({ tag: 'H2', text: 'Point the camera at the QR code' });
      await page.getByTestId('problem').filter({ hasText: /camera/i }).waitFor(); // no camera in headless Chromium
      expect((await liveRegions(page)).nested).toEqual([]);
      await expectAccessible(page, 'scan, no camera');
      await page.getByRole('button', { name: 'Back' }).click();

      await page.getByRole('button', { name: /History \(2\)/ }).click();
      expect(await focused(page)).toEqual({ tag: 'H2', text: 'History' });
      await expectAccessible(page, 'history');
      await page.getByRole('button', { name: 'Back' }).click();

      await page.getByRole('button', { name: 'Change student id' }).click();
      expect(await focused(page)).toEqual({ tag: 'H2', text: 'Change your student id' });
      await expectAccessible(page, 'change student id');
      await run.closeContext();
    });

    it('IndexedDB refusing to write: a new scan is refused as not saved, a later write (the answer) is reported, never an unhandled rejection', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/`);
      await enterStudentId(page, '2022IMT-062');
      const session = await createSession(run.system.baseUrl, { course: 'CS303 Full disk', duration_minutes: 60 });
      const qr = JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature });
      // From now on IndexedDB refuses submission records in the given state, as a full disk would.
      const refuseRecordsIn = (state: string) =>
        page.evaluate((refused) => {
          const put = IDBObjectStore.prototype.put;
          IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
            if (this.name === 'submissions' && (value as { state?: string }).state === refused) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
            return put.call(this, value, key);
          };
        }, state);

      await refuseRecordsIn('saved');
      await page.getByRole('button', { name: 'Paste the QR text' }).click();
      await page.getByLabel(/QR link or its JSON/).fill(qr);
      await page.getByRole('button', { name: 'Submit' }).click();
      const problem = page.getByTestId('problem');
      await problem.filter({ hasText: 'QuotaExceededError' }).waitFor();
      expect(await problem.textContent()).toBe(
        'The scan could not be saved on this device (IndexedDB could not save the submission (QuotaExceededError: The quota has been exceeded.)). Nothing was sent. Free some storage space, then scan again.',
      );
      expect(await page.locator('[data-testid="submission"]').count()).toBe(0);

      await page.reload(); // a fresh page: saved records go through again, answers do not
      await refuseRecordsIn('accepted');
      await page.getByRole('button', { name: 'Paste the QR text' }).click();
      await page.getByLabel(/QR link or its JSON/).fill(qr);
      await page.getByRole('button', { name: 'Submit' }).click();
      await submissionIn(page, 'accepted').waitFor({ timeout: 45_000 });
      await page.getByTestId('problem').filter({ hasText: 'Could not write the submission history' }).waitFor();
      expect(await page.getByTestId('problem').textContent()).toContain('(IndexedDB could not save the submission (QuotaExceededError: The quota has been exceeded.)). Your scans are kept');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
      await run.closeContext();
    });

    it('a browser that gives the app no storage: the start-up screen names what failed and passes axe', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      await page.addInitScript(() => Object.defineProperty(window, 'indexedDB', { value: undefined }));
      await page.goto(`${run.system.baseUrl}/`);
      const problem = page.getByTestId('problem');
      await problem.filter({ hasText: 'IndexedDB' }).waitFor();
      expect(await problem.textContent()).toContain('gives the app no storage (IndexedDB is turned off');
      await expectAccessible(page, 'could not start');
      await run.closeContext();
    });

    it('storage that fails to open: the start-up screen names IndexedDB and the browser’s own error, not “private mode”', async () => {
      const context = await run.open(PHONE);
      const page = await context.newPage();
      await page.addInitScript(() => {
        IDBFactory.prototype.open = () => {
          throw new DOMException('Internal error opening backing store for indexedDB.open.', 'UnknownError');
        };
      });
      await page.goto(`${run.system.baseUrl}/`);
      const problem = page.getByTestId('problem');
      await problem.filter({ hasText: 'UnknownError' }).waitFor();
      expect(await problem.textContent()).toBe(
        'The app could not start: IndexedDB could not open rollcall-device (UnknownError: Internal error opening backing store for indexedDB.open.). Reload the page; if this happens again, free some storage space on this phone or open the app in a normal browser tab.',
      );
      await run.closeContext();
    });
  },
  systemRequirement,
);
