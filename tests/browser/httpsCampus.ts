/**
 * What a student's phone does on a real campus, over HTTPS that Chromium trusts (a test CA in its
 * NSS database, no certificate error ignored): the app at https://rollcall.test:<port>/ is a
 * secure context, its service worker controls the page, the in-app camera scans a QR and is
 * answered; then with the network off the app reloads from the service worker, a camera scan is
 * saved on the phone, and it is accepted once the network returns. Shared by the HTTPS browser
 * tests (rollcall start with --tls-cert, and Caddy in front of rollcall relay).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import QRCode from 'qrcode';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { QR_RENDER_OPTIONS } from '../../protocol/index.ts';
import type { CreatedSession } from '../helpers/api.ts';
import { keepScreenshot, recordPageErrors } from '../helpers/browser.ts';
import { launchChromiumTrusting, TEST_HOST, type TestPki } from '../helpers/https.ts';
import { tempDir } from '../helpers/processes.ts';

/**
 * Writes `video` (y4m), a fake camera filming the QR of `qrText` (docs/testing.md "Measured
 * facts", QR at 320 px in 640×480: the QR link is too dense to read at 240 px). Chromium opens the file each
 * time the camera starts, so rewriting it points the next scan at another QR.
 */
export async function filmQr(qrText: string, video: string): Promise<void> {
  const png = `${video}.png`;
  await QRCode.toFile(png, qrText, { ...QR_RENDER_OPTIONS, width: 640 });
  const ffmpeg = spawnSync(
    'ffmpeg',
    ['-y', '-loop', '1', '-i', png, '-t', '1', '-r', '10', '-vf', 'scale=320:320,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=white,format=yuv420p', '-f', 'yuv4mpegpipe', video],
    { encoding: 'utf8' },
  );
  expect(ffmpeg.status, ffmpeg.stderr).toBe(0);
}

function submissionIn(page: Page, state: string) {
  return page.locator(`[data-testid="submission"][data-state="${state}"]`);
}

/**
 * Opens the student app's camera scanner and waits until the camera is actually running (its
 * video playing a stream) or the app shows a camera problem. A camera that does not start is
 * something a student meets too, and the app answers it with its problem text and "Try again":
 * that is tapped once, as a student would, with a line in the log naming the problem; a second
 * problem (or one with no "Try again") fails the test with the app's words. If neither shows,
 * the failure names what the page shows and keeps a screenshot, so a failure explains itself
 * (waiting for a visible <video> once timed out on a busy machine with no word of why: the video
 * is hidden as soon as the app shows a problem).
 */
export async function scanWithCamera(page: Page, name = 'camera'): Promise<void> {
  // A flag the page keeps: a scan can be over (scanner stopped, view left) before a poll sees the
  // video playing, but the 'playing' event it fired stays recorded.
  const flag = '__rollcallCameraPlaying';
  await page.evaluate((key) => {
    const state = window as unknown as Record<string, boolean>;
    state[key] = false;
    document.addEventListener('playing', () => (state[key] = true), { capture: true });
  }, flag);
  await page.getByRole('button', { name: 'Scan the QR code' }).click();
  for (let attempt = 1; ; attempt++) {
    let outcome: string;
    try {
      const handle = await page.waitForFunction(
        (key) => {
          const problem = document.querySelector('[data-testid="camera-problem"]');
          if (problem) return `problem: ${problem.textContent ?? ''}`;
          return (window as unknown as Record<string, boolean>)[key] ? 'running' : false;
        },
        flag,
        { timeout: 45_000 },
      );
      outcome = String(await handle.jsonValue());
    } catch (error) {
      await keepScreenshot(page, `${name}-no-scanner`).catch(() => undefined);
      const screen = (await page.locator('main').innerText().catch(() => '?')).replace(/\s+/g, ' ').slice(0, 300);
      throw new Error(`the camera scanner did not start: the page shows "${screen}" (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    }
    if (outcome === 'running') return;
    const tryAgain = page.getByRole('button', { name: 'Try again' });
    if (attempt > 1 || !(await tryAgain.isVisible())) throw new Error(`the camera did not start${attempt > 1 ? ', twice' : ''}; the app says ${outcome}`);
    console.warn(`the camera did not start; the app says ${outcome}. Tapping "Try again".`);
    await tryAgain.click();
  }
}

export interface CampusRun {
  pki: TestPki;
  /** The port phones use on rollcall.test (the server's own, or Caddy's). */
  port: number;
  /** Creates a session (static QR) on the validator; the course names it. */
  newSession(course: string): Promise<CreatedSession>;
  /** Screenshot names start with this (test-artifacts/browser/). */
  name: string;
}

/** The whole phone story over HTTPS; throws (fails the test) at the first step that does not happen. */
export async function scanOnlineThenOffline(run: CampusRun): Promise<void> {
  const origin = `https://${TEST_HOST}:${run.port}`;
  const online = await run.newSession(`${run.name} online`);
  expect(online.qr_text.startsWith(`${origin}/`)).toBe(true);
  const video = join(tempDir('rollcall-https-camera-'), 'qr.y4m');
  await filmQr(online.qr_text, video);

  const context = await launchChromiumTrusting(run.pki, {
    viewport: { width: 390, height: 844 },
    isMobile: true,
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const page = await context.newPage();
    const errors = recordPageErrors(page);
    // No certificate error is ignored: an untrusted certificate fails this goto.
    await page.goto(`${origin}/`);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    expect(await page.evaluate(() => typeof navigator.mediaDevices?.getUserMedia)).toBe('function');
    await page.getByLabel('Student id').fill('2022IMT-061');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });

    await scanWithCamera(page, run.name);
    await submissionIn(page, 'accepted').waitFor({ timeout: 45_000 });
    expect(await submissionIn(page, 'accepted').textContent()).toContain(`${run.name} online`);
    await keepScreenshot(page, `${run.name}-1-camera-accepted`);

    const offline = await run.newSession(`${run.name} offline`);
    await filmQr(offline.qr_text, video);
    await context.setOffline(true);
    await page.reload();
    await page.getByRole('button', { name: 'Scan the QR code' }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Offline' }).count()).toBe(1);
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

    await scanWithCamera(page, run.name);
    const saved = submissionIn(page, 'saved');
    await saved.waitFor({ timeout: 45_000 });
    expect(await saved.textContent()).toContain(`${run.name} offline`);
    await keepScreenshot(page, `${run.name}-2-offline-saved`);

    await context.setOffline(false);
    const accepted = submissionIn(page, 'accepted');
    await accepted.filter({ hasText: `${run.name} offline` }).waitFor({ timeout: 60_000 });
    await keepScreenshot(page, `${run.name}-3-back-online-accepted`);
    expect(errors.filter((error) => error.startsWith('pageerror'))).toEqual([]);
  } finally {
    await context.close();
  }
}
