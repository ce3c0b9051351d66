/**
 * Issue 12, the professor app's share, in real Chromium: axe-core finds no serious or critical
 * violation on any screen; the focus ring is at least 3:1; the focus moves to the new view's
 * heading; problems land in live regions that were there before them; repeated buttons name
 * their student. With `--require-token`, so the login prompt is a real screen here. Also the
 * full-screen QR on a 4:3 and a 16:9 projector: nothing clipped.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.ts';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { systemRequirement, useBrowserRun } from './system.ts';

/** WCAG contrast of the focused element's outline against the page's white. */
async function focusRingContrast(page: Page): Promise<number> {
  return page.evaluate(() => {
    const style = getComputedStyle(document.activeElement!);
    const [r = 0, g = 0, b = 0] = (style.outlineColor.match(/\d+(\.\d+)?/g) ?? []).map(Number);
    const channel = (value: number) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    return style.outlineStyle === 'none' ? 0 : 1.05 / (luminance + 0.05);
  });
}

const activeText = (page: Page) => page.evaluate(() => `${document.activeElement?.tagName}:${document.activeElement?.textContent?.trim()}`);

/** Every part of the projected panel lies inside the viewport and nothing in it overflows. */
async function clippedParts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    for (const element of document.querySelectorAll<HTMLElement>('.qr-panel.projecting .qr, .qr-panel.projecting .facts > *, .exit')) {
      const box = element.getBoundingClientRect();
      if (box.left < 0 || box.top < 0 || box.right > innerWidth + 0.5 || box.bottom > innerHeight + 0.5) problems.push(`${element.className || element.tagName} at ${JSON.stringify(box)}`);
      if (element.scrollWidth > element.clientWidth + 1) problems.push(`${element.className || element.tagName} overflows (${element.scrollWidth} > ${element.clientWidth})`);
    }
    const qr = document.querySelector('.qr-panel.projecting .qr')!.getBoundingClientRect();
    const facts = document.querySelector('.qr-panel.projecting .facts')!.getBoundingClientRect();
    if (facts.left < qr.right) problems.push('the facts overlap the QR');
    return problems;
  });
}

