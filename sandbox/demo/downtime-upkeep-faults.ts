/**
 * machinemetrics-downtime-to-upkeep-work-order when things go wrong: UpKeep fails or never answers,
 * a machine has no asset mapping, UpKeep answers with a body the flow cannot use.
 */
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { MACHINES } from '../control.ts';
import { queueDepth } from '../sqs.ts';
import type { DemoContext } from './context.ts';
import { downtimeRuns } from './downtime-upkeep.ts';

/** A 503 retried, a create whose answer is lost, and an unmapped machine. */
export async function upkeepFaults(ctx: DemoContext): Promise<void> {
  const { check, step } = ctx;
  const { machine, workOrdersFor, advance, upkeepFault } = ctx.control;

  step('UpKeep answers 503 once, then succeeds (MACHINE 2 down)');
  await upkeepFault({ match: 'POST /api/v2/work-orders', status: 503, times: 1 });
  await machine(MACHINES.two, 'down');
  await advance(20);
  let wos = await workOrdersFor('AssetLathe2');
  check('exactly one work order after the retried 503', wos.length === 1, `found ${wos.length}`);

  step('UpKeep creates the work order but the answer never arrives (MACHINE 1 down again)');
  await upkeepFault({ match: 'POST /api/v2/work-orders', timeoutAfterWrite: true, delayMs: 3000, times: 1 });
  await machine(MACHINES.one, 'down');
  await advance(20);
  wos = await workOrdersFor('AssetMill01');
  check('one work order per episode (2 episodes -> 2 work orders)', wos.length === 2, `found ${wos.length}`);
  const found = (await downtimeRuns(ctx)).some((r) => r.message.includes('earlier attempt'));
  check('the retry found the work order made by the timed-out attempt', found);

  step('MACHINE 3 (no asset mapping) stops');
  await machine(MACHINES.three, 'down');
  await advance(20);
  const skipped = (await downtimeRuns(ctx)).filter(
    (r) => r.outcome === 'skipped' && r.message.includes('no UpKeep asset mapping'),
  );
  check('it is skipped with a run-log entry, not an error loop', skipped.length >= 1);
  check(
    'its events did not fail',
    !(await downtimeRuns(ctx)).some((r) => r.outcome === 'failed' && r.message.includes(MACHINES.three)),
  );
}

/** A 201 without the work order id: retried, dead-lettered, and named in the run log. */
export async function upkeepDeadLetter(ctx: DemoContext): Promise<void> {
  const { sandbox, check } = ctx;
  const { machine, advance, upkeepFault } = ctx.control;
  ctx.step('UpKeep answers 201 with a body missing the work order id (MACHINE 2 down again)');
  await machine(MACHINES.two, 'up');
  await advance(10);
  await upkeepFault({
    match: 'POST /api/v2/work-orders',
    status: 201,
    body: { success: true, result: { title: 'no id here' } },
    times: 10,
  });
  await machine(MACHINES.two, 'down');
  await advance(20);
  const flow = sandbox.flows.get(FLOW_ID);
  const dlq = flow ? await queueDepth(sandbox.sqs.client, flow.queues.dlqUrl) : { visible: 0, inFlight: 0 };
  check('the event retried and landed in the DLQ', dlq.visible === 1, `DLQ depth ${dlq.visible}`);
  const dead = (await downtimeRuns(ctx)).find((r) => r.outcome === 'dead-lettered');
  check(
    'the run log names the unexpected field',
    dead?.message.includes('result.id') ?? false,
    dead?.message,
  );
  await ctx.control.clearUpkeepFaults();
}
