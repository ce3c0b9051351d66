/**
 * Relay down with Wi-Fi up (issue 12): the phone has a network but `rollcall start` is stopped.
 * The service worker still opens the app; the badge says the relay cannot be reached (not
 * "Online"), a scan is saved with a hint that names the relay, not the phone's network; when the
 * system is started again on the same port and data, the scan is accepted on the home screen
 * with no action.
 */
import type { Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { expectAccessible } from '../helpers/axe.ts';
import { describeInChromium, keepScreenshot, launchChromium } from '../helpers/browser.ts';
import { PORT, removeTempDirs, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { createSession, systemRequirement } from './system.ts';

function submissionIn(page: Page, state: string) {
  return page.locator(`[data-testid="submission"][data-state="${state}"]`);
}

describeInChromium(
  'student app with the relay down and the network up',
  () => {
    const dataDir = tempDir('rollcall-relay-down-');
    const start = (port?: number) =>
      startRollcall(['start', '--data', dataDir, '--public-url', `http://127.0.0.1:${PORT}`], port === undefined ? {} : { port });
    let system: StartedProcess | undefined;
    const closers: Array<() => Promise<unknown>> = [];

    afterAll(async () => {
      for (const close of closers.reverse()) await close();
      await system?.stop();
      removeTempDirs();
    });

    it('says it cannot reach the relay, saves the scan with a hint that names the relay, and it is accepted when the relay is back', async () => {
      system = await start();
      const port = system.port;
      const context = await launchChromium({ viewport: { width: 390, height: 844 }, isMobile: true });
      closers.push(() => context.close());
      const page = await context.newPage();
      await page.goto(`${system.baseUrl}/`);
      await page.getByLabel('Student id').fill('2022IMT-070');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
      const session = await createSession(system.baseUrl, { course: 'PH110 Relay down', duration_minutes: 60 });

      await system.stop();
      await page.reload(); // the service worker serves the app; the network is up
      expect(await page.evaluate(() => navigator.onLine)).toBe(true);
      await page.getByTestId('connection').filter({ hasText: 'Can’t reach the relay' }).waitFor();
      expect(await page.getByRole('status').filter({ hasText: 'Online' }).count()).toBe(0);

      await page.getByRole('button', { name: 'Paste the QR text' }).click();
      await page.getByLabel(/QR link or its JSON/).fill(JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature }));
      await page.getByRole('button', { name: 'Submit' }).click();
      const saved = submissionIn(page, 'saved');
      await saved.waitFor();
      const hint = await saved.getByTestId('hint').textContent();
      expect(hint).toContain('cannot reach the relay');
      expect(hint).not.toContain('as soon as this phone is online');
      await expectAccessible(page, 'home, relay unreachable');
      await keepScreenshot(page, 'relay-down-1-saved');

      system = await start(port);
      await submissionIn(page, 'accepted').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('connection').textContent()).toBe('Connected');
      await keepScreenshot(page, 'relay-down-2-accepted');
    });
  },
  systemRequirement,
);
