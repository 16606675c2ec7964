/**
 * MachineMetrics downtime -> UpKeep work order.
 *
 * When a mapped machine has been down for `minimumMinutes`, exactly one UpKeep work order is created
 * for its asset and the asset is marked not-available. A later reason categorisation updates the
 * work order; when the machine runs again the asset is marked available and the work order records
 * the end and total downtime. Unmapped machines are skipped with a log line and a run-log entry.
 *
 * One episode per machine at a time: the first "started" event (poller or Workflow webhook) opens
 * the machine's episode slot with a conditional write; any other "started" event while it is open
 * is the same downtime seen by another source and creates nothing.
 */
import * as z from 'zod/mini';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  type DowntimeCategorized,
  type DowntimeEnded,
  type DowntimeStarted,
  downtimeCategorizedSchema,
  downtimeEndedSchema,
  downtimeStartedSchema,
} from '../connectors/machinemetrics/events.ts';
import { connectUpKeep, type UpKeepClient, type WorkOrder } from '../connectors/upkeep/client.ts';
import { fetchWebhookSubject, upkeepWebhook } from '../connectors/upkeep/webhook.ts';
import { once } from '../core/claims.ts';
import { defineFlow, type FlowContext, type FlowEvent, type FlowResult } from '../core/flow.ts';
import {
  closingEpisode,
  downtimeSettingsShape,
  downtimeTriggers,
  EPISODE_WITHOUT_WORK_ORDER,
  EPISODE_WORK_ORDER_MAPPING,
  type EpisodeBase,
  minutes,
  openEpisode,
  parseEventData,
  patchOpenEpisode,
  readSlot,
  saveClosedEpisode,
  startedSkipReason,
  updateSlot,
} from './shared/downtime.ts';
import { rememberWorkOrderWrite, workOrderEcho } from './shared/echo.ts';

export { matchesReason, reasonAllowed } from './shared/downtime.ts';

export const FLOW_ID = 'machinemetrics-downtime-to-upkeep-work-order';

export const configSchema = z
  .object({
    /** MachineMetrics machine UUID -> UpKeep asset. */
    machines: z._default(
      z.record(
        z.string().check(z.minLength(1)),
        z.object({ assetId: z.string().check(z.minLength(1)), location: z.optional(z.string()) }),
      ),
      {},
    ),
    ...downtimeSettingsShape,
    workOrder: z._default(
      z.object({
        priority: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(3)), 2),
        assignedToUser: z.optional(z.string().check(z.minLength(1))),
        category: z.optional(z.string().check(z.minLength(1))),
        titlePrefix: z._default(z.string(), 'Machine down'),
        /** On recovery: only record the end (`annotate`) or also complete the work order. */
        onRecovery: z._default(z.enum(['annotate', 'complete']), 'annotate'),
      }),
      { priority: 2, titlePrefix: 'Machine down', onRecovery: 'annotate' },
    ),
    /** Record not-available / available on the UpKeep asset (POST /assets/downtime). */
    recordAssetDowntime: z._default(z.boolean(), true),
    /** `skip`: log and move on; `default-asset`: use `defaultAssetId`. */
    unmappedMachines: z._default(z.enum(['skip', 'default-asset']), 'skip'),
    defaultAssetId: z.optional(z.string().check(z.minLength(1))),
  })
  .check(
    z.refine((c) => c.unmappedMachines !== 'default-asset' || c.defaultAssetId !== undefined, {
      message: 'defaultAssetId is required when unmappedMachines is "default-asset"',
      path: ['defaultAssetId'],
    }),
  );
export type DowntimeFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

/** This flow's episode: the shared fields plus the UpKeep asset and work order. */
export interface Episode extends EpisodeBase {
  assetId: string;
  workOrderId?: string;
}

const marker = (episodeKey: string) => `[millwright:${FLOW_ID}:${episodeKey}]`;

export function workOrderTitle(config: DowntimeFlowConfig, episode: Episode): string {
  return `${config.workOrder.titlePrefix}: ${episode.machineName} (${episode.reasonName})`.slice(0, 250);
}

/** Rebuilt from the episode every time, so writing it twice changes nothing. */
export function workOrderDescription(episode: Episode, now: Date): string {
  const lines = [
    `Machine: ${episode.machineName} (MachineMetrics ${episode.machineId})`,
    `Downtime reason: ${episode.reasonName}`,
    `Down since: ${episode.startedAt}`,
  ];
  if (episode.endedAt) {
    lines.push(`Running again since: ${episode.endedAt}`);
    lines.push(
      `Total downtime: ${minutes(episode.downtimeMs ?? Date.parse(episode.endedAt) - Date.parse(episode.startedAt))}`,
    );
  } else {
    lines.push(`Down for at least: ${minutes(now.getTime() - Date.parse(episode.startedAt))} when reported`);
  }
  lines.push('', `Created by Millwright. ${marker(episode.key)}`);
  return lines.join('\n');
}

