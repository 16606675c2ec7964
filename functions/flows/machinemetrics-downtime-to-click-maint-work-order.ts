/**
 * MachineMetrics downtime -> Click Maint work order.
 *
 * The downtime flow with Click Maint as the CMMS, for the machines listed in this flow's
 * `machines` (each mapped to a Click Maint entity and asset): one reactive work order per downtime
 * episode, with status and priority from config; recategorisation updates it; when the machine
 * runs again the work order records the end (and, with `onRecovery: "complete"`, is completed).
 *
 * Click Maint has no idempotency key and no external-id field, so the title carries a short tag
 * derived from the episode key; after an unanswered create, the retry searches for the tag
 * (`filter[title_cont]`) before creating again. Every call goes through the account's shared rate
 * limiter (Click Maint allows about 300 requests per 5 minutes per IP).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { type ClickMaintClient, connectClickMaint } from '../connectors/click-maint/client.ts';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  downtimeCategorizedSchema,
  downtimeEndedSchema,
  downtimeStartedSchema,
} from '../connectors/machinemetrics/events.ts';
import { once } from '../core/claims.ts';
import { defineFlow, type FlowContext, type FlowEvent, type FlowResult } from '../core/flow.ts';
import {
  closingEpisode,
  downtimeSettingsShape,
  downtimeTriggers,
  type EpisodeBase,
  minutes,
  openEpisode,
  parseEventData,
  patchOpenEpisode,
  readSlot,
  saveClosedEpisode,
  startedSkipReason,
} from './shared/downtime.ts';

export const FLOW_ID = 'machinemetrics-downtime-to-click-maint-work-order';

const id = () => z.number().check(z.int(), z.positive());

export const configSchema = z.object({
  /** MachineMetrics machine UUID -> Click Maint entity and asset. */
  machines: z._default(
    z.record(
      z.string().check(z.minLength(1)),
      z.object({ entityId: id(), assetId: id(), locationId: z.optional(id()) }),
    ),
    {},
  ),
  ...downtimeSettingsShape,
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
    }),
    {
      priority: 'high',
      titlePrefix: 'Machine down',
      categoryIds: [],
      technicianIds: [],
      onRecovery: 'annotate',
      completedStatusId: 5,
    },
  ),
});
export type ClickMaintDowntimeConfig = z.infer<typeof configSchema>;

export interface Deps {
  clickMaint: ClickMaintClient;
}

export interface Episode extends EpisodeBase {
  entityId: number;
  assetId: number;
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
  const lines = [
    `Machine: ${e.machineName} (MachineMetrics ${e.machineId})`,
    `Downtime reason: ${e.reasonName}`,
    `Down since: ${e.startedAt}`,
  ];
  if (e.endedAt) {
    lines.push(`Running again since: ${e.endedAt}`);
    lines.push(`Total downtime: ${minutes(e.downtimeMs ?? Date.parse(e.endedAt) - Date.parse(e.startedAt))}`);
  } else {
    lines.push(`Down for at least: ${minutes(now.getTime() - Date.parse(e.startedAt))} when reported`);
  }
  lines.push('', `Created by Millwright (${FLOW_ID}, episode ${e.key}).`);
  return lines.join('\n');
}

async function onStarted(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeStartedSchema, event);
  const { config } = ctx;
  const mapping = config.machines[data.machineId];
  if (!mapping) {
    return {
      outcome: 'skipped',
      message: `machine ${data.machineName} (${data.machineId}) is not in flows.${FLOW_ID}.machines`,
    };
  }
  const skip = startedSkipReason(config, data);
  if (skip) return { outcome: 'skipped', message: skip };
  const { episode, merged } = await openEpisode<Episode>(ctx, {
    key: data.episodeKey,
    machineId: data.machineId,
    machineName: data.machineName,
    startedAt: data.startedAt,
    reasonId: data.reasonId,
    reasonName: data.reasonName,
    entityId: mapping.entityId,
    assetId: mapping.assetId,
  });
  if (!episode) return { outcome: 'duplicate', message: `episode ${data.episodeKey} already ended` };
  if (episode.workOrderId) {
    return {
      outcome: 'duplicate',
      message: `${merged ? `same downtime as episode ${episode.key}; ` : ''}work order ${episode.workOrderId} exists`,
      effects: { workOrderId: String(episode.workOrderId) },
    };
  }
  const cm = ctx.deps.clickMaint;
  const created = await once(ctx.state, {
    key: `${ctx.flowId}:work-order:${episode.key}`,
    find: async () => {
      const found = await cm.findWorkOrderByTitleTag(episode.entityId, episodeTag(episode.key));
      return found ? { workOrderId: String(found.id) } : undefined;
    },
    perform: async () => {
      const wo = await cm.createWorkOrder(episode.entityId, {
        title: workOrderTitle(config, episode),
        type: 'reactive',
        description: workOrderDescription(episode, ctx.now()),
        priority: config.workOrder.priority,
        asset_id: episode.assetId,
        ...(mapping.locationId ? { location_id: mapping.locationId } : {}),
        ...(config.workOrder.statusId ? { status_id: config.workOrder.statusId } : {}),
        ...(config.workOrder.categoryIds.length > 0 ? { categories_ids: config.workOrder.categoryIds } : {}),
        ...(config.workOrder.technicianIds.length > 0
          ? { technicians_ids: config.workOrder.technicianIds }
          : {}),
      });
      return { workOrderId: String(wo.id) };
    },
  });
  const workOrderId = Number(created.result.workOrderId);
  await patchOpenEpisode<Episode>(ctx, data.machineId, episode.key, { workOrderId });
  return {
    outcome: created.how === 'duplicate' ? 'duplicate' : 'done',
    message:
      created.how === 'found'
        ? `found work order ${workOrderId} made by an earlier attempt`
        : `work order ${workOrderId} in entity ${episode.entityId} for ${episode.machineName} (${episode.reasonName})`,
    effects: { workOrderId: String(workOrderId) },
  };
}

