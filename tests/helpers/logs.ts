/**
 * A server process's stderr as log records: with stderr a pipe, every part logs JSON lines
 * (log/index.ts). Throws on a line that is not one JSON object, so a test that reads records
 * also checks the format.
 */
export interface LogRecord {
  level: 'info' | 'warn' | 'error';
  time: string;
  component: string;
  msg: string;
  [field: string]: unknown;
}

export function logRecords(stderr: string): LogRecord[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record = JSON.parse(line) as LogRecord;
      if (typeof record !== 'object' || record === null || typeof record.msg !== 'string' || typeof record.component !== 'string') {
        throw new Error(`not a log record: ${line.slice(0, 200)}`);
      }
      return record;
    });
}
