/**
 * MachineMetrics downtime -> Click Maint work order.
 *
 * The downtime flow with Click Maint as the CMMS, for the machines listed in this flow's
 * `machines` (each mapped to a Click Maint entity and asset): one reactive work order per downtime
 * episode, with status and priority from config; recategorisation updates it; when the machine
 * runs again the work order records the end (and, with `onRecovery: "complete"`, is completed).
 * Every event goes to its episode through the per-machine state machine of shared/downtime.ts (the
 * transition table is there): a late, replayed or out-of-order event lands on its own episode or is
 * `stale`, an end or reason seen before the work order exists is applied right after its create.
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
  type Applied,
  applyCategorized,
  applyEnded,
  applyStarted,
  downtimeSettingsShape,
  downtimeTriggers,
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

type MachineMapping = ClickMaintDowntimeConfig['machines'][string];

export interface Episode extends EpisodeBase {
  entityId?: number;
  assetId?: number;
  workOrderId?: number;
  /** The reason id the work order shows. */
  reasonShown?: string;
  recovered?: boolean;
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
    `Down since: ${e.startedAt ?? '(unknown)'}`,
  ];
  const started = Date.parse(e.startedAt ?? now.toISOString());
  if (e.endedAt) {
    lines.push(`Running again since: ${e.endedAt}`);
    lines.push(`Total downtime: ${minutes(e.downtimeMs ?? Date.parse(e.endedAt) - started)}`);
  } else {
    lines.push(`Down for at least: ${minutes(now.getTime() - started)} when reported`);
  }
  lines.push('', `Created by Millwright (${FLOW_ID}, episode ${e.key}).`);
  return lines.join('\n');
}

const rulesFor = (config: ClickMaintDowntimeConfig) =>
  episodeRules<Episode>(config, (e) => e.workOrderId !== undefined);

/** What one `sync` did to Click Maint. */
type Synced = SharedSynced & { workOrderId?: number };

async function createWorkOrder(ctx: Ctx, episode: Episode, mapping: MachineMapping) {
  const { config } = ctx;
  const cm = ctx.deps.clickMaint;
  return once(ctx.state, {
    key: `${ctx.flowId}:work-order:${episode.key}`,
    // An earlier attempt may have created it (timeout after the create): search for the title tag.
    find: async () => {
      const found = await cm.findWorkOrderByTitleTag(mapping.entityId, episodeTag(episode.key));
      return found ? { workOrderId: String(found.id) } : undefined;
    },
    perform: async () => {
      const wo = await cm.createWorkOrder(mapping.entityId, {
        title: workOrderTitle(config, episode),
        type: 'reactive',
        // The record as of its start; a known end comes with the recovery update right after.
        description: workOrderDescription(
          { ...episode, endedAt: undefined, downtimeMs: undefined },
          ctx.now(),
        ),
        priority: config.workOrder.priority,
        asset_id: mapping.assetId,
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
}

/**
 * Bring Click Maint in line with the episode: create its work order (only when `create`: a
 * "started" event), show the current reason, apply the recovery; each step under its own claim and
 * recorded on the episode, so a retry or another event finishes what is left.
 */
async function sync(ctx: Ctx, machineId: string, key: string, create: boolean): Promise<Synced> {
  const done: Synced = {};
  const cm = ctx.deps.clickMaint;
  const { config } = ctx;
  for (let step = 0; step < 6; step++) {
    const e = await readEpisode<Episode>(ctx, machineId, key);
    if (!e?.started) return done;
    if (e.workOrderId === undefined) {
      const mapping = config.machines[machineId];
      if (!create || !mapping) return done;
      const created = await createWorkOrder(ctx, e, mapping);
      const workOrderId = Number(created.result.workOrderId);
      done.created = created.how;
      await patchEpisode<Episode>(ctx, machineId, key, (x) => ({
        workOrderId,
        entityId: mapping.entityId,
        assetId: mapping.assetId,
        // What the record shows is known only when this attempt made it ('' forces a reason update).
        reasonShown: x.reasonShown ?? (created.how === 'performed' ? e.reasonId : ''),
      }));
      continue;
    }
    const workOrderId = e.workOrderId;
    const entityId = e.entityId ?? config.machines[machineId]?.entityId ?? 0;
    done.workOrderId = workOrderId;
    if (e.reasonShown !== e.reasonId) {
      await once(ctx.state, {
        key: `${ctx.flowId}:reason:${e.key}:${e.reasonId}:${e.reasonAt ?? e.reasonFrom ?? ''}`,
        perform: async () => {
          await cm.updateWorkOrder(entityId, workOrderId, {
            title: workOrderTitle(config, e),
            description: workOrderDescription(e, ctx.now()),
          });
          return { workOrderId: String(workOrderId) };
        },
      });
      done.reason = e.reasonName;
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ reasonShown: e.reasonId }));
      continue;
    }
    if (e.endedAt && !e.recovered) {
      const endedAt = e.endedAt;
      const complete = config.workOrder.onRecovery === 'complete';
      await once(ctx.state, {
        key: `${ctx.flowId}:recovered:${e.key}`,
        perform: async () => {
          await cm.updateWorkOrder(entityId, workOrderId, {
            description: workOrderDescription(e, ctx.now()),
            ...(complete ? { status_id: config.workOrder.completedStatusId, completed_at: endedAt } : {}),
          });
          return { workOrderId: String(workOrderId) };
        },
      });
      done.recovered = true;
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ recovered: true }));
      continue;
    }
    return done;
  }
  return done;
}

