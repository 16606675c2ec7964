/**
 * Pause and resume in AWS, beyond the flag in the state table: the worker's SQS event source
 * mapping stops taking messages from the queue (they wait there, nothing is lost), and each poller's
 * EventBridge Scheduler schedule stops ticking (its watermark waits; the first tick after resuming
 * catches up). The caller needs lambda:ListEventSourceMappings and UpdateEventSourceMapping,
 * scheduler:GetSchedule and UpdateSchedule, and iam:PassRole on the schedule's role (UpdateSchedule
 * passes it again).
 */
import {
  type EventSourceMappingConfiguration,
  type LambdaClient,
  paginateListEventSourceMappings,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  type SchedulerClient,
  UpdateScheduleCommand,
  type UpdateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { MillwrightError } from '../functions/core/errors.ts';
import { explainAwsError } from './aws-errors.ts';
import type { FlowResources, FlowSwitches } from './target.ts';

/** A flow's mapping or schedule is not where the stack's outputs say (a stack changed by hand?). */
export class FlowSwitchError extends MillwrightError {}

export interface AwsSwitchClients {
  lambda: LambdaClient;
  scheduler: SchedulerClient;
}

type Schedule = NonNullable<FlowResources['schedules']>[number];

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` -> `<name>`. */
const queueNameOf = (queueUrl: string): string => queueUrl.slice(queueUrl.lastIndexOf('/') + 1);

/** The worker's event source mappings from the flow's own queue. */
async function mappingsOf(
  lambda: LambdaClient,
  flow: FlowResources,
): Promise<EventSourceMappingConfiguration[]> {
  const functionName = flow.workerFunction;
  if (!functionName) return [];
  const queueName = queueNameOf(flow.queueUrl);
  const found: EventSourceMappingConfiguration[] = [];
  for await (const page of paginateListEventSourceMappings(
    { client: lambda },
    { FunctionName: functionName },
  )) {
    for (const mapping of page.EventSourceMappings ?? []) {
      if (mapping.EventSourceArn?.endsWith(`:${queueName}`)) found.push(mapping);
    }
  }
  if (found.length === 0) {
    throw new FlowSwitchError(
      `flow ${flow.flow.id}: function ${functionName} has no event source mapping from queue ${queueName}`,
    );
  }
  return found;
}

async function getSchedule(
  scheduler: SchedulerClient,
  schedule: Schedule,
): Promise<GetScheduleCommandOutput> {
  try {
    return await scheduler.send(new GetScheduleCommand({ Name: schedule.name, GroupName: schedule.group }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') {
      throw new FlowSwitchError(`schedule ${schedule.name} (group ${schedule.group}) not found`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * UpdateSchedule replaces the whole schedule (a field left out is reset to its default), so every
 * field GetSchedule returned is sent back, with only the state changed.
 */
export function scheduleUpdate(
  current: GetScheduleCommandOutput,
  schedule: Schedule,
  state: 'ENABLED' | 'DISABLED',
  now: Date,
): UpdateScheduleCommandInput {
  return {
    Name: current.Name ?? schedule.name,
    GroupName: current.GroupName ?? schedule.group,
    ScheduleExpression: current.ScheduleExpression,
    ScheduleExpressionTimezone: current.ScheduleExpressionTimezone,
    // A start date already passed restricts nothing, and a date in the past may be refused.
    StartDate: current.StartDate && current.StartDate > now ? current.StartDate : undefined,
    EndDate: current.EndDate,
    Description: current.Description,
    KmsKeyArn: current.KmsKeyArn,
    Target: current.Target,
    FlexibleTimeWindow: current.FlexibleTimeWindow,
    ActionAfterCompletion: current.ActionAfterCompletion,
    State: state,
  };
}

/** `Enabled`, `Disabling`, ...: already where `paused` wants it (or on its way there)? */
const mappingIs = (state: string | undefined, paused: boolean): boolean =>
  paused ? state === 'Disabled' || state === 'Disabling' : state === 'Enabled' || state === 'Enabling';

export function awsSwitches(clients: AwsSwitchClients, now: () => Date = () => new Date()): FlowSwitches {
  const { lambda, scheduler } = clients;
  return {
    async set(flow, paused) {
      const what = `${paused ? 'pausing' : 'resuming'} flow ${flow.flow.id}`;
      const lines: string[] = [];
      try {
        for (const mapping of await mappingsOf(lambda, flow)) {
          const label = `event source mapping ${mapping.UUID} (${flow.workerFunction})`;
          if (mappingIs(mapping.State, paused)) {
            lines.push(`${label}: already ${mapping.State}`);
            continue;
          }
          const updated = await lambda.send(
            new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: !paused }),
          );
          lines.push(`${label}: ${updated.State ?? (paused ? 'Disabling' : 'Enabling')}`);
        }
        const state = paused ? 'DISABLED' : 'ENABLED';
        for (const schedule of flow.schedules ?? []) {
          const label = `schedule ${schedule.name} (${schedule.sourceId})`;
          const current = await getSchedule(scheduler, schedule);
          if (current.State === state) {
            lines.push(`${label}: already ${state}`);
            continue;
          }
          await scheduler.send(new UpdateScheduleCommand(scheduleUpdate(current, schedule, state, now())));
          lines.push(`${label}: ${state}`);
        }
      } catch (error) {
        if (error instanceof MillwrightError) throw error;
        throw explainAwsError(error, what);
      }
      return lines;
    },

    async describe(flow) {
      try {
        const parts: string[] = [];
        if (flow.workerFunction) {
          const states = (await mappingsOf(lambda, flow)).map((m) => m.State ?? 'unknown');
          parts.push(`event source mapping ${states.join(', ')}`);
        }
        const schedules = flow.schedules ?? [];
        if (schedules.length > 0) {
          const states = await Promise.all(
            schedules.map(async (s) => (await getSchedule(scheduler, s)).State ?? 'unknown'),
          );
          const plural = schedules.length === 1 ? 'schedule' : 'schedules';
          parts.push(
            new Set(states).size === 1
              ? `${schedules.length} ${plural} ${states[0]}`
              : `${plural} ${schedules.map((s, i) => `${s.sourceId} ${states[i]}`).join(', ')}`,
          );
        }
        return parts.length > 0 ? parts.join('; ') : undefined;
      } catch (error) {
        if (error instanceof MillwrightError) throw error;
        throw explainAwsError(error, `reading the state of flow ${flow.flow.id}`);
      }
    },
  };
}
