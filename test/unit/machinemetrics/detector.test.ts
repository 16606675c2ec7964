/**
 * The pure detector, driven by an in-memory vendor: the simulator's own report aggregation over a
 * list of downtime records (no HTTP), normalised like the client does.
 */
import { describe, expect, it } from '@jest/globals';
import { normaliseDowntimeReport } from '../../../functions/connectors/machinemetrics/client.ts';
import {
  type DetectorQuery,
  type DowntimePollState,
  downtimePollOptionsSchema,
  downtimePollStateSchema,
  driveWindow,
  evaluateWindow,
  planWindows,
  type ResolvedDowntimePollOptions,
} from '../../../functions/connectors/machinemetrics/detector.ts';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
} from '../../../functions/connectors/machinemetrics/events.ts';
import { downtimeReportResponseSchema } from '../../../functions/connectors/machinemetrics/schemas.ts';
import {
  aggregateDowntime,
  categorizeDowntime,
  createMachineMetricsWorld,
  type MachineMetricsWorld,
  markMachineDown,
  markMachineUp,
} from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import { MACHINE_1, MACHINE_2 } from './fixtures.ts';

const at = (hhmmss: string) => new Date(`2026-11-02T${hhmmss}Z`);
const iso = (hhmmss: string) => at(hhmmss).toISOString();
const MIN = 60_000;

const options = (overrides: Partial<ResolvedDowntimePollOptions> = {}): ResolvedDowntimePollOptions =>
  downtimePollOptionsSchema.parse({ minimumMinutes: 10, ...overrides });

/** A change to a raw report before it is parsed (to send a row the client cannot read). */
type Corrupt = (
  query: DetectorQuery,
  raw: { items: { entity: { id: string }; aggregate: unknown }[] },
) => void;

/** The vendor as seen at `vendorNow` (open records count up to it). */
function vendor(world: MachineMetricsWorld, vendorNow: () => Date, corrupt?: Corrupt) {
  const queries: DetectorQuery[] = [];
  const read = async (query: DetectorQuery) => {
    queries.push(query);
    const raw = JSON.parse(
      JSON.stringify(
        aggregateDowntime(
          world,
          { start: query.start, end: query.end, groupBy: query.groupBy, machines: query.machines },
          vendorNow(),
        ),
      ),
    );
    corrupt?.(query, raw);
    return normaliseDowntimeReport(downtimeReportResponseSchema.parse(raw));
  };
  return { read, queries };
}

/** Evaluate every due window like the poll source does; returns each step's outcome. */
async function poll(
  world: MachineMetricsWorld,
  state: DowntimePollState | undefined,
  now: Date,
  opts = options(),
  corrupt?: Corrupt,
) {
  const v = vendor(world, () => now, corrupt);
  const plan = planWindows(state?.lastEvaluatedEnd, now, opts);
  const steps = [];
  let current = state;
  for (const tEnd of plan.windows) {
    const outcome = await driveWindow(evaluateWindow(current, tEnd, opts), v.read);
    current = outcome.state;
    steps.push(outcome);
  }
  return { steps, state: current, plan, queries: v.queries, events: steps.flatMap((s) => s.events) };
}

const stateAt = (hhmmss: string, machines: DowntimePollState['machines'] = {}): DowntimePollState => ({
  lastEvaluatedEnd: iso(hhmmss),
  machines,
});

