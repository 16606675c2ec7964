/**
 * Mobility Work stock alert -> UpKeep purchase order, as Mobility Work really delivers: the stock
 * webhooks of one part over two low episodes (under the minimum, out of stock, restocked, low again,
 * recounted) in 25 of their 120 orders (a fixed, even sample), each delivered twice, and all of them resent 25 h
 * later (past the ingress's delivery memory, so the flow alone must recognise them).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FlowEvent, FlowResult } from '../../../functions/core/flow.ts';
import { someOrders } from '../../support/orders.ts';
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
const HOUR = 3_600_000;

let world: StockWorld;
beforeAll(async () => {
  world = await startStockWorld();
});
afterAll(() => world?.close());

function person(action: 'consume' | 'restock' | 'recount', quantity: number, type: string): FlowEvent {
  world.advance(5_000);
  const from = world.mw.events().length;
  world.mw[action](PART, quantity);
  const found = world.mwEvents(from).find((e) => e.type === `mobility-work.${type}`);
  if (!found) throw new Error(`no ${type} after ${action} ${quantity}`);
  return found;
}

const isAlert = (e: FlowEvent) => /UnderMinThreshold|OutOfStock/.test(e.type);

describe('two low episodes of one part, every delivery order, duplicates and 25 h resends', () => {
  it('exactly one purchase order per episode; done only when an order is made or an episode closed; repeats are duplicate or stale', async () => {
    world.mw.reset();
    world.advance(HOUR);
    const low1 = person('consume', 16, 'SparePartStockWasUnderMinThreshold'); // 20 -> 4
    const out = person('consume', 4, 'SparePartWasOutOfStock'); // 4 -> 0, same episode
    const restock = person('restock', 20, 'SparePartWasRestocked'); // 0 -> 20: closes it
    const low2 = person('consume', 17, 'SparePartStockWasUnderMinThreshold'); // 20 -> 3: a second episode
    const recount = person('recount', 9, 'SparePartWasManuallyRecounted'); // 3 -> 9: closes it
    const name = new Map([
      [low1.id, 'low1'],
      [out.id, 'out'],
      [restock.id, 'restock'],
      [low2.id, 'low2'],
      [recount.id, 'recount'],
    ]);
    const failures: string[] = [];
    let run = 0;
    for (const order of someOrders([low1, out, restock, low2, recount])) {
      world.upkeep.sim.reset();
      const ctx: AlertCtx = { ...alertContext(world), flowId: `stock-alert-orders-${++run}` };
      const label = order.map((e) => name.get(e.id)).join(',');
      const deliver = async (e: FlowEvent, pass: string): Promise<FlowResult> => {
        const before = purchaseOrdersFor(world, PART).length;
        const r = await handleAlert(ctx, e);
        const made = purchaseOrdersFor(world, PART).length - before;
        const where = `${label} ${pass} ${name.get(e.id)}: ${r.outcome} (${r.message})`;
        // Truthful outcomes: a new purchase order is always `done`; an alert is `done` only with one.
        if (made > 0 && r.outcome !== 'done') failures.push(`${where}: made ${made} but not done`);
        if (isAlert(e) && r.outcome === 'done' && made === 0)
          failures.push(`${where}: done without an order`);
        return r;
      };
      for (const e of order) {
        await deliver(e, 'first');
        const again = await deliver(e, 'duplicate');
        if (!['duplicate', 'stale', 'skipped'].includes(again.outcome))
          failures.push(`${label} duplicate ${name.get(e.id)}: ${again.outcome}`);
      }
      world.advance(25 * HOUR);
      for (const e of order) {
        const late = await deliver(e, 'resend');
        if (!['duplicate', 'stale', 'skipped'].includes(late.outcome))
          failures.push(`${label} resend ${name.get(e.id)}: ${late.outcome}`);
      }
      const pos = purchaseOrdersFor(world, PART);
      if (pos.length !== 2) failures.push(`${label}: ${pos.length} purchase orders`);
      // One per episode: one cites an alert of the first episode, the other low2.
      const cites = (e: FlowEvent) => pos.filter((po) => po.description?.includes(e.occurredAt)).length;
      if (cites(low2) !== 1 || cites(low1) + cites(out) !== 1) failures.push(`${label}: not one per episode`);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
