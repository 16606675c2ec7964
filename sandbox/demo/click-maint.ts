/**
 * The Click Maint flows: downtime work orders (machinemetrics-downtime-to-click-maint-work-order) and
 * low parts to Mobility Work (click-maint-part-low-to-mobility-work-stock), then a backlog of 1,000
 * parts drained at the rate limit.
 */
import { FLOW_ID as CM_PART_FLOW } from '../../functions/flows/click-maint-part-low-to-mobility-work-stock.ts';
import { FLOW_ID as CM_DOWNTIME_FLOW } from '../../functions/flows/machinemetrics-downtime-to-click-maint-work-order.ts';
import { type DemoContext, MINUTE, runsOf, simulators } from './context.ts';
import { createMobilityWorkSpareParts, mobilityWorkPart } from './lookups.ts';

/** Click Maint's rate window in the demo: 10 s instead of 300 s (time compressed 30x). */
export const CLICK_MAINT_WINDOW_SECONDS = 10;

export async function clickMaint(ctx: DemoContext): Promise<void> {
  const { check, step } = ctx;
  const cm = simulators(ctx).clickMaint;
  ctx.section(CM_DOWNTIME_FLOW);
  step('MACHINE 2 (mapped to Click Maint asset 46 "Lathe 02") had downtimes earlier in this demo');
  const lathe = cm.workOrders(1).filter((w) => w.asset_id === 46);
  check(
    'one Click Maint work order per episode',
    lathe.length >= 1 && new Set(lathe.map((w) => w.title)).size === lathe.length,
    `${lathe.length} work orders`,
  );
  check(
    'it is reactive and high priority',
    lathe.every((w) => w.type === 'reactive' && w.priority === 'high'),
  );
  const completed = lathe.filter((w) => w.status_id === 5);
  check('the machine ran again: its work order is completed (onRecovery "complete")', completed.length >= 1);

  ctx.section(CM_PART_FLOW);
  step('Click Maint parts at or below their minimum reach Mobility Work; non-stock parts are skipped');
  const cmRuns = await runsOf(ctx, CM_PART_FLOW);
  check(
    'the low seeded part was written to Mobility Work',
    cmRuns.some((r) => r.outcome === 'done'),
  );
  check(
    'the non-stock part was skipped',
    cmRuns.some((r) => r.message.includes('non-stock part(s) skipped')),
  );
  await clickMaintBacklog(ctx);
}

/** Wall time between the first and the last Click Maint request seen while `run` runs. */
async function timeRequests(ctx: DemoContext, run: () => Promise<void>): Promise<number> {
  const cm = simulators(ctx).clickMaint;
  let first = 0;
  let last = 0;
  let seen = cm.stats().requests;
  const watch = setInterval(() => {
    const n = cm.stats().requests;
    if (n > seen) {
      if (first === 0) first = performance.now();
      last = performance.now();
      seen = n;
    }
  }, 5);
  try {
    await run();
  } finally {
    clearInterval(watch);
  }
  return (last - first) / 1000;
}

async function clickMaintBacklog(ctx: DemoContext): Promise<void> {
  const { sandbox, check } = ctx;
  const { clickMaint: cm, mobilityWork } = simulators(ctx);
  ctx.step('a backlog: 1,000 Click Maint parts fall below their minimum at once');
  const refs = Array.from({ length: 1000 }, (_, i) => `CMB-${String(i).padStart(4, '0')}`);
  const backlog = await createMobilityWorkSpareParts(ctx, refs, 'Backlog part');
  check('backlog parts created in Mobility Work (202)', backlog.status === 202, `HTTP ${backlog.status}`);
  await mobilityWork.settle();
  cm.addParts(
    1,
    refs.map((ref) => ({ name: `Backlog part ${ref}`, number: ref, on_hand_qty: 2, min_qty: 5 })),
  );
  const before = cm.stats();
  const seconds = await timeRequests(ctx, async () => {
    sandbox.clock.advance(5 * MINUTE);
    await sandbox.tick();
    await sandbox.settle({ timeoutMs: 300_000 });
  });
  const after = cm.stats();
  const requests = after.requests - before.requests;
  const allowed = after.rateLimit.limit / after.rateLimit.windowSeconds;
  const share = requests > 1 && seconds > 0 ? (requests - 1) / seconds / allowed : 0;
  const synced = refs.filter((ref) => mobilityWorkPart(ctx, ref)?.stock === 2).length;
  const rateLimited = after.rateLimited - before.rateLimited;
  ctx.out(
    `    ${requests} Click Maint requests in ${seconds.toFixed(1)} s = ${((requests - 1) / seconds).toFixed(1)}/s; allowed ${allowed}/s (300 per 5 min, time compressed ${300 / CLICK_MAINT_WINDOW_SECONDS}x): ${(share * 100).toFixed(0)}% of the allowed rate; ${rateLimited} x 429; at most ${after.maxAcceptedInWindow} requests in one window`,
  );
  check('all 1,000 parts reached Mobility Work', synced === 1000, `${synced} of 1000`);
  check('never more than the limit in any window', after.maxAcceptedInWindow <= after.rateLimit.limit);
  check('the backlog drained at >= 80% of the allowed rate', share >= 0.8, `${(share * 100).toFixed(0)}%`);
  check('429s stayed rare (<= 2)', rateLimited <= 2, `${rateLimited}`);
}
