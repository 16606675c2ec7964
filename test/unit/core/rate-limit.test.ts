import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { INVOCATION_RESERVE_MS, withInvocationDeadline } from '../../../functions/core/deadline.ts';
import { isRetryable } from '../../../functions/core/errors.ts';
import { HttpClient } from '../../../functions/core/http.ts';
import {
  RateLimitedError,
  type RateLimitPolicy,
  rateLimitHooks,
  SharedRateLimiter,
} from '../../../functions/core/rate-limit.ts';
import { ConcurrentUpdateError, type StateStore } from '../../../functions/core/state.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const T0 = Date.parse('2026-11-02T08:00:00Z');
let keys = 0;
const freshKey = (name: string) => `test:${name}:${keys++}`;

/**
 * Simulated time for concurrent workers: sleeps never wait for real. Workers run truly concurrently
 * (their DynamoDB calls interleave), but the clock only moves when EVERY live worker is asleep; then it
 * jumps to the earliest wake-up and resolves all sleepers due at that instant (so they race for real).
 */
function simulation(start = T0) {
  let now = start;
  let live = 0;
  let seq = 0;
  const sleepers: { at: number; seq: number; resolve: () => void }[] = [];
  const advance = () => {
    if (live === 0 || sleepers.length < live) return;
    sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    now = Math.max(now, sleepers[0]?.at ?? now);
    const due = sleepers.filter((s) => s.at <= now);
    sleepers.splice(0, due.length);
    for (const s of due) s.resolve();
  };
  return {
    now: () => now,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        sleepers.push({ at: now + Math.max(0, ms), seq: seq++, resolve });
        advance();
      }),
    /** Start all workers at once (registered before any runs, so the clock cannot move early). */
    all<T>(workers: (() => Promise<T>)[]): Promise<T[]> {
      live += workers.length;
      return Promise.all(
        workers.map(async (work) => {
          try {
            return await work();
          } finally {
            live--;
            advance();
          }
        }),
      );
    },
  };
}

