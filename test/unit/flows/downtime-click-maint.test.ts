/**
 * MachineMetrics downtime -> Click Maint work order: the episode state machine against the real
 * Click Maint simulator (title-tag look-before-write) and a real state store.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ClickMaintClient } from '../../../functions/connectors/click-maint/client.ts';
import { NeedsAttentionError } from '../../../functions/core/errors.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import {
  type ClickMaintDowntimeConfig,
  episodeTag,
  flow,
} from '../../../functions/flows/machinemetrics-downtime-to-click-maint-work-order.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness, startHarness } from '../click-maint/support.ts';
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
  REASONS,
  randomHistory,
  seedsFromEnv,
  T0,
  webhookCategorized,
  withFaults,
} from './downtime-support.ts';

// Later than every history (records are made after the downtime they are about).
const clock = manualClock(new Date(T0 + 12 * 60 * MINUTE));
let t: TestState;
let h: Harness;
let store: StateStore;
let client: ClickMaintClient;

beforeAll(async () => {
  t = await startTestState();
  h = await startHarness({}, { state: t, clock });
  store = t.store(() => clock.now());
  client = h.client();
});
afterAll(async () => {
  await h?.close();
  await t?.close();
});

let machineCounter = 0;
const machines = (n: number) => Array.from({ length: n }, () => `m-cm-${++machineCounter}`);
const ASSETS = [45, 46] as const;

function configFor(ids: readonly string[], extra: Record<string, unknown> = {}): ClickMaintDowntimeConfig {
  return flow.config.parse({
    machines: Object.fromEntries(
      ids.map((id, i) => [id, { entityId: 1, assetId: ASSETS[i % ASSETS.length] }]),
    ),
    minimumMinutes: 10,
    ...extra,
  });
}

const runner = (config: ClickMaintDowntimeConfig, clickMaint: ClickMaintClient = client) =>
  flowRunner(flow, config, { clickMaint }, store, clock);

const workOrdersOf = (machineId: string) =>
  h.sim.workOrders(1).filter((wo) => wo.description?.includes(`(MachineMetrics ${machineId})`));
const recovered = (wo: { description: string | null }) =>
  wo.description?.includes('Running again since') ?? false;

describe('episode transitions (shared/downtime.ts table), Click Maint', () => {
  it('NOTED + started: an end and a reason seen first are on the work order made by the started', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const startedAt = T0;
    const detectedAt = T0 + 10 * MINUTE;
    const ended = await run(pollEnded({ machineId: m, detectedAt, startedAt, endedAt: T0 + 30 * MINUTE }));
    expect(ended.outcome).toBe('skipped');
    await run(webhookCategorized({ machineId: m, startedAt, at: T0 + 2 * MINUTE, reason: REASONS[1] }));
    const started = await run(pollStarted({ machineId: m, detectedAt, startedAt, reason: REASONS[0] }));
    expect(started.outcome).toBe('done');
    const wos = workOrdersOf(m);
    expect(wos).toHaveLength(1);
    expect(wos[0]?.title).toContain(`(${REASONS[1].name})`);
    expect(wos[0] && recovered(wos[0])).toBe(true);
  });
});

describe('a work order a person deleted in Click Maint', () => {
  it('OPEN + ended after a person deleted its work order: nothing written to it, said so (done, not dead-lettered); a replay changes nothing', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const detectedAt = T0 + 10 * MINUTE;
    expect(
      (await run(pollStarted({ machineId: m, detectedAt, startedAt: T0, reason: REASONS[0] }))).outcome,
    ).toBe('done');
    const [wo] = workOrdersOf(m);
    expect(h.sim.deleteWorkOrder(1, (wo as { id: number }).id)).toBe(true);
    const end = pollEnded({ machineId: m, detectedAt, startedAt: T0, endedAt: T0 + 30 * MINUTE });
    const ended = await run(end);
    expect(ended).toMatchObject({ outcome: 'done', message: expect.stringContaining('no longer exists') });
    expect(workOrdersOf(m)).toHaveLength(0);
    expect((await run(end)).outcome).toBe('duplicate');
    expect(workOrdersOf(m)).toHaveLength(0);
  });

  it('a 404 while the entity itself does not answer (wrong X-Entity-Id, access lost): not taken for a deletion, the error stands', async () => {
    const [m] = machines(1) as [string];
    const detectedAt = T0 + 10 * MINUTE;
    await runner(configFor([m]))(
      pollStarted({ machineId: m, detectedAt, startedAt: T0, reason: REASONS[0] }),
    );
    // Every call goes to an entity the key does not know: the simulator answers 404 `Entity not found`.
    const lost = Object.create(client) as ClickMaintClient;
    lost.updateWorkOrder = (_entity, id, patch) => client.updateWorkOrder(999, id, patch);
    lost.findWorkOrderByTitleTag = (_entity, tag) => client.findWorkOrderByTitleTag(999, tag);
    const end = pollEnded({ machineId: m, detectedAt, startedAt: T0, endedAt: T0 + 30 * MINUTE });
    await expect(runner(configFor([m]), lost)(end)).rejects.toMatchObject({ status: 404 });
    expect(recovered(workOrdersOf(m)[0] as { description: string | null })).toBe(false);
  });

  it('goneWhenNotFound false: a deleted work order fails the event for an operator instead', async () => {
    const [m] = machines(1) as [string];
    const config = configFor([m], { workOrder: { goneWhenNotFound: false } });
    const detectedAt = T0 + 10 * MINUTE;
    await runner(config)(pollStarted({ machineId: m, detectedAt, startedAt: T0, reason: REASONS[0] }));
    h.sim.deleteWorkOrder(1, (workOrdersOf(m)[0] as { id: number }).id);
    const end = pollEnded({ machineId: m, detectedAt, startedAt: T0, endedAt: T0 + 30 * MINUTE });
    await expect(runner(config)(end)).rejects.toMatchObject({ status: 404 });
  });
});

describe('order per machine across retries (issue 13), Click Maint', () => {
  it('a started that failed with a Click Maint 5xx, retried after its ended: one work order, completed; replays of the started and the ended change nothing', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m], { workOrder: { onRecovery: 'complete' } }));
    const startedAt = T0 + 300 * MINUTE;
    const detectedAt = startedAt + 10 * MINUTE;
    const started = pollStarted({ machineId: m, detectedAt, startedAt, reason: REASONS[0] });
    const ended = pollEnded({ machineId: m, detectedAt, startedAt, endedAt: startedAt + 25 * MINUTE });
    h.sim.faults.push({ match: 'POST /api/v1/work_orders', status: 502, times: 4 });
    await expect(run(started)).rejects.toThrow('502');
    h.sim.faults.length = 0;
    expect((await run(ended)).outcome).toBe('skipped'); // kept for the retried started
    expect((await run(started)).outcome).toBe('done');
    const [wo, ...more] = workOrdersOf(m);
    expect(more).toHaveLength(0);
    expect(wo?.status_id).toBe(5);
    const calls = h.sim.calls().length;
    for (const late of [started, ended, started]) expect((await run(late)).outcome).toBe('duplicate');
    expect(workOrdersOf(m)).toHaveLength(1);
    expect(workOrdersOf(m)[0]?.status_id).toBe(5);
    expect(h.sim.calls()).toHaveLength(calls); // not even a read: the episode is closed
  });
});

describe('a work-order create Click Maint applied but whose answer failed', () => {
  for (const fault of [
    { name: 'answered 500', status: 500, afterWrite: true },
    { name: 'answer lost (timeout)', timeoutAfterWrite: true, delayMs: 60_000 },
  ]) {
    it(`${fault.name}: the retry finds it by its title tag, one work order, recovered once`, async () => {
      const [m] = machines(1) as [string];
      const cm = h.client({ timeoutMs: 300 });
      const run = runner(configFor([m]), cm);
      const startedAt = T0 + 400 * MINUTE;
      const detectedAt = startedAt + 10 * MINUTE;
      const started = pollStarted({ machineId: m, detectedAt, startedAt, reason: REASONS[0] });
      const ended = pollEnded({ machineId: m, detectedAt, startedAt, endedAt: startedAt + 20 * MINUTE });
      h.sim.faults.push({ match: 'POST /api/v1/work_orders', ...fault });
      await expect(run(started)).rejects.toThrow(/outcome unknown/);
      expect(workOrdersOf(m)).toHaveLength(1);
      const retried = await run(started);
      expect(retried.message).toContain('made by an earlier attempt');
      expect((await run(ended)).outcome).toBe('done');
      const [wo, ...more] = workOrdersOf(m);
      expect(more).toHaveLength(0);
      expect(wo && recovered(wo)).toBe(true);
    });
  }
});

describe('a work-order create Click Maint applied, answered 2xx with a body that is no work order', () => {
  it('(a proxy page in a maintenance window): the retry finds it by its title tag, one work order', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const startedAt = T0 + 460 * MINUTE;
    const detectedAt = startedAt + 10 * MINUTE;
    const started = pollStarted({ machineId: m, detectedAt, startedAt, reason: REASONS[0] });
    h.sim.faults.push({
      match: 'POST /api/v1/work_orders',
      status: 201,
      afterWrite: true,
      body: { message: 'We are performing scheduled maintenance' },
    });
    await expect(run(started)).rejects.toThrow(/unexpected response/);
    expect(workOrdersOf(m)).toHaveLength(1);
    expect((await run(started)).message).toContain('made by an earlier attempt');
    expect(workOrdersOf(m)).toHaveLength(1);
  });
});

describe('a work-order create Click Maint applied and then answered 503', () => {
  it('answered 503 after the write (not provably refused: the doc promises nothing for 503): one work order, never a second', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const startedAt = T0 + 450 * MINUTE;
    const detectedAt = startedAt + 10 * MINUTE;
    const started = pollStarted({ machineId: m, detectedAt, startedAt, reason: REASONS[0] });
    h.sim.faults.push({ match: 'POST /api/v1/work_orders', status: 503, afterWrite: true });
    await expect(run(started)).rejects.toThrow(/outcome unknown/);
    expect(workOrdersOf(m)).toHaveLength(1);
    expect((await run(started)).message).toContain('made by an earlier attempt');
    expect(workOrdersOf(m)).toHaveLength(1);
  });
});

describe('property: any order, duplicates, replays and vendor faults give exactly the expected work orders', () => {
  it('random histories of 2 machines, 20 seeds (SEEDS=n replays one)', async () => {
    await forSeeds(seedsFromEnv(20), async (seed) => {
      const rand = prng(seed);
      const ids = machines(2);
      const { events, episodes } = randomHistory(rand, ids);
      const faulty = withFaults(client, prng(seed * 7919), 'click-maint', {
        createWorkOrder: 'after',
        updateWorkOrder: 'before',
      });
      await deliver(rand, interleave(rand, events), runner(configFor(ids), faulty), { clock });

      const wos = ids.flatMap(workOrdersOf);
      expect(wos).toHaveLength(episodes.length);
      for (const ep of episodes) {
        const mine = wos.filter((wo) => ep.keys.some((k) => wo.title.includes(`[${episodeTag(k)}]`)));
        expect(mine).toHaveLength(1);
        expect(mine[0]?.title).toContain(`(${ep.reasonName})`);
        expect(mine[0] && recovered(mine[0])).toBe(ep.ended);
      }
    });
  }, 120_000);
});

describe('a worker that dies at any write (crash-support sweep), Click Maint', () => {
  it('started, categorized, ended: a crash at each write k of each event (lost, or landed with its answer lost), then SQS redelivery: one work order with the reason, recovered, or parked with a reason and never two', async () => {
    const history = (m: string) => {
      const startedAt = T0;
      const detectedAt = T0 + 10 * MINUTE;
      return [
        pollStarted({ machineId: m, detectedAt, startedAt, reason: REASONS[0] }),
        webhookCategorized({ machineId: m, startedAt, at: T0 + 15 * MINUTE, reason: REASONS[2] }),
        pollEnded({ machineId: m, detectedAt, startedAt, endedAt: T0 + 30 * MINUTE }),
      ];
    };
    const counts: number[] = [];
    {
      const [c] = machines(1) as [string];
      for (const event of history(c)) {
        const counting = crashingStore(store, Number.POSITIVE_INFINITY);
        await flowRunner(flow, configFor([c]), { clickMaint: client }, counting.store, clock)(event);
        counts.push(counting.writes());
      }
      expect(workOrdersOf(c)).toHaveLength(1);
    }
    for (const [e, n] of counts.entries()) {
      for (let k = 1; k <= n; k++) {
        for (const when of ['before', 'after'] as const) {
          const where = `event ${e} k=${k} ${when}`;
          const [m] = machines(1) as [string];
          const config = configFor([m]);
          const healthy = runner(config);
          let parked = false;
          for (const [i, event] of history(m).entries()) {
            if (i === e) {
              const crash = crashingStore(store, k, when);
              const died = await flowRunner(
                flow,
                config,
                { clickMaint: client },
                crash.store,
                clock,
              )(event).catch((x: unknown) => x);
              if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
              clock.advance(2 * MINUTE); // past the claim's lease: the redelivery
            }
            const out = await healthy(event).catch((x: unknown) => x);
            if (out instanceof NeedsAttentionError) parked = true;
            else
              expect({ where, i, out }).toEqual({
                where,
                i,
                out: expect.objectContaining({ outcome: expect.any(String) }),
              });
          }
          expect({ where, wos: workOrdersOf(m).length <= 1 }).toEqual({ where, wos: true });
          if (parked) continue;
          const wo = workOrdersOf(m)[0];
          expect({
            where,
            wos: workOrdersOf(m).length,
            recovered: wo ? recovered(wo) : false,
            reason: wo?.title.includes(REASONS[2].name),
          }).toEqual({ where, wos: 1, recovered: true, reason: true });
        }
      }
    }
  });
});
