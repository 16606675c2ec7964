/**
 * `millwright backfill <flow> --from T --to T`: re-read a past window of a flow's poll source and
 * enqueue what it finds on the flow's queue, marked `via=backfill`. The live poll state (watermark,
 * per-entity state) is neither read nor written: the source's `backfill` keeps what it needs in
 * memory, and the flows' claims (or per-record versions, see the source's note) absorb what was
 * already done. Enqueueing is paced so a large window does not flood the vendor the flow writes to.
 * Those claims (and episode, part and order states) expire `retentionDays` after their last write,
 * so a window older than a parked replay may safely reach is refused unless `pastRetention`: its
 * events could make a second work order, task or stock write, or apply an old state over a new one.
 */
import { MillwrightError } from '../functions/core/errors.ts';
import type { BackfillStep, PollSource, ScheduleTrigger } from '../functions/core/flow.ts';
import { type Log, silentLog } from '../functions/core/log.ts';
import { reportSkipped } from '../functions/runtime/poller.ts';
import { sqsQueue } from '../functions/runtime/queue.ts';
import { VIA_ATTRIBUTE } from '../functions/runtime/worker.ts';
import { safeReplayAgeMs } from './parked.ts';
import { type FlowResources, flowOf, type Target } from './target.ts';

/** Longest window without `force`: a typo in a date should not re-read a year. */
export const MAX_BACKFILL_DAYS = 31;
export const DEFAULT_BACKFILL_RATE = 10;
/** SQS takes at most 10 messages per batch request. */
const MAX_CHUNK = 10;
const DAY_MS = 86_400_000;

/** The window or rate asked for is not one a backfill can run. */
export class InvalidBackfillError extends MillwrightError {}

/** The flow (or the source asked for) cannot backfill; the message says why. */
export class BackfillNotSupportedError extends MillwrightError {}

/**
 * The backfill stopped part way (the vendor or the queue failed): what was enqueued stays on the
 * queue; `result` says how far it got and the message how to resume.
 */
export class BackfillStoppedError extends MillwrightError {
  readonly result: BackfillResult;
  constructor(message: string, result: BackfillResult, cause: unknown) {
    super(message, { cause });
    this.result = result;
  }
}

export interface BackfillOptions {
  from: Date;
  to: Date;
  /** Which poll source, when the flow has several (default: its only one that can backfill). */
  sourceId?: string;
  /** Events enqueued per second (default 10). */
  ratePerSecond?: number;
  /** Read the vendor and count; enqueue nothing, write nothing. */
  dryRun?: boolean;
  /** Allow a window longer than MAX_BACKFILL_DAYS. */
  force?: boolean;
  /** Allow a window older than the retention of the flow's claims (the operator checked the vendor). */
  pastRetention?: boolean;
  /** How far before `from` a source that rebuilds state reads (default: the source's own). */
  lookbackMinutes?: number;
  /** Called after each step: how far the source is (its windows), else events enqueued of found. */
  onProgress?: (done: number, total: number) => void;
  log?: Log;
  /** Clock (default: the target's). */
  now?: () => Date;
  /** Pacing (default: setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

export interface BackfillResult {
  flowId: string;
  sourceId: string;
  /** ISO. */
  from: string;
  to: string;
  /** Steps the source yielded (e.g. windows with something to say, event batches). */
  steps: number;
  events: number;
  /** Records read but not parsed (each has a run-log entry, except in a dry run). */
  skipped: number;
  enqueued: number;
  dryRun: boolean;
  /** The source's lines: steps with events or skipped records, and its final line. */
  summaries: string[];
  /** Ids of the events found (enqueued unless a dry run), in order. */
  eventIds: string[];
  /** What this source's backfill does not cover (its `backfillNote`). */
  note?: string;
  /** The flow is paused: what was enqueued waits until it is resumed. */
  paused: boolean;
  /** A dry run of a window a real run refuses (older than the claims are kept): why. */
  refusedPastRetention?: string;
}

export interface BackfillSupport {
  flowId: string;
  /** undefined: the flow has no poll source (webhooks only). */
  sourceId?: string;
  supported: boolean;
  note: string;
}

// biome-ignore lint/suspicious/noExplicitAny: options and deps are the source's own, built from the flow.
type AnySource = PollSource<any, any, any>;

const scheduleTriggers = (flow: FlowResources): ScheduleTrigger[] =>
  flow.flow.triggers.filter((t): t is ScheduleTrigger => t.kind === 'schedule');

