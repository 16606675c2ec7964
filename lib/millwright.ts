/**
 * The Millwright construct: every resource of a deployment, built by iterating its enabled flows
 * (the registry filtered by config), so adding a flow needs no change here. Per flow a nested stack
 * (queue, DLQ, worker, a poller per schedule trigger); one webhook ingress for every vendor the flows
 * receive webhooks from; one table; the dashboard; the outputs the operator CLI reads.
 * MillwrightStack (lib/stack.ts) is this construct alone in a stack; a user's own CDK app can put
 * it inside its own Stack: `new Millwright(this, 'Plant', { deployment })`.
 * Cost allocation tags: `millwright:deployment` on everything, `millwright:flow` on each flow's
 * resources. Stateful resources (the table, the queues and DLQs) are retained on deletion.
 */
import { Aspects, CfnOutput, Duration, Stack, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Deployment } from '../functions/config/deployment.ts';
import { webhookUrl } from '../functions/core/connector.ts';
import { ConfigError } from '../functions/core/errors.ts';
import { webhookEventsOf } from '../functions/core/flow.ts';
import {
  EVENT_OUTCOMES,
  METRIC_NAMESPACE,
  outcomeDimensions,
  outcomeMetricName,
} from '../functions/runtime/metrics.ts';
import {
  AlarmTopic,
  circuitOpenAlarm,
  functionAlarms,
  notify,
  stateTableThrottleAlarm,
  stateTableThrottles,
} from './constructs/alarms.ts';
import { FlowStack } from './constructs/flow-stack.ts';
import type { FlowWorker } from './constructs/flow-worker.ts';
import { FunctionLogging } from './constructs/function-logging.ts';
import { Ingress } from './constructs/ingress.ts';
import { PollGroupStack } from './constructs/poll-group-stack.ts';
import type { Poller } from './constructs/poller.ts';
import { StateTable } from './constructs/state-table.ts';
import {
  DEFAULT_ENTRIES_DIR,
  flowQueueName,
  type IngressEntry,
  type PollerEntry,
  writeEntries,
} from './entries.ts';
import {
  type FlowOutput,
  flowOutputBound,
  flowOutputKey,
  MAX_OUTPUT_VALUE,
  MAX_OUTPUTS,
  OPERATOR_VERSION,
  OUTPUT_KEYS,
  webhookOutputKey,
} from './outputs.ts';

export interface MillwrightProps {
  /** A validated deployment config (`loadDeployment(path, flows)`). */
  deployment: Deployment;
  /** Where the Lambda entry files are generated (default `.build/entries/`). */
  entriesDir?: string;
}

const RETENTION_DAYS = Object.values(logs.RetentionDays).filter(
  (v): v is number => typeof v === 'number' && v !== logs.RetentionDays.INFINITE,
);

/** CloudWatch accepts only certain retention periods; anything else would fail at deploy time. */
export function logRetention(days: number): logs.RetentionDays {
  if (!RETENTION_DAYS.includes(days)) {
    throw new ConfigError(
      'runtime.logRetentionDays',
      `must be one of ${RETENTION_DAYS.join(', ')} (got ${days})`,
    );
  }
  return days as logs.RetentionDays;
}

