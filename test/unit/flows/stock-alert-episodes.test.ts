/**
 * Mobility Work stock alert -> UpKeep purchase order: the episode state machine (one test per row of
 * the transition table in the flow's header) and the scenarios 4, 6 and 7, on the real UpKeep
 * and Mobility Work simulators and a real state store, with the events delivered in the order each
 * test chooses.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { NeedsAttentionError } from '../../../functions/core/errors.ts';
import type { FlowEvent } from '../../../functions/core/flow.ts';
import * as alertFlow from '../../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { syncStock } from '../../../functions/flows/shared/stock-sync.ts';
import { deletePartInUpKeep } from '../upkeep/support.ts';
import { crashingStore, WorkerCrash } from './crash-support.ts';
import {
  type AlertCtx,
  alertContext,
  handleAlert,
  purchaseOrdersFor,
  type StockWorld,
  startStockWorld,
} from './stock-harness.ts';

// Seeded in both simulators: UpKeep 20 (minimum 5), Mobility Work 20 (minimum 5).
const PART = 'PartFilterHF35';
const PO_ROUTE = 'POST /api/v2/purchase-orders/';

let world: StockWorld;
let ctx: AlertCtx;
let tests = 0;
beforeAll(async () => {
  world = await startStockWorld();
});
afterAll(() => world?.close());
beforeEach(async () => {
  world.mw.reset();
  world.upkeep.sim.reset();
  world.upkeep.sim.faults.length = 0;
  // A fresh flow state per test (its own flow id), an hour later (past the echo window).
  world.advance(3_600_000);
  ctx = { ...alertContext(world), flowId: `stock-alert-test-${++tests}` };
});

/** A person's stock action in Mobility Work, 5 s after the previous one; its webhooks. */
function person(action: 'consume' | 'restock' | 'recount', quantity: number): FlowEvent[] {
  world.advance(5_000);
  const from = world.mw.events().length;
  world.mw[action](PART, quantity);
  return world.mwEvents(from).filter((e) => !e.type.endsWith('SparePartWasConsumed'));
}
const one = (events: FlowEvent[], type: string): FlowEvent => {
  const found = events.find((e) => e.type === `mobility-work.${type}`);
  if (!found) throw new Error(`no ${type} in ${events.map((e) => e.type).join(', ')}`);
  return found;
};
const alertOf = (events: FlowEvent[]) => one(events, 'SparePartStockWasUnderMinThreshold');
const pos = () => purchaseOrdersFor(world, PART);

/** Our own stock write, as the part-low flows make it (recorded, then sent); its webhooks. */
async function ourWrite(quantity: number, eventId: string): Promise<FlowEvent[]> {
  world.advance(5_000);
  const from = world.mw.events().length;
  const sync = {
    flowId: 'upkeep-part-low-to-mobility-work-stock',
    state: world.store,
    now: () => world.now(),
  };
  await syncStock(
    {
      ...sync,
      config: {
        mode: 'mirror',
        parts: {},
        onlyListedParts: false,
        alignMinimum: false,
        writeOnRestock: true,
        fractionalQuantity: 'skip',
      },
    },
    world.mwClient,
    eventId,
    [{ partId: PART, name: 'Filter', quantity, minimum: 5, changedAtMs: world.now().getTime() }],
  );
  await world.mw.settle();
  return world.mwEvents(from);
}

