/**
 * The logging surface connectors and flows use. Powertools' Logger satisfies it in Lambda; tests can
 * pass `silentLog` or capture lines. Never pass secret values in `extra`.
 */
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
