/**
 * `--tls-cert <file> --tls-key <file>`: the PEM pair a server speaks HTTPS and WSS with, checked
 * so that a person sees what is wrong with the files (missing, not PEM, encrypted key, key of
 * another certificate, expired) instead of an OpenSSL error code, and watched so that a renewed
 * certificate (certbot, Caddy, an IT department's copy job) is used without a restart: new
 * connections get it, open ones (phones mid-sync) are not dropped.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { CliError } from '../apiClient.ts';

/** A certificate chain and its private key, PEM, as node:tls takes them. */
export interface TlsKeyPair {
  cert: Buffer;
  key: Buffer;
}

/** What a person needs to know about the certificate in use (printed at start and on reload). */
export interface CertificateSummary {
  /** DNS names and IP addresses the certificate is valid for. */
  names: string[];
  validToMs: number;
  isExpired: boolean;
  /** True when browsers will accept the certificate for `hostname` (a name or an IP address). */
  covers(hostname: string): boolean;
}

/** How often the files' modification times are read: a renewal is picked up within this time. */
const POLL_INTERVAL_MS = 2_000;

function readPem(file: string, what: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new CliError(`${flag} ${file}: no such file (give the path of the ${what}, PEM)`);
    if (code === 'EACCES') throw new CliError(`${flag} ${file}: not allowed to read it (run as a user who may, or copy it where this user can read it)`);
    if (code === 'EISDIR') throw new CliError(`${flag} ${file}: is a folder, not the ${what} file`);
    throw new CliError(`${flag} ${file}: cannot read it (${error instanceof Error ? error.message : String(error)})`);
  }
}

/**
 * Reads and checks a certificate and its key. Throws a CliError a person can act on; returns
 * the pair and a summary of the certificate.
 */
export function loadKeyPair(certFile: string, keyFile: string): { pair: TlsKeyPair; summary: CertificateSummary } {
  const cert = readPem(certFile, 'certificate (its chain may follow it)', '--tls-cert');
  const key = readPem(keyFile, 'private key', '--tls-key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new CliError(`--tls-cert ${certFile}: not a PEM certificate (it should start with -----BEGIN CERTIFICATE-----)`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // OpenSSL reports a missing passphrase as "interrupted or cancelled": the PEM header is clearer.
    const text = key.toString('latin1');
    if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('Proc-Type: 4,ENCRYPTED')) throw new CliError(`--tls-key ${keyFile}: the key is encrypted with a passphrase; give an unencrypted copy (openssl pkey -in <key> -out <new key>, readable by this user only)`);
    throw new CliError(`--tls-key ${keyFile}: not a PEM private key (it should start with -----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----)`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CliError(`--tls-key ${keyFile} is not the key of the certificate in --tls-cert ${certFile}: give the key made with that certificate (a renewal makes both files anew)`);
  }
  return { pair: { cert, key }, summary: summarise(certificate) };
}

function summarise(certificate: X509Certificate): CertificateSummary {
  const names = (certificate.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined);
  const validToMs = Date.parse(certificate.validTo);
  return {
    names,
    validToMs,
    isExpired: validToMs < Date.now(),
    covers: (hostname) => {
      const host = hostname.replace(/^\[|\]$/g, '');
      return (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host)) !== undefined;
    },
  };
}

/** One line for the banner: `certificate for a, b (valid until 2027-01-01)`. */
export function describeCertificate(summary: CertificateSummary): string {
  const until = new Date(summary.validToMs).toISOString().slice(0, 10);
  return `certificate for ${summary.names.join(', ') || '(no subjectAltName: browsers will refuse it)'} (${summary.isExpired ? `EXPIRED on ${until}: browsers will refuse it` : `valid until ${until}`})`;
}

/**
 * The certificate files of a running server: reloaded when either file changes (polled by
 * modification time, which also follows symlinks that certbot swaps) or when `reload()` is
 * called (SIGHUP). A reload that fails (a renewal half written: the new certificate with the
 * old key) keeps the pair in use and says why; the next change tries again.
 */
export class CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  #pair: TlsKeyPair;
  #summary: CertificateSummary;
  #isWatching = false;
  readonly #onChange = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) this.#reload('the files changed');
  };
  #apply: ((pair: TlsKeyPair) => void) | undefined;
  #log: ((line: string) => void) | undefined;

  /** Loads and checks the pair now; throws a CliError a person can act on. */
  constructor(certFile: string, keyFile: string) {
    this.certFile = resolve(certFile);
    this.keyFile = resolve(keyFile);
    const { pair, summary } = loadKeyPair(this.certFile, this.keyFile);
    this.#pair = pair;
    this.#summary = summary;
  }

  get pair(): TlsKeyPair {
    return this.#pair;
  }

  get summary(): CertificateSummary {
    return this.#summary;
  }

  /** Starts watching: `apply` gets each new valid pair (e.g. `server.setSecureContext`). */
  watch(apply: (pair: TlsKeyPair) => void, log: (line: string) => void): void {
    this.#apply = apply;
    this.#log = log;
    if (this.#isWatching) return;
    this.#isWatching = true;
    watchFile(this.certFile, { interval: POLL_INTERVAL_MS, persistent: false }, this.#onChange);
    watchFile(this.keyFile, { interval: POLL_INTERVAL_MS, persistent: false }, this.#onChange);
  }

  /** Reads the files again now (SIGHUP). */
  reload(): void {
    this.#reload('SIGHUP');
  }

  close(): void {
    if (!this.#isWatching) return;
    this.#isWatching = false;
    unwatchFile(this.certFile, this.#onChange);
    unwatchFile(this.keyFile, this.#onChange);
  }

  #reload(why: string): void {
    if (!this.#apply) return;
    try {
      const { pair, summary } = loadKeyPair(this.certFile, this.keyFile);
      this.#apply(pair);
      this.#pair = pair;
      this.#summary = summary;
      this.#log?.(`reloaded the TLS ${describeCertificate(summary)} (${why}); open connections keep the one they started with`);
    } catch (error) {
      this.#log?.(`kept the TLS certificate in use: reloading it failed (${why}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
