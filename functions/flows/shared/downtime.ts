/**
 * What every "MachineMetrics downtime -> CMMS" flow shares, whichever CMMS it targets: the
 * downtime settings (minimum, reasons, poller), the triggers, and the machine's episode slot.
 *
 * One episode per machine at a time: the first "started" event (poller or Workflow webhook) opens
 * the machine's slot with a conditional write; any other "started" event while it is open is the
 * same downtime seen by another source and creates nothing.
 */
import * as z from 'zod/mini';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  type DowntimeEnded,
  type DowntimeStarted,
} from '../../connectors/machinemetrics/events.ts';
import { downtimePollSource } from '../../connectors/machinemetrics/poll-source.ts';
import { machineMetricsWebhook } from '../../connectors/machinemetrics/webhook.ts';
import { MillwrightError } from '../../core/errors.ts';
import type { FlowEvent, FlowResult, Trigger } from '../../core/flow.ts';
import { parseWith } from '../../core/schema.ts';
import type { StateStore } from '../../core/state.ts';

const reasonMatcher = z.array(z.string().check(z.minLength(1)));

/** Config fields every downtime flow has (spread into the flow's own z.object). */
export const downtimeSettingsShape = {
  /** A machine must be down this long before the CMMS gets a record. */
  minimumMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1440)), 10),
  /** Reason ids or names (case-insensitive). `include` empty = all reasons. */
  reasons: z._default(
    z.object({ include: z._default(reasonMatcher, []), exclude: z._default(reasonMatcher, []) }),
    { include: [], exclude: [] },
  ),
  /** Downtime poller settings (reference: shared/vendors/machinemetrics/reference.md section 4.3). */
  poll: z._default(
    z.object({
      everyMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(60)), 5),
      settleMinutes: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(120)), 5),
      maxCatchUpMinutes: z._default(z.number().check(z.int(), z.minimum(5)), 1440),
      recategorizeGraceMinutes: z._default(z.number().check(z.int(), z.minimum(0)), 60),
    }),
    { everyMinutes: 5, settleMinutes: 5, maxCatchUpMinutes: 1440, recategorizeGraceMinutes: 60 },
  ),
};

export interface DowntimeSettings {
  minimumMinutes: number;
  reasons: { include: string[]; exclude: string[] };
  poll: {
    everyMinutes: number;
    settleMinutes: number;
    maxCatchUpMinutes: number;
    recategorizeGraceMinutes: number;
  };
}

/** The poller and the MachineMetrics Workflow webhook, configured from the downtime settings. */
export function downtimeTriggers<C extends DowntimeSettings>(): Trigger<C>[] {
  return [
    {
      kind: 'schedule',
      source: downtimePollSource,
      everyMinutes: (c) => c.poll.everyMinutes,
      options: (c) => ({
        minimumMinutes: c.minimumMinutes,
        stepMinutes: c.poll.everyMinutes,
        settleMinutes: c.poll.settleMinutes,
        maxCatchUpMinutes: c.poll.maxCatchUpMinutes,
        recategorizeGraceMinutes: c.poll.recategorizeGraceMinutes,
      }),
    },
    {
      kind: 'webhook',
      receiver: machineMetricsWebhook,
      events: [DOWNTIME_STARTED, DOWNTIME_CATEGORIZED, DOWNTIME_ENDED],
    },
  ];
}

export const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export function matchesReason(list: readonly string[], id: string, name: string): boolean {
  const wanted = new Set(list.map((r) => r.toLowerCase()));
  return wanted.has(id.toLowerCase()) || wanted.has(name.toLowerCase());
}

export function reasonAllowed(config: DowntimeSettings, id: string, name: string): boolean {
  if (matchesReason(config.reasons.exclude, id, name)) return false;
  return config.reasons.include.length === 0 || matchesReason(config.reasons.include, id, name);
}

/** Why a "started" event gets no CMMS record (below the minimum, excluded reason), if it does not. */
export function startedSkipReason(config: DowntimeSettings, data: DowntimeStarted): string | undefined {
  if (data.downtimeMs < config.minimumMinutes * 60_000 * 0.98) {
    return `down ${minutes(data.downtimeMs)}, below the ${config.minimumMinutes} min minimum (the poller confirms longer downtime)`;
  }
  if (!reasonAllowed(config, data.reasonId, data.reasonName)) {
    return `reason ${data.reasonName} (${data.reasonId}) is not included`;
  }
  return undefined;
}

export class InvalidEventError extends MillwrightError {
  constructor(type: string, field: string, message: string) {
    super(`event ${type}: invalid data at ${field}: ${message}`);
  }
}

