/**
 * Mobility Work task started / completed / canceled -> UpKeep work order inProgress / complete /
 * onHold, with a note (a work-order update message).
 *
 * Only tasks that correspond to an UpKeep work order are followed. The correspondence comes from:
 * 1. `metadata.upkeepWorkOrderId` on the task (a task created by another tool that knows it), or
 * 2. `metadata.millwrightKey`: the downtime episode key that Millwright put on the task; the UpKeep
 *    downtime flow records the work order it created for that same episode (or that it creates none,
 *    for a machine it has no asset for). Until it has recorded either, the event WAITS: it throws
 *    NotReadyError, so the worker retries it later (bounded, then parks it visibly). An event is
 *    never skipped for arriving before the work order it depends on.
 * A task with neither can never correspond: skipped.
 *
 * Order: per task, by the event's own time (occurredAt), through the state table's order guard
 * (`advanceOrder`): one conditional write made BEFORE the work order is touched records the event as
 * the task's latest, so an older event (a "started" retried after its "completed" was applied, a
 * replay, a vendor redelivery) is `stale`, naming the later event, and changes nothing, even while
 * that later event is still being applied. The reverse (a later event recorded and applied while an
 * older one, already past its guard, is between its read and its write: two workers at once) is
 * caught after the older one's write: the guard is asked again and the later event's status put
 * back (`restoreLaterStatus`). Millwright never moves a complete work order back: a "started" or
 * "canceled" that finds it complete is `stale` too.
 * An event with no time of its own (the doc shows none on started and canceled; only completed has
 * `doneAt`) is ordered by when it came, which a resend moves hours later: it is recognised by its
 * id (a resend is a duplicate), it never overrides an event that has a time (`stale`, saying so),
 * and an event that has a time always overrides it. Two timeless events are ordered by arrival.
 *
 * Writes: the status change is a PATCH of an absolute value (safe to repeat), marked as our own so
 * UpKeep's webhook echo of it is not forwarded. The note carries a marker
 * (`[millwright:<flow>:<task>:<event>]`) and is added with `addNoteOnce` (shared/notes.ts): a retry
 * after an unanswered note looks for the marker first; when UpKeep cannot tell, the event is parked.
 *
 * | task event          | correspondence / task state                 | UpKeep work order  | action                         | outcome   |
 * |---------------------|---------------------------------------------|--------------------|--------------------------------|-----------|
 * | any                 | no millwrightKey, no upkeepWorkOrderId       | -                  | none                           | skipped   |
 * | any                 | key, UpKeep flow recorded "no work order"    | -                  | none                           | skipped   |
 * | any                 | key, work order not recorded yet             | -                  | NotReadyError: wait and retry  | -         |
 * | any                 | older than the task's last applied event     | -                  | none                           | stale     |
 * | no time of its own  | the task's latest has one                    | -                  | none                           | stale     |
 * | no time of its own  | already applied (same id, a resend)          | -                  | none                           | duplicate |
 * | same task and event | already applied                              | -                  | none                           | duplicate |
 * | same kind, later    | (task started again after a cancel)          | -                  | as its kind, own claim + note  | done      |
 * | any                 | -                                            | gone (404)         | none                           | skipped   |
 * | any                 | -                                            | deleted after read | what landed before the 404     | skipped   |
 * | started             | -                                            | open / onHold      | -> inProgress, note            | done      |
 * | started             | -                                            | inProgress         | note                           | done      |
 * | started / canceled  | -                                            | complete           | none (never reopened)          | stale     |
 * | completed           | -                                            | not complete       | -> complete, note              | done      |
 * | completed           | -                                            | complete           | note                           | done      |
 * | canceled            | -                                            | open / inProgress  | -> onHold, note                | done      |
 * (statuses per event are configurable: `statuses`; notes can be turned off: `addNote`.)
 */
