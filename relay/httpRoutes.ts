/**
 * The relay's plain HTTP: /healthz (alive), /readyz (ready to take peers), /metrics
 * (Prometheus), GET /time (phones measure their clock offset against it; docs/SPEC.md "Entry"),
 * and the built app's static files.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import sirv from 'sirv';
import { SYNC_PATH_PREFIX } from '../protocol/index.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** A JSON answer, never cached (the relay's routes and the enrolment endpoint). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json', JSON.stringify(body), headers);
}

/** /time answers any origin: the app may be served from elsewhere than the relay. */
const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, OPTIONS' };

/** Whether the relay should be sent peers: its stores are open and it is not stopping. */
export type Readiness = { isReady: true } | { isReady: false; reason: string };

export interface HttpRoutesOptions {
  staticDir?: string;
  now: () => number;
  health: () => Record<string, unknown>;
  readiness: () => Readiness;
  metrics: { contentType: string; text(): Promise<string> };
}

export class HttpRoutes {
  readonly #options: HttpRoutesOptions;
  #serveStatic: Handler | undefined;

  constructor(options: HttpRoutesOptions) {
    this.#options = options;
  }

  /** True when the request was answered. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') {
      send(res, 200, 'application/json', JSON.stringify({ ok: true, ...this.#options.health() }));
      return true;
    }
    if (path === '/readyz') {
      const readiness = this.#options.readiness();
      if (readiness.isReady) send(res, 200, 'application/json', JSON.stringify({ ok: true }));
      else send(res, 503, 'application/json', JSON.stringify({ ok: false, reason: readiness.reason }));
      return true;
    }
    if (path === '/metrics') {
      const { metrics } = this.#options;
      metrics.text().then(
        (text) => send(res, 200, metrics.contentType, text),
        () => send(res, 500, 'text/plain; charset=utf-8', 'could not collect the metrics\n'),
      );
      return true;
    }
    if (path === '/time') {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, CORS);
        res.end();
      } else send(res, 200, 'application/json', JSON.stringify({ now_ms: this.#options.now() }), CORS);
      return true;
    }
    if (path === SYNC_PATH_PREFIX.slice(0, -1) || path.startsWith(SYNC_PATH_PREFIX)) {
      send(res, 426, 'text/plain; charset=utf-8', 'This is a y-websocket endpoint: connect with a WebSocket to /sync/<session_id>.\n', { upgrade: 'websocket' });
      return true;
    }
    if (this.#options.staticDir === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    return this.#static(req, res, this.#options.staticDir);
  }

  #static(req: IncomingMessage, res: ServerResponse, staticDir: string): boolean {
    if (!this.#serveStatic) {
      // The app may be built after the relay started: look again on each request until it exists.
      if (!existsSync(join(staticDir, 'index.html'))) {
        send(res, 404, 'text/plain; charset=utf-8', `The Rollcall app is not built yet: run \`npm run build\` (expected ${join(staticDir, 'index.html')}).\n`);
        return true;
      }
      // No SPA fallback: the student app routes by URL fragment (`/#/s/…`), so only `/` needs
      // index.html, and an unknown path must fall through to the next handler (the
      // validator's JSON 404 in `rollcall start`) rather than answer 200 with the app.
      this.#serveStatic = sirv(staticDir, {
        single: false,
        etag: true,
        gzip: false,
        brotli: false,
        setHeaders: (res, pathname) => {
          // The service worker must be re-checked on every load, or phones keep an old app.
          if (pathname === '/sw.js' || pathname === '/index.html') res.setHeader('cache-control', 'no-cache');
        },
      }) as Handler;
    }
    // sirv (production mode) resolves from a file list read at start, so `next` runs synchronously.
    let isServed = true;
    this.#serveStatic(req, res, () => {
      isServed = false;
    });
    return isServed;
  }
}