export function parseEventData<S extends z.ZodMiniType>(schema: S, event: FlowEvent): z.infer<S> {
  return parseWith(schema, event.data, (p) => new InvalidEventError(event.type, p.path, p.message));
}

/** The fields every episode has; each flow adds its CMMS record's id. */
export interface EpisodeBase {
  key: string;
  machineId: string;
  machineName: string;
  startedAt: string;
  reasonId: string;
  reasonName: string;
  endedAt?: string;
  downtimeMs?: number;
}

export interface MachineSlot<E extends EpisodeBase> {
  open?: E;
  /** The last closed episode, so late duplicates and late categorisations are recognised. */
  last?: E;
}

interface SlotContext {
  flowId: string;
  state: StateStore;
}

export async function readSlot<E extends EpisodeBase>(
  ctx: SlotContext,
  machineId: string,
): Promise<MachineSlot<E>> {
  return (await ctx.state.getEntity<MachineSlot<E>>(ctx.flowId, machineId))?.data ?? {};
}

/** Read-modify-write the machine slot with optimistic locking (a few tries on conflict). */
export async function updateSlot<E extends EpisodeBase>(
  ctx: SlotContext,
  machineId: string,
  change: (slot: MachineSlot<E>) => MachineSlot<E> | undefined,
): Promise<MachineSlot<E>> {
  return (await ctx.state.updateEntity<MachineSlot<E>>(ctx.flowId, machineId, (s) => change(s ?? {}))) ?? {};
}

/**
 * Open the machine's episode slot for `candidate`, unless one is open (the same downtime seen by
 * another source: `merged`) or this very episode already ended. Returns the open episode, if any.
 */
export async function openEpisode<E extends EpisodeBase>(
  ctx: SlotContext,
  candidate: E,
): Promise<{ episode?: E; merged: boolean }> {
  let merged = false;
  const slot = await updateSlot<E>(ctx, candidate.machineId, (s) => {
    if (s.open) {
      merged = s.open.key !== candidate.key;
      return undefined;
    }
    if (s.last?.key === candidate.key) return undefined;
    return { ...s, open: candidate };
  });
  return { episode: slot.open, merged };
}

/** Merge `patch` into the open episode if it is still `key`. */
export function patchOpenEpisode<E extends EpisodeBase>(
  ctx: SlotContext,
  machineId: string,
  key: string,
  patch: Partial<E>,
) {
  return updateSlot<E>(ctx, machineId, (s) =>
    s.open?.key === key ? { ...s, open: { ...s.open, ...patch } } : undefined,
  );
}

/**
 * An "ended" event: the machine's open episode as it closes (end time and total downtime set), or
 * the result to return when there is nothing to close (already ended: a duplicate; none open).
 */
export async function closingEpisode<E extends EpisodeBase>(
  ctx: SlotContext,
  data: DowntimeEnded,
): Promise<{ episode: E; closed: E; downtimeMs: number } | { result: FlowResult }> {
  const current = await readSlot<E>(ctx, data.machineId);
  const episode = current.open;
  if (!episode) {
    return {
      result:
        current.last && (!data.episodeKey || data.episodeKey === current.last.key)
          ? { outcome: 'duplicate', message: `episode ${current.last.key} already ended` }
          : { outcome: 'skipped', message: `no open downtime episode for machine ${data.machineId}` },
    };
  }
  const downtimeMs = data.downtimeMs ?? Date.parse(data.endedAt) - Date.parse(episode.startedAt);
  return { episode, closed: { ...episode, endedAt: data.endedAt, downtimeMs }, downtimeMs };
}

/** Move the closed episode from `open` to `last` (if it is still the open one). */
export const saveClosedEpisode = <E extends EpisodeBase>(ctx: SlotContext, closed: E) =>
  updateSlot<E>(ctx, closed.machineId, (s) => (s.open?.key === closed.key ? { last: closed } : undefined));

/** Cross-flow mapping: downtime episode key -> UpKeep work order id (read by the task-status flow). */
export const EPISODE_WORK_ORDER_MAPPING = 'downtime-episode-upkeep-work-order';
/**
 * Cross-flow decision: downtime episode key -> why the UpKeep downtime flow creates no work order for
 * it (e.g. the machine has no UpKeep asset). The task-status flow skips a task of such an episode
 * instead of waiting for a work order that will never come.
 */
export const EPISODE_WITHOUT_WORK_ORDER = 'downtime-episode-no-upkeep-work-order';
