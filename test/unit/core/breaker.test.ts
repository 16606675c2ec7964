import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BREAKER_RUN_FLOW,
  type BreakerPolicy,
  type BreakerStatus,
  breakerTransport,
  CircuitBreaker,
  classify,
  DEFAULT_PROBE_LEASE_MS,
  describeBreaker,
  listBreakers,
  probeLeaseFor,
} from '../../../functions/core/breaker.ts';
import { CircuitOpenError } from '../../../functions/core/errors.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
let state: StateStore;
beforeAll(async () => {
  t = await startTestState();
  state = t.store();
});
afterAll(() => t.close());

const T0 = Date.parse('2026-11-02T08:00:00Z');
const POLICY: BreakerPolicy = {
  failureThreshold: 3,
  windowSeconds: 60,
  openSeconds: 30,
  maxOpenSeconds: 100,
};
let hosts = 0;

/** A fake clock, a fake vendor (answers from a script) and a breaker transport on the real state store. */
function setup(options: { cacheMs?: number; probeLeaseMs?: number } = {}) {
  const clock = { now: T0 };
  const host = `h${hosts++}.example.com`;
  const url = `https://${host}/api/things`;
  const key = `vendor-x:${host}`;
  const calls: string[] = [];
  let answer: () => Response | Promise<Response> = () => new Response('ok', { status: 200 });
  const events: string[] = [];
  const log = memoryLog();
  const make = () =>
    breakerTransport(
      {
        state,
        policy: POLICY,
        now: () => clock.now,
        cacheMs: options.cacheMs ?? 1000,
        probeLeaseMs: options.probeLeaseMs ?? 10_000,
        log,
        onEvent: (e) => events.push(e.kind),
      },
      () =>
        (async (input: string | URL | Request) => {
          calls.push(String(input));
          return answer();
        }) as typeof fetch,
    )('vendor-x');
  const send = make();
  return {
    clock,
    key,
    url,
    calls,
    events,
    log,
    send,
    make,
    answer: (a: () => Response | Promise<Response>) => {
      answer = a;
    },
    status: (n: number) => {
      answer = () => new Response('x', { status: n });
    },
    /** Send and return the status, or the error's name. */
    async hit(via = send): Promise<number | string> {
      try {
        return (await via(url)).status;
      } catch (error) {
        return (error as Error).name;
      }
    },
    breaker: () =>
      new CircuitBreaker({
        state,
        key,
        policy: POLICY,
        now: () => clock.now,
        probeLeaseMs: options.probeLeaseMs ?? 10_000,
      }),
  };
}