type Ctx = FlowContext<DowntimeFlowConfig, Deps>;

async function onStarted(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data: DowntimeStarted = parseEventData(downtimeStartedSchema, event);
  const { config } = ctx;
  const mapping = config.machines[data.machineId];
  const assetId =
    mapping?.assetId ?? (config.unmappedMachines === 'default-asset' ? config.defaultAssetId : undefined);
  if (!assetId) {
    ctx.log.warn('machine has no UpKeep asset mapping; skipped', {
      machineId: data.machineId,
      machineName: data.machineName,
    });
    // Final for this episode: tasks of it (task-status flow) need not wait for a work order.
    await ctx.state.putMapping(
      EPISODE_WITHOUT_WORK_ORDER,
      data.episodeKey,
      'the machine has no UpKeep asset',
    );
    return {
      outcome: 'skipped',
      message: `machine ${data.machineName} (${data.machineId}) has no UpKeep asset mapping in flows.${FLOW_ID}.machines`,
    };
  }
  const skip = startedSkipReason(config, data);
  if (skip) return { outcome: 'skipped', message: skip };

  const candidate: Episode = {
    key: data.episodeKey,
    machineId: data.machineId,
    machineName: data.machineName,
    assetId,
    startedAt: data.startedAt,
    reasonId: data.reasonId,
    reasonName: data.reasonName,
  };
  const { episode, merged } = await openEpisode(ctx, candidate);
  if (!episode) return { outcome: 'duplicate', message: `episode ${candidate.key} already ended` };
  if (episode.workOrderId) {
    return {
      outcome: 'duplicate',
      message: merged
        ? `same downtime as open episode ${episode.key}; work order ${episode.workOrderId} exists`
        : `work order ${episode.workOrderId} already exists for this episode`,
      effects: { workOrderId: episode.workOrderId },
    };
  }

  const upkeep = ctx.deps.upkeep;
  const created = await once(ctx.state, {
    key: `${ctx.flowId}:work-order:${episode.key}`,
    // An earlier attempt may have created it (e.g. timeout after the create): look for our marker.
    find: async () => {
      const since = Date.parse(episode.startedAt) - 60 * 60_000;
      const candidates = await upkeep.listAllWorkOrders({ asset: episode.assetId, createdAtGte: since });
      const found = candidates.find((wo: WorkOrder) => wo.description?.includes(marker(episode.key)));
      return found ? { workOrderId: found.id } : undefined;
    },
    perform: async () => {
      const wo = await upkeep.createWorkOrder({
        title: workOrderTitle(config, episode),
        description: workOrderDescription(episode, ctx.now()),
        priority: config.workOrder.priority as 0 | 1 | 2 | 3,
        category: config.workOrder.category,
        assignedToUser: config.workOrder.assignedToUser,
        asset: episode.assetId,
        location: mapping?.location,
        startDate: Date.parse(episode.startedAt),
      });
      await rememberWorkOrderWrite(ctx, wo);
      return { workOrderId: wo.id };
    },
  });
  const workOrderId = created.result.workOrderId as string;
  await patchOpenEpisode<Episode>(ctx, data.machineId, episode.key, { workOrderId });
  await ctx.state.putMapping(`${ctx.flowId}:work-order`, workOrderId, `${data.machineId}|${episode.key}`);
  await ctx.state.putMapping(EPISODE_WORK_ORDER_MAPPING, episode.key, workOrderId);

  if (config.recordAssetDowntime) {
    await once(ctx.state, {
      key: `${ctx.flowId}:asset-down:${episode.key}`,
      perform: async () => {
        await upkeep.recordAssetDowntime([
          { assetId: episode.assetId, status: 'not-available', recordedOn: episode.startedAt },
        ]);
        return { assetId: episode.assetId };
      },
    });
  }
  return {
    outcome: created.how === 'duplicate' ? 'duplicate' : 'done',
    message:
      created.how === 'found'
        ? `found work order ${workOrderId} made by an earlier attempt`
        : `work order ${workOrderId} for ${episode.machineName} (${episode.reasonName})`,
    effects: { workOrderId },
  };
}

