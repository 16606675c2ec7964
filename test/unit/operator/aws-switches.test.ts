/**
 * Pause and resume in AWS: the worker's event source mapping from the flow's queue is disabled and
 * enabled again, and each poller's schedule is updated with its whole definition copied (Scheduler's
 * UpdateSchedule resets whatever it is not given) and only the state changed.
 */

import {
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { afterEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { AnyFlow } from '../../../functions/core/flow.ts';
import { AwsAccessDeniedError } from '../../../operator/aws-errors.ts';
import { awsSwitches, FlowSwitchError } from '../../../operator/aws-switches.ts';
import type { FlowResources } from '../../../operator/target.ts';

const lambdaMock = mockClient(LambdaClient);
const schedulerMock = mockClient(SchedulerClient);
afterEach(() => {
  lambdaMock.reset();
  schedulerMock.reset();
});

const NOW = new Date('2025-06-01T12:00:00Z');
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Millwright-downtime';
const flow: FlowResources = {
  flow: { id: 'downtime' } as AnyFlow,
  config: {},
  queueUrl: QUEUE,
  dlqUrl: `${QUEUE}-dlq`,
  workerFunction: 'Millwright-downtime-Worker-1',
  schedules: [{ sourceId: 'machinemetrics.downtime', name: 'Millwright-Poller0-X', group: 'default' }],
};
const switches = () =>
  awsSwitches(
    {
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      scheduler: new SchedulerClient({ region: 'eu-west-1' }),
    },
    () => NOW,
  );

/** A schedule as GetSchedule returns it: every field an update must carry over. */
const deployedSchedule = (State: 'ENABLED' | 'DISABLED'): GetScheduleCommandOutput => ({
  $metadata: {},
  Arn: 'arn:aws:scheduler:eu-west-1:123456789012:schedule/default/Millwright-Poller0-X',
  Name: 'Millwright-Poller0-X',
  GroupName: 'default',
  ScheduleExpression: 'rate(5 minutes)',
  ScheduleExpressionTimezone: 'Europe/Paris',
  StartDate: new Date('2024-01-01T00:00:00Z'),
  EndDate: new Date('2030-01-01T00:00:00Z'),
  Description: 'Poll machinemetrics.downtime for flow downtime',
  KmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/k',
  State,
  CreationDate: new Date('2024-01-01T00:00:00Z'),
  LastModificationDate: new Date('2024-02-01T00:00:00Z'),
  ActionAfterCompletion: 'NONE',
  FlexibleTimeWindow: { Mode: 'OFF' },
  Target: {
    Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:Millwright-downtime-Poller-1',
    RoleArn: 'arn:aws:iam::123456789012:role/Millwright-SchedulerRole',
    RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
    Input: '{"tick":true}',
    DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:123456789012:dlq' },
  },
});

const mappings = (State: string) => ({
  EventSourceMappings: [
    // Another source on the same function (never touched), then the flow's queue.
    {
      UUID: 'other',
      EventSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:Millwright-downtime-other',
      State: 'Enabled',
    },
    { UUID: 'uuid-1', EventSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:Millwright-downtime', State },
  ],
});

describe('pause', () => {
  it("disables the worker's mapping from the flow's queue and the schedule, copying its definition", async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Enabled'));
    lambdaMock.on(UpdateEventSourceMappingCommand).resolves({ UUID: 'uuid-1', State: 'Disabling' });
    schedulerMock.on(GetScheduleCommand).resolves(deployedSchedule('ENABLED'));
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    const lines = await switches().set(flow, true);

    expect(lambdaMock).toHaveReceivedCommandWith(ListEventSourceMappingsCommand, {
      FunctionName: 'Millwright-downtime-Worker-1',
    });
    expect(lambdaMock).toHaveReceivedCommandTimes(UpdateEventSourceMappingCommand, 1);
    expect(lambdaMock).toHaveReceivedCommandWith(UpdateEventSourceMappingCommand, {
      UUID: 'uuid-1',
      Enabled: false,
    });
    expect(schedulerMock).toHaveReceivedCommandWith(GetScheduleCommand, {
      Name: 'Millwright-Poller0-X',
      GroupName: 'default',
    });
    const current = deployedSchedule('ENABLED');
    const update = schedulerMock.commandCalls(UpdateScheduleCommand)[0]?.args[0].input;
    expect(update).toEqual({
      Name: 'Millwright-Poller0-X',
      GroupName: 'default',
      ScheduleExpression: 'rate(5 minutes)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      // Already passed: left out (it restricts nothing any more).
      StartDate: undefined,
      EndDate: current.EndDate,
      Description: current.Description,
      KmsKeyArn: current.KmsKeyArn,
      Target: current.Target,
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'NONE',
      State: 'DISABLED',
    });
    expect(lines).toEqual([
      'event source mapping uuid-1 (Millwright-downtime-Worker-1): Disabling',
      'schedule Millwright-Poller0-X (machinemetrics.downtime): DISABLED',
    ]);
  });

  it('keeps a start date still to come', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Enabled'));
    lambdaMock.on(UpdateEventSourceMappingCommand).resolves({ State: 'Disabling' });
    const later = new Date('2026-01-01T00:00:00Z');
    schedulerMock.on(GetScheduleCommand).resolves({ ...deployedSchedule('ENABLED'), StartDate: later });
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });
    await switches().set(flow, true);
    expect(schedulerMock).toHaveReceivedCommandWith(UpdateScheduleCommand, {
      StartDate: later,
      State: 'DISABLED',
    });
  });

  it('changes nothing already paused, and says so', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Disabled'));
    schedulerMock.on(GetScheduleCommand).resolves(deployedSchedule('DISABLED'));
    const lines = await switches().set(flow, true);
    expect(lambdaMock).not.toHaveReceivedCommand(UpdateEventSourceMappingCommand);
    expect(schedulerMock).not.toHaveReceivedCommand(UpdateScheduleCommand);
    expect(lines).toEqual([
      'event source mapping uuid-1 (Millwright-downtime-Worker-1): already Disabled',
      'schedule Millwright-Poller0-X (machinemetrics.downtime): already DISABLED',
    ]);
  });

  it('follows the pages of ListEventSourceMappings', async () => {
    lambdaMock
      .on(ListEventSourceMappingsCommand)
      .resolvesOnce({
        EventSourceMappings: [mappings('Enabled').EventSourceMappings[0] ?? {}],
        NextMarker: 'm2',
      })
      .resolvesOnce({ EventSourceMappings: [mappings('Enabled').EventSourceMappings[1] ?? {}] });
    lambdaMock.on(UpdateEventSourceMappingCommand).resolves({ State: 'Disabling' });
    await switches().set({ ...flow, schedules: [] }, true);
    expect(lambdaMock).toHaveReceivedCommandWith(ListEventSourceMappingsCommand, { Marker: 'm2' });
    expect(lambdaMock).toHaveReceivedCommandWith(UpdateEventSourceMappingCommand, {
      UUID: 'uuid-1',
      Enabled: false,
    });
  });
});

