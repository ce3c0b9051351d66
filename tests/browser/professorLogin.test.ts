/**
 * The dashboard behind a reverse proxy, in real Chromium: `rollcall start --trust-proxy` (so
 * loopback is nobody) and every request carrying the X-Forwarded-For a proxy adds. A fresh
 * browser gets the login prompt; a wrong admin token is named wrong; the login link printed at
 * start opens the dashboard (its secret gone from the address bar), which then creates a
 * session through its cookie; the same link in another fresh browser is refused; logout ends it.
 */
import { expect, it } from 'vitest';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { systemRequirement, useBrowserRun } from './system.ts';

const VIA_PROXY = { 'X-Forwarded-For': '10.0.0.23' };

describeInChromium(
  'professor login through a reverse proxy in Chromium',
  () => {
    const run = useBrowserRun({ startArgs: ['--trust-proxy'] });

    it('opens the printed login link in a fresh browser, reaches the dashboard and creates a session; the link works once; logout ends the login', async () => {
      const link = /Dashboard login link[^:]*: (\S+)/.exec(run.system.stdout())?.[1] ?? '';
      const secret = /#([A-Za-z0-9_-]{43})$/.exec(link)?.[1] ?? '';
      expect(link.startsWith(`${run.system.baseUrl}/professor/login#`)).toBe(true);

      const context = await run.open({ viewport: { width: 1280, height: 900 } });
      await context.setExtraHTTPHeaders(VIA_PROXY);
      const page = await context.newPage();
      const errors = recordPageErrors(page);
      await page.goto(`${run.system.baseUrl}/professor/`);
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.getByLabel('Admin token').fill('not-the-token-not-the-token-not-the-token00');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('That is not the admin token of this Rollcall').waitFor();
      await keepScreenshot(page, 'login-1-wrong-token');

      await page.goto(link);
      await page.getByRole('button', { name: 'Create session' }).waitFor();
      expect(page.url()).toBe(`${run.system.baseUrl}/professor/#/`);
      expect(await page.evaluate(() => location.href)).not.toContain(secret);
      const cookie = (await context.cookies()).find((c) => c.name === 'rollcall_professor');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
      expect(await page.evaluate(() => document.cookie)).not.toContain('rollcall_professor');

      await page.getByLabel('Course').fill('CS301 Behind the proxy');
      await page.getByLabel('Duration (minutes)').fill('30');
      await page.getByRole('button', { name: 'Create session' }).click();
      await page.getByTestId('qr').locator('svg').waitFor();
      expect(await page.getByTestId('qr').getAttribute('data-qr-text')).toMatch(/#\/s\/[\w-]+\.[\w-]+$/);
      await keepScreenshot(page, 'login-2-session-created');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);

      await run.closeContext();
      const second = await run.open({ viewport: { width: 1280, height: 900 } });
      await second.setExtraHTTPHeaders(VIA_PROXY);
      const again = await second.newPage();
      await again.goto(link);
      await again.getByText(/This login link did not work: .*already used/).waitFor();
      await again.getByRole('heading', { name: 'Log in' }).waitFor();
      expect(again.url()).not.toContain(secret);
      await keepScreenshot(again, 'login-3-link-used');
    });
  },
  systemRequirement,
);
