/**
 * Property-style tests of the three stock flows: a random history (seeded PRNG) of stock changes,
 * restocks, alerts and our own writes on the real simulators, polled by the real poll sources, and
 * the resulting events delivered like a queue with no order guarantee (random interleaving,
 * duplicates, replays, vendor failures re-delivered later). The simulators must end with exactly the
 * expected effects. A failure names its seed; rerun one with SEED=<n>.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mwSimNewSparePart } from '../../../functions/connectors/mobility-work/simulator/index.ts';
import type { FlowEvent } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { flow as clickMaintFlow } from '../../../functions/flows/click-maint-part-low-to-mobility-work-stock.ts';
import { syncStock } from '../../../functions/flows/shared/stock-sync.ts';
import { flow as upkeepFlow } from '../../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import {
  type Harness as ClickMaintHarness,
  startHarness as startClickMaint,
} from '../click-maint/support.ts';
import {
  alertContext,
  deliverShuffled,
  handleAlert,
  MW_API_KEY,
  type Prng,
  prng,
  purchaseOrdersFor,
  type StockWorld,
  startStockWorld,
} from './stock-harness.ts';

const SEEDS = process.env.SEED ? [Number(process.env.SEED)] : [1, 2, 3, 4, 5];
const MOVEMENTS = 'POST /partners/v1/spare-parts/movements/bulk';
const MINIMUM = 5;

let world: StockWorld;
let cm: ClickMaintHarness;
let runs = 0;
beforeAll(async () => {
  world = await startStockWorld({ upkeepParts: [] });
  cm = await startClickMaint({}, { clock: world.upkeep.clock, state: world.state });
});
afterAll(async () => {
  await cm?.close();
  await world?.close();
});

/** Run `property` for each seed; a failure says which seed. */
async function forSeeds(property: (rng: Prng, seed: number) => Promise<void>): Promise<void> {
  for (const seed of SEEDS) {
    try {
      await property(prng(seed), seed);
    } catch (error) {
      throw new Error(`property failed for SEED=${seed}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Fresh Mobility Work spare parts with the given stock (and the minimum the sources use). */
async function mwParts(refs: readonly string[], stock: (ref: string) => number): Promise<void> {
  const created = await fetch(`${world.mw.url}/partners/v1/spare-parts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': MW_API_KEY },
    body: JSON.stringify(refs.map((ref) => mwSimNewSparePart(ref, `Part ${ref}`))),
  });
  expect(created.status).toBe(202);
  await world.mw.settle();
  await world.mwClient.updateSparePartAttributes(refs.map((id) => ({ id, minimumStock: MINIMUM })));
  await world.mwClient.setStock(refs.map((id) => ({ id, quantity: stock(id) })));
  await world.mw.settle();
}

const mwStock = (ref: string) => world.mw.spareParts().find((p) => p.externalReference === ref)?.stock;

/** A stock change: mostly small consumptions, some restocks; never below 0. */
const change = (rng: Prng, quantity: number) =>
  quantity > 0 && rng.chance(0.6) ? -rng.int(1, Math.min(quantity, 8)) : rng.int(1, 12);

/**
 * Poll runs at distinct times of our clock (minutes apart in production), while the parts' changes
 * share the source's timestamps with each other and with a run: a change right after a run, in its
 * millisecond (or second), ties with the version that run read.
 */
function distinctRuns<T>(run: () => Promise<T>): () => Promise<T> {
  let last = -1;
  return () => {
    if (world.now().getTime() === last) world.advance(1);
    last = world.now().getTime();
    return run();
  };
}

/** Deliver poll events like a queue; Mobility Work answers 503 now and then. */
async function deliverPartEvents(
  rng: Prng,
  events: readonly FlowEvent[],
  handle: (e: FlowEvent) => Promise<unknown>,
): Promise<void> {
  await deliverShuffled(rng, events, async (event) => {
    if (rng.chance(0.15)) world.mw.faults.push({ match: MOVEMENTS, status: 503 });
    try {
      await handle(event);
    } finally {
      world.mw.faults.length = 0;
    }
  });
  await world.mw.settle();
}

describe('UpKeep part low -> Mobility Work stock (property)', () => {
  for (const mode of ['mirror', 'low'] as const) {
    it(`${mode} mode: whatever order the polled events arrive in, Mobility Work ends ${mode === 'mirror' ? 'equal to UpKeep' : 'low exactly where UpKeep is'}`, async () => {
      await forSeeds(async (rng, seed) => {
        const run = ++runs;
        const refs = [1, 2, 3].map((i) => `UkProp${run}-${i}`);
        const flow = { ...upkeepFlow, id: `upkeep-prop-${run}` };
        const config = flow.config.parse({ mode, poll: { partsPerEvent: 2 } });
        const trigger = flow.triggers[0];
        if (trigger?.kind !== 'schedule') throw new Error('the UpKeep part flow polls');
        world.advance(60_000);
        world.upkeep.sim.addParts(
          refs.map((id) => ({ id, name: id, quantity: 10, minimumQuantity: MINIMUM })),
        );
        await mwParts(refs, () => 10);
        const queue = recordingQueue();
        const env = testEnv(world.store, { now: () => world.now(), log: memoryLog() });
        const client = world.upkeep.client();
        const poll = distinctRuns(() =>
          runPoll({ flow, trigger, config, env, queue, queueUrl: 'q', deps: { client } }),
        );
        for (let step = 0; step < 24; step++) {
          const ref = rng.pick(refs);
          const part = world.upkeep.sim.parts().find((p) => p.id === ref);
          const delta = change(rng, part?.quantity ?? 0);
          if (delta < 0) world.upkeep.sim.consumePart(ref, -delta);
          else world.upkeep.sim.restockPart(ref, delta);
          // Often several changes share one millisecond (the clock does not move).
          if (rng.chance(0.5)) world.advance(rng.int(1, 3));
          if (rng.chance(0.6)) await poll();
        }
        await poll();
        const ctx = {
          flowId: flow.id,
          config,
          deps: { mobilityWork: world.mwClient },
          state: world.store,
          log: memoryLog(),
          now: () => world.now(),
        };
        await deliverPartEvents(
          rng,
          queue.sent.map((s) => s.event),
          (e) => flow.handle(e, ctx as never),
        );
        for (const ref of refs) {
          const source = world.upkeep.sim.parts().find((p) => p.id === ref)?.quantity as number;
          const target = mwStock(ref) as number;
          if (mode === 'mirror') expect({ seed, ref, stock: target }).toEqual({ seed, ref, stock: source });
          else expect({ seed, ref, low: target <= MINIMUM }).toEqual({ seed, ref, low: source <= MINIMUM });
        }
      });
    }, 60_000);
  }
});

describe('Click Maint part low -> Mobility Work stock (property)', () => {
  it('mirror mode: whatever order the polled events arrive in, Mobility Work ends equal to Click Maint', async () => {
    await forSeeds(async (rng, seed) => {
      const run = ++runs;
      const flow = { ...clickMaintFlow, id: `click-maint-prop-${run}` };
      const config = flow.config.parse({ mode: 'mirror', poll: { partsPerEvent: 2 } });
      const trigger = flow.triggers[0];
      if (trigger?.kind !== 'schedule') throw new Error('the Click Maint part flow polls');
      world.advance(60_000);
      const parts = cm.sim.addParts(
        1,
        [1, 2, 3].map((i) => ({
          name: `Part ${i}`,
          number: `CmProp${run}-${i}`,
          on_hand_qty: 10,
          min_qty: MINIMUM,
        })),
      );
      const refs = parts.map((p) => p.number as string);
      await mwParts(refs, () => 10);
      const client = cm.client();
      const queue = recordingQueue();
      const env = testEnv(world.store, { now: () => world.now(), log: memoryLog() });
      const poll = distinctRuns(() =>
        runPoll({ flow, trigger, config, env, queue, queueUrl: 'q', deps: { client } }),
      );
      for (let step = 0; step < 20; step++) {
        const part = rng.pick(parts);
        const now = cm.sim.parts(1).find((p) => p.id === part.id);
        const delta = change(rng, now?.on_hand_qty ?? 0);
        if (delta < 0) cm.sim.consume(part.id, -delta);
        else cm.sim.restock(part.id, delta);
        // updated_at has whole seconds: changes within one second share it.
        if (rng.chance(0.5)) world.advance(rng.int(200, 1500));
        if (rng.chance(0.6)) await poll();
      }
      world.advance(1_000);
      await poll();
      const ctx = {
        flowId: flow.id,
        config,
        deps: { mobilityWork: world.mwClient, clickMaint: client },
        state: world.store,
        log: memoryLog(),
        now: () => world.now(),
      };
      await deliverPartEvents(
        rng,
        queue.sent.map((s) => s.event),
        (e) => flow.handle(e, ctx as never),
      );
      for (const part of parts) {
        const source = cm.sim.parts(1).find((p) => p.id === part.id)?.on_hand_qty;
        expect({ seed, ref: part.number, stock: mwStock(part.number as string) }).toEqual({
          seed,
          ref: part.number,
          stock: source,
        });
      }
    });
  }, 90_000);
});

describe('Mobility Work stock alert -> UpKeep purchase order (property)', () => {
  it('one purchase order per low episode and none caused by our own writes, whatever the delivery order', async () => {
    await forSeeds(async (rng, seed) => {
      const run = ++runs;
      const ref = `AlertProp${run}`;
      world.upkeep.sim.addParts([{ id: ref, name: ref, quantity: 3, minimumQuantity: MINIMUM }]);
      world.advance(3_600_000);
      await mwParts([ref], () => 20);
      const ctx = { ...alertContext(world), flowId: `alert-prop-${run}` };
      const sync = {
        flowId: 'upkeep-part-low-to-mobility-work-stock',
        config: {
          mode: 'mirror',
          parts: {},
          onlyListedParts: false,
          alignMinimum: false,
          writeOnRestock: true,
          fractionalQuantity: 'skip',
        },
        state: world.store,
        now: () => world.now(),
      } as const;
      const events: FlowEvent[] = [];
      /** Mobility Work's own order of things: the expected episodes. */
      let episodes = 0;
      let open = false;
      for (let step = 0; step < 20; step++) {
        world.advance(5_000);
        const from = world.mw.events().length;
        const stock = mwStock(ref) as number;
        const action = rng.pick(['consume', 'consume', 'restock', 'recount', 'ours'] as const);
        if (action === 'consume' && stock > 0) world.mw.consume(ref, rng.int(1, Math.min(stock, 12)));
        else if (action === 'restock') world.mw.restock(ref, rng.int(1, 15));
        else if (action === 'recount') world.mw.recount(ref, rng.int(0, 20));
        else if (action === 'ours') {
          await syncStock(sync, world.mwClient, `uk-${run}-${step}`, [
            {
              partId: ref,
              name: ref,
              quantity: rng.int(0, 20),
              minimum: MINIMUM,
              changedAtMs: world.now().getTime(),
            },
          ]);
          await world.mw.settle();
        }
        const emitted = world.mwEvents(from).filter((e) => !e.type.endsWith('SparePartWasConsumed'));
        for (const e of emitted) {
          const alert = e.type.endsWith('UnderMinThreshold') || e.type.endsWith('OutOfStock');
          const quantity = mwStock(ref) as number;
          if (alert && action !== 'ours' && !open) {
            episodes++;
            open = true;
          } else if (!alert && quantity > MINIMUM) open = false;
        }
        events.push(...emitted);
      }
      await deliverShuffled(rng, events, async (event) => {
        if (rng.chance(0.2))
          world.upkeep.sim.faults.push({ match: 'POST /api/v2/purchase-orders/', status: 503 });
        try {
          await handleAlert(ctx, event);
        } finally {
          world.upkeep.sim.faults.length = 0;
        }
      });
      expect({ seed, purchaseOrders: purchaseOrdersFor(world, ref).length }).toEqual({
        seed,
        purchaseOrders: episodes,
      });
    });
  }, 90_000);
});
