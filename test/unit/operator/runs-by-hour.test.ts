/** runsByHour: a flow's runs per outcome in each of the last hours, from the run log (dynalite). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runsByHour } from '../../../operator/runs.ts';
import type { Target } from '../../../operator/target.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let testState: TestState;
let target: Target;

beforeAll(async () => {
  testState = await startTestState();
  const state = testState.store();
  const flow = (id: string) => ({ flow: { id }, config: {}, queueUrl: '', dlqUrl: '' });
  target = {
    state,
    flows: new Map([
      ['a', flow('a')],
      ['b', flow('b')],
    ]),
  } as unknown as Target;
  const entry = (flowId: string, at: string, outcome: string, n: number) =>
    state.appendRun({ flowId, eventId: `e-${flowId}-${n}`, eventType: 't', outcome, message: '', at });
  await Promise.all([
    entry('a', '2026-12-06T09:59:59.999Z', 'done', 1), // before the window (24 h from 10:00)
    entry('a', '2026-12-06T10:00:00.000Z', 'done', 2), // first hour
    entry('a', '2026-12-06T10:30:00.000Z', 'failed', 3),
    entry('a', '2026-12-07T08:15:00.000Z', 'done', 4), // the hour before now's
    entry('a', '2026-12-07T09:05:00.000Z', 'done', 5), // now's hour
    entry('a', '2026-12-07T09:06:00.000Z', 'duplicate', 6),
    entry('a', '2026-12-07T09:30:00.000Z', 'done', 7), // after now (another writer's clock): now's hour
    entry('b', '2026-12-07T09:05:00.000Z', 'done', 8), // another flow
  ]);
});
afterAll(async () => {
  await testState?.close();
});

describe('runsByHour', () => {
  it('gives 24 hour starts, oldest first, ending with the hour now is in', async () => {
    const result = await runsByHour(target, { flowId: 'a', now: new Date('2026-12-07T09:10:00Z') });
    expect(result.hours).toHaveLength(24);
    expect(result.hours[0]).toBe('2026-12-06T10:00:00.000Z');
    expect(result.hours[23]).toBe('2026-12-07T09:00:00.000Z');
    expect(result.truncated).toBe(false);
  });

  it('counts each outcome in its hour, only for the flow asked, nothing before the window', async () => {
    const { counts } = await runsByHour(target, { flowId: 'a', now: new Date('2026-12-07T09:10:00Z') });
    expect(Object.keys(counts).sort()).toEqual(['done', 'duplicate', 'failed']);
    expect(counts.done?.[0]).toBe(1);
    expect(counts.failed?.[0]).toBe(1);
    expect(counts.done?.[22]).toBe(1);
    expect(counts.done?.[23]).toBe(2);
    expect(counts.duplicate?.[23]).toBe(1);
    expect(counts.done?.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('takes a shorter window and says when it stopped counting', async () => {
    const result = await runsByHour(target, {
      flowId: 'a',
      hours: 2,
      now: new Date('2026-12-07T09:10:00Z'),
      maxCounted: 2,
    });
    expect(result.hours).toEqual(['2026-12-07T08:00:00.000Z', '2026-12-07T09:00:00.000Z']);
    expect(result.truncated).toBe(true);
  });

  it('refuses a flow the target does not run', async () => {
    await expect(runsByHour(target, { flowId: 'nope', now: new Date() })).rejects.toThrow(/no enabled flow/);
  });
});
