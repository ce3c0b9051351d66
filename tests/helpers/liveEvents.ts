/** A test's reader of `GET /events` (protocol/SseParser.ts, as the dashboard reads it). */
import { SseParser, type SseEvent } from '../../protocol/SseParser.ts';
import { waitFor } from './processes.ts';

export interface EventReader {
  status: number;
  contentType: string;
  /** The refusal's JSON body, when the stream was refused. */
  refusal?: { error: string; code: string };
  /** Every event heard so far, in order. */
  readonly events: SseEvent[];
  /** Raw text heard so far (comments included). */
  text(): string;
  /** Waits for the first event at or after index `from` that `match` accepts. */
  next(match: (event: SseEvent) => boolean, options?: { from?: number; timeoutMs?: number; message?: string }): Promise<SseEvent>;
  close(): void;
}

export async function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventReader> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  let raw = '';
  const reader: EventReader = {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    events,
    text: () => raw,
    next: (match, { from = 0, timeoutMs = 10_000, message = 'an event' } = {}) =>
      waitFor(() => events.slice(from).find(match), { timeoutMs, message }),
    close: () => controller.abort(),
  };
  if (!response.ok) {
    reader.refusal = (await response.json()) as { error: string; code: string };
    return reader;
  }
  const parser = new SseParser((event) => events.push(event));
  void (async () => {
    try {
      const stream = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await stream.read();
        if (done) break;
        raw += value;
        parser.push(value);
      }
    } catch {
      // closed by the test or the server
    }
  })();
  return reader;
}
