/**
 * The one logger of every Node part (relay, validator, CLI): structured records through pino,
 * JSON lines for machines (not a terminal, or `--log-format json`), one human line per record
 * on a terminal. Parts take a `Logger` (info/warn/error with fields) and never build one from
 * the environment: the CLI decides the format and passes loggers down.
 *
 * Two promises hold in both formats:
 * - **Peer text stays inert.** Request paths, room names and refusal reasons come from peers;
 *   every string (message and field values, nested too) has its control characters written as
 *   `\u001b`-style text (`escapeControlCharacters`), so neither a terminal nor a log viewer that
 *   prints a JSON string raw can be driven by them. JSON alone would leave C1, DEL, bidi and
 *   line separators raw.
 * - **Secrets never reach a line.** Fields named like a credential (`token`, `secret`, `code`,
 *   `authorization`, …, at any of the first three levels) are replaced by `[redacted]` by
 *   pino's redaction. Callers still never put a secret in a message.
 */
import { pino, type DestinationStream, type LevelWithSilent } from 'pino';
import { escapeControlCharacters } from '../protocol/index.ts';
import { humanLine } from './humanLine.ts';

/** One record per call; `fields` are flat facts (ids, counts, a reason), never secrets or bodies. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** `json`: one JSON object per line; `pretty`: `<ISO time> <level> <component> <message> key=value…`. */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormatChoice = (typeof LOG_FORMATS)[number];

/** Where records go: anything with a `write(line)` (default: process.stderr, looked up per line). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** The part writing: `relay`, `validator`, `follower`, `cli`. */
  component: string;
  format?: LogFormat;
  destination?: LogDestination;
}

/** Field names whose values are credentials. `code` is an enrolment code wherever it is logged. */
const SECRET_KEYS = ['token', 'admin_token', 'adminToken', 'secret', 'secretKey', 'secret_key', 'code', 'enrolment_code', 'authorization', 'cookie', 'password'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** Longest string kept in a field (a peer's reason or path cannot flood the log). */
const MAX_FIELD_CHARS = 200;
const MAX_MESSAGE_CHARS = 1000;
const MAX_DEPTH = 4;

/** `auto` is JSON unless `stream` is a terminal. */
export function resolveLogFormat(choice: LogFormatChoice | undefined, stream: { isTTY?: boolean } = process.stderr): LogFormat {
  if (choice === 'json' || choice === 'pretty') return choice;
  return stream.isTTY ? 'pretty' : 'json';
}

function inert(text: string, maxChars: number): string {
  return escapeControlCharacters(text.length > maxChars ? `${text.slice(0, maxChars)}…` : text);
}

/** A copy of `value` with every string made inert and shortened; undefined fields dropped. */
function inertFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return inert(value, MAX_FIELD_CHARS);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => inertFields(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) copy[inert(key, MAX_FIELD_CHARS)] = inertFields(field, depth + 1);
  }
  return copy;
}

const stderr: LogDestination = { write: (line) => process.stderr.write(line) };

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? stderr;
  const format = options.format ?? resolveLogFormat('auto');
  const sink: DestinationStream = format === 'json' ? { write: (line) => void destination.write(line) } : { write: (line) => void destination.write(humanLine(line)) };
  const log = pino(
    {
      base: { component: options.component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    sink,
  );
  const write = (level: Exclude<LevelWithSilent, 'silent'>) => (message: string, fields?: Record<string, unknown>) => {
    log[level](inertFields(fields ?? {}) as Record<string, unknown>, inert(message.replace(/[\r\n]+/g, ' '), MAX_MESSAGE_CHARS));
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}

/** Drops every record (tests, embedded uses that log elsewhere). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
