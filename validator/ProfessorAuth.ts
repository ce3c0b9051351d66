/**
 * Who may use the professor routes (docs/http-api.md "Who may call what") and the dashboard
 * login that gets a browser there through a reverse proxy: a one-time login link, exchanged
 * for an HttpOnly session cookie. Three ways in, tried in this order:
 * 1. `Authorization: Bearer <admin token>` (the CLI; a wrong token is refused outright);
 * 2. the login cookie, with a same-origin check on top (CSRF: the browser attaches it itself);
 * 3. a loopback peer addressing this computer by a local name, when the request did not come
 *    through a proxy (no forwarding header, no `--trust-proxy`, no `--require-token`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { LOGIN_PAGE_PATH, LoginLinkRequestSchema, LoginRequestSchema, parseWith, type LoginLinkResponse, type LoginResponse, type LogoutResponse } from '../protocol/index.ts';
import { randomBytes, toBase64Url } from '../crypto/index.ts';
import { bearerToken, hostHeaderName, isLocalHostName, isLoopbackAddress, readJsonRequest, sendError, sendJson, tokensEqual } from './httpIo.ts';
import type { Logger } from '../log/index.ts';
import { crossSiteRefusal, hasProxyHeaders, isHttpsRequest, loginCookie, loginCookieHeader, originOf, requestOrigin } from './professorAccess.ts';
import type { ValidatorStore } from './ValidatorStore.ts';

/** How long a login link works (a new one: `rollcall login-link`). */
export const DEFAULT_LOGIN_LINK_MINUTES = 15;
/** How long a dashboard login lasts: a teaching day. */
export const LOGIN_SECONDS = 12 * 3600;

const LoginSchema = LoginRequestSchema;
const LoginLinkSchema = LoginLinkRequestSchema;

const LINK_REFUSALS = {
  used: ['login_link_used', 'this login link was already used (each works once): run `rollcall login-link` for a new one'],
  expired: ['login_link_expired', 'this login link has expired: run `rollcall login-link` for a new one'],
  unknown: ['login_link_unknown', 'this is not a login link of this Rollcall: use the link `rollcall start` or `rollcall login-link` printed'],
} as const;

export interface ProfessorAuthOptions {
  store: ValidatorStore;
  adminToken: string;
  logger: Logger;
  clock: () => number;
  /** Refuse loopback peers without credentials (`--require-token`). */
  requireToken: boolean;
  /** Every request came through a reverse proxy; believe its X-Forwarded-Proto/Host (`--trust-proxy`). */
  trustProxy: boolean;
  /** Host names (besides localhost ones) a loopback peer may use. */
  trustedHostNames: () => readonly string[];
  /** Base of the public URL (login links are made on it; its origin is one of ours). */
  appBaseUrl: () => string;
}

/** A new login link: the URL to open once, and when it stops working. */
export interface LoginLink {
  url: string;
  expiresAtMs: number;
}

/** Secrets and login ids are stored as SHA-256: a copy of validator.db opens nothing. */
function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function isStateChanging(req: IncomingMessage): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET');
}

export class ProfessorAuth {
  readonly #options: ProfessorAuthOptions;

  constructor(options: ProfessorAuthOptions) {
    this.#options = options;
  }

  /** Whether the request may use a professor route; otherwise answers 403 and returns false. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const token = bearerToken(req);
    if (token !== undefined) {
      if (tokensEqual(token, this.#options.adminToken)) return true;
      sendError(res, 403, 'bad_token', 'the admin token is wrong: use the token printed when Rollcall started (also in the data folder, file admin-token)');
      return false;
    }
    const cookie = loginCookie(req.headers);
    const hasLogin = cookie !== undefined && this.#options.store.professorLoginExpiry(hashOf(cookie), this.#options.clock()) !== undefined;
    if (hasLogin || this.#isTrustedLoopback(req)) {
      const refusal = this.#crossSiteRefusal(req, hasLogin);
      if (refusal === undefined) return true;
      sendError(res, 403, 'cross_site', `refused as a cross-site request (${refusal}): use the dashboard’s own page, or send Authorization: Bearer <admin token>`);
      return false;
    }
    if (cookie !== undefined) {
      sendError(res, 403, 'login_expired', 'your dashboard login has ended (logged out or expired): open a new login link (run `rollcall login-link`)');
    } else if (this.#options.requireToken) {
      sendError(res, 403, 'token_required', 'this is a professor route: send Authorization: Bearer <admin token>, or log in to the dashboard with a login link (`rollcall login-link`)');
    } else {
      sendError(res, 403, 'professor_only', 'this is a professor route: use it on the professor’s computer (localhost), open the dashboard login link (`rollcall login-link`), or send Authorization: Bearer <admin token>');
    }
    return false;
  }

  /** Makes a one-time login link valid for `minutes`. The secret is in the URL's fragment only. */
  newLoginLink(minutes = DEFAULT_LOGIN_LINK_MINUTES): LoginLink {
    const nowMs = this.#options.clock();
    const secret = toBase64Url(randomBytes(32));
    const expiresAtMs = nowMs + Math.round(minutes * 60_000);
    this.#options.store.insertLoginLink(hashOf(secret), nowMs, expiresAtMs);
    this.#options.store.audit({ atMs: nowMs, actor: 'professor', action: 'login_link', detail: { expires_at: expiresAtMs } });
    return { url: `${this.#options.appBaseUrl()}${LOGIN_PAGE_PATH}#${secret}`, expiresAtMs };
  }

