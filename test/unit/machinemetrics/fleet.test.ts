/**
 * A plant-size fleet over HTTP: the simulator seeded with many machines, the client's machine filter
 * split at `reportMachineLimit` (an assumption: the doc names no limit), and report requests per
 * window that grow with those pages, not with machines.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectMachineMetrics } from '../../../functions/connectors/machinemetrics/client.ts';
import {
  parseMachineMetricsConfig,
  REPORT_MACHINE_LIMIT,
} from '../../../functions/connectors/machinemetrics/config.ts';
import { DOWNTIME_STARTED } from '../../../functions/connectors/machinemetrics/events.ts';
import {
  type DowntimePollState,
  downtimePollSource,
} from '../../../functions/connectors/machinemetrics/poll-source.ts';
import {
  fleetMachine,
  type MachineMetricsSimulator,
  SIM_MACHINES,
  startMachineMetricsSimulator,
} from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import { ConfigError } from '../../../functions/core/errors.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';
import { mutableSecrets, SECRET_NAME, testEnv } from './fixtures.ts';

const API_KEY = 'fleet-test-key';
const FLEET = 1205;
const MIN = 60_000;
let clock: Clock;
let sim: MachineMetricsSimulator;

beforeAll(async () => {
  clock = manualClock('2026-11-02T08:00:00.000Z');
  sim = await startMachineMetricsSimulator({ clock, apiKey: API_KEY, fleet: FLEET });
});
afterAll(() => sim.close());

const client = (reportMachineLimit?: number) =>
  connectMachineMetrics(
    testEnv({
      vendors: {
        machinemetrics: {
          baseUrl: sim.url,
          secretName: SECRET_NAME,
          ...(reportMachineLimit ? { reportMachineLimit } : {}),
        },
      },
      secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: API_KEY } }).source,
    }),
  );

describe('simulator fleet', () => {
  it('seeds N machines with stable, distinct UUID-shaped ids, the doc samples first', () => {
    expect(sim.world.machines).toHaveLength(FLEET);
    expect(sim.world.machines.slice(0, 3)).toEqual(SIM_MACHINES);
    expect(new Set(sim.world.machines.map((m) => m.id)).size).toBe(FLEET);
    expect(fleetMachine(1205)).toEqual({ id: '00000000-0000-4000-8000-0000000004b5', name: 'MACHINE 1205' });
    for (const m of sim.world.machines.slice(3)) {
      expect(m.id).toMatch(/^0{8}-0{4}-4000-8000-[0-9a-f]{12}$/);
    }
  });
});

describe('report machine limit (assumption)', () => {
  it('defaults to 500 machines per request and refuses a limit below 1', () => {
    expect(REPORT_MACHINE_LIMIT).toBe(500);
    expect(parseMachineMetricsConfig({ secretName: 's' }).reportMachineLimit).toBe(500);
    expect(() => parseMachineMetricsConfig({ secretName: 's', reportMachineLimit: 0 })).toThrow(ConfigError);
  });

  it('splits a longer machine filter into requests of at most the limit and merges their answers', async () => {
    sim.world.records.length = 0;
    sim.requests.length = 0;
    const ids = sim.world.machines.map((m) => m.id);
    for (const id of [ids[0], ids[600], ids[1204]] as string[])
      sim.down(id, { at: new Date(clock.now().getTime() - 30 * MIN) });
    const report = await client(500).downtimeReport({
      start: new Date(clock.now().getTime() - 60 * MIN),
      end: clock.now(),
      groupBy: ['machine', 'reason'],
      machines: ids,
    });
    expect(sim.requests).toEqual(Array(3).fill('POST /reports/downtime'));
    expect(Object.keys(report.machines).sort()).toEqual([ids[0], ids[600], ids[1204]].sort());
    expect(report.machines[ids[600] as string]?.downtimeMs).toBe(30 * MIN);
    // Under the limit: one request, as before.
    sim.requests.length = 0;
    await client(2000).downtimeReport({
      start: new Date(clock.now().getTime() - 60 * MIN),
      end: clock.now(),
      groupBy: ['machine'],
      machines: ids,
    });
    expect(sim.requests).toHaveLength(1);
  });
});

describe('downtime poll over a fleet', () => {
  it('reads pages of machines per query, not one request per machine down', async () => {
    sim.world.records.length = 0;
    const ids = sim.world.machines.map((m) => m.id);
    const down = ids.slice(0, 300);
    const start = clock.now().getTime();
    for (const id of down) sim.down(id, { at: new Date(start) });
    const deps = { client: client() };
    const options = { minimumMinutes: 10, stepMinutes: 5, settleMinutes: 0, machines: ids };
    let state: DowntimePollState | undefined = {
      lastEvaluatedEnd: new Date(start).toISOString(),
      machines: {},
    };
    const poll = async (minutes: number) => {
      clock.advance(start + minutes * MIN - clock.now().getTime());
      sim.requests.length = 0;
      const events = [];
      for await (const step of downtimePollSource.poll({
        state,
        options,
        now: clock.now(),
        deps,
        log: memoryLog(),
      })) {
        events.push(...step.events);
        state = step.state;
      }
      return { events, requests: sim.requests.length };
    };
    const first = await poll(10); // windows 08:05 (nothing yet) and 08:10 (300 start)
    expect(first.events.filter((e) => e.type === DOWNTIME_STARTED)).toHaveLength(300);
    // 08:05: detect (3 pages); 08:10: detect (3 pages) + refine-start (1 page).
    expect(first.requests).toBe(7);
    const next = await poll(15);
    // detect (3 pages), still-down (1 page), reason (1 range, 1 page): 300 machines down, 5 requests.
    expect(next.requests).toBe(5);
  });
});

describe('downtime backfill over a fleet', () => {
  it('gives the live poll’s event ids for staggered episodes across every page of machines', async () => {
    sim.world.records.length = 0;
    const ids = sim.world.machines.map((m) => m.id);
    // Thirty machines spread over the three pages of 500 (one request per page per query).
    const chosen = Array.from({ length: 30 }, (_, k) => ids[k * 41] as string);
    const start = Math.ceil(clock.now().getTime() / (60 * MIN)) * 60 * MIN + 60 * MIN;
    const options = { minimumMinutes: 10, stepMinutes: 5, settleMinutes: 0, machines: ids };
    const deps = { client: client() };
    let state: DowntimePollState | undefined = {
      lastEvaluatedEnd: new Date(start).toISOString(),
      machines: {},
    };
    const live: string[] = [];
    // Two hours of live polls; machine k goes down at minute 3k mod 90 for 15 + k minutes.
    for (let m = 5; m <= 150; m += 5) {
      for (const [k, id] of chosen.entries()) {
        const downAt = (3 * k) % 90;
        const upAt = downAt + 15 + k;
        if (downAt >= m - 5 && downAt < m) sim.down(id, { at: new Date(start + downAt * MIN) });
        if (upAt >= m - 5 && upAt < m) sim.up(id, { at: new Date(start + upAt * MIN) });
      }
      clock.advance(start + m * MIN - clock.now().getTime());
      for await (const step of downtimePollSource.poll({
        state,
        options,
        now: clock.now(),
        deps,
        log: memoryLog(),
      })) {
        live.push(...step.events.map((e) => e.id));
        state = step.state;
      }
    }
    expect(live.filter((id) => id.endsWith(':ended'))).toHaveLength(30);

    const backfill = downtimePollSource.backfill;
    if (!backfill) throw new Error('no backfill');
    const found: string[] = [];
    for await (const step of backfill({
      from: new Date(start),
      to: new Date(start + 150 * MIN),
      options,
      deps,
      log: memoryLog(),
      now: clock.now(),
      lookbackMinutes: 30,
    })) {
      found.push(...step.events.map((e) => e.id));
    }
    expect(found).toEqual(live);
  }, 60_000);
});