describe('scenarios from issue 9', () => {
  it('scenario 4: a purchase-order create fails, the part is restocked before the retry, then a second low episode: 2 purchase orders', async () => {
    const low1 = person('consume', 16); // 20 -> 4: under the minimum
    world.upkeep.sim.faults.push({ match: PO_ROUTE, status: 503, times: 1 });
    await expect(handleAlert(ctx, alertOf(low1))).rejects.toThrow();
    expect(pos()).toHaveLength(0);

    const restock = person('restock', 16); // 4 -> 20: the episode ends before the retry
    expect(await handleAlert(ctx, one(restock, 'SparePartWasRestocked'))).toMatchObject({ outcome: 'done' });

    // The retry still orders for the episode the alert belongs to.
    expect(await handleAlert(ctx, alertOf(low1))).toMatchObject({ outcome: 'done' });
    const low2 = person('consume', 17); // 20 -> 3: a second episode
    expect(await handleAlert(ctx, alertOf(low2))).toMatchObject({ outcome: 'done' });
    expect(pos()).toHaveLength(2);
  });

  it('a purchase-order create UpKeep applied but answered 500 is found by its marker on the retry: 1 purchase order', async () => {
    const low = person('consume', 16);
    world.upkeep.sim.faults.push({ match: PO_ROUTE, status: 500, afterWrite: true });
    await expect(handleAlert(ctx, alertOf(low))).rejects.toThrow(/HTTP 500/);
    expect(pos()).toHaveLength(1);
    const retried = await handleAlert(ctx, alertOf(low));
    expect(retried.message).toContain('made by an earlier attempt');
    expect(pos()).toHaveLength(1);
  });

  it('a lost purchase-order create answer, then more than a page of newer purchase orders (newest first): the retry pages on and finds ours on page 2: 1 purchase order', async () => {
    const low = person('consume', 16);
    world.upkeep.sim.faults.push({ match: PO_ROUTE, status: 500, afterWrite: true });
    await expect(handleAlert(ctx, alertOf(low))).rejects.toThrow(/HTTP 500/);
    // A busy plant: people's purchase orders made after ours; UpKeep lists 100 a page, newest first.
    world.advance(60_000);
    const upkeep = world.upkeep.client();
    for (let i = 0; i < 105; i++) await upkeep.createPurchaseOrder({ title: `Order ${i}` });
    const looked = world.upkeep.sim.calls().length;
    const retried = await handleAlert(ctx, alertOf(low));
    expect(retried.message).toContain('made by an earlier attempt');
    const reads = world.upkeep.sim
      .calls()
      .slice(looked)
      .filter((c) => c.line === 'GET /purchase-orders');
    expect(reads).toHaveLength(2);
    expect(pos()).toHaveLength(1);
  });

  it('a purchase-order create UpKeep applied but answered 200 with a body that is no purchase order (a proxy page): found by its marker on the retry: 1 purchase order', async () => {
    const low = person('consume', 16);
    world.upkeep.sim.faults.push({
      match: PO_ROUTE,
      status: 200,
      afterWrite: true,
      body: { message: 'We are performing scheduled maintenance' },
    });
    await expect(handleAlert(ctx, alertOf(low))).rejects.toThrow(/unexpected response/);
    expect(pos()).toHaveLength(1);
    expect((await handleAlert(ctx, alertOf(low))).message).toContain('made by an earlier attempt');
    expect(pos()).toHaveLength(1);
  });

  it("bad input: a person's purchase order UpKeep answers without a title does not stall the look for ours after a lost create answer: 1 purchase order", async () => {
    const withBrokenRow = (async (url: string | URL, init?: RequestInit) => {
      const res = await fetch(url, init);
      if ((init?.method ?? 'GET') !== 'GET' || !/\/purchase-orders\/?\?/.test(String(url))) return res;
      const body = (await res.json()) as { results: Record<string, unknown>[] };
      const at = world.now().toISOString();
      body.results.unshift({
        id: 'PoByAPerson',
        title: null,
        status: 'awaiting',
        createdAt: at,
        updatedAt: at,
      });
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    }) as typeof fetch;
    const broken = {
      ...ctx,
      deps: { upkeep: world.upkeep.client({ http: { maxAttempts: 1, fetch: withBrokenRow } }) },
    };
    const low = person('consume', 16);
    world.upkeep.sim.faults.push({ match: PO_ROUTE, status: 500, afterWrite: true });
    await expect(handleAlert(broken, alertOf(low))).rejects.toThrow(/HTTP 500/);
    const retried = await handleAlert(broken, alertOf(low));
    expect(retried.message).toContain('made by an earlier attempt');
    expect(pos()).toHaveLength(1);
  });

  it('scenario 6: a replay (e.g. from the DLQ) of the second alert of an already closed low episode: no second purchase order', async () => {
    const low = person('consume', 16); // 20 -> 4: under the minimum
    const out = person('consume', 4); // 4 -> 0: out of stock, the same episode
    expect(await handleAlert(ctx, alertOf(low))).toMatchObject({ outcome: 'done' });
    const second = one(out, 'SparePartWasOutOfStock');
    expect(await handleAlert(ctx, second)).toMatchObject({ outcome: 'duplicate' });
    const restock = person('restock', 20);
    await handleAlert(ctx, one(restock, 'SparePartWasRestocked'));

    const replay = await handleAlert(ctx, { ...second, source: 'replay' });
    expect(replay.outcome).toBe('stale');
    expect(replay.message).toMatch(
      /replayed alert of the low episode opened at .* and closed by a restock at/,
    );
    expect(pos()).toHaveLength(1);
  });

  it('scenario 7: a replay of the echo of our own stock write, arriving after our next write: no purchase order', async () => {
    const echo1 = await ourWrite(3, 'uk-evt-1'); // 20 -> 3: Mobility Work alerts about our write
    for (const e of echo1) await handleAlert(ctx, e);
    await ourWrite(12, 'uk-evt-2'); // our next write
    // The echo of the first write comes again (a DLQ replay) after the second write.
    const replayed = await handleAlert(ctx, { ...alertOf(echo1), source: 'replay' });
    expect(replayed.outcome).toBe('echo');
    expect(pos()).toHaveLength(0);
  });

  it('our write of 0 (out of stock): its echo, delivered twice and again after a real episode opened, orders nothing; the real one once', async () => {
    const out = one(await ourWrite(0, 'uk-evt-zero'), 'SparePartWasOutOfStock');
    expect(await handleAlert(ctx, out)).toMatchObject({ outcome: 'echo' });
    expect(await handleAlert(ctx, out)).toMatchObject({ outcome: 'echo' });
    expect(pos()).toHaveLength(0);
    // A person restocks, then consumes down under the minimum: a real episode, ordered once.
    person('restock', 10);
    expect(await handleAlert(ctx, alertOf(person('consume', 7)))).toMatchObject({ outcome: 'done' });
    // The echo again (a DLQ replay) after that: still an echo, not a second order.
    expect(await handleAlert(ctx, { ...out, source: 'replay' })).toMatchObject({ outcome: 'echo' });
    expect(pos()).toHaveLength(1);
  });

  it('scenario 7 (first delivery late): an echo of an older write of ours seen only after our next write is still an echo', async () => {
    const echo1 = await ourWrite(3, 'uk-evt-3');
    await ourWrite(12, 'uk-evt-4');
    const late = await handleAlert(ctx, alertOf(echo1));
    expect(late).toMatchObject({ outcome: 'echo' });
    expect(late.message).toContain('is our own write (upkeep-part-low-to-mobility-work-stock)');
    expect(pos()).toHaveLength(0);
  });
});

