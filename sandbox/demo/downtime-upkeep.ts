/** machinemetrics-downtime-to-upkeep-work-order: one downtime episode of MACHINE 1, end to end. */
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { MACHINES, postJson } from '../control.ts';
import { type DemoContext, MINUTE } from './context.ts';

/** The flow's run log (its latest 200 entries). */
export const downtimeRuns = (ctx: DemoContext) => ctx.sandbox.state.listRuns(FLOW_ID, 200);

export async function downtimeToUpkeep(ctx: DemoContext): Promise<void> {
  const { sandbox, clock, check, step } = ctx;
  const { machine, workOrdersFor, assetStatus, advance } = ctx.control;
  ctx.section(FLOW_ID);

  step('MACHINE 1 stops (uncategorized) and stays down for 20 minutes');
  await machine(MACHINES.one, 'down');
  await advance(20);
  let wos = await workOrdersFor('AssetMill01');
  check('exactly one work order for the mapped asset', wos.length === 1, `found ${wos.length}`);
  const wo1 = wos[0];
  check('the title names the machine', wo1?.title.includes('MACHINE 1') ?? false, wo1?.title);
  check(
    'the description names reason, start time and duration',
    (wo1?.description ?? '').includes('Uncategorized') &&
      (wo1?.description ?? '').includes('2026-11-02T08:00'),
    wo1?.description ?? '',
  );
  check('the asset is recorded not-available', (await assetStatus('AssetMill01')) === 'not-available');

  step('the same downtime arrives again: a duplicate delivery and a Workflow webhook');
  const started = sandbox.enqueued.find((e) => e.event.type === 'machinemetrics.downtime.started');
  if (started) await sandbox.send(FLOW_ID, [started.event, started.event]);
  const hook = await postJson(
    `${sandbox.ingressUrl}/webhooks/machinemetrics`,
    {
      event: 'machine.status.changed',
      id: 'delivery-1',
      machineId: MACHINES.one,
      machineName: 'MACHINE 1',
      status: 'DOWN',
      timestamp: clock.now().toISOString(),
      downtimeStartedAt: '2026-11-02T08:00:00.000Z',
      durationMs: 20 * MINUTE,
    },
    { 'x-mm-webhook-secret': ctx.secrets['millwright/machinemetrics']?.webhookSecret ?? '' },
  );
  check('the signed Workflow webhook is accepted (202)', hook.status === 202, `HTTP ${hook.status}`);
  await sandbox.drain();
  wos = await workOrdersFor('AssetMill01');
  check('still exactly one work order', wos.length === 1, `found ${wos.length}`);

  step('the operator categorises the reason as "Chipping Out"');
  await machine(MACHINES.one, 'categorize', { reasonId: '33' });
  await advance(5);
  wos = await workOrdersFor('AssetMill01');
  check(
    'the work order is updated with the reason',
    wos[0]?.title.includes('Chipping Out') ?? false,
    wos[0]?.title,
  );

  step('MACHINE 1 runs again');
  await machine(MACHINES.one, 'up');
  await advance(10);
  wos = await workOrdersFor('AssetMill01');
  check(
    'the work order records the end and total downtime',
    (wos[0]?.description ?? '').includes('Total downtime: 25 min'),
    wos[0]?.description ?? '',
  );
  check('the asset is available again', (await assetStatus('AssetMill01')) === 'available');
  const echoes = (await downtimeRuns(ctx)).filter((r) => r.outcome === 'echo');
  check('our own work-order updates came back as webhooks and were not forwarded', echoes.length >= 1);
}
