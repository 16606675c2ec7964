/**
 * Exactly-once side effects on vendors that have no idempotency keys.
 *
 * 1. Claim the effect's key in DynamoDB (a conditional write with a lease).
 * 2. If the claim is already done, return its recorded result: a duplicate, not a second action.
 * 3. If an earlier attempt may have acted (attempts > 1: timeout after send, crash after the call),
 *    look for the effect first (`find`, e.g. a correlation marker read back from the vendor).
 * 4. Otherwise act (`perform`), then record the result.
 * A concurrent worker meets a held lease and gets ClaimBusyError, so its message is retried later
 * and then sees `done`.
 */
import { randomUUID } from 'node:crypto';
import { AmbiguousWriteError, ClaimBusyError } from './errors.ts';
import type { ClaimResult, StateStore } from './state.ts';

export interface OnceOptions {
  key: string;
  /** Longer than the slowest `find` + `perform`, shorter than the queue's visibility timeout. */
  leaseMs?: number;
  owner?: string;
  /** Look for an effect an earlier attempt may have made. */
  find?: () => Promise<ClaimResult | undefined>;
  perform: () => Promise<ClaimResult>;
}

export interface OnceResult {
  result: ClaimResult;
  /** `performed`: acted now; `found`: an earlier attempt had acted; `duplicate`: already recorded. */
  how: 'performed' | 'found' | 'duplicate';
}

const processOwner = randomUUID();

export async function once(store: StateStore, options: OnceOptions): Promise<OnceResult> {
  const owner = options.owner ?? `${processOwner}:${randomUUID()}`;
  const claim = await store.acquireClaim(options.key, owner, options.leaseMs ?? 60_000);
  if (claim.status === 'done') return { result: claim.result, how: 'duplicate' };
  if (claim.status === 'busy') throw new ClaimBusyError(options.key);
  try {
    if (claim.attempts > 1 && options.find) {
      const found = await options.find();
      if (found) {
        await store.completeClaim(options.key, found);
        return { result: found, how: 'found' };
      }
    }
    const result = await options.perform();
    await store.completeClaim(options.key, result);
    return { result, how: 'performed' };
  } catch (error) {
    await store.releaseClaim(options.key, owner).catch(() => undefined);
    throw error;
  }
}

/**
 * A create the vendor offers no way to look up afterwards (no id in the answer, no idempotency key,
 * no search): call it inside `once`'s `perform`. An intent is recorded just before the call; an
 * attempt that finds the intent of an earlier one does not call again, and an unanswered call
 * (AmbiguousWriteError) is not repeated either: both come back `unconfirmed` (the effect is then
 * learned another way, e.g. from a webhook). A call that certainly failed clears the intent, so
 * the retry makes it.
 */
export async function sendAtMostOnce<T>(
  store: StateStore,
  key: string,
  send: () => Promise<T>,
): Promise<{ status: 'sent'; value: T } | { status: 'unconfirmed' }> {
  if (await store.getLatest<{ at: string }>(INTENTS, key)) return { status: 'unconfirmed' };
  await store.putLatest(INTENTS, [{ id: key, data: { at: new Date().toISOString() } }], 90);
  try {
    return { status: 'sent', value: await send() };
  } catch (error) {
    if (error instanceof AmbiguousWriteError) return { status: 'unconfirmed' };
    await store.forgetLatest(INTENTS, key);
    throw error;
  }
}

const INTENTS = 'send-intent';
