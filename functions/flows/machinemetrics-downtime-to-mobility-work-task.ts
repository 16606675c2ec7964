/**
 * MachineMetrics downtime -> Mobility Work task.
 *
 * The downtime flow with Mobility Work as the CMMS, for the machines listed in this flow's
 * `machines` (a machine listed here and in the UpKeep downtime flow gets a record in both). Every
 * event goes to its episode through the per-machine state machine of shared/downtime.ts (the
 * transition table is there; here the "record" is the task, and recovery and categorisation are
 * recorded in the episode and the run log only: Mobility Work's API cannot update or close a task).
 * The handlers are shared/downtime-record.ts's; this file states the Mobility Work side.
 * Order per subject (machine, episode): by the episode key and the events' own times in the
 * machine's episode item; a "started" retried or replayed after its "ended" makes no second task
 * (`duplicate`); task webhooks only record the task id (idempotent, any order).
 *
 * Mobility Work returns no id when a task is created and has no idempotency key or task read in its
 * API (reference §3.9, §3.12; the Search Task API is outside api-doc.txt and unverified, §8), so:
 * - the task carries `metadata.millwrightKey` = the episode key; Mobility Work sends the metadata
 *   back in its task webhooks (TaskWasScheduled, §4.5, §6.4), and this flow learns the task id
 *   from them;
 * - the create is claimed once per episode, and an intent (time, sends) is recorded before it is
 *   sent. A create that certainly failed (refused, 4xx, 5xx) is retried. An unanswered create
 *   (timeout after sending) is never re-sent blindly: the event waits (NotReadyError, no attempts
 *   spent) for the TaskWasScheduled webhook with our key; when it comes, the task exists.
 * - ASSUMPTION MW-A1 (`task.unansweredCreate`): if no TaskWasScheduled webhook with our key came
 *   within `waitMinutes` (default 15) of the unanswered create:
 *   - `onNoWebhook: "needs-attention"` (default; the only safe choice for Starter networks, which get no
 *     webhooks, or when the task webhooks are not configured or not trusted): the event is parked
 *     with NeedsAttentionError, whose `check` names the equipment, the start and the metadata key to
 *     look for; replaying that same event from the parked events afterwards (`via=parked-replay`)
 *     sends the create again (the operator found none), while the same event redelivered otherwise
 *     (a backfill, a DLQ replay of another copy: nobody checked) is parked again;
 *   - `onNoWebhook: "resend-once"` (Premium/Ultimate networks with TaskWasScheduled configured to this
 *     deployment): no webhook means Mobility Work did not apply the create, so it is sent once more;
 *     if that one goes unanswered too, the event is parked as above.
 *   Mobility Work does not say that API-created tasks emit TaskWasScheduled (reference §9 q5): check
 *   it on the network before choosing `resend-once`.
 *
 * Records a person deleted under us: after the create, this flow never writes to the task (the API
 * cannot), so a task deleted or cancelled in Mobility Work fails nothing (its TaskWasCanceled only
 * names the id). Equipment deleted in Mobility Work makes the create answer 400
 * `error.payload.equipment.unknown` (api-doc "API Responses & Errors"), the same answer as a mistyped
 * mapping, and the API has no equipment read to tell them apart: either way the mapping
 * (`machines.<id>.equipment`) must change, so the event fails unretryable with that answer (intent
 * rolled back), and its replay after the fix makes the one task.
 */
import * as z from 'zod/mini';
import {
  connectMobilityWork,
  type MobilityWorkClient,
  MW_TASK_MIN_ASSIGNEES,
  typedEquipmentSchema,
} from '../connectors/mobility-work/client.ts';
import { MW_EVENT, type MwEventOf, taskIdOf } from '../connectors/mobility-work/events.ts';
import { mobilityWorkWebhook } from '../connectors/mobility-work/webhook.ts';
import { once } from '../core/claims.ts';
import { AmbiguousWriteError, NeedsAttentionError, NotReadyError } from '../core/errors.ts';
import type { TypedEvent } from '../core/events.ts';
import {
  defineFlow,
  type FlowContext,
  type FlowResult,
  PARKED_REPLAY_VIA,
  type RuntimeEnv,
} from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import { downtimeSettingsShape, type EpisodeBase, patchEpisode, readEpisode } from './shared/downtime.ts';
import {
  type DowntimeTarget,
  downtimeHandlers,
  downtimeTriggers,
  mappedMachines,
  unlistedMachine,
} from './shared/downtime-record.ts';
import { clip, minutes } from './shared/format.ts';