describe('circuit breaker', () => {
  it('opens after N failures within the window and refuses without sending', async () => {
    const s = setup();
    s.status(503);
    for (let i = 0; i < 3; i++) {
      expect(await s.hit()).toBe(503);
      s.clock.now += 1000;
    }
    const sent = s.calls.length;
    const refused = await s.send(s.url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).key).toBe(s.key);
    // Opened at T0+2s for 30 s; now is T0+3s.
    expect((refused as CircuitOpenError).retryAfterMs).toBe(29_000);
    expect(s.calls.length).toBe(sent);
    expect((await s.breaker().read()).doc.status).toBe('open');
    expect(s.events).toEqual(['opened', 'refused']);
  });

  it('counts timeouts, connection errors and 408 as failures, not 4xx or 429', async () => {
    expect(classify({ status: 503 }).outcome).toBe('failure');
    expect(classify({ status: 408 }).outcome).toBe('failure');
    expect(classify({ status: 429 }).outcome).toBe('neutral');
    expect(classify({ status: 404 }).outcome).toBe('neutral');
    expect(classify({ status: 201 }).outcome).toBe('success');
    const timeout = Object.assign(new Error('t'), { name: 'TimeoutError' });
    expect(classify({ error: timeout })).toEqual({ outcome: 'failure', reason: 'timeout' });

    const s = setup();
    for (const status of [429, 400, 404, 422, 429, 401]) {
      s.status(status);
      expect(await s.hit()).toBe(status);
    }
    s.answer(() => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    });
    expect(await s.hit()).toBe('TypeError');
    expect(await s.hit()).toBe('TypeError');
    s.status(200);
    expect(await s.hit()).toBe(200);
    expect((await s.breaker().read()).doc.status).toBe('closed');
    // Two connection errors count; a third failure opens it.
    s.answer(() => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    });
    expect(await s.hit()).toBe('TypeError');
    expect(await s.hit()).toBe('TypeError');
    expect(await s.hit()).toBe('TypeError');
    expect(await s.hit()).toBe('CircuitOpenError');
  });

  it('does not open on failures spread wider than the window, nor with a success in between', async () => {
    const s = setup();
    for (let i = 0; i < 6; i++) {
      s.status(500);
      expect(await s.hit()).toBe(500);
      s.clock.now += 31_000; // 3 failures never fall within 60 s
    }
    expect((await s.breaker().read()).doc.status).toBe('closed');

    const u = setup();
    for (let i = 0; i < 4; i++) {
      u.status(502);
      expect(await u.hit()).toBe(502);
      expect(await u.hit()).toBe(502);
      u.status(200);
      expect(await u.hit()).toBe(200);
    }
    expect((await u.breaker().read()).doc.status).toBe('closed');
  });

  it('lets exactly one probe through after the open period; it closes on success', async () => {
    const s = setup();
    s.status(503);
    for (let i = 0; i < 3; i++) await s.hit();
    s.clock.now += 30_000;
    // Ten "processes" at once: each its own transport (own cache), one shared table.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    s.answer(async () => {
      await gate;
      return new Response('ok', { status: 200 });
    });
    const before = s.calls.length;
    let settled = 0;
    const racing = Array.from({ length: 10 }, () => s.hit(s.make()).finally(() => settled++));
    // The nine refused settle while the probe's answer is held back (bounded, not a sleep).
    for (let spins = 0; settled < 9 && spins < 100_000; spins++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    release();
    const results = await Promise.all(racing);
    expect(results.filter((r) => r === 200)).toHaveLength(1);
    expect(results.filter((r) => r === 'CircuitOpenError')).toHaveLength(9);
    expect(s.calls.length - before).toBe(1);
    expect((await s.breaker().read()).doc.status).toBe('closed');
    expect(await s.hit()).toBe(200);

    const runs = await state.queryRuns({ subject: s.key });
    const messages = runs.entries.map((e) => `${e.outcome}: ${e.message.split(' ').slice(0, 2).join(' ')}`);
    expect(messages.sort()).toEqual([
      'circuit-closed: circuit closed',
      'circuit-open: circuit half-open',
      'circuit-open: circuit opened',
    ]);
    expect(runs.entries[0]?.flowId).toBe(BREAKER_RUN_FLOW);
    expect(runs.entries.find((e) => /opened/.test(e.message))?.message).toMatch(
      /circuit opened for vendor-x at h\d+\.example\.com after 3 failures .*HTTP 503.*until 08:00:30/,
    );
    expect(s.log.lines.some((l) => l.level === 'warn' && /circuit opened/.test(l.message))).toBe(true);
  });

  it('re-opens for twice as long when the probe fails, up to maxOpenSeconds', async () => {
    const s = setup();
    s.status(503);
    for (let i = 0; i < 3; i++) await s.hit();
    const opens: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { doc } = await s.breaker().read();
      opens.push(doc.openMs ?? 0);
      s.clock.now = doc.openUntilMs ?? 0;
      expect(await s.hit()).toBe(503); // the probe
      expect(await s.hit()).toBe('CircuitOpenError');
    }
    expect(opens).toEqual([30_000, 60_000, 100_000, 100_000]);
    expect(s.events.filter((e) => e === 're-opened')).toHaveLength(4);
    // A 404 answer to the probe still means the vendor is up.
    s.clock.now = (await s.breaker().read()).doc.openUntilMs ?? 0;
    s.status(404);
    expect(await s.hit()).toBe(404);
    expect((await s.breaker().read()).doc).toMatchObject({ status: 'closed', failures: [] });
  });

  it('lets another caller probe when the prober died (its lease expired)', async () => {
    const s = setup({ probeLeaseMs: 5000 });
    s.status(503);
    for (let i = 0; i < 3; i++) await s.hit();
    s.clock.now += 30_000;
    const dead = s.breaker();
    expect(await dead.before()).toMatchObject({ probe: true }); // and never reports back
    s.status(200);
    expect(await s.hit()).toBe('CircuitOpenError');
    s.clock.now += 4999;
    expect(await s.hit(s.make())).toBe('CircuitOpenError');
    s.clock.now += 1;
    expect(await s.hit(s.make())).toBe(200);
    expect((await s.breaker().read()).doc.status).toBe('closed');
  });

  it("keeps a probe's lease for as long as its vendor's configured timeout lets a request run (no second probe)", async () => {
    // Up to 120 s per attempt is allowed (vendors.<v>.timeoutMs): the lease outlasts the longest one.
    const vendors = { upkeep: { timeoutMs: 120_000 }, 'mobility-work': {}, deepomatic: { timeoutMs: 500 } };
    expect(probeLeaseFor(vendors)).toBeGreaterThan(120_000);
    expect(probeLeaseFor({ upkeep: {} })).toBe(DEFAULT_PROBE_LEASE_MS);
    const s = setup({ probeLeaseMs: probeLeaseFor(vendors) });
    s.status(503);
    for (let i = 0; i < 3; i++) await s.hit();
    s.clock.now += 30_000;
    expect(await s.breaker().before()).toMatchObject({ probe: true }); // its request is still in flight
    s.status(200);
    // 119 s later the probe may still be waiting on its 120 s timeout: nobody else probes.
    s.clock.now += 119_000;
    expect(await s.hit(s.make())).toBe('CircuitOpenError');
    // With the old fixed 30 s lease a second caller would have probed here.
    s.clock.now += 2_000;
    expect(await s.hit(s.make())).toBe('CircuitOpenError');
    s.clock.now += 5_000;
    expect(await s.hit(s.make())).toBe(200);
  });

  it('tells a caller refused during a probe to come back soon, not at the end of the lease', async () => {
    const s = setup({ probeLeaseMs: 60_000 });
    s.status(503);
    for (let i = 0; i < 3; i++) await s.hit();
    s.clock.now += 30_000;
    expect(await s.breaker().before()).toMatchObject({ probe: true });
    const refused = await s.send(s.url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).retryAfterMs).toBe(5000);
    expect((refused as CircuitOpenError).message).toMatch(/is probing/);
  });

  it('shares its state between processes: failures of two add up, and one opening stops the other', async () => {
    const s = setup({ cacheMs: 1000 });
    const a = s.make();
    const b = s.make();
    expect(await s.hit(b)).toBe(200); // b caches "closed"
    s.status(500);
    expect(await s.hit(a)).toBe(500);
    expect(await s.hit(b)).toBe(500);
    expect(await s.hit(a)).toBe(500); // third failure across both: open
    // b's cached "closed" is trusted for cacheMs; after that it sees the open breaker.
    s.clock.now += 1000;
    const sent = s.calls.length;
    expect(await s.hit(b)).toBe('CircuitOpenError');
    expect(s.calls.length).toBe(sent);
  });

  it('costs no DynamoDB request per healthy request while its cached state is fresh', async () => {
    const s = setup({ cacheMs: 2000 });
    let reads = 0;
    const counting = new Proxy(state, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'getVersioned' || prop === 'putVersioned') {
          return (...args: unknown[]) => {
            reads++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const send = breakerTransport(
      { state: counting, policy: POLICY, now: () => s.clock.now, cacheMs: 2000 },
      () => (async () => new Response('ok')) as typeof fetch,
    )('vendor-x');
    for (let i = 0; i < 50; i++) {
      await send(s.url);
      s.clock.now += 100; // 5 s in all
    }
    expect(reads).toBe(3);
  });

  it("pauses the whole vendor account on a 429's Retry-After in seconds: no process sends until then, and it is not a failure", async () => {
    const s = setup();
    const other = s.make(); // another Lambda of the same account
    expect(await s.hit(other)).toBe(200); // it caches "closed"
    s.answer(() => new Response('slow down', { status: 429, headers: { 'retry-after': '20' } }));
    expect(await s.hit()).toBe(429);
    s.status(200);
    const sent = s.calls.length;
    s.clock.now += 1500; // past the other process's cache
    expect(await s.hit(other)).toBe('CircuitOpenError');
    s.clock.now += 18_000;
    expect(await s.hit()).toBe('CircuitOpenError');
    expect(s.calls.length).toBe(sent);
    s.clock.now += 500; // 20 s after the 429
    expect(await s.hit(other)).toBe(200);
    expect(await s.hit()).toBe(200);
    const { doc } = await s.breaker().read();
    expect(doc.status).toBe('closed');
    expect(doc.failures).toEqual([]);
  });

  it('a paused account is listed for `millwright status`, paused until when, and no longer once the pause is over', async () => {
    const s = setup();
    s.answer(() => new Response('', { status: 429, headers: { 'retry-after': '30' } }));
    expect(await s.hit()).toBe(429);
    const listed = (await listBreakers(state, s.clock.now)).find((b) => b.key === s.key);
    expect(listed).toMatchObject({ status: 'closed', pausedUntil: new Date(T0 + 30_000).toISOString() });
    expect(describeBreaker(listed as BreakerStatus)).toMatch(/^closed, paused until \d\d:\d\d:\d\d \(.*429/);
    const later = (await listBreakers(state, T0 + 31_000)).find((b) => b.key === s.key);
    expect(later?.pausedUntil).toBeUndefined();
    expect(describeBreaker(later as BreakerStatus)).toBe('closed');
  });

  it("pauses the account until a 429's Retry-After given as an HTTP date, and tells the caller when to come back", async () => {
    const s = setup();
    const until = new Date(T0 + 45_000).toUTCString();
    s.answer(() => new Response('', { status: 429, headers: { 'retry-after': until } }));
    expect(await s.hit()).toBe(429);
    s.status(200);
    s.clock.now += 5000;
    const refused = await s.send(s.url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).retryAfterMs).toBe(40_000);
    expect((refused as CircuitOpenError).message).toMatch(/429/);
    s.clock.now += 40_000;
    expect(await s.hit()).toBe(200);
  });

  it('a Retry-After of hours pauses the account no longer than maxOpenSeconds: then one request asks again', async () => {
    const s = setup();
    s.answer(() => new Response('', { status: 429, headers: { 'retry-after': String(6 * 3600) } }));
    expect(await s.hit()).toBe(429);
    s.clock.now += POLICY.maxOpenSeconds * 1000 - 1;
    expect(await s.hit()).toBe('CircuitOpenError');
    s.clock.now += 1;
    expect(await s.hit()).toBe(429); // the vendor says again how long; paused again
    expect(await s.hit()).toBe('CircuitOpenError');
  });

  it('keys breakers and pauses per vendor account: one account down or rate limited does not stop another', async () => {
    const clock = { now: T0 };
    const down = `h${hosts++}.example.com`;
    const limited = `h${hosts++}.example.com`;
    const healthy = `h${hosts++}.example.com`;
    const sent: string[] = [];
    const send = breakerTransport(
      { state, policy: POLICY, now: () => clock.now },
      () =>
        (async (input: string | URL | Request) => {
          const host = new URL(String(input)).host;
          sent.push(host);
          if (host === down) return new Response('', { status: 503 });
          if (host === limited) return new Response('', { status: 429, headers: { 'retry-after': '60' } });
          return new Response('ok');
        }) as typeof fetch,
    )('vendor-x');
    const status = (host: string) =>
      send(`https://${host}/api`).then(
        (r) => r.status,
        (e: Error) => e.name,
      );
    for (let i = 0; i < 3; i++) expect(await status(down)).toBe(503);
    expect(await status(limited)).toBe(429);
    expect(await status(down)).toBe('CircuitOpenError');
    expect(await status(limited)).toBe('CircuitOpenError');
    expect(await status(healthy)).toBe(200);
    expect(await status(healthy)).toBe(200);
    expect(sent.filter((h) => h === healthy)).toHaveLength(2);
  });

  it('lists breakers for status', async () => {
    const s = setup();
    s.status(503);
    for (let i = 0; i < 3; i++) await s.hit();
    const all = await listBreakers(state);
    expect(all.find((b) => b.key === s.key)).toMatchObject({
      vendor: 'vendor-x',
      status: 'open',
      failures: 3,
      reason: 'HTTP 503',
      openUntil: '2026-11-02T08:00:30.000Z',
    });
  });
});