export class Millwright extends Construct {
  readonly table: StateTable;
  /** Each flow's nested stack (its queue, DLQ, worker, alarm and pollers). */
  readonly flowStacks = new Map<string, FlowStack>();
  readonly workers = new Map<string, FlowWorker>();
  /** Flows' own pollers and poll groups' pollers (`flowId` is the group's id, `flowIds` its members). */
  readonly pollers: Poller[] = [];
  /** Each poll group's nested stack (its poller, schedule, alarms). */
  readonly pollGroupStacks = new Map<string, PollGroupStack>();
  readonly ingress: Ingress | undefined;
  /** The SNS topic every alarm notifies (created, or `alarms.topicArn` imported). */
  readonly alarms: AlarmTopic;
  /** Per vendor: its circuit breaker stayed open longer than `alarms.circuitOpenMinutes`. */
  readonly circuitOpenAlarms: Map<string, cloudwatch.Alarm>;
  /** The state table throttled requests (provisioned billing only: on demand has no capacity to watch). */
  readonly tableThrottleAlarm: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: MillwrightProps) {
    super(scope, id);
    const { deployment } = props;
    Tags.of(this).add('millwright:deployment', deployment.name);
    const { runtime } = deployment;
    const retention = logRetention(runtime.logRetentionDays);
    const entries = writeEntries(deployment, props.entriesDir ?? DEFAULT_ENTRIES_DIR);
    if (runtime.systemLogLevel) {
      Aspects.of(this).add(
        new FunctionLogging({ application: runtime.logLevel, system: runtime.systemLogLevel }),
      );
    }

    this.table = new StateTable(this, 'State', { settings: runtime.stateTable });
    const table = this.table.table;
    this.alarms = new AlarmTopic(this, 'Alarms', {
      topicArn: deployment.alarms.topicArn,
      emails: deployment.alarms.emails,
    });
    const alarmAction = this.alarms.action;
    this.tableThrottleAlarm =
      runtime.stateTable.billing === 'provisioned'
        ? stateTableThrottleAlarm(this.table, 'ThrottleAlarm', table, alarmAction)
        : undefined;
    const configOf = new Map(deployment.enabled.map(({ flow, config }) => [flow.id, config]));

    for (const entry of entries) {
      if (entry.kind !== 'worker') continue;
      const flow = entry.flow;
      const flowStack = new FlowStack(this, `Flow-${flow.id}`, {
        worker: entry,
        pollers: entries.filter((e): e is PollerEntry => e.kind === 'poller' && e.flow.id === flow.id),
        config: configOf.get(flow.id),
        queueName: flowQueueName(deployment.name, flow.id),
        table,
        maxReceiveCount: runtime.maxReceiveCount,
        timeoutSeconds: Math.max(runtime.workerTimeoutSeconds, flow.worker?.timeoutSeconds ?? 0),
        batchingWindowSeconds: runtime.workerBatchingWindowSeconds,
        logRetention: retention,
        alarmAction,
        oldestMessageMinutes: deployment.alarms.oldestMessageMinutes,
        pollerMissedIntervals: deployment.alarms.pollerMissedIntervals,
        deployment: deployment.name,
      });
      Tags.of(flowStack).add('millwright:flow', flow.id);
      this.flowStacks.set(flow.id, flowStack);
      this.workers.set(flow.id, flowStack.worker);
      this.pollers.push(...flowStack.pollers);
    }
    // One breaker alarm per vendor the enabled flows call (the breaker's metric is per vendor).
    this.circuitOpenAlarms = new Map(
      [...new Set(deployment.enabled.flatMap(({ flow }) => flow.vendors))].map((vendor) => [
        vendor,
        circuitOpenAlarm(
          this,
          `CircuitOpen-${vendor}`,
          {
            deployment: deployment.name,
            vendor,
            minutes: deployment.alarms.circuitOpenMinutes,
            maxOpenSeconds: runtime.circuitBreaker.maxOpenSeconds,
          },
          alarmAction,
        ),
      ]),
    );
    const workerOf = (flowId: string): FlowWorker => {
      const worker = this.workers.get(flowId);
      if (!worker) throw new Error(`no worker for flow ${flowId}`);
      return worker;
    };

    // One poller per poll group (one poll feeding several flows), sending to its members' queues only.
    for (const entry of entries) {
      if (entry.kind !== 'shared-poller') continue;
      const groupStack = new PollGroupStack(this, `PollGroup-${entry.group.id}`, {
        entry,
        queues: entry.group.members.map((m) => workerOf(m.flow.id).queue),
        table,
        logRetention: retention,
        alarmAction,
        pollerMissedIntervals: deployment.alarms.pollerMissedIntervals,
        deployment: deployment.name,
      });
      this.pollGroupStacks.set(entry.group.id, groupStack);
      this.pollers.push(groupStack.poller);
    }

    const ingressEntry = entries.find((e) => e.kind === 'ingress');
    if (ingressEntry) {
      // The queue names are in the bundled routing (lib/entries.ts); here, what the ingress may send to.
      const queues = deployment.enabled
        .filter(({ flow }) => webhookEventsOf(flow).length > 0)
        .map(({ flow }) => workerOf(flow.id).queue);
      this.ingress = new Ingress(this, 'Webhooks', {
        entry: ingressEntry,
        queues,
        table,
        logRetention: retention,
        endpoint: runtime.webhookEndpoint,
        rateLimit: runtime.webhookRateLimit,
        burstLimit: runtime.webhookBurstLimit,
      });
      this.addIngressAlarms(this.ingress, alarmAction);
    }

    this.addDashboard(deployment.name);
    this.addOutputs(deployment, ingressEntry?.kind === 'ingress' ? ingressEntry : undefined);
  }

  /**
   * What `millwright --stack NAME` reads (lib/outputs.ts). On the enclosing stack, with exact
   * logical ids (so one Millwright per stack); values from a flow's nested stack become outputs of
   * that nested stack, which CDK adds.
   */
  private addOutputs(deployment: Deployment, ingressEntry: IngressEntry | undefined): void {
    const output = (key: string, value: string, description: string) =>
      new CfnOutput(this, key, { value, description }).overrideLogicalId(key);
    output(
      OUTPUT_KEYS.table,
      this.table.table.tableName,
      'The state table (run log, watermarks, pause flags).',
    );
    output(
      OUTPUT_KEYS.deployment,
      deployment.name,
      'The `name` of the deployment config this stack was deployed from.',
    );
    output(
      OUTPUT_KEYS.operatorVersion,
      String(OPERATOR_VERSION),
      'Version of these outputs; the millwright CLI refuses a stack whose version differs from its own.',
    );

    if (this.ingress && ingressEntry) {
      // Without a trailing slash, whichever the endpoint (lib/constructs/ingress.ts).
      const apiUrl = this.ingress.url;
      output(
        OUTPUT_KEYS.apiUrl,
        apiUrl,
        this.ingress.api
          ? 'The webhook API, without a trailing slash.'
          : 'The webhook ingress function URL, without a trailing slash.',
      );
      const secrets = deployment.vendors as Record<string, { secretName?: string } | undefined>;
      for (const receiver of ingressEntry.receivers) {
        const params = [...receiver.route.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
        const secretName = secrets[receiver.vendor]?.secretName ?? `the ${receiver.vendor} secret`;
        // The URL token is the one route parameter so far (UpKeep's, from its secret's webhookToken).
        const fill = params.map(
          (p) =>
            `replace {${p}} with the webhook${p.charAt(0).toUpperCase()}${p.slice(1)} field of secret ${secretName} (npx millwright --stack ${deployment.name} webhooks urls --show-secrets prints the full URL)`,
        );
        output(
          webhookOutputKey(receiver.vendor),
          webhookUrl(apiUrl, receiver.route),
          `Webhook URL for ${receiver.vendor}${fill.length > 0 ? `: ${fill.join('; ')}` : ''}.`,
        );
      }
    }

    const dashboard = this.node.tryFindChild('Dashboard');
    if (dashboard instanceof cloudwatch.Dashboard) {
      const region = Stack.of(this).region;
      output(
        OUTPUT_KEYS.dashboardUrl,
        `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${dashboard.dashboardName}`,
        'The CloudWatch dashboard: per flow, queue and dead-letter queue depth, worker errors and duration.',
      );
    }

    for (const [flowId, worker] of this.workers) {
      const pollers = this.pollers.filter((p) => p.flowId === flowId);
      const value: FlowOutput = {
        flow: flowId,
        queue: worker.queue.queueUrl,
        dlq: worker.deadLetterQueue.queueUrl,
        worker: worker.worker.functionName,
        schedules: pollers.map((p) => ({
          source: p.sourceId,
          name: p.schedule.scheduleName,
          group: p.schedule.scheduleGroup?.scheduleGroupName ?? 'default',
        })),
      };
      const bound = flowOutputBound(
        flowId,
        flowQueueName(deployment.name, flowId),
        pollers.map((p) => p.sourceId),
      );
      if (bound > MAX_OUTPUT_VALUE) {
        throw new ConfigError(
          `flows.${flowId}`,
          `the flow's stack output could reach ${bound} characters, over CloudFormation's ${MAX_OUTPUT_VALUE}: shorten the flow id`,
        );
      }
      output(
        flowOutputKey(flowId),
        Stack.of(this).toJsonString(value),
        `Flow ${flowId}: its queue, DLQ, worker and schedules (JSON, for the millwright CLI).`,
      );
    }

    const count = this.node.children.filter((c) => c instanceof CfnOutput).length;
    if (count > MAX_OUTPUTS) {
      throw new ConfigError(
        'flows',
        `${count} stack outputs (one per enabled flow and a few more), over CloudFormation's ${MAX_OUTPUTS}: split the flows over two deployments`,
      );
    }
  }

  /**
   * Webhook 5xx answers (the API's or the function URL's, whatever their cause) and the ingress
   * function's own failures.
   */
  private addIngressAlarms(ingress: Ingress, action: cloudwatch.IAlarmAction): void {
    notify(
      new cloudwatch.Alarm(ingress, 'ServerErrorAlarm', {
        alarmDescription: ingress.api
          ? 'Webhooks: the API answered 5xx (vendors retry, then may give up). The ingress log group and the access log say why.'
          : 'Webhooks: the function URL answered 5xx (vendors retry, then may give up). The ingress log group says why.',
        metric: ingress.metric('serverErrors', { period: Duration.minutes(5) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      action,
    );
    functionAlarms(ingress, 'Ingress', ingress.ingress, 'Webhook ingress', action);
  }

  private addDashboard(name: string): void {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
    });
    const period = Duration.minutes(5);
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${name}\nPer flow: queue depth, dead-letter queue depth (replay from there), worker errors and duration.`,
        width: 24,
        height: 2,
      }),
    );
    if (this.ingress) {
      const ingress = this.ingress;
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Webhooks: requests, 4xx, 5xx',
          left: [
            ingress.metric('requests', { period }),
            ingress.metric('clientErrors', { period }),
            ingress.metric('serverErrors', { period }),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Webhook ingress function: errors and duration',
          left: [this.ingress.ingress.metricErrors({ period })],
          right: [
            this.ingress.ingress.metricDuration({ period, statistic: cloudwatch.Stats.percentile(99) }),
          ],
          width: 12,
        }),
      );
    }
    if (this.table.settings.billing === 'provisioned') {
      const table = this.table.table;
      // Consumed units are summed per period: divided by it, they compare with the provisioned rate.
      // Ids are unique per graph: one for each of the two expressions.
      const perSecond = (id: string, metric: cloudwatch.Metric, label: string) =>
        new cloudwatch.MathExpression({
          expression: `${id} / PERIOD(${id})`,
          usingMetrics: { [id]: metric },
          period,
          label,
        });
      const provisioned = (metricName: string, label: string) =>
        table.metric(metricName, { period, statistic: cloudwatch.Stats.AVERAGE, label });
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'State table: write and read capacity (units/s)',
          left: [
            perSecond('writes', table.metricConsumedWriteCapacityUnits({ period }), 'consumed writes'),
            provisioned('ProvisionedWriteCapacityUnits', 'provisioned writes'),
            perSecond('reads', table.metricConsumedReadCapacityUnits({ period }), 'consumed reads'),
            provisioned('ProvisionedReadCapacityUnits', 'provisioned reads'),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'State table: throttled requests',
          left: [stateTableThrottles(table, period)],
          leftAnnotations: [{ value: 1, label: 'alarm', color: cloudwatch.Color.RED }],
          width: 12,
        }),
      );
    }
    for (const [flowId, worker] of this.workers) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${flowId}: queue`,
          left: [
            worker.queue.metricApproximateNumberOfMessagesVisible({
              period,
              statistic: cloudwatch.Stats.MAXIMUM,
            }),
          ],
          right: [
            worker.queue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM }),
          ],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${flowId}: dead-letter queue`,
          left: [
            worker.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period,
              statistic: cloudwatch.Stats.MAXIMUM,
            }),
          ],
          leftAnnotations: [{ value: 1, label: 'alarm', color: cloudwatch.Color.RED }],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${flowId}: worker errors`,
          left: [worker.worker.metricErrors({ period }), worker.worker.metricThrottles({ period })],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${flowId}: worker duration`,
          left: [
            worker.worker.metricDuration({ period, statistic: cloudwatch.Stats.AVERAGE }),
            worker.worker.metricDuration({ period, statistic: cloudwatch.Stats.percentile(99) }),
          ],
          width: 6,
        }),
      );
      // Business metrics: what became of the flow's events (the worker counts one outcome per record).
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${flowId}: events by outcome`,
          left: EVENT_OUTCOMES.map(
            (outcome) =>
              new cloudwatch.Metric({
                namespace: METRIC_NAMESPACE,
                metricName: outcomeMetricName(outcome),
                dimensionsMap: outcomeDimensions(flowId, name),
                period,
                statistic: cloudwatch.Stats.SUM,
                label: outcome,
              }),
          ),
          stacked: true,
          width: 12,
        }),
      );
      const pollers = this.pollers.filter((p) => p.flowId === flowId);
      if (pollers.length > 0) {
        dashboard.addWidgets(
          new cloudwatch.GraphWidget({
            title: `${flowId}: poller errors and duration`,
            left: pollers.map((p) => p.poller.metricErrors({ period })),
            right: pollers.map((p) =>
              p.poller.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM }),
            ),
            width: 12,
          }),
        );
      }
    }
  }
}
