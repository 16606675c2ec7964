/**
 * The Millwright stack: the Millwright construct (lib/millwright.ts) alone in a stack, as
 * `cdk deploy` deploys it. The construct's id is `Default`, which CDK leaves out of logical ids, so
 * every logical id is what it was when this stack held the resources itself.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FlowStack } from './constructs/flow-stack.ts';
import type { FlowWorker } from './constructs/flow-worker.ts';
import type { Ingress } from './constructs/ingress.ts';
import type { PollGroupStack } from './constructs/poll-group-stack.ts';
import type { Poller } from './constructs/poller.ts';
import type { StateTable } from './constructs/state-table.ts';
import { Millwright, type MillwrightProps } from './millwright.ts';

export { logRetention } from './millwright.ts';

export interface MillwrightStackProps extends StackProps, MillwrightProps {}

export class MillwrightStack extends Stack {
  readonly millwright: Millwright;
  readonly table: StateTable;
  /** Each flow's nested stack (its queue, DLQ, worker, alarm and pollers). */
  readonly flowStacks: Map<string, FlowStack>;
  readonly workers: Map<string, FlowWorker>;
  readonly pollers: Poller[];
  /** Each poll group's nested stack (one poll feeding several flows). */
  readonly pollGroupStacks: Map<string, PollGroupStack>;
  readonly ingress: Ingress | undefined;

  constructor(scope: Construct, id: string, props: MillwrightStackProps) {
    const { deployment, entriesDir, ...stackProps } = props;
    super(scope, id, {
      description: `Millwright integration flows (${deployment.name})`,
      ...stackProps,
    });
    this.millwright = new Millwright(this, 'Default', { deployment, entriesDir });
    ({
      table: this.table,
      flowStacks: this.flowStacks,
      workers: this.workers,
      pollers: this.pollers,
      pollGroupStacks: this.pollGroupStacks,
      ingress: this.ingress,
    } = this.millwright);
  }
}
