/**
 * HTTPS that real Chromium trusts, with nothing ignored (docs/testing.md "Measured facts"): a throwaway CA
 * made with openssl, a certificate it signs for `rollcall.test` (and localhost, 127.0.0.1), an
 * NSS database in a temporary HOME that trusts the CA (certutil), and Chromium launched with
 * that HOME and `--host-resolver-rules` sending rollcall.test to loopback. Node processes reach
 * the name through `nodeResolvingTestHost()` (a preload: Node has no resolver rules).
 *
 * In CI (CI=true) a missing tool fails loudly; elsewhere the tests skip with one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { launchChromium, type LaunchOptions } from './browser.ts';
import { REPO_ROOT, tempDir } from './processes.ts';

/** The name the test certificates are for; Chromium and test Node processes map it to 127.0.0.1. */
export const TEST_HOST = 'rollcall.test';

const isCi = process.env.CI === 'true' || process.env.CI === '1';

/** Debian packages that hold each tool, for the message. */
const PACKAGE_OF: Record<string, string> = { openssl: 'openssl', certutil: 'libnss3-tools', caddy: 'caddy', ffmpeg: 'ffmpeg' };
const VERSION_FLAG: Record<string, string> = { openssl: 'version', certutil: '-H', caddy: 'version', ffmpeg: '-version' };

/**
 * Why these tests cannot run here, or undefined when every tool is installed. Under CI a missing
 * tool throws: CI must run them.
 */
export function missingTools(tools: string[]): string | undefined {
  const missing = tools.filter((tool) => spawnSync(tool, [VERSION_FLAG[tool] ?? '--version'], { stdio: 'ignore' }).error !== undefined);
  if (missing.length === 0) return undefined;
  const install = `apt-get install ${[...new Set(missing.map((tool) => PACKAGE_OF[tool] ?? tool))].join(' ')}`;
  if (isCi) throw new Error(`the HTTPS tests need ${missing.join(', ')} (CI=true): ${install}`);
  return `no ${missing.join(', ')} on this machine (${install})`;
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.error?.message ?? result.stderr}`);
}

/** A throwaway CA and the files of certificates it issued. */
export interface TestPki {
  dir: string;
  /** The CA's certificate (PEM file): what a browser or --relay-ca trusts. */
  caCert: string;
  /** A certificate for rollcall.test, localhost and 127.0.0.1, and its key (PEM files). */
  cert: string;
  key: string;
  /** Issues another certificate from the same CA (a renewal); returns its files. */
  issue(name: string, options?: { names?: string[] }): { cert: string; key: string };
}

/** Makes a CA (EC P-256, one day) and a server certificate signed by it, in a temporary folder. */
export function makeTestPki(): TestPki {
  const dir = tempDir('rollcall-pki-');
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Rollcall test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const issue = (name: string, { names = [TEST_HOST, 'localhost'] }: { names?: string[] } = {}) => {
    const key = join(dir, `${name}-key.pem`);
    const cert = join(dir, `${name}.pem`);
    const extensions = join(dir, `${name}.ext`);
    writeFileSync(extensions, [`subjectAltName=${[...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',')}`, 'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature', 'basicConstraints=CA:FALSE', ''].join('\n'));
    run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', join(dir, `${name}.csr`), '-subj', `/CN=${names[0]}`], dir);
    run('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', extensions, '-out', cert], dir);
    return { cert, key };
  };
  const server = issue('server');
  return { dir, caCert: join(dir, 'ca.pem'), cert: server.cert, key: server.key, issue };
}

/** A temporary HOME whose NSS database ($HOME/.pki/nssdb, where Chromium looks) trusts the CA for TLS servers. */
export function homeTrustingCa(caCert: string): string {
  const home = tempDir('rollcall-home-');
  const nssDb = join(home, '.pki', 'nssdb');
  mkdirSync(nssDb, { recursive: true });
  run('certutil', ['-d', `sql:${nssDb}`, '-N', '--empty-password'], home);
  run('certutil', ['-d', `sql:${nssDb}`, '-A', '-t', 'C,,', '-n', 'rollcall-test-ca', '-i', caCert], home);
  return home;
}

/** Chromium that trusts the test CA (through its HOME's NSS db, not by ignoring errors) and resolves rollcall.test to loopback. */
export function launchChromiumTrusting(pki: TestPki, options: LaunchOptions = {}): Promise<BrowserContext> {
  return launchChromium({ ...options, home: homeTrustingCa(pki.caCert), args: [`--host-resolver-rules=MAP ${TEST_HOST} 127.0.0.1`, ...(options.args ?? [])] });
}

/**
 * Environment for a Node process (`rollcall validator`) that must reach https://rollcall.test:
 * a preload maps the name to 127.0.0.1, as Chromium's --host-resolver-rules does.
 */
export function nodeResolvingTestHost(): Record<string, string> {
  const preload = pathToFileURL(join(REPO_ROOT, 'tests', 'helpers', 'resolveTestHost.mjs')).href;
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(), ROLLCALL_TEST_HOST: TEST_HOST };
}

/** An HTTPS request from the test to rollcall.test:<port> (connected to 127.0.0.1), trusting only the test CA. */
export function httpsRequest(
  pki: TestPki,
  port: number,
  path: string,
  { method = 'GET', body, headers = {} }: { method?: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; certificateSerial: string }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: TEST_HOST,
        port,
        path,
        method,
        ca: readFileSync(pki.caCert),
        agent: false,
        headers: { host: `${TEST_HOST}:${port}`, ...(text ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        const certificateSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: answer, certificateSerial }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}