describe('orders Mobility Work really delivers in', () => {
  it('the echo of our write, its first delivery failed, resent hours later (past the echo window) after a person restocked: still an echo, no purchase order', async () => {
    const echo = alertOf(await ourWrite(2, 'uk-evt-late'));
    world.advance(3 * 3_600_000);
    const restock = one(person('restock', 20), 'SparePartWasRestocked');
    expect(await handleAlert(ctx, restock)).toMatchObject({ outcome: 'skipped' });
    // MW's retry: same _idempotencyKey and `_date`, hours after our send.
    expect(await handleAlert(ctx, echo)).toMatchObject({ outcome: 'echo' });
    expect(pos()).toHaveLength(0);
  });

  it("a person's alert and its restock, the restock's webhook first and the alert's retried later, then a second low: two episodes, two purchase orders", async () => {
    const low1 = alertOf(person('consume', 16));
    const restock = one(person('restock', 16), 'SparePartWasRestocked');
    const low2 = alertOf(person('consume', 17));
    expect(await handleAlert(ctx, restock)).toMatchObject({ outcome: 'skipped' });
    expect(await handleAlert(ctx, low2)).toMatchObject({ outcome: 'done' });
    expect(await handleAlert(ctx, low1)).toMatchObject({ outcome: 'done' });
    // Its redelivery: an alert of a closed, ordered episode.
    expect(await handleAlert(ctx, low1)).toMatchObject({ outcome: 'stale' });
    expect(pos()).toHaveLength(2);
  });
});