describe('planWindows', () => {
  const opts = options();

  it('starts with exactly one window, aligned to the step, settle delay behind now (no backfill)', () => {
    expect(planWindows(undefined, at('08:12:30'), opts).windows).toEqual([at('08:05:00')]);
    expect(planWindows(undefined, at('08:10:00'), opts).windows).toEqual([at('08:05:00')]);
    expect(planWindows(undefined, at('08:09:59'), opts).windows).toEqual([at('08:00:00')]);
  });

  it('evaluates nothing inside the last L minutes', () => {
    expect(planWindows(iso('08:00:00'), at('08:09:59'), opts).windows).toEqual([]);
    expect(planWindows(iso('08:00:00'), at('08:10:00'), opts).windows).toEqual([at('08:05:00')]);
    const longSettle = options({ settleMinutes: 12 });
    expect(planWindows(iso('08:00:00'), at('08:16:59'), longSettle).windows).toEqual([]);
    expect(planWindows(iso('08:00:00'), at('08:17:00'), longSettle).windows).toEqual([at('08:05:00')]);
  });

  it('replays a gap window by window, oldest first', () => {
    expect(planWindows(iso('08:00:00'), at('08:31:00'), opts).windows).toEqual(
      ['08:05', '08:10', '08:15', '08:20', '08:25'].map((t) => at(`${t}:00`)),
    );
  });

  it('caps the catch-up and reports the skipped windows', () => {
    const plan = planWindows(iso('08:00:00'), at('09:00:00'), options({ maxCatchUpMinutes: 30 }));
    expect(plan.windows).toEqual(
      ['08:30', '08:35', '08:40', '08:45', '08:50', '08:55'].map((t) => at(`${t}:00`)),
    );
    expect(plan.skipped).toEqual({ count: 5, firstEnd: iso('08:05:00'), lastEnd: iso('08:25:00') });
  });
});

describe('evaluateWindow: episode start', () => {
  it('starts an episode at exactly N minutes less the 2 % tolerance, and not one second less', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:50:12') }); // 588 s = 98 % of 10 min before 08:00
    markMachineDown(world, MACHINE_2, { at: at('07:50:13') }); // 587 s
    const { events } = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    expect(events.map((e) => [e.type, e.subject])).toEqual([[DOWNTIME_STARTED, MACHINE_1]]);
  });

  it('emits DOWNTIME_STARTED with the window end as detection time, a refined start and the dominant reason', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:47:00'), reasonId: 95 });
    const { events, state, queries } = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    const episodeKey = `${MACHINE_1}/2026-11-02T08:00:00.000Z`;
    expect(events).toEqual([
      {
        id: `mm:downtime:${episodeKey}:started`,
        type: DOWNTIME_STARTED,
        source: 'machinemetrics.poll',
        occurredAt: iso('08:00:00'),
        subject: MACHINE_1,
        data: {
          machineId: MACHINE_1,
          machineName: 'MACHINE 1',
          episodeKey,
          startedAt: iso('07:47:00'),
          detectedAt: iso('08:00:00'),
          reasonId: '95',
          reasonName: 'Part Changeover',
          downtimeMs: 13 * MIN,
        },
      },
    ]);
    expect(queries.map((q) => [q.purpose, q.start.toISOString(), q.end.toISOString()])).toEqual([
      ['detect', iso('07:50:00'), iso('08:00:00')],
      ['refine-start', iso('07:45:00'), iso('07:50:00')],
    ]);
    expect(state?.machines[MACHINE_1]).toMatchObject({ status: 'DOWN', episodeKey, reasonId: '95' });
    expect(() => downtimePollStateSchema.parse(state)).not.toThrow();
  });

  it('needs one report per window while every machine runs', async () => {
    const world = createMachineMetricsWorld();
    const { steps, queries } = await poll(world, stateAt('08:00:00'), at('08:25:00'));
    expect(steps).toHaveLength(4);
    expect(queries.map((q) => q.purpose)).toEqual(['detect', 'detect', 'detect', 'detect']);
    expect(steps.every((s) => s.requests === 1 && s.events.length === 0)).toBe(true);
  });
});

describe('evaluateWindow: determinism', () => {
  it('reproduces identical events and state when a window is retried from the same state, even later', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:40:00') });
    markMachineDown(world, MACHINE_2, { at: at('07:30:00') });
    const start = stateAt('07:55:00');
    const first = await poll(world, start, at('08:05:00'));
    // The runtime crashed before saving the state; the retry runs 35 minutes later, when the vendor
    // has more (open) downtime and more windows are due.
    const retry = await poll(world, start, at('08:40:00'));
    expect(retry.steps.length).toBeGreaterThan(1);
    expect(retry.steps[0]?.events).toEqual(first.steps[0]?.events);
    expect(retry.steps[0]?.state).toEqual(first.steps[0]?.state);
    expect(first.events.map((e) => e.id)).toEqual([
      `mm:downtime:${MACHINE_1}/2026-11-02T08:00:00.000Z:started`,
      `mm:downtime:${MACHINE_2}/2026-11-02T08:00:00.000Z:started`,
    ]);
  });

  it('does not mutate the state it is given', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:40:00') });
    const { state } = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    if (!state) throw new Error('no state');
    const frozen = structuredClone(state);
    markMachineUp(world, MACHINE_1, { at: at('08:02:00') });
    await poll(world, state, at('08:10:00'));
    expect(state).toEqual(frozen);
  });
});

