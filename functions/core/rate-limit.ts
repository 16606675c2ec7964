/**
 * Shared rate limiter: one token bucket per vendor account, kept in ONE DynamoDB item of the state table
 * (pk `RATE#<key>`, sk `BUCKET`, doc { tokens, updatedAtMs, pausedUntilMs } + version) and shared by every
 * concurrent Lambda that calls that account. A vendor that limits per IP (Click Maint: 300 requests per
 * 5 minutes per IP) sees the sum of all our workers, so the budget must live outside any one process.
 *
 * Algorithm (all state changes are versioned conditional writes; a lost race re-reads and retries):
 * - The bucket holds at most `burst` tokens and refills at (limit - burst) / windowSeconds per second, so
 *   any window of the vendor's length grants at most burst + refill * window = `limit` requests.
 * - acquire(): read the item (absent = a full bucket), refill by the elapsed wall-clock time; while
 *   paused, wait until `pausedUntilMs`; with a whole token, take it by a conditional write; otherwise
 *   wait the time until the next token. A call waits at most `maxWaitMs` in total, else it throws a
 *   retryable RateLimitedError whose `retryAfterMs` says when to come back (e.g. as the SQS delay).
 * - observe(response): a 429 (or an error carrying retry-after) pauses the WHOLE bucket (every worker of
 *   the account) until retry-after / X-RateLimit-Reset and empties it; `X-RateLimit-Remaining` <= reserve
 *   pauses until the reset; a remaining count below our tokens clamps the tokens to it. Malformed headers
 *   are ignored and observe never throws (it runs on every response, even of a POST that succeeded).
 * Waiters are not queued (no FIFO): workers that wake at the same time race, and the losers re-read and
 * wait again. Jittered wake-ups share the tokens about evenly; under sustained overload a call can reach
 * `maxWaitMs`, and its message goes back to the queue with the RateLimitedError's `retryAfterMs`.
 * Time is the wall clock (`now`, default Date.now), never the sandbox's manual clock; a worker whose clock
 * is behind never moves `updatedAtMs` backwards (it just gets no refill).
 */
import { invocationTimeLeftMs } from './deadline.ts';
import { ConfigError, MillwrightError } from './errors.ts';
import type { HttpClientOptions } from './http.ts';
import { backoffDelay, parseRetryAfter } from './http.ts';
import { type Log, silentLog } from './log.ts';
import { ConcurrentUpdateError, type StateStore } from './state.ts';

export interface RateLimitPolicy {
  /** Requests allowed per window (Click Maint: 300). */
  limit: number;
  /** Window length in seconds (Click Maint: 300). */
  windowSeconds: number;
  /**
   * Bucket capacity (burst). Refill = (limit - burst) / windowSeconds per second, so no window of the
   * vendor's length ever sees more than `limit`. Default 5 (at most limit - 1).
   */
  burst?: number;
  /** Stop when the vendor says `X-RateLimit-Remaining` <= reserve, until its reset. Default 2. */
  reserve?: number;
}

/** No request slot within the wait we may spend in one call; come back after `retryAfterMs`. */
export class RateLimitedError extends MillwrightError {
  constructor(
    readonly key: string,
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message, { retryable: true });
  }
}

export interface SharedRateLimiterOptions {
  /** The one DynamoDB table (item pk `RATE#<key>`, sk `BUCKET`, versioned, conditional writes). */
  state: StateStore;
  /** One bucket per vendor account, e.g. `click-maint:app.clickmaint.com` (limit is per IP = per account egress). */
  key: string;
  policy: RateLimitPolicy;
  /** Wall-clock ms (default Date.now), NOT the sandbox's manual clock. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Wait at most this long inside one call (default 20_000); longer -> RateLimitedError. */
  maxWaitMs?: number;
  /** Jitter source for conflict backoff (default Math.random). */
  random?: () => number;
  log?: Log;
}

interface Bucket {
  tokens: number;
  updatedAtMs: number;
  pausedUntilMs: number;
}

