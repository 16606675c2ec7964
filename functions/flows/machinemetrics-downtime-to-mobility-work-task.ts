/**
 * MachineMetrics downtime -> Mobility Work task.
 *
 * The downtime flow with Mobility Work as the CMMS, for the machines listed in this flow's
 * `machines` (a machine listed here and in the UpKeep downtime flow gets a record in both).
 * Mobility Work returns no id when a task is created and has no idempotency key, so:
 * - the task carries `metadata.millwrightKey` = the episode key; Mobility Work sends the metadata
 *   back in its task webhooks, and this flow learns the task id from them;
 * - the create is claimed once per episode and sent with `sendAtMostOnce` (core/claims.ts): a retry
 *   after an unanswered POST (timeout, crash) does not post again, and the task stays "unconfirmed"
 *   until its TaskWasScheduled webhook names it. A POST that certainly failed (refused, 4xx, 5xx)
 *   is retried.
 * Mobility Work's API cannot update or close a task, so recovery and categorisation are recorded in
 * the episode (and the run log) only.
 */
import * as z from 'zod/mini';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  downtimeCategorizedSchema,
  downtimeEndedSchema,
  downtimeStartedSchema,
} from '../connectors/machinemetrics/events.ts';
import { connectMobilityWork, type MobilityWorkClient } from '../connectors/mobility-work/client.ts';
import { MW_EVENT, taskIdOf, taskMetadataOf } from '../connectors/mobility-work/events.ts';
import { mobilityWorkWebhook } from '../connectors/mobility-work/webhook.ts';
import { once, sendAtMostOnce } from '../core/claims.ts';
import { defineFlow, type FlowContext, type FlowEvent, type FlowResult } from '../core/flow.ts';
import {
  closingEpisode,
  downtimeSettingsShape,
  downtimeTriggers,
  type EpisodeBase,
  minutes,
  openEpisode,
  parseEventData,
  saveClosedEpisode,
  startedSkipReason,
  updateSlot,
} from './shared/downtime.ts';

export const FLOW_ID = 'machinemetrics-downtime-to-mobility-work-task';
/** Metadata key that carries the episode key to Mobility Work and back. */
export const METADATA_KEY = 'millwrightKey';
/** Mapping namespaces: episode key -> Mobility Work task id, and back. */
export const TASK_BY_EPISODE = 'mobility-work-task-by-episode';
export const EPISODE_BY_TASK = 'mobility-work-episode-by-task';

const assignee = z.union([z.number().check(z.int(), z.positive()), z.email()]);

export const configSchema = z.object({
  /** MachineMetrics machine UUID -> Mobility Work equipment (native id, or item code string). */
  machines: z._default(
    z.record(
      z.string().check(z.minLength(1)),
      z.object({
        equipment: z.union([z.number().check(z.int(), z.positive()), z.string().check(z.minLength(1))]),
      }),
    ),
    {},
  ),
  ...downtimeSettingsShape,
  task: z.object({
    /** Network members (native ids or e-mails); Mobility Work requires at least one. */
    assignees: z.array(assignee).check(z.minLength(1)),
    /** The task is scheduled from the downtime start for this long. */
    durationMinutes: z._default(z.number().check(z.int(), z.minimum(5), z.maximum(7 * 24 * 60)), 60),
    descriptionPrefix: z._default(z.string(), 'Machine down'),
    tags: z._default(z.array(z.union([z.number().check(z.int()), z.string()])), []),
    checklist: z.optional(z.uuid()),
    sendEmailToAssignees: z._default(z.boolean(), false),
  }),
});
export type TaskFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  mobilityWork: MobilityWorkClient;
}

export interface Episode extends EpisodeBase {
  equipment: number | string;
  /** Learned from Mobility Work's task webhooks (the create returns no id). */
  taskId?: string;
}

type Ctx = FlowContext<TaskFlowConfig, Deps>;