describe('the episode state machine, one test per transition', () => {
  it('no episode open + alert: opens an episode and orders once (done)', async () => {
    const r = await handleAlert(ctx, alertOf(person('consume', 16)));
    expect(r).toMatchObject({ outcome: 'done', effects: { purchaseOrderId: pos()[0]?.id } });
  });

  it('episode open and ordered + alert of it: duplicate, whatever the order they arrive in', async () => {
    const low = alertOf(person('consume', 16));
    const out = one(person('consume', 4), 'SparePartWasOutOfStock');
    // The later alert first: it opens the episode; the earlier one joins it.
    expect(await handleAlert(ctx, out)).toMatchObject({ outcome: 'done' });
    const r = await handleAlert(ctx, low);
    expect(r.outcome).toBe('duplicate');
    expect(r.message).toContain('already requested for the low episode opened at');
    expect(pos()).toHaveLength(1);
  });

  it('episode open, order being made by another event + alert of it: duplicate naming that event', async () => {
    const low = alertOf(person('consume', 16));
    const out = one(person('consume', 4), 'SparePartWasOutOfStock');
    world.upkeep.sim.faults.push({ match: PO_ROUTE, status: 503, times: 1 });
    await expect(handleAlert(ctx, low)).rejects.toThrow();
    const r = await handleAlert(ctx, out);
    expect(r).toMatchObject({ outcome: 'duplicate' });
    expect(r.message).toContain(`is being made by event ${low.id}`);
    expect(await handleAlert(ctx, low)).toMatchObject({ outcome: 'done' });
    expect(pos()).toHaveLength(1);
  });

  it('episode closed and ordered + a late alert of it: stale', async () => {
    const low = alertOf(person('consume', 16));
    const out = one(person('consume', 4), 'SparePartWasOutOfStock');
    const restock = one(person('restock', 20), 'SparePartWasRestocked');
    await handleAlert(ctx, low);
    await handleAlert(ctx, restock);
    const r = await handleAlert(ctx, out); // first seen after the restock
    expect(r.outcome).toBe('stale');
    expect(r.message).toContain('late alert of the low episode');
    expect(pos()).toHaveLength(1);
  });

  it('episode closed, not ordered yet + an alert first seen after the restock: the episode is ordered (done)', async () => {
    const low = alertOf(person('consume', 16));
    const restock = one(person('restock', 20), 'SparePartWasRestocked');
    expect(await handleAlert(ctx, restock)).toMatchObject({ outcome: 'skipped' });
    expect(await handleAlert(ctx, low)).toMatchObject({ outcome: 'done' });
    expect(pos()).toHaveLength(1);
  });

  it('an alert that is the echo of our stock write: echo, no episode; a later person change to the same quantity is not', async () => {
    const echo = await ourWrite(3, 'uk-evt-5');
    expect(await handleAlert(ctx, alertOf(echo))).toMatchObject({ outcome: 'echo' });
    person('recount', 20); // a person brings it back up ...
    const again = person('consume', 17); // ... and down to 3 again, the quantity we wrote, later
    expect(await handleAlert(ctx, alertOf(again))).toMatchObject({ outcome: 'done' });
    expect(pos()).toHaveLength(1);
  });

  it('our write that caused no alert (the part was already low): a person’s restock and consumption to the quantity we wrote, inside the echo window, is the person’s (done), not our echo', async () => {
    expect(await handleAlert(ctx, alertOf(person('consume', 16)))).toMatchObject({ outcome: 'done' });
    // Already under the minimum: our write crosses nothing, so Mobility Work sends no alert for it.
    const ours = await ourWrite(3, 'uk-evt-quiet');
    expect(ours.filter((e) => /UnderMinThreshold|OutOfStock/.test(e.type))).toHaveLength(0);
    const restock = one(person('restock', 17), 'SparePartWasRestocked');
    expect(await handleAlert(ctx, restock)).toMatchObject({ outcome: 'done' });
    const again = alertOf(person('consume', 17)); // down to 3, the quantity we wrote, minutes later
    expect(await handleAlert(ctx, again)).toMatchObject({ outcome: 'done' });
    expect(pos()).toHaveLength(2);
  });

  it('episode open + restock above the minimum: closes it (done); the next alert opens a new episode', async () => {
    await handleAlert(ctx, alertOf(person('consume', 16)));
    const r = await handleAlert(ctx, one(person('recount', 9), 'SparePartWasManuallyRecounted'));
    expect(r.outcome).toBe('done');
    expect(r.message).toContain('alerts re-armed');
    await handleAlert(ctx, alertOf(person('consume', 5)));
    expect(pos()).toHaveLength(2);
  });

  it('a late restock inside an ordered episode splits it: the later part is a new episode, ordered (done)', async () => {
    const low1 = alertOf(person('consume', 16)); // 4
    const restock = one(person('restock', 16), 'SparePartWasRestocked'); // 20
    const low2 = alertOf(person('consume', 17)); // 3
    expect(await handleAlert(ctx, low1)).toMatchObject({ outcome: 'done' });
    // Without the restock the two alerts look like one episode.
    expect(await handleAlert(ctx, low2)).toMatchObject({ outcome: 'duplicate' });
    const r = await handleAlert(ctx, restock);
    expect(r.outcome).toBe('done');
    expect(r.message).toContain('for the episode it split off');
    expect(pos()).toHaveLength(2);
  });

  it('no episode open + restock: skipped, saying the minimum is not known yet', async () => {
    const r = await handleAlert(ctx, one(person('restock', 5), 'SparePartWasRestocked'));
    expect(r.outcome).toBe('skipped');
    expect(r.message).toContain('stock 25; its minimum is not known yet');
    expect(r.message).not.toContain('?');
  });

  it('restock not above the minimum: skipped, the episode stays open', async () => {
    await handleAlert(ctx, alertOf(person('consume', 18))); // 2
    const r = await handleAlert(ctx, one(person('restock', 1), 'SparePartWasRestocked')); // 3
    expect(r).toMatchObject({ outcome: 'skipped' });
    expect(r.message).toContain('is not above the minimum 5');
    expect(await handleAlert(ctx, one(person('consume', 3), 'SparePartWasOutOfStock'))).toMatchObject({
      outcome: 'duplicate',
    });
    expect(pos()).toHaveLength(1);
  });

  it('an event already applied (same id): duplicate', async () => {
    const restock = one(person('recount', 30), 'SparePartWasManuallyRecounted');
    await handleAlert(ctx, alertOf(person('consume', 26)));
    await handleAlert(ctx, restock);
    expect(await handleAlert(ctx, restock)).toMatchObject({ outcome: 'duplicate' });
  });

  it('an event older than the kept history: stale', async () => {
    const first = alertOf(person('consume', 16));
    const restockFirst = one(person('restock', 16), 'SparePartWasRestocked');
    // Many later episodes push the first one out of the kept history, unseen.
    const later: FlowEvent[] = [];
    for (let i = 0; i < alertFlow.MAX_FACTS / 2 + 1; i++) {
      later.push(alertOf(person('consume', 16)), one(person('restock', 16), 'SparePartWasRestocked'));
    }
    for (const e of later) await handleAlert(ctx, e);
    const ordered = pos().length;
    const r = await handleAlert(ctx, first);
    expect(r.outcome).toBe('stale');
    expect(r.message).toContain("older than the part's kept history");
    expect(await handleAlert(ctx, restockFirst)).toMatchObject({ outcome: 'stale' });
    expect(pos()).toHaveLength(ordered);
  }, 30_000);
});

