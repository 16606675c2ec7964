/** Compact console logging for the sandbox: one line per event, JSON extras inline. */
import type { Log } from '../functions/core/log.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

export function consoleLog(
  options: { level?: Level; prefix?: string; write?: (line: string) => void } = {},
): Log {
  const min = LEVELS.indexOf(options.level ?? 'info');
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const at =
    (level: Level) =>
    (message: string, extra?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(level) < min) return;
      const time = new Date().toISOString().slice(11, 23);
      const tail = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
      write(
        `${time} ${level.toUpperCase().padEnd(5)} ${options.prefix ? `[${options.prefix}] ` : ''}${message}${tail}`,
      );
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