export const FLOW_ID = 'machinemetrics-downtime-to-mobility-work-task';
/** Metadata key that carries the episode key to Mobility Work and back. */
export const METADATA_KEY = 'millwrightKey';
/** Mapping namespaces: episode key -> Mobility Work task id, and back. */
export const TASK_BY_EPISODE = 'mobility-work-task-by-episode';
export const EPISODE_BY_TASK = 'mobility-work-episode-by-task';
/** Latest-value namespace of the task creates sent (the intent, recorded before sending). */
export const TASK_INTENTS = 'mobility-work-task-intent';

const assignee = lazySchema(() => z.union([z.number().check(z.int(), z.positive()), z.email()]));

export const configSchema = lazySchema(() =>
  z.object({
    /**
     * MachineMetrics machine UUID -> Mobility Work equipment: a native id (integer), an item code
     * (string; Mobility Work infers its type), or the typed form `{type, value}` the doc offers
     * (api-doc.txt:1005-1045) for what inference cannot tell, e.g. a native id that is a UUID.
     */
    machines: z._default(
      z.record(
        z.string().check(z.minLength(1)),
        z.object({
          equipment: z.union([
            z.number().check(z.int(), z.positive()),
            z.string().check(z.minLength(1)),
            // Each type with a value of its kind (a native id is an integer or a UUID), as the client takes it.
            typedEquipmentSchema,
          ]),
        }),
      ),
      {},
    ),
    ...downtimeSettingsShape(),
    task: z.object({
      /** Network members (native ids or e-mails); at least one (MW_TASK_MIN_ASSIGNEES: ours, the doc gives no minimum). */
      assignees: z.array(assignee).check(z.minLength(MW_TASK_MIN_ASSIGNEES)),
      /** The task is scheduled from the downtime start for this long. */
      durationMinutes: z._default(z.number().check(z.int(), z.minimum(5), z.maximum(7 * 24 * 60)), 60),
      descriptionPrefix: z._default(z.string(), 'Machine down'),
      /** Native ids or codes; a code is non-empty, as the client requires (else every create fails). */
      tags: z._default(z.array(z.union([z.number().check(z.int()), z.string().check(z.minLength(1))])), []),
      /** "string <uuid>" in the doc: any 8-4-4-4-12 hex id, as the client takes it (not only RFC 4122). */
      checklist: z.optional(z.guid()),
      sendEmailToAssignees: z._default(z.boolean(), false),
      /** What to do when a create goes unanswered (named assumption MW-A1 in the header). */
      unansweredCreate: z._default(
        z.object({
          /** How long to wait for the TaskWasScheduled webhook carrying our key. */
          waitMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(24 * 60)), 15),
          /** Then: park the event (`needs-attention`) or assume it was not applied and send once more. */
          onNoWebhook: z._default(z.enum(['needs-attention', 'resend-once']), 'needs-attention'),
        }),
        { waitMinutes: 15, onNoWebhook: 'needs-attention' },
      ),
    }),
  }),
);
export type TaskFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  mobilityWork: MobilityWorkClient;
}

/** A mapping's equipment: native id, item code, or typed `{type, value}`. */
export type Equipment = TaskFlowConfig['machines'][string]['equipment'];

/** The equipment in words, for run-log messages and an operator's check. */
const equipmentLabel = (equipment: Equipment | undefined): string =>
  typeof equipment === 'object' ? `${equipment.value} (${equipment.type})` : String(equipment);

export interface Episode extends EpisodeBase {
  equipment?: Equipment;
  /** Learned from Mobility Work's task webhooks (the create returns no id). */
  taskId?: string;
  /** `requested`: Mobility Work answered 201; `confirmed`: its webhook named the task. */
  task?: 'requested' | 'confirmed';
}