describe('evaluateWindow: end of an episode', () => {
  it('emits DOWNTIME_ENDED once with the end inside the last step and the total duration', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:47:00') });
    markMachineUp(world, MACHINE_1, { at: at('08:13:30') });
    const first = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    const later = await poll(world, first.state, at('08:30:00'));
    const ended = later.events.filter((e) => e.type === DOWNTIME_ENDED);
    expect(ended).toEqual([
      {
        id: `mm:downtime:${MACHINE_1}/2026-11-02T08:00:00.000Z:ended`,
        type: DOWNTIME_ENDED,
        source: 'machinemetrics.poll',
        occurredAt: iso('08:15:00'),
        subject: MACHINE_1,
        data: {
          machineId: MACHINE_1,
          machineName: 'MACHINE 1',
          episodeKey: `${MACHINE_1}/2026-11-02T08:00:00.000Z`,
          startedAt: iso('07:47:00'),
          endedAt: iso('08:13:30'),
          downtimeMs: 26.5 * MIN,
        },
      },
    ]);
    expect(later.events).toHaveLength(1);
    expect(later.state?.machines[MACHINE_1]).toMatchObject({
      status: 'ENDED',
      endedAt: iso('08:13:30'),
      graceUntil: iso('09:13:30'),
    });
  });

  it('keeps an ended episode for the grace period only, then forgets it', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:45:00') });
    markMachineUp(world, MACHINE_1, { at: at('08:03:00') });
    const first = await poll(world, stateAt('07:55:00'), at('08:10:00'));
    expect(first.state?.machines[MACHINE_1]?.graceUntil).toBe(iso('09:03:00'));
    const inGrace = await poll(world, stateAt('08:55:00', first.state?.machines), at('09:05:00'));
    expect(inGrace.state?.machines[MACHINE_1]?.status).toBe('ENDED');
    const after = await poll(world, inGrace.state, at('09:10:00'));
    expect(after.state?.machines).toEqual({});
    expect(after.queries.map((q) => q.purpose)).toEqual(['detect']);
  });
});

