/**
 * `millwright status`: per flow, is it running, what waits in its queue and dead-letter queue, what
 * is parked, how its pollers last ran, its last error and its runs in the last hour; per
 * rate-limited vendor account, its token bucket; per vendor account, its circuit breaker (those that
 * ever opened are in the `breakers` set: one Query plus one GetItem each). Every figure comes from SQS attributes or a
 * DynamoDB GetItem/Query on the table's own keys: no scan, whatever the size of the run log.
 */
import { deployWarnings } from '../functions/config/deploy-checks.ts';
import { type BreakerStatus, listBreakers } from '../functions/core/breaker.ts';
import type { PollSource } from '../functions/core/flow.ts';
import { silentLog } from '../functions/core/log.ts';
import type { FlowControl, PollRunRecord, RunLogEntry } from '../functions/core/state.ts';
import { pollStateKey } from '../functions/runtime/poller.ts';
import { livePollStateKey } from '../functions/runtime/shared-poll.ts';
import { oldestSentAt, type QueueDepth, queueDepth } from './queue-depth.ts';
import { type FlowResources, flowOf, type Target } from './target.ts';

export interface PollStatus {
  sourceId: string;
  lastRun?: PollRunRecord;
  /** Where the live poll stands, read from its state (e.g. `lastEvaluatedEnd 2026-12-06T10:05:00Z`). */
  watermark?: string;
}

export interface FlowStatus {
  flowId: string;
  description: string;
  paused: boolean;
  control?: FlowControl;
  /** The platform's own switches (AWS: event source mapping and schedules). */
  platform?: string;
  queue: QueueDepth;
  deadLetters: { depth: number; oldestSentAt?: string; oldestExact?: boolean };
  parked: number;
  polls: PollStatus[];
  lastError?: RunLogEntry;
  /** Runs in the last hour by outcome (at most `maxCounted` entries are read). */
  lastHour: Record<string, number>;
  lastHourTruncated: boolean;
}

export interface RateLimitStatus {
  key: string;
  tokens: number;
  updatedAt?: string;
  pausedUntil?: string;
}

export interface StatusReport {
  target: string;
  at: string;
  flows: FlowStatus[];
  rateLimits: RateLimitStatus[];
  /**
   * Every vendor account's circuit breaker: those that ever opened as stored; each other configured
   * vendor as `closed` (key `<vendor>`, no host: it never opened, so it was never written).
   */
  breakers: BreakerStatus[];
  /**
   * What the deployed config leaves unwatched (the synth warnings of functions/config/deploy-checks.ts,
   * e.g. no alarm recipient); none on the sandbox, which has no alarms.
   */
  warnings: string[];
  /** What the report cost: DynamoDB requests and read units, SQS requests. */
  cost: { dynamodbRequests: number; readUnits: number; sqsRequests: number };
}

/** Runs counted per flow for "last hour" before the count says `10,000+`. */
const MAX_COUNTED = 10_000;

const isoOfMs = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : 'the beginning');

/**
 * Where a poll state stands, for people: the fields that name a watermark (`lastEvaluatedEnd`,
 * `watermark`, `watermarkMs`), one level deep, or how many records it follows.
 */
export function describeWatermark(state: unknown): string | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const parts: string[] = [];
  const visit = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, value] of Object.entries(obj)) {
      if (/^(watermark|lastEvaluatedEnd)$/i.test(key) && typeof value === 'string') {
        parts.push(`${prefix}${key} ${value}`);
      } else if (/watermarkMs$/i.test(key) && typeof value === 'number') {
        parts.push(`${prefix}${key.replace(/Ms$/, '')} ${isoOfMs(value)}`);
      } else if (depth < 2 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        visit(value as Record<string, unknown>, `${prefix}${key}.`, depth + 1);
      }
    }
  };
  visit(state as Record<string, unknown>, '', 0);
  if (parts.length === 0 && 'seen' in state && typeof state.seen === 'object' && state.seen) {
    return `following ${Object.keys(state.seen).length} record(s)`;
  }
  return parts.length > 0
    ? parts.slice(0, 3).join('; ') + (parts.length > 3 ? ` (+${parts.length - 3})` : '')
    : undefined;
}

function pollSourcesOf(
  flow: FlowResources,
): { source: PollSource<unknown, unknown, unknown>; index: number }[] {
  return flow.flow.triggers.flatMap((t, index) =>
    t.kind === 'schedule' ? [{ source: t.source, index }] : [],
  );
}

