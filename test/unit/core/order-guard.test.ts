/** StateStore.advanceOrder, the per-subject order guard, against a real engine (dynalite). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const T1 = Date.parse('2026-11-02T08:10:00.000Z');
const T2 = Date.parse('2026-11-02T08:40:00.000Z');

describe('advanceOrder', () => {
  it('the first event of a subject, and each later one, becomes its latest', async () => {
    const store = t.store();
    expect(await store.advanceOrder('k', 'a', { atMs: T1, eventId: 'e1', label: 'started' })).toEqual({
      status: 'latest',
    });
    expect(await store.advanceOrder('k', 'a', { atMs: T2, eventId: 'e2', label: 'ended' })).toEqual({
      status: 'latest',
    });
  });

  it('an older event after a later one is refused and told which event won', async () => {
    const store = t.store();
    await store.advanceOrder('k', 'b', { atMs: T2, eventId: 'e2', label: 'ended' });
    expect(await store.advanceOrder('k', 'b', { atMs: T1, eventId: 'e1', label: 'started' })).toEqual({
      status: 'older',
      latest: { atMs: T2, eventId: 'e2', label: 'ended' },
    });
  });

  it('the same time again passes (the retry of the same event, a redelivery under a new id)', async () => {
    const store = t.store();
    await store.advanceOrder('k', 'c', { atMs: T2, eventId: 'e2', label: 'ended' });
    expect((await store.advanceOrder('k', 'c', { atMs: T2, eventId: 'e2', label: 'ended' })).status).toBe(
      'latest',
    );
    expect((await store.advanceOrder('k', 'c', { atMs: T2, eventId: 'e2b', label: 'ended' })).status).toBe(
      'latest',
    );
  });

  it('subjects and kinds are independent', async () => {
    const store = t.store();
    await store.advanceOrder('k', 'd', { atMs: T2, eventId: 'e2', label: 'ended' });
    expect((await store.advanceOrder('k', 'e', { atMs: T1, eventId: 'e1', label: 'x' })).status).toBe(
      'latest',
    );
    expect((await store.advanceOrder('k2', 'd', { atMs: T1, eventId: 'e1', label: 'x' })).status).toBe(
      'latest',
    );
  });

  it('a receive time (timed: false) never replaces an own time, even a later one; it follows another receive time, and an own time follows it', async () => {
    const store = t.store();
    await store.advanceOrder('k', 'f', { atMs: T1, eventId: 'e1', label: 'completed', timed: true });
    expect(
      await store.advanceOrder('k', 'f', { atMs: T2, eventId: 'e2', label: 'started', timed: false }),
    ).toEqual({
      status: 'older',
      latest: { atMs: T1, eventId: 'e1', label: 'completed', timed: true },
    });
    await store.advanceOrder('k', 'g', { atMs: T1, eventId: 'e1', label: 'started', timed: false });
    expect(
      (await store.advanceOrder('k', 'g', { atMs: T2, eventId: 'e2', label: 'canceled', timed: false }))
        .status,
    ).toBe('latest');
    expect(
      (await store.advanceOrder('k', 'g', { atMs: T2, eventId: 'e3', label: 'completed', timed: true }))
        .status,
    ).toBe('latest');
    // An own time replaces a receive time even when earlier (the receive time may be a resend's).
    await store.advanceOrder('k', 'h', { atMs: T2, eventId: 'e1', label: 'started', timed: false });
    expect(
      (await store.advanceOrder('k', 'h', { atMs: T1, eventId: 'e2', label: 'completed', timed: true }))
        .status,
    ).toBe('latest');
    expect(
      (await store.advanceOrder('k', 'h', { atMs: T1 - 1, eventId: 'e3', label: 'x', timed: true })).status,
    ).toBe('older');
    // A mark without `timed` (other flows) drops the attribute: a receive time may follow it.
    await store.advanceOrder('k', 'g', { atMs: T2, eventId: 'e4', label: 'x' });
    expect(
      (await store.advanceOrder('k', 'g', { atMs: T2, eventId: 'e5', label: 'y', timed: false })).status,
    ).toBe('latest');
  });
});
