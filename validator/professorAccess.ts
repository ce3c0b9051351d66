/**
 * Who is asking, read from a request's headers, as pure functions (table-tested in
 * tests/validator/professorAccess.test.ts): did it come through a reverse proxy, which origin
 * did the browser address, is it a cross-site request, and the dashboard's login cookie.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The dashboard login cookie (docs/http-api.md "Dashboard login"). */
export const LOGIN_COOKIE_NAME = 'rollcall_professor';

/**
 * Whether the request came through a reverse proxy: every common proxy adds one of these
 * (nginx with `proxy_set_header`, Caddy and Traefik by default). Such a request has a loopback
 * peer when the proxy runs on the laptop, yet it may come from any phone: loopback proves
 * nothing. A proxy that adds none of them needs `--trust-proxy`.
 */
export function hasProxyHeaders(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some((name) => name === 'forwarded' || name === 'x-real-ip' || name.startsWith('x-forwarded-'));
}

/** The first value of a header that a proxy may have appended to (`a, b`). */
function firstValue(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  const first = text?.split(',')[0]?.trim();
  return first ? first : undefined;
}

/** `proto` or `host` of the first element of a `Forwarded` header (RFC 7239). */
function forwardedParameter(headers: IncomingHttpHeaders, name: 'proto' | 'host'): string | undefined {
  const element = firstValue(headers.forwarded);
  const match = element ? new RegExp(`(?:^|;)\\s*${name}=("?)([^";]+)\\1`, 'i').exec(element) : null;
  return match?.[2]?.trim();
}

/** The scheme a proxy says the browser used (`X-Forwarded-Proto`, else `Forwarded: proto=`). */
export function forwardedProto(headers: IncomingHttpHeaders): string | undefined {
  return (firstValue(headers['x-forwarded-proto']) ?? forwardedParameter(headers, 'proto'))?.toLowerCase();
}

/**
 * The origin the browser addressed: the socket's scheme and the Host header, or, behind a
 * proxy we were told to trust (`--trust-proxy`), the scheme and host it forwards.
 */
export function requestOrigin(headers: IncomingHttpHeaders, isEncrypted: boolean, trustProxy: boolean): string | undefined {
  const proto = (trustProxy ? forwardedProto(headers) : undefined) ?? (isEncrypted ? 'https' : 'http');
  const host = (trustProxy ? (firstValue(headers['x-forwarded-host']) ?? forwardedParameter(headers, 'host')) : undefined) ?? headers.host;
  if (!host || !/^https?$/.test(proto)) return undefined;
  return originOf(`${proto}://${host}`);
}

/** `scheme://host[:port]` of a URL (default port dropped, lowercase), or undefined. */
export function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether the login cookie must be `Secure`: the browser reached us over HTTPS, as the socket
 * says or as a proxy says. A client that lies "https" over plain HTTP only makes its own cookie
 * stricter (its browser will not store it), so the proxy's word is taken even without
 * `--trust-proxy`: the stricter cookie is never the wrong one to send.
 */
export function isHttpsRequest(headers: IncomingHttpHeaders, isEncrypted: boolean): boolean {
  return isEncrypted || forwardedProto(headers) === 'https';
}

/**
 * Why a cookie-authenticated request must be refused as cross-site (CSRF), or undefined.
 * The browser attaches the cookie itself, so a page on another origin could make the
 * professor's browser send it; SameSite=Strict stops other *sites*, but another port or a
 * sibling subdomain is the same site. Browsers mark each request with `Sec-Fetch-Site` and
 * `Origin`, which no page can forge:
 * - `Sec-Fetch-Site`, when present, must be `same-origin` (or `none`: typed or bookmarked, for
 *   reads only);
 * - `Origin`, when present, must be one of `ownOrigins`;
 * - a state-changing request must carry at least one of the two: a browser always sends
 *   `Origin` on a POST, so a cookie without either did not come from our own page.
 */
export function crossSiteRefusal(headers: IncomingHttpHeaders, isStateChanging: boolean, ownOrigins: readonly string[]): string | undefined {
  const fetchSite = firstValue(headers['sec-fetch-site'])?.toLowerCase();
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && !(fetchSite === 'none' && !isStateChanging)) {
    return `the browser marked this request Sec-Fetch-Site: ${fetchSite}`;
  }
  if (origin !== undefined && !ownOrigins.includes(origin.toLowerCase())) return `the request comes from another origin (${origin.slice(0, 100)})`;
  if (isStateChanging && fetchSite === undefined && origin === undefined) return 'the request carries neither Origin nor Sec-Fetch-Site';
  return undefined;
}

/** The login cookie's value, if the request carries one that looks like ours. */
export function loginCookie(headers: IncomingHttpHeaders): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, value] = part.split('=', 2).map((text) => text.trim());
    if (name === LOGIN_COOKIE_NAME && value && /^[A-Za-z0-9_-]{32,64}$/.test(value)) return value;
  }
  return undefined;
}

/**
 * The `Set-Cookie` value of a dashboard login: `HttpOnly` (page scripts never see it),
 * `SameSite=Strict` (other sites' pages never send it), `Secure` on HTTPS, whole-site path
 * (the API routes are at the root). An empty value with `Max-Age=0` deletes it.
 */
export function loginCookieHeader(value: string, maxAgeSeconds: number, isSecure: boolean): string {
  return [`${LOGIN_COOKIE_NAME}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Strict', ...(isSecure ? ['Secure'] : [])].join('; ');
}
