/**
 * One flow's worker: its queue and dead-letter queue, the worker function fed by the queue (partial
 * batch failures reported, so one bad event does not retry its neighbours), an alarm on anything in
 * the DLQ, an alarm on anything parked as needs-attention, and the grants the flow needs: the state
 * table, its vendors' secrets and sending to its DLQ. Waits and retries stay on the queue with a
 * ChangeMessageVisibility, which the event source mapping's consume grant already allows; the
 * worker decides when an event goes to the DLQ (functions/runtime/retry.ts), and the queue's own
 * redrive is only a backstop for invocations that die on an event every time.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SQS_MAX_MESSAGE_BYTES } from '../../functions/core/limits.ts';
import {
  METRIC_NAMESPACE,
  NEEDS_ATTENTION_METRIC,
  needsAttentionDimensions,
} from '../../functions/runtime/metrics.ts';
import { REDRIVE_BACKSTOP_RECEIVES } from '../../functions/runtime/retry.ts';
import { secretNamesOf, type WorkerEntry } from '../entries.ts';
import { grantStateAccess } from '../state-access.ts';
import { functionAlarms, notify, oldestMessageAlarm } from './alarms.ts';
import { MillwrightFunction } from './millwright-function.ts';

export interface FlowWorkerProps {
  entry: WorkerEntry;
  /** The queue's name (its DLQ adds `-dlq`): the ingress derives queue URLs from it. */
  queueName: string;
  table: dynamodb.ITable;
  /** Failed attempts with an unexpected error before the worker dead-letters (`runtime.maxReceiveCount`). */
  maxReceiveCount: number;
  /** `runtime.workerTimeoutSeconds`, or the flow's own if longer. */
  timeoutSeconds: number;
  /** SQS messages per invocation (default 10). */
  batchSize?: number;
  /** How long the event source waits to fill a batch (`runtime.workerBatchingWindowSeconds`; 0: none). */
  batchingWindowSeconds?: number;
  /** Concurrent invocations of this worker (the event source mapping's maximum concurrency). */
  maxConcurrency?: number;
  logRetention: logs.RetentionDays;
  /** What every alarm of the flow notifies (the deployment's SNS topic). */
  alarmAction?: cloudwatch.IAlarmAction;
  /** `alarms.oldestMessageMinutes`. */
  oldestMessageMinutes: number;
  /** The deployment's `name` (the worker's metrics carry it). */
  deployment: string;
}

export class FlowWorker extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly worker: MillwrightFunction;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly needsAttentionAlarm: cloudwatch.Alarm;
  readonly oldestMessageAlarm: cloudwatch.Alarm;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly throttlesAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: FlowWorkerProps) {
    super(scope, id);
    const { entry } = props;
    const flowId = entry.flow.id;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${props.queueName}-dlq`,
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: `This is the dead-letter queue of flow ${flowId}; an operator replays its messages, nothing redrives them further.`,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This is the dead-letter queue of flow ${flowId}; an operator replays its messages, nothing redrives them further.`,
    });

    const window = props.batchingWindowSeconds ?? 0;
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: props.queueName,
      // The limit the ingress, the pollers and the local engine size messages for (core/limits.ts),
      // stated rather than left to the account's default (SQS allows up to 1 MiB since 2025).
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      // AWS guidance for Lambda event sources: at least 6 x the function timeout, plus the batching
      // window (messages are already received while the window fills).
      visibilityTimeout: Duration.seconds(6 * props.timeoutSeconds + window),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Long enough for the longest retry horizon (13 days, functions/config/deployment.ts).
      retentionPeriod: Duration.days(14),
      // A backstop only: holds and waits are deliveries too; the worker dead-letters by time.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: REDRIVE_BACKSTOP_RECEIVES },
    });

    // Deleting the stack must not delete events waiting for work or for an operator's replay. A
    // create that rolls back deletes them, though (RetainExceptOnCreate): their names are fixed, and
    // queues left behind by a failed first deploy would fail the retry with "Queue already exists".
    this.queue.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    this.deadLetterQueue.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);

    this.worker = new MillwrightFunction(this, 'Worker', {
      entry: entry.entryPath,
      description: `Millwright worker: ${flowId}`,
      timeout: Duration.seconds(props.timeoutSeconds),
      logRetention: props.logRetention,
      // The DLQ too: a failure no retry can mend is dead-lettered at once, with its reason. Its own
      // queue: a wait or a transient failure is re-sent there with a delay.
      environment: {
        TABLE_NAME: props.table.tableName,
        DLQ_URL: this.deadLetterQueue.queueUrl,
        QUEUE_URL: this.queue.queueUrl,
      },
    });
    this.worker.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        ...(window > 0 ? { maxBatchingWindow: Duration.seconds(window) } : {}),
        reportBatchItemFailures: true,
        ...(props.maxConcurrency ? { maxConcurrency: props.maxConcurrency } : {}),
      }),
    );
    // The queue's redrive policy is the worker's dead-letter path: SQS event sources take no
    // on-failure destination and the worker is never invoked asynchronously.
    Validations.of(this.worker).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: `Fed by the SQS queue of flow ${flowId} (a synchronous event source mapping); the worker sends failed events to the queue's DLQ itself, and the queue's redrive policy backs it up.`,
    });
    Validations.of(this.worker).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: `Lambda supports on-failure destinations only for stream and Kafka sources; for this SQS source the queue's redrive policy dead-letters failed events of flow ${flowId}.`,
    });
    this.deadLetterQueue.grantSendMessages(this.worker);
    grantStateAccess(props.table, this.worker, 'worker');
    this.worker.grantReadSecrets(secretNamesOf(entry));

    const action = props.alarmAction;
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Flow ${flowId}: events that cannot succeed (not retryable, past their retry horizon, or failing ${props.maxReceiveCount} attempts with an unexpected error) wait in its dead-letter queue for replay.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    notify(this.deadLetterAlarm, action);

    this.needsAttentionAlarm = new cloudwatch.Alarm(this, 'NeedsAttentionAlarm', {
      alarmDescription: `Flow ${flowId}: an event was parked as needs-attention (it could not be completed without risking a duplicate or a loss, or it waited too long). The run log (outcome needs-attention) and the parked items (PARKED#${flowId}) say what to check.`,
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: NEEDS_ATTENTION_METRIC,
        dimensionsMap: needsAttentionDimensions(flowId, props.deployment),
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    notify(this.needsAttentionAlarm, action);

    this.oldestMessageAlarm = oldestMessageAlarm(
      this,
      'OldestMessageAlarm',
      this.queue,
      flowId,
      props.oldestMessageMinutes,
      action,
    );
    const worker = functionAlarms(this, 'Worker', this.worker, `Flow ${flowId} worker`, action);
    this.errorsAlarm = worker.errors;
    this.throttlesAlarm = worker.throttles;
  }
}
