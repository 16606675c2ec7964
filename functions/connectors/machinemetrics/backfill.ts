/**
 * Backfill of the `machinemetrics.downtime` poll source: the detector (detector.ts) run again over a
 * past window, from an empty state kept in memory (the live poll state is never read or written).
 *
 * Same ids as the live poll: an event id is the machine plus the end of the window that detected the
 * episode (`mm:downtime:<machine>/<tEnd>:started|ended|categorized:<reason>`), never anything of
 * the live state, and windows lie on the same grid (multiples of `stepMinutes` since the epoch, which
 * is where the live poll's first window is aligned and every later one follows). So the same report
 * data gives the same episodes under the same keys, as long as the detector reaches each window with
 * the state the live poll had there. To rebuild that state, the detector first runs, without emitting,
 * over `backfillLookbackMinutes` before the window (the warm-up), starting one window earlier still
 * (the priming window): a machine already down in the priming window has been down since some unknown
 * earlier time, so its episode key (and every id of that episode) cannot be known. Its events are
 * withheld and named in the summary; an episode that starts after the priming window is known.
 *
 * Windows end in (from, to], `to` no later than the settle limit (`now - settleMinutes`, like the live
 * poll). Events of the warm-up windows are not emitted: they lie before `from`.
 */
import type { BackfillInput, BackfillStep, SkippedRecord } from '../../core/flow.ts';
import type { RecordProblem } from '../../core/records.ts';
import {
  type DowntimePollState,
  driveWindow,
  evaluateWindow,
  MINUTE_MS,
  type ResolvedDowntimePollOptions,
} from './detector.ts';
import type { DowntimePollDeps, DowntimePollOptions } from './poll-source.ts';

export const DOWNTIME_BACKFILL_NOTE =
  'Re-runs the downtime detector over the window after a warm-up of backfillLookbackMinutes (default 12 h) ' +
  'before it, so events get the ids the live poll gave them. An episode already under way before the ' +
  'warm-up has an unknown start: its events are withheld (named in the summary; widen the lookback). ' +
  "Windows before the live poll's first run or in a gap beyond its catch-up cap are evaluated as if it " +
  'had run, so an episode spanning one of them can get a key the live poll did not give it.';

export interface BackfillPlan {
  /** Evaluated from an empty state; machines down here have an unknown episode start. */
  prime: Date;
  /** Evaluated to rebuild the state, not emitted. */
  warmUp: Date[];
  /** Emitted: window ends in (from, to]. */
  windows: Date[];
  /** `to` moved back to the settle limit. */
  clampedTo?: Date;
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;

/** The windows a backfill of (from, to] evaluates. Pure. */
export function planBackfill(
  from: Date,
  to: Date,
  now: Date,
  o: Pick<ResolvedDowntimePollOptions, 'stepMinutes' | 'settleMinutes' | 'backfillLookbackMinutes'>,
): BackfillPlan {
  const P = o.stepMinutes * MINUTE_MS;
  const limit = floorTo(now.getTime(), MINUTE_MS) - o.settleMinutes * MINUTE_MS;
  const end = Math.min(to.getTime(), limit);
  const first = floorTo(from.getTime(), P) + P;
  const windows: Date[] = [];
  for (let t = first; t <= end; t += P) windows.push(new Date(t));
  const warm = Math.ceil(o.backfillLookbackMinutes / o.stepMinutes);
  const warmUp: Date[] = [];
  for (let k = warm; k >= 1; k--) warmUp.push(new Date(first - k * P));
  return {
    prime: new Date(first - (warm + 1) * P),
    warmUp,
    windows,
    ...(end < to.getTime() ? { clampedTo: new Date(end) } : {}),
  };
}

const episodeKeyOf = (data: Record<string, unknown>) =>
  typeof data.episodeKey === 'string' ? data.episodeKey : undefined;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function* backfillDowntime(
  input: BackfillInput<DowntimePollOptions, DowntimePollDeps>,
  resolve: (options: unknown) => ResolvedDowntimePollOptions,
): AsyncGenerator<BackfillStep> {
  const resolved = resolve(input.options);
  const o =
    input.lookbackMinutes === undefined
      ? resolved
      : { ...resolved, backfillLookbackMinutes: input.lookbackMinutes };
  const plan = planBackfill(input.from, input.to, input.now, o);
  const read = (window: Date, state: DowntimePollState | undefined) =>
    driveWindow(evaluateWindow(state, window, o), (query) => input.deps.client.downtimeReport(query));
  const total = 1 + plan.warmUp.length + plan.windows.length;

  const primed = await read(plan.prime, undefined);
  // Down in the priming window: since when is unknown, so is the episode's key.
  const unknown = new Map(Object.entries(primed.state.machines).map(([id, e]) => [e.episodeKey, id]));
  let state = primed.state;
  for (const window of plan.warmUp) state = (await read(window, state)).state;
  const warmSummary =
    `warm-up from ${plan.prime.toISOString()} (${plural(plan.warmUp.length + 1, 'window')})` +
    (unknown.size > 0
      ? `; down since before it, not backfilled: ${[...unknown.values()].sort().join(', ')}`
      : '');
  input.log.info(`machinemetrics downtime backfill: ${warmSummary}`);

  let done = 1 + plan.warmUp.length;
  let emitted = 0;
  let withheld = 0;
  for (const window of plan.windows) {
    const outcome = await read(window, state);
    state = outcome.state;
    done++;
    const events = outcome.events.filter((e) => {
      const key = episodeKeyOf(e.data);
      return key === undefined || !unknown.has(key);
    });
    withheld += outcome.events.length - events.length;
    emitted += events.length;
    const skipped = outcome.skipped.map(
      (p: RecordProblem): SkippedRecord => ({
        kind: 'MachineMetrics machine',
        ...p,
        next: `not backfilled for the window ending ${window.toISOString()}`,
      }),
    );
    const held = outcome.events.length - events.length;
    yield {
      events,
      summary: `${outcome.summary}${held > 0 ? `; ${held} withheld (episode start unknown)` : ''}`,
      ...(skipped.length > 0 ? { skipped } : {}),
      progress: { done, total },
      // Windows end in (from, to]: a run from this window's end reads the next one first; its warm-up
      // reaches back to this run's priming window, so it rebuilds the same state (an episode under
      // way here keeps its key, and its end is not withheld).
      resume: { from: window, lookbackMinutes: (done - 1) * o.stepMinutes },
    };
  }
  const range =
    plan.windows.length > 0
      ? `windows ending ${plan.windows[0]?.toISOString()}..${plan.windows.at(-1)?.toISOString()}`
      : 'no window ends in the range';
  const clamped = plan.clampedTo
    ? `; to moved back to ${plan.clampedTo.toISOString()} (settleMinutes: later data may still change)`
    : '';
  yield {
    events: [],
    summary: `${warmSummary}; ${range}: ${plural(emitted, 'event')}${withheld > 0 ? `, ${withheld} withheld` : ''}${clamped}`,
    progress: { done: total, total },
  };
}
