/**
 * How the worker retries an event without spending its SQS receive count: the same body goes back
 * on the flow's own queue with `DelaySeconds` and a `retryHistory` message attribute, and the
 * delivery in hand is acknowledged. SQS's receive count (and its redrive to the DLQ) is then left
 * for what nobody classified: an error that is not ours, or a worker that died mid-record.
 *
 * Two kinds of retry, each with its own bound:
 * - wait: the event is fine but cannot run yet (ClaimBusyError: another worker holds the claim;
 *   NotReadyError: it depends on something not there yet). Past `waitBudgetSeconds` it is parked
 *   as needs-attention, naming what it waited for.
 * - transient: the vendor or the network failed in a way a retry can mend (429, 5xx, unreachable,
 *   ambiguous write, any retryable MillwrightError). Past `transientBudgetSeconds` it goes to the
 *   DLQ with its reason.
 * Budgets count the delays the worker asked for (deterministic; the time spent in the queue and in
 * processing comes on top).
 */
import {
  ClaimBusyError,
  MillwrightError,
  NeedsAttentionError,
  NotReadyError,
  VendorHttpError,
} from '../core/errors.ts';

export interface RetrySettings {
  /** First delay; each further retry of the same kind doubles it. */
  baseDelaySeconds: number;
  /** SQS allows at most 900 s of DelaySeconds. */
  maxDelaySeconds: number;
  /** Total delay spent on transient failures before the event goes to the DLQ. */
  transientBudgetSeconds: number;
  /** Total delay spent waiting (contention, not ready) before the event is parked. */
  waitBudgetSeconds: number;
}

/**
 * Transient failures get hours (a vendor outage); waits get longer still, so an event that waits for
 * another flow's result outlives that flow's own transient retries.
 */
export const DEFAULT_RETRY: RetrySettings = {
  baseDelaySeconds: 10,
  maxDelaySeconds: 900,
  transientBudgetSeconds: 6 * 3600,
  waitBudgetSeconds: 8 * 3600,
};

export const MAX_DELAY_SECONDS = 900;

/** What the worker does with a failure. */
export type FailureKind = 'wait' | 'transient' | 'park' | 'poison' | 'unknown';

export function classify(error: unknown): FailureKind {
  if (error instanceof NeedsAttentionError) return 'park';
  if (error instanceof ClaimBusyError || error instanceof NotReadyError) return 'wait';
  if (error instanceof MillwrightError) return error.retryable ? 'transient' : 'poison';
  return 'unknown';
}

/** What the event waits for, in words for the run log. */
export function waitingFor(error: unknown): string {
  if (error instanceof NotReadyError) return error.waitingFor;
  if (error instanceof ClaimBusyError) return `another worker to finish ${error.key}`;
  return 'an earlier event';
}

/** The retry history an event carries from one re-send to the next. */
export interface RetryHistory {
  /** When the worker first failed to complete it (ISO). */
  firstSeen: string;
  waits: number;
  waitedSeconds: number;
  retries: number;
  retriedSeconds: number;
}

export const HISTORY_ATTRIBUTE = 'retryHistory';

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

/** Read the history attribute; a missing or unreadable one starts afresh (never blocks the event). */
export function readHistory(value: string | undefined, now: Date): RetryHistory {
  let raw: Record<string, unknown> = {};
  if (value) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null) raw = parsed as Record<string, unknown>;
    } catch {
      // Starting afresh only resets the budgets: the event still runs.
    }
  }
  return {
    firstSeen:
      typeof raw.firstSeen === 'string' && !Number.isNaN(Date.parse(raw.firstSeen))
        ? raw.firstSeen
        : now.toISOString(),
    waits: count(raw.waits),
    waitedSeconds: count(raw.waitedSeconds),
    retries: count(raw.retries),
    retriedSeconds: count(raw.retriedSeconds),
  };
}

export const writeHistory = (history: RetryHistory): string => JSON.stringify(history);

/** Exponential backoff for the n-th retry of a kind (n >= 1), with equal jitter, in whole seconds. */
export function backoffSeconds(
  n: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): number {
  const cap = Math.min(settings.maxDelaySeconds, MAX_DELAY_SECONDS);
  const full = Math.min(cap, settings.baseDelaySeconds * 2 ** Math.max(0, n - 1));
  return clampDelay(full / 2 + (random() * full) / 2);
}

export const clampDelay = (seconds: number): number =>
  Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(seconds)));

/**
 * The vendor's Retry-After, when it gave one, up to `maxDelaySeconds` (a longer one is met by the
 * next attempt's answer: the vendor says again how long to wait, and the budget counts it all).
 */
export function retryAfterSeconds(error: unknown, settings: RetrySettings): number | undefined {
  if (error instanceof VendorHttpError && error.retryAfterMs !== undefined) {
    return clampDelay(Math.min(error.retryAfterMs / 1000, settings.maxDelaySeconds));
  }
  return undefined;
}

/** "2h 5m", "45s": durations in run-log messages. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return s > 0 ? `${m}m ${s}s` : `${m}m`;
}