const WEBHOOK_ONLY_NOTE =
  'Webhook flow: no poll source to re-read; replay its dead letters, or have the vendor resend.';

/** Per flow and poll source: can it backfill, and what its note says (help text, README table). */
export function listBackfillSupport(target: Target): BackfillSupport[] {
  const rows: BackfillSupport[] = [];
  for (const [flowId, flow] of target.flows) {
    const triggers = scheduleTriggers(flow);
    if (triggers.length === 0) rows.push({ flowId, supported: false, note: WEBHOOK_ONLY_NOTE });
    for (const { source } of triggers) {
      rows.push({
        flowId,
        sourceId: source.id,
        supported: source.backfill !== undefined,
        note: source.backfillNote ?? (source.backfill ? '' : 'This source has no backfill.'),
      });
    }
  }
  return rows;
}

function pickTrigger(flow: FlowResources, sourceId: string | undefined): ScheduleTrigger {
  const triggers = scheduleTriggers(flow);
  const id = flow.flow.id;
  if (triggers.length === 0) throw new BackfillNotSupportedError(`${id}: ${WEBHOOK_ONLY_NOTE}`);
  if (sourceId !== undefined) {
    const trigger = triggers.find((t) => t.source.id === sourceId);
    if (!trigger) {
      throw new BackfillNotSupportedError(
        `${id} has no poll source "${sourceId}"; its sources: ${triggers.map((t) => t.source.id).join(', ')}`,
      );
    }
    return trigger;
  }
  const able = triggers.filter((t) => t.source.backfill);
  if (able.length === 1 && able[0]) return able[0];
  if (able.length > 1) {
    throw new BackfillNotSupportedError(
      `${id} has several poll sources that can backfill; pick one with --source: ${able.map((t) => t.source.id).join(', ')}`,
    );
  }
  const notes = triggers.map((t) => `${t.source.id}: ${t.source.backfillNote ?? 'no backfill'}`);
  throw new BackfillNotSupportedError(`${id} cannot backfill. ${notes.join(' ')}`);
}

/** Refuse a window that cannot be backfilled (reversed, in the future, too long, a bad rate). */
export function checkBackfillWindow(options: BackfillOptions, now: Date): void {
  const { from, to } = options;
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    throw new InvalidBackfillError('--from and --to must be valid dates');
  }
  if (from.getTime() >= to.getTime()) {
    throw new InvalidBackfillError(
      `--from (${from.toISOString()}) must be before --to (${to.toISOString()})`,
    );
  }
  if (to.getTime() > now.getTime()) {
    throw new InvalidBackfillError(`--to (${to.toISOString()}) is in the future (now ${now.toISOString()})`);
  }
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  if (days > MAX_BACKFILL_DAYS && !options.force) {
    throw new InvalidBackfillError(
      `the window is ${days.toFixed(1)} days; more than ${MAX_BACKFILL_DAYS} needs --force`,
    );
  }
  const rate = options.ratePerSecond;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw new InvalidBackfillError(`--rate must be a positive number of events per second (got ${rate})`);
  }
}

/**
 * Refuse a window that starts earlier than its claims may still be kept (see the module comment):
 * the same age limit as a parked replay's. A dry run is not refused: it returns the words, so the
 * preview says what a real run would meet.
 */
