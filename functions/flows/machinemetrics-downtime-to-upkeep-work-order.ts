/**
 * MachineMetrics downtime -> UpKeep work order.
 *
 * When a mapped machine has been down for `minimumMinutes`, exactly one UpKeep work order is created
 * for its asset and the asset is marked not-available. A later reason categorisation updates the
 * work order; when the machine runs again the asset is marked available and the work order records
 * the end and total downtime. Unmapped machines are skipped with a log line and a run-log entry.
 *
 * Every event goes to its episode through the per-machine state machine of shared/downtime.ts (the
 * transition table is there), keyed by the source's episode identity: the poller's and the
 * webhook's events of one downtime are matched by time, a late, replayed or out-of-order event lands
 * on its own episode or is `stale`, and several episodes of one machine in one batch are each
 * handled. An end or a reason seen before the work order exists is kept and applied right after the
 * create (create, asset not-available, reason, then recovery: asset available and the end on the
 * work order), each step under its own claim, so a retry finishes whatever an earlier attempt left.
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
import { fetchWebhookSubject, type UpKeepWebhookData, upkeepWebhook } from '../connectors/upkeep/webhook.ts';
import { once, sendOnce } from '../core/claims.ts';
import type { TypedEvent } from '../core/events.ts';
import { defineFlow, type FlowContext, type FlowEvent, type FlowResult } from '../core/flow.ts';
import {
  applyCategorized,
  applyEnded,
  applyStarted,
  downtimeSettingsShape,
  downtimeTriggers,
  EPISODE_WITHOUT_WORK_ORDER,
  EPISODE_WORK_ORDER_MAPPING,
  type EpisodeBase,
  episodeRules,
  minutes,
  parseEventData,
  patchEpisode,
  readEpisode,
  type Synced as SharedSynced,
  startedSkipReason,
  syncResult,
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
  assetId?: string;
  workOrderId?: string;
  /** The reason id the work order shows. */
  reasonShown?: string;
  assetDown?: boolean;
  recovered?: boolean;
  /** Keys already mapped to the work order (EPISODE_WORK_ORDER_MAPPING). */
  mapped?: string[];
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
    `Down since: ${episode.startedAt ?? '(unknown)'}`,
  ];
  const started = Date.parse(episode.startedAt ?? now.toISOString());
  if (episode.endedAt) {
    lines.push(`Running again since: ${episode.endedAt}`);
    lines.push(`Total downtime: ${minutes(episode.downtimeMs ?? Date.parse(episode.endedAt) - started)}`);
  } else {
    lines.push(`Down for at least: ${minutes(now.getTime() - started)} when reported`);
  }
  lines.push('', `Created by Millwright. ${marker(episode.key)}`);
  return lines.join('\n');
}

type Ctx = FlowContext<DowntimeFlowConfig, Deps>;

const rulesFor = (config: DowntimeFlowConfig) =>
  episodeRules<Episode>(config, (e) => e.workOrderId !== undefined);

const assetFor = (config: DowntimeFlowConfig, machineId: string) =>
  config.machines[machineId]?.assetId ??
  (config.unmappedMachines === 'default-asset' ? config.defaultAssetId : undefined);

/** What one `sync` did to UpKeep. */
type Synced = SharedSynced & { workOrderId?: string };

async function createWorkOrder(ctx: Ctx, episode: Episode, assetId: string) {
  const { config } = ctx;
  const upkeep = ctx.deps.upkeep;
  const startedAt = episode.startedAt ?? ctx.now().toISOString();
  return once(ctx.state, {
    key: `${ctx.flowId}:work-order:${episode.key}`,
    // An earlier attempt may have created it (e.g. timeout after the create): look for our marker.
    find: async () => {
      const since = Date.parse(startedAt) - 60 * 60_000;
      const candidates = await upkeep.listAllWorkOrders({ asset: assetId, createdAtGte: since });
      const found = candidates.find((wo: WorkOrder) => wo.description?.includes(marker(episode.key)));
      return found ? { workOrderId: found.id } : undefined;
    },
    perform: async () => {
      const wo = await upkeep.createWorkOrder({
        title: workOrderTitle(config, episode),
        // The record as of its start; a known end comes with the recovery update right after.
        description: workOrderDescription(
          { ...episode, endedAt: undefined, downtimeMs: undefined },
          ctx.now(),
        ),
        priority: config.workOrder.priority as 0 | 1 | 2 | 3,
        category: config.workOrder.category,
        assignedToUser: config.workOrder.assignedToUser,
        asset: assetId,
        location: config.machines[episode.machineId]?.location,
        startDate: Date.parse(startedAt),
      });
      await rememberWorkOrderWrite(ctx, wo);
      return { workOrderId: wo.id };
    },
  });
}

/** Per UpKeep asset: the latest `recordedOn` we have sent a downtime record for (kind of putLatest). */
const ASSET_RECORDS = 'upkeep-asset-downtime-recorded';

