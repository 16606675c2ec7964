/**
 * MachineMetrics downtime -> Mobility Work task: the episode state machine and the unanswered-create
 * policy (assumption MW-A1 in the flow's header), against the real Mobility Work simulator (201 and
 * no id on create; TaskWasScheduled carries our metadata) and a real state store.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MobilityWorkClient } from '../../../functions/connectors/mobility-work/client.ts';
import { parseMobilityWorkConfig } from '../../../functions/connectors/mobility-work/config.ts';
import { MW_EVENT } from '../../../functions/connectors/mobility-work/events.ts';
import {
  type MobilityWorkSimulator,
  startMobilityWorkSimulator,
} from '../../../functions/connectors/mobility-work/simulator/index.ts';
import { AmbiguousWriteError, NeedsAttentionError, NotReadyError } from '../../../functions/core/errors.ts';
import type { FlowEvent } from '../../../functions/core/flow.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import {
  flow,
  METADATA_KEY,
  TASK_BY_EPISODE,
  type TaskFlowConfig,
} from '../../../functions/flows/machinemetrics-downtime-to-mobility-work-task.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { crashingStore, WorkerCrash } from './crash-support.ts';
import {
  deliver,
  flowRunner,
  forSeeds,
  interleave,
  MINUTE,
  pollEnded,
  pollStarted,
  prng,
  type Rand,
  randomHistory,
  seedsFromEnv,
  T0,
} from './downtime-support.ts';

const API_KEY = 'mw-test-key-0123456789abcdef';
// Later than every history (records are made after the downtime they are about).
const clock = manualClock(new Date(T0 + 12 * 60 * MINUTE));
let t: TestState;
let sim: MobilityWorkSimulator;
let store: StateStore;
let client: MobilityWorkClient;

beforeAll(async () => {
  t = await startTestState();
  sim = await startMobilityWorkSimulator({ clock, apiKey: API_KEY, plan: 'premium' });
  store = t.store(() => clock.now());
  client = new MobilityWorkClient({
    config: parseMobilityWorkConfig({ baseUrl: sim.url, secretName: 'millwright/mobility-work' }),
    loadApiKey: async () => API_KEY,
    http: { timeoutMs: 150, random: () => 0.5, sleep: async () => undefined },
  });
});
afterAll(async () => {
  await sim?.close();
  await t?.close();
});

let machineCounter = 0;
const machines = (n: number) => Array.from({ length: n }, () => `m-mw-${++machineCounter}`);
const EQUIPMENT = ['EQ-MILL-01', 2508] as const;

function configFor(ids: readonly string[], unansweredCreate?: Record<string, unknown>): TaskFlowConfig {
  return flow.config.parse({
    machines: Object.fromEntries(ids.map((id, i) => [id, { equipment: EQUIPMENT[i % EQUIPMENT.length] }])),
    minimumMinutes: 10,
    task: { assignees: ['tech@plant.example'], ...(unansweredCreate ? { unansweredCreate } : {}) },
  });
}

const runner = (config: TaskFlowConfig, mobilityWork: MobilityWorkClient = client) =>
  flowRunner(flow, config, { mobilityWork }, store, clock);

const tasksOf = (machineId: string) => sim.tasks().filter((task) => task.metadata.machineId === machineId);

/** The TaskWasScheduled webhooks the network produced since the last call, as flow events. */
function taskWebhooks() {
  let seen = 0;
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

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

function downtime(machineId: string) {
  const startedAt = T0;
  const detectedAt = T0 + 10 * MINUTE;
  return {
    started: pollStarted({ machineId, detectedAt, startedAt }),
    ended: pollEnded({ machineId, detectedAt, startedAt, endedAt: T0 + 40 * MINUTE }),
    key: `${machineId}/${new Date(detectedAt).toISOString()}`,
  };
}

/** Mobility Work never answers, and never applies the create (the request timed out before). */
const timeoutBeforeApply = () =>
  sim.faults.push({ match: 'POST /partners/v1/tasks', status: 504, delayMs: 400 });

describe('order per machine across retries (issue 13), Mobility Work', () => {
  it('a started whose task create failed with a 5xx, retried after its ended: one task; replays of the started and the ended create nothing more', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = downtime(m);
    sim.faults.push({ match: 'POST /partners/v1/tasks', status: 503, times: 5 });
    expect((await failure(run(d.started))).name).toBe('MobilityWorkApiError');
    sim.faults.length = 0;
    await run(d.ended); // the end is recorded on the episode; only the started creates the task
    expect(tasksOf(m)).toHaveLength(0);
    expect((await run(d.started)).outcome).toBe('done');
    expect(tasksOf(m)).toHaveLength(1);
    for (const late of [d.started, d.ended, d.started]) expect((await run(late)).outcome).toBe('duplicate');
    expect(tasksOf(m)).toHaveLength(1);
  });
});