async function onCategorized(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data: DowntimeCategorized = parseEventData(downtimeCategorizedSchema, event);
  const current = await readSlot<Episode>(ctx, data.machineId);
  const which = current.open ? 'open' : current.last ? 'last' : undefined;
  const episode = which ? current[which] : undefined;
  if (!which || !episode)
    return { outcome: 'skipped', message: `no downtime episode for machine ${data.machineId}` };
  if (data.episodeKey && !data.episodeKey.startsWith('wh:') && data.episodeKey !== episode.key) {
    return { outcome: 'skipped', message: `episode ${data.episodeKey} is not the machine's current episode` };
  }
  if (episode.reasonId === data.reasonId) {
    return { outcome: 'duplicate', message: `reason already ${data.reasonName}` };
  }
  const updated: Episode = { ...episode, reasonId: data.reasonId, reasonName: data.reasonName };
  if (episode.workOrderId) {
    const workOrderId = episode.workOrderId;
    await once(ctx.state, {
      key: `${ctx.flowId}:reason:${episode.key}:${data.reasonId}`,
      perform: async () => {
        const wo = await ctx.deps.upkeep.updateWorkOrder(workOrderId, {
          title: workOrderTitle(ctx.config, updated),
          description: workOrderDescription(updated, ctx.now()),
        });
        await rememberWorkOrderWrite(ctx, wo);
        return { workOrderId };
      },
    });
  }
  await updateSlot<Episode>(ctx, data.machineId, (s) => {
    const target = s[which];
    return target?.key === episode.key
      ? { ...s, [which]: { ...target, reasonId: data.reasonId, reasonName: data.reasonName } }
      : undefined;
  });
  return {
    outcome: episode.workOrderId ? 'done' : 'skipped',
    message: episode.workOrderId
      ? `work order ${episode.workOrderId}: reason ${episode.reasonName} -> ${data.reasonName}`
      : `reason recorded (${data.reasonName}); the episode has no work order`,
    effects: episode.workOrderId ? { workOrderId: episode.workOrderId } : undefined,
  };
}

async function onEnded(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data: DowntimeEnded = parseEventData(downtimeEndedSchema, event);
  const closing = await closingEpisode<Episode>(ctx, data);
  if ('result' in closing) return closing.result;
  const { episode, closed, downtimeMs } = closing;
  const upkeep = ctx.deps.upkeep;
  if (ctx.config.recordAssetDowntime) {
    await once(ctx.state, {
      key: `${ctx.flowId}:asset-up:${episode.key}`,
      perform: async () => {
        await upkeep.recordAssetDowntime([
          { assetId: episode.assetId, status: 'available', recordedOn: data.endedAt },
        ]);
        return { assetId: episode.assetId };
      },
    });
  }
  if (episode.workOrderId) {
    const workOrderId = episode.workOrderId;
    await once(ctx.state, {
      key: `${ctx.flowId}:recovered:${episode.key}`,
      perform: async () => {
        const wo = await upkeep.updateWorkOrder(workOrderId, {
          description: workOrderDescription(closed, ctx.now()),
          ...(ctx.config.workOrder.onRecovery === 'complete' ? { status: 'complete' as const } : {}),
        });
        await rememberWorkOrderWrite(ctx, wo);
        return { workOrderId };
      },
    });
  }
  await saveClosedEpisode(ctx, closed);
  return {
    outcome: 'done',
    message: `${episode.machineName} running again after ${minutes(downtimeMs)}`,
    effects: episode.workOrderId ? { workOrderId: episode.workOrderId } : undefined,
  };
}

/** UpKeep work-order webhooks: recognise our own writes (no loops); note changes made by people. */
async function onUpKeepWorkOrder(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const wo = await fetchWebhookSubject(ctx.deps.upkeep, event.data);
  if (!wo) return { outcome: 'skipped', message: `work order ${event.subject ?? '?'} no longer exists` };
  const echo = await workOrderEcho(ctx, wo);
  if (echo) return echo;
  const owner = await ctx.state.getMapping(`${ctx.flowId}:work-order`, wo.id);
  if (!owner) return { outcome: 'skipped', message: `work order ${wo.id} was not created by this flow` };
  return {
    outcome: 'skipped',
    message: `work order ${wo.id} changed in UpKeep (status ${wo.status}); nothing to forward`,
    effects: { workOrderId: wo.id },
  };
}

export const UPKEEP_EVENTS = ['upkeep.WORK_ORDER_UPDATED', 'upkeep.WORK_ORDER_STATUS_UPDATED'] as const;

export const flow = defineFlow<DowntimeFlowConfig, Deps>({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> UpKeep work order (and asset downtime)',
  vendors: ['machinemetrics', 'upkeep'],
  config: configSchema,
  triggers: [
    ...downtimeTriggers<DowntimeFlowConfig>(),
    { kind: 'webhook', receiver: upkeepWebhook, events: UPKEEP_EVENTS },
  ],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  async handle(event, ctx) {
    switch (event.type) {
      case DOWNTIME_STARTED:
        return onStarted(event, ctx);
      case DOWNTIME_CATEGORIZED:
        return onCategorized(event, ctx);
      case DOWNTIME_ENDED:
        return onEnded(event, ctx);
      case 'upkeep.WORK_ORDER_UPDATED':
      case 'upkeep.WORK_ORDER_STATUS_UPDATED':
        return onUpKeepWorkOrder(event, ctx);
      default:
        return { outcome: 'skipped', message: `event type ${event.type} is not handled by this flow` };
    }
  },
});

export default flow;