const SK = 'BUCKET';
/** Spread of the wake-up after a wait, so workers that computed the same instant do not all collide. */
const WAKE_JITTER_MS = 10;
/** Conflict backoff: full jitter in [0, min(CONFLICT_MAX_MS, CONFLICT_BASE_MS * 2^(n-1))]. */
const CONFLICT_BASE_MS = 5;
const CONFLICT_MAX_MS = 100;
/** Give up (retryable) after this many lost races in a row (no token wait in between) inside one call. */
const MAX_CONFLICTS = 100;
const OBSERVE_TRIES = 5;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A non-negative finite number from a header, or undefined (absent or malformed). */
function headerNumber(headers: Headers, name: string): number | undefined {
  let raw: string | null;
  try {
    raw = headers.get(name); // Headers are case-insensitive
  } catch {
    return undefined;
  }
  if (raw === null) return undefined;
  const trimmed = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

export class SharedRateLimiter {
  readonly key: string;
  private readonly state: StateStore;
  private readonly pk: string;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly burst: number;
  private readonly reserve: number;
  /** Tokens per millisecond. */
  private readonly rate: number;
  /** The longest pause a header may impose (guards against a garbage far-future reset). */
  private readonly maxPauseMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxWaitMs: number;
  private readonly random: () => number;
  private readonly log: Log;
  private warnedLimit = false;

  constructor(options: SharedRateLimiterOptions) {
    const { policy } = options;
    if (!Number.isInteger(policy.limit) || policy.limit < 2) {
      throw new ConfigError('rateLimit.limit', 'must be an integer >= 2');
    }
    if (!Number.isFinite(policy.windowSeconds) || policy.windowSeconds <= 0) {
      throw new ConfigError('rateLimit.windowSeconds', 'must be a positive number');
    }
    const burst = policy.burst ?? Math.min(5, policy.limit - 1);
    if (!Number.isInteger(burst) || burst < 1 || burst >= policy.limit) {
      throw new ConfigError('rateLimit.burst', `must be an integer in 1..${policy.limit - 1}`);
    }
    const reserve = policy.reserve ?? 2;
    if (!Number.isFinite(reserve) || reserve < 0) {
      throw new ConfigError('rateLimit.reserve', 'must be a number >= 0');
    }
    this.key = options.key;
    this.state = options.state;
    this.pk = `RATE#${options.key}`;
    this.limit = policy.limit;
    this.windowMs = policy.windowSeconds * 1000;
    this.burst = burst;
    this.reserve = reserve;
    this.rate = (policy.limit - burst) / this.windowMs;
    this.maxPauseMs = Math.max(2 * this.windowMs, 15 * 60_000);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.maxWaitMs = options.maxWaitMs ?? 20_000;
    this.random = options.random ?? Math.random;
    this.log = options.log ?? silentLog;
  }

  /** The bucket as of `now`: refilled by the time since its last write (never moving time backwards). */
  private refill(stored: Bucket | undefined, now: number): Bucket {
    if (!stored) return { tokens: this.burst, updatedAtMs: now, pausedUntilMs: 0 };
    const elapsed = Math.max(0, now - stored.updatedAtMs);
    // Rounded to 1e-9 so float noise never turns 1 token into 0.999… (or the reverse by more than 1e-9).
    const tokens = Math.min(this.burst, Math.max(0, stored.tokens) + elapsed * this.rate);
    return {
      tokens: Math.round(tokens * 1e9) / 1e9,
      updatedAtMs: Math.max(stored.updatedAtMs, now),
      pausedUntilMs: stored.pausedUntilMs,
    };
  }

  /** Milliseconds until the bucket holds a whole token (at least 1 when it does not yet). */
  private msUntilToken(tokens: number): number {
    if (tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - tokens) / this.rate - 1e-6));
  }

  /** Take one token, waiting (via `sleep`) for the pause to end or the next token to arrive. */
  async acquire(): Promise<{ waitedMs: number }> {
    const start = this.now();
    // Never wait past what the invocation has left (core/deadline.ts): the queue waits instead.
    const maxWaitMs = Math.max(0, Math.min(this.maxWaitMs, invocationTimeLeftMs() ?? this.maxWaitMs));
    let slept = 0;
    let conflicts = 0;
    const waited = () => Math.max(slept, this.now() - start);
    for (;;) {
      const now = this.now();
      const current = await this.state.getVersioned<Bucket>(this.pk, SK);
      const bucket = this.refill(current?.data, now);

      let needMs = 0;
      if (bucket.pausedUntilMs > now) needMs = bucket.pausedUntilMs - now;
      else needMs = this.msUntilToken(bucket.tokens);

      if (needMs === 0) {
        try {
          await this.state.putVersioned<Bucket>(
            this.pk,
            SK,
            { ...bucket, tokens: bucket.tokens - 1 },
            current?.version,
          );
          return { waitedMs: waited() };
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError)) throw error;
          conflicts++;
          if (conflicts >= MAX_CONFLICTS) {
            throw new RateLimitedError(
              this.key,
              CONFLICT_MAX_MS,
              `rate limit ${this.key}: lost ${conflicts} races for a token; retry shortly`,
            );
          }
          const backoff = backoffDelay(conflicts, CONFLICT_BASE_MS, CONFLICT_MAX_MS, this.random);
          if (waited() + backoff > maxWaitMs) throw this.exhausted(backoff, waited(), maxWaitMs);
          slept += backoff;
          await this.sleep(backoff);
          continue;
        }
      }

      // A token after the pause may itself need refill time (the bucket is emptied by a 429).
      const afterPause = bucket.pausedUntilMs > now ? this.refill(bucket, bucket.pausedUntilMs) : undefined;
      const retryAfterMs = needMs + (afterPause ? this.msUntilToken(afterPause.tokens) : 0);
      const wait = needMs + Math.floor(this.random() * WAKE_JITTER_MS);
      if (waited() + wait > maxWaitMs) throw this.exhausted(retryAfterMs, waited(), maxWaitMs);
      this.log.debug('rate limit: waiting', {
        key: this.key,
        waitMs: wait,
        paused: bucket.pausedUntilMs > now,
      });
      slept += wait;
      await this.sleep(wait);
      conflicts = 0; // the races counted are those in a row without a wait in between
    }
  }

  private exhausted(retryAfterMs: number, waitedMs: number, maxWaitMs: number): RateLimitedError {
    this.log.info('rate limit: no slot within the wait budget', {
      key: this.key,
      retryAfterMs,
      waitedMs,
    });
    return new RateLimitedError(
      this.key,
      retryAfterMs,
      `rate limit ${this.key}: no request slot within ${maxWaitMs} ms; retry in ${retryAfterMs} ms`,
    );
  }

  /**
   * Feed every response: headers X-RateLimit-Limit / -Remaining / -Reset (unix seconds) and retry-after
   * (seconds or HTTP date). 429 -> pause the WHOLE bucket until retry-after / reset (and empty it);
   * remaining <= reserve -> pause until reset; remaining below our tokens clamps the tokens.
   * Never throws: it runs on every response, and failing a request whose effect happened would be worse.
   */
  async observe(info: { status: number; headers: Headers }): Promise<void> {
    try {
      await this.observeUnsafe(info);
    } catch (error) {
      this.log.warn('rate limit: could not record response headers', {
        key: this.key,
        status: info.status,
        error: (error as Error)?.message ?? String(error),
      });
    }
  }

  private async observeUnsafe({ status, headers }: { status: number; headers: Headers }): Promise<void> {
    const now = this.now();
    const remaining = headerNumber(headers, 'x-ratelimit-remaining');
    const resetSeconds = headerNumber(headers, 'x-ratelimit-reset');
    const vendorLimit = headerNumber(headers, 'x-ratelimit-limit');
    let retryAfterMs: number | undefined;
    try {
      retryAfterMs = parseRetryAfter(headers.get('retry-after'), now);
    } catch {
      retryAfterMs = undefined;
    }
    const resetMs = resetSeconds !== undefined && resetSeconds * 1000 > now ? resetSeconds * 1000 : undefined;

    if (vendorLimit !== undefined && vendorLimit < this.limit && !this.warnedLimit) {
      this.warnedLimit = true;
      this.log.warn('rate limit: vendor reports a lower limit than the policy', {
        key: this.key,
        vendorLimit,
        policyLimit: this.limit,
      });
    }

    // When to pause until (0 = no pause), and whether to empty the bucket.
    let pauseUntil = 0;
    let empty = false;
    if (status === 429) {
      empty = true;
      pauseUntil =
        retryAfterMs !== undefined
          ? now + retryAfterMs
          : (resetMs ?? now + Math.max(1000, Math.ceil(this.windowMs / 10)));
    } else if (status >= 400 && retryAfterMs !== undefined && retryAfterMs > 0) {
      pauseUntil = now + retryAfterMs;
    }
    if (remaining !== undefined && remaining <= this.reserve && resetMs !== undefined) {
      pauseUntil = Math.max(pauseUntil, resetMs);
    }
    pauseUntil = Math.min(pauseUntil, now + this.maxPauseMs);
    const clampTo = remaining !== undefined && remaining < this.burst ? Math.floor(remaining) : undefined;
    if (pauseUntil <= now && !empty && clampTo === undefined) return; // nothing can change: no read

    for (let attempt = 1; attempt <= OBSERVE_TRIES; attempt++) {
      const current = await this.state.getVersioned<Bucket>(this.pk, SK);
      const bucket = this.refill(current?.data, now);
      const next: Bucket = { ...bucket };
      if (pauseUntil > next.pausedUntilMs) next.pausedUntilMs = pauseUntil;
      if (empty) next.tokens = 0;
      if (clampTo !== undefined && clampTo < next.tokens) next.tokens = clampTo;
      // Nothing paused longer and nothing taken away: the stored item (or its absence) is still right.
      if (next.pausedUntilMs === bucket.pausedUntilMs && next.tokens >= bucket.tokens) return;
      try {
        await this.state.putVersioned<Bucket>(this.pk, SK, next, current?.version);
        if (next.pausedUntilMs > bucket.pausedUntilMs) {
          this.log.info('rate limit: paused', {
            key: this.key,
            status,
            pausedUntil: new Date(next.pausedUntilMs).toISOString(),
          });
        }
        return;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= OBSERVE_TRIES) throw error;
      }
    }
  }

  /** For tests/metrics: the bucket as stored (tokens as of `updatedAtMs`), undefined before first use. */
  async snapshot(): Promise<{ tokens: number; pausedUntilMs: number; updatedAtMs: number } | undefined> {
    const current = await this.state.getVersioned<Bucket>(this.pk, SK);
    if (!current) return undefined;
    const { tokens, pausedUntilMs, updatedAtMs } = current.data;
    return { tokens, pausedUntilMs, updatedAtMs };
  }
}

/** HttpClient wiring: every attempt (retries too) takes a token; every response feeds the headers back. */
export function rateLimitHooks(
  limiter: SharedRateLimiter,
): Pick<HttpClientOptions, 'beforeAttempt' | 'afterResponse'> {
  return {
    beforeAttempt: () => limiter.acquire().then(() => {}),
    afterResponse: ({ status, headers }) => limiter.observe({ status, headers }),
  };
}
