/**
 * The generic flow worker: an SQS batch consumer that runs one flow's `handle` per message and
 * reports partial batch failures, so one bad event never blocks or repeats the others.
 *
 * What happens to a failure (see retry.ts for the delays and bounds):
 * | failure                                              | the worker                                      | run log           |
 * |------------------------------------------------------|-------------------------------------------------|-------------------|
 * | retryable MillwrightError (429, 5xx, unreachable,    | keeps it on the queue, visible again after      | `retrying` (warn) |
 * | ambiguous write); a throttled AWS request            | exponential backoff or the vendor's Retry-After |                   |
 * | ... once its retry horizon (24 h) has passed         | sends it to the DLQ with its reason             | `dead-lettered`   |
 * | CircuitOpenError (the vendor's breaker is open)      | keeps it until the breaker's probe; not counted | `held` (info)     |
 * |                                                      | as an attempt; the horizon still applies        |                   |
 * | ClaimBusyError, NotReadyError                        | keeps it, visible again after a delay, up to    | `waiting` (info)  |
 * |                                                      | the wait budget, then parks it                  |                   |
 * | NeedsAttentionError                                  | parks it (body kept, alarm metric, ERROR)       | `needs-attention` |
 * | non-retryable MillwrightError (poison)               | sends it to the DLQ at once                     | `dead-lettered`   |
 * | anything else (a bug, an SDK error)                  | retries it with backoff; the DLQ after          | `failed`          |
 * |                                                      | `maxReceiveCount` failed attempts               |                   |
 * "Keeps it": ChangeMessageVisibility on the delivery in hand, then a batch item failure, so Lambda
 * leaves the message on the queue. If that call fails (or the worker has no `delay` sender), the
 * worker throws instead and SQS redelivers the message after the queue's visibility timeout.
 *
 * Order: the records of one subject (the event's `subject`, else its message group) in a batch run
 * one at a time, in order; different subjects run concurrently. Once a record of a subject is put
 * off (waiting, held, retrying or left to SQS), the later records of that subject in the batch are
 * put off behind it, so an "ended" never overtakes its "started" within a batch. Across deliveries
 * the flows keep order themselves (README: Order per subject).
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  CircuitOpenError,
  ClaimBusyError,
  MillwrightError,
  NeedsAttentionError,
  NotReadyError,
  redact,
} from '../core/errors.ts';
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
  holdSeconds,
  legacyFirstSeen,
  MAX_WAIT_DELAY_SECONDS,
  type RetrySettings,
  retryAfterSeconds,
  waitingFor,
} from './retry.ts';

export class InvalidMessageError extends MillwrightError {
  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super(`queue message is not a flow event: ${field || '(root)'}: ${message}`, options);
  }
}

/** Puts a message body on the flow's dead-letter queue with the reason it failed. */
export type DeadLetterSender = (body: string, reason: string) => Promise<void>;

/** Makes the delivery with this receipt handle visible again after `delaySeconds` (ChangeMessageVisibility). */
export type DelaySender = (receiptHandle: string, delaySeconds: number) => Promise<void>;

/** Deletes the delivery with this receipt handle from the flow's queue now (DeleteMessage). */
export type RemoveSender = (receiptHandle: string) => Promise<void>;