describe('evaluateWindow: a machine whose report rows do not parse', () => {
  /** MACHINE_1's row of the `still-down` report carries a downtime that is not a number. */
  const badStillDown: Corrupt = (query, raw) => {
    if (query.purpose !== 'still-down') return;
    const row = raw.items.find((i) => i.entity.id === MACHINE_1);
    if (row) row.aggregate = { downtimeMs: 'n/a' };
  };

  it('is left as it was (never ended on an unreadable row) while the others go on, then evaluated again', async () => {
    const world = createMachineMetricsWorld();
    for (const m of [MACHINE_1, MACHINE_2]) {
      markMachineDown(world, m, { at: at('07:47:00') });
      markMachineUp(world, m, { at: at('08:13:30') });
    }
    const first = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    expect(Object.values(first.state?.machines ?? {}).map((e) => e.status)).toEqual(['DOWN', 'DOWN']);

    const bad = await poll(world, first.state, at('08:20:00'), options(), badStillDown);
    expect(bad.events.map((e) => [e.type, e.subject])).toEqual([[DOWNTIME_ENDED, MACHINE_2]]);
    expect(bad.state?.machines[MACHINE_1]).toEqual(first.state?.machines[MACHINE_1]);
    expect(bad.state?.machines[MACHINE_2]?.status).toBe('ENDED');
    expect(bad.state?.lastEvaluatedEnd).toBe(iso('08:15:00'));
    // Windows ending 08:05, 08:10 and 08:15: reported in each window while it stays unreadable.
    const problem = {
      record: MACHINE_1,
      field: 'items[0].aggregate.downtimeMs',
      message: 'expected number (got "n/a")',
    };
    expect(bad.steps.map((s) => s.skipped)).toEqual([[problem], [problem], [problem]]);

    // Readable again in the next window: the episode ends there, once.
    const next = await poll(world, bad.state, at('08:25:00'));
    expect(next.events.map((e) => [e.type, e.subject])).toEqual([[DOWNTIME_ENDED, MACHINE_1]]);
    expect(next.steps.flatMap((s) => s.skipped)).toEqual([]);
  });

  it('does not start an episode on a refinement row it cannot read; the next window starts it', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:47:00') });
    const badRefine: Corrupt = (query, raw) => {
      if (query.purpose !== 'refine-start') return;
      const row = raw.items.find((i) => i.entity.id === MACHINE_1);
      if (row) row.aggregate = null;
    };
    const bad = await poll(world, stateAt('07:55:00'), at('08:05:00'), options(), badRefine);
    expect(bad.events).toEqual([]);
    expect(bad.state?.machines).toEqual({});
    expect(bad.steps.flatMap((s) => s.skipped).map((p) => [p.record, p.field])).toEqual([
      [MACHINE_1, 'items[0].aggregate'],
    ]);
    const next = await poll(world, bad.state, at('08:10:00'));
    expect(next.events.map((e) => e.type)).toEqual([DOWNTIME_STARTED]);
  });
});

describe('evaluateWindow: a machine that goes down again', () => {
  it('starts a new episode with a new key while the previous one is in grace, never overlapping it', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:45:00') });
    markMachineUp(world, MACHINE_1, { at: at('08:02:00') });
    markMachineDown(world, MACHINE_1, { at: at('08:03:00') });
    const { events, state } = await poll(world, stateAt('07:55:00'), at('08:20:00'));
    expect(events.map((e) => e.id)).toEqual([
      `mm:downtime:${MACHINE_1}/2026-11-02T08:00:00.000Z:started`,
      `mm:downtime:${MACHINE_1}/2026-11-02T08:00:00.000Z:ended`,
      `mm:downtime:${MACHINE_1}/2026-11-02T08:15:00.000Z:started`,
    ]);
    // The step [08:00, 08:05) holds 4 min of downtime on both sides of the 08:02-08:03 run. Aggregates
    // cannot place it: the end is put after those 4 min (08:04), and the new start no earlier.
    const ended = events.find((e) => e.type === DOWNTIME_ENDED);
    expect(ended?.data.endedAt).toBe(iso('08:04:00'));
    expect(state?.machines[MACHINE_1]).toMatchObject({ status: 'DOWN', startedAt: iso('08:04:00') });
  });
});

