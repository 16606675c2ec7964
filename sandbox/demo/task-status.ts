/** mobility-work-task-to-upkeep-work-order-status: a planner works the task; the UpKeep work order follows. */
import { FLOW_ID as STATUS_FLOW } from '../../functions/flows/mobility-work-task-to-upkeep-work-order-status.ts';
import { MACHINES } from '../control.ts';
import { type DemoContext, simulators } from './context.ts';
import { tasksOf } from './downtime-mobility-work-task.ts';

export async function taskStatus(ctx: DemoContext): Promise<void> {
  const { sandbox, check } = ctx;
  const upSim = simulators(ctx).upkeep;
  ctx.section(STATUS_FLOW);
  ctx.step("a planner starts, then completes, the Mobility Work task of MACHINE 1's first downtime");
  const task = tasksOf(ctx, MACHINES.one)[0];
  const key = String(task?.metadata.millwrightKey ?? '');
  const woId = String(
    (await sandbox.state.getMapping('downtime-episode-upkeep-work-order', key)) ?? 'no work order',
  );
  const woStatus = () => upSim.workOrders().find((w) => w.id === woId)?.status;
  await ctx.control.mobilityWorkTask('start', 'millwrightKey', key);
  await sandbox.settle();
  check('the UpKeep work order is inProgress', woStatus() === 'inProgress', woStatus());
  await ctx.control.mobilityWorkTask('complete', 'millwrightKey', key);
  await sandbox.settle();
  check('the UpKeep work order is complete', woStatus() === 'complete', woStatus());
  const notes = upSim.workOrderMessages(woId);
  check('each change left a note on the work order', notes.length === 2, `${notes.length} notes`);
  const completed = sandbox.enqueued.find(
    (e) => e.event.type === 'mobility-work.TaskWasCompleted' && e.queueUrl.includes(STATUS_FLOW),
  );
  if (completed) await sandbox.send(STATUS_FLOW, [completed.event]);
  await sandbox.settle();
  check('a redelivered completion changes nothing', upSim.workOrderMessages(woId).length === 2);
}
