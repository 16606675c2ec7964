/**
 * The console API's input: query strings and JSON bodies read into the operator layer's options,
 * with a 400 naming the bad field. Pure functions (unit tested without a server).
 */
import { MillwrightError } from '../functions/core/errors.ts';
import { DEFAULT_RATE_PER_SECOND, MAX_RATE_PER_SECOND } from '../operator/replay.ts';
import type { RunsQuery } from '../operator/runs.ts';
import { hasTimeWithoutZone, NO_ZONE_HINT } from '../operator/time.ts';

/** A request the API cannot act on: its status (400, 404, 409, 413, 415) and a message for people. */
export class ConsoleApiError extends MillwrightError {
  constructor(
    readonly status: number,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

const bad = (message: string) => new ConsoleApiError(400, message);

export const MAX_RUNS_LIMIT = 200;

/** Where the previous page of runs ended: its last entry's time, and how many entries of that time it showed. */
export interface RunsCursor {
  at: string;
  /** Entries at exactly `at` already shown (ties: the next page skips these). */
  shown: number;
}

export interface RunsParams {
  query: RunsQuery & { limit: number };
  cursor?: RunsCursor;
}

function isoParam(name: string, text: string | null): Date | undefined {
  if (text === null || text === '') return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw bad(`${name}: "${text}" is not an ISO time (e.g. 2026-12-07T06:00:00Z)`);
  if (hasTimeWithoutZone(text)) throw bad(`${name}: "${text}" ${NO_ZONE_HINT}`);
  return new Date(ms);
}

/** `<at>~<shown>` (what `nextCursor` gives), or a bare `<at>` (nothing of that time shown yet). */
export function parseCursor(text: string): RunsCursor {
  const [at = '', shown = '0'] = text.split('~');
  const n = Number(shown);
  if (Number.isNaN(Date.parse(at)) || !Number.isInteger(n) || n < 0) {
    throw bad(`cursor: "${text}" is not a cursor this API gave`);
  }
  return { at: new Date(at).toISOString(), shown: n };
}

export const formatCursor = (cursor: RunsCursor): string => `${cursor.at}~${cursor.shown}`;

/** `GET /api/runs?flow=&outcome=a,b&subject=&since=&until=&limit=&cursor=`. */
export function parseRunsParams(params: URLSearchParams): RunsParams {
  const text = (name: string) => {
    const value = params.get(name)?.trim();
    return value ? value : undefined;
  };
  const limitText = text('limit');
  const limit = limitText === undefined ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RUNS_LIMIT) {
    throw bad(`limit: "${limitText}" is not a whole number from 1 to ${MAX_RUNS_LIMIT}`);
  }
  const outcomes = (text('outcome') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const since = isoParam('since', params.get('since'));
  const until = isoParam('until', params.get('until'));
  if (since && until && since.getTime() >= until.getTime()) throw bad('since must be before until');
  const flowId = text('flow');
  const subject = text('subject');
  const cursorText = text('cursor');
  return {
    query: {
      ...(flowId ? { flowId } : {}),
      ...(subject ? { subject } : {}),
      ...(outcomes.length > 0 ? { outcomes } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      limit,
    },
    ...(cursorText ? { cursor: parseCursor(cursorText) } : {}),
  };
}

/** A JSON body as an object (an empty body is `{}`). */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  return body as Record<string, unknown>;
}

export function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw bad(`${name} must be true or false`);
  return value;
}

export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw bad(`${name} must be a string`);
  return value;
}

export function requiredIso(body: Record<string, unknown>, name: string): Date {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw bad(`${name} is required (an ISO time)`);
  const date = isoParam(name, value);
  return date as Date;
}

/** Sends (or enqueues) per second: the CLI's default and cap (operator/replay.ts). */
export function rateOf(body: Record<string, unknown>): number {
  const value = body.ratePerSecond;
  if (value === undefined) return DEFAULT_RATE_PER_SECOND;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_RATE_PER_SECOND) {
    throw bad(`ratePerSecond must be a number above 0 and at most ${MAX_RATE_PER_SECOND}`);
  }
  return value;
}

/** `{ ids?: string[], all?: boolean }`: exactly one of them. */
export function replayChoice(body: Record<string, unknown>): { ids?: string[]; all?: true } {
  const all = optionalBoolean(body, 'all');
  const ids = body.ids;
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === ''))) {
    throw bad('ids must be a list of event ids (or DLQ message ids)');
  }
  const list = (ids as string[] | undefined) ?? [];
  if (all && list.length > 0) throw bad('name ids or all, not both');
  if (!all && list.length === 0) throw bad('name the events to replay (ids), or all: true');
  return all ? { all: true } : { ids: list };
}
