/**
 * The most common lecture-hall setup: the laptop serves plain HTTP on the LAN, and a phone opens
 * the QR's link with its own camera app. That page is not a secure context (no service worker,
 * no in-app camera), and the submission must still go through; the home screen says up front
 * what works rather than offering a camera it cannot use. Chromium resolves a LAN-style
 * name to loopback (`--host-resolver-rules`), so the origin is insecure while every byte stays
 * on this machine.
 */
import { expect, it } from 'vitest';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { createSession, qrLink, systemRequirement, useBrowserRun } from './system.ts';

const LAN_NAME = 'rollcall-lan.test';

describeInChromium(
  'student app over plain HTTP on a LAN name (not a secure context)',
  () => {
    const run = useBrowserRun();

    it('the QR link submits and is accepted; the home screen offers no camera it cannot use and says what works', async () => {
      const context = await run.open({ viewport: { width: 390, height: 844 }, isMobile: true, args: [`--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`] });
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      const lanBase = run.system.baseUrl.replace('127.0.0.1', LAN_NAME);
      await page.goto(`${lanBase}/`);
      expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
      await page.getByLabel('Student id').fill('2022IMT-051');
      await page.getByRole('button', { name: 'Save' }).click();

      const session = await createSession(run.system.baseUrl, { course: 'CS210 LAN', duration_minutes: 30 });
      await page.goto('about:blank');
      await page.goto(qrLink(lanBase, session));
      await page.locator('[data-testid="submission"][data-state="accepted"]').waitFor({ timeout: 45_000 });
      await keepScreenshot(page, 'lan-1-accepted-over-http');

      await page.getByTestId('insecure-origin').waitFor();
      expect(await page.getByTestId('insecure-origin').textContent()).toMatch(/phone’s own camera app/);
      expect(await page.getByRole('button', { name: 'Scan the QR code' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Paste the QR text' }).count()).toBe(1);
      await keepScreenshot(page, 'lan-2-no-camera-over-http');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    });
  },
  systemRequirement,
);