/** A single-threaded fake clock: sleep advances it at once. */
function fakeClock(start = T0) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** Deterministic jitter source. */
function lcg(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** The store, counting lost optimistic-concurrency races (proof that the workers really collided). */
function countingStore() {
  const store = t.store();
  const counts = { conflicts: 0 };
  const put = store.putVersioned.bind(store);
  store.putVersioned = async (pk, sk, data, expected) => {
    try {
      return await put(pk, sk, data, expected);
    } catch (error) {
      if (error instanceof ConcurrentUpdateError) counts.conflicts++;
      throw error;
    }
  };
  return { store, counts };
}

const headers = (h: Record<string, string>) => new Headers(h);

describe('SharedRateLimiter', () => {
  it('two concurrent workers never exceed the budget', async () => {
    const policy: RateLimitPolicy = { limit: 30, windowSeconds: 10, burst: 5 };
    const rate = (policy.limit - (policy.burst ?? 0)) / policy.windowSeconds; // 2.5 / s
    const windowMs = policy.windowSeconds * 1000;
    const runMs = 5 * windowMs;
    const sim = simulation();
    const { store, counts } = countingStore();
    const key = freshKey('budget');
    const grants: { at: number; worker: number }[] = [];
    // Four "Lambdas" with seeded jitter; they start together, so they collide at once on creating the item.
    const randoms = [lcg(1), lcg(2), lcg(3), lcg(4)];
    const workers = randoms.map((random, worker) => async () => {
      const limiter = new SharedRateLimiter({
        state: store,
        key,
        policy,
        now: sim.now,
        sleep: sim.sleep,
        random,
        maxWaitMs: 60_000,
      });
      while (sim.now() < T0 + runMs) {
        await limiter.acquire();
        grants.push({ at: sim.now(), worker });
        await sim.sleep(worker * 7); // the "request" (0..21 ms of simulated latency)
      }
    });
    await sim.all(workers);

    const times = grants.map((g) => g.at).sort((a, b) => a - b);
    // Every closed window [t, t + window] starting at a grant holds at most `limit` grants.
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (j < times.length && (times[j] ?? Infinity) <= (times[i] ?? 0) + windowMs) j++;
      worst = Math.max(worst, j - i);
    }
    expect(worst).toBeLessThanOrEqual(policy.limit);
    expect(worst).toBeGreaterThanOrEqual(policy.limit - 2); // the budget is actually used
    // Over the whole run: never more than burst + refill, and the steady rate is >= 90% of the allowed one.
    const spanMs = (times.at(-1) ?? T0) - T0;
    expect(spanMs).toBeGreaterThanOrEqual(runMs);
    const burst = policy.burst ?? 0;
    expect(grants.length).toBeLessThanOrEqual(burst + (rate * spanMs) / 1000);
    const steadyRate = (grants.length - burst) / (spanMs / 1000);
    expect(steadyRate).toBeGreaterThanOrEqual(0.9 * rate);
    // Real concurrency: every worker got tokens and the workers collided on the item.
    // (Jittered wake-ups share the tokens roughly evenly: no worker is starved.)
    for (let w = 0; w < randoms.length; w++) {
      expect(grants.filter((g) => g.worker === w).length).toBeGreaterThanOrEqual(grants.length / 10);
    }
    expect(counts.conflicts).toBeGreaterThan(0);
  });

  it('a 429 pauses every worker of that account until reset', async () => {
    const clock = fakeClock();
    const store = t.store();
    const key = freshKey('429');
    const policy = { limit: 300, windowSeconds: 300 };
    const make = (k: string) =>
      new SharedRateLimiter({
        state: store,
        key: k,
        policy,
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0,
        maxWaitMs: 60_000,
      });
    const a = make(key);
    const b = make(key);
    const other = make(freshKey('other-account'));

    await a.acquire();
    const pausedAt = clock.now();
    await a.observe({ status: 429, headers: headers({ 'Retry-After': '30' }) });
    expect(await b.snapshot()).toMatchObject({ tokens: 0, pausedUntilMs: pausedAt + 30_000 });

    const otherGrant = await other.acquire(); // another account is not paused
    expect(otherGrant.waitedMs).toBe(0);
    expect(clock.now()).toBe(pausedAt);

    const grant = await b.acquire();
    expect(clock.now()).toBeGreaterThanOrEqual(pausedAt + 30_000);
    expect(grant.waitedMs).toBeGreaterThanOrEqual(30_000);
    expect(clock.sleeps[0]).toBe(30_000);
  });

  it('a 429 without retry-after pauses until X-RateLimit-Reset', async () => {
    const clock = fakeClock();
    const limiter = new SharedRateLimiter({
      state: t.store(),
      key: freshKey('429-reset'),
      policy: { limit: 300, windowSeconds: 300 },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
    });
    const reset = Math.floor(T0 / 1000) + 12;
    await limiter.observe({ status: 429, headers: headers({ 'x-ratelimit-reset': String(reset) }) });
    expect((await limiter.snapshot())?.pausedUntilMs).toBe(reset * 1000);
  });

  it("a 429's retry-after as an HTTP date pauses the account until that date; hours are capped, not taken as a pause for good", async () => {
    const clock = fakeClock();
    const make = () =>
      new SharedRateLimiter({
        state: t.store(),
        key: freshKey('429-date'),
        policy: { limit: 300, windowSeconds: 300 },
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0,
      });
    const dated = make();
    const at = new Date(T0 + 90_000).toUTCString();
    await dated.observe({ status: 429, headers: headers({ 'retry-after': at }) });
    expect((await dated.snapshot())?.pausedUntilMs).toBe(T0 + 90_000);
    // A call that cannot wait that long hands the wait to the queue: the come-back time, not a guess.
    const refused = await dated.acquire().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(90_000);

    const hours = make();
    await hours.observe({ status: 429, headers: headers({ 'retry-after': String(6 * 3600) }) });
    expect((await hours.snapshot())?.pausedUntilMs).toBe(T0 + 15 * 60_000);
  });

  it('remaining <= reserve pauses until X-RateLimit-Reset; a low remaining clamps the tokens', async () => {
    const clock = fakeClock();
    const limiter = new SharedRateLimiter({
      state: t.store(),
      key: freshKey('reserve'),
      policy: { limit: 300, windowSeconds: 300, burst: 5, reserve: 2 },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
      maxWaitMs: 60_000,
    });
    // Remaining 3 (> reserve): no pause, but our 5 tokens become 3.
    await limiter.observe({ status: 200, headers: headers({ 'X-RateLimit-Remaining': '3' }) });
    expect(await limiter.snapshot()).toEqual({ tokens: 3, pausedUntilMs: 0, updatedAtMs: T0 });
    // A higher remaining never adds tokens.
    await limiter.observe({ status: 200, headers: headers({ 'x-ratelimit-remaining': '250' }) });
    expect((await limiter.snapshot())?.tokens).toBe(3);

    // Remaining 2 (<= reserve): pause the bucket until the vendor's reset.
    const reset = Math.floor(T0 / 1000) + 45;
    await limiter.observe({
      status: 200,
      headers: headers({ 'X-RATELIMIT-REMAINING': '2', 'X-RateLimit-Reset': String(reset) }),
    });
    expect(await limiter.snapshot()).toMatchObject({ tokens: 2, pausedUntilMs: reset * 1000 });
    await limiter.acquire();
    expect(clock.now()).toBe(reset * 1000);
  });

  it('throws a retryable RateLimitedError when the wait would exceed maxWaitMs', async () => {
    const clock = fakeClock();
    const store = t.store();
    const key = freshKey('max-wait');
    // 10 per 10 s with burst 2: refill 0.8 / s, one token every 1250 ms.
    const limiter = new SharedRateLimiter({
      state: store,
      key,
      policy: { limit: 10, windowSeconds: 10, burst: 2 },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
      maxWaitMs: 1000,
    });
    await limiter.acquire();
    await limiter.acquire();
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 1250, retryable: true, key });
    expect(isRetryable(error)).toBe(true);
    expect(clock.sleeps).toEqual([]); // fails fast instead of sleeping into a hopeless wait

    // A long vendor pause: come back when it ends.
    await limiter.observe({ status: 429, headers: headers({ 'retry-after': '60' }) });
    await expect(limiter.acquire()).rejects.toMatchObject({
      name: 'RateLimitedError',
      retryAfterMs: 60_000,
    });

    // Once the pause is over, a wait that fits the budget is simply waited.
    clock.set(T0 + 60_000);
    await limiter.acquire();
    await limiter.acquire();
    clock.set(T0 + 60_500); // 0.4 token refilled: 750 ms to the next one
    const { waitedMs } = await limiter.acquire();
    expect(waitedMs).toBe(750);
    expect(clock.sleeps).toEqual([750]);
  });

  it('does not wait for a token past what the invocation has left: it hands the wait to the queue instead', async () => {
    const clock = fakeClock();
    const limiter = new SharedRateLimiter({
      state: t.store(),
      key: freshKey('deadline'),
      policy: { limit: 10, windowSeconds: 10, burst: 2 },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
      maxWaitMs: 20_000,
    });
    await limiter.observe({ status: 429, headers: headers({ 'retry-after': '10' }) });
    // 5 s left after the worker's reserve: a 10 s pause does not fit, though maxWaitMs would allow it.
    const endsAt = clock.now() + INVOCATION_RESERVE_MS + 5000;
    const error = await withInvocationDeadline(endsAt, () => limiter.acquire(), clock.now).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 10_000 });
    expect(clock.sleeps).toEqual([]);
  });

  it('ignores malformed headers, never throws from observe, and creates the bucket on first use', async () => {
    const clock = fakeClock();
    const key = freshKey('first-use');
    const limiter = new SharedRateLimiter({
      state: t.store(),
      key,
      policy: { limit: 300, windowSeconds: 300, burst: 5 },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
    });
    await expect(
      limiter.observe({
        status: 200,
        headers: headers({
          'x-ratelimit-remaining': 'lots',
          'x-ratelimit-reset': 'tomorrow',
          'x-ratelimit-limit': '-1',
          'retry-after': 'soon',
        }),
      }),
    ).resolves.toBeUndefined();
    await limiter.observe({ status: 200, headers: headers({ 'x-ratelimit-remaining': '1e9999' }) });
    expect(await limiter.snapshot()).toBeUndefined(); // nothing to record: no item written

    const grant = await limiter.acquire();
    expect(grant).toEqual({ waitedMs: 0 });
    expect(await limiter.snapshot()).toEqual({ tokens: 4, pausedUntilMs: 0, updatedAtMs: T0 });

    // A 429 whose timing headers are garbage still pauses, for a tenth of the window.
    await limiter.observe({
      status: 429,
      headers: headers({ 'retry-after': 'later', 'x-ratelimit-reset': '-5' }),
    });
    expect(await limiter.snapshot()).toMatchObject({ tokens: 0, pausedUntilMs: T0 + 30_000 });

    // A failing store does not make observe throw (the response already happened).
    const broken = {
      getVersioned: async () => {
        throw new Error('dynamo down');
      },
    } as unknown as StateStore;
    const unlucky = new SharedRateLimiter({
      state: broken,
      key,
      policy: { limit: 300, windowSeconds: 300 },
      now: clock.now,
    });
    await expect(
      unlucky.observe({ status: 429, headers: headers({ 'retry-after': '5' }) }),
    ).resolves.toBeUndefined();
  });
});

