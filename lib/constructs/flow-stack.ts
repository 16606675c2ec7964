/**
 * One flow's resources in a nested stack of their own: its queue, DLQ, worker and alarm, and a
 * poller per schedule trigger. CloudFormation allows 500 resources per stack and a flow takes about
 * ten, so one flat stack stopped at about 45 flows; with a nested stack per flow the root holds one
 * resource per flow, and a flow's whole wiring is found in one place.
 */
import { Duration, NestedStack, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ConfigError } from '../../functions/core/errors.ts';
import { SQS_MAX_MESSAGE_BYTES } from '../../functions/core/limits.ts';
import type { PollerEntry, WorkerEntry } from '../entries.ts';
import { queueDepthAlarm } from './alarms.ts';
import { FlowWorker } from './flow-worker.ts';
import { Poller } from './poller.ts';

export interface FlowStackProps {
  worker: WorkerEntry;
  pollers: readonly PollerEntry[];
  /** The flow's validated config (its schedule triggers read their interval from it). */
  config: unknown;
  queueName: string;
  table: dynamodb.ITable;
  maxReceiveCount: number;
  timeoutSeconds: number;
  /** `runtime.workerBatchingWindowSeconds` (0: none). */
  batchingWindowSeconds?: number;
  logRetention: logs.RetentionDays;
  /** What every alarm of the flow notifies (the deployment's SNS topic). */
  alarmAction?: cloudwatch.IAlarmAction;
  /** `alarms.oldestMessageMinutes` and `alarms.pollerMissedIntervals`. */
  oldestMessageMinutes: number;
  pollerMissedIntervals: number;
  /** The deployment's `name` (every metric of the flow carries it). */
  deployment: string;
}

export class FlowStack extends NestedStack {
  readonly worker: FlowWorker;
  readonly pollers: Poller[] = [];
  /** Ticks the scheduler could not deliver to a poller of this flow (only with a poller). */
  schedulerDeadLetterQueue: sqs.Queue | undefined;
  schedulerDeadLetterAlarm: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: FlowStackProps) {
    const flow = props.worker.flow;
    super(scope, id, { description: `Millwright flow ${flow.id}` });
    // Construct ids carry the flow id, so logical ids stay unique across the nested stacks.
    this.worker = new FlowWorker(this, `Flow-${flow.id}`, {
      entry: props.worker,
      queueName: props.queueName,
      table: props.table,
      maxReceiveCount: props.maxReceiveCount,
      timeoutSeconds: props.timeoutSeconds,
      batchingWindowSeconds: props.batchingWindowSeconds,
      batchSize: flow.worker?.batchSize,
      maxConcurrency: flow.worker?.maxConcurrency,
      logRetention: props.logRetention,
      alarmAction: props.alarmAction,
      oldestMessageMinutes: props.oldestMessageMinutes,
      deployment: props.deployment,
    });
    for (const entry of props.pollers) {
      const trigger = flow.triggers[entry.triggerIndex];
      if (trigger?.kind !== 'schedule') continue;
      const everyMinutes = trigger.everyMinutes(props.config);
      if (!Number.isInteger(everyMinutes) || everyMinutes < 1) {
        throw new ConfigError(
          `flows.${flow.id}`,
          `schedule trigger ${entry.triggerIndex}: every ${everyMinutes} minutes is not a whole number >= 1`,
        );
      }
      this.pollers.push(
        new Poller(this, `Flow-${flow.id}-Poller${entry.triggerIndex}`, {
          entry,
          everyMinutes,
          queues: [this.worker.queue],
          table: props.table,
          logRetention: props.logRetention,
          deadLetterQueue: this.schedulerQueue(flow.id, props.alarmAction),
          alarmAction: props.alarmAction,
          missedIntervals: props.pollerMissedIntervals,
          deployment: props.deployment,
        }),
      );
    }
  }

  /** One per flow stack, made with its first poller and shared by the others (each message names its schedule). */
  private schedulerQueue(flowId: string, action: cloudwatch.IAlarmAction | undefined): sqs.Queue {
    if (this.schedulerDeadLetterQueue) return this.schedulerDeadLetterQueue;
    const queue = new sqs.Queue(this, `Flow-${flowId}-SchedulerDLQ`, {
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Stateful like every queue of the deployment: what it holds says why ticks failed.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(queue).acknowledge({
        id,
        reason: `This is the dead-letter queue of flow ${flowId}'s schedules; a missed tick needs no redrive (the next one polls from the same watermark).`,
      });
    }
    this.schedulerDeadLetterAlarm = queueDepthAlarm(
      this,
      `Flow-${flowId}-SchedulerDeadLetterAlarm`,
      queue,
      `Flow ${flowId}: the scheduler could not invoke a poller after its retries (the messages in the scheduler dead-letter queue say why: a deleted function, missing permission, throttling).`,
      action,
    );
    this.schedulerDeadLetterQueue = queue;
    return queue;
  }
}
