/** machinemetrics-downtime-to-mobility-work-task: a task per downtime episode, even when the answer is lost. */
import { FLOW_ID as TASK_FLOW } from '../../functions/flows/machinemetrics-downtime-to-mobility-work-task.ts';
import { MACHINES, postJson } from '../control.ts';
import { type DemoContext, runsOf, simulators } from './context.ts';

/** Mobility Work tasks made for a MachineMetrics machine. */
export const tasksOf = (ctx: DemoContext, machineId: string) =>
  simulators(ctx)
    .mobilityWork.tasks()
    .filter((t) => t.metadata.machineId === machineId);

export async function downtimeToMobilityWorkTask(ctx: DemoContext): Promise<void> {
  const { check, step } = ctx;
  const { machine, advance } = ctx.control;
  const mwSim = simulators(ctx).mobilityWork;
  ctx.section(TASK_FLOW);
  step('MACHINE 1 (mapped to an UpKeep asset and to Mobility Work equipment EQ-MILL-01) had two downtimes');
  check(
    'one Mobility Work task per downtime episode (2 episodes -> 2 tasks), despite the duplicate deliveries',
    tasksOf(ctx, MACHINES.one).length === 2,
    `found ${tasksOf(ctx, MACHINES.one).length}`,
  );
  const learned = (await runsOf(ctx, TASK_FLOW)).filter((r) =>
    r.message.startsWith('learned Mobility Work task'),
  );
  check('each task id was learned from the TaskWasScheduled webhook (via metadata)', learned.length >= 2);
  check(
    'MACHINE 3 (Mobility Work only) got its task too',
    tasksOf(ctx, MACHINES.three).length === 1,
    `found ${tasksOf(ctx, MACHINES.three).length}`,
  );

  step('Mobility Work creates the task but the answer never arrives (MACHINE 3 down again)');
  await machine(MACHINES.three, 'up');
  await advance(10);
  await postJson(`${mwSim.url}/_sandbox/faults`, {
    match: 'POST /partners/v1/tasks',
    timeoutAfterWrite: true,
    delayMs: 3000,
  });
  await machine(MACHINES.three, 'down');
  await advance(20);
  check('no second task was posted (2 episodes -> 2 tasks)', tasksOf(ctx, MACHINES.three).length === 2);
  const unanswered = (await runsOf(ctx, TASK_FLOW)).some(
    (r) => r.outcome === 'waiting' && r.message.includes('went unanswered'),
  );
  check(
    "the run log says the create went unanswered and waited for Mobility Work's TaskWasScheduled webhook instead of posting again",
    unanswered,
  );
  const second = tasksOf(ctx, MACHINES.three)[1];
  const known = second ? (await runsOf(ctx, TASK_FLOW)).some((r) => r.effects?.taskId === second.id) : false;
  check('its id was still learned from the webhook', known);
}
