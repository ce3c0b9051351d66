/**
 * How CLI commands talk to a running Rollcall over HTTP: the server URL, the admin token
 * (flag, environment, or the data folder's token file), and errors a person can act on.
 */
import type { z } from 'zod';
import { parseWith } from '../protocol/index.ts';
import { readAdminToken } from '../validator/index.ts';

export interface ServerOptions {
  server: string;
  token?: string;
  data: string;
}

/** A failure the CLI reports in one line and exits 1 on; never a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

/** --token, else ROLLCALL_ADMIN_TOKEN, else `<data>/admin-token`, else none (loopback needs none). */
export function resolveToken(options: ServerOptions): string | undefined {
  return options.token ?? process.env.ROLLCALL_ADMIN_TOKEN ?? readAdminToken(options.data);
}

export interface ApiAnswer {
  status: number;
  contentType: string;
  text: string;
  /** The body as it came (an .xlsx file is not text). */
  bytes: Uint8Array;
  json?: unknown;
}

export async function apiRequest(options: ServerOptions, method: 'GET' | 'POST', path: string, body?: unknown, accept = 'application/json'): Promise<ApiAnswer> {
  const token = resolveToken(options);
  const url = new URL(path, options.server.endsWith('/') ? options.server : `${options.server}/`);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        accept,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    throw new CliError(`cannot reach Rollcall at ${options.server}: is \`rollcall start\` running there? (use --server to point elsewhere)`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  const contentType = response.headers.get('content-type') ?? '';
  let json: unknown;
  if (contentType.includes('application/json')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.status, contentType, text, bytes, ...(json !== undefined ? { json } : {}) };
}

/** Throws a CliError carrying the server's own explanation unless the answer is 2xx. */
export function expectOk(answer: ApiAnswer, what: string): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const message = (answer.json as { error?: unknown } | undefined)?.error;
  throw new CliError(`${what} failed (HTTP ${answer.status}): ${typeof message === 'string' ? message : answer.text.slice(0, 200)}`);
}

/**
 * The answer's body read with its protocol/api.ts schema, after {@link expectOk}: a CliError
 * naming the field when the server answered something else (another program on the port, or a
 * Rollcall too old for this command).
 */
export function parseAnswer<T>(answer: ApiAnswer, schema: z.ZodType<T>, what: string): T {
  expectOk(answer, what);
  const parsed = parseWith(schema, answer.json);
  if (!parsed.ok) throw new CliError(`${what}: the server's answer is not what this rollcall expects (${parsed.error}); is it a Rollcall of the same version?`);
  return parsed.value;
}
