/**
 * The relay operator's side of trust (SPEC.md "Enrolment"): `rollcall relay enroll`, `revoke`
 * and `validators` work on the relay's data folder directly, or on its PostgreSQL store with
 * `--store` (the operator is on the relay's machine; running relays notice within a second),
 * and the validator's side,
 * `rollcall validator --enroll <code>`, which redeems a code over HTTPS (cli/commands/relayHttps.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { signDetached, toBase64Url, type SigningKeyPair } from '../../crypto/index.ts';
import { enrolmentSigningBytes } from '../../protocol/index.ts';
import { ENROL_PATH, PgTrustStore, SqliteTrustStore, TRUST_DB_FILE, VALIDATOR_NAME_PATTERN, hashEnrolmentCode, newEnrolmentCode, silentLogger, type TrustStore } from '../../relay/index.ts';
import { CliError } from '../apiClient.ts';
import { relayRequest } from './relayHttps.ts';

export interface RelayDataOptions {
  data: string;
  /** `--store postgres://…`: the relays' shared store instead of `data`. */
  store?: string;
}

async function openTrust(options: RelayDataOptions, mustExist: boolean): Promise<TrustStore> {
  if (options.store) {
    try {
      return await PgTrustStore.connect(options.store, { logger: silentLogger, poolSize: 1 });
    } catch (error) {
      throw new CliError(error instanceof Error ? error.message : String(error));
    }
  }
  const dir = resolve(options.data);
  if (mustExist && !existsSync(join(dir, TRUST_DB_FILE))) {
    throw new CliError(`no relay data in ${dir} (${TRUST_DB_FILE} is missing): pass the relay's --data folder`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return new SqliteTrustStore(join(dir, TRUST_DB_FILE));
}

/** Short, comparable form of a key for people: its first 12 characters. */
export function keyFingerprint(publicKey: string): string {
  return publicKey.slice(0, 12);
}

export async function enrolCommand(options: RelayDataOptions & { name: string; expiresHours: number }, print: (line: string) => void): Promise<void> {
  if (!VALIDATOR_NAME_PATTERN.test(options.name)) {
    throw new CliError('--name must be 1–64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit (e.g. prof-lovelace-laptop)');
  }
  const trust = await openTrust(options, false);
  try {
    const code = newEnrolmentCode();
    const now = Date.now();
    await trust.addEnrolmentCode(hashEnrolmentCode(code), options.name, now, now + options.expiresHours * 3600_000);
    print(`Enrolment code for "${options.name}" (valid ${options.expiresHours} h, usable once):`);
    print('');
    print(`    ${code}`);
    print('');
    print('Give it to the professor; on their laptop:');
    print(`    rollcall validator --relay <this relay's URL> --enroll ${code}`);
    print('The code is not stored here, only a hash of it. Revoke later with: rollcall relay revoke ' + options.name);
  } finally {
    await trust.close();
  }
}

export async function revokeCommand(options: RelayDataOptions & { name: string }, print: (line: string) => void): Promise<void> {
  const trust = await openTrust(options, true);
  try {
    const count = await trust.revoke(options.name, Date.now());
    if (count === 0) {
      const known = (await trust.validators()).filter((v) => v.revokedAtMs === undefined).map((v) => v.name);
      throw new CliError(`no active validator is called "${options.name}"${known.length ? ` (active: ${known.join(', ')})` : ''}`);
    }
    print(`Revoked "${options.name}": a running relay closes its connections and refuses new entries to its rooms within a second.`);
  } finally {
    await trust.close();
  }
}

export async function listValidatorsCommand(options: RelayDataOptions & { json?: boolean }, print: (line: string) => void): Promise<void> {
  const trust = await openTrust(options, true);
  try {
    const now = Date.now();
    const rows = [];
    for (const validator of await trust.validators()) {
      rows.push({
        name: validator.name,
        key: validator.publicKey,
        enrolled_at: new Date(validator.enrolledAtMs).toISOString(),
        revoked_at: validator.revokedAtMs === undefined ? null : new Date(validator.revokedAtMs).toISOString(),
        open_rooms: (await trust.openGrants(validator.publicKey, now)).length,
      });
    }
    if (options.json) {
      print(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      print('No validator is enrolled. Make a code with: rollcall relay enroll --name <laptop name>');
      return;
    }
    for (const row of rows) {
      print(`${row.name.padEnd(28)} key ${keyFingerprint(row.key)}…  ${row.revoked_at ? `revoked ${row.revoked_at}` : `active, ${row.open_rooms} open room(s)`}  enrolled ${row.enrolled_at}`);
    }
  } finally {
    await trust.close();
  }
}

/**
 * Redeems an enrolment code at the relay for this validator's key. The code goes in the POST body
 * only. `ca`: the certificates a wss:// relay may chain to (`--relay-ca`).
 */
export async function redeemEnrolmentCode(relayUrl: string, code: string, identity: SigningKeyPair, ca?: string[]): Promise<string> {
  const body = {
    code,
    public_key: toBase64Url(identity.publicKey),
    proof: toBase64Url(signDetached(enrolmentSigningBytes(code), identity.secretKey)),
  };
  const response = await relayRequest(relayUrl, ENROL_PATH, { method: 'POST', body, ...(ca ? { ca } : {}) });
  let answer: { name?: string; error?: string } = {};
  try {
    answer = JSON.parse(response.text) as typeof answer;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (response.status !== 200) throw new CliError(`the relay refused the enrolment: ${answer.error ?? `HTTP ${response.status}`}`);
  return answer.name ?? '?';
}