/**
 * Record asset downtime (POST /assets/downtime: no key, no read-back of its rows) at most once,
 * never lost: through `sendOnce`, whose look-up after a lost answer reads the asset's
 * `downtimeStatus` (ASSUMPTION UPKEEP_ASSET_STATUS: the asset shows its latest recorded status).
 * That tells only while this record is the asset's latest one we sent: when a later record of ours
 * exists (records sent out of order), the status cannot tell, and the event is parked with what to
 * check rather than recorded twice or not at all.
 */
async function recordAssetStatus(
  ctx: Ctx,
  upkeep: UpKeepClient,
  key: string,
  entry: { assetId: string; status: 'available' | 'not-available'; recordedOn: string },
) {
  const { assetId, status, recordedOn } = entry;
  const at = Date.parse(recordedOn);
  await sendOnce(ctx.state, {
    key,
    what: `UpKeep asset ${assetId} ${status} record at ${recordedOn}`,
    check: `Open UpKeep asset ${assetId} and look in its downtime history for a "${status}" record at ${recordedOn}. If it is there, discard this event; if not, clear the unconfirmed send (forgetUnconfirmedSend "${key}", core/claims.ts) and replay this event.`,
    lookup: async () => {
      const latest = await ctx.state.getLatest<{ recordedOn: string }>(ASSET_RECORDS, assetId);
      if (latest && Date.parse(latest.data.recordedOn) > at) {
        return {
          status: 'unknown',
          why: `a later record of asset ${assetId} (${latest.data.recordedOn}) hides its status`,
        };
      }
      const shown = await upkeep.getAssetDowntimeStatus(assetId);
      return shown === status ? { status: 'found', value: undefined } : { status: 'absent' };
    },
    send: async () => {
      const latest = await ctx.state.getLatest<{ recordedOn: string }>(ASSET_RECORDS, assetId);
      if (!latest || Date.parse(latest.data.recordedOn) <= at) {
        await ctx.state.putLatest(ASSET_RECORDS, [{ id: assetId, data: { recordedOn } }], 90);
      }
      await upkeep.recordAssetDowntime([entry]);
    },
  });
  return { assetId };
}

/**
 * Bring UpKeep in line with the episode: create its work order (only when `create`: a "started"
 * event), mark the asset down, show the current reason, apply the recovery. One step at a time, each
 * under its own claim and recorded on the episode, so a retry or another event finishes what is left.
 */
async function sync(ctx: Ctx, machineId: string, key: string, create: boolean): Promise<Synced> {
  const done: Synced = {};
  const upkeep = ctx.deps.upkeep;
  const { config } = ctx;
  for (let step = 0; step < 8; step++) {
    const e = await readEpisode<Episode>(ctx, machineId, key);
    if (!e?.started) return done;
    if (!e.workOrderId) {
      const assetId = assetFor(config, machineId);
      if (!create || !assetId) return done;
      const created = await createWorkOrder(ctx, e, assetId);
      const workOrderId = created.result.workOrderId as string;
      done.created = created.how;
      await patchEpisode<Episode>(ctx, machineId, key, (x) => ({
        workOrderId,
        assetId,
        // What the record shows is known only when this attempt made it ('' forces a reason update).
        reasonShown: x.reasonShown ?? (created.how === 'performed' ? e.reasonId : ''),
      }));
      continue;
    }
    const workOrderId = e.workOrderId;
    const assetId = e.assetId ?? assetFor(config, machineId) ?? '';
    done.workOrderId = workOrderId;
    if (e.keys.some((k) => !e.mapped?.includes(k))) {
      await ctx.state.putMapping(`${ctx.flowId}:work-order`, workOrderId, `${machineId}|${e.key}`);
      // Every key of the downtime, so the task-status flow finds it by the key its task carries.
      for (const k of e.keys) await ctx.state.putMapping(EPISODE_WORK_ORDER_MAPPING, k, workOrderId);
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ mapped: [...e.keys] }));
      continue;
    }
    if (config.recordAssetDowntime && !e.assetDown) {
      await once(ctx.state, {
        key: `${ctx.flowId}:asset-down:${e.key}`,
        perform: () =>
          recordAssetStatus(ctx, upkeep, `${ctx.flowId}:asset-down:${e.key}`, {
            assetId,
            status: 'not-available',
            recordedOn: e.startedAt ?? ctx.now().toISOString(),
          }),
      });
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ assetDown: true }));
      continue;
    }
    if (e.reasonShown !== e.reasonId) {
      await once(ctx.state, {
        key: `${ctx.flowId}:reason:${e.key}:${e.reasonId}:${e.reasonAt ?? e.reasonFrom ?? ''}`,
        perform: async () => {
          const wo = await upkeep.updateWorkOrder(workOrderId, {
            title: workOrderTitle(config, e),
            description: workOrderDescription(e, ctx.now()),
          });
          await rememberWorkOrderWrite(ctx, wo);
          return { workOrderId };
        },
      });
      done.reason = e.reasonName;
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ reasonShown: e.reasonId }));
      continue;
    }
    if (e.endedAt && !e.recovered) {
      const endedAt = e.endedAt;
      // The work order first: it says the most, and an asset record that must be parked does not hold it.
      await once(ctx.state, {
        key: `${ctx.flowId}:recovered:${e.key}`,
        perform: async () => {
          const wo = await upkeep.updateWorkOrder(workOrderId, {
            description: workOrderDescription(e, ctx.now()),
            ...(config.workOrder.onRecovery === 'complete' ? { status: 'complete' as const } : {}),
          });
          await rememberWorkOrderWrite(ctx, wo);
          return { workOrderId };
        },
      });
      if (config.recordAssetDowntime) {
        await once(ctx.state, {
          key: `${ctx.flowId}:asset-up:${e.key}`,
          perform: () =>
            recordAssetStatus(ctx, upkeep, `${ctx.flowId}:asset-up:${e.key}`, {
              assetId,
              status: 'available',
              recordedOn: endedAt,
            }),
        });
      }
      done.recovered = true;
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ recovered: true }));
      continue;
    }
    return done;
  }
  return done;
}

