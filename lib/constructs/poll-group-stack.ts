/**
 * A poll group's resources in a nested stack of their own: its poller (one poll feeding its member
 * flows' queues, runtime/shared-poll.ts), schedule, alarms and the scheduler's dead-letter queue.
 * The member flows' queues live in their flow stacks; CDK passes their URLs and ARNs in.
 */
import { Duration, NestedStack, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SQS_MAX_MESSAGE_BYTES } from '../../functions/core/limits.ts';
import type { SharedPollerEntry } from '../entries.ts';
import { queueDepthAlarm } from './alarms.ts';
import { Poller } from './poller.ts';

export interface PollGroupStackProps {
  entry: SharedPollerEntry;
  /** Each member flow's queue, in the group's member order. */
  queues: readonly sqs.IQueue[];
  table: dynamodb.ITable;
  logRetention: logs.RetentionDays;
  alarmAction?: cloudwatch.IAlarmAction;
  pollerMissedIntervals: number;
  /** The deployment's `name` (the poller's metrics carry it). */
  deployment: string;
}

export class PollGroupStack extends NestedStack {
  readonly poller: Poller;
  readonly schedulerDeadLetterQueue: sqs.Queue;
  readonly schedulerDeadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PollGroupStackProps) {
    const { group } = props.entry;
    const members = group.members.map((m) => m.flow.id).join(', ');
    super(scope, id, { description: `Millwright poll group ${group.id} (${members})` });
    this.schedulerDeadLetterQueue = new sqs.Queue(this, `${group.id}-SchedulerDLQ`, {
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    for (const ack of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(this.schedulerDeadLetterQueue).acknowledge({
        id: ack,
        reason: `This is the dead-letter queue of poll group ${group.id}'s schedule; a missed tick needs no redrive (the next one polls from the same watermark).`,
      });
    }
    this.schedulerDeadLetterAlarm = queueDepthAlarm(
      this,
      `${group.id}-SchedulerDeadLetterAlarm`,
      this.schedulerDeadLetterQueue,
      `Poll group ${group.id} (${members}): the scheduler could not invoke its poller after its retries (the messages in its scheduler dead-letter queue say why).`,
      props.alarmAction,
    );
    this.poller = new Poller(this, `${group.id}-Poller`, {
      entry: props.entry,
      everyMinutes: group.everyMinutes,
      queues: props.queues,
      table: props.table,
      logRetention: props.logRetention,
      deadLetterQueue: this.schedulerDeadLetterQueue,
      alarmAction: props.alarmAction,
      missedIntervals: props.pollerMissedIntervals,
      deployment: props.deployment,
    });
  }
}
