/**
 * The generic flow worker: an SQS batch consumer that runs one flow's `handle` per message and
 * reports partial batch failures, so one bad event never blocks or repeats the others.
 *
 * What happens to a failure (see retry.ts for the bounds):
 * | failure                                                   | the worker                                  | run log           |
 * |-----------------------------------------------------------|---------------------------------------------|-------------------|
 * | ClaimBusyError, NotReadyError                             | re-sends it with a delay (receive count     | `waiting` (info)  |
 * |                                                           | untouched), up to the wait budget            |                   |
 * | ... past the wait budget                                  | parks it, naming what it waited for          | `needs-attention` |
 * | retryable MillwrightError (429, 5xx, unreachable,         | re-sends it with exponential backoff or the  | `retrying` (warn) |
 * | ambiguous write)                                          | vendor's Retry-After, up to the budget        |                   |
 * | ... past the transient budget                             | sends it to the DLQ with its reason           | `dead-lettered`   |
 * | NeedsAttentionError                                       | parks it (body kept, alarm metric, ERROR)     | `needs-attention` |
 * | non-retryable MillwrightError (poison)                    | sends it to the DLQ at once                   | `dead-lettered`   |
 * | anything else (a bug, an SDK error), or a re-send failing | throws: SQS redelivers it after the           | `failed`          |
 * |                                                           | visibility timeout, then redrives it to the DLQ |                 |
 * Without a `requeue` sender, waits and transient failures take the last row's path.
 *
 * Order: the records of one subject (the event's `subject`, else its message group) in a batch run
 * one at a time, in order; different subjects run concurrently. Once a record of a subject is put
 * off (waiting, retrying or left to SQS), the later records of that subject in the batch are put off
 * behind it, so an "ended" never overtakes its "started" within a batch.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ClaimBusyError, MillwrightError, NeedsAttentionError, NotReadyError } from '../core/errors.ts';
import {
  type AnyFlow,
  type FlowEvent,
  type FlowResult,
  flowEventSchema,
  type RuntimeEnv,
} from '../core/flow.ts';
import { parseWith } from '../core/schema.ts';
import type { RunLogEntry } from '../core/state.ts';
import type { EventOutcome, WorkerMetrics } from './metrics.ts';
import {
  backoffSeconds,
  clampDelay,
  classify,
  DEFAULT_RETRY,
  duration,
  HISTORY_ATTRIBUTE,
  type RetryHistory,
  type RetrySettings,
  readHistory,
  retryAfterSeconds,
  waitingFor,
  writeHistory,
} from './retry.ts';

export class InvalidMessageError extends MillwrightError {
  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super(`queue message is not a flow event: ${field || '(root)'}: ${message}`, options);
  }
}

/** Puts a message body on the flow's dead-letter queue with the reason it failed. */
export type DeadLetterSender = (body: string, reason: string) => Promise<void>;

/** Puts a message body back on the flow's own queue after `delaySeconds` (<= 900). */
export type Requeue = (message: {
  body: string;
  delaySeconds: number;
  attributes: Record<string, string>;
}) => Promise<void>;

export interface WorkerOptions {
  flow: AnyFlow;
  config: unknown;
  env: RuntimeEnv;
  maxReceiveCount: number;
  /**
   * Dead-letters a non-retryable failure on its first delivery. Without it (or when it fails) the
   * message takes the usual path: retried until `maxReceiveCount`, then redriven by SQS.
   */
  deadLetter?: DeadLetterSender;
  /** Re-sends waits and transient failures with a delay, sparing the receive count. */
  requeue?: Requeue;
  /** Delays and budgets (defaults: DEFAULT_RETRY). */
  retry?: Partial<RetrySettings>;
  /**
   * Where the needs-attention count (Lambda: an EMF line; the alarm watches it) and each record's
   * outcome (Lambda: Powertools Metrics, the dashboard graphs it) go.
   */
  metrics?: WorkerMetrics;
  /** Jitter source (tests pin it). */
  random?: () => number;
}

