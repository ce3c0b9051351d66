/**
 * The professor dashboard in real Chromium on a 1920×1080 projector: create a session, see the
 * QR redrawn at rotation, see the count rise as a student (the student app, in another page)
 * is accepted, the attendance list update without reload, full-screen projection, end early.
 */
import { expect, it } from 'vitest';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { waitFor } from '../helpers/processes.ts';
import { systemRequirement, useBrowserRun } from './system.ts';

describeInChromium(
  'professor dashboard in Chromium',
  () => {
    const run = useBrowserRun();

    it('creates a session, redraws the QR at rotation, counts an accepted student live, projects full screen and ends early', async () => {
      const context = await run.open({ viewport: { width: 1920, height: 1080 } });
      const dashboard = await context.newPage();
      const errors = recordPageErrors(dashboard);
      await dashboard.goto(`${run.system.baseUrl}/professor/`);
      await dashboard.getByLabel('Course').fill('CS101 Live');
      await dashboard.getByLabel('Duration (minutes)').fill('50');
      await dashboard.getByLabel(/QR changes every/).fill('3');
      await keepScreenshot(dashboard, 'dashboard-1-create');
      await dashboard.getByRole('button', { name: 'Create session' }).click();

      const qr = dashboard.getByTestId('qr');
      await qr.locator('svg').waitFor();
      const firstQrText = (await qr.getAttribute('data-qr-text')) ?? '';
      expect(firstQrText).toMatch(/#\/s\/[\w-]+\.[\w-]+$/);
      expect(await dashboard.getByTestId('accepted-count').textContent()).toBe('0');
      // Redrawn at rotation, with no reload.
      await waitFor(async () => (await qr.getAttribute('data-qr-text')) !== firstQrText, { timeoutMs: 20_000, message: 'the QR to rotate' });

      // A student opens the current QR link (as the phone's camera app would).
      const student = await context.newPage();
      await student.setViewportSize({ width: 390, height: 844 });
      await student.goto(`${run.system.baseUrl}/`);
      await student.getByLabel('Student id').fill('2022IMT-100');
      await student.getByRole('button', { name: 'Save' }).click();
      await student.getByRole('button', { name: 'Scan the QR code' }).waitFor();
      const link = (await qr.getAttribute('data-qr-text')) ?? '';
      await student.goto('about:blank');
      await student.goto(link.replace(/^https?:\/\/[^/]+/, run.system.baseUrl));
      await student.locator('[data-testid="submission"][data-state="accepted"]').waitFor({ timeout: 45_000 });
      await student.close();

      await waitFor(async () => (await dashboard.getByTestId('accepted-count').textContent()) === '1', { timeoutMs: 20_000, message: 'the live count to reach 1' });
      expect(await dashboard.getByTestId('accepted-list').textContent()).toContain('2022IMT-100');
      await keepScreenshot(dashboard, 'dashboard-2-session');

      await dashboard.getByRole('button', { name: 'Show full screen' }).click();
      await dashboard.getByRole('button', { name: 'Leave full screen' }).waitFor();
      const box = await qr.boundingBox();
      expect(box?.height ?? 0).toBeGreaterThan(900); // the QR fills the projector's height
      await keepScreenshot(dashboard, 'dashboard-3-projector');
      await dashboard.getByRole('button', { name: 'Leave full screen' }).click();

      dashboard.once('dialog', (dialog) => void dialog.accept());
      await dashboard.getByRole('button', { name: 'End session now' }).click();
      await dashboard.getByRole('button', { name: 'End session now' }).waitFor({ state: 'detached', timeout: 20_000 });

      await dashboard.goto(`${run.system.baseUrl}/professor/#/`);
      await dashboard.getByRole('link', { name: 'CS101 Live' }).waitFor();
      await keepScreenshot(dashboard, 'dashboard-4-sessions');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    });
  },
  systemRequirement,
);
