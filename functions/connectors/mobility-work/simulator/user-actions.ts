/**
 * What the network's users do (the control API and the simulator's methods): consume, restock and
 * recount spare parts, start, complete and cancel tasks, add activities (consuming parts) and cancel
 * an activity's consumptions. Each emits the webhooks the real action would.
 */
import { randomUUID } from 'node:crypto';
import { MobilityWorkSimError } from './errors.ts';
import { MW_SIM_USERS } from './seed.ts';
import { consumeStock, emitStockEvent, restockStock, setStock } from './stock.ts';
import { taskContext } from './tasks.ts';
import type {
  MobilityWorkSimulator,
  MwSimActivity,
  MwSimSparePart,
  MwSimTask,
  MwSimTaskState,
  MwSimUser,
} from './types.ts';
import { emit, partRef, userRef } from './webhooks.ts';
import { logTo, type MobilityWorkWorld, now } from './world.ts';

/** A simulator method, taking the world first. */
type Action<K extends keyof MobilityWorkSimulator> = MobilityWorkSimulator[K] extends (
  ...args: infer A
) => infer R
  ? (world: MobilityWorkWorld, ...args: A) => R
  : never;

function initiatorOf(value: number | string | undefined, fallback: MwSimUser): MwSimUser {
  if (value === undefined) return fallback;
  const user = MW_SIM_USERS.find((u) => (typeof value === 'number' ? u.id === value : u.email === value));
  if (!user) throw new MobilityWorkSimError(400, `unknown user ${String(value)}`);
  return user;
}

const defaultUser = MW_SIM_USERS[0] as MwSimUser;

function partFor(world: MobilityWorkWorld, externalReference: string): MwSimSparePart {
  const part = world.spareParts.find((p) => p.externalReference === externalReference);
  if (!part) throw new MobilityWorkSimError(404, `unknown spare part ${externalReference}`);
  return part;
}

export function checkQuantity(quantity: unknown, min: number): number {
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < min) {
    throw new MobilityWorkSimError(400, `quantity must be an integer >= ${min}`);
  }
  return quantity;
}

function taskFor(world: MobilityWorkWorld, taskId: string): MwSimTask {
  const task = world.tasks.find((t) => t.id === taskId);
  if (!task) throw new MobilityWorkSimError(404, `unknown task ${taskId}`);
  return task;
}

function transition(task: MwSimTask, from: MwSimTaskState[], to: MwSimTaskState): void {
  if (!from.includes(task.state)) {
    throw new MobilityWorkSimError(409, `task ${task.id} is ${task.state}, cannot become ${to}`);
  }
  task.state = to;
}

export const consume: Action<'consume'> = (world, externalReference, quantity, opts = {}) => {
  const part = partFor(world, externalReference);
  checkQuantity(quantity, 1);
  if (quantity > part.stock) {
    throw new MobilityWorkSimError(409, `cannot consume ${quantity}: ${externalReference} has ${part.stock}`);
  }
  consumeStock(world, part, quantity, initiatorOf(opts.initiator, defaultUser), opts.taskId ?? null);
  return structuredClone(part);
};

export const restock: Action<'restock'> = (world, externalReference, quantity, opts = {}) => {
  const part = partFor(world, externalReference);
  restockStock(world, part, checkQuantity(quantity, 1), initiatorOf(opts.initiator, defaultUser));
  return structuredClone(part);
};

export const recount: Action<'recount'> = (world, externalReference, quantity, opts = {}) => {
  const part = partFor(world, externalReference);
  setStock(world, part, checkQuantity(quantity, 0), initiatorOf(opts.initiator, defaultUser), true);
  return structuredClone(part);
};

export const startTask: Action<'startTask'> = (world, taskId) => {
  const task = taskFor(world, taskId);
  transition(task, ['scheduled'], 'started');
  task.startedAt = now(world);
  emit(world, 'TaskWasStarted', task.id, {
    taskId: task.id,
    started: { at: task.startedAt },
    ...taskContext(world, task),
  });
  return structuredClone(task);
};

