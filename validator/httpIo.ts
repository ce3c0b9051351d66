/**
 * The small HTTP toolkit of the validator's API: bounded JSON bodies, JSON answers, and who is
 * asking (loopback peer, admin token). Nothing here throws at a caller for bad input: bad input
 * comes back as `{ ok: false, status, error }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constantTimeEqual, utf8Encode } from '../crypto/index.ts';

/** Default body limit of JSON routes; `POST /roster` allows more. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;
/** Past this many bytes of an over-limit body we stop draining politely and close the connection. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

/** A refusal with `shouldClose` must be answered with `Connection: close` (the body will not be read). */
export type BodyResult = { ok: true; value: unknown } | { ok: false; status: number; code: string; error: string; shouldClose?: boolean };

/**
 * Reads a JSON body of at most `limitBytes`. A body declared (Content-Length) over the limit is
 * refused at once, before any of it is read: waiting for it would let a client that declares a
 * terabyte and sends nothing hold the request open. Node discards the body after the answer,
 * so the client still reads the 413 rather than a reset connection; a body declared past the
 * drain cap is not worth discarding, and its connection is closed after the answer. A body
 * without a declared length that grows over the limit is drained (up to the cap) before answering.
 */
export function readJsonBody(req: IncomingMessage, limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<BodyResult> {
  const tooLarge = (): BodyResult => ({ ok: false, status: 413, code: 'body_too_large', error: `request body is larger than ${limitBytes} bytes` });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    return Promise.resolve({ ...tooLarge(), ...(declared > DRAIN_LIMIT_BYTES ? { shouldClose: true } : {}) });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let isTooLarge = false;
    let isDone = false;
    const finish = (result: BodyResult) => {
      if (isDone) return;
      isDone = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) isTooLarge = true;
      if (isTooLarge) {
        chunks.length = 0;
        if (received > DRAIN_LIMIT_BYTES) {
          finish(tooLarge());
          req.pause();
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => finish({ ok: false, status: 400, code: 'body_unreadable', error: 'request body could not be read' }));
    req.on('aborted', () => finish({ ok: false, status: 400, code: 'body_unreadable', error: 'request body was cut off' }));
    req.on('end', () => {
      if (isTooLarge) return finish(tooLarge());
      const text = Buffer.concat(chunks);
      if (text.length === 0) return finish({ ok: false, status: 400, code: 'empty_body', error: 'request body is empty: send a JSON object' });
      let value: unknown;
      try {
        value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(text));
      } catch {
        return finish({ ok: false, status: 400, code: 'bad_json', error: 'request body is not valid JSON' });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return finish({ ok: false, status: 400, code: 'not_an_object', error: 'request body must be a JSON object' });
      }
      finish({ ok: true, value });
    });
  });
}

/**
 * A professor-style JSON body: refused `415` unless `Content-Type: application/json` (an HTML
 * form on another site cannot send that without a CORS preflight, which we never grant), then
 * read as {@link readJsonBody}. Answers the refusal itself and returns undefined.
 */
export async function readJsonRequest(req: IncomingMessage, res: ServerResponse, limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<unknown> {
  if (!isJsonContentType(req)) {
    req.resume();
    sendError(res, 415, 'not_json', 'send the body as JSON with Content-Type: application/json');
    return undefined;
  }
  const body = await readJsonBody(req, limitBytes);
  if (!body.ok) {
    if (body.shouldClose) res.setHeader('connection', 'close');
    sendError(res, body.status, body.code, body.error);
    return undefined;
  }
  return body.value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

export function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  if (res.headersSent || res.writableEnded) return;
  const bytes = utf8Encode(body);
  res.writeHead(status, {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': String(bytes.length),
    ...headers,
  });
  res.end(bytes);
}

/** A 4xx/5xx answer: `{ error, code }` (plus `extra`), a sentence a person can act on. */
export function sendError(res: ServerResponse, status: number, code: string, error: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { error, code, ...extra });
}


/** 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

/** The hostname of a Host header, without port or IPv6 brackets; lowercase. */
export function hostHeaderName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const match = /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:]+)(?::\d+)?$/.exec(host);
  return match?.[1]?.toLowerCase();
}

/** Names that only ever mean this computer. */
export function isLocalHostName(name: string | undefined): boolean {
  if (!name) return false;
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The `Authorization: Bearer <token>` value, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function tokensEqual(given: string, expected: string): boolean {
  return constantTimeEqual(utf8Encode(given), utf8Encode(expected));
}

/** Whether the client prefers JSON (`Accept: application/json`) over the HTML page. */
export function wantsJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

export function isJsonContentType(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

/** The request's query parameters (course names, report formats: never secrets). */
export function queryOf(req: IncomingMessage): URLSearchParams {
  try {
    return new URL(req.url ?? '/', 'http://validator.invalid').searchParams;
  } catch {
    return new URLSearchParams();
  }
}
