/**
 * MachineMetrics downtime -> Click Maint work order.
 *
 * The downtime flow with Click Maint as the CMMS, for the machines listed in this flow's
 * `machines` (each mapped to a Click Maint entity and asset): one reactive work order per downtime
 * episode, with status and priority from config; recategorisation updates it; when the machine
 * runs again the work order records the end (and, with `onRecovery: "complete"`, is completed).
 * Every event goes to its episode through the per-machine state machine of shared/downtime.ts (the
 * transition table is there): a late, replayed or out-of-order event lands on its own episode or is
 * `stale`, an end or reason seen before the work order exists is applied right after its create
 * (the handlers and that sync are shared/downtime-record.ts's; this file states the Click Maint side).
 * Order per subject (machine, episode): by the episode key and the events' own times in the
 * machine's episode item; a "started" retried or replayed after its "ended" makes no second work
 * order and never reopens a closed one (`duplicate`).
 *
 * Click Maint has no idempotency key and no external-id field, so the title carries a short tag
 * derived from the episode key; after an unanswered create, the retry searches for the tag
 * (`filter[title_cont]`) before creating again. Every call goes through the account's shared rate
 * limiter (Click Maint allows about 300 requests per 5 minutes per IP).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { type ClickMaintClient, connectClickMaint } from '../connectors/click-maint/client.ts';
import { defineFlow, type FlowContext, type RuntimeEnv } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import { downtimeSettingsShape } from './shared/downtime.ts';
import {
  downtimeHandlers,
  downtimeLines,
  downtimeTriggers,
  mappedMachines,
  unlistedMachine,
  WORK_ORDER_GONE,
  type WorkOrderEpisode,
  workOrderTarget,
} from './shared/downtime-record.ts';
import { isGone } from './shared/gone.ts';

export const FLOW_ID = 'machinemetrics-downtime-to-click-maint-work-order';

const id = () => z.number().check(z.int(), z.positive());

export const configSchema = lazySchema(() =>
  z.object({
    /** MachineMetrics machine UUID -> Click Maint entity and asset. */
    machines: z._default(
      z.record(
        z.string().check(z.minLength(1)),
        z.object({ entityId: id(), assetId: id(), locationId: z.optional(id()) }),
      ),
      {},
    ),
    ...downtimeSettingsShape(),
    workOrder: z._default(
      z.object({
        /** Click Maint priority name (`none`, `low`, `medium`, `high`; only `none`/`high` are documented). */
        priority: z._default(z.string().check(z.minLength(1)), 'high'),
        /** Status id for new work orders (tenant-specific; omitted = Click Maint's default). */
        statusId: z.optional(id()),
        titlePrefix: z._default(z.string(), 'Machine down'),
        categoryIds: z._default(z.array(id()), []),
        technicianIds: z._default(z.array(id()), []),
        /** On recovery: only record the end (`annotate`) or also complete the work order. */
        onRecovery: z._default(z.enum(['annotate', 'complete']), 'annotate'),
        /** Status id that means completed (`completed` is 5 in the doc's sample). */
        completedStatusId: z._default(id(), 5),
        /**
         * A 404 on our work order while its entity still answers: taken as deleted by a person (the
         * event ends done, saying so) unless false (it fails, for an operator). See workOrderGone.
         */
        goneWhenNotFound: z._default(z.boolean(), true),
      }),
      {
        priority: 'high',
        titlePrefix: 'Machine down',
        categoryIds: [],
        technicianIds: [],
        onRecovery: 'annotate',
        completedStatusId: 5,
        goneWhenNotFound: true,
      },
    ),
  }),
);
export type ClickMaintDowntimeConfig = z.infer<typeof configSchema>;

export interface Deps {
  clickMaint: ClickMaintClient;
}

export interface Episode extends WorkOrderEpisode {
  entityId?: number;
  assetId?: number;
  workOrderId?: number;
}

type Ctx = FlowContext<ClickMaintDowntimeConfig, Deps>;

/** Short, searchable correlation tag for the title (Click Maint has no external-id field). */
export const episodeTag = (episodeKey: string) =>
  `mw-${createHash('sha256').update(episodeKey).digest('hex').slice(0, 10)}`;

export function workOrderTitle(config: ClickMaintDowntimeConfig, e: Episode): string {
  return `${config.workOrder.titlePrefix}: ${e.machineName} (${e.reasonName}) [${episodeTag(e.key)}]`;
}

export function workOrderDescription(e: Episode, now: Date): string {
  return [...downtimeLines(e, now), '', `Created by Millwright (${FLOW_ID}, episode ${e.key}).`].join('\n');
}

/** The entity the work order lives in (kept on the episode; the config's as a fallback). */
const entityOf = (ctx: Ctx, e: Episode) => e.entityId ?? ctx.config.machines[e.machineId]?.entityId ?? 0;