type Ctx = FlowContext<TaskFlowConfig, Deps>;

export function taskDescription(config: TaskFlowConfig, episode: Episode): string {
  const lines = [
    `${config.task.descriptionPrefix}: ${episode.machineName} (${episode.reasonName})`,
    `MachineMetrics machine ${episode.machineId}, down since ${episode.startedAt}.`,
    'Created by Millwright.',
  ];
  return clip(lines.join('\n'), 3000);
}

/** A create sent to Mobility Work: when, how many times, and the event parked for it (if any). */
interface TaskIntent {
  at: string;
  sends: number;
  parkedEventId?: string;
}

const claimKeyOf = (ctx: Ctx, episode: Episode) => `${ctx.flowId}:task:${episode.key}`;

const checkFor = (episode: Episode) =>
  `in Mobility Work, look for a task on equipment ${equipmentLabel(episode.equipment)} scheduled from ${episode.startedAt} ` +
  `(machine ${episode.machineName}) with metadata ${METADATA_KEY}=${episode.key}. If there is one, nothing to do ` +
  '(its TaskWasScheduled webhook, if any, links it). If there is none, replay this event: the replay sends the create again.';

/**
 * An earlier attempt sent the create and got no answer (or crashed after recording its intent).
 * The task exists if its TaskWasScheduled webhook came (the id is mapped); otherwise wait for it up
 * to `unansweredCreate.waitMinutes`, then decide per `unansweredCreate.onNoWebhook` (see the header).
 */
async function resolveUnanswered(ctx: Ctx, eventId: string, episode: Episode) {
  const taskId = await ctx.state.getMapping(TASK_BY_EPISODE, episode.key);
  if (taskId) return { taskId, status: 'confirmed' };
  const intent = (await ctx.state.getLatest<TaskIntent>(TASK_INTENTS, claimKeyOf(ctx, episode)))?.data;
  // No intent: the earlier attempt failed before sending (or certainly failed): send.
  if (!intent) return undefined;
  // Parked, and now this very event replayed from the parked events: an operator checked and replayed
  // it. The same event redelivered otherwise (a backfill over its window, a poll re-run, a DLQ replay
  // of another copy of it) is parked again, not resent.
  if (intent.parkedEventId === eventId && ctx.via === PARKED_REPLAY_VIA) return undefined;
  const policy = ctx.config.task.unansweredCreate;
  const waitedMs = ctx.now().getTime() - Date.parse(intent.at);
  if (waitedMs < policy.waitMinutes * 60_000) {
    throw new NotReadyError(
      `Mobility Work's TaskWasScheduled webhook with ${METADATA_KEY}=${episode.key} (create sent ${intent.at} went unanswered; waiting up to ${policy.waitMinutes} min before ${policy.onNoWebhook === 'resend-once' ? 'sending it once more' : 'parking it'})`,
    );
  }
  if (policy.onNoWebhook === 'resend-once' && intent.sends < 2) {
    ctx.log.warn('Mobility Work task create unanswered and no TaskWasScheduled webhook: sending once more', {
      episode: episode.key,
      sentAt: intent.at,
      waitMinutes: policy.waitMinutes,
    });
    return undefined;
  }
  await ctx.state.putLatest<TaskIntent>(
    TASK_INTENTS,
    [{ id: claimKeyOf(ctx, episode), data: { ...intent, parkedEventId: eventId } }],
    90,
  );
  throw new NeedsAttentionError(
    `Mobility Work task create for ${episode.machineName} (episode ${episode.key}) went unanswered ${intent.sends} time(s) and no TaskWasScheduled webhook came within ${policy.waitMinutes} min: the task may or may not exist`,
    checkFor(episode),
  );
}

