/**
 * The downtime-to-record kit: what every "MachineMetrics downtime -> CMMS record" flow does with a
 * downtime event, whichever CMMS it targets. The event is applied to its machine's episodes (the
 * state machine of shared/downtime.ts, transition table in its header), then the target's record is
 * brought in line with the episode. A flow states only what differs, as a `DowntimeTarget`: which
 * machines it serves, how it makes (and updates) its record, and its run-log lines.
 *
 * Records that can be updated (work orders) get the whole sync from `workOrderTarget`: create,
 * the target's own steps, the current reason, then the recovery; each step under its own claim and
 * recorded on the episode, so a retry or another event finishes what an earlier attempt left.
 */
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  type DowntimeStarted,
  type machineMetricsEvents,
} from '../../connectors/machinemetrics/events.ts';
import { downtimePollSource } from '../../connectors/machinemetrics/poll-source.ts';
import { machineMetricsWebhook } from '../../connectors/machinemetrics/webhook.ts';
import { once } from '../../core/claims.ts';
import type { EventOf } from '../../core/events.ts';
import type { FlowContext, FlowResult, Trigger } from '../../core/flow.ts';
import {
  type Applied,
  applyCategorized,
  applyEnded,
  applyStarted,
  type DowntimeSettings,
  type EpisodeBase,
  type EpisodeRules,
  episodeRules,
  patchEpisode,
  readEpisode,
  startedSkipReason,
} from './downtime.ts';
import { minutes } from './format.ts';

/** A downtime event as a handler gets it: its data parsed and typed by its schema. */
type DowntimeEvent<T extends keyof typeof machineMetricsEvents> = EventOf<typeof machineMetricsEvents, T>;
export type StartedEvent = DowntimeEvent<typeof DOWNTIME_STARTED>;
export type CategorizedEvent = DowntimeEvent<typeof DOWNTIME_CATEGORIZED>;
export type EndedEvent = DowntimeEvent<typeof DOWNTIME_ENDED>;

/** What applying an event did, when it landed on an episode. */
export type OnEpisode<E extends EpisodeBase> = Extract<Applied<E>, { episode: E }>;
/** The same for a "started" event: why it makes no record (if so), and whether it was started before. */
export type StartedOnEpisode<E extends EpisodeBase> = OnEpisode<E> & { skip?: string; wasStarted: boolean };

/**
 * The poller and the MachineMetrics Workflow webhook, configured from the downtime settings. Here,
 * not in downtime.ts: flows that only read downtime state (the task-status flow) do not bundle them.
 */
/**
 * The machines a downtime flow makes records for: the keys of its `machines` map (the poller tracks
 * only those), or undefined when it also acts on unmapped machines (then every machine is tracked).
 */
export const mappedMachines = (machines: Record<string, unknown>): string[] => Object.keys(machines).sort();

export function downtimeTriggers<C extends DowntimeSettings>(
  tracked: (config: C) => readonly string[] | undefined,
  sharing: { groupMachines?: boolean } = {},
): readonly [Trigger<C, typeof machineMetricsEvents>, Trigger<C, typeof machineMetricsEvents>] {
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
        ...(tracked(c) ? { machines: [...(tracked(c) ?? [])] } : {}),
        ...(sharing.groupMachines ? { groupMachines: true } : {}),
      }),
    },
    { kind: 'webhook', receiver: machineMetricsWebhook },
  ];
}