async function onCategorized(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeCategorizedSchema, event);
  const slot = await readSlot<Episode>(ctx, data.machineId);
  const episode = slot.open;
  if (!episode)
    return { outcome: 'skipped', message: `no open downtime episode for machine ${data.machineId}` };
  if (episode.reasonId === data.reasonId)
    return { outcome: 'duplicate', message: `reason already ${data.reasonName}` };
  const updated: Episode = { ...episode, reasonId: data.reasonId, reasonName: data.reasonName };
  if (episode.workOrderId) {
    const workOrderId = episode.workOrderId;
    await once(ctx.state, {
      key: `${ctx.flowId}:reason:${episode.key}:${data.reasonId}`,
      perform: async () => {
        await ctx.deps.clickMaint.updateWorkOrder(episode.entityId, workOrderId, {
          title: workOrderTitle(ctx.config, updated),
          description: workOrderDescription(updated, ctx.now()),
        });
        return { workOrderId: String(workOrderId) };
      },
    });
  }
  await patchOpenEpisode<Episode>(ctx, data.machineId, episode.key, {
    reasonId: data.reasonId,
    reasonName: data.reasonName,
  });
  return {
    outcome: episode.workOrderId ? 'done' : 'skipped',
    message: `reason ${episode.reasonName} -> ${data.reasonName}${episode.workOrderId ? ` on work order ${episode.workOrderId}` : ''}`,
  };
}

async function onEnded(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeEndedSchema, event);
  const closing = await closingEpisode<Episode>(ctx, data);
  if ('result' in closing) return closing.result;
  const { episode, closed, downtimeMs } = closing;
  const complete = ctx.config.workOrder.onRecovery === 'complete';
  if (episode.workOrderId) {
    const workOrderId = episode.workOrderId;
    await once(ctx.state, {
      key: `${ctx.flowId}:recovered:${episode.key}`,
      perform: async () => {
        await ctx.deps.clickMaint.updateWorkOrder(episode.entityId, workOrderId, {
          description: workOrderDescription(closed, ctx.now()),
          ...(complete
            ? { status_id: ctx.config.workOrder.completedStatusId, completed_at: data.endedAt }
            : {}),
        });
        return { workOrderId: String(workOrderId) };
      },
    });
  }
  await saveClosedEpisode(ctx, closed);
  return {
    outcome: 'done',
    message: `${episode.machineName} running again after ${minutes(downtimeMs)}${episode.workOrderId ? `; work order ${episode.workOrderId} ${complete ? 'completed' : 'annotated'}` : ''}`,
    ...(episode.workOrderId ? { effects: { workOrderId: String(episode.workOrderId) } } : {}),
  };
}

export const flow = defineFlow<ClickMaintDowntimeConfig, Deps>({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> Click Maint work order',
  vendors: ['machinemetrics', 'click-maint'],
  config: configSchema,
  // Click Maint calls wait for the account's shared budget; keep a few workers with time to wait.
  worker: { timeoutSeconds: 60, batchSize: 1, maxConcurrency: 2 },
  triggers: downtimeTriggers<ClickMaintDowntimeConfig>(),
  setup: (env) => ({ clickMaint: connectClickMaint(env) }),
  async handle(event, ctx) {
    switch (event.type) {
      case DOWNTIME_STARTED:
        return onStarted(event, ctx);
      case DOWNTIME_CATEGORIZED:
        return onCategorized(event, ctx);
      case DOWNTIME_ENDED:
        return onEnded(event, ctx);
      default:
        return { outcome: 'skipped', message: `event type ${event.type} is not handled by this flow` };
    }
  },
});

export default flow;
