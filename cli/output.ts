/**
 * How the CLI speaks: aligned tables for people, `--json` for scripts, times as "3m ago", and a
 * progress bar (counts, rate, ETA) on stderr for long work, so stdout stays clean for pipes.
 */
import cliProgress from 'cli-progress';
import { MAX_RATE_PER_SECOND } from '../operator/replay.ts';
import { hasTimeWithoutZone, NO_ZONE_HINT } from '../operator/time.ts';

/** Where a command writes (process streams in the CLI; buffers in tests and the demo). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Draw live progress bars (stderr is a terminal); otherwise progress is a few plain lines. */
  interactive: boolean;
  /** Terminal width for tables (long cells are cut to fit). */
  columns: number;
}

export const processIo = (): Io => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  columns: process.stdout.columns ?? 160,
});

/** An Io that keeps what it was given (tests, the demo's own printing). */
export function bufferIo(columns = 160): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    interactive: false,
    columns,
  };
}

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** Cut to fit the terminal (the widest text column, e.g. a message). */
  flexible?: boolean;
}

/**
 * An aligned table; the flexible column is cut so a row fits `width`. A row may carry a `detail`
 * (a message, a reason): printed whole on the line below it, indented, where no column cuts it.
 */
export function table(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width = 160,
  details?: readonly (string | undefined)[],
): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const flexible = columns.findIndex((c) => c.flexible);
  const total = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  if (flexible >= 0 && total > width) {
    const header = columns[flexible]?.header.length ?? 0;
    widths[flexible] = Math.max(header, (widths[flexible] ?? 0) - (total - width), 20);
  }
  const cell = (text: string, i: number) => {
    const w = widths[i] ?? 0;
    const cut = text.length > w ? `${text.slice(0, Math.max(0, w - 1))}…` : text;
    return columns[i]?.right ? cut.padStart(w) : cut.padEnd(w);
  };
  const line = (r: readonly string[]) =>
    r
      .map((t, i) => cell(t ?? '', i))
      .join('  ')
      .trimEnd();
  const body = rows.map((r, i) => {
    const detail = details?.[i];
    return detail
      ? `${line(r)}\n${wrap(detail, width - 4)
          .map((l) => `    ${l}`)
          .join('\n')}`
      : line(r);
  });
  return `${[line(columns.map((c) => c.header)), ...body].join('\n')}\n`;
}

/** Break text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const max = Math.max(20, width);
  const lines: string[] = [];
  let rest = text.replace(/\s+/g, ' ').trim();
  while (rest.length > max) {
    const cut = rest.lastIndexOf(' ', max);
    const at = cut > max / 2 ? cut : max;
    lines.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  if (rest) lines.push(rest);
  return lines;
}

/** `42s`, `5m`, `3h 20m`, `2d 4h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`.replace(/ 0m$/, '');
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`.replace(/ 0h$/, '');
}

/** `3m ago` (or `in 3m` for a future time). */
export function ago(iso: string | undefined, now: Date): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const seconds = (now.getTime() - t) / 1000;
  return seconds >= 0 ? `${duration(seconds)} ago` : `in ${duration(-seconds)}`;
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `2h`, `30m`, `7d` (that long before `now`), `now`, or an ISO time; a specific error otherwise. */
export function parseTime(text: string, now: Date, option = 'time'): Date {
  if (text === 'now') return now;
  const relative = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (relative) {
    return new Date(now.getTime() - Number(relative[1]) * (UNITS[relative[2] ?? 's'] ?? 1) * 1000);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(text) || !realDay(text)) {
    throw new InputError(
      `${option}: "${text}" is neither a duration (30m, 2h, 7d) nor an ISO time (2026-12-06T08:00:00Z)`,
    );
  }
  if (hasTimeWithoutZone(text)) {
    throw new InputError(`${option}: "${text}" ${NO_ZONE_HINT}`);
  }
  return new Date(t);
}

/** Is the `YYYY-MM-DD` the text starts with a day of the calendar? Date.parse rolls 2026-02-30 into March. */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** `10`, `10/s` or `0.5/s`: events per second, > 0. */
export function parseRate(text: string, option = '--rate'): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text.trim());
  const rate = m ? Number(m[1]) : Number.NaN;
  if (!(rate > 0) || rate > MAX_RATE_PER_SECOND) {
    throw new InputError(
      `${option}: "${text}" is not a rate between 0 and ${MAX_RATE_PER_SECOND} per second (e.g. 10/s)`,
    );
  }
  return rate;
}

export function parseLimit(text: string, option = '--limit'): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new InputError(`${option}: "${text}" is not a whole number from 1 to 10000`);
  }
  return n;
}

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/**
 * A progress bar with counts, rate and ETA on stderr; without a terminal, a plain line at every
 * quarter so logs show progress without control characters.
 */
export function progress(io: Io, label: string, total: number): Progress {
  if (io.interactive) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} | {percentage}% | {speed}/s | ETA {eta_formatted}`,
        stream: { write: (t: string) => io.err(t), isTTY: true, columns: io.columns } as never,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    bar.start(total, 0, { speed: '0' });
    return {
      update: (done, newTotal) => {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(done, { speed: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1) });
      },
      stop: () => bar.stop(),
    };
  }
  let reported = -1;
  let last = 0;
  let size = total;
  const started = Date.now();
  return {
    update: (done, newTotal) => {
      if (newTotal !== undefined) size = newTotal;
      last = done;
      const quarter = size > 0 ? Math.floor((4 * done) / size) : 0;
      if (quarter > reported && done < size) {
        reported = quarter;
        const elapsed = (Date.now() - started) / 1000;
        const eta = done > 0 ? duration((elapsed / done) * (size - done)) : '?';
        io.err(`${label}: ${done}/${size} (ETA ${eta})\n`);
      }
    },
    stop: () => io.err(`${label}: ${last}/${size} done in ${duration((Date.now() - started) / 1000)}\n`),
  };
}
