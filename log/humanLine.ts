/**
 * The terminal format: pino's JSON record back as one line a person reads,
 * `<ISO time> <level> <component> <message> key=value…`. A tiny formatter rather than
 * pino-pretty (a dozen dependencies for one line). Strings were made inert before pino saw
 * them; they are escaped again here, so nothing a record holds can reach the terminal raw.
 */
import { escapeControlCharacters } from '../protocol/index.ts';

const HEAD_KEYS = new Set(['time', 'level', 'component', 'msg']);

function fieldText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // One token per field: a space or quote in peer text must not forge a `key=value` of its own.
  return escapeControlCharacters(text.replace(/[\s"]+/g, '_'));
}

/** One JSON record line (pino's output) as a human line; a line that is not JSON passes escaped. */
export function humanLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return `${escapeControlCharacters(jsonLine.trimEnd())}\n`;
  }
  const parts = [record.time, record.level, record.component, record.msg].map((part) => escapeControlCharacters(String(part ?? '')));
  for (const [key, value] of Object.entries(record)) {
    if (!HEAD_KEYS.has(key) && value !== undefined) parts.push(`${escapeControlCharacters(key)}=${fieldText(value)}`);
  }
  return `${parts.join(' ')}\n`;
}
