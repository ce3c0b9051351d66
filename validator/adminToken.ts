/**
 * The admin token: lets a professor use the professor routes from another computer
 * (`Authorization: Bearer <token>`). Made once per data folder and kept in `admin-token`
 * (mode 0600) so it survives restarts and the CLI can read it with `--data`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, toBase64Url } from '../crypto/index.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** Reads the folder's token, making one (32 random bytes, base64url) if there is none. */
export function loadOrCreateAdminToken(dataDir: string): string {
  const path = adminTokenPath(dataDir);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{32,}$/.test(token)) return token;
  }
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = toBase64Url(randomBytes(32));
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/** Reads the token without making one; `undefined` when the folder has none. */
export function readAdminToken(dataDir: string): string | undefined {
  const path = adminTokenPath(dataDir);
  if (!existsSync(path)) return undefined;
  const token = readFileSync(path, 'utf8').trim();
  return token.length > 0 ? token : undefined;
}
