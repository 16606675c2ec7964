/**
 * The `/_sandbox/...` control routes (no auth): the state, deliveries and events, settle and reset,
 * and the users' actions on spare parts, tasks and activities.
 */
import { json, type Route, simControl } from '../../../../sandbox/simulators/server.ts';
import { MobilityWorkSimError } from './errors.ts';
import { snapshot } from './state.ts';
import {
  addActivity,
  cancelConsumption,
  cancelTask,
  checkQuantity,
  completeTask,
  consume,
  recount,
  restock,
  startTask,
} from './user-actions.ts';
import { isRecord } from './validation.ts';
import type { MobilityWorkWorld } from './world.ts';
import { settle } from './writes.ts';

const initiatorParam = (value: unknown): number | string | undefined => {
  if (value === undefined || typeof value === 'number' || typeof value === 'string') return value;
  throw new MobilityWorkSimError(400, 'initiator must be a user id or e-mail');
};
const reasonParam = (value: unknown): string | null | undefined => {
  if (value === undefined || value === null || typeof value === 'string') return value;
  throw new MobilityWorkSimError(400, 'reason must be a string or null');
};
const consumeParam = (value: unknown): { externalReference: string; quantity: number }[] | undefined => {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((c) => {
    if (!isRecord(c) || typeof c.externalReference !== 'string') {
      throw new MobilityWorkSimError(400, 'consume items need externalReference and quantity');
    }
    return { externalReference: c.externalReference, quantity: checkQuantity(c.quantity, 1) };
  });
};

type TaskAction = 'start' | 'complete' | 'cancel' | 'activities';
const TASK_ACTIONS: readonly TaskAction[] = ['start', 'complete', 'cancel', 'activities'];
const runTaskAction = (
  world: MobilityWorkWorld,
  taskId: string,
  action: TaskAction,
  body: Record<string, unknown>,
): unknown => {
  const initiator = initiatorParam(body.initiator);
  switch (action) {
    case 'start':
      return startTask(world, taskId, { initiator });
    case 'complete':
      return completeTask(world, taskId, { initiator });
    case 'cancel':
      return cancelTask(world, taskId, { reason: reasonParam(body.reason), initiator });
    case 'activities':
      if (body.comment !== undefined && typeof body.comment !== 'string') {
        throw new MobilityWorkSimError(400, 'comment must be a string');
      }
      return addActivity(world, taskId, {
        comment: body.comment,
        consume: consumeParam(body.consume),
        initiator,
      });
  }
};

export function sandboxControlRoutes(world: MobilityWorkWorld, deps: { reset(): void }): Route[] {
  return [
    { method: 'GET', pattern: '/_sandbox/state', handler: () => json(200, snapshot(world)) },
    {
      method: 'GET',
      pattern: '/_sandbox/deliveries',
      handler: () => json(200, { deliveries: world.deliveries }),
    },
    { method: 'GET', pattern: '/_sandbox/events', handler: () => json(200, { events: world.events }) },
    {
      method: 'POST',
      pattern: '/_sandbox/settle',
      handler: async () => {
        await settle(world);
        return json(200, { settled: true, deliveries: world.deliveries.length });
      },
    },
    {
      method: 'POST',
      pattern: '/_sandbox/reset',
      handler: () => {
        deps.reset();
        return json(200, { reset: true });
      },
    },
    ...(['consume', 'restock', 'recount'] as const).map(
      (action): Route => ({
        method: 'POST',
        pattern: `/_sandbox/spare-parts/:externalReference/${action}`,
        handler: simControl((req, body) => {
          const ref = req.params.externalReference ?? '';
          const initiator = initiatorParam(body.initiator);
          if (action === 'consume') {
            if (body.taskId !== undefined && typeof body.taskId !== 'string') {
              throw new MobilityWorkSimError(400, 'taskId must be a string');
            }
            return consume(world, ref, body.quantity as number, { taskId: body.taskId, initiator });
          }
          return action === 'restock'
            ? restock(world, ref, body.quantity as number, { initiator })
            : recount(world, ref, body.quantity as number, { initiator });
        }),
      }),
    ),
    // Before `/_sandbox/tasks/:taskId/:action`, which would also match.
    {
      method: 'POST',
      pattern: '/_sandbox/tasks/by-metadata/:action',
      handler: simControl((req, body) => {
        const action = req.params.action as TaskAction;
        if (!TASK_ACTIONS.includes(action))
          throw new MobilityWorkSimError(404, `unknown task action ${action}`);
        if (typeof body.key !== 'string' || !('value' in body)) {
          throw new MobilityWorkSimError(400, 'body must be {key, value}');
        }
        const task = world.tasks.find((t) => t.metadata[body.key as string] === body.value);
        if (!task) {
          throw new MobilityWorkSimError(
            404,
            `no task with metadata ${body.key} = ${JSON.stringify(body.value)}`,
          );
        }
        return runTaskAction(world, task.id, action, body);
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/tasks/:taskId/:action',
      handler: simControl((req, body) => {
        const action = req.params.action as TaskAction;
        if (!TASK_ACTIONS.includes(action))
          throw new MobilityWorkSimError(404, `unknown task action ${action}`);
        return runTaskAction(world, req.params.taskId ?? '', action, body);
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/activities/:activityId/cancel-consumption',
      handler: simControl((req) => cancelConsumption(world, req.params.activityId ?? '')),
    },
  ];
}