describe('a worker that dies at any write (crash-support sweep)', () => {
  it('alert, restock, second alert: a crash at each write k of each event (lost, or landed with its answer lost), then SQS redelivery: two purchase orders as in a clean run, or parked with a reason and never a second one', async () => {
    const fresh = () => {
      world.mw.reset();
      world.upkeep.sim.reset();
      world.advance(3_600_000);
      return { ...alertContext(world), flowId: `stock-alert-test-${++tests}` };
    };
    const steps = [
      () => alertOf(person('consume', 16)),
      () => one(person('recount', 9), 'SparePartWasManuallyRecounted'),
      () => alertOf(person('consume', 5)),
    ];
    const clean = fresh();
    const counts: number[] = [];
    for (const step of steps) {
      const counting = crashingStore(world.store, Number.POSITIVE_INFINITY);
      await handleAlert({ ...clean, state: counting.store }, step());
      counts.push(counting.writes());
    }
    expect(pos()).toHaveLength(2);
    for (const [e, n] of counts.entries()) {
      for (let k = 1; k <= n; k++) {
        for (const when of ['before', 'after'] as const) {
          const c = fresh();
          const where = `event ${e} k=${k} ${when}`;
          let parked = false;
          for (const [i, step] of steps.entries()) {
            const event = step();
            if (i === e) {
              const crash = crashingStore(world.store, k, when);
              const died = await handleAlert({ ...c, state: crash.store }, event).catch((x: unknown) => x);
              if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
              world.advance(2 * 60_000); // past the claim's lease: the redelivery
            }
            const out = await handleAlert(c, event).catch((x: unknown) => x);
            if (out instanceof NeedsAttentionError) parked = true;
            else
              expect({ where, i, out }).toEqual({
                where,
                i,
                out: expect.objectContaining({ outcome: expect.any(String) }),
              });
          }
          expect({ where, atMost: pos().length <= 2 }).toEqual({ where, atMost: true });
          if (!parked) expect({ where, pos: pos().length }).toEqual({ where, pos: 2 });
        }
      }
    }
  });
});