describe('resume', () => {
  it('enables the mapping and the schedule again', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Disabled'));
    lambdaMock.on(UpdateEventSourceMappingCommand).resolves({ State: 'Enabling' });
    schedulerMock.on(GetScheduleCommand).resolves(deployedSchedule('DISABLED'));
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });
    const lines = await switches().set(flow, false);
    expect(lambdaMock).toHaveReceivedCommandWith(UpdateEventSourceMappingCommand, {
      UUID: 'uuid-1',
      Enabled: true,
    });
    expect(schedulerMock).toHaveReceivedCommandWith(UpdateScheduleCommand, {
      ScheduleExpression: 'rate(5 minutes)',
      Target: deployedSchedule('DISABLED').Target,
      State: 'ENABLED',
    });
    expect(lines).toEqual([
      'event source mapping uuid-1 (Millwright-downtime-Worker-1): Enabling',
      'schedule Millwright-Poller0-X (machinemetrics.downtime): ENABLED',
    ]);
  });
});

describe('describe', () => {
  it("reports the mapping's and the schedules' states", async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Disabled'));
    schedulerMock.on(GetScheduleCommand).resolves(deployedSchedule('DISABLED'));
    await expect(switches().describe?.(flow)).resolves.toBe(
      'event source mapping Disabled; 1 schedule DISABLED',
    );
  });

  it('names each schedule when their states differ', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Enabled'));
    schedulerMock
      .on(GetScheduleCommand, { Name: 'a' })
      .resolves(deployedSchedule('ENABLED'))
      .on(GetScheduleCommand, { Name: 'b' })
      .resolves(deployedSchedule('DISABLED'));
    const two = {
      ...flow,
      schedules: [
        { sourceId: 'src-a', name: 'a', group: 'default' },
        { sourceId: 'src-b', name: 'b', group: 'default' },
      ],
    };
    await expect(switches().describe?.(two)).resolves.toBe(
      'event source mapping Enabled; schedules src-a ENABLED, src-b DISABLED',
    );
  });
});

describe('failures', () => {
  it('names the queue when the worker has no mapping from it', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [] });
    await expect(switches().set(flow, true)).rejects.toThrow(
      /function Millwright-downtime-Worker-1 has no event source mapping from queue Millwright-downtime/,
    );
  });

  it('names a schedule that is gone', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Disabled'));
    schedulerMock.on(GetScheduleCommand).rejects(
      Object.assign(new Error('Schedule Millwright-Poller0-X does not exist.'), {
        name: 'ResourceNotFoundException',
      }),
    );
    const error = await switches()
      .set(flow, true)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowSwitchError);
    expect((error as Error).message).toBe('schedule Millwright-Poller0-X (group default) not found');
  });

  it('says which action was denied', async () => {
    lambdaMock.on(ListEventSourceMappingsCommand).resolves(mappings('Enabled'));
    lambdaMock.on(UpdateEventSourceMappingCommand).rejects(
      Object.assign(new Error('User: x is not authorized to perform: lambda:UpdateEventSourceMapping'), {
        name: 'AccessDeniedException',
      }),
    );
    const error = await switches()
      .set(flow, true)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsAccessDeniedError);
    expect((error as Error).message).toMatch(
      /^pausing flow downtime: access denied: .*lambda:UpdateEventSourceMapping/,
    );
  });
});
