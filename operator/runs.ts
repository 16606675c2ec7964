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
