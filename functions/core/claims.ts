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
 *
 * Inside `perform`, each non-idempotent write goes through `sendOnce`: an intent recorded before
 * the call, a look-up of the earlier effect when an intent is found, and NeedsAttentionError (the
 * event parked visibly) when the outcome of an earlier send cannot be known. `sendAtMostOnce` is the
 * older form that gives up on ambiguity (kept for flows not moved off it yet).
 */
import { randomUUID } from 'node:crypto';
import { AmbiguousWriteError, ClaimBusyError, NeedsAttentionError, VendorResponseError } from './errors.ts';
import type { ClaimResult, StateStore } from './state.ts';

/** Runs `tick` every `ms` until the returned function is called (setInterval; tests pass their own). */
export type Every = (tick: () => void, ms: number) => () => void;

const everyInterval: Every = (tick, ms) => {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
};

/** A claim's lease; renewed every third of it while `find` + `perform` run (see `once`). */
export const CLAIM_LEASE_MS = 60_000;

export interface OnceOptions {
  key: string;
  /**
   * How long the claim stays held if its holder stops renewing it (a crash): a retry takes it over
   * after this. Renewed while `find` + `perform` run, so a slow one is never taken over mid-way.
   */
  leaseMs?: number;
  /** The renewal timer (tests drive it by hand). */
  every?: Every;
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
  const leaseMs = options.leaseMs ?? CLAIM_LEASE_MS;
  const claim = await store.acquireClaim(options.key, owner, leaseMs);
  if (claim.status === 'done') return { result: claim.result, how: 'duplicate' };
  if (claim.status === 'busy') throw new ClaimBusyError(options.key);
  const lease = holdLease(store, options.key, owner, leaseMs, options.every ?? everyInterval);
  try {
    if (claim.attempts > 1 && options.find) {
      const found = await options.find();
      if (found) {
        await lease.stop();
        await store.completeClaim(options.key, found);
        return { result: found, how: 'found' };
      }
    }
    const result = await options.perform();
    await lease.stop();
    await store.completeClaim(options.key, result);
    return { result, how: 'performed' };
  } catch (error) {
    await lease.stop();
    await store.releaseClaim(options.key, owner).catch(() => undefined);
    throw error;
  }
}

/**
 * Keep a claim's lease while its holder works: a fixed lease shorter than a slow `perform` (rate
 * limit waits, retries, a worker timeout of up to 900 s) would let a concurrent delivery take the
 * claim over mid-way and act a second time. Renewed every third of the lease; `stop` waits for a
 * renewal under way, so none lands after the claim is completed or released.
 */
function holdLease(store: StateStore, key: string, owner: string, leaseMs: number, every: Every) {
  let renewing: Promise<unknown> = Promise.resolve();
  const cancel = every(() => {
    renewing = renewing.then(() => store.renewClaim(key, owner, leaseMs)).catch(() => undefined);
  }, leaseMs / 3);
  return {
    async stop() {
      cancel();
      await renewing;
    },
  };
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
    if (mayHaveActed(error)) return { status: 'unconfirmed' };
    await store.forgetLatest(INTENTS, key);
    throw error;
  }
}

const INTENTS = 'send-intent';

/**
 * Whether a failed send may have acted: unanswered (AmbiguousWriteError), or answered 2xx with a body
 * we could not read (a retryable VendorResponseError: a proxy's page during a maintenance window, an
 * answer without the id we rely on). A 2xx says the vendor took the write, so it is not sent blindly
 * again. A VendorResponseError the vendor meant as a refusal (not retryable) certainly failed.
 */
const mayHaveActed = (error: unknown): boolean =>
  error instanceof AmbiguousWriteError || (error instanceof VendorResponseError && error.retryable);

/** What a look-up for an earlier write found: it, certainly not it, or no way to tell. */
export type Lookup<T> =
  | { status: 'found'; value: T }
  | { status: 'absent' }
  | { status: 'unknown'; why: string };

export interface SendOnceOptions<T> {
  /** One non-idempotent write (a create, a note): the key of its intent record. */
  key: string;
  send: () => Promise<T>;
  /**
   * Look for the effect of an earlier send whose outcome is unknown (a marker read back, a record
   * found by a unique field). Omit it when the vendor offers no way: then an unknown outcome parks.
   */
  lookup?: () => Promise<Lookup<T>>;
  /** What the write is, for people: `Deepomatic work order upkeep-WO1 for UpKeep work order WO1`. */
  what: string;
  /** What an operator should check before replaying a parked event (NeedsAttentionError.check). */
  check: string;
}

/**
 * A non-idempotent write sent at most once per key, never lost silently: call it inside `once`'s
 * `perform`. An intent is recorded just before the call (kept after it, so a crash before the claim
 * is completed is seen too). A later attempt that finds an intent looks for the earlier effect:
 * `found` returns it, `absent` sends again, `unknown` (or no `lookup`) throws NeedsAttentionError.
 * An unanswered call (AmbiguousWriteError), or one answered 2xx with a body we cannot read, is
 * rethrown when a look-up exists (the retry looks first) and parks the event when none does. A call that certainly failed clears the intent, so
 * the retry makes it.
 */
export async function sendOnce<T>(
  store: StateStore,
  options: SendOnceOptions<T>,
): Promise<{ how: 'sent' | 'found'; value: T }> {
  const { key, what, check } = options;
  const earlier = await store.getLatest<{ at: string }>(INTENTS, key);
  if (earlier) {
    const seen: Lookup<T> = options.lookup
      ? await options.lookup()
      : { status: 'unknown', why: 'the vendor offers no way to look it up' };
    if (seen.status === 'found') return { how: 'found', value: seen.value };
    if (seen.status === 'unknown') {
      throw new NeedsAttentionError(
        `${what}: sent at ${earlier.at} without a clear answer, and ${seen.why}; not sent again`,
        check,
      );
    }
  }
  await store.putLatest(INTENTS, [{ id: key, data: { at: new Date().toISOString() } }], 90);
  try {
    return { how: 'sent', value: await options.send() };
  } catch (error) {
    if (mayHaveActed(error)) {
      if (options.lookup) throw error;
      throw new NeedsAttentionError(
        `${what}: sent without a clear answer (${(error as Error).message}), and the vendor offers no way to look it up; not sent again`,
        check,
        { cause: error },
      );
    }
    await store.forgetLatest(INTENTS, key);
    throw error;
  }
}

/**
 * The operator's command that clears an unconfirmed send (`millwright repair forget-send`), as a
 * parked event's check names it: the operator reads the check in `parked list`, not this code.
 */
export const forgetSendCommand = (key: string): string => `npx millwright repair forget-send "${key}"`;

/**
 * An operator checked the vendor after a parked unknown outcome and found no effect: forget the
 * intent, so replaying the event sends the write again.
 */
export const forgetUnconfirmedSend = (store: StateStore, key: string): Promise<void> =>
  store.forgetLatest(INTENTS, key);

/** Is an unconfirmed send recorded under `key` (what `forgetUnconfirmedSend` would clear)? */
export const hasUnconfirmedSend = async (store: StateStore, key: string): Promise<boolean> =>
  (await store.getLatest(INTENTS, key)) !== undefined;
