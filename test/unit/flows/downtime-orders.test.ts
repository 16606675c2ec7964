/**
 * MachineMetrics downtime -> Click Maint work order and -> Mobility Work task, as the queue really
 * delivers: two downtimes of one machine (started, categorized, ended; started, ended) in 25 of
 * their 120 orders (a fixed, even sample), each delivered twice, then all resent 25 h later (past
 * the ingress's delivery memory, so the flow alone must recognise them). The property tests shuffle
 * at random; this one is systematic and adds the late resend.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MobilityWorkClient } from '../../../functions/connectors/mobility-work/client.ts';
import { parseMobilityWorkConfig } from '../../../functions/connectors/mobility-work/config.ts';
import { MW_EVENT } from '../../../functions/connectors/mobility-work/events.ts';
import {
  type MobilityWorkSimulator,
  startMobilityWorkSimulator,
} from '../../../functions/connectors/mobility-work/simulator/index.ts';
import type { FlowEvent, FlowResult } from '../../../functions/core/flow.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import {
  flow as clickMaintFlow,
  episodeTag,
} from '../../../functions/flows/machinemetrics-downtime-to-click-maint-work-order.ts';
import {
  METADATA_KEY,
  flow as taskFlow,
} from '../../../functions/flows/machinemetrics-downtime-to-mobility-work-task.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { someOrders } from '../../support/orders.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness, startHarness } from '../click-maint/support.ts';
import {
  deliver,
  flowRunner,
  MINUTE,
  pollCategorized,
  pollEnded,
  pollStarted,
  prng,
  REASONS,
  T0,
} from './downtime-support.ts';

const HOUR = 60 * MINUTE;
const API_KEY = 'mw-test-key-0123456789abcdef';
const clock = manualClock(new Date(T0 + 12 * HOUR));
let t: TestState;
let store: StateStore;
beforeAll(async () => {
  t = await startTestState();
  store = t.store(() => clock.now());
});
afterAll(() => t?.close());

/** Two downtimes of one machine, an hour before now: the first categorised after its start. */
function twoDowntimes(machineId: string) {
  const a = clock.now().getTime() - 3 * HOUR;
  const b = a + HOUR;
  const aDetected = a + 10 * MINUTE;
  const bDetected = b + 10 * MINUTE;
  const events: Record<string, FlowEvent> = {
    aStarted: pollStarted({ machineId, detectedAt: aDetected, startedAt: a }),
    aCategorized: pollCategorized({
      machineId,
      detectedAt: aDetected,
      at: a + 12 * MINUTE,
      reason: REASONS[1],
    }),
    aEnded: pollEnded({ machineId, detectedAt: aDetected, startedAt: a, endedAt: a + 30 * MINUTE }),
    bStarted: pollStarted({ machineId, detectedAt: bDetected, startedAt: b }),
    bEnded: pollEnded({ machineId, detectedAt: bDetected, startedAt: b, endedAt: b + 25 * MINUTE }),
  };
  const name = new Map(Object.entries(events).map(([k, e]) => [e.id, k]));
  const keys = [
    `${machineId}/${new Date(aDetected).toISOString()}`,
    `${machineId}/${new Date(bDetected).toISOString()}`,
  ];
  return { events, name, keys };
}

const REPEAT_OUTCOMES = ['duplicate', 'stale', 'skipped'];

/**
 * Each event twice in `order` (a retry goes back to the queue), then, 25 h later, each once more; the
 * resends must write nothing (`writes` counts the vendor writes so far) and say so.
 */
async function play(
  order: readonly FlowEvent[],
  run: (e: FlowEvent) => Promise<FlowResult>,
  name: Map<string, string>,
  seed: number,
  writes: () => number,
  more?: () => FlowEvent[],
) {
  const queue = order.flatMap((e) => [e, e]);
  await deliver(prng(seed), queue, run, { clock, ...(more ? { more } : {}) });
  clock.advance(25 * HOUR);
  const written = writes();
  const late: string[] = [];
  for (const e of order) {
    const r = await run(e);
    if (!REPEAT_OUTCOMES.includes(r.outcome)) late.push(`${name.get(e.id)}: ${r.outcome} (${r.message})`);
  }
  if (writes() !== written) late.push(`${writes() - written} vendor writes`);
  return late;
}

