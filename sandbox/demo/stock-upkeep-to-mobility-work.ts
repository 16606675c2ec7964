/**
 * upkeep-part-low-to-mobility-work-stock: UpKeep stock changes reach Mobility Work in one write, and
 * Mobility Work's alert about that write is recognised as our own (no purchase order).
 */
import { FLOW_ID as ALERT_FLOW } from '../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { FLOW_ID as PART_FLOW } from '../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { PARTS, postJson } from '../control.ts';
import { type DemoContext, MINUTE, runsOf, simulators } from './context.ts';
import {
  createMobilityWorkSpareParts,
  mobilityWorkCalls,
  mobilityWorkPart,
  purchaseOrdersFor,
} from './lookups.ts';

const STOCK_WRITE = '/partners/v1/spare-parts/movements/bulk';

export async function stockUpkeepToMobilityWork(ctx: DemoContext): Promise<void> {
  const { sandbox, check, step } = ctx;
  const { upkeepPart, advance } = ctx.control;
  const bearing = () => mobilityWorkPart(ctx, PARTS.bearing);
  const stockWrites = () => mobilityWorkCalls(ctx, STOCK_WRITE);
  ctx.section(`${PART_FLOW} (and the loop back through ${ALERT_FLOW})`);
  step('a technician takes 9 x Bearing 6204 in UpKeep (12 -> 3; minimum 4)');
  const stockCalls = stockWrites();
  await upkeepPart(PARTS.bearing, 'consume', 9);
  sandbox.clock.advance(5 * MINUTE);
  // Wall time from the poll that sees the change to Mobility Work receiving the stock write.
  const t0 = performance.now();
  let pollToWriteMs = Number.NaN;
  const watch = setInterval(() => {
    if (Number.isNaN(pollToWriteMs) && stockWrites() > stockCalls) pollToWriteMs = performance.now() - t0;
  }, 2);
  await sandbox.tick();
  await sandbox.settle();
  clearInterval(watch);
  check('Mobility Work stock is set to 3', bearing()?.stock === 3, `${bearing()?.stock}`);
  check('its minimum is aligned to 4', bearing()?.minimumStock === 4);
  check('in one stock write', stockWrites() === stockCalls + 1);
  ctx.out(
    `    UpKeep change seen by the poller -> Mobility Work stock write: ${pollToWriteMs.toFixed(0)} ms (plus up to one poll interval, ${5} min by default)`,
  );
  const echoes = (await runsOf(ctx, ALERT_FLOW)).filter((r) => r.outcome === 'echo');
  check("Mobility Work's alert about our own write came back and was recognised (echo)", echoes.length >= 1);
  check('so no purchase order was made for it', purchaseOrdersFor(ctx, PARTS.bearing).length === 0);

  step('one more taken (3 -> 2): the same low episode, nothing written');
  await upkeepPart(PARTS.bearing, 'consume', 1);
  await advance(5);
  check('no second write', stockWrites() === stockCalls + 1);

  step('restocked in UpKeep (+20 -> 22): the episode re-arms and Mobility Work gets 22');
  await upkeepPart(PARTS.bearing, 'restock', 20);
  await advance(5);
  check('Mobility Work stock is 22', bearing()?.stock === 22, `${bearing()?.stock}`);
}

/** 1,000 parts change in one poll: two Mobility Work calls in all. */
export async function stockBulk(ctx: DemoContext): Promise<void> {
  const { check } = ctx;
  const { mobilityWork, upkeep } = simulators(ctx);
  ctx.section(`${PART_FLOW}: 1,000 parts change in one poll`);
  ctx.step('1,000 parts exist in both systems; all of them drop below their minimum in UpKeep');
  const refs = Array.from({ length: 1000 }, (_, i) => `PartBulk${String(i).padStart(4, '0')}`);
  const created = await createMobilityWorkSpareParts(ctx, refs, 'Bulk part');
  await mobilityWork.settle();
  await postJson(`${upkeep.url}/_sandbox/parts`, {
    parts: refs.map((id) => ({ id, name: `Bulk part ${id}`, quantity: 1, minimumQuantity: 5 })),
  });
  const callsBefore = mobilityWork.requests.length;
  const t1 = performance.now();
  // 1,000 stock webhooks come back through the alert flow: give a busy machine time to drain them.
  await ctx.control.advance(5, 300_000);
  const bulkMs = performance.now() - t1;
  const calls = mobilityWork.requests.slice(callsBefore);
  check('spare parts created in Mobility Work (202)', created.status === 202, `HTTP ${created.status}`);
  check(
    'Mobility Work calls for 1,000 changed parts: 2 (1 minimum alignment + 1 stock write)',
    calls.length === 2,
    calls.join(', '),
  );
  const synced = refs.filter((ref) => mobilityWorkPart(ctx, ref)?.stock === 1).length;
  check('all 1,000 have stock 1 in Mobility Work', synced === 1000, `${synced} of 1000`);
  ctx.out(
    `    1,000 parts: poll, sync and Mobility Work's echo webhooks processed in ${(bulkMs / 1000).toFixed(1)} s`,
  );
}
