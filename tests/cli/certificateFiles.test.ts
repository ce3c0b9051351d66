/**
 * `--tls-cert` / `--tls-key` checks (cli/commands/CertificateFiles.ts) on files a throwaway
 * openssl CA makes: each refusal names the file and what to do, and the summary the banner
 * prints says which names the certificate is good for.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/apiClient.ts';
import { CertificateFiles, describeCertificate, loadKeyPair } from '../../cli/commands/CertificateFiles.ts';
import { makeTestPki, missingTools, type TestPki } from '../helpers/https.ts';
import { removeTempDirs } from '../helpers/processes.ts';

const missing = missingTools(['openssl']);
if (missing) console.warn(`SKIPPED certificate file tests: ${missing}`);

function refusal(certFile: string, keyFile: string): string {
  try {
    loadKeyPair(certFile, keyFile);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return (error as Error).message;
  }
  throw new Error('the pair was accepted');
}

describe.skipIf(missing !== undefined)('TLS certificate files', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => removeTempDirs());

  it('a good pair loads, and its summary names what it is valid for', () => {
    const files = new CertificateFiles(pki.cert, pki.key);
    expect(files.summary.names).toEqual(['rollcall.test', 'localhost', '127.0.0.1']);
    expect(files.summary.isExpired).toBe(false);
    expect(files.summary.covers('rollcall.test')).toBe(true);
    expect(files.summary.covers('127.0.0.1')).toBe(true);
    expect(files.summary.covers('relay.example.edu')).toBe(false);
    expect(describeCertificate(files.summary)).toMatch(/^certificate for rollcall\.test, localhost, 127\.0\.0\.1 \(valid until \d{4}-\d\d-\d\d\)$/);
  });

  it('a wildcard certificate covers one level of names under it', () => {
    const wildcard = pki.issue('wildcard', { names: ['*.campus.test'] });
    const { summary } = loadKeyPair(wildcard.cert, wildcard.key);
    expect(summary.covers('relay.campus.test')).toBe(true);
    expect(summary.covers('a.relay.campus.test')).toBe(false);
  });

  it('an encrypted key is refused with the command that makes an unencrypted copy', () => {
    const encrypted = join(pki.dir, 'encrypted-key.pem');
    const result = spawnSync('openssl', ['pkey', '-in', pki.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(refusal(pki.cert, encrypted)).toMatch(/--tls-key .*encrypted-key\.pem: the key is encrypted with a passphrase; give an unencrypted copy \(openssl pkey/);
  });

  it('the key and the certificate swapped, a folder, and another certificate’s key are each named', () => {
    expect(refusal(pki.key, pki.cert)).toMatch(/--tls-cert .*server-key\.pem: not a PEM certificate/);
    expect(refusal(pki.dir, pki.key)).toMatch(/--tls-cert .*: is a folder, not the certificate/);
    const other = pki.issue('another');
    expect(refusal(pki.cert, other.key)).toMatch(/--tls-key .*another-key\.pem is not the key of the certificate in --tls-cert .*server\.pem/);
  });
});
