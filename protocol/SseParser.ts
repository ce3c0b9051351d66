/**
 * A server-sent events parser (the WHATWG "event stream" format, for `GET /events`) for clients
 * that read the stream with fetch() rather than EventSource: the dashboard (it must send the
 * admin token as a header, which EventSource cannot) and tests. Feed it text as it arrives, in
 * any chunks; it calls back once per complete event. Comments (heartbeats) produce no event.
 */
export interface SseEvent {
  /** `event:` (default "message"). */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  /** `id:`, when the event had one. */
  id?: string;
}

export class SseParser {
  readonly #onEvent: (event: SseEvent) => void;
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;

  constructor(onEvent: (event: SseEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** Takes the next chunk of the stream's text. */
  push(text: string): void {
    this.#buffer += text;
    let end: number;
    while ((end = this.#buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.#buffer.slice(0, end);
      const breakLength = this.#buffer.startsWith('\r\n', end) ? 2 : 1;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (this.#buffer[end] === '\r' && breakLength === 1 && end === this.#buffer.length - 1) break;
      this.#buffer = this.#buffer.slice(end + breakLength);
      this.#line(line);
    }
  }

  #line(line: string): void {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
  }

  #dispatch(): void {
    if (this.#data.length > 0) {
      this.#onEvent({ event: this.#event || 'message', data: this.#data.join('\n'), ...(this.#id !== undefined ? { id: this.#id } : {}) });
    }
    this.#event = '';
    this.#data = [];
  }
}