export interface WorkerOptions {
  flow: AnyFlow;
  config: unknown;
  env: RuntimeEnv;
  /**
   * Failed attempts with an unexpected error (a bug, an SDK error) before the event is dead-lettered.
   * Without a `delay` sender the queue's redrive count plays this part (SQS dead-letters it).
   */
  maxReceiveCount: number;
  /**
   * Dead-letters a non-retryable failure on its first delivery, and an event past its horizon.
   * Without it (or when it fails) the message takes SQS's path: redelivered, then redriven by SQS.
   */
  deadLetter?: DeadLetterSender;
  /** Keeps a delivery on the queue for a delay (backoff, holds, waits). */
  delay?: DelaySender;
  /**
   * Takes a dead-lettered delivery off the queue at once: if the batch's invocation then fails as a
   * whole (a crash, a timeout), the delivery does not come back to be dead-lettered a second time.
   */
  remove?: RemoveSender;
  /** Wall-clock ms, to compare with SQS's timestamps (default Date.now; never a sandbox's manual clock). */
  wallNow?: () => number;
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

/**
 * A failure the worker dealt with itself. Dead-lettered or parked: the delivery in hand is
 * acknowledged. Waiting, held or retrying: it stays on the queue for `delaySeconds`.
 */
export type Handled =
  | { outcome: 'dead-lettered' | 'needs-attention'; message: string }
  | { outcome: 'waiting' | 'held' | 'retrying'; message: string; delaySeconds: number };

/** Kept for callers that name the dead-letter case alone. */
export type DeadLettered = Extract<Handled, { outcome: 'dead-lettered' }>;

/** What the queue says about one delivery. */
export interface Delivery {
  receiveCount: number;
  /** String message attributes (`via` among them). */
  attributes?: Record<string, string>;
  /** This delivery's receipt handle (to keep it on the queue for a delay). */
  receiptHandle?: string;
  /** When SQS first delivered the message (ms; `ApproximateFirstReceiveTimestamp`). */
  firstReceivedAt?: number;
}

export interface Worker {
  /** Process one queue message; throws to let the queue retry it. */
  processRecord(body: string, delivery: number | Delivery): Promise<FlowResult | Handled>;
  handler(event: SQSEvent): Promise<SQSBatchResponse>;
}

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** What every step of one worker shares: its options with the defaults applied, and the flow's deps. */
interface WorkerContext extends Omit<WorkerOptions, 'retry' | 'random' | 'wallNow'> {
  retry: RetrySettings;
  random: () => number;
  wallNow: () => number;
  /** Built by `flow.setup` on first use, then reused by every message. */
  deps?: unknown;
}

/** The put-off record of a subject, which the later records of that subject in the batch wait behind. */
interface Ahead {
  eventId: string;
  delaySeconds: number;
  /**
   * How long the records behind may wait: the wait budget behind a waiting record, but the retry
   * horizon behind one held by an open breaker or retrying a vendor failure (it is kept that long, and
   * a maintenance window of hours must not park the records behind it as needs-attention).
   */
  budgetSeconds: number;
}

export function createWorker(options: WorkerOptions): Worker {
  const w: WorkerContext = {
    ...options,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    random: options.random ?? Math.random,
    wallNow: options.wallNow ?? Date.now,
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
/** Events on a later delivery (receive count > 1): see `keepsBody`. */
const redelivered = new WeakSet<FlowEvent>();

/** Outcomes after which the event comes back: its next entry says more. */
const INTERMEDIATE: ReadonlySet<string> = new Set(['waiting', 'held', 'retrying', 'failed']);

/**
 * Whether an entry keeps the event's body (`millwright show`): the first delivery's entry and every
 * final outcome's do; the put-offs of later deliveries (a held event comes back every probe during
 * an outage) do not, so they cost one write unit each, not one per KB of body.
 */
const keepsBody = (event: FlowEvent, outcome: string) =>
  !redelivered.has(event) || !INTERMEDIATE.has(outcome);

/** A run-log entry about one event. */
const runEntry = (
  w: WorkerContext,
  event: FlowEvent | undefined,
  outcome: string,
  message: string,
): RunLogEntry => {
  const via = event ? vias.get(event) : undefined;
  const body = event && keepsBody(event, outcome) ? bodies.get(event) : undefined;
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
    if (d.receiveCount > 1) redelivered.add(event);
    // An event delivered well past its horizon: the worker's last put-off ends on the horizon, so
    // every delivery since died (a crash, a timeout) before the worker could answer. It goes to the
    // DLQ instead of dying again.
    const age = ageSeconds(w, d);
    if (d.receiveCount > 1 && age > w.retry.horizonSeconds + CRASH_GRACE_SECONDS && w.deadLetter) {
      const reason = `not completed within its retry horizon (${duration(w.retry.horizonSeconds)}) after ${d.receiveCount - 1} deliveries`;
      const handled = await deadLetter(
        w,
        body,
        event,
        d,
        reason,
        `${reason}; moved to the dead-letter queue`,
      );
      if (handled) return handled;
    }
    w.deps ??= flow.setup(env, config);
    const result = await flow.handle(event, {
      flowId: flow.id,
      config,
      deps: w.deps,
      state: env.state,
      log: env.log,
      now: env.now,
      ...(via ? { via } : {}),
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

/** Past the horizon by more than a Lambda's longest run: no put-off of the worker's ends that late. */
const CRASH_GRACE_SECONDS = 900;

/** Seconds since SQS first delivered the message (0 when unknown). */
function ageSeconds(w: WorkerContext, delivery: Delivery): number {
  const legacy = legacyFirstSeen(delivery.attributes?.[HISTORY_ATTRIBUTE]);
  const first = Math.min(
    delivery.firstReceivedAt ?? Number.POSITIVE_INFINITY,
    legacy ?? Number.POSITIVE_INFINITY,
  );
  return Number.isFinite(first) ? Math.max(0, (w.wallNow() - first) / 1000) : 0;
}

/** Deal with a failure as the table in the header says; throws only to leave it to SQS. */
async function failed(
  w: WorkerContext,
  body: string,
  event: FlowEvent | undefined,
  delivery: Delivery,
  error: unknown,
  minDelaySeconds = 0,
  waitBudgetSeconds = w.retry.waitBudgetSeconds,
): Promise<Handled> {
  const kind = classify(error);
  if (kind === 'poison' && w.deadLetter) {
    const reason = describe(error);
    const message = `not retryable, moved to the dead-letter queue on attempt ${delivery.receiveCount}: ${reason}`;
    const handled = await deadLetter(w, body, event, delivery, reason, message);
    if (handled) return handled;
  }
  if (kind === 'park' && event) return park(w, body, event, error);
  if (event && w.delay && delivery.receiptHandle) {
    let handled: Handled | undefined;
    if (kind === 'wait') {
      handled = await wait(w, body, event, delivery, error, minDelaySeconds, waitBudgetSeconds);
    } else if (kind === 'held' && error instanceof CircuitOpenError) {
      handled = await hold(w, body, event, delivery, error, minDelaySeconds);
    } else if (kind === 'transient' || kind === 'unknown') {
      handled = await retryLater(w, body, event, delivery, error, kind, minDelaySeconds);
    }
    if (handled) return handled;
  }
  return leaveToSqs(w, event, delivery, error);
}

/** Its outcome once the message is on the DLQ (logged and in the run log); undefined (logged) if refused. */
async function deadLetter(
  w: WorkerContext,
  body: string,
  event: FlowEvent | undefined,
  delivery: Delivery,
  reason: string,
  message: string,
): Promise<Handled | undefined> {
  try {
    // The reason travels as an SQS attribute that `millwright dlq` prints: redacted like the run log.
    await w.deadLetter?.(body, redact(reason, []));
  } catch (sendError) {
    say(w, 'error', 'could not dead-letter a failure; SQS will retry it', event, {
      error: String(sendError),
    });
    return undefined;
  }
  if (w.remove && delivery.receiptHandle) {
    // Not fatal: the batch's answer deletes it too, unless the invocation dies before answering.
    await w.remove(delivery.receiptHandle).catch((removeError: unknown) =>
      say(w, 'warn', 'dead-lettered, but not yet taken off its queue', event, {
        error: String(removeError),
      }),
    );
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
  // Redacted like the run log: the parked item is what `millwright parked` shows an operator.
  const reason = redact(why?.reason ?? (error instanceof Error ? error.message : String(error)), []);
  const check = redact(
    why?.check ?? (error instanceof NeedsAttentionError ? error.check : 'the event and the vendor records'),
    [],
  );
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

/** Keep the delivery on the queue for `delaySeconds`; false (logged) when SQS refused it. */
async function keep(
  w: WorkerContext,
  event: FlowEvent,
  delivery: Delivery,
  delaySeconds: number,
): Promise<boolean> {
  try {
    await w.delay?.(delivery.receiptHandle ?? '', delaySeconds);
    return true;
  } catch (sendError) {
    say(w, 'error', 'could not delay the event on its queue; SQS will redeliver it', event, {
      error: String(sendError),
    });
    return false;
  }
}

/** The delay cut so that the next try falls no later than the horizon. */
const withinHorizon = (w: WorkerContext, delaySeconds: number, age: number): number =>
  clampDelay(Math.min(delaySeconds, Math.max(1, w.retry.horizonSeconds - age)));

/** The horizon as words, from this event's first delivery. */
const horizonWords = (w: WorkerContext, age: number) =>
  `${duration(age)} of its ${duration(w.retry.horizonSeconds)} retry horizon`;

async function wait(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  delivery: Delivery,
  error: unknown,
  minDelaySeconds: number,
  budgetSeconds: number,
): Promise<Handled | undefined> {
  const what = waitingFor(error);
  const { retry } = w;
  const age = ageSeconds(w, delivery);
  if (age > budgetSeconds) {
    return park(w, body, event, error, {
      reason: `waited ${duration(age)} (${delivery.receiveCount} deliveries) for ${what}, longer than the ${duration(budgetSeconds)} allowed`,
      check: `whether ${what} ever happened; replay the event once it has, or discard it`,
    });
  }
  const n = delivery.receiveCount;
  const delay = clampDelay(
    Math.max(backoffSeconds(n, retry, w.random, MAX_WAIT_DELAY_SECONDS), minDelaySeconds),
  );
  if (!(await keep(w, event, delivery, delay))) return undefined;
  const message = `waiting for ${what}; try ${n + 1} in ${delay}s (waited ${duration(age)} of ${duration(budgetSeconds)})`;
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

/** The vendor's breaker is open: back after its probe, no attempt spent; the horizon still counts. */
async function hold(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  delivery: Delivery,
  error: CircuitOpenError,
  minDelaySeconds: number,
): Promise<Handled | undefined> {
  const age = ageSeconds(w, delivery);
  if (age >= w.retry.horizonSeconds && w.deadLetter) {
    const message = `held for ${duration(age)} while ${error.key} stayed unavailable, past its ${duration(w.retry.horizonSeconds)} retry horizon; moved to the dead-letter queue: ${error.message}`;
    return deadLetter(w, body, event, delivery, `retry horizon passed: ${describe(error)}`, message);
  }
  const delay = withinHorizon(w, Math.max(holdSeconds(error, w.random), minDelaySeconds), age);
  if (!(await keep(w, event, delivery, delay))) return undefined;
  const message = `held: ${error.message}; back in ${delay}s, not counted as an attempt (${horizonWords(w, age)})`;
  await report(w, 'info', event, 'held', message, { breaker: error.key });
  return { outcome: 'held', message, delaySeconds: delay };
}

async function retryLater(
  w: WorkerContext,
  body: string,
  event: FlowEvent,
  delivery: Delivery,
  error: unknown,
  kind: 'transient' | 'unknown',
  minDelaySeconds: number,
): Promise<Handled | undefined> {
  const { retry } = w;
  const reason = describe(error);
  const age = ageSeconds(w, delivery);
  const n = await failedAttempts(w, event, delivery);
  if (kind === 'unknown' && n >= w.maxReceiveCount && w.deadLetter) {
    const message = `failed ${n} attempts with an unexpected error, moved to the dead-letter queue: ${reason}`;
    return deadLetter(w, body, event, delivery, `unexpected error: ${reason}`, message);
  }
  if (age >= retry.horizonSeconds && w.deadLetter) {
    const message = `gave up after ${n} failed attempts over ${duration(age)} (retry horizon ${duration(retry.horizonSeconds)}), moved to the dead-letter queue: ${reason}`;
    return deadLetter(w, body, event, delivery, `retry horizon passed: ${reason}`, message);
  }
  const wanted = retryAfterSeconds(error, retry) ?? backoffSeconds(n, retry, w.random);
  const delay = withinHorizon(w, Math.max(wanted, minDelaySeconds), age);
  if (!(await keep(w, event, delivery, delay))) return undefined;
  const message = `attempt ${n} failed: ${reason}; next in ${delay}s (${horizonWords(w, age)})`;
  if (kind === 'unknown') {
    say(w, 'error', `failed: ${message}`, event, { retryable: false });
    await record(w, event, 'failed', message);
  } else await report(w, 'warn', event, 'retrying', message, { retryable: true });
  return { outcome: 'retrying', message, delaySeconds: delay };
}

/**
 * This event's failed attempts so far, this one included: a counter in the state table per event and
 * first delivery (a replay from the DLQ starts afresh). If the table cannot count, the receive count
 * stands in (it also counts holds and waits, so it can only lengthen the delay).
 */
async function failedAttempts(w: WorkerContext, event: FlowEvent, delivery: Delivery): Promise<number> {
  try {
    const key = `${event.id}@${delivery.firstReceivedAt ?? 'unknown'}`;
    return await w.env.state.countFailedAttempt(w.flow.id, key, w.retry.horizonSeconds + 86_400);
  } catch (error) {
    say(w, 'warn', 'could not count the failed attempt; using the receive count', event, {
      error: String(error),
    });
    return Math.max(1, delivery.receiveCount);
  }
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
  // Without a delay sender, the queue's redrive count is maxReceiveCount: this is the last delivery.
  const final = !w.delay && receiveCount >= maxReceiveCount;
  // Contention with a concurrent worker is expected: the retry finds the effect done or free.
  const waiting = error instanceof ClaimBusyError && !final;
  const message = waiting
    ? `another worker is performing this right now; trying again shortly (attempt ${receiveCount})`
    : `attempt ${receiveCount}${w.delay ? '' : `/${maxReceiveCount}`}: ${describe(error)}`;
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
    if (delivery.receiveCount > 1) redelivered.add(event);
  } catch {
    // Unreadable: it has no subject to keep in order; the usual path dead-letters it.
    return processRecord(w, body, delivery);
  }
  const behind = new NotReadyError(
    `earlier event ${ahead.eventId} of the same subject (${event.subject ?? 'message group'}) to be processed first`,
  );
  // One second later than the event ahead, so it is back on the queue after it.
  return failed(w, body, event, delivery, behind, ahead.delaySeconds + 1, ahead.budgetSeconds);
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

/**
 * One subject's records, one at a time; once one is put off, the rest are held back behind it. A
 * record kept on the queue for a delay is a batch item failure too: Lambda must not delete it.
 */
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
        failed.add(r.messageId);
        ahead = {
          eventId: ahead?.eventId ?? eventIdOf(r),
          delaySeconds: result.delaySeconds,
          budgetSeconds: ahead?.budgetSeconds ?? budgetBehind(w, result.outcome),
        };
      }
    } catch {
      failed.add(r.messageId);
      ahead ??= {
        eventId: eventIdOf(r),
        delaySeconds: w.retry.baseDelaySeconds,
        budgetSeconds: budgetBehind(w, 'retrying'),
      };
    }
  }
}

/** How long records may wait behind a record put off with `outcome` (see Ahead). */
const budgetBehind = (w: WorkerContext, outcome: Handled['outcome']): number =>
  outcome === 'waiting'
    ? w.retry.waitBudgetSeconds
    : Math.max(w.retry.waitBudgetSeconds, w.retry.horizonSeconds);

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
  const first = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
  return {
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? '1'),
    attributes,
    ...(record.receiptHandle ? { receiptHandle: record.receiptHandle } : {}),
    ...(Number.isFinite(first) && first > 0 ? { firstReceivedAt: first } : {}),
  };
}
