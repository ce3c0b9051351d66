import { escapeControlCharacters } from '../protocol/index.ts';

/** One-line log records to stderr. Callers never pass secrets, tokens or request bodies. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Peer text (paths, room names, refusal reasons) reaches these lines: control characters are written out, never emitted. */
function line(level: string, component: string, message: string, fields?: Record<string, unknown>): string {
  const parts = [new Date().toISOString(), level, component, escapeControlCharacters(message.replace(/[\r\n]+/g, ' '))];
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    parts.push(`${key}=${escapeControlCharacters(text.replace(/[\s"]+/g, '_').slice(0, 200))}`);
  }
  return parts.join(' ') + '\n';
}

export function stderrLogger(component = 'validator'): Logger {
  return {
    info: (message, fields) => void process.stderr.write(line('info', component, message, fields)),
    warn: (message, fields) => void process.stderr.write(line('warn', component, message, fields)),
    error: (message, fields) => void process.stderr.write(line('error', component, message, fields)),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
