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