const resultOf = syncResult<Episode>;

async function onStarted(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data: DowntimeStarted = parseEventData(downtimeStartedSchema, event);
  const { config } = ctx;
  if (!assetFor(config, data.machineId)) {
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
  const wasStarted = (e: Episode | undefined) => e?.started === true;
  const before = await readEpisode<Episode>(ctx, data.machineId, data.episodeKey);
  const applied = await applyStarted<Episode>(ctx, rulesFor(config), data, (e) =>
    startedSkipReason(config, { ...data, reasonId: e.reasonId, reasonName: e.reasonName }),
  );
  if (applied.status === 'stale') return { outcome: 'stale', message: applied.message };
  if (!('episode' in applied)) return { outcome: 'skipped', message: applied.message };
  const episode = applied.episode;
  if (applied.skip && !episode.started) return { outcome: 'skipped', message: applied.skip };
  const synced = await sync(ctx, data.machineId, episode.key, true);
  return resultOf(applied, synced, () => ({
    outcome: 'duplicate',
    message:
      episode.key !== data.episodeKey && !wasStarted(before)
        ? `same downtime as episode ${episode.key}; work order ${synced.workOrderId ?? '?'} exists`
        : episode.endedAt
          ? `episode ${episode.key} already ended; work order ${synced.workOrderId ?? '?'}`
          : `work order ${synced.workOrderId ?? '?'} already exists for episode ${episode.key}`,
  }));
}

async function onCategorized(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data: DowntimeCategorized = parseEventData(downtimeCategorizedSchema, event);
  const applied = await applyCategorized<Episode>(ctx, rulesFor(ctx.config), data);
  if (!('episode' in applied)) {
    return { outcome: applied.status === 'stale' ? 'stale' : 'skipped', message: applied.message };
  }
  const synced = await sync(ctx, data.machineId, applied.episode.key, false);
  return resultOf(applied, synced, () =>
    applied.status === 'unchanged'
      ? { outcome: 'duplicate', message: applied.message }
      : {
          outcome: 'skipped',
          message: `${applied.message}; kept on the episode, used when its work order is made`,
        },
  );
}

async function onEnded(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data: DowntimeEnded = parseEventData(downtimeEndedSchema, event);
  const applied = await applyEnded<Episode>(ctx, rulesFor(ctx.config), data);
  if (!('episode' in applied)) {
    return { outcome: applied.status === 'stale' ? 'stale' : 'skipped', message: applied.message };
  }
  const episode = applied.episode;
  const synced = await sync(ctx, data.machineId, episode.key, false);
  return resultOf(applied, synced, () =>
    applied.status === 'unchanged'
      ? { outcome: 'duplicate', message: applied.message }
      : {
          outcome: 'skipped',
          message: `${applied.message}; ${episode.started ? 'its work order is not made yet: the retried started event makes it and records this end' : 'kept until its started event comes (or the downtime stays below the minimum)'}`,
        },
  );
}

/** UpKeep work-order webhooks: recognise our own writes (no loops); note changes made by people. */
async function onUpKeepWorkOrder(
  event: TypedEvent<string, UpKeepWebhookData>,
  ctx: Ctx,
): Promise<FlowResult> {
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

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> UpKeep work order (and asset downtime)',
  vendors: ['machinemetrics', 'upkeep'],
  config: configSchema,
  triggers: [...downtimeTriggers<DowntimeFlowConfig>(), { kind: 'webhook', receiver: upkeepWebhook }],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  on: {
    [DOWNTIME_STARTED]: (event, ctx) => onStarted(event, ctx),
    [DOWNTIME_CATEGORIZED]: (event, ctx) => onCategorized(event, ctx),
    [DOWNTIME_ENDED]: (event, ctx) => onEnded(event, ctx),
    'upkeep.WORK_ORDER_UPDATED': (event, ctx) => onUpKeepWorkOrder(event, ctx),
    'upkeep.WORK_ORDER_STATUS_UPDATED': (event, ctx) => onUpKeepWorkOrder(event, ctx),
  },
});

export default flow;