export function parseMessage(body: string): FlowEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidMessageError('', 'body is not JSON', { cause: error });
  }
  return parseWith(flowEventSchema, json, (p) => new InvalidMessageError(p.path, p.message));
}

/** A failure the worker dealt with itself: the delivery in hand is acknowledged. */
export type Handled =
  | { outcome: 'dead-lettered' | 'needs-attention'; message: string }
  | { outcome: 'waiting' | 'retrying'; message: string; delaySeconds: number };

/** Kept for callers that name the dead-letter case alone. */
export type DeadLettered = Extract<Handled, { outcome: 'dead-lettered' }>;

/** What the queue says about one delivery. */
export interface Delivery {
  receiveCount: number;
  /** String message attributes (the retry history among them). */
  attributes?: Record<string, string>;
}

export interface Worker {
  /** Process one queue message; throws to let the queue retry it. */
  processRecord(body: string, delivery: number | Delivery): Promise<FlowResult | Handled>;
  handler(event: SQSEvent): Promise<SQSBatchResponse>;
}

/** Attributes the worker owns; the others travel with the event unchanged. */
const OWN_ATTRIBUTES = new Set([HISTORY_ATTRIBUTE, 'deadLetterReason']);

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** What every step of one worker shares: its options with the defaults applied, and the flow's deps. */
interface WorkerContext extends Omit<WorkerOptions, 'retry' | 'random'> {
  retry: RetrySettings;
  random: () => number;
  /** Built by `flow.setup` on first use, then reused by every message. */
  deps?: unknown;
}

/** The put-off record of a subject, which the later records of that subject in the batch wait behind. */
interface Ahead {
  eventId: string;
  delaySeconds: number;
}

export function createWorker(options: WorkerOptions): Worker {
  const w: WorkerContext = {
    ...options,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    random: options.random ?? Math.random,
  };
  return {
    processRecord: (body, delivery) => processRecord(w, body, delivery),
    handler: (event) => handleBatch(w, event),
  };
}

const idsOf = (event: FlowEvent | undefined) => ({
  eventId: event?.id ?? '(unreadable message)',
  eventType: event?.type ?? '(unknown)',
});

/** A log line about one event: `<flow id>: <text>`, the event's ids, then `fields`. */
const say = (
  w: WorkerContext,
  level: 'info' | 'warn' | 'error',
  text: string,
  event: FlowEvent | undefined,
  fields: Record<string, unknown>,
) => w.env.log[level](`${w.flow.id}: ${text}`, { ...idsOf(event), ...fields });

/** The message attribute that says how an event came when not first-hand (`replay`, `backfill`, ...). */
export const VIA_ATTRIBUTE = 'via';

/** Each parsed event's `via` attribute and body, for its run-log entries (set where the delivery is read). */
const vias = new WeakMap<FlowEvent, string>();
const bodies = new WeakMap<FlowEvent, string>();

/** A run-log entry about one event. */
const runEntry = (
  w: WorkerContext,
  event: FlowEvent | undefined,
  outcome: string,
  message: string,
): RunLogEntry => {
  const via = event ? vias.get(event) : undefined;
  const body = event ? bodies.get(event) : undefined;
  return {
    flowId: w.flow.id,
    ...idsOf(event),
    ...(event?.subject ? { subject: event.subject } : {}),
    ...(via ? { via } : {}),
    ...(body ? { eventBody: body } : {}),
    outcome,
    message,
    at: w.env.now().toISOString(),
  };
};

/** Counts the outcome of one record; a metric that fails to be counted must not fail the record. */
function count(w: WorkerContext, outcome: EventOutcome): void {
  try {
    w.metrics?.outcome(w.flow.id, outcome);
  } catch (error) {
    w.env.log.warn(`${w.flow.id}: could not count outcome ${outcome}`, { error: String(error) });
  }
}

/**
 * The run-log entry (and outcome count) of a failure; losing the entry must not turn a handled
 * failure into a retry. Every record's final outcome goes through here or the success path, once.
 */
const record = (w: WorkerContext, event: FlowEvent | undefined, outcome: EventOutcome, message: string) => {
  count(w, outcome);
  return w.env.state.appendRun(runEntry(w, event, outcome, message)).catch(() => undefined);
};

