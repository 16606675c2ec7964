/**
 * A deployed stack as an operator target (`millwright --stack NAME [--region R]`): every resource
 * comes from the stack's outputs (lib/outputs.ts), read with the user's own AWS credentials (the
 * SDK's default provider chain: AWS_PROFILE, SSO, environment, instance role). The deployment
 * config the stack was deployed from (the CLI's `--config`) supplies each flow's config and the
 * vendor settings; a config that does not match the stack is refused, naming what differs.
 */
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Deployment } from '../functions/config/deployment.ts';
import { MillwrightError } from '../functions/core/errors.ts';
import { secretsManagerSource } from '../functions/core/secrets.ts';
import { StateStore } from '../functions/core/state.ts';
import {
  FLOW_OUTPUT_PREFIX,
  type FlowOutput,
  flowOutputSchema,
  OPERATOR_VERSION,
  OUTPUT_KEYS,
} from '../lib/outputs.ts';
import { explainAwsError } from './aws-errors.ts';
import { awsSwitches } from './aws-switches.ts';
import type { FlowResources, Target } from './target.ts';

/** No stack of that name in that account and region. */
export class StackNotFoundError extends MillwrightError {}
/** The stack lacks the outputs the operator reads, or they are malformed or of another version. */
export class StackOutputsError extends MillwrightError {}
/** The deployment config does not describe what the stack runs. */
export class StackConfigMismatchError extends MillwrightError {}

export interface StackClients {
  cloudFormation: CloudFormationClient;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  lambda: LambdaClient;
  scheduler: SchedulerClient;
}

export interface StackTargetOptions {
  stackName: string;
  /** Default: the SDK's (AWS_REGION, the profile's region). */
  region?: string;
  /** The deployment config the stack was deployed from (loaded by the CLI from `--config`). */
  deployment: Deployment;
  /** Clients to use instead of new ones (tests, custom endpoints); close() leaves these open. */
  clients?: Partial<StackClients>;
}

export interface StackTarget extends Target {
  kind: 'stack';
  stackName: string;
  region: string;
  /** The stack's outputs, key -> value. */
  outputs: Record<string, string>;
  /** Things worth saying that do not stop the operator (a deployed flow the config does not enable). */
  warnings: string[];
}

async function describeStack(client: CloudFormationClient, stackName: string): Promise<Stack> {
  const what = `reading stack ${stackName}`;
  try {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const [stack] = Stacks;
    if (!stack) throw new StackNotFoundError(`stack ${stackName} not found`);
    return stack;
  } catch (error) {
    if (error instanceof MillwrightError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // CloudFormation answers an unknown name with a ValidationError, "Stack with id X does not exist".
    if ((error as { name?: string }).name === 'ValidationError' && /does not exist/.test(message)) {
      const region = await client.config.region().catch(() => 'the configured region');
      throw new StackNotFoundError(
        `stack ${stackName} not found in ${region} (check --stack, --region and the account of your credentials)`,
        { cause: error },
      );
    }
    throw explainAwsError(error, what);
  }
}

/** The outputs the operator needs, checked; the flows' outputs parsed, by flow id. */
function readOutputs(stack: Stack, stackName: string) {
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? []) if (o.OutputKey) outputs[o.OutputKey] = o.OutputValue ?? '';
  const version = outputs[OUTPUT_KEYS.operatorVersion];
  if (version === undefined) {
    const status = stack.StackStatus ? ` (status ${stack.StackStatus})` : '';
    throw new StackOutputsError(
      `stack ${stackName}${status} has no ${OUTPUT_KEYS.operatorVersion} output: it is not a Millwright stack, or it was deployed before the operator CLI existed (redeploy it with npx cdk deploy)`,
    );
  }
  if (Number(version) !== OPERATOR_VERSION) {
    throw new StackOutputsError(
      Number(version) < OPERATOR_VERSION
        ? `stack ${stackName} has operator version ${version}, this CLI needs ${OPERATOR_VERSION}: redeploy the stack (npx cdk deploy)`
        : `stack ${stackName} has operator version ${version}, newer than this CLI's ${OPERATOR_VERSION}: update the CLI (the repository the stack was deployed from)`,
    );
  }
  const missing = [OUTPUT_KEYS.table, OUTPUT_KEYS.deployment].filter((k) => !outputs[k]);
  if (missing.length > 0) {
    throw new StackOutputsError(`stack ${stackName} lacks the output(s) ${missing.join(', ')}: redeploy it`);
  }
  const flows = new Map<string, FlowOutput>();
  for (const [key, value] of Object.entries(outputs)) {
    if (!key.startsWith(FLOW_OUTPUT_PREFIX)) continue;
    let parsed: ReturnType<typeof flowOutputSchema.safeParse>;
    try {
      parsed = flowOutputSchema.safeParse(JSON.parse(value));
    } catch (error) {
      throw new StackOutputsError(`stack ${stackName}: output ${key} is not JSON`, { cause: error });
    }
    if (!parsed.success) {
      throw new StackOutputsError(`stack ${stackName}: output ${key} is not a flow's resources`, {
        cause: parsed.error,
      });
    }
    flows.set(parsed.data.flow, parsed.data);
  }
  return {
    outputs,
    tableName: outputs[OUTPUT_KEYS.table] as string,
    deploymentName: outputs[OUTPUT_KEYS.deployment] as string,
    apiUrl: outputs[OUTPUT_KEYS.apiUrl],
    flows,
  };
}