describe('rateLimitHooks', () => {
  let server: Server;
  let baseUrl: string;
  const clock = fakeClock();
  const hits: number[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits.push(clock.now());
      if (hits.length === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '10' });
        res.end(JSON.stringify({ status: 'error', message: 'Too many requests' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining': '250' });
      res.end(JSON.stringify({ status: 'success', data: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the client's retry after a 429 through acquire, which waits for the shared pause", async () => {
    const limiter = new SharedRateLimiter({
      state: t.store(),
      key: freshKey('hooks'),
      policy: { limit: 300, windowSeconds: 300 },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0,
    });
    const clientSleeps: number[] = [];
    const http = new HttpClient({
      vendor: 'acme',
      baseUrl,
      timeoutMs: 2000,
      // The client's own backoff does not move the clock: only the limiter's wait can.
      sleep: async (ms) => {
        clientSleeps.push(ms);
      },
      ...rateLimitHooks(limiter),
    });
    const res = await http.request({ operation: 'list', method: 'GET', path: '/things' });
    expect(res.status).toBe(200);
    expect(hits).toEqual([T0, T0 + 10_000]); // the retry went out only when the pause ended
    expect(clientSleeps).toEqual([10_000]);
    expect(clock.sleeps).toEqual([10_000]); // ... because acquire waited for it
    // Two tokens were taken (first attempt and retry); the 429 emptied the bucket in between.
    const snap = await limiter.snapshot();
    expect(snap?.pausedUntilMs).toBe(T0 + 10_000);
    expect(snap?.tokens).toBeLessThan(5);
  });
});
