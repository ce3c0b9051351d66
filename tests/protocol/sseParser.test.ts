import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../protocol/SseParser.ts';

function parse(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

describe('SseParser', () => {
  it('reads id, event and data, and ignores comments (heartbeats)', () => {
    expect(parse(['retry: 2000\n\n: heartbeat\n\nid: 7\nevent: change\ndata: {"kind":"session"}\n\n'])).toEqual([{ id: '7', event: 'change', data: '{"kind":"session"}' }]);
  });

  it('gives the same events however the text is cut, CRLF and CR included', () => {
    const text = 'event: hello\r\ndata: {"a":1}\r\n\r\nevent: relay\rdata: x\rdata: y\r\r\n';
    const whole = parse([text]);
    expect(whole).toEqual([
      { event: 'hello', data: '{"a":1}' },
      { event: 'relay', data: 'x\ny' },
    ]);
    for (let cut = 1; cut < text.length; cut++) expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(parse([...text])).toEqual(whole);
  });

  it('dispatches nothing for an event that is not finished by a blank line, nor for one without data', () => {
    expect(parse(['event: change\n\n', 'event: change\ndata: 1\n'])).toEqual([]);
  });
});
