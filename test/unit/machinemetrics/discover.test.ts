/** `millwright discover machinemetrics`: machines from a downtime report (the API has no machine list). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectMachineMetrics } from '../../../functions/connectors/machinemetrics/client.ts';
import {
  DISCOVER_DAYS,
  discoverMachineMetrics,
} from '../../../functions/connectors/machinemetrics/discover.ts';
import {
  type MachineMetricsSimulator,
  SIM_MACHINES,
  startMachineMetricsSimulator,
} from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { DOC_DOWNTIME_RESPONSE, mutableSecrets, queuedFetch, SECRET_NAME, testEnv } from './fixtures.ts';

const KEY = 'mm-key-0123456789';
let sim: MachineMetricsSimulator;

beforeAll(async () => {
  sim = await startMachineMetricsSimulator({ clock: manualClock('2026-11-02T08:00:00.000Z'), apiKey: KEY });
});
afterAll(() => sim.close());

const env = () =>
  testEnv({
    vendors: { machinemetrics: { baseUrl: sim.url, secretName: SECRET_NAME } },
    secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: KEY } }).source,
  });

describe('discover machinemetrics', () => {
  it('lists the simulator machines by name, from a report of the last 30 days grouped by machine', async () => {
    const [list, ...rest] = await discoverMachineMetrics(env());
    expect(rest).toEqual([]);
    expect(list?.kind).toBe('machines');
    expect(list?.rows).toEqual(SIM_MACHINES.map((m) => ({ id: m.id, name: m.name })));
    expect(list?.note).toContain('may be missing');
    expect(DISCOVER_DAYS).toBe(30);
  });

  it('sends a documented query and also names machines only the rows carry', async () => {
    const fake = queuedFetch([
      {
        status: 200,
        body: {
          ...DOC_DOWNTIME_RESPONSE,
          entities: { machine: { m2: { id: 'm2', name: 'Zeta' }, m1: { id: 'm1', name: 'Alpha' }, bad: 7 } },
          items: [{ entity: { type: 'machine', id: 'm9' }, aggregate: { downtimeMs: 5 } }],
        },
      },
    ]);
    const client = connectMachineMetrics(
      testEnv({
        vendors: { machinemetrics: { baseUrl: 'https://mm.example.test', secretName: SECRET_NAME } },
        secrets: mutableSecrets({ [SECRET_NAME]: { apiKey: KEY } }).source,
      }),
      { http: { fetch: fake.fetch } },
    );
    const machines = await client.reportedMachines({
      start: new Date('2026-10-03T08:00:00Z'),
      end: new Date('2026-11-02T08:00:00Z'),
    });
    expect(fake.calls[0]?.body).toEqual({
      start: '2026-10-03T08:00:00.000Z',
      end: '2026-11-02T08:00:00.000Z',
      groupBy: [{ group: 'machine' }],
    });
    expect(machines).toEqual([
      { id: 'm1', name: 'Alpha' },
      { id: 'bad', name: 'bad' },
      { id: 'm9', name: 'm9' },
      { id: 'm2', name: 'Zeta' },
    ]);
  });

  it('refuses an empty range before sending', async () => {
    const at = new Date('2026-11-02T08:00:00Z');
    await expect(connectMachineMetrics(env()).reportedMachines({ start: at, end: at })).rejects.toThrow(
      RangeError,
    );
  });
});