describe('evaluateWindow: recategorisation', () => {
  it('emits DOWNTIME_CATEGORIZED once when an uncategorised episode gets a reason', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:45:00') });
    const started = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    expect(started.events[0]?.data).toMatchObject({ reasonId: 'uncategorized', reasonName: 'Uncategorized' });
    categorizeDowntime(world, MACHINE_1, 33);
    const next = await poll(world, started.state, at('08:20:00'));
    expect(next.events).toEqual([
      {
        id: `mm:downtime:${MACHINE_1}/2026-11-02T08:00:00.000Z:categorized:33`,
        type: DOWNTIME_CATEGORIZED,
        source: 'machinemetrics.poll',
        occurredAt: iso('08:05:00'),
        subject: MACHINE_1,
        data: {
          machineId: MACHINE_1,
          machineName: 'MACHINE 1',
          episodeKey: `${MACHINE_1}/2026-11-02T08:00:00.000Z`,
          reasonId: '33',
          reasonName: 'Chipping Out',
          categorizedAt: iso('08:05:00'),
        },
      },
    ]);
    expect(next.state?.machines[MACHINE_1]).toMatchObject({ reasonId: '33', reasonName: 'Chipping Out' });
    expect(next.steps.map((s) => s.events.length)).toEqual([1, 0, 0]);
  });

  it('prefers a real reason over virtual ones when the episode mixes them', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:45:00') });
    markMachineUp(world, MACHINE_1, { at: at('07:58:00') });
    markMachineDown(world, MACHINE_1, { at: at('07:58:00'), reasonId: 33 }); // categorised at once
    const started = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    expect(started.events[0]?.data).toMatchObject({ reasonId: 'uncategorized', startedAt: iso('07:45:00') });
    // [07:45, 08:05): 13 min uncategorized (virtual) against 7 min of reason 33.
    const next = await poll(world, started.state, at('08:10:00'));
    expect(next.events.map((e) => [e.type, e.data.reasonId])).toEqual([[DOWNTIME_CATEGORIZED, '33']]);
  });

  it('falls back to the dominant virtual reason when every reason is virtual', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:45:00') });
    const started = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    categorizeDowntime(world, MACHINE_1, 'setup');
    const next = await poll(world, started.state, at('08:10:00'));
    expect(next.events.map((e) => e.data.reasonId)).toEqual(['setup']);
  });

  it('reports a categorisation made after the end while the episode is in grace', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:45:00') });
    markMachineUp(world, MACHINE_1, { at: at('08:02:00') });
    const ended = await poll(world, stateAt('07:55:00'), at('08:10:00'));
    expect(ended.events.map((e) => e.type)).toEqual([DOWNTIME_STARTED, DOWNTIME_ENDED]);
    categorizeDowntime(world, MACHINE_1, 95);
    const next = await poll(world, ended.state, at('08:20:00'));
    expect(next.events.map((e) => [e.type, e.data.reasonId])).toEqual([[DOWNTIME_CATEGORIZED, '95']]);
    // On the window grid: from the refinement step before detection to the window that saw the end.
    const reasonQuery = next.queries.find((q) => q.purpose === 'reason');
    expect([reasonQuery?.start.toISOString(), reasonQuery?.end.toISOString()]).toEqual([
      iso('07:45:00'),
      iso('08:05:00'),
    ]);
  });
});

describe('evaluateWindow: polling gaps', () => {
  it('replays a missed hour window by window and finds an episode that started and ended inside it', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_2, { at: at('08:12:00') });
    markMachineUp(world, MACHINE_2, { at: at('08:40:00') });
    const { steps, events } = await poll(world, stateAt('08:00:00'), at('09:00:00'));
    expect(steps.map((s) => s.state.lastEvaluatedEnd)).toEqual(
      ['08:05', '08:10', '08:15', '08:20', '08:25', '08:30', '08:35', '08:40', '08:45', '08:50', '08:55'].map(
        (t) => iso(`${t}:00`),
      ),
    );
    expect(events.map((e) => [e.type, e.occurredAt, e.data.startedAt, e.data.downtimeMs])).toEqual([
      [DOWNTIME_STARTED, iso('08:25:00'), iso('08:12:00'), 13 * MIN],
      [DOWNTIME_ENDED, iso('08:45:00'), iso('08:12:00'), 28 * MIN],
    ]);
  });

  it('skips windows beyond the catch-up cap', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_2, { at: at('08:02:00') });
    markMachineUp(world, MACHINE_2, { at: at('08:20:00') });
    const { steps, events, plan } = await poll(
      world,
      stateAt('08:00:00'),
      at('09:00:00'),
      options({ maxCatchUpMinutes: 30 }),
    );
    expect(plan.skipped?.count).toBe(5);
    expect(steps[0]?.state.lastEvaluatedEnd).toBe(iso('08:30:00'));
    expect(steps).toHaveLength(6);
    expect(events).toEqual([]); // the episode lay wholly in the skipped windows
  });
});

