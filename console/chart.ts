/**
 * The flow cards' 24-hour charts, kept between the page's refreshes (every 10 s). Runs in a past
 * hour no longer change, so each flow's complete hours are read once per hour and only the hour
 * `now` is in is read again on each refresh: on a deployed stack a full read is a Query over a
 * day of the flow's runs, and a console left open would otherwise repeat it every 10 s.
 */
import type { RunsByHour } from '../operator/runs.ts';

const HOUR_MS = 3_600_000;

/** Reads `hours` hours of a flow's runs ending with the hour `now` is in (operator runsByHour). */
export type ReadHours = (flowId: string, hours: number, now: Date) => Promise<RunsByHour>;

interface Kept {
  /** Start of the hour `now` was in when the complete hours were read. */
  current: number;
  /** The chart with the current hour's counts zeroed. */
  past: RunsByHour;
}

export function hourlyCharts(read: ReadHours, hours = 24) {
  const kept = new Map<string, Kept>();
  return async (flowId: string, now: Date): Promise<RunsByHour> => {
    const current = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
    const known = kept.get(flowId);
    if (!known || known.current !== current) {
      const full = await read(flowId, hours, now);
      const past = {
        ...full,
        counts: Object.fromEntries(
          Object.entries(full.counts).map(([outcome, row]) => [
            outcome,
            row.map((n, i) => (i === hours - 1 ? 0 : n)),
          ]),
        ),
      };
      kept.set(flowId, { current, past });
      return full;
    }
    const latest = await read(flowId, 1, now);
    const counts: Record<string, number[]> = {};
    for (const [outcome, row] of Object.entries(known.past.counts)) counts[outcome] = [...row];
    for (const [outcome, [n = 0]] of Object.entries(latest.counts)) {
      const row = counts[outcome] ?? new Array<number>(hours).fill(0);
      row[hours - 1] = n;
      counts[outcome] = row;
    }
    return { hours: known.past.hours, counts, truncated: known.past.truncated || latest.truncated };
  };
}