export const completeTask: Action<'completeTask'> = (world, taskId, opts = {}) => {
  const task = taskFor(world, taskId);
  const initiator = initiatorOf(opts.initiator, task.assignees[0] ?? defaultUser);
  transition(task, ['scheduled', 'started'], 'completed');
  task.doneAt = now(world);
  emit(world, 'TaskWasCompleted', task.id, {
    legacyId: task.legacyId,
    id: task.id,
    doneAt: task.doneAt,
    initiator: userRef(initiator),
    ...taskContext(world, task),
  });
  return structuredClone(task);
};

export const cancelTask: Action<'cancelTask'> = (world, taskId, opts = {}) => {
  const task = taskFor(world, taskId);
  initiatorOf(opts.initiator, defaultUser);
  transition(task, ['scheduled', 'started'], 'canceled');
  task.canceledAt = now(world);
  task.cancelReason = opts.reason ?? null;
  emit(world, 'TaskWasCanceled', task.id, {
    taskId: task.id,
    canceled: { at: task.canceledAt, reason: task.cancelReason },
    ...taskContext(world, task),
  });
  return structuredClone(task);
};

export const findTaskByMetadata: Action<'findTaskByMetadata'> = (world, key, value) => {
  const task = world.tasks.find((t) => t.metadata[key] === value);
  return task ? structuredClone(task) : undefined;
};

export const addActivity: Action<'addActivity'> = (world, taskId, opts = {}) => {
  const task = taskFor(world, taskId);
  if (task.state === 'canceled') throw new MobilityWorkSimError(409, `task ${task.id} is canceled`);
  const initiator = initiatorOf(opts.initiator, defaultUser);
  const wanted = new Map<MwSimSparePart, number>();
  for (const c of opts.consume ?? []) {
    const part = partFor(world, c.externalReference);
    wanted.set(part, (wanted.get(part) ?? 0) + checkQuantity(c.quantity, 1));
  }
  for (const [part, quantity] of wanted) {
    if (quantity > part.stock) {
      throw new MobilityWorkSimError(
        409,
        `cannot consume ${quantity}: ${part.externalReference} has ${part.stock}`,
      );
    }
  }
  const activity: MwSimActivity = {
    id: randomUUID(),
    taskId: task.id,
    comment: opts.comment ?? null,
    consumptions: [],
    createdAt: now(world),
  };
  logTo(world, world.activities, activity);
  emit(world, 'ActivityWasAddedOnTask', task.id, {
    _type: 'ActivityWasAddedOnTaskWebhook',
    _sentAt: activity.createdAt,
    _metadata: [],
    emittedAt: activity.createdAt,
    task: { id: task.id },
    equipment: { id: task.equipment.id },
    activity: { id: activity.id, comment: activity.comment },
    requiredSpareParts: [],
  });
  for (const c of opts.consume ?? []) {
    const part = partFor(world, c.externalReference);
    consumeStock(world, part, c.quantity, initiator, task.id);
    activity.consumptions.push({ sparePartId: part.id, quantity: c.quantity, canceled: false });
  }
  return structuredClone(activity);
};

export const cancelConsumption: Action<'cancelConsumption'> = (world, activityId) => {
  const activity = world.activities.find((a) => a.id === activityId);
  if (!activity) throw new MobilityWorkSimError(404, `unknown activity ${activityId}`);
  const open = activity.consumptions.filter((c) => !c.canceled);
  if (open.length === 0)
    throw new MobilityWorkSimError(409, `activity ${activityId} has no consumption to cancel`);
  for (const consumption of open) {
    consumption.canceled = true;
    const part = world.spareParts.find((p) => p.id === consumption.sparePartId);
    if (!part) continue;
    part.stock += consumption.quantity;
    emitStockEvent(world, 'SparePartConsumptionWasCanceled', part, {
      task: { id: activity.taskId },
      sparePart: partRef(part),
      activity: { id: activity.id },
      location: { name: part.location },
    });
  }
  return structuredClone(activity);
};