/** What a downtime flow states about its target system; the kit does the rest (calling these unbound). */
export interface DowntimeTarget<C extends DowntimeSettings, D, E extends EpisodeBase, S> {
  /** Whether the episode has its record (two episodes that both have one are never merged). */
  hasRecord: (episode: E) => boolean;
  /** The result for a "started" event of a machine this flow makes no record for; undefined: go on. */
  unmapped(ctx: FlowContext<C, D>, data: DowntimeStarted): Promise<FlowResult | undefined>;
  /**
   * Bring the record in line with the episode (read afresh by its machine and key). Only a "started"
   * event may `create` it; `eventId` is the event handled (a parked one, replayed, is recognised by it).
   */
  sync(ctx: FlowContext<C, D>, episode: EpisodeBase, create: boolean, eventId: string): Promise<S>;
  /** The run-log result of an event that landed on an episode, after the sync. */
  started(applied: StartedOnEpisode<E>, synced: S, data: DowntimeStarted, ctx: FlowContext<C, D>): FlowResult;
  categorized: (applied: OnEpisode<E>, synced: S) => FlowResult;
  ended: (applied: OnEpisode<E>, synced: S) => FlowResult;
}

const offEpisode = (applied: { status: string; message: string }): FlowResult => ({
  outcome: applied.status === 'stale' ? 'stale' : 'skipped',
  message: applied.message,
});

/** The three downtime handlers of a flow's `on` map, for `target`. */
export function downtimeHandlers<C extends DowntimeSettings, D, E extends EpisodeBase, S>(
  target: DowntimeTarget<C, D, E, S>,
) {
  type Ctx = FlowContext<C, D>;
  const rulesFor = (config: C) => episodeRules<E>(config, target.hasRecord);

  async function onStarted(event: StartedEvent, ctx: Ctx): Promise<FlowResult> {
    const { data } = event;
    const { config } = ctx;
    const unmapped = await target.unmapped(ctx, data);
    if (unmapped) return unmapped;
    const applied = await applyStarted<E>(ctx, rulesFor(config), data, (e) =>
      startedSkipReason(config, { ...data, reasonId: e.reasonId, reasonName: e.reasonName }),
    );
    if (!('episode' in applied)) return offEpisode(applied);
    const episode = applied.episode;
    if (applied.skip && !episode.started) return { outcome: 'skipped', message: applied.skip };
    const synced = await target.sync(ctx, episode, true, event.id);
    return target.started(applied, synced, data, ctx);
  }

  /** A categorisation or an end: applied to its episode, then the record brought in line. */
  const onUpdate =
    <T extends CategorizedEvent | EndedEvent>(
      apply: (ctx: Ctx, rules: EpisodeRules<E>, data: T['data']) => Promise<Applied<E>>,
      result: (applied: OnEpisode<E>, synced: S) => FlowResult,
    ) =>
    async (event: T, ctx: Ctx): Promise<FlowResult> => {
      const applied = await apply(ctx, rulesFor(ctx.config), event.data);
      if (!('episode' in applied)) return offEpisode(applied);
      return result(applied, await target.sync(ctx, applied.episode, false, event.id));
    };

  return {
    [DOWNTIME_STARTED]: onStarted,
    [DOWNTIME_CATEGORIZED]: onUpdate<CategorizedEvent>(applyCategorized, target.categorized),
    [DOWNTIME_ENDED]: onUpdate<EndedEvent>(applyEnded, target.ended),
  };
}

/** `unmapped` for flows that serve only the machines listed in their `machines` config. */
export const unlistedMachine =
  (flowId: string) => async (ctx: { config: { machines: Record<string, unknown> } }, data: DowntimeStarted) =>
    ctx.config.machines[data.machineId]
      ? undefined
      : ({
          outcome: 'skipped',
          message: `machine ${data.machineName} (${data.machineId}) is not in flows.${flowId}.machines`,
        } satisfies FlowResult);

