/**
 * UpKeep work order -> Deepomatic work order (photo validation).
 *
 * An UpKeep work order created or updated with a configured category (or a configured tag in its
 * title or description, e.g. `#photo-check`) gets a Deepomatic work order named after the UpKeep
 * id, with the configured work-order types and field engineer. At most one per UpKeep work order,
 * and never lost silently:
 * - the create is claimed once per UpKeep work order and sent with `sendOnce` (core/claims.ts).
 *   Deepomatic offers nothing to resolve an unanswered create: no idempotency key, no list or search
 *   (by name or metadata), no webhooks, and name uniqueness is only "recommended", not enforced
 *   (reference §0, §6, §7.1 #11, §7.2; the [EXT] GET needs the id the lost answer carried). So a create
 *   whose answer was lost (timeout or reset after sending) is parked as needs attention
 *   (NeedsAttentionError), naming the work order to look for; it is neither re-sent (a duplicate) nor
 *   reported done (a silent loss). An operator who finds it adopts it (`adoptDeepomaticWorkOrder`);
 *   one who does not clears the unconfirmed send (`forgetUnconfirmedSend`) and replays the event.
 * - the Deepomatic id is mapped to the UpKeep id and added to the set of open Deepomatic work
 *   orders that the validation poller (deepomatic-validation-to-upkeep-work-order) follows.
 * Order per subject (UpKeep work order): order does not matter: the webhook only triggers a read of
 * the work order as it is now, and the create is once per work order; an older or replayed event
 * is `duplicate`.
 *
 * | UpKeep work order event                      | state                              | action                  | outcome   |
 * |----------------------------------------------|------------------------------------|-------------------------|-----------|
 * | gone (404) / our own write / no category-tag | -                                  | none                    | skipped/echo |
 * | matches                                      | Deepomatic id mapped               | (re)follow it           | duplicate |
 * | matches                                      | nothing sent                       | create, map, follow     | done      |
 * | updated by a person on a work order Millwright created (category/tag now matches) | nothing sent | create, map, follow (the person asked for it) | done |
 * | matches                                      | create certainly failed (4xx, 429) | error; retried          | -         |
 * | matches                                      | create unanswered (sent, unknown)  | parked, not re-sent     | -         |
 * | matches (replay, after the operator checked) | adopted / intent cleared           | map+follow / create     | duplicate / done |
 */
import * as z from 'zod/mini';
import {
  connectDeepomatic,
  type DeepomaticClient,
  toWorkOrderName,
} from '../connectors/deepomatic/client.ts';
import { DEEPOMATIC_OPEN_SET } from '../connectors/deepomatic/poll-source.ts';
import { connectUpKeep, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { fetchWebhookSubject, type UpKeepWebhookData, upkeepWebhook } from '../connectors/upkeep/webhook.ts';
import { forgetSendCommand, forgetUnconfirmedSend, once, sendOnce } from '../core/claims.ts';
import { NeedsAttentionError } from '../core/errors.ts';
import type { TypedEvent } from '../core/events.ts';
import { defineFlow, type FlowContext, type FlowResult } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import type { StateStore } from '../core/state.ts';
import { createdByMillwright, workOrderEcho } from './shared/echo.ts';
import { clip } from './shared/format.ts';

export const FLOW_ID = 'upkeep-work-order-to-deepomatic-validation';
/** UpKeep work order id -> Deepomatic work order id. */
export const DEEPOMATIC_BY_WORK_ORDER = 'upkeep-work-order-deepomatic';

export const configSchema = lazySchema(() =>
  z
    .object({
      /** Work orders in one of these UpKeep categories (case-insensitive) are validated. */
      categories: z._default(z.array(z.string().check(z.minLength(1))), []),
      /** ... or whose title or description contains one of these tags (e.g. `#photo-check`). */
      tags: z._default(z.array(z.string().check(z.minLength(2))), []),
      deepomatic: z.object({
        /**
         * Work-order types configured in the Deepomatic application (they select the tasks). Optional
         * (api-doc.txt:176-180, no `*`): an application without configured types (482) omits the
         * field (not `[]`, whose filtering is undocumented), and every task of the application applies.
         */
        workOrderTypes: z._default(z.array(z.string().check(z.minLength(1))), []),
        /** Must be a Deepomatic user; otherwise Deepomatic refuses the whole create. */
        fieldEngineerEmail: z.optional(z.email()),
        /** Non-empty, as the client requires (an empty tag would fail every create at run time). */
        tags: z._default(z.array(z.string().check(z.minLength(1))), ['upkeep']),
        namePrefix: z._default(z.string().check(z.regex(/^[A-Za-z0-9_-]{0,40}$/)), 'upkeep-'),
      }),
    })
    .check(
      z.refine((c) => c.categories.length > 0 || c.tags.length > 0, {
        message: 'list at least one category or tag, or nothing would ever be validated',
        path: ['categories'],
      }),
    ),
);
export type ValidationFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
  deepomatic: DeepomaticClient;
}

type Ctx = FlowContext<ValidationFlowConfig, Deps>;

export function matches(
  config: ValidationFlowConfig,
  wo: { category?: string | null; title?: string | null; description?: string | null },
): string | undefined {
  const category = wo.category?.toLowerCase();
  const byCategory = config.categories.find((c) => c.toLowerCase() === category);
  if (byCategory) return `category ${byCategory}`;
  const text = `${wo.title ?? ''}\n${wo.description ?? ''}`.toLowerCase();
  const byTag = config.tags.find((t) => text.includes(t.toLowerCase()));
  return byTag ? `tag ${byTag}` : undefined;
}