  /** `POST /login_link` (professor): a new link, for the CLI's `rollcall login-link`. */
  async loginLinkRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonRequest(req, res);
    if (body === undefined) return;
    const request = parseWith(LoginLinkSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const link = this.newLoginLink(request.value.expires_minutes);
    sendJson(res, 201, { login_url: link.url, expires_at: link.expiresAtMs } satisfies LoginLinkResponse);
  }

  /** `POST /login` (public): spends a login link's secret and sets the login cookie. */
  async loginRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = crossSiteRefusal(req.headers, false, this.#ownOrigins(req));
    if (refusal !== undefined) {
      req.resume();
      return sendError(res, 403, 'cross_site', `refused as a cross-site request (${refusal}): open the login link itself`);
    }
    const body = await readJsonRequest(req, res);
    if (body === undefined) return;
    const request = parseWith(LoginSchema, body);
    if (!request.ok) return sendError(res, 400, 'invalid_request', request.error);
    const nowMs = this.#options.clock();
    const loginId = toBase64Url(randomBytes(32));
    const expiresAtMs = nowMs + LOGIN_SECONDS * 1000;
    const outcome = this.#options.store.redeemLoginLink(hashOf(request.value.secret), { idHash: hashOf(loginId), expiresAtMs }, nowMs);
    if (outcome !== 'ok') {
      this.#options.logger.warn('login link refused', { outcome });
      const [code, error] = LINK_REFUSALS[outcome];
      return sendError(res, 403, code, error);
    }
    this.#options.store.audit({ atMs: nowMs, actor: 'professor', action: 'login', detail: { expires_at: expiresAtMs } });
    this.#options.logger.info('professor logged in with a login link', { expires_at: new Date(expiresAtMs).toISOString() });
    sendJson(res, 200, { ok: true, expires_at: expiresAtMs } satisfies LoginResponse, { 'set-cookie': loginCookieHeader(loginId, LOGIN_SECONDS, isHttpsRequest(req.headers, this.#isEncrypted(req))) });
  }

  /** `POST /logout` (public): ends the cookie's login and deletes the cookie. */
  logoutRoute(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const cookie = loginCookie(req.headers);
    const refusal = cookie === undefined ? undefined : crossSiteRefusal(req.headers, true, this.#ownOrigins(req));
    if (refusal !== undefined) return sendError(res, 403, 'cross_site', `refused as a cross-site request (${refusal})`);
    const wasLoggedIn = cookie !== undefined && this.#options.store.deleteProfessorLogin(hashOf(cookie));
    if (wasLoggedIn) this.#options.store.audit({ atMs: this.#options.clock(), actor: 'professor', action: 'logout' });
    sendJson(res, 200, { logged_out: wasLoggedIn } satisfies LogoutResponse, { 'set-cookie': loginCookieHeader('', 0, isHttpsRequest(req.headers, this.#isEncrypted(req))) });
  }

  /**
   * CSRF. The login cookie is attached by the browser itself, so every request it authenticates
   * must show it came from one of our origins (a POST must carry the proof). A trusted loopback
   * peer may be a script with no Origin: only a state-changing request that a browser marked as
   * cross-origin is refused.
   */
  #crossSiteRefusal(req: IncomingMessage, isByCookie: boolean): string | undefined {
    if (isByCookie) return crossSiteRefusal(req.headers, isStateChanging(req), this.#ownOrigins(req));
    return isStateChanging(req) ? crossSiteRefusal(req.headers, false, this.#ownOrigins(req)) : undefined;
  }

  /**
   * A loopback peer is the laptop itself only when no proxy stands in between: a proxy on the
   * laptop makes every phone's request loopback. The Host check stops DNS rebinding: a web page
   * whose name resolves to 127.0.0.1 is a loopback peer too, but it cannot make the browser send
   * Host: localhost.
   */
  #isTrustedLoopback(req: IncomingMessage): boolean {
    if (this.#options.requireToken || this.#options.trustProxy || hasProxyHeaders(req.headers)) return false;
    const host = hostHeaderName(req.headers.host);
    const isLocalName = isLocalHostName(host) || (host !== undefined && this.#options.trustedHostNames().includes(host));
    return isLoopbackAddress(req.socket.remoteAddress) && isLocalName;
  }

  /** The origins our own pages have: the one this request addressed, and the public URL's. */
  #ownOrigins(req: IncomingMessage): string[] {
    const origins = [requestOrigin(req.headers, this.#isEncrypted(req), this.#options.trustProxy), originOf(this.#options.appBaseUrl())];
    return origins.filter((origin): origin is string => origin !== undefined);
  }

  #isEncrypted(req: IncomingMessage): boolean {
    return (req.socket as { encrypted?: boolean }).encrypted === true;
  }
}
