import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Every, once, sendAtMostOnce } from '../../../functions/core/claims.ts';
import { AmbiguousWriteError, ClaimBusyError, VendorHttpError } from '../../../functions/core/errors.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

describe('once (claimed side effects)', () => {
  it('performs an effect once and returns the recorded result for duplicates', async () => {
    const store = t.store();
    let performed = 0;
    const perform = async () => {
      performed++;
      return { id: 'wo-1' };
    };
    const first = await once(store, { key: 'k-dup', perform });
    const second = await once(store, { key: 'k-dup', perform });
    expect(first).toEqual({ result: { id: 'wo-1' }, how: 'performed' });
    expect(second).toEqual({ result: { id: 'wo-1' }, how: 'duplicate' });
    expect(performed).toBe(1);
  });

  it('looks for the effect before acting again after a failed attempt', async () => {
    const store = t.store();
    let performed = 0;
    await expect(
      once(store, {
        key: 'k-ambiguous',
        perform: async () => {
          performed++;
          throw new Error('timeout after send');
        },
      }),
    ).rejects.toThrow('timeout after send');
    const retry = await once(store, {
      key: 'k-ambiguous',
      find: async () => ({ id: 'made-by-first-attempt' }),
      perform: async () => {
        performed++;
        return { id: 'second' };
      },
    });
    expect(retry).toEqual({ result: { id: 'made-by-first-attempt' }, how: 'found' });
    expect(performed).toBe(1);
  });

  it('lets only one of two concurrent workers act; the other is told to retry', async () => {
    const store = t.store();
    let performed = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = once(store, {
      key: 'k-race',
      perform: async () => {
        performed++;
        await gate;
        return { id: 'only' };
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 20)); // let the first claim land
    await expect(
      once(store, { key: 'k-race', perform: async () => ({ id: 'second' }) }),
    ).rejects.toBeInstanceOf(ClaimBusyError);
    release();
    await expect(slow).resolves.toMatchObject({ how: 'performed' });
    await expect(once(store, { key: 'k-race', perform: async () => ({ id: 'x' }) })).resolves.toEqual({
      result: { id: 'only' },
      how: 'duplicate',
    });
    expect(performed).toBe(1);
  });

  it('keeps the lease while a slow perform runs, so a concurrent delivery cannot take it over and act twice', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = t.store(() => new Date(now));
    // The renewal timer, driven by hand: one tick per third of the lease.
    const ticks: (() => void)[] = [];
    const every: Every = (tick) => {
      ticks.push(tick);
      return () => ticks.splice(ticks.indexOf(tick), 1);
    };
    let performed = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => {};
    const performing = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow = once(store, {
      key: 'k-slow',
      leaseMs: 60_000,
      every,
      perform: async () => {
        performed++;
        started();
        await gate; // rate-limit waits and retries: longer than the lease
        return { id: 'first' };
      },
    });
    await performing;
    for (let minute = 0; minute < 3; minute++) {
      now += 20_000;
      for (const tick of [...ticks]) tick();
      // Let the renewal land before the clock moves on.
      await store.getClaim('k-slow');
      await new Promise((resolve) => setImmediate(resolve));
    }
    now += 20_000; // 80 s after the claim: a fixed 60 s lease would have run out
    await expect(
      once(store, { key: 'k-slow', every, perform: async () => ({ id: 'second' }) }),
    ).rejects.toBeInstanceOf(ClaimBusyError);
    release();
    await expect(slow).resolves.toMatchObject({ how: 'performed', result: { id: 'first' } });
    expect(ticks).toEqual([]); // the renewal stopped with the perform
    expect(performed).toBe(1);
  });

  it('takes over an expired lease of a crashed worker', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = t.store(() => new Date(now));
    await store.acquireClaim('k-crash', 'crashed-worker', 1000);
    now += 5000;
    const out = await once(store, {
      key: 'k-crash',
      find: async () => undefined,
      perform: async () => ({ id: 'new' }),
    });
    expect(out.how).toBe('performed');
  });
});

describe('StateStore', () => {
  it('rejects a stale versioned write', async () => {
    const store = t.store();
    const v1 = await store.putEntity('kind', 'e1', { a: 1 }, undefined);
    await store.putEntity('kind', 'e1', { a: 2 }, v1);
    await expect(store.putEntity('kind', 'e1', { a: 3 }, v1)).rejects.toMatchObject({
      name: 'ConcurrentUpdateError',
    });
    await expect(store.putEntity('kind', 'e1', { a: 3 }, undefined)).rejects.toMatchObject({
      name: 'ConcurrentUpdateError',
    });
    expect((await store.getEntity('kind', 'e1'))?.data).toEqual({ a: 2 });
  });

  it('accepts a nonce once within its TTL; the same nonce is a repeat with the same body, a replay with another', async () => {
    const store = t.store();
    const nonce = (fingerprint: string) => store.rememberNonce('v', 'n1', { ttlSeconds: 300, fingerprint });
    expect(await nonce('body-a')).toBe('fresh');
    expect(await nonce('body-a')).toBe('repeat');
    expect(await nonce('body-b')).toBe('replay');
    expect(await store.nonceSeenWith('v', 'n1', 'body-a')).toBe(true);
    expect(await store.nonceSeenWith('v', 'n1', 'body-b')).toBe(false);
    expect(await store.nonceSeenWith('v', 'n2', 'body-a')).toBe(false);
  });

  it('forgets a nonce once its TTL has passed', async () => {
    let now = new Date('2026-11-02T09:00:00.000Z');
    const store = t.store(() => now);
    expect(await store.rememberNonce('v', 'n3', { ttlSeconds: 60, fingerprint: 'a' })).toBe('fresh');
    now = new Date(now.getTime() + 61_000);
    expect(await store.nonceSeenWith('v', 'n3', 'a')).toBe(false);
    expect(await store.rememberNonce('v', 'n3', { ttlSeconds: 60, fingerprint: 'b' })).toBe('fresh');
  });

  it('lists run-log entries newest first', async () => {
    const store = t.store();
    for (const [i, at] of ['2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z'].entries()) {
      await store.appendRun({
        flowId: 'f',
        eventId: `e${i}`,
        eventType: 't',
        outcome: 'done',
        message: 'm',
        at,
      });
    }
    expect((await store.listRuns('f')).map((r) => r.eventId)).toEqual(['e1', 'e0']);
  });
});

describe('sendAtMostOnce (creates the vendor cannot look up)', () => {
  it('sends once; an unanswered call is not sent again', async () => {
    const store = t.store();
    let calls = 0;
    const unanswered = async () => {
      calls++;
      throw new AmbiguousWriteError('vendor', 'create', { cause: new Error('timeout') });
    };
    expect(await sendAtMostOnce(store, 'intent-a', unanswered)).toEqual({ status: 'unconfirmed' });
    expect(await sendAtMostOnce(store, 'intent-a', async () => 'created')).toEqual({ status: 'unconfirmed' });
    expect(calls).toBe(1);
  });

  it('retries a call that certainly failed, and reports what a successful one returned', async () => {
    const store = t.store();
    const refused = async () => {
      throw new VendorHttpError('vendor', 'create', 503, 'unavailable');
    };
    await expect(sendAtMostOnce(store, 'intent-b', refused)).rejects.toBeInstanceOf(VendorHttpError);
    expect(await sendAtMostOnce(store, 'intent-b', async () => 'id-1')).toEqual({
      status: 'sent',
      value: 'id-1',
    });
  });
});