/** An outcome's log line (`<flow id>: <outcome>: <message>`) and its run-log entry. */
async function report(
  w: WorkerContext,
  level: 'info' | 'warn' | 'error',
  event: FlowEvent | undefined,
  outcome: EventOutcome,
  message: string,
  fields: Record<string, unknown>,
) {
  say(w, level, `${outcome}: ${message}`, event, fields);
  await record(w, event, outcome, message);
}

async function processRecord(
  w: WorkerContext,
  body: string,
  delivery: number | Delivery,
): Promise<FlowResult | Handled> {
  const { flow, config, env } = w;
  const d: Delivery = typeof delivery === 'number' ? { receiveCount: delivery } : delivery;
  let event: FlowEvent | undefined;
  const started = Date.now();
  try {
    event = parseMessage(body);
    const via = d.attributes?.[VIA_ATTRIBUTE];
    if (via) vias.set(event, via);
    bodies.set(event, body);
    w.deps ??= flow.setup(env, config);
    const result = await flow.handle(event, {
      flowId: flow.id,
      config,
      deps: w.deps,
      state: env.state,
      log: env.log,
      now: env.now,
    });
    say(w, 'info', `${result.outcome}: ${result.message}`, event, {
      outcome: result.outcome,
      ms: Date.now() - started,
    });
    await env.state.appendRun({
      ...runEntry(w, event, result.outcome, result.message),
      ...(result.effects ? { effects: result.effects } : {}),
      ...(result.subjects ? { subjects: result.subjects } : {}),
    });
    // After the run log: if that write fails, the failure path counts this record instead.
    count(w, result.outcome);
    return result;
  } catch (error) {
    return failed(w, body, event, d, error);
  }
}

/** Deal with a failure as the table in the header says; throws only to leave it to SQS. */
async function failed(
  w: WorkerContext,
  body: string,
  event: FlowEvent | undefined,
  delivery: Delivery,
  error: unknown,
  minDelaySeconds = 0,
): Promise<Handled> {
  const kind = classify(error);
  if (kind === 'poison' && w.deadLetter) {
    const reason = describe(error);
    const message = `not retryable, moved to the dead-letter queue on attempt ${delivery.receiveCount}: ${reason}`;
    const handled = await deadLetter(w, body, event, reason, message);
    if (handled) return handled;
  }
  if (kind === 'park' && event) return park(w, body, event, error);
  if (kind === 'wait' && event && w.requeue) {
    const handled = await wait(w, body, event, delivery, error, minDelaySeconds);
    if (handled) return handled;
  }
  if (kind === 'transient' && event && w.requeue) {
    const handled = await retryLater(w, body, event, delivery, error);
    if (handled) return handled;
  }
  return leaveToSqs(w, event, delivery, error);
}

/** Its outcome once the message is on the DLQ (logged and in the run log); undefined (logged) if refused. */
async function deadLetter(
  w: WorkerContext,
  body: string,
  event: FlowEvent | undefined,
  reason: string,
  message: string,
): Promise<Handled | undefined> {
  try {
    await w.deadLetter?.(body, reason);
  } catch (sendError) {
    say(w, 'error', 'could not dead-letter a failure; SQS will retry it', event, {
      error: String(sendError),
    });
    return undefined;
  }
  await report(w, 'error', event, 'dead-lettered', message, { deadLetter: true });
  return { outcome: 'dead-lettered', message };
}

/** Keep the event for an operator: state item, ERROR line, alarm metric, run-log entry. */
async function park(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  error: unknown,
  why?: { reason: string; check: string },
) {
  const reason = why?.reason ?? (error instanceof Error ? error.message : String(error));
  const check =
    why?.check ?? (error instanceof NeedsAttentionError ? error.check : 'the event and the vendor records');
  const at = w.env.now().toISOString();
  // If this write fails the error propagates: SQS redelivers, nothing is dropped.
  await w.env.state.parkEvent({
    flowId: w.flow.id,
    eventId: event.id,
    eventType: event.type,
    ...(event.subject ? { subject: event.subject } : {}),
    reason,
    check,
    body,
    at,
  });
  const message = `needs attention: ${reason}. Check: ${check}`;
  say(w, 'error', message, event, { check, needsAttention: true });
  w.metrics?.needsAttention(w.flow.id);
  await record(w, event, 'needs-attention', message);
  return { outcome: 'needs-attention' as const, message };
}