describe('equipment as the doc gives it: integer, string or typed object (api-doc.txt:1005-1045)', () => {
  it('a typed equipment {type, value} in the config is sent as is and named in the run log; a type the field does not take is refused at start', async () => {
    const [m] = machines(1) as [string];
    const config = flow.config.parse({
      machines: { [m]: { equipment: { type: 'native', value: 2508 } } },
      minimumMinutes: 10,
      task: { assignees: ['tech@plant.example'] },
    });
    const result = await runner(config)(downtime(m).started);
    expect(result).toMatchObject({ outcome: 'done' });
    expect(result.message).toContain('task requested on equipment 2508 (native)');
    expect(tasksOf(m)).toHaveLength(1);
    expect(() =>
      flow.config.parse({
        machines: { [m]: { equipment: { type: 'code', value: 'EQ-MILL-01' } } },
        task: { assignees: ['tech@plant.example'] },
      }),
    ).toThrow(/equipment/);
  });
});

describe('typed equipment value of its type (api-doc.txt:117: native ids are numbers or UUIDs)', () => {
  it('a typed native id that is neither an integer nor a UUID, or an item code that is a number, is refused at start, not at every downtime', () => {
    const [m] = machines(1) as [string];
    const parse = (equipment: unknown) => () =>
      flow.config.parse({ machines: { [m]: { equipment } }, task: { assignees: ['tech@plant.example'] } });
    expect(parse({ type: 'native', value: 'EQ-MILL-01' })).toThrow(/equipment/);
    expect(parse({ type: 'external', value: 2507 })).toThrow(/equipment/);
    expect(parse({ type: 'native', value: '4d4b9269-db6b-4b8f-8577-d01ef451d291' })).not.toThrow();
  });
});

