/**
 * One flow's resources in a nested stack of their own: its queue, DLQ, worker and alarm, and a
 * poller per schedule trigger. CloudFormation allows 500 resources per stack and a flow takes about
 * ten, so one flat stack stopped at about 45 flows; with a nested stack per flow the root holds one
 * resource per flow, and a flow's whole wiring is found in one place.
 */
import { NestedStack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ConfigError } from '../../functions/core/errors.ts';
import type { PollerEntry, WorkerEntry } from '../entries.ts';
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
  logRetention: logs.RetentionDays;
}

export class FlowStack extends NestedStack {
  readonly worker: FlowWorker;
  readonly pollers: Poller[] = [];

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
      batchSize: flow.worker?.batchSize,
      maxConcurrency: flow.worker?.maxConcurrency,
      logRetention: props.logRetention,
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
          queue: this.worker.queue,
          table: props.table,
          logRetention: props.logRetention,
        }),
      );
    }
  }
}