describe('a worker that dies at any write, then another alert of the episode (crash-support sweep)', () => {
  it('a crash at each write k of the alert that owns the order (lost, or landed with its answer lost), a second alert of the episode before its redelivery, then the redelivery: one purchase order, or parked with a reason and never two', async () => {
    const fresh = () => {
      world.mw.reset();
      world.upkeep.sim.reset();
      world.advance(3_600_000);
      return { ...alertContext(world), flowId: `stock-alert-test-${++tests}` };
    };
    const clean = fresh();
    const counting = crashingStore(world.store, Number.POSITIVE_INFINITY);
    await handleAlert({ ...clean, state: counting.store }, alertOf(person('consume', 16)));
    expect(pos()).toHaveLength(1);
    for (let k = 1; k <= counting.writes(); k++) {
      for (const when of ['before', 'after'] as const) {
        const where = `k=${k} ${when}`;
        const c = fresh();
        const first = alertOf(person('consume', 16));
        const crash = crashingStore(world.store, k, when);
        const died = await handleAlert({ ...c, state: crash.store }, first).catch((x: unknown) => x);
        if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
        const second = one(person('consume', 4), 'SparePartWasOutOfStock');
        world.advance(2 * 60_000); // past the claim's lease
        let parked = false;
        for (const event of [second, first, second]) {
          let out: unknown;
          for (let attempt = 0; attempt < 4; attempt++) {
            out = await handleAlert(c, event).catch((x: unknown) => x);
            if (!(out instanceof Error) || out instanceof NeedsAttentionError) break;
            world.advance(5 * 60_000); // a busy claim or order: the queue's retry
          }
          if (out instanceof NeedsAttentionError) parked = true;
          else
            expect({ where, out }).toEqual({
              where,
              out: expect.objectContaining({ outcome: expect.any(String) }),
            });
        }
        expect({ where, atMost: pos().length <= 1 }).toEqual({ where, atMost: true });
        if (!parked) expect({ where, pos: pos().length }).toEqual({ where, pos: 1 });
      }
    }
  });
});

describe('an UpKeep part a person deleted under us', () => {
  /** The UpKeep client of `ctx`, with the part deleted right after our read of it (before the create). */
  function deletedAfterRead(): AlertCtx {
    const upkeep = ctx.deps.upkeep;
    let deleted = false;
    const getPart: typeof upkeep.getPart = async (id) => {
      const part = await upkeep.getPart(id);
      if (!deleted) await deletePartInUpKeep(world.upkeep.sim, id);
      deleted = true;
      return part;
    };
    return { ...ctx, deps: { upkeep: Object.assign(Object.create(upkeep), { getPart }) } };
  }

  it('deleted before the alert: skipped, saying UpKeep has no such part; the redelivery too, and no purchase order', async () => {
    const low = person('consume', 16);
    await deletePartInUpKeep(world.upkeep.sim, PART);
    const first = await handleAlert(ctx, alertOf(low));
    expect(first).toMatchObject({
      outcome: 'skipped',
      message: expect.stringContaining(`UpKeep has no part ${PART}`),
    });
    expect(await handleAlert(ctx, alertOf(low))).toMatchObject({ outcome: 'skipped' });
    expect(world.upkeep.sim.calls().filter((c) => c.line === PO_ROUTE)).toHaveLength(0);
  });

  it('deleted between our read and the purchase-order create (UpKeep refuses the create naming it): skipped with the reason, not dead-lettered; the redelivery writes nothing', async () => {
    const low = person('consume', 16);
    const first = await handleAlert(deletedAfterRead(), alertOf(low));
    expect(first).toMatchObject({ outcome: 'skipped', message: expect.stringContaining('deleted') });
    expect(pos()).toHaveLength(0);
    const creates = world.upkeep.sim.calls().filter((c) => c.line === PO_ROUTE).length;
    expect(await handleAlert(ctx, alertOf(low))).toMatchObject({ outcome: 'skipped' });
    expect(world.upkeep.sim.calls().filter((c) => c.line === PO_ROUTE)).toHaveLength(creates);
  });

  it('a purchase-order create refused while the part is still there (e.g. a category UpKeep does not have): the error stays, a configuration error is not hidden as a deleted part', async () => {
    const low = person('consume', 16);
    world.upkeep.sim.faults.push({ match: PO_ROUTE, status: 400, times: 1 });
    await expect(handleAlert(ctx, alertOf(low))).rejects.toThrow(/HTTP 400/);
    expect(pos()).toHaveLength(0);
    // Fixed (here: the fault is gone), the replay orders once.
    expect(await handleAlert(ctx, alertOf(low))).toMatchObject({ outcome: 'done' });
    expect(pos()).toHaveLength(1);
  });
});
