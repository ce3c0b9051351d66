/**
 * The one logger (log/): its lines reach the professor's terminal and the operator's log store.
 * Peer-controlled text in them (request paths, room names, refusal reasons quoting a peer's
 * keys, a relay's close reasons) must not carry terminal escapes in either format, and fields
 * named like credentials never carry their values.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, resolveLogFormat, type LogFormat } from '../../log/index.ts';

afterEach(() => vi.restoreAllMocks());

/** What the logger wrote to process.stderr (its default destination) while `log` ran. */
function capture(log: () => void): string {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  log();
  return lines.join('');
}

const HOSTILE = 'a\u001b]0;pwned\u0007b\u009b31m\u007f\u202eevil\u2066';
const ESCAPED = 'a\\u001b]0;pwned\\u0007b\\u009b31m\\u007f\\u202eevil\\u2066';
const RAW_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

describe.each(['json', 'pretty'] as LogFormat[])('createLogger, %s format', (format) => {
  it('escapes C0, C1, DEL and bidi controls in the message and in fields (nested too), as \\u001b', () => {
    const output = capture(() =>
      createLogger({ component: 'relay', format }).warn(`refused R2: ${HOSTILE}\nforged line`, { path: `/sync/${HOSTILE}`, room: HOSTILE, peer: { reason: HOSTILE } }),
    );
    expect(output.split('\n')).toHaveLength(2);
    expect(output.endsWith('\n')).toBe(true);
    expect(output.slice(0, -1)).not.toMatch(RAW_CONTROLS);
    if (format === 'json') {
      // JSON shows each escape's backslash doubled: what a reader of the record gets is the escape's text.
      const record = JSON.parse(output) as Record<string, unknown>;
      expect(record.msg).toBe(`refused R2: ${ESCAPED} forged line`);
      expect(record.path).toBe(`/sync/${ESCAPED}`);
      expect(record.peer).toEqual({ reason: ESCAPED });
    } else {
      expect(output).toContain(`refused R2: ${ESCAPED} forged line`);
      expect(output).toContain(`path=/sync/${ESCAPED}`);
    }
  });

  it('redacts credentials by field name at any of the first three levels, and keeps the rest', () => {
    const output = capture(() =>
      createLogger({ component: 'validator', format }).info('request', {
        token: 'tok-1111',
        code: '7QX2M-K9D4T-A1B8C-ZP3RW',
        headers: { authorization: 'Bearer tok-2222', cookie: 'c=tok-3333' },
        req: { body: { secret: 'tok-4444' } },
        status: 200,
      }),
    );
    expect(output).not.toMatch(/tok-\d{4}|7QX2M/);
    expect(output).toContain('[redacted]');
    expect(output).toContain(format === 'json' ? '"status":200' : 'status=200');
  });

  it('leaves ordinary text, accents included, as it is, and names the component', () => {
    const output = capture(() => createLogger({ component: 'relay', format }).info('room loaded', { room: 'José-Ω', rows: 3 }));
    if (format === 'json') {
      expect(JSON.parse(output)).toMatchObject({ level: 'info', component: 'relay', msg: 'room loaded', room: 'José-Ω', rows: 3, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    } else {
      expect(output).toMatch(/^\d{4}-\d\d-\d\dT\S+ info relay room loaded room=José-Ω rows=3\n$/);
    }
  });
});

describe('resolveLogFormat', () => {
  it('is JSON when stderr is not a terminal, human lines on a terminal, and what --log-format says otherwise', () => {
    expect(resolveLogFormat('auto', { isTTY: false })).toBe('json');
    expect(resolveLogFormat(undefined, {})).toBe('json');
    expect(resolveLogFormat('auto', { isTTY: true })).toBe('pretty');
    expect(resolveLogFormat('json', { isTTY: true })).toBe('json');
    expect(resolveLogFormat('pretty', { isTTY: false })).toBe('pretty');
  });
});
