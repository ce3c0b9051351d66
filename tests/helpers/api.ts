/** The validator's HTTP API as tests and the benchmark call it (one place for its shapes). */

/** What `POST /create_session` answers (the fields tests use). */
export interface CreatedSession {
  session_id: string;
  course: string;
  payload_b64: string;
  signature: string;
  qr_text: string;
  starts_at: number;
  ends_at: number;
}

/** Creates a session; throws (failing the test) unless the validator answers 201. */
export async function createSession(baseUrl: string, body: Record<string, unknown>): Promise<CreatedSession> {
  const response = await fetch(`${baseUrl}/create_session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`create_session answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as CreatedSession;
}

/** An HTTP answer with its JSON body (or undefined) and lower-case headers. */
export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, any>;
}

/**
 * A JSON request from a chosen loopback source address (any of 127.0.0.0/8 on Linux), so one
 * test process can stand for several client addresses on the direct path.
 */
export async function requestFrom(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  { localAddress = '127.0.0.1', headers = {} }: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<JsonAnswer> {
  const { request } = await import('node:http');
  const url = new URL(path, baseUrl);
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method, localAddress, agent: false, headers: { accept: 'application/json', ...(text ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}), ...headers } },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: answer ? (JSON.parse(answer) as Record<string, any>) : {} }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** `POST /submit_attendance` for `studentId` with a session's QR, from `localAddress`. */
export function submitFrom(baseUrl: string, localAddress: string, studentId: string, qr: Pick<CreatedSession, 'payload_b64' | 'signature'>): Promise<JsonAnswer> {
  return requestFrom(baseUrl, 'POST', '/submit_attendance', { student_id: studentId, payload_b64: qr.payload_b64, signature: qr.signature }, { localAddress });
}

/**
 * A professor request (from loopback, as the dashboard on the laptop) whose answer is parsed with
 * its protocol/api.ts schema: the test fails, naming the field, if the validator answers
 * another shape. Throws unless the status is `expectStatus`.
 */
export async function apiCall<T>(baseUrl: string, method: 'GET' | 'POST', path: string, schema: import('zod').ZodType<T>, body?: unknown, expectStatus = 200): Promise<T> {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (response.status !== expectStatus) throw new Error(`${method} ${path} answered ${response.status}, not ${expectStatus}: ${text.slice(0, 500)}`);
  return schema.parse(JSON.parse(text));
}