async function sendCreate(ctx: Ctx, episode: Episode, equipment: Equipment) {
  const { config } = ctx;
  const id = claimKeyOf(ctx, episode);
  const previous = (await ctx.state.getLatest<TaskIntent>(TASK_INTENTS, id))?.data;
  // The intent is recorded before sending, so a retry knows a create may exist.
  await ctx.state.putLatest<TaskIntent>(
    TASK_INTENTS,
    [{ id, data: { at: ctx.now().toISOString(), sends: (previous?.sends ?? 0) + 1 } }],
    90,
  );
  const startedAt = new Date(episode.startedAt ?? ctx.now().toISOString());
  try {
    await ctx.deps.mobilityWork.scheduleTask({
      equipment,
      description: taskDescription(config, episode),
      startDateTime: startedAt.toISOString(),
      endDateTime: new Date(startedAt.getTime() + config.task.durationMinutes * 60_000).toISOString(),
      allDay: false,
      assignees: config.task.assignees,
      tags: config.task.tags,
      ...(config.task.checklist ? { checklist: config.task.checklist } : {}),
      sendEmailToAssignees: config.task.sendEmailToAssignees,
      metadata: { [METADATA_KEY]: episode.key, machineId: episode.machineId, source: 'millwright' },
    });
    return { taskId: '', status: 'requested' };
  } catch (error) {
    if (error instanceof AmbiguousWriteError) {
      throw new NotReadyError(
        `Mobility Work's TaskWasScheduled webhook with ${METADATA_KEY}=${episode.key} (the create went unanswered)`,
        { cause: error },
      );
    }
    // Certainly not created (refused, 4xx, 5xx): the intent goes back to what it was.
    if (previous) await ctx.state.putLatest<TaskIntent>(TASK_INTENTS, [{ id, data: previous }], 90);
    else await ctx.state.forgetLatest(TASK_INTENTS, id);
    throw error;
  }
}

interface Synced {
  taskId?: string;
  created?: 'performed' | 'found' | 'duplicate';
  requested?: boolean;
}

/**
 * Make sure the episode's task exists and learn its id. Only a "started" event has anything to do:
 * Mobility Work's API cannot update or close a task, so categorisations and ends stay in the
 * episode and the run log.
 */
async function sync(
  ctx: Ctx,
  { machineId, key }: EpisodeBase,
  create: boolean,
  eventId: string,
): Promise<Synced> {
  const done: Synced = {};
  if (!create) return done;
  const e = await readEpisode<Episode>(ctx, machineId, key);
  if (!e?.started) return done;
  const known = e.taskId ?? (await ctx.state.getMapping(TASK_BY_EPISODE, e.key));
  if (known) {
    if (!e.taskId)
      await patchEpisode<Episode>(ctx, machineId, key, () => ({ taskId: known, task: 'confirmed' }));
    return { taskId: known };
  }
  if (e.task === 'requested') return { requested: true };
  const mapping = ctx.config.machines[machineId];
  if (!mapping) return done;
  const episode: Episode = { ...e, equipment: e.equipment ?? mapping.equipment };
  const created = await once(ctx.state, {
    key: claimKeyOf(ctx, episode),
    find: () => resolveUnanswered(ctx, eventId, episode),
    perform: () => sendCreate(ctx, episode, mapping.equipment),
  });
  const taskId = created.result.taskId || undefined;
  await patchEpisode<Episode>(ctx, machineId, key, () => ({
    equipment: mapping.equipment,
    task: taskId ? 'confirmed' : 'requested',
    ...(taskId ? { taskId } : {}),
  }));
  return { created: created.how, ...(taskId ? { taskId } : { requested: true }) };
}

