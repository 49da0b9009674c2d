/**
 * Structured JSON logs, one line per entry, carrying the request id. A few lines of our own instead of a
 * logging library: the handlers need only leveled JSON lines, and every kilobyte in the bundle is paid
 * at each cold start. Callers pass facts (ids, codes, counts), never API keys or instance values.
 */
import { keepsLine, writeLine } from './log-output';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(service: string, base: Record<string, unknown> = {}): Logger {
  const write = (level: Level, message: string, fields?: Record<string, unknown>) => {
    const kind = level === 'DEBUG' ? 'INFO' : level;
    if (!keepsLine(kind)) return;
    const line = JSON.stringify({ timestamp: new Date().toISOString(), level, service, message, ...base, ...fields }, errorReplacer);
    writeLine(line, kind);
  };
  return {
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARN', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (fields) => createLogger(service, { ...base, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