/** Re-send with `history` and `delaySeconds`; false (logged) when the queue refused it. */
async function requeue(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  delivery: Delivery,
  history: RetryHistory,
  delaySeconds: number,
): Promise<boolean> {
  const passThrough = Object.fromEntries(
    Object.entries(delivery.attributes ?? {}).filter(([name]) => !OWN_ATTRIBUTES.has(name)),
  );
  try {
    await w.requeue?.({
      body,
      delaySeconds,
      attributes: { ...passThrough, [HISTORY_ATTRIBUTE]: writeHistory(history) },
    });
    return true;
  } catch (sendError) {
    say(w, 'error', 'could not re-send the event to its queue; SQS will retry it', event, {
      error: String(sendError),
    });
    return false;
  }
}

async function wait(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  delivery: Delivery,
  error: unknown,
  minDelaySeconds: number,
): Promise<Handled | undefined> {
  const what = waitingFor(error);
  const { retry } = w;
  const history = readHistory(delivery.attributes?.[HISTORY_ATTRIBUTE], w.env.now());
  const n = history.waits + 1;
  const delay = clampDelay(Math.max(backoffSeconds(n, retry, w.random), minDelaySeconds));
  if (history.waitedSeconds + delay > retry.waitBudgetSeconds) {
    return park(w, body, event, error, {
      reason: `waited ${duration(history.waitedSeconds)} (${history.waits} retries since ${history.firstSeen}) for ${what}, longer than the ${duration(retry.waitBudgetSeconds)} allowed`,
      check: `whether ${what} ever happened; replay the event once it has, or discard it`,
    });
  }
  const next = { ...history, waits: n, waitedSeconds: history.waitedSeconds + delay };
  if (!(await requeue(w, body, event, delivery, next, delay))) return undefined;
  const message = `waiting for ${what}; retry ${n} in ${delay}s (waited ${duration(history.waitedSeconds)} of ${duration(retry.waitBudgetSeconds)})`;
  await report(
    w,
    'info',
    event,
    'waiting',
    message,
    error instanceof ClaimBusyError ? { claim: error.key } : {},
  );
  return { outcome: 'waiting', message, delaySeconds: delay };
}

async function retryLater(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  delivery: Delivery,
  error: unknown,
): Promise<Handled | undefined> {
  const { retry } = w;
  const history = readHistory(delivery.attributes?.[HISTORY_ATTRIBUTE], w.env.now());
  const reason = describe(error);
  const n = history.retries + 1;
  const delay = retryAfterSeconds(error, retry) ?? backoffSeconds(n, retry, w.random);
  if (history.retriedSeconds + delay > retry.transientBudgetSeconds && w.deadLetter) {
    const message = `gave up after ${n} failed attempts over ${duration(history.retriedSeconds)} (budget ${duration(retry.transientBudgetSeconds)}), moved to the dead-letter queue: ${reason}`;
    return deadLetter(w, body, event, `retries exhausted: ${reason}`, message);
  }
  const next = { ...history, retries: n, retriedSeconds: history.retriedSeconds + delay };
  if (!(await requeue(w, body, event, delivery, next, delay))) return undefined;
  const message = `attempt ${n} failed: ${reason}; next in ${delay}s`;
  await report(w, 'warn', event, 'retrying', message, { retryable: true });
  return { outcome: 'retrying', message, delaySeconds: delay };
}

