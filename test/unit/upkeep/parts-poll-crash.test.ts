/**
 * Scenario 11: the UpKeep parts poller killed at every write of its save (each step's enqueue and
 * state save, killed just before or just after the write), with 50 parts updated in the same
 * millisecond and one of them changed again within that millisecond before the poller resumes.
 * The real poller, poll source, flow and stock sync run against the UpKeep and Mobility Work
 * simulators and a real state store; the events are then handled newest first (the order a queue
 * may well deliver a replayed step in). Every crash point must end with Mobility Work's stock equal
 * to UpKeep's for all 50 parts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mwSimNewSparePart } from '../../../functions/connectors/mobility-work/simulator/index.ts';
import type { FlowEvent } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { flow as upkeepFlow } from '../../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { testEnv } from '../../support/factories.ts';
import { MW_API_KEY, type StockWorld, startStockWorld } from '../flows/stock-harness.ts';

const IDS = Array.from({ length: 50 }, (_, i) => `Bulk${String(i + 1).padStart(2, '0')}`);
const CHANGED = 'Bulk50';

let world: StockWorld;
beforeAll(async () => {
  world = await startStockWorld({ upkeepParts: [] });
  const created = await fetch(`${world.mw.url}/partners/v1/spare-parts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': MW_API_KEY },
    body: JSON.stringify(IDS.map((id) => mwSimNewSparePart(id, `Part ${id}`))),
  });
  expect(created.status).toBe(202);
  await world.mw.settle();
});
afterAll(() => world?.close());

class Killed extends Error {}

/** The writes of a poll run's save, numbered: each step enqueues, then saves its state. */
type When = 'before' | 'after';

async function crashRound(crashAt: number, when: When): Promise<{ events: FlowEvent[]; writes: number }> {
  const flow = { ...upkeepFlow, id: `upkeep-crash-${crashAt}-${when}` };
  const config = flow.config.parse({ mode: 'mirror', alignMinimum: false, poll: { partsPerEvent: 20 } });
  const trigger = flow.triggers[0];
  if (trigger?.kind !== 'schedule') throw new Error('the UpKeep part flow polls');

  // A bulk import: 50 low parts in one millisecond.
  world.upkeep.sim.reset();
  world.advance(60_000);
  world.upkeep.sim.addParts(IDS.map((id) => ({ id, name: `Part ${id}`, quantity: 2, minimumQuantity: 5 })));
  await world.mwClient.setStock(IDS.map((id) => ({ id, quantity: 20 })));
  await world.mw.settle();

  const store = world.state.store(() => world.now());
  const events: FlowEvent[] = [];
  let writes = 0;
  let armed = true;
  const write = async <T>(perform: () => Promise<T>): Promise<T> => {
    writes++;
    const kill = armed && writes === crashAt;
    if (kill && when === 'before') throw new Killed(`killed before write ${writes}`);
    const out = await perform();
    if (kill) throw new Killed(`killed after write ${writes}`);
    return out;
  };
  const queue: EventQueue = {
    send: (_url, batch) =>
      write(async () => {
        events.push(...batch);
      }),
  };
  const savePollState = store.savePollState.bind(store);
  store.savePollState = (key, data, version) => write(() => savePollState(key, data, version));

  const poll = () =>
    runPoll({
      flow,
      trigger,
      config,
      env: testEnv(store, { now: () => world.now(), log: memoryLog() }),
      queue,
      queueUrl: 'queue',
      deps: { client: world.upkeep.client() },
    });
  await poll().catch((error: unknown) => {
    if (!(error instanceof Killed)) throw error;
  });
  armed = false;

  // Before the poller runs again, one part changes again within the same millisecond.
  world.upkeep.sim.restockPart(CHANGED, 7);
  world.advance(1_000);
  await poll();

  // The worker handles the events newest first (a replayed step before the original one).
  const ctx = {
    flowId: flow.id,
    config,
    deps: { mobilityWork: world.mwClient },
    state: store,
    log: memoryLog(),
    now: () => world.now(),
  };
  for (const event of [...events].reverse()) await flow.handle(event, ctx as never);
  await world.mw.settle();
  return { events, writes };
}

const stockIn = () => ({
  upkeep: new Map(world.upkeep.sim.parts().map((p) => [p.id, p.quantity])),
  mw: new Map(world.mw.spareParts().map((p) => [p.externalReference, p.stock])),
});

describe('scenario 11', () => {
  it('scenario 11: the UpKeep parts poller killed while saving its state, with many parts updated in the same millisecond: Mobility Work ends equal to UpKeep at every crash point', async () => {
    // 50 parts, 20 per event: 3 steps, each an enqueue and a state save (6 writes), each killed
    // just before and just after.
    const points = [1, 2, 3, 4, 5, 6].flatMap((n) =>
      (['before', 'after'] as const).map((w) => [n, w] as const),
    );
    const mismatches: string[] = [];
    for (const [crashAt, when] of points) {
      const { events } = await crashRound(crashAt, when);
      const { upkeep, mw } = stockIn();
      expect(upkeep.get(CHANGED)).toBe(9);
      for (const id of IDS) {
        if (mw.get(id) !== upkeep.get(id)) {
          mismatches.push(
            `killed ${when} write ${crashAt}: ${id} is ${mw.get(id)} in Mobility Work, ${upkeep.get(id)} in UpKeep (${events.length} events)`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  }, 60_000);
});