export function taskDescription(config: TaskFlowConfig, episode: Episode): string {
  return [
    `${config.task.descriptionPrefix}: ${episode.machineName} (${episode.reasonName})`,
    `MachineMetrics machine ${episode.machineId}, down since ${episode.startedAt}.`,
    'Created by Millwright.',
  ]
    .join('\n')
    .slice(0, 3000);
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
    equipment: mapping.equipment,
  });
  if (!episode) return { outcome: 'duplicate', message: `episode ${data.episodeKey} already ended` };
  if (merged || episode.taskId) {
    return {
      outcome: 'duplicate',
      message: `same downtime as episode ${episode.key}; its task ${episode.taskId ?? '(id not yet learned)'} exists`,
      ...(episode.taskId ? { effects: { taskId: episode.taskId } } : {}),
    };
  }

  const created = await once(ctx.state, {
    key: `${ctx.flowId}:task:${episode.key}`,
    find: async () => {
      const taskId = await ctx.state.getMapping(TASK_BY_EPISODE, episode.key);
      return taskId ? { taskId, status: 'confirmed' } : undefined;
    },
    perform: async () => {
      const startedAt = new Date(episode.startedAt);
      const sent = await sendAtMostOnce(ctx.state, `${ctx.flowId}:task:${episode.key}`, () =>
        ctx.deps.mobilityWork.scheduleTask({
          equipment: episode.equipment,
          description: taskDescription(config, episode),
          startDateTime: startedAt.toISOString(),
          endDateTime: new Date(startedAt.getTime() + config.task.durationMinutes * 60_000).toISOString(),
          allDay: false,
          assignees: config.task.assignees,
          tags: config.task.tags,
          ...(config.task.checklist ? { checklist: config.task.checklist } : {}),
          sendEmailToAssignees: config.task.sendEmailToAssignees,
          metadata: { [METADATA_KEY]: episode.key, machineId: episode.machineId, source: 'millwright' },
        }),
      );
      return { taskId: '', status: sent.status === 'sent' ? 'requested' : 'unconfirmed' };
    },
  });
  const { status, taskId } = created.result;
  if (created.how === 'duplicate') {
    return { outcome: 'duplicate', message: `the task for episode ${episode.key} was already requested` };
  }
  if (status === 'unconfirmed') {
    ctx.log.warn('Mobility Work task create went unanswered; not resent', {
      episode: episode.key,
      machineId: episode.machineId,
    });
  }
  return {
    outcome: 'done',
    message:
      status === 'confirmed'
        ? `found task ${taskId} made by an earlier attempt`
        : status === 'unconfirmed'
          ? `task create for ${episode.machineName} went unanswered; not resent (its id comes with the TaskWasScheduled webhook, ${METADATA_KEY}=${episode.key})`
          : `task requested on equipment ${episode.equipment} for ${episode.machineName} (${episode.reasonName}); ${METADATA_KEY}=${episode.key}`,
    effects: { episode: episode.key, ...(taskId ? { taskId } : {}) },
  };
}

async function onCategorized(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeCategorizedSchema, event);
  const slot = await updateSlot<Episode>(ctx, data.machineId, (s) =>
    s.open && s.open.reasonId !== data.reasonId
      ? { ...s, open: { ...s.open, reasonId: data.reasonId, reasonName: data.reasonName } }
      : undefined,
  );
  return slot.open
    ? {
        outcome: 'skipped',
        message: `reason ${data.reasonName} recorded; Mobility Work has no API to update task ${slot.open.taskId ?? '(unknown id)'}`,
      }
    : { outcome: 'skipped', message: `no open downtime episode for machine ${data.machineId}` };
}

async function onEnded(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const data = parseEventData(downtimeEndedSchema, event);
  const closing = await closingEpisode<Episode>(ctx, data);
  if ('result' in closing) return closing.result;
  const { episode, closed, downtimeMs } = closing;
  await saveClosedEpisode(ctx, closed);
  return {
    outcome: 'done',
    message: `${episode.machineName} running again after ${minutes(downtimeMs)}; Mobility Work task ${episode.taskId ?? '(id not yet learned)'} is left to the planners (the API cannot close tasks)`,
    ...(episode.taskId ? { effects: { taskId: episode.taskId } } : {}),
  };
}

/** Task webhooks: learn the id of the task we created, through the metadata we gave it. */
async function onTaskEvent(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const metadata = taskMetadataOf(event.data);
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
    await updateSlot<Episode>(ctx, machineId, (s) => {
      if (s.open?.key === key) return { ...s, open: { ...s.open, taskId } };
      if (s.last?.key === key) return { ...s, last: { ...s.last, taskId } };
      return undefined;
    });
  }
  return {
    outcome: 'done',
    message: `learned Mobility Work task ${taskId} for episode ${key}`,
    effects: { taskId },
  };
}

export const TASK_EVENTS = [
  MW_EVENT.TaskWasScheduled,
  MW_EVENT.TaskWasStarted,
  MW_EVENT.TaskWasCompleted,
  MW_EVENT.TaskWasCanceled,
] as const;

export const flow = defineFlow<TaskFlowConfig, Deps>({
  id: FLOW_ID,
  description: 'MachineMetrics downtime -> Mobility Work task',
  vendors: ['machinemetrics', 'mobility-work'],
  config: configSchema,
  triggers: [
    ...downtimeTriggers<TaskFlowConfig>(),
    { kind: 'webhook', receiver: mobilityWorkWebhook, events: TASK_EVENTS },
  ],
  setup: (env) => ({ mobilityWork: connectMobilityWork(env) }),
  async handle(event, ctx) {
    switch (event.type) {
      case DOWNTIME_STARTED:
        return onStarted(event, ctx);
      case DOWNTIME_CATEGORIZED:
        return onCategorized(event, ctx);
      case DOWNTIME_ENDED:
        return onEnded(event, ctx);
      default:
        if ((TASK_EVENTS as readonly string[]).includes(event.type)) return onTaskEvent(event, ctx);
        return { outcome: 'skipped', message: `event type ${event.type} is not handled by this flow` };
    }
  },
});

export default flow;
