/**
 * Deepomatic validation -> UpKeep work order.
 *
 * Deepomatic sends nothing (no webhooks), so a poller follows the open Deepomatic work orders
 * (the set the validation-request flow fills) and reports each change. When validation is
 * complete by the configured rules (progress score threshold, and optionally a back-office review
 * date), the UpKeep work order is completed, or put on hold when a checkpoint failed, with a note
 * that summarises the result; the Deepomatic work order is then no longer followed.
 *
 * Order per subject (Deepomatic work order): one conclusion per Deepomatic work order, under a
 * claim; any snapshot of it delivered after that (older, retried, replayed) is `duplicate` and
 * changes nothing, so a later state is never undone.
 *
 * Writes: the status change is a PATCH of an absolute value (safe to repeat). The note is not
 * idempotent: it carries a marker (`[millwright:<flow>:<deepomatic id>]`) and is sent with
 * `addNoteOnce` (shared/notes.ts): a retry after an unanswered note reads the work order's update items
 * back and sends only if the marker is not there; if UpKeep's answer cannot tell, the event is parked
 * as needs attention (never a second note, never a silent loss).
 *
 * | Deepomatic work order (polled)       | UpKeep work order | action                                   | outcome   |
 * |--------------------------------------|-------------------|------------------------------------------|-----------|
 * | not concluded (progress, review, ...) | any               | none; polled again                       | skipped   |
 * | concluded, result already applied     | any               | stop following it                        | duplicate |
 * | concluded passed / failed             | missing (404)     | stop following it                        | skipped   |
 * | concluded passed / failed             | deleted after read| stop following it (what landed, landed)  | skipped   |
 * | concluded passed / failed             | other status      | status onPassed / onFailed, note; unfollow | done    |
 * | concluded passed / failed             | already at status | note only; unfollow                      | done      |
 * | retry after an unanswered note        | note found        | no second note; unfollow                 | done      |
 * | retry after an unanswered note        | cannot tell       | parked (NeedsAttentionError)             | -         |
 * | deleted in Deepomatic                 | any               | stop following it                        | skipped   |
 */
import * as z from 'zod/mini';
import { validationOutcome } from '../connectors/deepomatic/client.ts';
import {
  DEEPOMATIC_OPEN_SET,
  DEEPOMATIC_WORK_ORDER_CHANGED,
  DEEPOMATIC_WORK_ORDER_DELETED,
  type DeepomaticWorkOrderChangedData,
  type DeepomaticWorkOrderDeletedData,
  deepomaticOpenWorkOrdersPollSource,
} from '../connectors/deepomatic/poll-source.ts';
import { connectUpKeep, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { once } from '../core/claims.ts';
import { defineFlow, type FlowContext, type FlowResult } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import { writeWorkOrder } from './shared/echo.ts';
import { isGone } from './shared/gone.ts';
import { addNoteOnce, noteMarker } from './shared/notes.ts';

export const FLOW_ID = 'deepomatic-validation-to-upkeep-work-order';

const woStatus = lazySchema(() => z.enum(['open', 'onHold', 'inProgress', 'complete']));

export const configSchema = lazySchema(() =>
  z.object({
    completion: z._default(
      z.object({
        /** Validation is complete when progress_score reaches this (0-100) ... */
        progressAtLeast: z._default(z.number().check(z.minimum(0), z.maximum(100)), 100),
        /** ... and, if set, once a back-office reviewer has reviewed it (review_date set). */
        requireReview: z._default(z.boolean(), false),
        /** Checkpoints (task names) that must pass; empty = every analysed task. */
        requiredTasks: z._default(z.array(z.string().check(z.minLength(1))), []),
      }),
      { progressAtLeast: 100, requireReview: false, requiredTasks: [] },
    ),
    onPassed: z._default(woStatus, 'complete'),
    onFailed: z._default(woStatus, 'onHold'),
    poll: z._default(
      z.object({ everyMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(60)), 5) }),
      { everyMinutes: 5 },
    ),
  }),
);
export type DeepomaticResultConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

type Ctx = FlowContext<DeepomaticResultConfig, Deps>;
type Changed = DeepomaticWorkOrderChangedData;

/** Pure: is validation complete by the configured rules, and with what outcome? */
export function conclusion(
  config: DeepomaticResultConfig,
  wo: Changed,
): { done: false; why: string } | { done: true; outcome: 'passed' | 'failed' } {
  const { progressAtLeast, requireReview, requiredTasks } = config.completion;
  if (wo.progressScore < progressAtLeast) {
    return { done: false, why: `progress ${wo.progressScore}% < ${progressAtLeast}%` };
  }
  if (requireReview && !wo.reviewDate) return { done: false, why: 'awaiting back-office review' };
  const outcome = validationOutcome({ tasks: wo.tasks }, { requiredTasks });
  if (outcome === 'pending') return { done: false, why: 'checkpoints not analysed yet' };
  return { done: true, outcome };
}

