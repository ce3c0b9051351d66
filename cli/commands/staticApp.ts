/**
 * Serves the built browser apps (dist/client) with sirv: the student app at `/` and the
 * dashboard at `/professor/`. Used when the relay does not serve them (`rollcall validator`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { LOGIN_PAGE_PATH } from '../../protocol/index.ts';

/** dist/client in the repository (built by `npm run build`). */
export const APP_DIST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'client');

export function isAppBuilt(dir = APP_DIST_DIR): boolean {
  return existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'professor', 'index.html'));
}

/** Builds the apps with Vite when they are missing (first `npm start` on a fresh clone). */
export async function ensureAppBuilt(print: (line: string) => void): Promise<void> {
  if (isAppBuilt()) return;
  print('Building the student app and the dashboard (first start only, about 10 s)…');
  const vite = await import('vite');
  await vite.build({ configFile: resolve(APP_DIST_DIR, '..', '..', 'vite.config.ts'), logLevel: 'warn' });
  print('Apps built into dist/client.');
}

/** A handler for the dashboard only: `/professor/…` and the shared `/assets/…`. */
export function dashboardHandler(dir = APP_DIST_DIR): (req: IncomingMessage, res: ServerResponse) => boolean {
  const serve = sirv(dir, { dev: false, etag: true, gzip: false, brotli: false, single: false });
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/professor') {
      res.writeHead(301, { Location: '/professor/' }).end();
      return true;
    }
    if (!path.startsWith('/professor/') && !path.startsWith('/assets/')) return false;
    // The login link's page is the dashboard too: it reads the secret from the fragment.
    if (path === '/professor/' || path === LOGIN_PAGE_PATH) req.url = '/professor/index.html';
    serve(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(isAppBuilt(dir) ? 'Not found.\n' : 'The dashboard is not built: run `npm run build`.\n');
    });
    return true;
  };
}
