/** Backfill of the downtime poll source over HTTP: real client, real simulator, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { planBackfill } from '../../../functions/connectors/machinemetrics/backfill.ts';
import { connectMachineMetrics } from '../../../functions/connectors/machinemetrics/client.ts';
import {
  type DowntimePollDeps,
  type DowntimePollOptions,
  type DowntimePollState,
  downtimePollOptionsSchema,
  downtimePollSource,
} from '../../../functions/connectors/machinemetrics/poll-source.ts';
import {
  type MachineMetricsSimulator,
  startMachineMetricsSimulator,
} from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import type { BackfillStep, FlowEvent } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';
import { MACHINE_1, MACHINE_2, mutableSecrets, SECRET_NAME, testEnv } from './fixtures.ts';

const API_KEY = 'backfill-test-key-4321';
const OPTIONS: DowntimePollOptions = { minimumMinutes: 10 };
let clock: Clock;
let sim: MachineMetricsSimulator;
let deps: DowntimePollDeps;

const at = (hhmm: string) => new Date(`2026-11-02T${hhmm}:00.000Z`);
const setClock = (hhmm: string) => clock.advance(at(hhmm).getTime() - clock.now().getTime());

beforeAll(async () => {
  clock = manualClock('2026-11-02T00:00:00.000Z');
  sim = await startMachineMetricsSimulator({ clock, apiKey: API_KEY });
  const env = testEnv({
    vendors: { machinemetrics: { baseUrl: sim.url, secretName: SECRET_NAME } },
    secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: API_KEY } }).source,
  });
  deps = { client: connectMachineMetrics(env, { http: { sleep: async () => undefined } }) };
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.world.records.length = 0;
  sim.requests.length = 0;
  setClock('00:00');
});

/** The live poll, run every 5 minutes of the clock from `state` until `until` (as the scheduler does). */
async function livePoll(state: DowntimePollState, until: string, actions: Record<string, () => void> = {}) {
  const events: FlowEvent[] = [];
  let current = state;
  for (let t = Date.parse(current.lastEvaluatedEnd) + 5 * 60_000; t <= at(until).getTime(); t += 5 * 60_000) {
    clock.advance(t - clock.now().getTime());
    actions[clock.now().toISOString().slice(11, 16)]?.();
    for await (const step of downtimePollSource.poll({
      state: current,
      options: OPTIONS,
      now: clock.now(),
      deps,
      log: memoryLog(),
    })) {
      events.push(...step.events);
      current = step.state;
    }
  }
  return { events, state: current };
}

async function backfill(from: string, to: string, lookbackMinutes?: number) {
  const backfillOf = downtimePollSource.backfill;
  if (!backfillOf) throw new Error('the downtime source has no backfill');
  const steps: BackfillStep[] = [];
  for await (const step of backfillOf({
    from: at(from),
    to: at(to),
    options: OPTIONS,
    deps,
    log: memoryLog(),
    now: clock.now(),
    ...(lookbackMinutes !== undefined ? { lookbackMinutes } : {}),
  })) {
    steps.push(step);
  }
  return { steps, ids: steps.flatMap((s) => s.events.map((e) => e.id)), last: steps.at(-1)?.summary ?? '' };
}

const inWindow = (events: FlowEvent[], from: string, to: string) =>
  events.filter((e) => e.occurredAt > at(from).toISOString() && e.occurredAt <= at(to).toISOString());

describe('planBackfill', () => {
  const o = downtimePollOptionsSchema.parse({ minimumMinutes: 10, backfillLookbackMinutes: 60 });

  it('evaluates the windows ending in (from, to] on the live grid, after a warm-up and a priming window', () => {
    const plan = planBackfill(at('09:52'), at('10:20'), at('12:00'), o);
    expect(plan.windows.map((w) => w.toISOString().slice(11, 16))).toEqual([
      '09:55',
      '10:00',
      '10:05',
      '10:10',
      '10:15',
      '10:20',
    ]);
    expect(plan.warmUp).toHaveLength(12);
    expect(plan.warmUp[0]?.toISOString()).toBe(at('08:55').toISOString());
    expect(plan.prime.toISOString()).toBe(at('08:50').toISOString());
    expect(plan.clampedTo).toBeUndefined();
  });

  it('stops at the settle limit like the live poll', () => {
    const plan = planBackfill(at('10:00'), at('10:30'), at('10:28'), o);
    expect(plan.windows.at(-1)?.toISOString()).toBe(at('10:20').toISOString());
    expect(plan.clampedTo?.toISOString()).toBe(at('10:23').toISOString());
  });
});

