/** hourlyCharts: complete hours read once per hour, the current hour on every refresh. */
import { describe, expect, it } from '@jest/globals';
import { hourlyCharts } from '../../../console/chart.ts';
import type { RunsByHour } from '../../../operator/runs.ts';

const HOUR = 3_600_000;

/** A fake run log: `runs[outcome]` holds run times (ms); reads count what they asked for. */
function fakeLog(runs: Record<string, number[]>) {
  const reads: number[] = [];
  const read = async (_flowId: string, hours: number, now: Date): Promise<RunsByHour> => {
    reads.push(hours);
    const current = Math.floor(now.getTime() / HOUR) * HOUR;
    const first = current - (hours - 1) * HOUR;
    const counts: Record<string, number[]> = {};
    for (const [outcome, times] of Object.entries(runs)) {
      const row = new Array<number>(hours).fill(0);
      for (const t of times) {
        const i = Math.floor((t - first) / HOUR);
        if (i >= 0) row[Math.min(i, hours - 1)] = (row[Math.min(i, hours - 1)] ?? 0) + 1;
      }
      counts[outcome] = row;
    }
    const hoursIso = Array.from({ length: hours }, (_, i) => new Date(first + i * HOUR).toISOString());
    return { hours: hoursIso, counts, truncated: false };
  };
  return { read, reads };
}

describe('hourlyCharts', () => {
  it('reads the whole day once per hour and only the current hour on later refreshes, with the same counts as a full read', async () => {
    const t0 = Date.parse('2026-12-07T09:10:00Z');
    const runs: Record<string, number[]> = { done: [t0 - 5 * HOUR, t0 - 60_000], failed: [t0 - 2 * HOUR] };
    const log = fakeLog(runs);
    const chart = hourlyCharts(log.read);
    const first = await chart('a', new Date(t0));
    expect(log.reads).toEqual([24]);
    // A new run in the current hour, and one of an outcome not seen before.
    runs.done?.push(t0 + 60_000);
    runs.duplicate = [t0 + 120_000];
    const later = await chart('a', new Date(t0 + 5 * 60_000));
    expect(log.reads).toEqual([24, 1]);
    const full = await fakeLog(runs).read('a', 24, new Date(t0 + 5 * 60_000));
    expect(later).toEqual(full);
    expect(later.hours).toEqual(first.hours);
    // The hour rolls over: the whole day is read again.
    await chart('a', new Date(t0 + HOUR));
    expect(log.reads).toEqual([24, 1, 24]);
  });

  it('keeps each flow apart', async () => {
    const log = fakeLog({ done: [] });
    const chart = hourlyCharts(log.read);
    const now = new Date('2026-12-07T09:10:00Z');
    await chart('a', now);
    await chart('b', now);
    await chart('a', now);
    expect(log.reads).toEqual([24, 24, 1]);
  });
});
