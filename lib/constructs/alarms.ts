/**
 * Alarms that reach a person: the deployment's SNS topic (created, or an existing one imported from
 * `alarms.topicArn`) with the e-mail subscriptions of `alarms.emails`, and the alarms of each part
 * of the stack. Every alarm notifies the topic when it fires and again when it clears.
 */
import { Aws, CfnRule, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CIRCUIT_OPEN_SECONDS_METRIC,
  DEPLOYMENT_DIMENSION,
  METRIC_NAMESPACE,
  POLL_COMPLETED_METRIC,
  pollDimensions,
  VENDOR_DIMENSION,
} from '../../functions/runtime/metrics.ts';

export interface AlarmTopicProps {
  /** An existing topic to notify instead of creating one. */
  topicArn?: string;
  emails?: readonly string[];
}

/** The topic every alarm notifies. */
export class AlarmTopic extends Construct {
  readonly topic: sns.ITopic;
  readonly action: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    if (props.topicArn) {
      this.topic = sns.Topic.fromTopicArn(this, 'Topic', props.topicArn);
      topicInStackRegion(this, props.topicArn);
    } else {
      // CloudWatch cannot publish to a topic under the AWS-managed SNS key (its key policy is
      // fixed), so the topic has a key of its own that lets CloudWatch encrypt for it.
      const key = new kms.Key(this, 'Key', {
        description: 'Millwright alarm topic encryption',
        enableKeyRotation: true,
        // Not orphaned (about $1 a month) by each first deploy that rolls back.
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
      this.topic = new sns.Topic(this, 'Topic', {
        displayName: 'Millwright alarms',
        masterKey: key,
        enforceSSL: true,
      });
      // The topic policy (made for the TLS-only deny) replaces SNS's default one, which let the
      // account's alarms publish: without this allow every alarm action would be refused.
      this.topic.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    }
    for (const email of props.emails ?? []) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(email));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An e-mail alarm notification that cannot be delivered would sit in a dead-letter queue nobody reads; the alarm state itself stays in CloudWatch (console, dashboard, `millwright status`), and each change of state notifies again.',
      });
    }
    this.action = new actions.SnsAction(this.topic);
  }
}

/**
 * CloudWatch alarm actions name a topic of the alarm's own region (and an e-mail subscription is
 * made in the stack's region): a topic of another region would fail the deploy at the first alarm,
 * half-way, and roll everything back. The stack is environment-agnostic, so a CloudFormation rule
 * refuses that deploy before any resource is created.
 */
function topicInStackRegion(scope: Construct, topicArn: string): void {
  const region = topicArn.split(':')[3] ?? '';
  new CfnRule(scope, 'TopicInStackRegion', {
    assertions: [
      {
        assert: Fn.conditionEquals(Aws.REGION, region),
        assertDescription: `alarms.topicArn is a topic of ${region}: deploy to ${region}, or name a topic of the deployment's region (CloudWatch alarms notify a topic of their own region only).`,
      },
    ],
  });
}

/** Notify `action` when `alarm` fires and when it clears. */
export function notify<A extends cloudwatch.Alarm>(alarm: A, action: cloudwatch.IAlarmAction | undefined): A {
  if (action) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
  return alarm;
}

const FIVE_MINUTES = Duration.minutes(5);

/** An alarm on `metric` >= 1 in a period (missing data: nothing happened). */
function anyAlarm(
  scope: Construct,
  id: string,
  metric: cloudwatch.IMetric,
  description: string,
  action: cloudwatch.IAlarmAction | undefined,
): cloudwatch.Alarm {
  return notify(
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: description,
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    action,
  );
}

/** Errors and throttles of one function (each >= 1 in five minutes). */
export function functionAlarms(
  scope: Construct,
  id: string,
  fn: lambda.IFunction,
  what: string,
  action: cloudwatch.IAlarmAction | undefined,
): { errors: cloudwatch.Alarm; throttles: cloudwatch.Alarm } {
  return {
    errors: anyAlarm(
      scope,
      `${id}ErrorsAlarm`,
      fn.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      `${what}: the function failed (an invocation threw or timed out). Its log group says why.`,
      action,
    ),
    throttles: anyAlarm(
      scope,
      `${id}ThrottlesAlarm`,
      fn.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      `${what}: invocations were throttled (the account's or the function's concurrency limit).`,
      action,
    ),
  };
}