describe('downtimePollSource.backfill', () => {
  it('gives the live poll’s event ids for the same data, and nothing outside the window', async () => {
    const live = await livePoll({ lastEvaluatedEnd: at('07:00').toISOString(), machines: {} }, '11:30', {
      '07:40': () => sim.down(MACHINE_2),
      '08:10': () => sim.down(MACHINE_1),
      '08:35': () => sim.up(MACHINE_1),
      '09:00': () => sim.up(MACHINE_2),
      '09:20': () => sim.down(MACHINE_1),
      '10:00': () => sim.up(MACHINE_1),
    });
    const expected = inWindow(live.events, '08:00', '09:45').map((e) => e.id);
    // M2 started before the window (not emitted), ended in it; M1 has one whole episode and a start.
    expect(expected).toEqual([
      `mm:downtime:${MACHINE_1}/2026-11-02T08:20:00.000Z:started`,
      `mm:downtime:${MACHINE_1}/2026-11-02T08:20:00.000Z:ended`,
      `mm:downtime:${MACHINE_2}/2026-11-02T07:50:00.000Z:ended`,
      `mm:downtime:${MACHINE_1}/2026-11-02T09:30:00.000Z:started`,
    ]);
    const run = await backfill('08:00', '09:45');
    expect(run.ids).toEqual(expected);
    // Deterministic: again, the same.
    expect((await backfill('08:00', '09:45')).ids).toEqual(expected);
    expect(run.last).toMatch(
      /windows ending 2026-11-02T08:05:00.000Z\.\.2026-11-02T09:45:00.000Z: 4 events$/,
    );
    expect(run.steps.at(-1)?.progress).toEqual({ done: 1 + 144 + 21, total: 1 + 144 + 21 });
  });

  it('withholds the events of an episode under way since before the lookback, and names the machine', async () => {
    await livePoll({ lastEvaluatedEnd: at('05:00').toISOString(), machines: {} }, '10:30', {
      '05:30': () => sim.down(MACHINE_2),
      '08:30': () => sim.down(MACHINE_1),
      '09:30': () => sim.up(MACHINE_2),
      '09:40': () => sim.up(MACHINE_1),
    });
    const run = await backfill('09:00', '10:00', 60);
    // M2 was down since 05:30, before the warm-up (primed at 08:00): its ended event cannot get its id.
    expect(run.ids).toEqual([`mm:downtime:${MACHINE_1}/2026-11-02T08:40:00.000Z:ended`]);
    expect(run.last).toContain(`down since before it, not backfilled: ${MACHINE_2}`);
    expect(run.last).toContain('1 withheld');
    // A lookback that reaches the start of M2's episode gives its ended event under the live id.
    const wide = await backfill('09:00', '10:00', 300);
    expect(wide.ids).toEqual([
      `mm:downtime:${MACHINE_2}/2026-11-02T05:40:00.000Z:ended`,
      `mm:downtime:${MACHINE_1}/2026-11-02T08:40:00.000Z:ended`,
    ]);
  });

  it('a reason categorised since the live poll is in the started event; the ids it shares are the same', async () => {
    const live = await livePoll({ lastEvaluatedEnd: at('07:00').toISOString(), machines: {} }, '09:00', {
      '07:30': () => sim.down(MACHINE_1),
      '07:50': () => sim.categorize(MACHINE_1, 33),
      '08:10': () => sim.up(MACHINE_1),
    });
    const liveIds = live.events.map((e) => e.id);
    expect(liveIds).toContain(`mm:downtime:${MACHINE_1}/2026-11-02T07:40:00.000Z:categorized:33`);
    const run = await backfill('07:00', '08:45');
    // Categorising rewrites MachineMetrics' history: the backfill sees reason 33 from the start.
    expect(run.ids).toEqual(liveIds.filter((id) => !id.includes(':categorized:')));
    const started = run.steps.flatMap((s) => s.events).find((e) => e.id.endsWith(':started'));
    expect(started?.data.reasonId).toBe('33');
  });
});
