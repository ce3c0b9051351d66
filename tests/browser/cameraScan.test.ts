/**
 * The real camera path: a live session's QR rendered to an image, turned into a fake camera
 * video (docs/testing.md "Measured facts"), scanned by qr-scanner in Chromium, and accepted.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { expect, it } from 'vitest';
import { QR_RENDER_OPTIONS } from '../../protocol/index.ts';
import { describeInChromium, keepScreenshot } from '../helpers/browser.ts';
import { tempDir } from '../helpers/processes.ts';
import { createSession, systemRequirement, useBrowserRun } from './system.ts';
import { scanWithCamera } from './httpsCampus.ts';

function ffmpegMissing(): string | undefined {
  const probe = spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' });
  if (probe.status === 0) return systemRequirement();
  if (process.env.CI === 'true') throw new Error('the camera test needs ffmpeg (CI=true): apt-get install ffmpeg');
  return 'no ffmpeg on this machine (apt-get install ffmpeg)';
}

describeInChromium(
  'camera scan in Chromium (fake camera)',
  () => {
    const run = useBrowserRun();

    it('scans the live QR through qr-scanner and shows accepted', async () => {
      const session = await createSession(run.system.baseUrl, { course: 'EE301 Camera', duration_minutes: 60 });
      const dir = tempDir('rollcall-camera-');
      const png = join(dir, 'qr.png');
      // The fake-camera recipe of docs/testing.md, with the QR at 320 px: the QR text is a
      // ~290-character URL (version 11, 61 modules), too dense to read at 240 px from 640×480.
      const video = join(dir, 'qr.y4m');
      await QRCode.toFile(png, session.qr_text, { ...QR_RENDER_OPTIONS, width: 640 });
      const ffmpeg = spawnSync(
        'ffmpeg',
        ['-y', '-loop', '1', '-i', png, '-t', '1', '-r', '10', '-vf', 'scale=320:320,pad=640:480:(ow-iw)/2:(oh-ih)/2:color=white,format=yuv420p', '-f', 'yuv4mpegpipe', video],
        { encoding: 'utf8' },
      );
      expect(ffmpeg.status, ffmpeg.stderr).toBe(0);

      const context = await run.open({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
      });
      const page = await context.newPage();
      await page.goto(`${run.system.baseUrl}/`);
      await page.getByLabel('Student id').fill('2022IMT-051');
      await page.getByRole('button', { name: 'Save' }).click();
      await scanWithCamera(page, 'scan');
      await keepScreenshot(page, 'scan-1-camera');
      await page.locator('[data-testid="submission"][data-state="accepted"]').waitFor({ timeout: 45_000 });
      expect(await page.locator('[data-testid="submission"]').textContent()).toContain('EE301 Camera');
      await keepScreenshot(page, 'scan-2-accepted');
    });
  },
  ffmpegMissing,
);
