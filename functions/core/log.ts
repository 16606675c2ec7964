/**
 * The logging surface connectors and flows use. Powertools' Logger satisfies it in Lambda; tests can
 * pass `silentLog` or capture lines. Never pass secret values in `extra`.
 */
import { redactDeep } from './errors.ts';

export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** A Log that records lines, for tests and the demo. */
export function memoryLog(): Log & {
  lines: { level: string; message: string; extra?: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) => {
    lines.push({ level, message, extra });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A Log that removes every registered credential (errors.ts `rememberCredential`: the keys and
 * tokens the HTTP clients hold or were issued) from the message and the extras: the second line of
 * defence behind each client's own redaction. The Lambda handlers and the sandbox log through it.
 */
export function redactingLog(log: Log): Log {
  const at =
    (write: Log['info']) =>
    (message: string, extra?: Record<string, unknown>): void =>
      extra === undefined ? write(redactDeep(message)) : write(redactDeep(message), redactDeep(extra));
  return {
    debug: at(log.debug.bind(log)),
    info: at(log.info.bind(log)),
    warn: at(log.warn.bind(log)),
    error: at(log.error.bind(log)),
  };
}
