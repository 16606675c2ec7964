/**
 * `millwright runs` and `millwright show`: the run log, newest first. Each lookup is a DynamoDB
 * Query on the table's own key (functions/core/state.ts writes every entry under its flow, its event
 * id and each subject it touched): by subject, one Query for every flow; by flow, one Query; with
 * neither, one Query per enabled flow, merged.
 */
import type { RunLogEntry } from '../functions/core/state.ts';
import { flowOf, type Target } from './target.ts';

export interface RunsQuery {
  flowId?: string;
  subject?: string;
  outcomes?: readonly string[];
  since?: Date;
  until?: Date;
  limit?: number;
}

export interface RunsResult {
  entries: RunLogEntry[];
  /** More entries matched than `limit`. */
  more: boolean;
  /** What it cost: DynamoDB Query requests and read units. */
  cost: { requests: number; readUnits: number };
}

const newestFirst = (a: RunLogEntry, b: RunLogEntry) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0);

export async function runs(target: Target, q: RunsQuery = {}): Promise<RunsResult> {
  const limit = q.limit ?? 50;
  if (q.flowId) flowOf(target, q.flowId);
  const base = {
    ...(q.since ? { since: q.since.toISOString() } : {}),
    ...(q.until ? { until: q.until.toISOString() } : {}),
    ...(q.outcomes && q.outcomes.length > 0 ? { outcomes: q.outcomes } : {}),
    limit,
  };
  const flowIds = q.subject || q.flowId ? [q.flowId] : [...target.flows.keys()];
  const pages = await Promise.all(
    flowIds.map((flowId) =>
      target.state.queryRuns({
        ...base,
        ...(q.subject ? { subject: q.subject } : {}),
        ...(flowId ? { flowId } : {}),
      }),
    ),
  );
  const all = pages.flatMap((p) => p.entries).sort(newestFirst);
  return {
    entries: all.slice(0, limit),
    more: all.length > limit || pages.some((p) => p.more),
    cost: {
      requests: pages.reduce((n, p) => n + p.requests, 0),
      readUnits: pages.reduce((n, p) => n + p.readUnits, 0),
    },
  };
}

export interface EventStory {
  eventId: string;
  /** Every run-log entry of the event, oldest first: each attempt, its outcome, its error. */
  attempts: RunLogEntry[];
  /** The flows it went through. */
  flows: string[];
  /** Vendor record ids the event's runs created or changed, merged over its entries. */
  effects: Record<string, string>;
  /** The event itself, where it is still kept (a parked copy, or a dead-letter message). */
  event?: unknown;
  eventFrom?: string;
}

/** Everything the run log knows about one event (one Query), plus its body if it is parked. */
export async function show(target: Target, eventId: string): Promise<EventStory | undefined> {
  const page = await target.state.queryRuns({ eventId, limit: 500 });
  if (page.entries.length === 0) return undefined;
  const attempts = [...page.entries].reverse().map(({ eventBody: _body, ...entry }) => entry);
  const withBody = page.entries.find((e) => e.eventBody !== undefined);
  const flows = [...new Set(attempts.map((e) => e.flowId))];
  const effects: Record<string, string> = {};
  for (const entry of attempts) Object.assign(effects, entry.effects ?? {});
  const story: EventStory = { eventId, attempts, flows, effects };
  if (withBody?.eventBody) {
    story.event = safeJson(withBody.eventBody);
    story.eventFrom = `run log (${withBody.flowId}, ${withBody.at})`;
    return story;
  }
  for (const flowId of flows) {
    if (!target.flows.has(flowId)) continue;
    const parked = (await target.state.listParked(flowId, 1000)).find((p) => p.eventId === eventId);
    if (parked) {
      story.event = safeJson(parked.body);
      story.eventFrom = `parked in ${flowId} (needs attention: ${parked.reason})`;
      break;
    }
  }
  return story;
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

export interface RunsByHourQuery {
  flowId: string;
  /** How many hours back, counting the hour `now` is in (default 24). */
  hours?: number;
  now: Date;
  /** Entries read at most before the counts say `truncated` (default 10,000, like `status`). */
  maxCounted?: number;
}

export interface RunsByHour {
  /** Each hour's start, ISO, oldest first; the last is the hour `now` is in. */
  hours: string[];
  /** Per outcome, the runs in each of those hours (same order as `hours`). */
  counts: Record<string, number[]>;
  /** More entries than `maxCounted` fell in the window: the oldest hours are undercounted. */
  truncated: boolean;
}

const HOUR_MS = 3_600_000;

/**
 * A flow's runs per outcome in each of the last `hours` whole hours (the console's small chart): one
 * Query on the flow's partition from the first hour's start, newest first, counted in memory.
 */
export async function runsByHour(target: Target, q: RunsByHourQuery): Promise<RunsByHour> {
  flowOf(target, q.flowId);
  const hours = q.hours ?? 24;
  const current = Math.floor(q.now.getTime() / HOUR_MS) * HOUR_MS;
  const first = current - (hours - 1) * HOUR_MS;
  const starts = Array.from({ length: hours }, (_, i) => new Date(first + i * HOUR_MS).toISOString());
  const page = await target.state.queryRuns({
    flowId: q.flowId,
    since: starts[0],
    limit: q.maxCounted ?? 10_000,
  });
  const counts: Record<string, number[]> = {};
  for (const entry of page.entries) {
    const index = Math.floor((Date.parse(entry.at) - first) / HOUR_MS);
    // Entries stamped after `now` (clock skew between writers) count in the current hour.
    const slot = Math.min(hours - 1, index);
    if (slot < 0) continue;
    const row = counts[entry.outcome] ?? new Array<number>(hours).fill(0);
    row[slot] = (row[slot] ?? 0) + 1;
    counts[entry.outcome] = row;
  }
  return { hours: starts, counts, truncated: page.more };
}
