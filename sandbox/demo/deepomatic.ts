/**
 * upkeep-work-order-to-deepomatic-validation and deepomatic-validation-to-upkeep-work-order: an UpKeep
 * work order that needs photo validation gets one Deepomatic work order, and its outcome comes back.
 */
import { FLOW_ID as DM_RESULT_FLOW } from '../../functions/flows/deepomatic-validation-to-upkeep-work-order.ts';
import { FLOW_ID as DM_REQUEST_FLOW } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { postJson } from '../control.ts';
import { type DemoContext, simulators } from './context.ts';

/** UpKeep's API as a user: create and edit work orders with a session token. */
async function upkeepUser(ctx: DemoContext) {
  const upSim = simulators(ctx).upkeep;
  const secret = ctx.secrets['millwright/upkeep'] ?? {};
  const session = await postJson(`${upSim.baseUrl}/auth`, { email: secret.email, password: secret.password });
  const token = ((await session.json()) as { result: { sessionToken: string } }).result.sessionToken;
  return {
    create: async (body: Record<string, unknown>) =>
      (
        (await (
          await postJson(`${upSim.baseUrl}/work-orders/`, body, { 'session-token': token })
        ).json()) as {
          result: { id: string };
        }
      ).result.id,
    edit: (id: string, body: Record<string, unknown>) =>
      fetch(`${upSim.baseUrl}/work-orders/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'session-token': token },
        body: JSON.stringify(body),
      }),
  };
}

export async function deepomatic(ctx: DemoContext): Promise<void> {
  const { sandbox, check, step } = ctx;
  const { advance } = ctx.control;
  const { upkeep: upSim, deepomatic: dm } = simulators(ctx);
  ctx.section(`${DM_REQUEST_FLOW} and ${DM_RESULT_FLOW}`);
  const user = await upkeepUser(ctx);
  const dmFor = (woId: string) => dm.workOrders().filter((w) => w.name === `upkeep-${woId}`);
  const woStatus = (id: string) => upSim.workOrders().find((w) => w.id === id)?.status;

  step('an UpKeep work order in the "Photo validation" category is created, then edited');
  const woPass = await user.create({
    title: 'Replace hydraulic filter on Mill 01',
    category: 'Photo validation',
  });
  await sandbox.settle();
  await user.edit(woPass, { description: 'Take a photo of the nameplate too' });
  await sandbox.settle();
  check(
    'exactly one Deepomatic work order, named after the UpKeep id',
    dmFor(woPass).length === 1,
    `${dmFor(woPass).length}`,
  );
  const other = await user.create({ title: 'Lubricate conveyor', category: 'Lubrication' });
  await sandbox.settle();
  check('a work order without the category or tag gets none', dmFor(other).length === 0);

  step('Deepomatic creates the work order but the answer never arrives (tag #photo-check)');
  await postJson(`${dm.url}/_sandbox/faults`, {
    match: 'POST /v0.2/work-orders',
    timeoutAfterWrite: true,
    delayMs: 3000,
  });
  const woFail = await user.create({ title: 'Repaint guard rail #photo-check' });
  await sandbox.settle();
  await user.edit(woFail, { priority: 3 });
  await sandbox.settle();
  check(
    'still one Deepomatic work order for it (not resent)',
    dmFor(woFail).length === 1,
    `${dmFor(woFail).length}`,
  );

  step('the field engineer takes the photos: progress advances; one validation passes, one fails');
  await advance(5);
  check(
    'in progress: the UpKeep work order is not touched yet',
    woStatus(woPass) === 'open',
    woStatus(woPass),
  );
  dm.setOutcome(`upkeep-${woPass}`, 'passed', { review: true });
  await advance(5);
  check('validation passed -> UpKeep work order complete', woStatus(woPass) === 'complete', woStatus(woPass));
  const note = upSim.workOrderMessages(woPass).at(-1)?.text ?? '';
  check(
    'with a note that summarises the result',
    note.includes('PASSED') && note.includes('equipment_after_intervention'),
    note,
  );
  const manual = await user.create({ title: 'Check belt tension', category: 'Photo validation' });
  await sandbox.settle();
  dm.setOutcome(`upkeep-${manual}`, 'failed', { review: false });
  await advance(5);
  check('validation failed -> UpKeep work order onHold', woStatus(manual) === 'onHold', woStatus(manual));
  const followed = await sandbox.state.listMembers('deepomatic-open-work-orders');
  check(
    'concluded Deepomatic work orders are no longer followed',
    !followed.some((m) => dmFor(woPass).some((w) => w.id === m.id)),
  );
}
