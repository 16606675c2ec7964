/**
 * The time the current invocation has left (a Lambda's, or the sandbox's stand-in for it), for the
 * vendor HTTP client: it does not start an attempt, or sleep for a retry, that could not end in that
 * time. Without this a vendor that never answers (10 s timeouts, 4 attempts) outlasts a 30 s worker:
 * Lambda kills the invocation, the whole batch comes back after the visibility timeout with no
 * run-log entry, and the breaker, seeing two failures per kill, may never open. Given up in time, the
 * call fails with a retryable error the worker records and delays like any other.
 *
 * Held in AsyncLocalStorage, so the clients built once per process (module scope) read the deadline
 * of the invocation they run in, and concurrent records of one batch share it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Kept for the worker's own work after a call gives up (run log, ChangeMessageVisibility, DLQ). */
export const INVOCATION_RESERVE_MS = 3000;

const invocation = new AsyncLocalStorage<{ endsAtMs: number; now: () => number }>();

/** Run `fn` as an invocation that must end by `endsAtMs` (wall-clock ms). */
export function withInvocationDeadline<T>(
  endsAtMs: number,
  fn: () => Promise<T>,
  now = Date.now,
): Promise<T> {
  return invocation.run({ endsAtMs, now }, fn);
}

/** Milliseconds a vendor call may still use (the reserve kept back), or undefined outside an invocation. */
export function invocationTimeLeftMs(): number | undefined {
  const current = invocation.getStore();
  return current ? current.endsAtMs - current.now() - INVOCATION_RESERVE_MS : undefined;
}