const target: DowntimeTarget<TaskFlowConfig, Deps, Episode, Synced> = {
  hasRecord: (e) => e.task !== undefined || e.taskId !== undefined,
  unmapped: unlistedMachine(FLOW_ID),
  sync,
  started({ episode }, synced, data, { config }) {
    const effects = { episode: episode.key, ...(synced.taskId ? { taskId: synced.taskId } : {}) };
    if (synced.created === 'performed') {
      return {
        outcome: 'done',
        message: `task requested on equipment ${equipmentLabel(config.machines[data.machineId]?.equipment)} for ${episode.machineName} (${episode.reasonName}); ${METADATA_KEY}=${episode.key}`,
        effects,
      };
    }
    if (synced.created === 'found') {
      return {
        outcome: 'done',
        message: synced.taskId
          ? `found task ${synced.taskId} made by an earlier attempt (its TaskWasScheduled webhook came)`
          : `the task for episode ${episode.key} was requested by an earlier attempt`,
        effects,
      };
    }
    return {
      outcome: 'duplicate',
      message: `${episode.key === data.episodeKey ? '' : `same downtime as episode ${episode.key}; `}the task for episode ${episode.key} was already requested (task ${synced.taskId ?? 'id not yet learned'})`,
      effects,
    };
  },
  categorized(applied) {
    if (applied.status === 'unchanged') return { outcome: 'duplicate', message: applied.message };
    const e = applied.episode;
    return {
      outcome: 'skipped',
      message: e.task
        ? `${applied.message}; Mobility Work has no API to update task ${e.taskId ?? '(id not yet learned)'}`
        : `${applied.message}; kept on the episode, used when its task is created`,
    };
  },
  ended(applied) {
    if (applied.status === 'unchanged') return { outcome: 'duplicate', message: applied.message };
    const e = applied.episode;
    const took = e.downtimeMs === undefined ? '' : ` after ${minutes(e.downtimeMs)}`;
    return {
      outcome: 'done',
      message: `${e.machineName} running again${took} (episode ${e.key}); Mobility Work task ${e.taskId ?? '(id not yet learned)'} is left to the planners (the API cannot close tasks)`,
      ...(e.taskId ? { effects: { taskId: e.taskId } } : {}),
    };
  },
};

/** The task webhooks this flow learns task ids from. */
export const TASK_EVENTS = [
  MW_EVENT.TaskWasScheduled,
  MW_EVENT.TaskWasStarted,
  MW_EVENT.TaskWasCompleted,
  MW_EVENT.TaskWasCanceled,
] as const;

type TaskEvent = TypedEvent<
  (typeof TASK_EVENTS)[number],
  MwEventOf<'TaskWasScheduled' | 'TaskWasStarted' | 'TaskWasCompleted' | 'TaskWasCanceled'>
>;

/** Task webhooks: learn the id of the task we created, through the metadata we gave it. */
async function onTaskEvent(event: TaskEvent, ctx: Ctx): Promise<FlowResult> {
  const metadata = event.data.metadata ?? {};
  const key = metadata[METADATA_KEY];
  const taskId = taskIdOf(event.data);
  if (typeof key !== 'string' || !taskId) {
    return { outcome: 'skipped', message: `task ${taskId ?? '?'} was not created by this flow` };
  }
  const known = await ctx.state.getMapping(TASK_BY_EPISODE, key);
  if (known === taskId) return { outcome: 'duplicate', message: `task ${taskId} already known for ${key}` };
  await ctx.state.putMapping(TASK_BY_EPISODE, key, taskId);
  await ctx.state.putMapping(EPISODE_BY_TASK, taskId, key);
  const machineId = typeof metadata.machineId === 'string' ? metadata.machineId : undefined;
  if (machineId) {
    await patchEpisode<Episode>(ctx, machineId, key, (e) =>
      e.taskId === taskId ? undefined : { taskId, task: 'confirmed' },
    );
  }
  return {
    outcome: 'done',
    message: `learned Mobility Work task ${taskId} for episode ${key}`,
    effects: { taskId },
  };
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> Mobility Work task',
  vendors: ['machinemetrics', 'mobility-work'],
  config: configSchema,
  longestWait: (c: TaskFlowConfig) => ({
    path: 'task.unansweredCreate.waitMinutes',
    seconds: c.task.unansweredCreate.waitMinutes * 60,
  }),
  triggers: [
    ...downtimeTriggers<TaskFlowConfig>((c) => mappedMachines(c.machines)),
    { kind: 'webhook', receiver: mobilityWorkWebhook },
  ],
  // Typed: the handlers are plain functions, so Deps is inferred from here.
  setup: (env: RuntimeEnv): Deps => ({ mobilityWork: connectMobilityWork(env) }),
  on: {
    ...downtimeHandlers(target),
    [MW_EVENT.TaskWasScheduled]: onTaskEvent,
    [MW_EVENT.TaskWasStarted]: onTaskEvent,
    [MW_EVENT.TaskWasCompleted]: onTaskEvent,
    [MW_EVENT.TaskWasCanceled]: onTaskEvent,
  },
});

export default flow;