/** The marker that makes the result note findable after an unanswered POST. */
export const resultNoteMarker = (deepomaticId: string) => noteMarker(FLOW_ID, deepomaticId);

export function summary(wo: Changed, outcome: 'passed' | 'failed'): string {
  const tasks = wo.tasks.map((t) => `${t.name}: ${JSON.stringify(t.state)}`).join('; ');
  return [
    `Deepomatic photo validation ${outcome === 'passed' ? 'PASSED' : 'FAILED'} (work order ${wo.name}, progress ${wo.progressScore}%${wo.reviewDate ? `, reviewed ${wo.reviewDate}` : ''}).`,
    tasks ? `Checkpoints: ${tasks}.` : '',
    `(Millwright) ${resultNoteMarker(wo.id)}`,
  ]
    .filter(Boolean)
    .join(' ');
}

async function onChanged(wo: Changed, ctx: Ctx): Promise<FlowResult> {
  const result = conclusion(ctx.config, wo);
  if (!result.done) return { outcome: 'skipped', message: `${wo.name}: ${result.why}` };
  const status = result.outcome === 'passed' ? ctx.config.onPassed : ctx.config.onFailed;
  const upkeep = ctx.deps.upkeep;
  const done = await once(ctx.state, {
    key: `${ctx.flowId}:${wo.id}:concluded`,
    perform: async () => {
      const current = await upkeep.getWorkOrder(wo.cmmsWorkOrderId);
      if (!current) return { workOrderId: wo.cmmsWorkOrderId, result: 'missing', note: 'none' };
      try {
        if (current.status !== status) {
          await writeWorkOrder(ctx, current.id, () => upkeep.updateWorkOrder(current.id, { status }));
        }
        const note = await addNoteOnce(ctx, upkeep, {
          key: `${ctx.flowId}:note:${wo.id}`,
          workOrderId: current.id,
          text: summary(wo, result.outcome),
          marker: resultNoteMarker(wo.id),
        });
        return { workOrderId: current.id, result: result.outcome, note };
      } catch (error) {
        // A person deleted it after our read: a replay cannot bring it back, so this ends here.
        if (!isGone(error)) throw error;
        return { workOrderId: current.id, result: 'deleted', note: 'none' };
      }
    },
  });
  // Concluded: stop following it (idempotent, also on a redelivery).
  await ctx.state.deleteMember(DEEPOMATIC_OPEN_SET, wo.id);
  const gone =
    done.result.result === 'deleted'
      ? `UpKeep work order ${wo.cmmsWorkOrderId} was deleted while its result was applied (UpKeep answered 404); nothing more written`
      : done.result.result === 'missing'
        ? `UpKeep work order ${wo.cmmsWorkOrderId} no longer exists`
        : undefined;
  if (done.how === 'duplicate') {
    return {
      outcome: 'duplicate',
      message: `${wo.name}: result already ${gone ? `handled (${gone})` : `applied to ${done.result.workOrderId}`}`,
    };
  }
  if (gone) return { outcome: 'skipped', message: gone };
  return {
    outcome: 'done',
    message: `${wo.name}: validation ${result.outcome} -> UpKeep work order ${wo.cmmsWorkOrderId} ${status}${done.result.note === 'found' ? ' (the note an earlier attempt added was found, not added again)' : ''}`,
    effects: { workOrderId: wo.cmmsWorkOrderId, deepomaticId: wo.id },
  };
}

async function onDeleted({ id }: DeepomaticWorkOrderDeletedData, ctx: Ctx): Promise<FlowResult> {
  await ctx.state.deleteMember(DEEPOMATIC_OPEN_SET, id);
  return { outcome: 'skipped', message: `Deepomatic work order ${id} was deleted; no longer followed` };
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'Deepomatic validation complete -> UpKeep work order complete / on hold, with a note',
  vendors: ['deepomatic', 'upkeep'],
  config: configSchema,
  triggers: [
    {
      kind: 'schedule',
      source: deepomaticOpenWorkOrdersPollSource,
      everyMinutes: (c) => c.poll.everyMinutes,
      options: () => ({}),
    },
  ],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  on: {
    [DEEPOMATIC_WORK_ORDER_CHANGED]: (event, ctx) => onChanged(event.data, ctx),
    [DEEPOMATIC_WORK_ORDER_DELETED]: (event, ctx) => onDeleted(event.data, ctx),
  },
});

export default flow;