/** The downtime lines of a record's text, rebuilt from the episode every time (writing twice changes nothing). */
export function downtimeLines(episode: EpisodeBase, now: Date): string[] {
  const lines = [
    `Machine: ${episode.machineName} (MachineMetrics ${episode.machineId})`,
    `Downtime reason: ${episode.reasonName}`,
    `Down since: ${episode.startedAt ?? '(unknown)'}`,
  ];
  const started = Date.parse(episode.startedAt ?? now.toISOString());
  if (episode.endedAt) {
    lines.push(
      `Running again since: ${episode.endedAt}`,
      `Total downtime: ${minutes(episode.downtimeMs ?? Date.parse(episode.endedAt) - started)}`,
    );
  } else {
    lines.push(`Down for at least: ${minutes(now.getTime() - started)} when reported`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Work orders: records made once, then kept in line with the episode's reason and end.

/** What bringing a work order in line with an episode did. */
export interface Synced {
  workOrderId?: string | number;
  created?: 'performed' | 'found' | 'duplicate';
  reason?: string;
  recovered?: boolean;
  /** The work order was gone (a person deleted it) when a write to it was due. */
  gone?: boolean;
}

/**
 * What `showReason` or `recover` answers when the work order no longer exists (a person deleted it):
 * nothing can be written to it, and the steps after it (the asset's end of downtime) still must be.
 */
export const WORK_ORDER_GONE = 'work-order-gone';

/** The fields a work-order flow's episode has besides the shared ones. */
export interface WorkOrderEpisode extends EpisodeBase {
  workOrderId?: string | number;
  /** The reason id the work order shows. */
  reasonShown?: string;
  recovered?: boolean;
}

/** One update of a work order after its create: it runs when due, and returns the episode's change. */
export interface RecordStep<C, D, E> {
  due(ctx: FlowContext<C, D>, episode: E): boolean;
  run(ctx: FlowContext<C, D>, episode: E): Promise<Partial<E>>;
}

type IdOf<E extends WorkOrderEpisode> = NonNullable<E['workOrderId']>;
/** What the work order's create claim records. */
export type WorkOrderClaim = { workOrderId: string };

/** What a work-order flow states about its CMMS; `workOrderTarget` makes the target of it. */
export interface WorkOrderSpec<
  C extends DowntimeSettings,
  D,
  E extends WorkOrderEpisode,
  P extends Partial<E>,
> {
  /** Whether (and why not) a "started" event's machine gets a work order: see DowntimeTarget. */
  unmapped: DowntimeTarget<C, D, E, Synced>['unmapped'];
  /** Where the machine's work order goes (asset, entity), kept on the episode; undefined: nowhere. */
  placement(config: C, machineId: string): P | undefined;
  /** The work-order id the create claim records (a string) as the episode keeps it. */
  idOf(claimed: string): IdOf<E>;
  /** The work order an earlier attempt made (e.g. timeout after the create), found by its marker. */
  find(ctx: FlowContext<C, D>, episode: E, placement: P): Promise<WorkOrderClaim | undefined>;
  /** Create it, as of the episode's start (a known end comes with the recovery update right after). */
  create(ctx: FlowContext<C, D>, episode: E, placement: P): Promise<WorkOrderClaim>;
  /** Steps after the create and before the reason update (e.g. asset downtime). */
  steps?: readonly RecordStep<C, D, E>[];
  /** Show the episode's current reason on the work order (WORK_ORDER_GONE: it was deleted). */
  showReason(ctx: FlowContext<C, D>, episode: E, workOrderId: IdOf<E>): Promise<unknown>;
  /** Record the end (and total downtime) on the work order (WORK_ORDER_GONE: it was deleted). */
  recover(ctx: FlowContext<C, D>, episode: E, workOrderId: IdOf<E>): Promise<unknown>;
  /** After the work order's recovery, under its own claims (e.g. the asset available again). */
  afterRecovery?(ctx: FlowContext<C, D>, episode: E): Promise<void>;
  /** The message of a "started" event that changed nothing (its work order exists). */
  alreadyMade(applied: StartedOnEpisode<E>, synced: Synced, data: DowntimeStarted): string;
  /** What happens to an end kept on an episode whose work order is not made yet. */
  endKept(applied: OnEpisode<E>): string;
  /** Added to the recovery line of the run log (e.g. how the work order completed). */
  recoveredNote?: string;
}

/**
 * The next step that brings the work order in line with the episode, done now: create it (only
 * when `create`: a "started" event), the flow's own steps, show the current reason, apply the
 * recovery; each under its own claim. Returns the episode's change, or undefined when nothing is left.
 */
async function nextStep<C extends DowntimeSettings, D, E extends WorkOrderEpisode, P extends Partial<E>>(
  spec: WorkOrderSpec<C, D, E, P>,
  ctx: FlowContext<C, D>,
  e: E,
  create: boolean,
  done: Synced,
): Promise<((stored: E) => Partial<E>) | undefined> {
  if (e.workOrderId === undefined) {
    const placement = create ? spec.placement(ctx.config, e.machineId) : undefined;
    if (!placement) return undefined;
    const created = await once(ctx.state, {
      key: `${ctx.flowId}:work-order:${e.key}`,
      find: () => spec.find(ctx, e, placement),
      perform: () => spec.create(ctx, e, placement),
    });
    done.created = created.how;
    return (x) => ({
      workOrderId: spec.idOf(created.result.workOrderId as string),
      ...placement,
      // What the record shows is known only when this attempt made it ('' forces a reason update).
      reasonShown: x.reasonShown ?? (created.how === 'performed' ? e.reasonId : ''),
    });
  }
  const workOrderId = e.workOrderId as IdOf<E>;
  // An update's claim records the work order it wrote to.
  const claimed = async (write: Promise<unknown>) => {
    const answer = await write;
    return { workOrderId: String(workOrderId), ...(answer === WORK_ORDER_GONE ? { gone: 'yes' } : {}) };
  };
  done.workOrderId = workOrderId;
  const own = spec.steps?.find((s) => s.due(ctx, e));
  if (own) {
    const change = await own.run(ctx, e);
    return () => change;
  }
  if (e.reasonShown !== e.reasonId) {
    const shownOn = await once(ctx.state, {
      key: `${ctx.flowId}:reason:${e.key}:${e.reasonId}:${e.reasonAt ?? e.reasonFrom ?? ''}`,
      perform: () => claimed(spec.showReason(ctx, e, workOrderId)),
    });
    if (shownOn.result.gone) done.gone = true;
    done.reason = e.reasonName;
    const shown = await showLatestReason(spec, ctx, e, workOrderId, done);
    return () => ({ reasonShown: shown.reasonId }) as Partial<E>;
  }
  if (e.endedAt && !e.recovered) {
    // The work order first: it says the most, and a step after it that must be parked does not hold it.
    const recoveredOn = await once(ctx.state, {
      key: `${ctx.flowId}:recovered:${e.key}`,
      perform: () => claimed(spec.recover(ctx, e, workOrderId)),
    });
    if (recoveredOn.result.gone) done.gone = true;
    // The recovery rewrites the text, reason included.
    const shown = await showLatestReason(spec, ctx, e, workOrderId, done);
    await spec.afterRecovery?.(ctx, e);
    done.recovered = true;
    return () => ({ recovered: true, reasonShown: shown.reasonId }) as Partial<E>;
  }
  return undefined;
}

const sameReason = (a: EpisodeBase, b: EpisodeBase) => a.reasonId === b.reasonId && a.reasonAt === b.reasonAt;

/**
 * Two workers at once: a newer categorisation may have been applied to the episode, and shown, while
 * this write (made from the episode as read before) was on its way; landing after, it showed the
 * older reason again. So the episode is read again after the write, and its reason, if it moved on,
 * shown again (an absolute write of the title and text: repeating it changes nothing). A reason
 * applied after this read is shown by its own event's sync. Returns the episode last shown.
 */
async function showLatestReason<
  C extends DowntimeSettings,
  D,
  E extends WorkOrderEpisode,
  P extends Partial<E>,
>(
  spec: WorkOrderSpec<C, D, E, P>,
  ctx: FlowContext<C, D>,
  written: E,
  workOrderId: IdOf<E>,
  done: Synced,
): Promise<E> {
  let shown = written;
  for (let i = 0; i < 3; i++) {
    const latest = await readEpisode<E>(ctx, written.machineId, written.key);
    if (!latest || sameReason(latest, shown)) return shown;
    await spec.showReason(ctx, latest, workOrderId);
    done.reason = latest.reasonName;
    shown = latest;
  }
  return shown;
}

/**
 * Bring the work order in line with the episode one step at a time, each recorded on the episode,
 * so a retry or another event finishes what is left.
 */
async function syncWorkOrder<C extends DowntimeSettings, D, E extends WorkOrderEpisode, P extends Partial<E>>(
  spec: WorkOrderSpec<C, D, E, P>,
  ctx: FlowContext<C, D>,
  { machineId, key }: EpisodeBase,
  create: boolean,
): Promise<Synced> {
  const done: Synced = {};
  // Every step once, plus a few repeats when other events change the episode meanwhile.
  for (let step = 0; step < (spec.steps?.length ?? 0) + 6; step++) {
    const e = await readEpisode<E>(ctx, machineId, key);
    if (!e?.started) return done;
    const change = await nextStep(spec, ctx, e, create, done);
    if (!change) return done;
    await patchEpisode<E>(ctx, machineId, key, change);
  }
  return done;
}

/**
 * The run-log result of a downtime event, from what applying it and syncing did; `nothing` when
 * the sync changed nothing. `recoveredNote` is added to the recovery line (e.g. how it completed).
 */
export function syncResult<E extends EpisodeBase>(
  applied: Applied<E>,
  synced: Synced,
  nothing: FlowResult,
  recoveredNote = '',
): FlowResult {
  if (applied.status === 'stale') return { outcome: 'stale', message: applied.message };
  const id = synced.workOrderId;
  const effects = id !== undefined && id !== '' ? { workOrderId: String(id) } : undefined;
  const did = [
    synced.created === 'performed' ? `created work order ${id}` : undefined,
    synced.created === 'found' ? `found work order ${id} made by an earlier attempt` : undefined,
    synced.gone
      ? `work order ${id} no longer exists (a person deleted it): ${synced.recovered ? 'its end of downtime' : 'its reason'} not written to it`
      : undefined,
    synced.reason && !synced.gone ? `work order ${id} reason -> ${synced.reason}` : undefined,
    synced.recovered && !synced.gone ? `recovery recorded on work order ${id}${recoveredNote}` : undefined,
  ].filter((x): x is string => x !== undefined);
  if (did.length > 0) {
    const episode = 'episode' in applied ? applied.episode : undefined;
    const what = episode ? ` (${episode.machineName}, ${episode.reasonName}, episode ${episode.key})` : '';
    return { outcome: 'done', message: `${did.join('; ')}${what}`, effects };
  }
  return { ...nothing, ...(effects ? { effects } : {}) };
}

/** The target of a work-order flow: the kit's sync and run-log lines around the flow's CMMS calls. */
export function workOrderTarget<
  C extends DowntimeSettings,
  D,
  E extends WorkOrderEpisode,
  P extends Partial<E>,
>(spec: WorkOrderSpec<C, D, E, P>): DowntimeTarget<C, D, E, Synced> {
  const resultOf = (applied: Applied<E>, synced: Synced, nothing: FlowResult) =>
    syncResult(applied, synced, nothing, spec.recoveredNote);
  const unchangedOr = (applied: OnEpisode<E>, kept: string): FlowResult =>
    applied.status === 'unchanged'
      ? { outcome: 'duplicate', message: applied.message }
      : { outcome: 'skipped', message: `${applied.message}; ${kept}` };
  return {
    hasRecord: (e) => e.workOrderId !== undefined,
    unmapped: spec.unmapped,
    sync: (ctx, episode, create) => syncWorkOrder(spec, ctx, episode, create),
    started: (applied, synced, data) =>
      resultOf(applied, synced, { outcome: 'duplicate', message: spec.alreadyMade(applied, synced, data) }),
    categorized: (applied, synced) =>
      resultOf(
        applied,
        synced,
        unchangedOr(applied, 'kept on the episode, used when its work order is made'),
      ),
    ended: (applied, synced) => resultOf(applied, synced, unchangedOr(applied, spec.endKept(applied))),
  };
}