describe('issue 9 scenario 8 (Mobility Work half)', () => {
  it('scenario 8: a Mobility Work task create that times out before the vendor applied it is parked as needs attention (never dropped), and its replay creates the task', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = downtime(m);
    timeoutBeforeApply();
    const first = await failure(run(d.started));
    expect(first).toBeInstanceOf(NotReadyError);
    expect(first.message).toContain(`TaskWasScheduled webhook with ${METADATA_KEY}=${d.key}`);
    expect((first.cause as Error).name).toBe(AmbiguousWriteError.name);
    clock.advance(5 * MINUTE);
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError); // still within the wait
    clock.advance(11 * MINUTE);
    const parked = await failure(run(d.started));
    expect(parked).toBeInstanceOf(NeedsAttentionError);
    expect(parked.message).toContain('may or may not exist');
    const check = (parked as NeedsAttentionError).check;
    expect(check).toContain('equipment EQ-MILL-01');
    expect(check).toContain(new Date(T0).toISOString());
    expect(check).toContain(`${METADATA_KEY}=${d.key}`);
    expect(tasksOf(m)).toHaveLength(0);
    // The operator found no task and replays the parked event: the create is sent again.
    const replay = await run(d.started, 'parked-replay');
    expect(replay.outcome).toBe('done');
    expect(tasksOf(m)).toHaveLength(1);
    expect(tasksOf(m)[0]?.metadata[METADATA_KEY]).toBe(d.key);
  });

  it('a parked unanswered create is not sent again by a redelivery of its event that no operator asked for (a backfill over the window, a poll re-run): parked again, 1 task', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = downtime(m);
    // Applied, but the answer is lost and its TaskWasScheduled webhook never reaches us.
    sim.faults.push({ match: 'POST /partners/v1/tasks', timeoutAfterWrite: true, delayMs: 400 });
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError);
    clock.advance(16 * MINUTE);
    expect(await failure(run(d.started))).toBeInstanceOf(NeedsAttentionError);
    expect(tasksOf(m)).toHaveLength(1);
    // `millwright backfill` over the window gives the started its live id again; so may a poll re-run.
    expect(await failure(run(d.started, 'backfill'))).toBeInstanceOf(NeedsAttentionError);
    expect(await failure(run(d.started))).toBeInstanceOf(NeedsAttentionError);
    expect(tasksOf(m)).toHaveLength(1);
  });

  it('a DLQ replay (via=replay) of a started whose other delivery was parked for an unanswered create is parked again, not resent: only a parked replay (via=parked-replay) means an operator checked', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = downtime(m);
    // Applied, but the answer is lost and its TaskWasScheduled webhook never reaches us.
    sim.faults.push({ match: 'POST /partners/v1/tasks', timeoutAfterWrite: true, delayMs: 400 });
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError);
    clock.advance(16 * MINUTE);
    expect(await failure(run(d.started))).toBeInstanceOf(NeedsAttentionError);
    expect(tasksOf(m)).toHaveLength(1);
    // A second copy of the same event (poll and workflow webhook, a backfill) had failed into the
    // DLQ; `millwright replay` sends it back. Nobody looked at Mobility Work: no second task.
    expect(await failure(run(d.started, 'replay'))).toBeInstanceOf(NeedsAttentionError);
    expect(tasksOf(m)).toHaveLength(1);
  });

  it('scenario 8 (MW-A1, onNoWebhook "resend-once"): no TaskWasScheduled within the wait means not applied: the create is sent once more, 1 task', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m], { waitMinutes: 15, onNoWebhook: 'resend-once' }));
    const d = downtime(m);
    timeoutBeforeApply();
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError);
    clock.advance(16 * MINUTE);
    const resent = await run(d.started);
    expect(resent.outcome).toBe('done');
    expect(tasksOf(m)).toHaveLength(1);
    // A second unanswered create is not resent: parked after the wait.
    const [m2] = machines(1) as [string];
    const run2 = runner(configFor([m2], { waitMinutes: 15, onNoWebhook: 'resend-once' }));
    const d2 = downtime(m2);
    timeoutBeforeApply();
    expect(await failure(run2(d2.started))).toBeInstanceOf(NotReadyError);
    clock.advance(16 * MINUTE);
    timeoutBeforeApply();
    expect(await failure(run2(d2.started))).toBeInstanceOf(NotReadyError);
    clock.advance(16 * MINUTE);
    expect(await failure(run2(d2.started))).toBeInstanceOf(NeedsAttentionError);
    expect(tasksOf(m2)).toHaveLength(0);
  });

  it('a create Mobility Work applied but answered 500 is not sent again: the retry waits for its TaskWasScheduled webhook', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = downtime(m);
    sim.faults.push({ match: 'POST /partners/v1/tasks', status: 500, afterWrite: true });
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError);
    expect(tasksOf(m)).toHaveLength(1);
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError);
    expect(tasksOf(m)).toHaveLength(1);
  });

  it('MW-A1 test vector: a create applied but unanswered is found through its TaskWasScheduled webhook, never resent', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m], { waitMinutes: 15, onNoWebhook: 'resend-once' }));
    const webhooks = taskWebhooks();
    webhooks(); // only what comes from now on
    const d = downtime(m);
    sim.faults.push({ match: 'POST /partners/v1/tasks', timeoutAfterWrite: true, delayMs: 400 });
    expect(await failure(run(d.started))).toBeInstanceOf(NotReadyError);
    expect(tasksOf(m)).toHaveLength(1);
    const [scheduled] = webhooks();
    if (!scheduled) throw new Error('no TaskWasScheduled');
    expect((await run(scheduled)).outcome).toBe('done');
    clock.advance(20 * MINUTE);
    const retried = await run(d.started);
    expect(retried.outcome).toBe('duplicate');
    expect(retried.message).toContain(`task ${tasksOf(m)[0]?.id}`);
    expect(tasksOf(m)).toHaveLength(1);
    expect(await store.getMapping(TASK_BY_EPISODE, d.key)).toBe(tasksOf(m)[0]?.id);
    expect((await run(d.ended)).outcome).toBe('done');
  });
});

/** scheduleTask that sometimes fails: refused (503), unanswered and not applied, unanswered but applied. */
function flakyTasks(rand: Rand): MobilityWorkClient {
  const ambiguousOnce = new Set<string>();
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'scheduleTask') return typeof value === 'function' ? value.bind(target) : value;
      return async (input: Parameters<MobilityWorkClient['scheduleTask']>[0]) => {
        const key = String(input.metadata?.[METADATA_KEY]);
        const roll = rand.next();
        if (roll < 0.15) throw new AmbiguousWriteError('mobility-work', 'scheduleTask', { cause: 'refused' });
        if (roll < 0.3 && !ambiguousOnce.has(key)) {
          ambiguousOnce.add(key);
          if (rand.chance(0.5)) await target.scheduleTask(input);
          throw new AmbiguousWriteError('mobility-work', 'scheduleTask');
        }
        return target.scheduleTask(input);
      };
    },
  });
}

describe('property: any order, duplicates, replays and unanswered creates give exactly one task per downtime', () => {
  it('random histories of 2 machines, 20 seeds (SEEDS=n replays one)', async () => {
    await forSeeds(seedsFromEnv(20), async (seed) => {
      const rand = prng(seed);
      const ids = machines(2);
      const { events, episodes } = randomHistory(rand, ids);
      const run = runner(
        configFor(ids, { waitMinutes: 15, onNoWebhook: 'resend-once' }),
        flakyTasks(prng(seed * 7919)),
      );
      const more = taskWebhooks();
      more();
      await deliver(rand, interleave(rand, events), run, { clock, more });

      const tasks = ids.flatMap(tasksOf);
      expect(tasks).toHaveLength(episodes.length);
      for (const ep of episodes) {
        const mine = tasks.filter((task) => ep.keys.includes(String(task.metadata[METADATA_KEY])));
        expect(mine).toHaveLength(1);
        expect(await store.getMapping(TASK_BY_EPISODE, String(mine[0]?.metadata[METADATA_KEY]))).toBe(
          mine[0]?.id,
        );
      }
    });
  }, 120_000);
});

