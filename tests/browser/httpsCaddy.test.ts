/**
 * The campus deployment: Caddy terminates TLS in front of `rollcall relay`, and the professor's
 * `rollcall validator` runs as its own process and connects OUT to wss://rollcall.test through
 * Caddy (enrolled with a code from `rollcall relay enroll`; the relay's CA given by --relay-ca).
 * The phone's story is the one of httpsStart.test.ts, through the proxy.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSession } from '../helpers/api.ts';
import { describeInChromium } from '../helpers/browser.ts';
import { startCaddy } from '../helpers/caddy.ts';
import { makeTestPki, missingTools, nodeResolvingTestHost, TEST_HOST, type TestPki } from '../helpers/https.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { enrolmentCodeFromCli } from '../helpers/validatorProcess.ts';
import { scanOnlineThenOffline } from './httpsCampus.ts';

describeInChromium(
  'HTTPS through Caddy: rollcall relay behind it, rollcall validator connecting out over wss://',
  () => {
    let pki: TestPki;
    let relay: StartedProcess;
    let caddy: StartedProcess;
    let validator: StartedProcess;

    beforeAll(async () => {
      pki = makeTestPki();
      const relayDir = tempDir('rollcall-campus-relay-');
      // Behind a proxy every connection comes from 127.0.0.1, so R11's per-address cap counts the
      // whole campus as one address: raised here as docs/deploy.md tells the operator.
      relay = await startRollcall(['relay', '--data', relayDir, '--max-connections-per-address', '100000']);
      caddy = await startCaddy(pki, relay.port);
      const code = await enrolmentCodeFromCli(relayDir, 'prof-campus-laptop');
      const publicUrl = `https://${TEST_HOST}:${caddy.port}`;
      validator = await startRollcall(
        ['validator', '--data', tempDir('rollcall-campus-laptop-'), '--relay', `wss://${TEST_HOST}:${caddy.port}`, '--public-url', publicUrl, '--enroll', code, '--relay-ca', pki.caCert],
        { env: nodeResolvingTestHost() },
      );
      await waitFor(() => /Enrolled with the relay|refused|certificate/.test(validator.stdout() + validator.stderr()), { message: 'the validator to enrol through Caddy' });
      expect(validator.stdout()).toContain('Enrolled with the relay at wss://rollcall.test');
    });

    afterAll(async () => {
      await validator?.stop();
      await caddy?.stop();
      await relay?.stop();
      removeTempDirs();
    });

    it('through Caddy the app is a secure context, its service worker controls it, the camera scans, and an offline scan is accepted when the network returns', async () => {
      await scanOnlineThenOffline({
        pki,
        port: caddy.port,
        name: 'https-caddy',
        // The professor's dashboard API stays on the laptop (loopback, plain HTTP).
        newSession: (course) => createSession(validator.baseUrl, { course, duration_minutes: 30, rotate_seconds: 0 }),
      });
      // Every phone connection reached the relay through the proxy, from 127.0.0.1.
      expect(relay.stderr()).not.toMatch(/R11/);
    });
  },
  () => missingTools(['openssl', 'certutil', 'ffmpeg', 'caddy']),
);
