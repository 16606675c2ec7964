/**
 * One schedule trigger: an EventBridge Scheduler schedule `rate(N minutes)` invoking the poller,
 * which reads its vendor from its watermark and enqueues new events on the flow's queue. A missed
 * or failed tick loses nothing: the next one starts from the same watermark.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type PollerEntry, type SharedPollerEntry, secretNamesOf } from '../entries.ts';
import { grantStateAccess } from '../state-access.ts';
import { functionAlarms, pollerMissedAlarm } from './alarms.ts';
import { MillwrightFunction } from './millwright-function.ts';

export interface PollerProps {
  /** A flow's own poller, or a poll group's (one poll feeding several flows). */
  entry: PollerEntry | SharedPollerEntry;
  /** `trigger.everyMinutes(config)`. */
  everyMinutes: number;
  /**
   * Where the poller enqueues what it finds: the flow's queue, or each member flow's queue (in
   * member order) for a group's poller; it may send to these and no other.
   */
  queues: readonly sqs.IQueue[];
  table: dynamodb.ITable;
  logRetention: logs.RetentionDays;
  /** Where the scheduler puts a tick it could not deliver after its retries (the flow stack's). */
  deadLetterQueue: sqs.IQueue;
  /** What the poller's alarms notify. */
  alarmAction?: cloudwatch.IAlarmAction;
  /** `alarms.pollerMissedIntervals`. */
  missedIntervals: number;
  /** The deployment's `name` (the poller's metrics carry it). */
  deployment: string;
}

export class Poller extends Construct {
  /** The flow it polls for; a group's poller: the group's id (`machinemetrics-downtime-poller`). */
  readonly flowId: string;
  /** The flows it enqueues for (its own flow, or the group's members). */
  readonly flowIds: readonly string[];
  /** The poll source's id (what the operator's backfill and status name it by). */
  readonly sourceId: string;
  readonly poller: MillwrightFunction;
  readonly schedule: scheduler.Schedule;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly throttlesAlarm: cloudwatch.Alarm;
  /** No completed run in `missedIntervals` intervals. */
  readonly missedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);
    const { entry, everyMinutes } = props;
    const shared = entry.kind === 'shared-poller';
    this.flowId = shared ? entry.group.id : entry.flow.id;
    this.flowIds = shared ? entry.group.members.map((m) => m.flow.id) : [entry.flow.id];
    const trigger = shared ? undefined : entry.flow.triggers[entry.triggerIndex];
    const sourceId = shared
      ? entry.group.source.id
      : trigger?.kind === 'schedule'
        ? trigger.source.id
        : `trigger ${entry.triggerIndex}`;
    this.sourceId = sourceId;
    const forWhom = shared ? `flows ${this.flowIds.join(', ')}` : `flow ${this.flowId}`;
    const queueEnv: Record<string, string> = shared
      ? Object.fromEntries(props.queues.map((q, i) => [`QUEUE_URL_${i}`, q.queueUrl]))
      : { QUEUE_URL: props.queues[0]?.queueUrl ?? '' };

    this.poller = new MillwrightFunction(this, 'Poller', {
      entry: entry.entryPath,
      description: `Millwright poller: ${shared ? `${this.flowId} for ${this.flowIds.join(', ')}` : this.flowId} (${sourceId}, every ${everyMinutes} min)`,
      // A long catch-up may use the whole interval; the watermark advances step by step, so a
      // timeout only defers the rest to the next tick.
      timeout: Duration.seconds(Math.min(900, Math.max(60, everyMinutes * 60))),
      logRetention: props.logRetention,
      environment: { TABLE_NAME: props.table.tableName, ...queueEnv },
    });
    Validations.of(this.poller).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: `A tick carries no data: a failed run of poller ${entry.id} is re-done by the next tick from the same watermark, so a dead-lettered tick would hold nothing to replay.`,
    });
    for (const queue of props.queues) queue.grantSendMessages(this.poller);
    grantStateAccess(props.table, this.poller, 'poller');
    this.poller.grantReadSecrets(secretNamesOf(entry));

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Poll ${sourceId} for ${forWhom}`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(everyMinutes)),
      target: new targets.LambdaInvoke(this.poller, {
        // A tick older than one interval is superseded by the next tick.
        retryAttempts: 2,
        maxEventAge: Duration.minutes(Math.max(1, everyMinutes)),
        // A tick the scheduler could not deliver is kept (and alarmed on) rather than dropped.
        deadLetterQueue: props.deadLetterQueue,
      }),
    });

    const what = shared
      ? `Poller ${this.flowId} (${sourceId}, for ${forWhom})`
      : `Flow ${this.flowId} poller ${sourceId}`;
    const alarms = functionAlarms(this, 'Poller', this.poller, what, props.alarmAction);
    this.errorsAlarm = alarms.errors;
    this.throttlesAlarm = alarms.throttles;
    this.missedAlarm = pollerMissedAlarm(
      this,
      'MissedRunsAlarm',
      {
        deployment: props.deployment,
        flowId: this.flowId,
        sourceId,
        everyMinutes,
        intervals: props.missedIntervals,
      },
      props.alarmAction,
    );

    // The L2 target creates a scheduler role per target and grants it `lambda:InvokeFunction` on
    // this function and its versions/aliases (`<arn>:*`); acknowledged for exactly that resource.
    const stack = Stack.of(this);
    const logicalId = stack.getLogicalId(this.poller.node.defaultChild as CfnElement);
    Validations.of(stack).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      reason: `The scheduler may invoke poller ${entry.id} only; the wildcard covers that function's own versions and aliases, nothing else.`,
    });
  }
}