/** The run-log result of an event (shared/downtime.ts `syncResult`), saying how a recovery completed. */
const resultOf = (applied: Applied<Episode>, synced: Synced, nothing: () => FlowResult) =>
  syncResult(applied, synced, nothing, synced.recovered ? ' (completed per onRecovery)' : '');

async function onStarted(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeStartedSchema, event);
  const { config } = ctx;
  if (!config.machines[data.machineId]) {
    return {
      outcome: 'skipped',
      message: `machine ${data.machineName} (${data.machineId}) is not in flows.${FLOW_ID}.machines`,
    };
  }
  const applied = await applyStarted<Episode>(ctx, rulesFor(config), data, (e) =>
    startedSkipReason(config, { ...data, reasonId: e.reasonId, reasonName: e.reasonName }),
  );
  if (!('episode' in applied)) {
    return { outcome: applied.status === 'stale' ? 'stale' : 'skipped', message: applied.message };
  }
  const episode = applied.episode;
  if (applied.skip && !episode.started) return { outcome: 'skipped', message: applied.skip };
  const synced = await sync(ctx, data.machineId, episode.key, true);
  return resultOf(applied, synced, () => ({
    outcome: 'duplicate',
    message: `${episode.key === data.episodeKey ? '' : `same downtime as episode ${episode.key}; `}work order ${synced.workOrderId ?? '?'} exists`,
  }));
}

async function onCategorized(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeCategorizedSchema, event);
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
  const data = parseEventData(downtimeEndedSchema, event);
  const applied = await applyEnded<Episode>(ctx, rulesFor(ctx.config), data);
  if (!('episode' in applied)) {
    return { outcome: applied.status === 'stale' ? 'stale' : 'skipped', message: applied.message };
  }
  const synced = await sync(ctx, data.machineId, applied.episode.key, false);
  return resultOf(applied, synced, () =>
    applied.status === 'unchanged'
      ? { outcome: 'duplicate', message: applied.message }
      : {
          outcome: 'skipped',
          message: `${applied.message}; kept: the work order is made (and this end recorded) when its started event is processed`,
        },
  );
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> Click Maint work order',
  vendors: ['machinemetrics', 'click-maint'],
  config: configSchema,
  // Click Maint calls wait for the account's shared budget; keep a few workers with time to wait.
  worker: { timeoutSeconds: 60, batchSize: 1, maxConcurrency: 2 },
  triggers: downtimeTriggers<ClickMaintDowntimeConfig>(),
  setup: (env) => ({ clickMaint: connectClickMaint(env) }),
  on: {
    [DOWNTIME_STARTED]: (event, ctx) => onStarted(event, ctx),
    [DOWNTIME_CATEGORIZED]: (event, ctx) => onCategorized(event, ctx),
    [DOWNTIME_ENDED]: (event, ctx) => onEnded(event, ctx),
  },
});

export default flow;
