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
  // The three downtime flows read the same reports: flows whose detector settings match share one
  // poll of the union of their machines (a flow's started event depends on its own minimum).
  sharing: {
    key: (options) => {
      const o = resolveDowntimePollOptions(options);
      return `N${o.minimumMinutes}-P${o.stepMinutes}-L${o.settleMinutes}-C${o.maxCatchUpMinutes}-G${o.recategorizeGraceMinutes}`;
    },
    merge: (all) => {
      const first = all[0];
      if (!first) throw new ConfigError('options', 'a shared poll needs at least one member');
      const { machines: _ignored, groupMachines: _own, ...settings } = first;
      // One member tracking every machine makes the shared poll track every machine.
      if (all.some((o) => o.machines === undefined)) return settings;
      return { ...settings, machines: [...new Set(all.flatMap((o) => o.machines ?? []))].sort() };
    },
    accepts: (options) => {
      if (options.machines === undefined || options.groupMachines) return () => true;
      const mine = new Set(options.machines);
      return (subject) => subject !== undefined && mine.has(subject);
    },
    mergeStates: (states) => {
      const first = states[0];
      if (!first) throw new ConfigError('state', 'nothing to merge');
      const machines: DowntimePollState['machines'] = {};
      // Flows that both track a machine saw the same reports from the same watermark: same entry.
      for (const s of states) for (const [id, e] of Object.entries(s.machines)) machines[id] ??= e;
      return { lastEvaluatedEnd: first.lastEvaluatedEnd, machines };
    },
    watermark: (state) => Date.parse(state.lastEvaluatedEnd),
    catchUpNow: (target, options) =>
      new Date(
        Date.parse(target.lastEvaluatedEnd) + resolveDowntimePollOptions(options).settleMinutes * 60_000,
      ),
  },
  connect: (env) => ({ client: connectMachineMetrics(env) }),
  backfillNote: DOWNTIME_BACKFILL_NOTE,
  backfill: (input) => backfillDowntime(input, resolveDowntimePollOptions),

  async *poll({ state, options, now, deps, log }) {
    const resolved = resolveDowntimePollOptions(options);
    const plan = planWindows(state?.lastEvaluatedEnd, now, resolved);
    let note = '';
    let gap: SkippedRecord[] = [];
    if (plan.skipped) {
      const { count, firstEnd, lastEnd } = plan.skipped;
      const from =
        state?.lastEvaluatedEnd ??
        new Date(Date.parse(firstEnd) - resolved.stepMinutes * 60_000).toISOString();
      note = `skipped ${count} window${count === 1 ? '' : 's'} ending ${firstEnd}..${lastEnd} (beyond the ${resolved.maxCatchUpMinutes}-minute catch-up cap); `;
      log.warn('machinemetrics downtime: polling gap beyond the catch-up cap, older windows skipped', {
        source: DOWNTIME_POLL_SOURCE_ID,
        skippedWindows: count,
        firstSkippedEnd: firstEnd,
        lastSkippedEnd: lastEnd,
        maxCatchUpMinutes: resolved.maxCatchUpMinutes,
      });
      // Downtime in those windows was never looked at: a run-log entry and the needs-attention
      // alarm, not only a WARN line, so a person backfills it (README "Backfill").
      gap = [
        {
          kind: 'MachineMetrics downtime',
          record: `${from}..${lastEnd}`,
          field: '',
          message: `${count} window${count === 1 ? '' : 's'} (${Math.round((Date.parse(lastEnd) - Date.parse(from)) / 60_000)} minutes) not evaluated: the poll fell further behind than its ${resolved.maxCatchUpMinutes}-minute catch-up cap (poll.maxCatchUpMinutes)`,
          gap: { from, to: lastEnd },
        },
      ];
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
      const reported = [...gap, ...skipped];
      yield {
        events: outcome.events,
        state: outcome.state,
        summary: `${note}${outcome.summary}`,
        ...(reported.length > 0 ? { skipped: reported } : {}),
      };
      note = '';
      gap = [];
    }
  },
};