/** SQS's path: throw, so the delivery comes back after the visibility timeout (receive count + 1). */
async function leaveToSqs(
  w: WorkerContext,
  event: FlowEvent | undefined,
  delivery: Delivery,
  error: unknown,
): Promise<never> {
  const { maxReceiveCount } = w;
  const receiveCount = delivery.receiveCount;
  const final = receiveCount >= maxReceiveCount;
  // Contention with a concurrent worker is expected: the retry finds the effect done or free.
  const waiting = error instanceof ClaimBusyError && !final;
  const message = waiting
    ? `another worker is performing this right now; trying again shortly (attempt ${receiveCount}/${maxReceiveCount})`
    : `attempt ${receiveCount}/${maxReceiveCount}: ${describe(error)}`;
  if (waiting) await report(w, 'info', event, 'waiting', message, { claim: (error as ClaimBusyError).key });
  else {
    say(w, 'error', `failed (${message})`, event, {
      retryable: error instanceof MillwrightError ? error.retryable : undefined,
      deadLetter: final,
    });
    await record(w, event, final ? 'dead-lettered' : 'failed', message);
  }
  throw error;
}

/** A record behind a put-off record of the same subject: it waits for that one. */
async function holdBack(
  w: WorkerContext,
  body: string,
  delivery: Delivery,
  ahead: Ahead,
): Promise<FlowResult | Handled> {
  let event: FlowEvent;
  try {
    event = parseMessage(body);
    const via = delivery.attributes?.[VIA_ATTRIBUTE];
    if (via) vias.set(event, via);
    bodies.set(event, body);
  } catch {
    // Unreadable: it has no subject to keep in order; the usual path dead-letters it.
    return processRecord(w, body, delivery);
  }
  const behind = new NotReadyError(
    `earlier event ${ahead.eventId} of the same subject (${event.subject ?? 'message group'}) to be processed first`,
  );
  // One second later than the event ahead, so it is back on the queue after it.
  return failed(w, body, event, delivery, behind, ahead.delaySeconds + 1);
}

/** The batch: subjects concurrently, each subject's records in order; failures reported to SQS. */
async function handleBatch(w: WorkerContext, event: SQSEvent): Promise<SQSBatchResponse> {
  const groups = new Map<string, SQSRecord[]>();
  for (const r of event.Records) {
    const key = subjectOf(r);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const failed = new Set<string>();
  await Promise.all([...groups.values()].map((records) => runInOrder(w, records, failed)));
  return {
    batchItemFailures: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({
      itemIdentifier: r.messageId,
    })),
  };
}

/** One subject's records, one at a time; once one is put off, the rest are held back behind it. */
async function runInOrder(
  w: WorkerContext,
  records: readonly SQSRecord[],
  failed: Set<string>,
): Promise<void> {
  let ahead: Ahead | undefined;
  for (const r of records) {
    const delivery = deliveryOf(r);
    try {
      const result = ahead
        ? await holdBack(w, r.body, delivery, ahead)
        : await processRecord(w, r.body, delivery);
      if ('delaySeconds' in result) {
        ahead = { eventId: ahead?.eventId ?? eventIdOf(r), delaySeconds: result.delaySeconds };
      }
    } catch {
      failed.add(r.messageId);
      ahead ??= { eventId: eventIdOf(r), delaySeconds: w.retry.baseDelaySeconds };
    }
  }
}

function peek(body: string): { id?: unknown; subject?: unknown } {
  try {
    const json: unknown = JSON.parse(body);
    return typeof json === 'object' && json !== null ? (json as { id?: unknown; subject?: unknown }) : {};
  } catch {
    return {};
  }
}

/** Ordering key: the event's subject, else the SQS message group, else the message alone. */
function subjectOf(record: SQSRecord): string {
  const { subject } = peek(record.body);
  if (typeof subject === 'string' && subject !== '') return `subject:${subject}`;
  const group = (record.attributes as { MessageGroupId?: string } | undefined)?.MessageGroupId;
  return group ? `group:${group}` : `message:${record.messageId}`;
}

const eventIdOf = (record: SQSRecord): string => {
  const { id } = peek(record.body);
  return typeof id === 'string' ? id : record.messageId;
};

function deliveryOf(record: SQSRecord): Delivery {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (typeof value?.stringValue === 'string') attributes[name] = value.stringValue;
  }
  return { receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? '1'), attributes };
}
