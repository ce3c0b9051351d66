/**
 * How `rollcall validator` reaches a relay over HTTP(S) (enrolment, the start-up check) with the
 * same trust as its WebSocket followers: Node's list of certificate authorities (plus
 * NODE_EXTRA_CA_CERTS, which Node reads at start), or that list plus `--relay-ca <file>`.
 * A certificate the validator cannot trust is reported as what to do, not as an OpenSSL code.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { CliError } from '../apiClient.ts';

/**
 * `--relay-ca <file>`: Node's certificate authorities plus the one(s) in the file (PEM), for a
 * relay whose certificate a campus CA signed. Throws a CliError when the file is unusable.
 */
export function readRelayCa(file: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CliError(`--relay-ca ${file}: ${code === 'ENOENT' ? 'no such file' : 'cannot read it'} (give the PEM certificate of the CA that signed the relay's certificate)`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new CliError(`--relay-ca ${file}: not a PEM certificate (it should start with -----BEGIN CERTIFICATE-----)`);
  }
  return [...rootCertificates, pem];
}

/** TLS verification failures (node:tls error codes) and what a person does about each. */
const CERTIFICATE_ADVICE: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is signed by a certificate authority this computer does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is signed by a certificate authority this computer does not trust',
  SELF_SIGNED_CERT_IN_CHAIN: 'is signed by a certificate authority this computer does not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed',
  CERT_HAS_EXPIRED: 'has expired (the relay’s operator must renew it)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'is for another name than the one in --relay',
};

/** A one-line explanation of a failed request to the relay, naming the fix when it is TLS trust. */
export function relayErrorMessage(error: unknown, origin: string): string {
  const code = (error as { code?: string }).code ?? '';
  const advice = CERTIFICATE_ADVICE[code];
  if (advice) {
    const fix = code === 'CERT_HAS_EXPIRED' || code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? '' : ': pass its CA with --relay-ca <ca.pem>, or start with NODE_EXTRA_CA_CERTS=<ca.pem> (docs/deploy.md)';
    return `the certificate of the relay at ${origin} ${advice}${fix}`;
  }
  if (code === 'ECONNREFUSED') return `nothing answers at ${origin}: is the relay running, and is --relay right?`;
  if (code === 'ENOTFOUND') return `cannot find the relay’s name in ${origin}: check --relay`;
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `${origin} does not speak TLS: use ws:// (or http://) for a relay without a certificate`;
  return `cannot reach the relay at ${origin} (${error instanceof Error ? error.message : String(error)}): check --relay and the network`;
}

export interface RelayAnswer {
  status: number;
  text: string;
}

/** One request to the relay (`http(s)://` or `ws(s)://` base URL accepted); rejects with a CliError that says why. */
export function relayRequest(
  relayUrl: string,
  path: string,
  { method = 'GET', body, ca, timeoutMs = 15_000 }: { method?: 'GET' | 'POST'; body?: unknown; ca?: string[]; timeoutMs?: number } = {},
): Promise<RelayAnswer> {
  const url = new URL(path, relayUrl.replace(/^ws/, 'http'));
  const text = body === undefined ? undefined : JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        ...(ca && url.protocol === 'https:' ? { ca } : {}),
        headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
        timeout: timeoutMs,
      },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: answer }));
        res.on('error', (error) => reject(new CliError(relayErrorMessage(error, url.origin))));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
    req.on('error', (error) => reject(new CliError(relayErrorMessage(error, url.origin))));
    req.end(text);
  });
}
