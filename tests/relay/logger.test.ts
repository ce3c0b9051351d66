/**
 * The relay's log lines reach the professor's terminal: peer-controlled text in them (request
 * paths, room names, refusal reasons quoting a peer's keys) must not carry terminal escapes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stderrLogger } from '../../relay/logger.ts';

afterEach(() => vi.restoreAllMocks());

function capture(log: () => void): string {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  log();
  return lines.join('');
}

describe('relay stderrLogger', () => {
  it('escapes C0, C1, DEL and bidi controls in the message and in fields, as \\u001b', () => {
    const hostile = 'a\u001b]0;pwned\u0007b\u009b31m\u007f\u202eevil\u2066';
    const line = capture(() => stderrLogger().warn(`refused R2: ${hostile}`, { path: `/sync/${hostile}`, room: hostile }));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(line).toContain('a\\u001b]0;pwned\\u0007b\\u009b31m\\u007f\\u202eevil\\u2066');
    expect(line).toContain('path=/sync/a\\u001b]0;pwned');
  });

  it('leaves ordinary text, accents included, as it is', () => {
    const line = capture(() => stderrLogger().info('room loaded', { room: 'José-Ω', rows: 3 }));
    expect(line).toMatch(/ info relay room loaded room=José-Ω rows=3\n$/);
  });
});