async function onWorkOrder(event: TypedEvent<string, UpKeepWebhookData>, ctx: Ctx): Promise<FlowResult> {
  const wo = await fetchWebhookSubject(ctx.deps.upkeep, event.data);
  if (!wo) return { outcome: 'skipped', message: `work order ${event.subject ?? '?'} no longer exists` };
  const echo = await workOrderEcho(ctx, wo, event.data.updatedAt);
  if (echo) return echo;
  const creator = event.type === 'upkeep.WORK_ORDER_CREATED' ? createdByMillwright(wo) : undefined;
  if (creator) {
    return {
      outcome: creator === ctx.flowId ? 'echo' : 'skipped',
      message: `work order ${wo.id} was created by Millwright (flow ${creator}), not by a person; nothing to do`,
    };
  }
  const why = matches(ctx.config, wo);
  if (!why) return { outcome: 'skipped', message: `work order ${wo.id} has no configured category or tag` };
  const known = await ctx.state.getMapping(DEEPOMATIC_BY_WORK_ORDER, wo.id);
  if (known) {
    return {
      outcome: 'duplicate',
      message: `work order ${wo.id} already has Deepomatic work order ${known}`,
      effects: { deepomaticId: known },
    };
  }
  const { config } = ctx;
  const name = toWorkOrderName(config.deepomatic.namePrefix, wo.id);
  const key = createKey(ctx.flowId, wo.id);
  const check = `In Deepomatic, look for a work order named ${name} (metadata cmms_work_order_id ${wo.id}). If it exists, adopt it (npx millwright repair adopt-deepomatic ${ctx.flowId} ${wo.id} <its id>) and replay this event. If none exists, clear the unconfirmed send (${forgetSendCommand(key)}) and replay this event to create it.`;
  const created = await once(ctx.state, {
    key,
    perform: async () => {
      const sent = await sendOnce(ctx.state, {
        key,
        what: `Deepomatic work order ${name} for UpKeep work order ${wo.id}`,
        check,
        send: () =>
          ctx.deps.deepomatic.createWorkOrder({
            name,
            metadata: {
              cmms: 'upkeep',
              cmms_work_order_id: wo.id,
              title: clip(wo.title, 200),
              ...(wo.asset ? { asset: String(wo.asset) } : {}),
            },
            tags: config.deepomatic.tags,
            ...(config.deepomatic.workOrderTypes.length > 0
              ? { work_order_types: config.deepomatic.workOrderTypes }
              : {}),
            ...(config.deepomatic.fieldEngineerEmail
              ? { field_engineer_email: config.deepomatic.fieldEngineerEmail }
              : {}),
          }),
      });
      return { deepomaticId: sent.value.id, status: 'created' };
    },
  });
  const { deepomaticId, status } = created.result;
  if (status === 'unconfirmed' || !deepomaticId) {
    // Recorded by the former at-most-once sender: an unanswered create that was never resolved.
    throw new NeedsAttentionError(
      `Deepomatic create for UpKeep work order ${wo.id} (${name}) went unanswered earlier and was never confirmed`,
      check,
    );
  }
  // Idempotent, so a retry after a crash between the create and these writes completes them. The
  // follow first: a retry that finds the mapping returns early, so the mapping must come last.
  // Kept until its conclusion or deletion unfollows it: field work may come months later.
  await ctx.state.putMember(
    DEEPOMATIC_OPEN_SET,
    deepomaticId,
    { cmms: 'upkeep', cmmsWorkOrderId: wo.id, name },
    { untilRemoved: true },
  );
  await ctx.state.putMapping(DEEPOMATIC_BY_WORK_ORDER, wo.id, deepomaticId);
  if (created.how === 'duplicate') {
    return {
      outcome: 'duplicate',
      message: `Deepomatic work order ${deepomaticId} already exists for ${wo.id}`,
    };
  }
  return {
    outcome: 'done',
    message: `Deepomatic work order ${deepomaticId} (${name}) for UpKeep work order ${wo.id} (${why})`,
    effects: { deepomaticId, workOrderId: wo.id },
  };
}

const createKey = (flowId: string, workOrderId: string) => `${flowId}:create:${workOrderId}`;

/**
 * Operator resolution of a parked create: the Deepomatic work order `deepomaticId` (found in
 * Deepomatic after an unanswered create) is the one for UpKeep work order `workOrderId`. Maps it and
 * follows it; the replayed event then answers `duplicate`.
 */
export async function adoptDeepomaticWorkOrder(
  state: StateStore,
  flowId: string,
  workOrderId: string,
  deepomaticId: string,
  namePrefix = 'upkeep-',
): Promise<void> {
  // Follow first, map last (as the flow does): a replay that finds the mapping does nothing more.
  await state.putMember(
    DEEPOMATIC_OPEN_SET,
    deepomaticId,
    { cmms: 'upkeep', cmmsWorkOrderId: workOrderId, name: toWorkOrderName(namePrefix, workOrderId) },
    { untilRemoved: true },
  );
  await state.putMapping(DEEPOMATIC_BY_WORK_ORDER, workOrderId, deepomaticId);
  await forgetUnconfirmedSend(state, createKey(flowId, workOrderId));
}

export const UPKEEP_EVENTS = ['upkeep.WORK_ORDER_CREATED', 'upkeep.WORK_ORDER_UPDATED'] as const;

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'UpKeep work order (configured category or tag) -> Deepomatic photo validation',
  vendors: ['upkeep', 'deepomatic'],
  config: configSchema,
  triggers: [{ kind: 'webhook', receiver: upkeepWebhook }],
  setup: (env) => ({ upkeep: connectUpKeep(env), deepomatic: connectDeepomatic(env) }),
  on: {
    'upkeep.WORK_ORDER_CREATED': (event, ctx) => onWorkOrder(event, ctx),
    'upkeep.WORK_ORDER_UPDATED': (event, ctx) => onWorkOrder(event, ctx),
  },
});

export default flow;
