/** The downtime poll source end to end over HTTP: real client, real simulator, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  connectMachineMetrics,
  MachineMetricsClient,
} from '../../../functions/connectors/machinemetrics/client.ts';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
} from '../../../functions/connectors/machinemetrics/events.ts';
import {
  type DowntimePollDeps,
  type DowntimePollOptions,
  type DowntimePollState,
  downtimePollSource,
} from '../../../functions/connectors/machinemetrics/poll-source.ts';
import {
  type MachineMetricsSimulator,
  startMachineMetricsSimulator,
} from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import { ConfigError, VendorUnavailableError } from '../../../functions/core/errors.ts';
import type { PollStep } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';
import { MACHINE_1, MACHINE_2, mutableSecrets, SECRET_NAME, testEnv } from './fixtures.ts';

const API_KEY = 'poll-test-key-5678';
const MIN = 60_000;
let clock: Clock;
let sim: MachineMetricsSimulator;
let deps: DowntimePollDeps;
const sleeps: number[] = [];

beforeAll(async () => {
  clock = manualClock('2026-11-02T08:00:00.000Z');
  sim = await startMachineMetricsSimulator({ clock, apiKey: API_KEY });
  const env = testEnv({
    vendors: { machinemetrics: { baseUrl: sim.url, secretName: SECRET_NAME } },
    secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: API_KEY } }).source,
  });
  // The source's own connect(), but with the client's backoff routed to a recorder (no real sleeps).
  deps = {
    client: connectMachineMetrics(env, {
      http: {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    }),
  };
  expect(downtimePollSource.connect(env).client).toBeInstanceOf(MachineMetricsClient);
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.world.records.length = 0;
  sim.requests.length = 0;
  sim.faults.length = 0;
});

async function poll(
  state: DowntimePollState | undefined,
  options: DowntimePollOptions = { minimumMinutes: 10 },
  pollDeps: DowntimePollDeps = deps,
) {
  const log = memoryLog();
  const steps: PollStep<DowntimePollState>[] = [];
  for await (const step of downtimePollSource.poll({
    state,
    options,
    now: clock.now(),
    deps: pollDeps,
    log,
  })) {
    // What the runtime does: the state it saves must load again through the source's schema.
    expect(downtimePollSource.stateSchema.parse(JSON.parse(JSON.stringify(step.state)))).toEqual(step.state);
    steps.push(step);
  }
  const last = steps.at(-1)?.state ?? state;
  return { steps, state: last, log, events: steps.flatMap((s) => s.events) };
}

const setClock = (iso: string) => clock.advance(Date.parse(iso) - clock.now().getTime());

describe('downtimePollSource', () => {
  it('is the machinemetrics.downtime source', () => {
    expect(downtimePollSource.id).toBe('machinemetrics.downtime');
    expect(downtimePollSource.vendor).toBe('machinemetrics');
  });

  it('evaluates exactly one aligned window on its first run (no backfill)', async () => {
    setClock('2026-11-02T09:13:20.000Z');
    sim.down(MACHINE_2, { at: new Date('2026-11-02T06:00:00Z') });
    sim.up(MACHINE_2, { at: new Date('2026-11-02T07:00:00Z') });
    const { steps, events } = await poll(undefined);
    expect(steps).toHaveLength(1);
    expect(steps[0]?.state).toEqual({ lastEvaluatedEnd: '2026-11-02T09:05:00.000Z', machines: {} });
    expect(events).toEqual([]);
    expect(sim.requests).toEqual(['POST /reports/downtime']);
  });

  it('follows an episode over HTTP: started, categorized, ended, each once', async () => {
    setClock('2026-11-02T10:00:00.000Z');
    let state: DowntimePollState | undefined = { lastEvaluatedEnd: '2026-11-02T09:55:00.000Z', machines: {} };
    sim.down(MACHINE_1, { at: new Date('2026-11-02T09:58:00Z') });
    const seen: string[] = [];
    for (const [minute, action] of [
      [15, undefined],
      [20, () => sim.categorize(MACHINE_1, 33)],
      [30, () => sim.up(MACHINE_1)],
      [45, undefined],
    ] as const) {
      setClock(`2026-11-02T10:${minute}:00.000Z`);
      action?.();
      const run = await poll(state);
      state = run.state;
      seen.push(...run.events.map((e) => `${e.type}@${e.occurredAt.slice(11, 16)}`));
    }
    expect(seen).toEqual([
      `${DOWNTIME_STARTED}@10:10`,
      `${DOWNTIME_CATEGORIZED}@10:15`,
      `${DOWNTIME_ENDED}@10:35`,
    ]);
    expect(state?.machines[MACHINE_1]).toMatchObject({
      status: 'ENDED',
      reasonId: '33',
      startedAt: '2026-11-02T09:58:00.000Z',
      endedAt: '2026-11-02T10:30:00.000Z',
    });
  });

  it('yields the same event ids when a step is retried from the same state', async () => {
    setClock('2026-11-02T11:00:00.000Z');
    sim.down(MACHINE_1, { at: new Date('2026-11-02T10:30:00Z') });
    const state: DowntimePollState = { lastEvaluatedEnd: '2026-11-02T10:50:00.000Z', machines: {} };
    const first = await poll(state);
    clock.advance(2 * MIN);
    const retry = await poll(state);
    expect(first.events.map((e) => e.id)).toEqual([
      `mm:downtime:${MACHINE_1}/2026-11-02T10:55:00.000Z:started`,
    ]);
    expect(retry.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
  });

  it('rides out a 503 from the vendor with the client retry', async () => {
    setClock('2026-11-02T12:00:00.000Z');
    sim.faults.push({ match: 'POST /reports/downtime', status: 503 });
    const { steps } = await poll({ lastEvaluatedEnd: '2026-11-02T11:50:00.000Z', machines: {} });
    expect(steps).toHaveLength(1);
    expect(sim.requests).toHaveLength(2);
    expect(sleeps.length).toBeGreaterThan(0);
  });

  it('skips windows beyond the catch-up cap with a warning and says so in the summary', async () => {
    setClock('2026-11-02T14:00:00.000Z');
    const { steps, log } = await poll(
      { lastEvaluatedEnd: '2026-11-02T12:00:00.000Z', machines: {} },
      { minimumMinutes: 10, maxCatchUpMinutes: 15 },
    );
    expect(steps.map((s) => s.state.lastEvaluatedEnd)).toEqual([
      '2026-11-02T13:45:00.000Z',
      '2026-11-02T13:50:00.000Z',
      '2026-11-02T13:55:00.000Z',
    ]);
    expect(steps[0]?.summary).toMatch(
      /^skipped 20 windows ending 2026-11-02T12:05:00.000Z\.\.2026-11-02T13:40:00.000Z/,
    );
    expect(steps[1]?.summary).not.toMatch(/skipped/);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    // The gap is reported with the first step (before its state moves past it), as a gap to backfill.
    expect(steps[0]?.skipped).toEqual([
      expect.objectContaining({
        record: '2026-11-02T12:00:00.000Z..2026-11-02T13:40:00.000Z',
        gap: { from: '2026-11-02T12:00:00.000Z', to: '2026-11-02T13:40:00.000Z' },
        message: expect.stringMatching(/^20 windows \(100 minutes\) not evaluated: .*15-minute catch-up cap/),
      }),
    ]);
    expect(steps[1]?.skipped).toBeUndefined();
  });

  it('skips a machine whose report row does not parse (named in the step) and evaluates the others', async () => {
    setClock('2026-11-02T16:00:00.000Z');
    sim.down(MACHINE_1, { at: new Date('2026-11-02T15:30:00Z') });
    sim.down(MACHINE_2, { at: new Date('2026-11-02T15:30:00Z') });
    // Every report answers MACHINE_1's row with a downtime that is not a number.
    const env = testEnv({
      vendors: { machinemetrics: { baseUrl: sim.url, secretName: SECRET_NAME } },
      secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: API_KEY } }).source,
    });
    const corrupting = connectMachineMetrics(env, {
      http: {
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          const body = (await res.json()) as { items: { entity: { id: string }; aggregate: unknown }[] };
          for (const row of body.items) if (row.entity.id === MACHINE_1) row.aggregate = { downtimeMs: null };
          return new Response(JSON.stringify(body), { status: res.status });
        },
      },
    });
    const run = await poll(
      { lastEvaluatedEnd: '2026-11-02T15:50:00.000Z', machines: {} },
      { minimumMinutes: 10 },
      { client: corrupting },
    );
    expect(run.events.map((e) => [e.type, e.subject])).toEqual([[DOWNTIME_STARTED, MACHINE_2]]);
    expect(Object.keys(run.state?.machines ?? {})).toEqual([MACHINE_2]);
    expect(run.steps).toHaveLength(1);
    expect(run.steps[0]?.skipped).toEqual([
      {
        kind: 'MachineMetrics machine',
        record: MACHINE_1,
        field: expect.stringMatching(/^items\[\d+\]\.aggregate\.downtimeMs$/),
        message: 'expected number (got null)',
        next: 'left as it was for the window ending 2026-11-02T15:55:00.000Z (no episode starts or ends on a row that cannot be read); evaluated again in the next window',
      },
    ]);
  });

  it('an outage in the middle of a catch-up keeps only the windows read before it; after recovery the rest is read once: the same events as without the outage, none twice', async () => {
    sim.down(MACHINE_1, { at: new Date('2026-11-02T15:20:00Z') });
    sim.up(MACHINE_1, { at: new Date('2026-11-02T15:40:00Z') });
    sim.down(MACHINE_2, { at: new Date('2026-11-02T15:50:00Z') });
    const from: DowntimePollState = { lastEvaluatedEnd: '2026-11-02T15:10:00.000Z', machines: {} };
    setClock('2026-11-02T16:30:00.000Z');
    const whole = await poll(from);

    // The vendor answers three report requests, then is down (the client's retries spent).
    let answered = 0;
    let down = true;
    const flaky: DowntimePollDeps = {
      client: new Proxy(deps.client, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop !== 'downtimeReport') return typeof value === 'function' ? value.bind(target) : value;
          return (query: Parameters<typeof target.downtimeReport>[0]) => {
            if (down && answered++ >= 3) {
              throw new VendorUnavailableError('machinemetrics', 'downtimeReport', 'HTTP 503 (4 attempts)');
            }
            return target.downtimeReport(query);
          };
        },
      }),
    };
    setClock('2026-11-02T16:00:00.000Z');
    const saved: PollStep<DowntimePollState>[] = [];
    const failing = downtimePollSource.poll({
      state: from,
      options: { minimumMinutes: 10 },
      now: clock.now(),
      deps: flaky,
      log: memoryLog(),
    });
    await expect(
      (async () => {
        for await (const step of failing) saved.push(step);
      })(),
    ).rejects.toThrow(VendorUnavailableError);
    expect(saved.length).toBeGreaterThan(0); // progress before the outage is handed over
    const kept = saved.at(-1)?.state ?? from;
    // The watermark is that of the last window read whole, before the first refused request.
    expect(Date.parse(kept.lastEvaluatedEnd)).toBeLessThan(Date.parse('2026-11-02T15:55:00.000Z'));

    down = false;
    setClock('2026-11-02T16:30:00.000Z');
    const after = await poll(kept, { minimumMinutes: 10 }, flaky);
    const ids = [...saved.flatMap((s) => s.events), ...after.events].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(whole.events.map((e) => e.id));
    expect(after.state).toEqual(whole.state);
    expect(whole.events.map((e) => e.type)).toEqual([DOWNTIME_STARTED, DOWNTIME_ENDED, DOWNTIME_STARTED]);
  });

  it('yields nothing when no window is due yet', async () => {
    setClock('2026-11-02T15:09:59.000Z');
    const { steps } = await poll({ lastEvaluatedEnd: '2026-11-02T15:00:00.000Z', machines: {} });
    expect(steps).toEqual([]);
    expect(sim.requests).toEqual([]);
  });

  it('rejects invalid options with a ConfigError naming the option', async () => {
    await expect(poll(undefined, { minimumMinutes: 0 })).rejects.toThrow(ConfigError);
    await expect(poll(undefined, { minimumMinutes: 0 })).rejects.toThrow(/options\.minimumMinutes/);
  });
});
