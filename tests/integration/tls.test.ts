/**
 * `--tls-cert` / `--tls-key` on the servers, against real processes and a throwaway CA: HTTPS and
 * WSS on one port, a renewed certificate used without dropping open connections, errors a
 * person can act on, and `rollcall validator` connecting out over wss:// to a relay whose CA
 * the system does not know (`--relay-ca`, or Node's NODE_EXTRA_CA_CERTS).
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, toBase64Url } from '../../crypto/index.ts';
import { createSession } from '../helpers/api.ts';
import { httpsRequest, makeTestPki, missingTools, nodeResolvingTestHost, TEST_HOST, type TestPki } from '../helpers/https.ts';
import { PORT, removeTempDirs, runCli, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { TestValidator } from '../helpers/testValidator.ts';
import { enrolmentCodeFromCli } from '../helpers/validatorProcess.ts';

const missing = missingTools(['openssl']);
if (missing) console.warn(`SKIPPED TLS integration tests: ${missing}`);

describe.skipIf(missing !== undefined)('servers with --tls-cert / --tls-key', () => {
  let pki: TestPki;
  const started: StartedProcess[] = [];

  /** A process serving HTTPS with the test certificate: ready when GET /healthz answers 200 over TLS. */
  async function startTls(args: string[], certFiles = pki, env: Record<string, string> = {}): Promise<StartedProcess> {
    const server = await startRollcall([...args, '--tls-cert', certFiles.cert, '--tls-key', certFiles.key], {
      env,
      isReady: async (port) => (await httpsRequest(pki, port, '/healthz')).status === 200,
    });
    started.push(server);
    return server;
  }

  beforeAll(() => {
    pki = makeTestPki();
  });

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
    removeTempDirs();
  });

  it('rollcall relay serves HTTPS and WSS on one port; a renewed certificate is used for new connections while an open WebSocket stays up; SIGHUP reloads instead of stopping', async () => {
    const relayDir = tempDir('rollcall-tls-relay-');
    const validator = await new TestValidator('tls-test').enrolInDataDir(relayDir);
    // The server reads copies, so the test can "renew" them in place.
    const live = { cert: `${tempDir('rollcall-tls-live-')}/cert.pem`, key: '' };
    live.key = live.cert.replace('cert.pem', 'key.pem');
    copyFileSync(pki.cert, live.cert);
    copyFileSync(pki.key, live.key);
    const relay = await startTls(['relay', '--data', relayDir], { ...pki, ...live });
    expect(relay.stdout()).toMatch(new RegExp(`listening on https://127\\.0\\.0\\.1:${relay.port}`));
    expect(relay.stdout()).toContain(`TLS: certificate for ${TEST_HOST}`);

    const before = await httpsRequest(pki, relay.port, '/healthz');
    const room = randomUUID();
    const socket = await RawRelayClient.connect(`https://127.0.0.1:${relay.port}`, room, { validator, grant: validator.grant(room), ca: readFileSync(pki.caCert) });

    const renewed = pki.issue('renewed');
    copyFileSync(renewed.key, live.key);
    copyFileSync(renewed.cert, live.cert);
    const after = await waitFor(async () => {
      const answer = await httpsRequest(pki, relay.port, '/healthz');
      return answer.certificateSerial !== before.certificateSerial ? answer : undefined;
    }, { message: 'the renewed certificate to be served' });
    expect(after.status).toBe(200);
    expect(relay.stderr()).toMatch(/reloaded the TLS certificate/);
    // The WebSocket opened with the old certificate is still open and still answered.
    expect(socket.close).toBeUndefined();
    const answered = socket.step2Count;
    await socket.syncRoom();
    expect(socket.step2Count).toBe(answered + 1);

    const third = pki.issue('third');
    copyFileSync(third.key, live.key);
    copyFileSync(third.cert, live.cert);
    relay.child.kill('SIGHUP');
    await waitFor(async () => (await httpsRequest(pki, relay.port, '/healthz')).certificateSerial !== after.certificateSerial, { message: 'the certificate reloaded on SIGHUP' });
    expect(await Promise.race([relay.exited, httpsRequest(pki, relay.port, '/time').then((answer) => answer.status)])).toBe(200);
    socket.end();
  });

  it('a missing file, a file that is not PEM, a key of another certificate, or half a pair is refused at start with what to do', async () => {
    const dir = tempDir('rollcall-tls-bad-');
    const other = pki.issue('other');
    const missingFile = await runCli(['relay', '--data', dir, '--port', '0', '--tls-cert', `${dir}/nope.pem`, '--tls-key', pki.key]);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/--tls-cert .*nope\.pem: no such file/);
    const mismatch = await runCli(['start', '--data', dir, '--port', '0', '--tls-cert', pki.cert, '--tls-key', other.key]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/--tls-key .*other-key\.pem is not the key of the certificate in --tls-cert/);
    const notPem = await runCli(['validator', '--data', dir, '--port', '0', '--tls-cert', pki.caCert.replace('ca.pem', 'server.ext'), '--tls-key', pki.key]);
    expect(notPem.stderr).toMatch(/not a PEM certificate/);
    const half = await runCli(['validator', '--data', dir, '--port', '0', '--tls-cert', pki.cert]);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
    expect(missingFile.stderr + mismatch.stderr + notPem.stderr + half.stderr).not.toMatch(/\n\s+at /);
  });

  it('rollcall start with TLS: the QR carries the https public URL, and the in-process follower opens the room over its loopback port', async () => {
    const system = await startTls(['start', '--data', tempDir('rollcall-tls-start-'), '--public-url', `https://${TEST_HOST}:${PORT}`]);
    expect(system.stdout()).toContain(`Student app (phones):        https://${TEST_HOST}:${system.port}/`);
    const created = await httpsRequest(pki, system.port, '/create_session', { method: 'POST', body: { course: 'TLS', duration_minutes: 10 }, headers: { host: `127.0.0.1:${system.port}` } });
    expect(created.status).toBe(201);
    const session = JSON.parse(created.text) as { session_id: string; qr_text: string };
    expect(session.qr_text.startsWith(`https://${TEST_HOST}:${system.port}/`)).toBe(true);
    // The follower opened the room: a phone's WebSocket upgrade over WSS is taken (101), not refused (404).
    await waitFor(async () => {
      const phone = await RawRelayClient.connect(`https://127.0.0.1:${system.port}`, session.session_id, { device: toBase64Url(randomBytes(32)), ca: readFileSync(pki.caCert) }).catch(() => undefined);
      phone?.end();
      return phone !== undefined;
    }, { message: 'the in-process follower to open the room over its loopback port' });
  });

  for (const trust of ['--relay-ca', 'NODE_EXTRA_CA_CERTS'] as const) {
    it(`rollcall validator enrols and follows rooms over wss:// when the relay's CA is given by ${trust}; without it, it says what to do`, async () => {
      const relayDir = tempDir('rollcall-tls-hosted-');
      const relay = await startTls(['relay', '--data', relayDir]);
      const relayUrl = `wss://${TEST_HOST}:${relay.port}`;
      const code = await enrolmentCodeFromCli(relayDir, `prof-${trust === '--relay-ca' ? 'a' : 'b'}`);
      const untrusting = await runCli(['validator', '--data', tempDir('rollcall-tls-laptop-'), '--port', '0', '--host', '127.0.0.1', '--relay', relayUrl, '--public-url', relayUrl, '--enroll', code], { env: nodeResolvingTestHost() });
      expect(untrusting.code).toBe(1);
      expect(untrusting.stderr).toMatch(/certificate of the relay .* is signed by a certificate authority this computer does not trust: pass its CA with --relay-ca/);
      // Already enrolled (no --enroll): it still starts, and says at once why it will not connect.
      const warned = await startRollcall(['validator', '--data', tempDir('rollcall-tls-laptop-'), '--relay', relayUrl, '--public-url', relayUrl], { env: nodeResolvingTestHost() });
      started.push(warned);
      await waitFor(() => /Following session rooms/.test(warned.stdout()), { message: 'the validator to start following' });
      expect(warned.stdout()).toMatch(/Warning: the certificate of the relay .* does not trust: pass its CA with --relay-ca <ca\.pem>, or start with NODE_EXTRA_CA_CERTS/);
      await warned.stop();

      const trustArgs = trust === '--relay-ca' ? ['--relay-ca', pki.caCert] : [];
      const env = { ...nodeResolvingTestHost(), ...(trust === 'NODE_EXTRA_CA_CERTS' ? { NODE_EXTRA_CA_CERTS: pki.caCert } : {}) };
      const validator = await startRollcall(['validator', '--data', tempDir('rollcall-tls-laptop-'), '--relay', relayUrl, '--public-url', relayUrl, '--enroll', code, ...trustArgs], { env });
      started.push(validator);
      await waitFor(() => /Enrolled with the relay/.test(validator.stdout()), { message: `the validator to enrol (${validator.stderr()})` });
      const session = await createSession(validator.baseUrl, { course: 'Hosted TLS', duration_minutes: 10 });
      await waitFor(async () => {
        const phone = await RawRelayClient.connect(`https://127.0.0.1:${relay.port}`, session.session_id, { device: toBase64Url(randomBytes(32)), ca: readFileSync(pki.caCert) }).catch(() => undefined);
        phone?.end();
        return phone !== undefined;
      }, { message: 'the validator to open the room over wss://' });
    });
  }
});
