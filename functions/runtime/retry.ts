/**
 * How the worker retries an event: the message stays on its queue and is made visible again later
 * (ChangeMessageVisibility on the delivery in hand, reported as a batch item failure so Lambda does
 * not delete it). The body, its attributes and SQS's `ApproximateFirstReceiveTimestamp` stay as they
 * were, so the time since the first delivery is known on every delivery without any state.
 *
 * Four kinds of put-off, each bounded by time, never by a small receive count:
 * - transient: the vendor or the network failed in a way a retry can mend (429, 5xx, unreachable,
 *   ambiguous write, any retryable MillwrightError), or AWS throttled a request (isAwsThrottling). Attempt n waits base * 2^(n-1) with equal
 *   jitter, or the vendor's Retry-After, up to `maxDelaySeconds` (SQS allows 12 h per receive). n is
 *   the event's count of failed attempts (one conditional counter in the state table, written on
 *   failures only). The event is retried until its retry horizon (`horizonSeconds` after its first
 *   delivery, default 24 h; per flow `flows.<id>.retryHorizonSeconds`) and goes to the DLQ only once
 *   the horizon has passed: the last delay is cut so that one attempt falls on the horizon.
 * - held: the vendor's circuit breaker is open, or the account is paused by a 429's Retry-After
 *   (CircuitOpenError). Not an attempt: the event comes back after the breaker's next probe or the
 *   pause (plus jitter, so the held events do not all return at once), and only the horizon sends it
 *   to the DLQ.
 * - wait: the event is fine but cannot run yet (ClaimBusyError: another worker holds the claim;
 *   NotReadyError: it depends on something not there yet). Past `waitBudgetSeconds` since its first
 *   delivery it is parked as needs-attention, naming what it waited for.
 * - unknown: an error that is not ours (a bug, an SDK error). Retried with backoff like a transient
 *   failure, but dead-lettered after `maxReceiveCount` failed attempts: a person must look at it.
 * Non-retryable errors (poison) go to the DLQ on the first failure with their reason.
 *
 * SQS's own redrive (the queue's `maxReceiveCount`, REDRIVE_BACKSTOP_RECEIVES) stays as a backstop
 * for what the worker never sees fail: an invocation that dies on the event every time. Such an
 * event is also dead-lettered by the horizon check at the start of its next delivery.
 */
import {
  CircuitOpenError,
  ClaimBusyError,
  causeChain,
  MillwrightError,
  NeedsAttentionError,
  NotReadyError,
  VendorHttpError,
} from '../core/errors.ts';
import { RateLimitedError } from '../core/rate-limit.ts';

export interface RetrySettings {
  /** First delay; each further failed attempt doubles it. */
  baseDelaySeconds: number;
  /** The longest single delay (SQS caps a receive's visibility at 12 h; see MAX_DELAY_SECONDS). */
  maxDelaySeconds: number;
  /** How long after its first delivery an event is retried before it goes to the DLQ. */
  horizonSeconds: number;
  /** How long after its first delivery an event may wait (contention, not ready) before it is parked. */
  waitBudgetSeconds: number;
}

export const DEFAULT_RETRY: RetrySettings = {
  baseDelaySeconds: 10,
  maxDelaySeconds: 12 * 3600 - 15 * 60,
  horizonSeconds: 24 * 3600,
  waitBudgetSeconds: 8 * 3600,
};

/**
 * SQS refuses a visibility timeout of more than 12 h counted from the receive; by the time the worker
 * asks, the invocation has run for up to 15 minutes (Lambda's limit), so it asks for at most this.
 */
export const MAX_DELAY_SECONDS = 12 * 3600 - 15 * 60;
/** Longest wait between two tries of a waiting event (what it waits for is usually minutes away). */
export const MAX_WAIT_DELAY_SECONDS = 900;
/** The longest horizon: the flow queues keep messages 14 days (lib/constructs/flow-worker.ts). */
export const MAX_HORIZON_SECONDS = 13 * 86_400;
/**
 * The flow queue's redrive count: SQS's maximum. Holds and waits are deliveries too, so a small
 * count would dead-letter an event held through a long outage; the worker decides instead.
 */
