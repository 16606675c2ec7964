/**
 * What the operator layer works on: one deployment, wherever it runs. A target is either the local
 * sandbox (`millwright --sandbox`, from `.sandbox/endpoints.json`) or a deployed stack (`--stack
 * NAME`, from the stack's outputs, with the user's own AWS credentials). Every operator function
 * (status, runs, DLQ replay, backfill, pause, ...) takes a Target and nothing else, so the CLI and
 * any later front end share one implementation of each query and action.
 */
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Deployment } from '../functions/config/deployment.ts';
import type { AnyFlow, RuntimeEnv } from '../functions/core/flow.ts';
import type { Log } from '../functions/core/log.ts';
import { closestKey } from '../functions/core/schema.ts';
import type { StateStore } from '../functions/core/state.ts';

/** One enabled flow and the resources it runs on. */
export interface FlowResources {
  flow: AnyFlow;
  /** The flow's validated config. */
  config: unknown;
  queueUrl: string;
  dlqUrl: string;
  /** Deployed stacks: the worker function (its SQS event source mapping is what pause disables). */
  workerFunction?: string;
  /** Deployed stacks: the EventBridge Scheduler schedule of each poll source. */
  schedules?: { sourceId: string; name: string; group: string }[];
}

/**
 * What pausing does beyond the flag in the state table (which `status` reads and the sandbox's
 * event-source mapping and scheduler obey). In AWS: the worker's event source mapping and the
 * pollers' schedules are disabled and enabled again.
 */
export interface FlowSwitches {
  /** Apply a pause or a resume; returns one line per thing it switched. */
  set(flow: FlowResources, paused: boolean): Promise<string[]>;
  /** The platform's own view, e.g. `event source mapping: Disabled` (undefined: the flag is all). */
  describe?(flow: FlowResources): Promise<string | undefined>;
}

export interface Target {
  kind: 'sandbox' | 'stack';
  /** For people: `sandbox (.sandbox)`, `stack Millwright (eu-west-1)`. */
  label: string;
  deployment: Deployment;
  state: StateStore;
  sqs: SQSClient;
  /** Enabled flows by id, in registry order. */
  flows: Map<string, FlowResources>;
  /**
   * The sandbox's service URLs (its endpoints.json: engines, simulators, queues); undefined for a
   * deployed stack. The console's sandbox page reaches the simulators through them.
   */
  endpoints?: Record<string, string>;
  /** The webhook ingress's base URL, without a trailing slash (undefined: no webhook routes). */
  ingressUrl?: string;
  switches: FlowSwitches;
  /**
   * The environment the flows run with from here: vendor settings as deployed (in the sandbox,
   * pointed at the simulators), the deployment's secrets, the state table. Backfill, test-event and
   * discover use it. No circuit breaker (core/breaker.ts) here, dry run or not: an operator's command
   * should show the vendor's real answer (smoke and test-event are how one checks that a vendor is
   * back), and one person's tries must neither open the account's breaker for every worker nor take
   * its probe lease.
   */
  env(log: Log): RuntimeEnv;
  /**
   * Where the deployment's secrets live (the sandbox's local Secrets Manager, or the stack's region
   * with the user's credentials): `secrets generate-webhook` writes there. Absent: read-only here.
   */
  secretsClientConfig?: SecretsManagerClientConfig;
  /** Close the clients. */
  close(): void;
}

/**
 * A flow the target does not run: a specific error naming the flows it does run, and the close one
 * first when the id looks like a slip (flow ids are long: a typo is the usual cause).
 */
export class UnknownFlowError extends Error {
  constructor(flowId: string, known: readonly string[]) {
    const suggestion = closestKey(flowId, known);
    super(
      `no enabled flow "${flowId}" here${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; enabled flows: ${known.join(', ') || '(none)'}`,
    );
    this.name = 'UnknownFlowError';
  }
}

export function flowOf(target: Target, flowId: string): FlowResources {
  const flow = target.flows.get(flowId);
  if (!flow) throw new UnknownFlowError(flowId, [...target.flows.keys()]);
  return flow;
}
