/** The chaos run's workload (bench/chaos/plan.ts): repeatable from its seed, sized and shaped as asked. */
import { describe, expect, it } from '@jest/globals';
import { makePlan } from '../../../bench/chaos/plan.ts';
import { compressedRetry } from '../../../bench/chaos/run.ts';

describe('chaos plan', () => {
  it('the same seed makes the same plan; another seed another', () => {
    const a = makePlan({ events: 1000, seed: 5 });
    expect(makePlan({ events: 1000, seed: 5 })).toEqual(a);
    expect(makePlan({ events: 1000, seed: 6 }).actions).not.toEqual(a.actions);
  });

  it('about the events asked for: 40% machine down/up, 30% and 30% part changes, plus the poison', () => {
    const plan = makePlan({ events: 10_000, seed: 1 });
    const count = (prefix: string) => plan.actions.filter((a) => a.kind.startsWith(prefix)).length;
    expect(Math.abs(plan.events - 10_000)).toBeLessThan(50);
    expect(Math.abs(count('machine') - 4000)).toBeLessThan(20);
    expect(Math.abs(count('mw') - 3000)).toBeLessThan(20);
    expect(Math.abs(count('upkeep') - 3000)).toBeLessThan(20);
    expect(count('poison')).toBe(plan.poison);
  });

  it('every downtime lasts long enough for the REST detector to see it (minimum + step) and ends before the next', () => {
    const plan = makePlan({ events: 2000, seed: 3 });
    for (const d of plan.downtime) expect(d.up - d.down).toBeGreaterThanOrEqual(16);
    const byMachine = new Map<number, number[]>();
    for (const d of plan.downtime)
      byMachine.set(d.machine, [...(byMachine.get(d.machine) ?? []), d.down, d.up]);
    for (const times of byMachine.values()) expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('retry settings are compressed by the time scale, never below SQS granularity', () => {
    expect(compressedRetry(60)).toEqual({
      baseDelaySeconds: 1,
      maxDelaySeconds: 705,
      horizonSeconds: 1440,
      waitBudgetSeconds: 480,
    });
  });
});