describe('a worker that dies at any write (crash-support sweep)', () => {
  it('started, its TaskWasScheduled webhook, ended: a crash at each write k of each event (lost, or landed with its answer lost), then SQS redelivery: one task, mapped to its episode, or parked with a reason and never two', async () => {
    // One delivery as a queue retries it: waiting (NotReadyError) is retried after the webhooks came.
    const deliverUntilSettled = async (
      run: ReturnType<typeof runner>,
      event: FlowEvent,
      hooks: () => FlowEvent[],
    ) => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const out = await run(event).catch((x: unknown) => x);
        if (!(out instanceof NotReadyError)) return out;
        for (const hook of hooks()) await run(hook);
        clock.advance(20 * MINUTE);
      }
      throw new Error(`${event.id} still waiting`);
    };
    const counts: number[] = [];
    {
      const [c] = machines(1) as [string];
      const d = downtime(c);
      const hooks = taskWebhooks();
      hooks();
      let before = 0;
      const counting = crashingStore(store, Number.POSITIVE_INFINITY);
      const run = flowRunner(flow, configFor([c]), { mobilityWork: client }, counting.store, clock);
      expect((await run(d.started)).outcome).toBe('done');
      counts.push(counting.writes() - before);
      before = counting.writes();
      const [scheduled] = hooks();
      expect((await run(scheduled as FlowEvent)).outcome).toBe('done');
      counts.push(counting.writes() - before);
      before = counting.writes();
      expect((await run(d.ended)).outcome).toBe('done');
      counts.push(counting.writes() - before);
    }
    for (const [e, n] of counts.entries()) {
      for (let k = 1; k <= n; k++) {
        for (const when of ['before', 'after'] as const) {
          const where = `event ${e} k=${k} ${when}`;
          const [m] = machines(1) as [string];
          const config = configFor([m]);
          const d = downtime(m);
          const hooks = taskWebhooks();
          hooks();
          const healthy = runner(config);
          let parked = false;
          const events: (() => FlowEvent | undefined)[] = [() => d.started, () => hooks()[0], () => d.ended];
          for (const [i, next] of events.entries()) {
            const event = next();
            if (!event) continue; // the webhook was already delivered while the started waited
            if (i === e) {
              const crash = crashingStore(store, k, when);
              const died = await flowRunner(
                flow,
                config,
                { mobilityWork: client },
                crash.store,
                clock,
              )(event).catch((x: unknown) => x);
              if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
              clock.advance(2 * MINUTE); // past the claim's lease: the redelivery
            }
            const out = await deliverUntilSettled(healthy, event, hooks);
            if (out instanceof NeedsAttentionError) parked = true;
            else
              expect({ where, i, out }).toEqual({
                where,
                i,
                out: expect.objectContaining({ outcome: expect.stringMatching(/^(done|duplicate)$/) }),
              });
          }
          expect({ where, tasks: tasksOf(m).length <= 1 }).toEqual({ where, tasks: true });
          if (parked) continue;
          expect({ where, tasks: tasksOf(m).length }).toEqual({ where, tasks: 1 });
          expect({ where, mapped: await store.getMapping(TASK_BY_EPISODE, d.key) }).toEqual({
            where,
            mapped: tasksOf(m)[0]?.id,
          });
        }
      }
    }
  });
});

describe('equipment a person deleted in Mobility Work', () => {
  it('the create answered 400 error.payload.equipment.unknown fails unretryable and names the equipment (Mobility Work cannot be asked whether it was deleted or mistyped: the mapping must change either way); once remapped, the replay makes one task', async () => {
    const [m] = machines(1) as [string];
    const d = downtime(m);
    const gone = flow.config.parse({
      ...configFor([m]),
      machines: { [m]: { equipment: 'EQ-DELETED-09' } },
    });
    const error = await failure(runner(gone)(d.started));
    expect(error).toMatchObject({ retryable: false });
    expect(error.message).toMatch(/equipment\.unknown/);
    expect(JSON.stringify(error)).toContain('EQ-DELETED-09');
    expect(tasksOf(m)).toHaveLength(0);
    // The operator maps the machine to the equipment that replaced it and replays the event.
    const fixed = runner(configFor([m]));
    expect((await fixed(d.started)).outcome).toBe('done');
    expect((await fixed(d.started)).outcome).toBe('duplicate');
    expect(tasksOf(m)).toHaveLength(1);
  });
});
