/**
 * The `machinemetrics.downtime` poll source: runs the window detector (detector.ts) against
 * `POST /reports/downtime`, one PollStep per evaluated window. The runtime enqueues a step's events
 * and only then saves its state, so a crash between the two replays the same window from the same
 * state, which yields the same event ids (deduplicated downstream).
 *
 * A machine whose report rows do not parse is skipped for the window (the step's `skipped`: logged,
 * one run-log entry per machine and window, counted) and left as it was; the other machines are
 * evaluated and the watermark moves on. While its rows stay unreadable it is reported every window.
 */
import { ConfigError } from '../../core/errors.ts';
import type { PollSource, SkippedRecord } from '../../core/flow.ts';
import { parseWith } from '../../core/schema.ts';
import { backfillDowntime, DOWNTIME_BACKFILL_NOTE } from './backfill.ts';
import { connectMachineMetrics, type MachineMetricsClient } from './client.ts';
import {
  type DowntimePollOptions,
  type DowntimePollState,
  downtimePollOptionsSchema,
  downtimePollStateSchema,
  driveWindow,
  evaluateWindow,
  planWindows,
  type ResolvedDowntimePollOptions,
} from './detector.ts';
import { machineMetricsEvents } from './events.ts';

export {
  type DowntimePollOptions,
  type DowntimePollState,
  downtimePollOptionsSchema,
  downtimePollStateSchema,
  type ResolvedDowntimePollOptions,
} from './detector.ts';

export interface DowntimePollDeps {
  client: MachineMetricsClient;
}

export const DOWNTIME_POLL_SOURCE_ID = 'machinemetrics.downtime';

/** Apply defaults and validate; a ConfigError names the bad option. */
export const resolveDowntimePollOptions = (options: unknown): ResolvedDowntimePollOptions =>
  parseWith(downtimePollOptionsSchema, options, (p) => new ConfigError(`options.${p.path}`, p.message));

export const downtimePollSource: PollSource<
  DowntimePollOptions,
  DowntimePollState,
  DowntimePollDeps,
  typeof machineMetricsEvents
> = {
  id: DOWNTIME_POLL_SOURCE_ID,
  vendor: 'machinemetrics',
  events: machineMetricsEvents,
  stateSchema: downtimePollStateSchema,
  // One item per tracked machine plus the watermark (runtime/poll-state.ts): bounded at any fleet size.
  sharding: {
    split: (state) => ({ cursor: { lastEvaluatedEnd: state.lastEvaluatedEnd }, entries: state.machines }),
    join: (cursor, entries) => ({ ...cursor, machines: entries }),
  },
  connect: (env) => ({ client: connectMachineMetrics(env) }),
  backfillNote: DOWNTIME_BACKFILL_NOTE,
  backfill: (input) => backfillDowntime(input, resolveDowntimePollOptions),

  async *poll({ state, options, now, deps, log }) {
    const resolved = resolveDowntimePollOptions(options);
    const plan = planWindows(state?.lastEvaluatedEnd, now, resolved);
    let note = '';
    if (plan.skipped) {
      const { count, firstEnd, lastEnd } = plan.skipped;
      note = `skipped ${count} window${count === 1 ? '' : 's'} ending ${firstEnd}..${lastEnd} (beyond the ${resolved.maxCatchUpMinutes}-minute catch-up cap); `;
      log.warn('machinemetrics downtime: polling gap beyond the catch-up cap, older windows skipped', {
        source: DOWNTIME_POLL_SOURCE_ID,
        skippedWindows: count,
        firstSkippedEnd: firstEnd,
        lastSkippedEnd: lastEnd,
        maxCatchUpMinutes: resolved.maxCatchUpMinutes,
      });
    }
    let current = state;
    for (const tEnd of plan.windows) {
      const outcome = await driveWindow(evaluateWindow(current, tEnd, resolved), (query) =>
        deps.client.downtimeReport(query),
      );
      current = outcome.state;
      const skipped = outcome.skipped.map(
        (p): SkippedRecord => ({
          kind: 'MachineMetrics machine',
          record: p.record,
          field: p.field,
          message: p.message,
          next: `left as it was for the window ending ${tEnd.toISOString()} (no episode starts or ends on a row that cannot be read); evaluated again in the next window`,
        }),
      );
      yield {
        events: outcome.events,
        state: outcome.state,
        summary: `${note}${outcome.summary}`,
        ...(skipped.length > 0 ? { skipped } : {}),
      };
      note = '';
    }
  },
};
