/**
 * Mobility Work task started / completed / canceled -> UpKeep work order inProgress / complete /
 * onHold, with a note (a work-order update message).
 *
 * Only tasks that correspond to an UpKeep work order are followed. The correspondence comes from:
 * 1. `metadata.upkeepWorkOrderId` on the task (a task created by another tool that knows it), or
 * 2. `metadata.millwrightKey`: the downtime episode key that Millwright put on the task; the UpKeep
 *    downtime flow recorded the work order it created for that same episode.
 * Each (task, event) acts once; a late "started" never reopens a completed work order. Our status
 * write is marked as our own, so UpKeep's webhook echo of it is not forwarded anywhere.
 */
import * as z from 'zod/mini';
import { MW_EVENT, taskIdOf, taskMetadataOf } from '../connectors/mobility-work/events.ts';
import { mobilityWorkWebhook } from '../connectors/mobility-work/webhook.ts';
import { connectUpKeep, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { once } from '../core/claims.ts';
import { defineFlow, type FlowContext, type FlowEvent, type FlowResult } from '../core/flow.ts';
import { EPISODE_WORK_ORDER_MAPPING } from './shared/downtime.ts';
import { rememberWorkOrderWrite } from './shared/echo.ts';

export const FLOW_ID = 'mobility-work-task-to-upkeep-work-order-status';

const woStatus = z.enum(['open', 'onHold', 'inProgress', 'complete']);

export const configSchema = z.object({
  /** UpKeep status per Mobility Work task event. */
  statuses: z._default(
    z.object({
      started: z._default(woStatus, 'inProgress'),
      completed: z._default(woStatus, 'complete'),
      canceled: z._default(woStatus, 'onHold'),
    }),
    { started: 'inProgress', completed: 'complete', canceled: 'onHold' },
  ),
  /** Add a work-order update message saying what happened in Mobility Work. */
  addNote: z._default(z.boolean(), true),
});
export type TaskStatusFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

type Ctx = FlowContext<TaskStatusFlowConfig, Deps>;

const EVENT_KIND: Record<string, 'started' | 'completed' | 'canceled'> = {
  [MW_EVENT.TaskWasStarted]: 'started',
  [MW_EVENT.TaskWasCompleted]: 'completed',
  [MW_EVENT.TaskWasCanceled]: 'canceled',
};

/** The UpKeep work order this task corresponds to, if any, and how we know. */
export async function correspondingWorkOrder(
  ctx: Pick<Ctx, 'state'>,
  metadata: Record<string, unknown>,
): Promise<{ workOrderId: string; via: string } | undefined> {
  const explicit = metadata.upkeepWorkOrderId;
  if (typeof explicit === 'string' && explicit.length > 0) {
    return { workOrderId: explicit, via: 'metadata.upkeepWorkOrderId' };
  }
  const key = metadata.millwrightKey;
  if (typeof key === 'string') {
    const workOrderId = await ctx.state.getMapping(EPISODE_WORK_ORDER_MAPPING, key);
    if (workOrderId) return { workOrderId, via: `downtime episode ${key}` };
  }
  return undefined;
}

function note(kind: string, event: FlowEvent, taskId: string): string {
  const data = event.data as Record<string, unknown>;
  const by = (data.initiator as { name?: unknown; email?: unknown } | undefined) ?? {};
  const who =
    typeof by.name === 'string' ? ` by ${by.name}` : typeof by.email === 'string' ? ` by ${by.email}` : '';
  const reason = (data.canceled as { reason?: unknown } | undefined)?.reason;
  return `Mobility Work task ${taskId} was ${kind}${who} at ${event.occurredAt}.${typeof reason === 'string' ? ` Reason: ${reason}` : ''} (Millwright)`;
}

async function onTaskEvent(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const kind = EVENT_KIND[event.type];
  const taskId = taskIdOf(event.data);
  if (!kind || !taskId) return { outcome: 'skipped', message: `event ${event.type} names no task` };
  const target = await correspondingWorkOrder(ctx, taskMetadataOf(event.data));
  if (!target) {
    return { outcome: 'skipped', message: `task ${taskId} does not correspond to an UpKeep work order` };
  }
  const status = ctx.config.statuses[kind];
  const upkeep = ctx.deps.upkeep;
  const done = await once(ctx.state, {
    key: `${ctx.flowId}:${taskId}:${kind}`,
    perform: async () => {
      const wo = await upkeep.getWorkOrder(target.workOrderId);
      if (!wo) return { workOrderId: target.workOrderId, outcome: 'missing', from: '' };
      // Out-of-order delivery: a late "started" must not reopen a finished work order.
      if (kind === 'started' && wo.status === 'complete')
        return { workOrderId: wo.id, outcome: 'kept', from: wo.status };
      if (wo.status !== status) {
        const updated = await upkeep.updateWorkOrder(wo.id, { status });
        await rememberWorkOrderWrite(ctx, updated);
      }
      if (ctx.config.addNote) await upkeep.addWorkOrderMessage(wo.id, note(kind, event, taskId));
      return { workOrderId: wo.id, outcome: 'updated', from: wo.status };
    },
  });
  const r = done.result;
  if (done.how === 'duplicate') {
    return {
      outcome: 'duplicate',
      message: `task ${taskId} ${kind}: already applied to work order ${r.workOrderId}`,
    };
  }
  if (r.outcome === 'missing')
    return { outcome: 'skipped', message: `work order ${r.workOrderId} no longer exists` };
  if (r.outcome === 'kept') {
    return {
      outcome: 'skipped',
      message: `work order ${r.workOrderId} is complete; a late "started" does not reopen it`,
    };
  }
  return {
    outcome: 'done',
    message: `task ${taskId} ${kind} -> work order ${r.workOrderId} ${r.from} -> ${status} (via ${target.via})`,
    effects: { workOrderId: r.workOrderId as string, taskId },
  };
}

export const flow = defineFlow<TaskStatusFlowConfig, Deps>({
  id: FLOW_ID,
  description: 'Mobility Work task started/completed/canceled -> UpKeep work order status',
  vendors: ['mobility-work', 'upkeep'],
  config: configSchema,
  triggers: [
    {
      kind: 'webhook',
      receiver: mobilityWorkWebhook,
      events: [MW_EVENT.TaskWasStarted, MW_EVENT.TaskWasCompleted, MW_EVENT.TaskWasCanceled],
    },
  ],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  handle: (event, ctx) => onTaskEvent(event, ctx),
});

export default flow;