/**
 * Is a 404 on the episode's work order a deletion by a person? Click Maint documents no 404 at all
 * (reference §2: "wrong id or wrong X-Entity-Id"), and its API has no delete: people delete in the
 * app. The assumption (`workOrder.goneWhenNotFound`, on by default): when the same entity, under the
 * same X-Entity-Id, still answers a list of its work orders (200) and ours is not in it, it was deleted.
 * When the entity does not answer, the 404 is a configuration or access fault and is not hidden:
 * the original error is thrown. `workOrder.goneWhenNotFound: false` turns the assumption off.
 */
async function workOrderGone(ctx: Ctx, e: Episode, id: number): Promise<boolean> {
  if (!ctx.config.workOrder.goneWhenNotFound) return false;
  try {
    const found = await ctx.deps.clickMaint.findWorkOrderByTitleTag(entityOf(ctx, e), episodeTag(e.key));
    return found?.id !== id;
  } catch (error) {
    // The entity itself answers 404: the original error stands (a transient one is retried as is).
    if (isGone(error)) return false;
    throw error;
  }
}

/** Update the episode's work order; WORK_ORDER_GONE when a person deleted it (see workOrderGone). */
async function patchWorkOrder(
  ctx: Ctx,
  e: Episode,
  id: number,
  patch: Parameters<ClickMaintClient['updateWorkOrder']>[2],
): Promise<typeof WORK_ORDER_GONE | undefined> {
  try {
    await ctx.deps.clickMaint.updateWorkOrder(entityOf(ctx, e), id, patch);
    return undefined;
  } catch (error) {
    if (isGone(error) && (await workOrderGone(ctx, e, id))) return WORK_ORDER_GONE;
    throw error;
  }
}

const target = workOrderTarget<
  ClickMaintDowntimeConfig,
  Deps,
  Episode,
  { entityId: number; assetId: number }
>({
  unmapped: unlistedMachine(FLOW_ID),
  placement: (config, machineId) => {
    const mapping = config.machines[machineId];
    return mapping && { entityId: mapping.entityId, assetId: mapping.assetId };
  },
  idOf: Number,
  // An earlier attempt may have created it (timeout after the create): search for the title tag.
  async find(ctx, episode, { entityId }) {
    const found = await ctx.deps.clickMaint.findWorkOrderByTitleTag(entityId, episodeTag(episode.key));
    return found ? { workOrderId: String(found.id) } : undefined;
  },
  async create(ctx, episode, { entityId, assetId }) {
    const { config } = ctx;
    const locationId = config.machines[episode.machineId]?.locationId;
    const wo = await ctx.deps.clickMaint.createWorkOrder(entityId, {
      title: workOrderTitle(config, episode),
      type: 'reactive',
      description: workOrderDescription({ ...episode, endedAt: undefined, downtimeMs: undefined }, ctx.now()),
      priority: config.workOrder.priority,
      asset_id: assetId,
      ...(locationId ? { location_id: locationId } : {}),
      ...(config.workOrder.statusId ? { status_id: config.workOrder.statusId } : {}),
      ...(config.workOrder.categoryIds.length > 0 ? { categories_ids: config.workOrder.categoryIds } : {}),
      ...(config.workOrder.technicianIds.length > 0
        ? { technicians_ids: config.workOrder.technicianIds }
        : {}),
    });
    return { workOrderId: String(wo.id) };
  },
  showReason: (ctx, e, id) =>
    patchWorkOrder(ctx, e, id, {
      title: workOrderTitle(ctx.config, e),
      description: workOrderDescription(e, ctx.now()),
    }),
  recover: (ctx, e, id) =>
    patchWorkOrder(ctx, e, id, {
      description: workOrderDescription(e, ctx.now()),
      ...(ctx.config.workOrder.onRecovery === 'complete'
        ? { status_id: ctx.config.workOrder.completedStatusId, completed_at: e.endedAt }
        : {}),
    }),
  alreadyMade: ({ episode }, synced, data) =>
    `${episode.key === data.episodeKey ? '' : `same downtime as episode ${episode.key}; `}work order ${synced.workOrderId ?? '?'} exists`,
  endKept: () => 'kept: the work order is made (and this end recorded) when its started event is processed',
  recoveredNote: ' (completed per onRecovery)',
});

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> Click Maint work order',
  vendors: ['machinemetrics', 'click-maint'],
  config: configSchema,
  // Click Maint calls wait for the account's shared budget; keep a few workers with time to wait.
  worker: { timeoutSeconds: 60, batchSize: 1, maxConcurrency: 2 },
  triggers: downtimeTriggers<ClickMaintDowntimeConfig>((c) => mappedMachines(c.machines)),
  // Typed: the handlers are plain functions, so Deps is inferred from here.
  setup: (env: RuntimeEnv): Deps => ({ clickMaint: connectClickMaint(env) }),
  on: downtimeHandlers(target),
});

export default flow;