describe('Click Maint: two downtimes of one machine, every order, duplicates, 25 h resends', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, { state: t, clock });
  });
  afterAll(() => h?.close());

  it('two work orders, the first with its reason, both recovered; the resends write nothing and say so', async () => {
    const failures: string[] = [];
    let n = 0;
    const probe = twoDowntimes('probe');
    for (const order of someOrders(Object.keys(probe.events))) {
      const m = `m-cm-order-${++n}`;
      const { events, name, keys } = twoDowntimes(m);
      const config = clickMaintFlow.config.parse({
        machines: { [m]: { entityId: 1, assetId: 45 } },
        minimumMinutes: 10,
      });
      const run = flowRunner(clickMaintFlow, config, { clickMaint: h.client() }, store, clock);
      const label = order.join(',');
      const writes = () => h.sim.calls().filter((c) => !c.line.startsWith('GET')).length;
      const seq = order.map((k) => events[k] as FlowEvent);
      const late = await play(seq, run, name, n, writes);
      for (const l of late) failures.push(`${label} resend ${l}`);
      const wos = h.sim.workOrders(1).filter((wo) => wo.description?.includes(`(MachineMetrics ${m})`));
      const of = (key: string) => wos.filter((wo) => wo.title.includes(`[${episodeTag(key)}]`));
      const [a, b] = [of(keys[0] as string), of(keys[1] as string)];
      if (wos.length !== 2 || a.length !== 1 || b.length !== 1)
        failures.push(`${label}: ${wos.length} work orders`);
      if (!a[0]?.title.includes(`(${REASONS[1].name})`)) failures.push(`${label}: A title ${a[0]?.title}`);
      for (const wo of [...a, ...b])
        if (!wo.description?.includes('Running again since'))
          failures.push(`${label}: ${wo.title} not recovered`);
    }
    expect(failures).toEqual([]);
  }, 180_000);
});

describe('Mobility Work: two downtimes of one machine, every order, duplicates, 25 h resends', () => {
  let sim: MobilityWorkSimulator;
  let client: MobilityWorkClient;
  beforeAll(async () => {
    sim = await startMobilityWorkSimulator({ clock, apiKey: API_KEY, plan: 'premium' });
    client = new MobilityWorkClient({
      config: parseMobilityWorkConfig({ baseUrl: sim.url, secretName: 'millwright/mobility-work' }),
      loadApiKey: async () => API_KEY,
      http: { timeoutMs: 500, random: () => 0.5, sleep: async () => undefined },
    });
  });
  afterAll(() => sim?.close());

  /** The TaskWasScheduled webhooks the network produced since the last call, as flow events. */
  function taskWebhooks() {
    let seen = sim.events().length;
    return (): FlowEvent[] => {
      const fresh = sim.events().slice(seen);
      seen += fresh.length;
      return fresh
        .filter((e) => e.event === 'TaskWasScheduled')
        .map((e) => ({
          id: `mw:${String(e.payload._idempotencyKey)}`,
          type: MW_EVENT.TaskWasScheduled,
          source: 'mobility-work.webhook',
          occurredAt: clock.now().toISOString(),
          data: e.payload,
        }));
    };
  }

  it('one task per downtime; the resends create nothing and say so', async () => {
    const failures: string[] = [];
    let n = 0;
    const probe = twoDowntimes('probe');
    for (const order of someOrders(Object.keys(probe.events))) {
      const m = `m-mw-order-${++n}`;
      const { events, name, keys } = twoDowntimes(m);
      const config = taskFlow.config.parse({
        machines: { [m]: { equipment: 'EQ-MILL-01' } },
        minimumMinutes: 10,
        task: { assignees: ['tech@plant.example'] },
      });
      const run = flowRunner(taskFlow, config, { mobilityWork: client }, store, clock);
      const label = order.join(',');
      const late = await play(
        order.map((k) => events[k] as FlowEvent),
        run,
        name,
        n,
        () => sim.events().length,
        taskWebhooks(),
      );
      for (const l of late) failures.push(`${label} resend ${l}`);
      const tasks = sim.tasks().filter((task) => task.metadata.machineId === m);
      for (const key of keys) {
        const mine = tasks.filter((task) => String(task.metadata[METADATA_KEY]) === key);
        if (mine.length !== 1) failures.push(`${label}: ${mine.length} tasks for ${key}`);
      }
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
