/**
 * One laptop with a certificate and no proxy: `rollcall start --tls-cert … --tls-key …
 * --public-url https://rollcall.test:<port>`. The phone's app is a secure context, so the service
 * worker and the in-app camera work, and a scan made offline is accepted when the network returns.
 */
import { afterAll, beforeAll, it } from 'vitest';
import type { CreatedSession } from '../helpers/api.ts';
import { describeInChromium } from '../helpers/browser.ts';
import { httpsRequest, makeTestPki, missingTools, TEST_HOST, type TestPki } from '../helpers/https.ts';
import { PORT, removeTempDirs, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { scanOnlineThenOffline } from './httpsCampus.ts';

describeInChromium(
  'HTTPS with no proxy: rollcall start --tls-cert (Chromium trusting a test CA)',
  () => {
    let pki: TestPki;
    let system: StartedProcess;

    beforeAll(async () => {
      pki = makeTestPki();
      system = await startRollcall(
        ['start', '--data', tempDir('rollcall-https-start-'), '--tls-cert', pki.cert, '--tls-key', pki.key, '--public-url', `https://${TEST_HOST}:${PORT}`],
        { isReady: async (port) => (await httpsRequest(pki, port, '/healthz')).status === 200 },
      );
    });

    afterAll(async () => {
      await system?.stop();
      removeTempDirs();
    });

    it('the app is a secure context, its service worker controls it, the camera scans, and an offline scan is accepted when the network returns', async () => {
      await scanOnlineThenOffline({
        pki,
        port: system.port,
        name: 'https-start',
        newSession: async (course) => {
          // The professor on the laptop itself (loopback, a local Host: no token needed).
          const answer = await httpsRequest(pki, system.port, '/create_session', {
            method: 'POST',
            body: { course, duration_minutes: 30, rotate_seconds: 0 },
            headers: { host: `127.0.0.1:${system.port}` },
          });
          if (answer.status !== 201) throw new Error(`create_session answered ${answer.status}: ${answer.text}`);
          return JSON.parse(answer.text) as CreatedSession;
        },
      });
    });
  },
  () => missingTools(['openssl', 'certutil', 'ffmpeg']),
);