/** The config's enabled flows joined with the stack's; what does not match is an error or a warning. */
function joinFlows(deployment: Deployment, deployed: Map<string, FlowOutput>, stackName: string) {
  const flows = new Map<string, FlowResources>();
  const notDeployed: string[] = [];
  for (const { flow, config } of deployment.enabled) {
    const out = deployed.get(flow.id);
    if (!out) {
      notDeployed.push(flow.id);
      continue;
    }
    flows.set(flow.id, {
      flow,
      config,
      queueUrl: out.queue,
      dlqUrl: out.dlq,
      workerFunction: out.worker,
      schedules: out.schedules.map((s) => ({ sourceId: s.source, name: s.name, group: s.group })),
    });
  }
  if (notDeployed.length > 0) {
    throw new StackConfigMismatchError(
      `the config enables flow(s) stack ${stackName} does not run: ${notDeployed.join(', ')}. Deploy the config first (npx cdk deploy -c config=<file>), or pass the config the stack was deployed from (--config)`,
    );
  }
  const warnings = [...deployed.keys()]
    .filter((id) => !flows.has(id))
    .map(
      (id) =>
        `stack ${stackName} runs flow ${id}, which the config does not enable: it is left out here (pass the config the stack was deployed from with --config)`,
    );
  return { flows, warnings };
}

export async function stackTarget(options: StackTargetOptions): Promise<StackTarget> {
  const { stackName, deployment } = options;
  const given = options.clients ?? {};
  const region = options.region ? { region: options.region } : {};
  const made: { destroy(): void }[] = [];
  const make = <C extends { destroy(): void }>(client: C | undefined, create: () => C): C => {
    if (client) return client;
    const created = create();
    made.push(created);
    return created;
  };
  const close = () => {
    for (const client of made) client.destroy();
  };
  try {
    const cloudFormation = make(given.cloudFormation, () => new CloudFormationClient(region));
    const stack = await describeStack(cloudFormation, stackName);
    const read = readOutputs(stack, stackName);
    if (read.deploymentName !== deployment.name) {
      throw new StackConfigMismatchError(
        `stack ${stackName} was deployed from a config named "${read.deploymentName}", but the config loaded here is named "${deployment.name}": pass the config it was deployed from (--config)`,
      );
    }
    const { flows, warnings } = joinFlows(deployment, read.flows, stackName);
    const regionName =
      options.region ??
      (await cloudFormation.config.region().catch((error: unknown) => {
        throw explainAwsError(error, `reading stack ${stackName}`);
      }));
    const clientConfig = { region: regionName };
    const dynamodb = make(given.dynamodb, () => new DynamoDBClient(clientConfig));
    const sqs = make(given.sqs, () => new SQSClient(clientConfig));
    const lambda = make(given.lambda, () => new LambdaClient(clientConfig));
    const scheduler = make(given.scheduler, () => new SchedulerClient(clientConfig));
    const state = new StateStore({
      tableName: read.tableName,
      client: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
      runRetentionDays: deployment.runtime.runLogRetentionDays,
    });
    const secrets = secretsManagerSource({ maxAgeSeconds: 300, clientConfig });
    return {
      kind: 'stack',
      label: `stack ${stackName} (${regionName})`,
      secretsClientConfig: clientConfig,
      stackName,
      region: regionName,
      outputs: read.outputs,
      warnings,
      deployment,
      state,
      sqs,
      flows,
      ...(read.apiUrl ? { ingressUrl: read.apiUrl.replace(/\/+$/, '') } : {}),
      switches: awsSwitches({ lambda, scheduler }),
      // The vendor settings as deployed: the workers bundle the same blocks of the same config.
      env: (log) => ({ vendors: deployment.vendors, secrets, state, log, now: () => new Date() }),
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