describeInChromium(
  'professor dashboard accessibility in Chromium',
  () => {
    const run = useBrowserRun({ startArgs: ['--require-token'] });

    it('[A11Y] has no serious or critical axe violation on the login, session list, create session, live session, full-screen QR and ended session screens; focus, live regions and names as issue 12 asks', async () => {
      const token = /Admin token[^:]*: (\S+)/.exec(run.system.stdout())?.[1] ?? '';
      const context = await run.open({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/professor/`);

      // Login prompt: the problem's live region is there (empty) before the first problem.
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      const problem = page.getByTestId('token-problem');
      expect(await problem.getAttribute('role')).toBe('alert');
      expect(await problem.textContent()).toBe('');
      await expectAccessible(page, 'login (token prompt)');
      await page.getByLabel('Admin token').fill('not-the-token-not-the-token-not-the-token00');
      await page.keyboard.press('Enter');
      await page.getByText('That is not the admin token of this Rollcall').waitFor();
      expect(await page.getByLabel('Admin token').getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel('Admin token').focus();
      expect(await focusRingContrast(page)).toBeGreaterThanOrEqual(3);
      await expectAccessible(page, 'login with a wrong token');

      await page.getByLabel('Admin token').fill(token);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Create session' }).waitFor();
      await page.waitForFunction(() => document.activeElement?.textContent === 'New session');
      await expectAccessible(page, 'session list');

      await page.getByLabel('Course').fill('CS201 Accessible');
      await page.getByLabel('Start later').check();
      await page.getByLabel('Starts at').waitFor();
      await page.getByLabel('Start now').check();
      await page.getByLabel('Course').focus();
      expect(await focusRingContrast(page)).toBeGreaterThanOrEqual(3);
      await expectAccessible(page, 'create session');
      await page.getByRole('button', { name: 'Create session' }).click();

      // Live session: the focus moves to its heading; counts announced by a status region.
      const qr = page.getByTestId('qr');
      await qr.locator('svg').waitFor();
      await page.waitForFunction(() => document.activeElement?.tagName === 'H2' && document.activeElement.textContent === 'CS201 Accessible');
      const pair = /#\/s\/([\w-]+)\.([\w-]+)$/.exec((await qr.getAttribute('data-qr-text')) ?? '')!;
      for (const studentId of ['2022IMT-300', '2022IMT-301', '2022IMT-302']) {
        const answer = await fetch(`${run.system.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: studentId, payload_b64: pair[1], signature: pair[2] }) });
        expect(answer.status).toBe(200);
      }
      await page.getByRole('status').filter({ hasText: /3 accepted · 2 to review/ }).waitFor();
      // Repeated buttons in the review list, each named after its student.
      const review = page.getByTestId('flagged');
      for (const studentId of ['2022IMT-301', '2022IMT-302']) {
        await review.getByRole('button', { name: `Confirm Present: ${studentId}` }).waitFor();
        await review.getByRole('button', { name: `Change after review: ${studentId}` }).waitFor();
      }
      const names = await page.getByRole('button', { name: /^(Confirm|Change|Mark absent)/ }).evaluateAll((buttons) => buttons.map((button) => button.getAttribute('aria-label')));
      expect(new Set(names).size).toBe(names.length);
      // A button shows its ring when reached by keyboard (:focus-visible).
      await page.getByRole('button', { name: 'Show full screen' }).focus();
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Tab');
      expect(await activeText(page)).toBe('BUTTON:Show full screen');
      expect(await focusRingContrast(page)).toBeGreaterThanOrEqual(3);
      // [S8] The late rule fixed from the session view: late after 0 min makes all three late, empty makes them present again.
      const lateAfter = page.getByLabel('Late after (minutes from the start; empty: never late)');
      await lateAfter.fill('0');
      await page.getByRole('button', { name: 'Save late rule' }).click();
      await page.getByTestId('late-rule-outcome').filter({ hasText: 'Saved: scans more than 0 min after the start are late.' }).waitFor();
      await page.getByTestId('status-counts').filter({ hasText: /0 present · 3 late/ }).waitFor();
      await lateAfter.fill('');
      await lateAfter.press('Enter');
      await page.getByTestId('late-rule-outcome').filter({ hasText: 'Saved: no scan counts as late.' }).waitFor();
      await page.getByTestId('status-counts').filter({ hasText: /3 present · 0 late/ }).waitFor();
      await expectAccessible(page, 'live session with QR');
      await keepScreenshot(page, 'a11y-1-live-session');

      // Full screen: the heading has the focus; the panel fits 16:10, 4:3 and 16:9.
      await page.getByRole('button', { name: 'Show full screen' }).click();
      await page.getByRole('button', { name: 'Leave full screen' }).waitFor();
      await page.waitForFunction(() => document.activeElement?.tagName === 'H2');
      await expectAccessible(page, 'full-screen QR');
      expect(await clippedParts(page)).toEqual([]);
      await page.setViewportSize({ width: 1024, height: 768 });
      expect(await clippedParts(page)).toEqual([]);
      expect((await qr.boundingBox())?.height ?? 0).toBeGreaterThan(600);
      await keepScreenshot(page, 'a11y-2-projector-4x3');
      await page.setViewportSize({ width: 1920, height: 1080 });
      expect(await clippedParts(page)).toEqual([]);
      expect((await qr.boundingBox())?.height ?? 0).toBeGreaterThan(900);
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.getByRole('button', { name: 'Leave full screen' }).click();
      await page.waitForFunction(() => document.activeElement?.textContent === 'CS201 Accessible');

      // Ended: the QR and "The code changes every …" give way to the result.
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'End session now' }).click();
      await page.getByTestId('session-result').waitFor();
      expect(await page.getByTestId('result-present').textContent()).toBe('3');
      expect(await qr.count()).toBe(0);
      expect(await page.getByText(/The code changes every/).count()).toBe(0);
      await expectAccessible(page, 'ended session');
      await keepScreenshot(page, 'a11y-3-ended');

      // Back to the list: the Present column shows the count (it read a field that never existed).
      await page.getByRole('link', { name: 'Rollcall' }).click();
      await page.waitForFunction(() => document.activeElement?.textContent === 'New session');
      await page.getByTestId('session-present').filter({ hasText: '3' }).waitFor();
      expect(await activeText(page)).toBe('H2:New session');

      // A test session that accepted nobody can be deleted once ended; one with an acceptance cannot.
      expect(await page.getByRole('button', { name: 'Delete session' }).count()).toBe(0);
      await page.getByLabel('Course', { exact: true }).fill('CS999 Test run');
      await page.getByRole('button', { name: 'Create session' }).click();
      await page.getByTestId('qr').locator('svg').waitFor();
      expect(await page.getByRole('button', { name: 'Delete session' }).count()).toBe(0); // live: end it first
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'End session now' }).click();
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'Delete session' }).click();
      await page.waitForFunction(() => document.activeElement?.textContent === 'New session');
      await page.getByRole('link', { name: /CS201 Accessible ·/ }).waitFor();
      expect(await page.getByRole('link', { name: /CS999 Test run ·/ }).count()).toBe(0);
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    });
  },
  systemRequirement,
);