export const REDRIVE_BACKSTOP_RECEIVES = 1000;

/** What the worker does with a failure. */
export type FailureKind = 'wait' | 'held' | 'transient' | 'park' | 'poison' | 'unknown';

export function classify(error: unknown): FailureKind {
  if (error instanceof NeedsAttentionError) return 'park';
  if (error instanceof ClaimBusyError || error instanceof NotReadyError) return 'wait';
  if (error instanceof CircuitOpenError) return 'held';
  if (error instanceof MillwrightError) return error.retryable ? 'transient' : 'poison';
  if (isAwsThrottling(error)) return 'transient';
  return 'unknown';
}

/** The AWS SDK's errors for a request over a table's capacity or an account's request rate. */
const AWS_THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/**
 * A throttled AWS request that the SDK's own retries did not get through (a provisioned state table
 * under a burst, until auto scaling catches up), or an error caused by one. It mends by itself, so
 * it is retried to the horizon like a vendor's 429, not dead-lettered after `maxReceiveCount`.
 */
export function isAwsThrottling(error: unknown): boolean {
  for (const e of causeChain(error)) if (AWS_THROTTLING.has(e.name)) return true;
  return false;
}

/** What the event waits for, in words for the run log. */
export function waitingFor(error: unknown): string {
  if (error instanceof NotReadyError) return error.waitingFor;
  if (error instanceof ClaimBusyError) return `another worker to finish ${error.key}`;
  return 'an earlier event';
}

/**
 * The attribute earlier versions re-sent events with (`{firstSeen, ...}`): an event re-sent by them
 * keeps its first-seen time, so its horizon is not restarted by the upgrade.
 */
export const HISTORY_ATTRIBUTE = 'retryHistory';

/** `firstSeen` of a legacy retry-history attribute (ms), if it holds a readable one. */
export function legacyFirstSeen(value: string | undefined): number | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as { firstSeen?: unknown };
    const at = typeof parsed?.firstSeen === 'string' ? Date.parse(parsed.firstSeen) : Number.NaN;
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}

/** Exponential backoff for the n-th failed attempt (n >= 1), with equal jitter, in whole seconds. */
export function backoffSeconds(
  n: number,
  settings: Pick<RetrySettings, 'baseDelaySeconds' | 'maxDelaySeconds'>,
  random: () => number = Math.random,
  cap = settings.maxDelaySeconds,
): number {
  const limit = Math.min(cap, MAX_DELAY_SECONDS);
  const full = Math.min(limit, settings.baseDelaySeconds * 2 ** Math.min(40, Math.max(0, n - 1)));
  return clampDelay(full / 2 + (random() * full) / 2);
}

export const clampDelay = (seconds: number): number =>
  Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(seconds)));

/**
 * The vendor's Retry-After (or the shared rate limiter's come-back time, which carries it), when it
 * gave one, up to `maxDelaySeconds`. Looked for along the cause chain too: an error that wraps the
 * refused answer (a split bulk write) must not turn a wait of minutes into a 10 s backoff.
 */
export function retryAfterSeconds(error: unknown, settings: RetrySettings): number | undefined {
  for (const e of causeChain(error)) {
    const ms = e instanceof VendorHttpError || e instanceof RateLimitedError ? e.retryAfterMs : undefined;
    if (ms !== undefined) return clampDelay(Math.min(ms / 1000, settings.maxDelaySeconds));
  }
  return undefined;
}

/**
 * How long a held event stays off its queue: until the breaker's probe, plus up to half as much
 * again (at least a few seconds) so the held events come back spread out after the probe.
 */
export function holdSeconds(error: CircuitOpenError, random: () => number = Math.random): number {
  const untilProbe = Math.max(1, error.retryAfterMs / 1000);
  return clampDelay(untilProbe + random() * Math.max(5, untilProbe / 2));
}

/** "2h 5m", "45s": durations in run-log messages. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return s > 0 ? `${m}m ${s}s` : `${m}m`;
}