describe('downtimePollOptionsSchema', () => {
  it('applies the documented defaults', () => {
    expect(downtimePollOptionsSchema.parse({ minimumMinutes: 10 })).toEqual({
      minimumMinutes: 10,
      stepMinutes: 5,
      settleMinutes: 5,
      maxCatchUpMinutes: 1440,
      recategorizeGraceMinutes: 60,
      backfillLookbackMinutes: 720,
    });
  });

  it('rejects a minimum shorter than the step', () => {
    const result = downtimePollOptionsSchema.safeParse({ minimumMinutes: 3, stepMinutes: 5 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['minimumMinutes']);
  });
});

describe('evaluateWindow: tracked machines and report requests', () => {
  it('tracks only the given machines: asks for them alone and ignores any other machine the vendor sends', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:40:00') });
    markMachineDown(world, MACHINE_2, { at: at('07:40:00') });
    const opts = options({ machines: [MACHINE_1] });
    const { events, state, queries } = await poll(world, stateAt('07:55:00'), at('08:05:00'), opts);
    expect(queries.find((q) => q.purpose === 'detect')?.machines).toEqual([MACHINE_1]);
    expect(events.map((e) => e.subject)).toEqual([MACHINE_1]);
    expect(Object.keys(state?.machines ?? {})).toEqual([MACHINE_1]);

    // A vendor that ignores the filter: the other machine's rows are still not used or stored.
    const unfiltered = async (query: DetectorQuery) =>
      normaliseDowntimeReport(
        downtimeReportResponseSchema.parse(
          JSON.parse(
            JSON.stringify(
              aggregateDowntime(
                world,
                { start: query.start, end: query.end, groupBy: query.groupBy },
                at('08:05:00'),
              ),
            ),
          ),
        ),
      );
    const outcome = await driveWindow(evaluateWindow(stateAt('07:55:00'), at('08:00:00'), opts), unfiltered);
    expect(outcome.events.map((e) => e.subject)).toEqual([MACHINE_1]);
    expect(Object.keys(outcome.state.machines)).toEqual([MACHINE_1]);
  });

  it('reads no report at all when no machine is tracked, and lets go of a machine no longer tracked', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:40:00') });
    const started = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    expect(Object.keys(started.state?.machines ?? {})).toEqual([MACHINE_1]);
    const none = await poll(world, started.state, at('08:10:00'), options({ machines: [] }));
    expect(none.queries).toEqual([]);
    expect(none.events).toEqual([]);
    expect(none.state).toEqual({ lastEvaluatedEnd: iso('08:05:00'), machines: {} });
  });

  it('asks one reason query for all episodes that started and ended in the same windows', async () => {
    const world = createMachineMetricsWorld();
    // Down at different moments of the same step: one detection window, one shared reason range.
    markMachineDown(world, MACHINE_1, { at: at('07:41:00') });
    markMachineDown(world, MACHINE_2, { at: at('07:43:30') });
    const started = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    expect(started.events.map((e) => [e.type, e.subject])).toEqual([
      [DOWNTIME_STARTED, MACHINE_1],
      [DOWNTIME_STARTED, MACHINE_2],
    ]);
    const next = await poll(world, started.state, at('08:10:00'));
    const reasons = next.queries.filter((q) => q.purpose === 'reason');
    expect(reasons.map((q) => [q.start.toISOString(), q.end.toISOString(), q.machines])).toEqual([
      [iso('07:45:00'), iso('08:05:00'), [MACHINE_1, MACHINE_2]],
    ]);
    // detect, still-down and one reason query (one per machine before).
    expect(next.steps[0]?.requests).toBe(3);
  });

  it('keeps reading state saved before the reason range existed (exact episode range)', async () => {
    const world = createMachineMetricsWorld();
    markMachineDown(world, MACHINE_1, { at: at('07:41:00') });
    const started = await poll(world, stateAt('07:55:00'), at('08:05:00'));
    const entry = started.state?.machines[MACHINE_1];
    if (!entry) throw new Error('no episode');
    const { reasonFrom: _from, ...old } = entry;
    const next = await poll(world, stateAt('08:00:00', { [MACHINE_1]: old }), at('08:10:00'));
    const reason = next.queries.find((q) => q.purpose === 'reason');
    expect(reason?.start.toISOString()).toBe(entry.startedAt);
    expect(downtimePollStateSchema.parse(JSON.parse(JSON.stringify(next.state)))).toEqual(next.state);
  });
});