/** The oldest message of a flow's queue is older than `minutes`: the worker is not keeping up. */
export function oldestMessageAlarm(
  scope: Construct,
  id: string,
  queue: sqs.IQueue,
  flowId: string,
  minutes: number,
  action: cloudwatch.IAlarmAction | undefined,
): cloudwatch.Alarm {
  return notify(
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: `Flow ${flowId}: the oldest message in its queue has waited more than ${minutes} minutes (the worker is failing, throttled or paused).`,
      metric: queue.metricApproximateAgeOfOldestMessage({
        period: FIVE_MINUTES,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: minutes * 60,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    action,
  );
}

/** Anything in a dead-letter queue (>= 1 message). */
export function queueDepthAlarm(
  scope: Construct,
  id: string,
  queue: sqs.IQueue,
  description: string,
  action: cloudwatch.IAlarmAction | undefined,
): cloudwatch.Alarm {
  return anyAlarm(
    scope,
    id,
    queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    description,
    action,
  );
}

/** CloudWatch evaluates at most one day of data per alarm. */
const MAX_ALARM_MINUTES = 24 * 60;

/** The PollCompleted count of one poll source of one deployment, summed over `minutes`. */
export const pollCompletedMetric = (
  deployment: string,
  flowId: string,
  sourceId: string,
  minutes: number,
): cloudwatch.Metric =>
  new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: POLL_COMPLETED_METRIC,
    dimensionsMap: pollDimensions(flowId, sourceId, deployment),
    period: Duration.minutes(minutes),
    statistic: cloudwatch.Stats.SUM,
  });

/**
 * A poller that has not completed a tick in `intervals` of its intervals: failing every tick, or
 * not invoked at all. No data counts as breaching, since silence is exactly the failure.
 */
export function pollerMissedAlarm(
  scope: Construct,
  id: string,
  props: { deployment: string; flowId: string; sourceId: string; everyMinutes: number; intervals: number },
  action: cloudwatch.IAlarmAction | undefined,
): cloudwatch.Alarm {
  const minutes = Math.min(MAX_ALARM_MINUTES, props.everyMinutes * props.intervals);
  return notify(
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: `Flow ${props.flowId}: poller ${props.sourceId} has not completed a run in ${minutes} minutes (${props.intervals} intervals of ${props.everyMinutes} min). Its log group and the scheduler's dead-letter queue say why; a paused flow also stops its poller.`,
      metric: pollCompletedMetric(props.deployment, props.flowId, props.sourceId, minutes),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    action,
  );
}

/**
 * A vendor account's circuit breaker has stayed open longer than `minutes` (functions/core/breaker.ts).
 *
 * How the metric makes that true: every refusal of a request and every open/probe/re-open transition
 * emits CircuitOpenSeconds = how long the breaker has been open without closing in between (kept
 * across failed probes). While it stays open and events are held, the held messages come back at
 * the end of each open period (at most `maxOpenSeconds`) and either probe (a failed probe re-opens
 * it: a datapoint) or are refused (a datapoint), so every window as long as the period below holds
 * at least one datapoint; its maximum crosses `minutes` once the breaker has been open that long.
 * When it closes, nothing is emitted any more: missing data is "not breaching" and the alarm clears
 * within one period. With no traffic at all nothing waits on the vendor, so no data is right too.
 */
export function circuitOpenAlarm(
  scope: Construct,
  id: string,
  props: { deployment: string; vendor: string; minutes: number; maxOpenSeconds: number },
  action: cloudwatch.IAlarmAction | undefined,
): cloudwatch.Alarm {
  // A whole number of minutes that always contains one open period, and at least five.
  const periodMinutes = Math.min(MAX_ALARM_MINUTES, Math.max(5, Math.ceil(props.maxOpenSeconds / 60) + 1));
  return notify(
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: `Vendor ${props.vendor}: its circuit breaker has been open for more than ${props.minutes} minutes (the vendor keeps failing; events wait in the queues). \`millwright status\` shows until when and why; the run log (outcome circuit-open) has each transition.`,
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: CIRCUIT_OPEN_SECONDS_METRIC,
        dimensionsMap: { [VENDOR_DIMENSION]: props.vendor, [DEPLOYMENT_DIMENSION]: props.deployment },
        period: Duration.minutes(periodMinutes),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: props.minutes * 60,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    action,
  );
}

/**
 * Reads and writes of the state table throttled in a period. DynamoDB emits the throttle metrics only
 * when something was throttled, and `a + b` drops a timestamp where either has no point, so the two
 * are added with SUM([...]), which adds whatever points each timestamp has.
 */
export function stateTableThrottles(
  table: dynamodb.ITable,
  period = FIVE_MINUTES,
): cloudwatch.MathExpression {
  const sum = (metricName: string) => table.metric(metricName, { period, statistic: cloudwatch.Stats.SUM });
  return new cloudwatch.MathExpression({
    expression: 'SUM([reads, writes])',
    usingMetrics: { reads: sum('ReadThrottleEvents'), writes: sum('WriteThrottleEvents') },
    period,
    label: 'throttled requests',
  });
}

/** The state table's provisioned capacity was below the load (>= 1 throttled request in five minutes). */
export function stateTableThrottleAlarm(
  scope: Construct,
  id: string,
  table: dynamodb.ITable,
  action: cloudwatch.IAlarmAction | undefined,
): cloudwatch.Alarm {
  return anyAlarm(
    scope,
    id,
    stateTableThrottles(table),
    'State table: DynamoDB throttled requests: the provisioned capacity was below the load (auto scaling raises it within minutes, up to its max). Nothing is lost: the SDK retries, then the worker retries the event with backoff (a poller, on its next run); events wait meanwhile. If it fires often, raise runtime.stateTable.writeCapacity.max or readCapacity.max (min, for bursts), or set runtime.stateTable.billing to on-demand.',
    action,
  );
}