function checkRetention(options: BackfillOptions, now: Date, retentionDays: number): string | undefined {
  if (options.pastRetention) return undefined;
  const limit = safeReplayAgeMs(retentionDays);
  if (now.getTime() - options.from.getTime() < limit) return undefined;
  const safeFrom = new Date(now.getTime() - limit).toISOString();
  const why = `--from (${options.from.toISOString()}) is before ${safeFrom}: the claims, episode and part states that keep a backfill from acting twice are kept ${retentionDays} days (less the retry horizon), so they may be gone and its events could create work orders, tasks or stock writes again, or apply an older state.`;
  if (options.dryRun) return `${why} A real run is refused unless --past-retention (CLI).`;
  throw new InvalidBackfillError(
    `${why} Check the vendor, then start the window later, or pass --past-retention to enqueue it anyway. Nothing was enqueued.`,
  );
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Re-read [from, to] of a flow's poll source and enqueue its events (see the module comment). */
export async function backfillFlow(
  target: Target,
  flowId: string,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const flow = flowOf(target, flowId);
  const trigger = pickTrigger(flow, options.sourceId);
  const source = trigger.source as AnySource;
  if (!source.backfill) {
    throw new BackfillNotSupportedError(
      `${flowId}/${source.id} cannot backfill: ${source.backfillNote ?? 'this source has no backfill'}`,
    );
  }
  const log = options.log ?? silentLog;
  const env = target.env(log);
  const now = (options.now ?? env.now)();
  checkBackfillWindow(options, now);
  const retention = checkRetention(options, now, target.state.retentionDays);
  const rate = options.ratePerSecond ?? DEFAULT_BACKFILL_RATE;
  const sleep = options.sleep ?? defaultSleep;
  const chunkSize = Math.max(1, Math.min(MAX_CHUNK, Math.floor(rate)));
  const queue = sqsQueue(target.sqs);
  const dryRun = options.dryRun ?? false;

  const result: BackfillResult = {
    flowId,
    sourceId: source.id,
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    steps: 0,
    events: 0,
    skipped: 0,
    enqueued: 0,
    dryRun,
    summaries: [],
    eventIds: [],
    ...(source.backfillNote ? { note: source.backfillNote } : {}),
    ...(retention ? { refusedPastRetention: retention } : {}),
    paused: (await target.state.getFlowControl(flowId))?.paused ?? false,
  };

  const enqueue = async (step: BackfillStep) => {
    for (let i = 0; i < step.events.length; i += chunkSize) {
      const chunk = step.events.slice(i, i + chunkSize);
      await queue.send(flow.queueUrl, chunk, { [VIA_ATTRIBUTE]: 'backfill' });
      result.enqueued += chunk.length;
      // Paced after each send: `rate` events per second on average, whatever the step sizes.
      await sleep((chunk.length / rate) * 1000);
    }
  };

  let last = '';
  // Where a rerun may start: after the last step whose events are all on the queue.
  let resume: BackfillStep['resume'];
  try {
    for await (const step of source.backfill({
      from: options.from,
      to: options.to,
      options: trigger.options(flow.config),
      deps: source.connect(env),
      log,
      now,
      ...(options.lookbackMinutes !== undefined ? { lookbackMinutes: options.lookbackMinutes } : {}),
    })) {
      result.steps++;
      result.events += step.events.length;
      result.eventIds.push(...step.events.map((e) => e.id));
      const skipped = step.skipped ?? [];
      result.skipped += skipped.length;
      if (step.events.length > 0 || skipped.length > 0) {
        result.summaries.push(
          skipped.length > 0 ? `${step.summary}; ${skipped.length} record(s) skipped` : step.summary,
        );
        last = '';
      } else {
        last = step.summary;
      }
      if (!dryRun) {
        await reportSkipped(env, flowId, source.id, skipped);
        await enqueue(step);
      }
      if (step.progress) options.onProgress?.(step.progress.done, step.progress.total);
      else options.onProgress?.(dryRun ? result.events : result.enqueued, result.events);
      resume = step.resume ?? resume;
    }
  } catch (error) {
    throw stopped(result, resume, error);
  }
  // The source's final line (its totals) even when that step had nothing else to say.
  if (last) result.summaries.push(last);
  log.info(`${flowId}/${source.id}: backfill ${result.from}..${result.to}${dryRun ? ' (dry run)' : ''}`, {
    events: result.events,
    enqueued: result.enqueued,
    skipped: result.skipped,
  });
  return result;
}

/** Why and where a backfill stopped, and how to finish it without missing or doubling anything. */
function stopped(
  result: BackfillResult,
  resume: BackfillStep['resume'],
  error: unknown,
): BackfillStoppedError {
  const why = error instanceof Error ? error.message : String(error);
  const where = `${result.flowId}/${result.sourceId}: backfill ${result.from}..${result.to}`;
  const last = result.summaries.at(-1);
  const after = `stopped after ${result.steps} step(s)${last ? ` (last: ${last})` : ''}`;
  // A dry run enqueued nothing: it is simply run again, whole.
  if (result.dryRun) {
    return new BackfillStoppedError(
      `${where} (dry run) ${after}: ${result.events} event(s) found so far, nothing enqueued. Cause: ${why}`,
      result,
      error,
    );
  }
  const lookback = resume?.lookbackMinutes === undefined ? '' : ` --lookback ${resume.lookbackMinutes}`;
  const next = resume
    ? `To finish, run it again with --from ${resume.from.toISOString()}${lookback} (same --to): everything before is on the queue.`
    : 'To finish, run the same command again: what was enqueued comes back under the same ids (or part versions) and the flow absorbs it.';
  return new BackfillStoppedError(
    `${where} ${after}: ${result.enqueued} of ${result.events} event(s) found enqueued; they stay on the queue. ${next} Cause: ${why}`,
    result,
    error,
  );
}
