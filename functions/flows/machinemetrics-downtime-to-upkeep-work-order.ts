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
 * The handlers and that sync are shared/downtime-record.ts's; this file states the UpKeep side.
 *
 * Order per subject (machine, episode): by the episode key and the events' own times in the
 * machine's episode item; a "started" retried or replayed after its "ended" makes no second work
 * order and never reopens a closed one (`duplicate`); asset records are ordered by `recordedOn`.
 */
import * as z from 'zod/mini';
import { connectUpKeep, markedRecordId, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { type UpKeepWebhookData, upkeepWebhook } from '../connectors/upkeep/webhook.ts';
import { forgetSendCommand, once, sendOnce } from '../core/claims.ts';
import { NotReadyError } from '../core/errors.ts';
import type { TypedEvent } from '../core/events.ts';
import { defineFlow, type FlowContext, type FlowResult, type RuntimeEnv } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import {
  downtimeSettingsShape,
  EPISODE_WITHOUT_WORK_ORDER,
  EPISODE_WORK_ORDER_MAPPING,
} from './shared/downtime.ts';
import {
  downtimeHandlers,
  downtimeLines,
  downtimeTriggers,
  mappedMachines,
  type RecordStep,
  WORK_ORDER_GONE,
  type WorkOrderEpisode,
  workOrderTarget,
} from './shared/downtime-record.ts';
import {
  CREATED_BY_MILLWRIGHT,
  rememberWorkOrderWrite,
  workOrderEcho,
  writeWorkOrder,
} from './shared/echo.ts';
import { clip } from './shared/format.ts';
import { isGone } from './shared/gone.ts';

export const FLOW_ID = 'machinemetrics-downtime-to-upkeep-work-order';

export const configSchema = lazySchema(() =>
  z
    .object({
      /** MachineMetrics machine UUID -> UpKeep asset. */
      machines: z._default(
        z.record(
          z.string().check(z.minLength(1)),
          z.object({
            assetId: z.string().check(z.minLength(1)),
            /** A location id; non-empty, as createWorkOrder requires (else every create fails). */
            location: z.optional(z.string().check(z.minLength(1))),
          }),
        ),
        {},
      ),
      ...downtimeSettingsShape(),
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
    ),
);
export type DowntimeFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

/** This flow's episode: the shared fields plus the UpKeep asset and work order. */
export interface Episode extends WorkOrderEpisode {
  assetId?: string;
  workOrderId?: string;
  assetDown?: boolean;
  /** Keys already mapped to the work order (EPISODE_WORK_ORDER_MAPPING). */
  mapped?: string[];
}

const marker = (episodeKey: string) => `[millwright:${FLOW_ID}:${episodeKey}]`;

export function workOrderTitle(config: DowntimeFlowConfig, episode: Episode): string {
  return clip(`${config.workOrder.titlePrefix}: ${episode.machineName} (${episode.reasonName})`, 250);
}

/** Rebuilt from the episode every time, so writing it twice changes nothing. */
export function workOrderDescription(episode: Episode, now: Date): string {
  return [...downtimeLines(episode, now), '', `${CREATED_BY_MILLWRIGHT} ${marker(episode.key)}`].join('\n');
}

type Ctx = FlowContext<DowntimeFlowConfig, Deps>;

const assetFor = (config: DowntimeFlowConfig, machineId: string) =>
  config.machines[machineId]?.assetId ??
  (config.unmappedMachines === 'default-asset' ? config.defaultAssetId : undefined);

/**
 * Per UpKeep asset: the latest record we sent (its `recordedOn` and claim key), and whether its
 * answer is still unconfirmed (`pending`: sent or about to be, no clear answer seen yet). Items
 * written before `key`/`pending` existed read as confirmed.
 */
const ASSET_RECORDS = 'upkeep-asset-downtime-recorded';
interface AssetRecordMark {
  recordedOn: string;
  key?: string;
  pending?: boolean;
}

/**
 * Record asset downtime (POST /assets/downtime: no key, no read-back of its rows) at most once,
 * never lost: through `sendOnce`, whose look-up after a lost answer reads the asset's
 * `downtimeStatus` (ASSUMPTION UPKEEP_ASSET_STATUS: the asset shows its latest recorded status).
 * That tells only while this record is the asset's latest one we sent, so records of one asset are
 * sent one at a time in `recordedOn` order: a later record waits (NotReadyError, a bounded wait, then
 * parked) while an earlier one of ours is unconfirmed, and the look-up reads the status before our
 * mark, so a record that lands in between is seen as later, never mistaken for this one's absence.
 * When a later record of ours exists anyway (records sent out of order), or the asset shows no
 * `downtimeStatus` at all (optional in the doc), the status cannot tell, and the event is parked
 * with what to check rather than recorded twice or not at all.
 */
async function recordAssetStatus(
  ctx: Ctx,
  upkeep: UpKeepClient,
  key: string,
  entry: { assetId: string; status: 'available' | 'not-available'; recordedOn: string },
) {
  const { assetId, status, recordedOn } = entry;
  const at = Date.parse(recordedOn);
  const mark = (pending: boolean) =>
    ctx.state.putLatest<AssetRecordMark>(
      ASSET_RECORDS,
      [{ id: assetId, data: { recordedOn, key, pending } }],
      90,
    );
  // Whether the asset's mark is this record's (then it is confirmed once sendOnce has an answer).
  let ours = false;
  await sendOnce(ctx.state, {
    key,
    what: `UpKeep asset ${assetId} ${status} record at ${recordedOn}`,
    check: `Open UpKeep asset ${assetId} and look in its downtime history for a "${status}" record at ${recordedOn}. If it is there, discard this event; if not, clear the unconfirmed send (${forgetSendCommand(key)}) and replay this event.`,
    lookup: async () => {
      // Status first, then our mark: a record of ours landing between the two reads shows in the mark.
      const shown = await upkeep.getAssetDowntimeStatus(assetId);
      const latest = await ctx.state.getLatest<AssetRecordMark>(ASSET_RECORDS, assetId);
      if (latest && Date.parse(latest.data.recordedOn) > at) {
        return {
          status: 'unknown',
          why: `a later record of asset ${assetId} (${latest.data.recordedOn}) hides its status`,
        };
      }
      // No status shown (the field is optional): this asset does not show its latest record, so the
      // read cannot tell a landed record from a lost one; parked, neither sent twice nor dropped.
      if (shown.found && shown.status === null) {
        return {
          status: 'unknown',
          why: `asset ${assetId} shows no downtimeStatus, so its latest record cannot be read`,
        };
      }
      if (!shown.found || shown.status !== status) return { status: 'absent' };
      ours = latest?.data.key === key;
      return { status: 'found', value: undefined };
    },
    send: async () => {
      const latest = (await ctx.state.getLatest<AssetRecordMark>(ASSET_RECORDS, assetId))?.data;
      const later = latest ? Date.parse(latest.recordedOn) > at : false;
      if (latest?.pending && latest.key !== key && !later) {
        throw new NotReadyError(
          `asset ${assetId}'s earlier record (${latest.recordedOn}, ${latest.key}) to be confirmed before this later one is sent`,
        );
      }
      ours = !later;
      if (ours) await mark(true);
      await upkeep.recordAssetDowntime([entry]);
    },
  });
  // After the answer, outside `send`: a failure here retries the event, whose look-up finds the record.
  if (ours) await mark(false);
  return { assetId };
}

/** The asset's downtime record (`asset-down` / `asset-up`), under its own claim. */
function assetStatus(ctx: Ctx, e: Episode, step: 'asset-down' | 'asset-up', recordedOn: string) {
  const key = `${ctx.flowId}:${step}:${e.key}`;
  const assetId = e.assetId ?? assetFor(ctx.config, e.machineId) ?? '';
  const status = step === 'asset-down' ? 'not-available' : 'available';
  return once(ctx.state, {
    key,
    perform: () => recordAssetStatus(ctx, ctx.deps.upkeep, key, { assetId, status, recordedOn }),
  });
}

/** After the create: map every key of the downtime to the work order, then mark the asset down. */
const upkeepSteps: readonly RecordStep<DowntimeFlowConfig, Deps, Episode>[] = [
  {
    due: (_ctx, e) => e.keys.some((k) => !e.mapped?.includes(k)),
    run: async (ctx, e) => {
      const workOrderId = e.workOrderId ?? '';
      await ctx.state.putMapping(`${ctx.flowId}:work-order`, workOrderId, `${e.machineId}|${e.key}`);
      // Every key of the downtime, so the task-status flow finds it by the key its task carries.
      for (const k of e.keys) await ctx.state.putMapping(EPISODE_WORK_ORDER_MAPPING, k, workOrderId);
      return { mapped: [...e.keys] };
    },
  },
  {
    due: (ctx, e) => ctx.config.recordAssetDowntime && !e.assetDown,
    run: async (ctx, e) => {
      await assetStatus(ctx, e, 'asset-down', e.startedAt ?? ctx.now().toISOString());
      return { assetDown: true };
    },
  },
];

/** Note our own writes, so their webhooks are recognised (no loops). */
async function patchWorkOrder(ctx: Ctx, id: string, patch: Parameters<UpKeepClient['updateWorkOrder']>[1]) {
  try {
    await writeWorkOrder(ctx, id, () => ctx.deps.upkeep.updateWorkOrder(id, patch));
  } catch (error) {
    // A person deleted it: retrying or replaying cannot bring it back, and the asset's end of
    // downtime (after the recovery) must not wait on it.
    if (isGone(error)) return WORK_ORDER_GONE;
    throw error;
  }
  return undefined;
}

const target = workOrderTarget<DowntimeFlowConfig, Deps, Episode, { assetId: string }>({
  async unmapped(ctx, data) {
    if (assetFor(ctx.config, data.machineId)) return undefined;
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
  },
  placement: (config, machineId) => {
    const assetId = assetFor(config, machineId);
    return assetId ? { assetId } : undefined;
  },
  idOf: (claimed) => claimed,
  // An earlier attempt may have created it (e.g. timeout after the create): look for our marker.
  async find(ctx, episode, { assetId }) {
    const since = Date.parse(episode.startedAt ?? ctx.now().toISOString()) - 60 * 60_000;
    // Read one by one: a person's work order UpKeep answers oddly must not stall the look.
    const page = await ctx.deps.upkeep.listAllWorkOrderRecords({ asset: assetId, createdAtGte: since });
    const workOrderId = markedRecordId(page, marker(episode.key), 'listAllWorkOrderRecords');
    return workOrderId ? { workOrderId } : undefined;
  },
  async create(ctx, episode, { assetId }) {
    const { config } = ctx;
    const wo = await ctx.deps.upkeep.createWorkOrder({
      title: workOrderTitle(config, episode),
      description: workOrderDescription({ ...episode, endedAt: undefined, downtimeMs: undefined }, ctx.now()),
      priority: config.workOrder.priority as 0 | 1 | 2 | 3,
      category: config.workOrder.category,
      assignedToUser: config.workOrder.assignedToUser,
      asset: assetId,
      location: config.machines[episode.machineId]?.location,
      startDate: Date.parse(episode.startedAt ?? ctx.now().toISOString()),
    });
    await rememberWorkOrderWrite(ctx, wo);
    return { workOrderId: wo.id };
  },
  steps: upkeepSteps,
  showReason: (ctx, e, id) =>
    patchWorkOrder(ctx, id, {
      title: workOrderTitle(ctx.config, e),
      description: workOrderDescription(e, ctx.now()),
    }),
  recover: (ctx, e, id) =>
    patchWorkOrder(ctx, id, {
      description: workOrderDescription(e, ctx.now()),
      ...(ctx.config.workOrder.onRecovery === 'complete' ? { status: 'complete' as const } : {}),
    }),
  async afterRecovery(ctx, e) {
    if (ctx.config.recordAssetDowntime) await assetStatus(ctx, e, 'asset-up', e.endedAt ?? '');
  },
  alreadyMade: ({ episode, wasStarted }, synced, data) =>
    episode.key !== data.episodeKey && !wasStarted
      ? `same downtime as episode ${episode.key}; work order ${synced.workOrderId ?? '?'} exists`
      : episode.endedAt
        ? `episode ${episode.key} already ended; work order ${synced.workOrderId ?? '?'}`
        : `work order ${synced.workOrderId ?? '?'} already exists for episode ${episode.key}`,
  endKept: ({ episode }) =>
    episode.started
      ? 'its work order is not made yet: the retried started event makes it and records this end'
      : 'kept until its started event comes (or the downtime stays below the minimum)',
});

/** The UpKeep webhooks this flow watches its work orders through. */
export const UPKEEP_EVENTS = ['upkeep.WORK_ORDER_UPDATED', 'upkeep.WORK_ORDER_STATUS_UPDATED'] as const;
type UpKeepWorkOrderEvent = TypedEvent<(typeof UPKEEP_EVENTS)[number], UpKeepWebhookData>;

/** UpKeep work-order webhooks: recognise our own writes (no loops); note changes made by people. */
async function onUpKeepWorkOrder(event: UpKeepWorkOrderEvent, ctx: Ctx): Promise<FlowResult> {
  // The body is a trigger only: the work order is read again from the API.
  const { objectType, objectId } = event.data;
  const wo = objectType === 'workOrder' ? await ctx.deps.upkeep.getWorkOrder(objectId) : undefined;
  if (!wo) return { outcome: 'skipped', message: `work order ${event.subject ?? '?'} no longer exists` };
  const echo = await workOrderEcho(ctx, wo, event.data.updatedAt);
  if (echo) return echo;
  const owner = await ctx.state.getMapping(`${ctx.flowId}:work-order`, wo.id);
  if (!owner) return { outcome: 'skipped', message: `work order ${wo.id} was not created by this flow` };
  return {
    outcome: 'skipped',
    message: `work order ${wo.id} changed in UpKeep (status ${wo.status}); nothing to forward`,
    effects: { workOrderId: wo.id },
  };
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> UpKeep work order (and asset downtime)',
  vendors: ['machinemetrics', 'upkeep'],
  config: configSchema,
  triggers: [
    // groupMachines: the episodes of machines the other downtime flows map come here too, so the
    // task-status flow learns "no UpKeep work order" for them instead of waiting.
    ...downtimeTriggers<DowntimeFlowConfig>(
      (c) => (c.unmappedMachines === 'default-asset' ? undefined : mappedMachines(c.machines)),
      { groupMachines: true },
    ),
    { kind: 'webhook', receiver: upkeepWebhook },
  ],
  // Typed: the handlers are plain functions, so Deps is inferred from here.
  setup: (env: RuntimeEnv): Deps => ({ upkeep: connectUpKeep(env) }),
  on: {
    ...downtimeHandlers(target),
    'upkeep.WORK_ORDER_UPDATED': onUpKeepWorkOrder,
    'upkeep.WORK_ORDER_STATUS_UPDATED': onUpKeepWorkOrder,
  },
});

export default flow;