import * as z from 'zod/mini';
import { MW_EVENT, type MwTaskRef, taskRefOf } from '../connectors/mobility-work/events.ts';
import { mobilityWorkWebhook, mwEventOwnTimeOf } from '../connectors/mobility-work/webhook.ts';
import { connectUpKeep, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { once } from '../core/claims.ts';
import { NotReadyError } from '../core/errors.ts';
import type { TypedEvent } from '../core/events.ts';
import { defineFlow, type FlowContext, type FlowResult } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import type { OrderMark } from '../core/state.ts';
import { EPISODE_WITHOUT_WORK_ORDER, EPISODE_WORK_ORDER_MAPPING } from './shared/downtime.ts';
import { writeWorkOrder } from './shared/echo.ts';
import { isGone } from './shared/gone.ts';
import { addNoteOnce, noteMarker } from './shared/notes.ts';

export const FLOW_ID = 'mobility-work-task-to-upkeep-work-order-status';
/** The flow that records which UpKeep work order a downtime episode got (what a task event waits for). */
const WORK_ORDER_FLOW = 'machinemetrics-downtime-to-upkeep-work-order';

const woStatus = lazySchema(() => z.enum(['open', 'onHold', 'inProgress', 'complete']));

export const configSchema = lazySchema(() =>
  z.object({
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
  }),
);
export type TaskStatusFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

type Ctx = FlowContext<TaskStatusFlowConfig, Deps>;
type Kind = 'started' | 'completed' | 'canceled';

/** What happened to the task, read from its event's typed data by the handler of its type. */
interface TaskChange {
  kind: Kind;
  task: MwTaskRef;
  /** Canceled tasks: the reason given, if any. */
  reason?: string | null | undefined;
}

export type Correspondence =
  | { status: 'found'; workOrderId: string; via: string }
  | { status: 'none'; why: string };

/**
 * The UpKeep work order this task corresponds to, `none` when it never can, and NotReadyError when it
 * may but is not known yet (the UpKeep downtime flow has not recorded the episode's work order).
 */
export async function correspondingWorkOrder(
  ctx: Pick<Ctx, 'state'>,
  metadata: Record<string, unknown>,
): Promise<Correspondence> {
  const explicit = metadata.upkeepWorkOrderId;
  if (typeof explicit === 'string' && explicit.length > 0) {
    return { status: 'found', workOrderId: explicit, via: 'metadata.upkeepWorkOrderId' };
  }
  const key = metadata.millwrightKey;
  if (typeof key !== 'string' || key.length === 0) {
    return { status: 'none', why: 'it has no millwrightKey or upkeepWorkOrderId' };
  }
  const workOrderId = await ctx.state.getMapping(EPISODE_WORK_ORDER_MAPPING, key);
  if (workOrderId) return { status: 'found', workOrderId, via: `downtime episode ${key}` };
  const without = await ctx.state.getMapping(EPISODE_WITHOUT_WORK_ORDER, key);
  if (without !== undefined)
    return { status: 'none', why: `downtime episode ${key} has no UpKeep work order: ${without}` };
  throw new NotReadyError(
    `the UpKeep work order of downtime episode ${key} (not recorded yet by ${WORK_ORDER_FLOW})`,
  );
}

function note(change: TaskChange, occurredAt: string, taskId: string, marker: string): string {
  const { kind, task, reason } = change;
  const who = task.by !== undefined ? ` by ${task.by}` : '';
  return `Mobility Work task ${taskId} was ${kind}${who} at ${occurredAt}.${typeof reason === 'string' ? ` Reason: ${reason}` : ''} (Millwright) ${marker}`;
}

/**
 * MW_TASK_KIND_REPEATS: the doc does not say whether a task is started (or canceled, completed) at
 * most once. We assume it may be again (a task restarted after a cancel): an event of a kind whose
 * own time differs from the first one of that kind applied is a new occurrence, with its own claim
 * and note, not a duplicate; one at the same time under a new id (a redelivery) is a duplicate.
 * An event with no time of its own (the doc shows none on started and canceled) is an occurrence by
 * its id: its receive time changes when MW resends it, its `_idempotencyKey` does not.
 */
export const MW_TASK_KIND_REPEATS = true;

const KINDS: readonly string[] = ['started', 'completed', 'canceled'];

/**
 * Two workers at once: a later event of the task may have been recorded (and applied) between this
 * event's read of the work order and its status write, which then undid it. Asked again after the
 * write: if a later event is now the task's latest, its status is put back (absolute, so a later
 * event still under way writing it too is harmless), never reopening a complete work order. A later
 * event recorded after this check reads the work order after this write, so it needs no help.
 */
async function restoreLaterStatus(ctx: Ctx, workOrderId: string, taskId: string, mark: OrderMark) {
  const order = await ctx.state.advanceOrder(`${ctx.flowId}:task`, taskId, mark);
  if (order.status !== 'older' || !KINDS.includes(order.latest.label)) return;
  const later = ctx.config.statuses[order.latest.label as Kind];
  const wo = await ctx.deps.upkeep.getWorkOrder(workOrderId);
  if (!wo || wo.status === later || (wo.status === 'complete' && later !== 'complete')) return;
  ctx.log.info(
    `task ${taskId}: its ${order.latest.label} (event ${order.latest.eventId}) was applied while an older event wrote work order ${workOrderId}; status ${later} put back`,
  );
  await writeWorkOrder(ctx, workOrderId, () =>
    ctx.deps.upkeep.updateWorkOrder(workOrderId, { status: later }),
  );
}

/** Has this very event (by id) already been applied? Asked for events with no time of their own. */
async function appliedBefore(ctx: Ctx, taskId: string, kind: Kind, eventId: string): Promise<boolean> {
  const first = await ctx.state.getClaim(`${ctx.flowId}:${taskId}:${kind}`);
  if (first?.state === 'done' && first.result?.eventId === eventId) return true;
  const again = await ctx.state.getClaim(`${ctx.flowId}:${taskId}:${kind}@${eventId}`);
  return again?.state === 'done';
}

/** What the run log says of a work order a person deleted (before our read, or between it and our write). */
const goneMessage = (r: { workOrderId?: unknown; outcome?: unknown }) =>
  r.outcome === 'deleted'
    ? `work order ${r.workOrderId} was deleted in UpKeep while this event was applied (UpKeep answered 404); nothing more written`
    : `work order ${r.workOrderId} no longer exists`;

async function onTaskEvent(event: TypedEvent, ctx: Ctx, change: TaskChange): Promise<FlowResult> {
  const { kind } = change;
  const taskId = change.task.id;
  if (!taskId) return { outcome: 'skipped', message: `event ${event.type} names no task` };
  const target = await correspondingWorkOrder(ctx, change.task.metadata);
  if (target.status === 'none') {
    return {
      outcome: 'skipped',
      message: `task ${taskId} does not correspond to an UpKeep work order (${target.why})`,
    };
  }
  // No time of its own: occurredAt is when this delivery came, and a resend (same id, hours later)
  // would look new. It is recognised by its id, and never overrides an event that has a time.
  const timed = mwEventOwnTimeOf(event.data) !== undefined;
  if (!timed && (await appliedBefore(ctx, taskId, kind, event.id))) {
    return {
      outcome: 'duplicate',
      message: `task ${taskId} ${kind}: this event (${event.id}) was already applied; a redelivery`,
    };
  }
  // Before the work order is touched: a later event of the task, applied or under way, wins.
  const atMs = Date.parse(event.occurredAt);
  const mark = Number.isNaN(atMs) ? undefined : { atMs, eventId: event.id, label: kind, timed };
  if (mark) {
    const order = await ctx.state.advanceOrder(`${ctx.flowId}:task`, taskId, mark);
    if (order.status === 'older') {
      const { latest } = order;
      if (!timed && latest.atMs <= atMs) {
        return {
          outcome: 'stale',
          message: `task ${taskId} ${kind} has no time of its own (received ${event.occurredAt}), so it cannot be ordered against its ${latest.label} at ${new Date(latest.atMs).toISOString()} (event ${latest.eventId}), which has one: it may be a late resend, so it does not override it; nothing to do`,
        };
      }
      return {
        outcome: 'stale',
        message: `task ${taskId} ${kind} at ${event.occurredAt} is older than its ${latest.label} at ${new Date(latest.atMs).toISOString()} (event ${latest.eventId}), which won; nothing to do`,
      };
    }
  }
  const status = ctx.config.statuses[kind];
  const upkeep = ctx.deps.upkeep;
  // The first event of a kind is keyed by the kind alone (a redelivery under a new id is a duplicate);
  // another event of that kind at another time (MW_TASK_KIND_REPEATS) gets its own claim and note.
  const apply = (occurrence?: string) => {
    const eventId = event.id;
    const suffix = occurrence === undefined ? '' : `@${occurrence}`;
    return once(ctx.state, {
      key: `${ctx.flowId}:${taskId}:${kind}${suffix}`,
      perform: async () => {
        const at = mark ? String(mark.atMs) : '';
        const wo = await upkeep.getWorkOrder(target.workOrderId);
        if (!wo)
          return { workOrderId: target.workOrderId, outcome: 'missing', from: '', note: 'none', at, eventId };
        // Out of order or after the fact: Millwright never moves a complete work order back.
        if (wo.status === 'complete' && status !== 'complete')
          return { workOrderId: wo.id, outcome: 'kept', from: wo.status, note: 'none', at, eventId };
        let added = 'none';
        try {
          if (wo.status !== status) {
            await writeWorkOrder(ctx, wo.id, () => upkeep.updateWorkOrder(wo.id, { status }));
            if (mark) await restoreLaterStatus(ctx, wo.id, taskId, mark);
          }
          if (ctx.config.addNote) {
            const marker = noteMarker(FLOW_ID, taskId, `${kind}${suffix}`);
            added = await addNoteOnce(ctx, upkeep, {
              key: `${ctx.flowId}:note:${taskId}:${kind}${suffix}`,
              workOrderId: wo.id,
              text: note(change, event.occurredAt, taskId, marker),
              marker,
            });
          }
        } catch (error) {
          // A person deleted it after our read: a replay cannot bring it back, so this ends here.
          if (!isGone(error)) throw error;
          return { workOrderId: wo.id, outcome: 'deleted', from: wo.status, note: added, at, eventId };
        }
        return { workOrderId: wo.id, outcome: 'updated', from: wo.status, note: added, at, eventId };
      },
    });
  };
  let done = await apply();
  // Claims recorded before `at` was kept have none: taken as this very event.
  const firstAt = done.result.at;
  const another = done.result.eventId !== event.id;
  if (MW_TASK_KIND_REPEATS && done.how === 'duplicate' && another) {
    if (!timed) done = await apply(event.id);
    else if (mark && firstAt && firstAt !== String(mark.atMs)) done = await apply(String(mark.atMs));
  }
  const r = done.result;
  if (done.how === 'duplicate') {
    return {
      outcome: 'duplicate',
      message: `task ${taskId} ${kind}: already ${r.outcome === 'missing' || r.outcome === 'deleted' ? `handled (${goneMessage(r)})` : `applied to work order ${r.workOrderId}`}`,
    };
  }
  if (r.outcome === 'missing' || r.outcome === 'deleted')
    return { outcome: 'skipped', message: goneMessage(r) };
  if (r.outcome === 'kept') {
    return {
      outcome: 'stale',
      message: `work order ${r.workOrderId} is complete; a late "${kind}" does not reopen it`,
    };
  }
  return {
    outcome: 'done',
    message: `task ${taskId} ${kind} -> work order ${r.workOrderId} ${r.from} -> ${status} (via ${target.via})${r.note === 'found' ? '; the note an earlier attempt added was found, not added again' : ''}`,
    effects: { workOrderId: r.workOrderId as string, taskId },
  };
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'Mobility Work task started/completed/canceled -> UpKeep work order status',
  vendors: ['mobility-work', 'upkeep'],
  config: configSchema,
  triggers: [{ kind: 'webhook', receiver: mobilityWorkWebhook }],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  on: {
    [MW_EVENT.TaskWasStarted]: (event, ctx) =>
      onTaskEvent(event, ctx, { kind: 'started', task: taskRefOf(event.data) }),
    [MW_EVENT.TaskWasCompleted]: (event, ctx) =>
      onTaskEvent(event, ctx, { kind: 'completed', task: taskRefOf(event.data) }),
    [MW_EVENT.TaskWasCanceled]: (event, ctx) =>
      onTaskEvent(event, ctx, {
        kind: 'canceled',
        task: taskRefOf(event.data),
        reason: event.data.canceled?.reason,
      }),
  },
});

export default flow;
