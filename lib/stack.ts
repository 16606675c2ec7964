/**
 * The Millwright stack: built by iterating the deployment's enabled flows (the registry filtered by
 * config), so adding a flow needs no change here. Per flow a nested stack (queue, DLQ, worker, a
 * poller per schedule trigger); one webhook ingress for every vendor the flows receive webhooks
 * from; one table; the dashboard.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { Deployment } from '../functions/config/deployment.ts';
import { ConfigError } from '../functions/core/errors.ts';
import { webhookEventsOf } from '../functions/core/flow.ts';
import { FlowStack } from './constructs/flow-stack.ts';
import type { FlowWorker } from './constructs/flow-worker.ts';
import { Ingress } from './constructs/ingress.ts';
import type { Poller } from './constructs/poller.ts';
import { StateTable } from './constructs/state-table.ts';
import { DEFAULT_ENTRIES_DIR, flowQueueName, type PollerEntry, writeEntries } from './entries.ts';

export interface MillwrightStackProps extends StackProps {
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

export class MillwrightStack extends Stack {
  readonly table: StateTable;
  /** Each flow's nested stack (its queue, DLQ, worker, alarm and pollers). */
  readonly flowStacks = new Map<string, FlowStack>();
  readonly workers = new Map<string, FlowWorker>();
  readonly pollers: Poller[] = [];
  readonly ingress: Ingress | undefined;

  constructor(scope: Construct, id: string, props: MillwrightStackProps) {
    super(scope, id, {
      description: `Millwright integration flows (${props.deployment.name})`,
      ...props,
    });
    const { deployment } = props;
    const { runtime } = deployment;
    const retention = logRetention(runtime.logRetentionDays);
    const entries = writeEntries(deployment, props.entriesDir ?? DEFAULT_ENTRIES_DIR);

    this.table = new StateTable(this, 'State');
    const table = this.table.table;
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
        logRetention: retention,
      });
      this.flowStacks.set(flow.id, flowStack);
      this.workers.set(flow.id, flowStack.worker);
      this.pollers.push(...flowStack.pollers);
    }
    const workerOf = (flowId: string): FlowWorker => {
      const worker = this.workers.get(flowId);
      if (!worker) throw new Error(`no worker for flow ${flowId}`);
      return worker;
    };

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
        rateLimit: runtime.webhookRateLimit,
        burstLimit: runtime.webhookBurstLimit,
      });
    }

    this.addDashboard(deployment.name);
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
      const api = this.ingress.api;
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Webhooks: requests, 4xx, 5xx',
          left: [
            api.metricCount({ period, statistic: cloudwatch.Stats.SUM }),
            api.metricClientError({ period }),
            api.metricServerError({ period }),
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