async function flowStatus(target: Target, flow: FlowResources, now: Date, cost: StatusReport['cost']) {
  const { state, sqs } = target;
  const id = flow.flow.id;
  const since = new Date(now.getTime() - 3_600_000).toISOString();
  const [control, queue, dlq, parked, lastError, hour, platform, polls] = await Promise.all([
    state.getFlowControl(id),
    queueDepth(sqs, flow.queueUrl),
    queueDepth(sqs, flow.dlqUrl),
    state.listParked(id, 1000),
    state.lastError(id),
    state.queryRuns({ flowId: id, since, limit: MAX_COUNTED }),
    target.switches.describe?.(flow),
    Promise.all(
      pollSourcesOf(flow).map(async ({ source, index }): Promise<PollStatus> => {
        const key = pollStateKey(id, source.id);
        // A shared poll (runtime/shared-poll.ts) records each flow's run under the flow's key and
        // keeps its watermark under the group's.
        const enabled = [...target.flows.values()].map((f) => ({ flow: f.flow, config: f.config }));
        const [lastRun, stored] = await Promise.all([
          state.lastPollRun(key),
          state.loadPollState(livePollStateKey(enabled, id, index)),
        ]);
        const watermark = describeWatermark(stored?.data);
        return {
          sourceId: source.id,
          ...(lastRun ? { lastRun } : {}),
          ...(watermark ? { watermark } : {}),
        };
      }),
    ),
  ]);
  const dlqDepth = dlq.visible + dlq.inFlight + dlq.delayed;
  const oldest = await oldestSentAt(target, flow.dlqUrl, dlq.visible);
  const lastHour: Record<string, number> = {};
  for (const entry of hour.entries) lastHour[entry.outcome] = (lastHour[entry.outcome] ?? 0) + 1;
  cost.dynamodbRequests += 4 + hour.requests + 2 * polls.length;
  cost.readUnits += hour.readUnits;
  cost.sqsRequests += 2 + (dlq.visible > 0 ? 1 : 0);
  const status: FlowStatus = {
    flowId: id,
    description: flow.flow.description,
    paused: control?.paused === true,
    ...(control ? { control } : {}),
    ...(platform ? { platform } : {}),
    queue,
    deadLetters: {
      depth: dlqDepth,
      ...(oldest ? { oldestSentAt: oldest.sentAt, oldestExact: oldest.exact } : {}),
    },
    parked: parked.length,
    polls,
    ...(lastError ? { lastError } : {}),
    lastHour,
    lastHourTruncated: hour.more,
  };
  return status;
}

/** The token buckets of the rate-limited vendor accounts (`RATE#<key>` items). */
async function rateLimits(target: Target): Promise<RateLimitStatus[]> {
  const keys = rateLimitKeys(target);
  const out: RateLimitStatus[] = [];
  for (const key of keys) {
    const bucket = await target.state.getVersioned<{
      tokens: number;
      updatedAtMs: number;
      pausedUntilMs?: number;
    }>(`RATE#${key}`, 'BUCKET');
    out.push({
      key,
      tokens: bucket ? Math.floor(bucket.data.tokens * 10) / 10 : Number.NaN,
      ...(bucket?.data.updatedAtMs ? { updatedAt: new Date(bucket.data.updatedAtMs).toISOString() } : {}),
      ...(bucket?.data.pausedUntilMs && bucket.data.pausedUntilMs > Date.now()
        ? { pausedUntil: new Date(bucket.data.pausedUntilMs).toISOString() }
        : {}),
    });
  }
  return out;
}

/** The bucket keys of the configured vendors that declare a shared rate limit. */
function rateLimitKeys(target: Target): string[] {
  const keys: string[] = [];
  // The settings the flows run with: in the sandbox the base URLs point at the simulators.
  const vendors = target.env(silentLog).vendors as Record<string, unknown>;
  for (const [vendor, settings] of Object.entries(vendors)) {
    const s = settings as { rateLimit?: unknown; baseUrl?: string } | undefined;
    if (!s?.rateLimit) continue;
    const host = s.baseUrl ? new URL(s.baseUrl).host : 'default';
    keys.push(`${vendor}:${host}`);
  }
  return keys;
}

export async function status(
  target: Target,
  options: { now?: Date; flowId?: string } = {},
): Promise<StatusReport> {
  const now = options.now ?? new Date();
  const cost = { dynamodbRequests: 0, readUnits: 0, sqsRequests: 0 };
  // A mistyped --flow is refused, not answered with an empty table that reads as "all quiet".
  const flows = options.flowId ? [flowOf(target, options.flowId)] : [...target.flows.values()];
  const [statuses, limits, stored] = await Promise.all([
    Promise.all(flows.map((flow) => flowStatus(target, flow, now, cost))),
    rateLimits(target),
    // Breakers run on the wall clock, never the sandbox's manual one.
    listBreakers(target.state),
  ]);
  cost.dynamodbRequests += limits.length + 1 + stored.length;
  const vendors = Object.keys(target.env(silentLog).vendors);
  const breakers = [
    ...stored,
    ...vendors
      .filter((vendor) => !stored.some((b) => b.vendor === vendor))
      .map((vendor): BreakerStatus => ({ key: vendor, vendor, host: '', status: 'closed' })),
  ];
  return {
    target: target.label,
    at: now.toISOString(),
    flows: statuses,
    rateLimits: limits,
    breakers,
    warnings:
      target.kind === 'stack' ? deployWarnings(target.deployment).map((w) => `${w.path}: ${w.message}`) : [],
    cost,
  };
}
