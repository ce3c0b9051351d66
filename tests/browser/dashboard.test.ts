/**
 * The professor dashboard in real Chromium on a 1920×1080 projector: create a session, see the
 * QR redrawn at rotation, see the count rise as a student (the student app, in another page)
 * is accepted, the attendance list update without reload, full-screen projection, end early.
 */
import { expect, it } from 'vitest';
import { describeInChromium, keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { waitFor } from '../helpers/processes.ts';
import { systemRequirement, useBrowserRun } from './system.ts';

/** The QR pair inside a QR link (`…/#/s/<payload_b64>.<signature>`). */
function qrPair(link: string): { payload_b64: string; signature: string } {
  const [payload_b64 = '', signature = ''] = (/#\/s\/(.+)$/.exec(link)?.[1] ?? '').split('.');
  return { payload_b64, signature };
}

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
      // The header says the session's room is followed on the relay (read from /healthz).
      await dashboard.getByTestId('relay-status').filter({ hasText: /Relay: 1 of 1 session room connected$/ }).waitFor({ timeout: 15_000 });
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

    it('creates a session with the direct path closed from the keyboard, reopens it with the session view switch (which keeps the focus), and lists a shared_address flag for review', async () => {
      await run.closeContext();
      const context = await run.open({ viewport: { width: 1920, height: 1080 } });
      const dashboard = await context.newPage();
      const errors = recordPageErrors(dashboard);
      const submit = async (studentId: string, pair: { payload_b64: string; signature: string }) =>
        (await (await fetch(`${run.system.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: studentId, ...pair }) })).json()) as { reason: string; flags?: string[] };
      const directPath = async (sessionId: string) =>
        ((await (await fetch(`${run.system.baseUrl}/sessions`)).json()) as { sessions: { session_id: string; direct_path: boolean }[] }).sessions.find((s) => s.session_id === sessionId)?.direct_path;

      await dashboard.goto(`${run.system.baseUrl}/professor/`);
      await dashboard.getByLabel('Course').fill('CS102 App only');
      const createSwitch = dashboard.getByLabel('Accept direct submissions (without the app)');
      expect(await createSwitch.isChecked()).toBe(true);
      await createSwitch.focus();
      await dashboard.keyboard.press('Space');
      expect(await createSwitch.isChecked()).toBe(false);
      await dashboard.getByRole('button', { name: 'Create session' }).click();

      const qr = dashboard.getByTestId('qr');
      await qr.locator('svg').waitFor();
      const sessionId = /#\/session\/([0-9a-f-]{36})$/.exec(dashboard.url())?.[1] ?? '';
      const pair = qrPair((await qr.getAttribute('data-qr-text')) ?? '');
      expect(await directPath(sessionId)).toBe(false);
      expect((await submit('2022IMT-200', pair)).reason).toBe('direct_path_disabled');

      const viewSwitch = dashboard.getByLabel('Accept direct submissions (without the app)');
      await viewSwitch.waitFor();
      expect(await viewSwitch.isChecked()).toBe(false);
      expect(await dashboard.getByTestId('direct-path-state').textContent()).toMatch(/Closed/);
      await viewSwitch.focus();
      await dashboard.keyboard.press('Space');
      await waitFor(async () => (await directPath(sessionId)) === true, { message: 'the validator to open the direct path' });
      // Polls of the attendance keep running; the switch stays on and keeps the keyboard focus.
      await waitFor(async () => /Open/.test((await dashboard.getByTestId('direct-path-state').textContent()) ?? ''), { message: 'the state text to say open' });
      expect(await viewSwitch.isChecked()).toBe(true);
      expect(await viewSwitch.evaluate((element) => element === document.activeElement)).toBe(true);
      await keepScreenshot(dashboard, 'dashboard-5-direct-path');
      expect((await submit('2022IMT-200', pair)).reason).toBe('ok');

      // A second student id from the same address: accepted, and listed under "To review".
      expect(await submit('2022IMT-201', pair)).toMatchObject({ reason: 'ok', flags: ['shared_address'] });
      const flagged = dashboard.getByTestId('flagged');
      await waitFor(async () => /2022IMT-201/.test((await flagged.textContent().catch(() => '')) ?? ''), { message: 'the shared_address row to be listed for review' });
      expect(await flagged.textContent()).toMatch(/2022IMT-201\s*shared address\s*direct from 127\.0\.0\.1/);
      expect(await flagged.textContent()).not.toContain('2022IMT-200');
      await keepScreenshot(dashboard, 'dashboard-6-shared-address');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    });

    it('[L2] pushes instead of polling: between two QR rotations it fetches the QR once per rotation and nothing else; a burst of scans re-reads at most once a second; without the stream it still shows the screen, says so, and catches up when the stream is back', async () => {
      await run.closeContext();
      const context = await run.open({ viewport: { width: 1440, height: 900 } });
      const dashboard = await context.newPage();
      const errors = recordPageErrors(dashboard);
      await dashboard.goto(`${run.system.baseUrl}/professor/`);
      await dashboard.getByLabel('Course').fill('CS103 Pushed');
      await dashboard.getByLabel(/QR changes every/).fill('2');
      await dashboard.getByRole('button', { name: 'Create session' }).click();
      const qr = dashboard.getByTestId('qr');
      await qr.locator('svg').waitFor();
      const pair = qrPair((await qr.getAttribute('data-qr-text')) ?? '');

      // Two rotations observed: what was requested in between?
      const rotated = async (from: string) => {
        await waitFor(async () => (await qr.getAttribute('data-qr-text')) !== from, { timeoutMs: 10_000, message: 'the QR to rotate' });
        return (await qr.getAttribute('data-qr-text')) ?? '';
      };
      const first = await rotated((await qr.getAttribute('data-qr-text')) ?? '');
      const requests: string[] = [];
      dashboard.on('request', (request) => requests.push(new URL(request.url()).pathname));
      const second = await rotated(first);
      await rotated(second);
      expect(requests.filter((path) => !path.startsWith('/qr/'))).toEqual([]);
      expect(requests.filter((path) => path.startsWith('/qr/')).length).toBe(2);

      // A burst of scans: the count follows, and the re-reads it causes start at least 1 s apart.
      // Read times are taken in the page, on its monotonic clock, as the app calls fetch(): times
      // taken when Playwright hears of a request carry its delivery delay, which varies.
      await dashboard.evaluate(() => {
        const reads: number[] = [];
        const fetchBefore = window.fetch;
        window.fetch = (input, init) => {
          const url = new URL(input instanceof Request ? input.url : String(input), location.href);
          if (url.pathname.startsWith('/attendance/')) reads.push(performance.now());
          return fetchBefore(input, init);
        };
        (window as unknown as { rollcallReads: number[] }).rollcallReads = reads;
      });
      // (Scans spread over about 2 s, as a hall scans, so that several changes are pushed.)
      for (let i = 0; i < 15; i++) {
        const answer = await fetch(`${run.system.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: `2022IMT-5${String(i).padStart(2, '0')}`, ...pair }) });
        expect(answer.status).toBe(200);
        await new Promise((done) => setTimeout(done, 150));
      }
      await waitFor(async () => (await dashboard.getByTestId('accepted-count').textContent()) === '15', { message: 'the count to follow the burst' });
      const reads = await dashboard.evaluate(() => (window as unknown as { rollcallReads: number[] }).rollcallReads);
      expect(reads.length).toBeGreaterThan(1);
      // The scheduler spaces the starts of its reads (performance.now() before each); the fetch
      // follows each start by the read's own work up to it, a few ms that vary with the machine's
      // load and a GC (997.8 ms between two fetches was seen in CI). Scans come 150 ms apart, so
      // reads without the gap would be about 150 ms apart: 950 still tells the two apart.
      for (let i = 1; i < reads.length; i++) expect(reads[i]! - reads[i - 1]!).toBeGreaterThanOrEqual(950);

      // The stream refused (a proxy that drops it, say): the header says so, the screen still
      // loads; a student accepted meanwhile shows once the stream is back (a re-read on hello).
      await dashboard.route('**/events', (route) => route.abort());
      await dashboard.reload();
      await dashboard.getByTestId('feed-status').filter({ hasText: 'Live updates paused' }).waitFor();
      await qr.locator('svg').waitFor();
      expect(await dashboard.getByTestId('accepted-count').textContent()).toBe('15');
      const answer = await fetch(`${run.system.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: '2022IMT-400', ...pair }) });
      expect(answer.status).toBe(200);
      await dashboard.unroute('**/events');
      await waitFor(async () => (await dashboard.getByTestId('accepted-count').textContent()) === '16', { timeoutMs: 30_000, message: 'the count after the stream came back' });
      expect(await dashboard.getByTestId('feed-status').textContent()).toBe('');
      expect(errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
    });
  },
  systemRequirement,
);
