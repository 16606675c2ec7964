/**
 * stackTarget against mocked AWS clients: the outputs become the target's flows, table, ingress URL
 * and clients; a missing stack, missing or foreign outputs, a config that does not match the stack
 * and missing credentials are refused with errors that say what to do.
 */

import {
  CloudFormationClient,
  DescribeStacksCommand,
  type Output,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type Deployment, loadDeployment, validateDeployment } from '../../../functions/config/deployment.ts';
import { readJsonFile } from '../../../functions/config/json-file.ts';
import { flows as registry } from '../../../functions/flows/index.ts';
import { PROJECT_ROOT } from '../../../lib/entries.ts';
import { type FlowOutput, flowOutputKey, OPERATOR_VERSION } from '../../../lib/outputs.ts';
import { AwsAccessDeniedError, AwsCredentialsError } from '../../../operator/aws-errors.ts';
import {
  StackConfigMismatchError,
  StackNotFoundError,
  StackOutputsError,
  type StackTarget,
  stackTarget,
} from '../../../operator/stack-target.ts';

const CONFIG = `${PROJECT_ROOT}/config/default.json`;
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const DOWNTIME = 'machinemetrics-downtime-to-upkeep-work-order';

const cfn = mockClient(CloudFormationClient);
const ddb = mockClient(DynamoDBDocumentClient);
let deployment: Deployment;
let target: StackTarget | undefined;

beforeAll(() => {
  deployment = loadDeployment(CONFIG, registry);
});
afterEach(() => {
  target?.close();
  target = undefined;
  cfn.reset();
  ddb.reset();
});

/** What the stack outputs for a flow once deployed (names as CloudFormation generates them). */
const flowOutput = (flowId: string): FlowOutput => {
  const flow = registry.find((f) => f.id === flowId);
  const queue = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/Millwright-${flowId}`;
  return {
    flow: flowId,
    queue,
    dlq: `${queue}-dlq`,
    worker: `Millwright-${flowId.slice(0, 20)}-Worker-AbC123`,
    schedules: (flow?.triggers ?? []).flatMap((t, i) =>
      t.kind === 'schedule'
        ? [{ source: t.source.id, name: `Millwright-Poller${i}-XyZ${i}`, group: 'default' }]
        : [],
    ),
  };
};

const outputsFor = (flowIds: readonly string[], extra: Record<string, string> = {}): Output[] =>
  Object.entries({
    TableName: 'Millwright-StateTable-1ABC',
    DeploymentName: 'Millwright',
    OperatorVersion: String(OPERATOR_VERSION),
    ApiUrl: API,
    WebhookUrlUpkeep: `${API}/webhooks/upkeep/{token}`,
    ...Object.fromEntries(flowIds.map((id) => [flowOutputKey(id), JSON.stringify(flowOutput(id))])),
    ...extra,
  }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

const allFlows = () => deployment.enabled.map((e) => e.flow.id);

const stackWith = (Outputs: Output[], StackStatus: StackStatus = 'UPDATE_COMPLETE') =>
  cfn.on(DescribeStacksCommand, { StackName: 'Millwright' }).resolves({
    Stacks: [{ StackName: 'Millwright', StackStatus, CreationTime: new Date(), Outputs }],
  });

const open = async (d: Deployment = deployment) => {
  target = await stackTarget({ stackName: 'Millwright', region: REGION, deployment: d });
  return target;
};

describe('a Millwright stack', () => {
  it('gives every enabled flow its queue, DLQ, worker and schedules from the outputs, in config order', async () => {
    stackWith(outputsFor([...allFlows()].reverse()));
    const t = await open();
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'Millwright' });
    expect([...t.flows.keys()]).toEqual(allFlows());
    const downtime = t.flows.get(DOWNTIME);
    const expected = flowOutput(DOWNTIME);
    expect(downtime).toMatchObject({
      queueUrl: expected.queue,
      dlqUrl: expected.dlq,
      workerFunction: expected.worker,
      schedules: expected.schedules.map((s) => ({ sourceId: s.source, name: s.name, group: s.group })),
    });
    expect(downtime?.schedules).toHaveLength(1);
    expect(downtime?.config).toBe(deployment.enabled.find((e) => e.flow.id === DOWNTIME)?.config);
    expect(t.warnings).toEqual([]);
    expect(t.kind).toBe('stack');
    expect(t.label).toBe(`stack Millwright (${REGION})`);
  });

  it('reads the state table named by TableName, in the stack region', async () => {
    stackWith(outputsFor(allFlows()));
    ddb.on(GetCommand).resolves({
      Item: { pk: `FLOW#${DOWNTIME}`, sk: 'CONTROL', paused: true, at: '2025-01-01T00:00:00Z' },
    });
    const t = await open();
    expect(t.state.tableName).toBe('Millwright-StateTable-1ABC');
    await expect(t.state.getFlowControl(DOWNTIME)).resolves.toMatchObject({ paused: true });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'Millwright-StateTable-1ABC',
      Key: { pk: `FLOW#${DOWNTIME}`, sk: 'CONTROL' },
    });
    await expect(t.sqs.config.region()).resolves.toBe(REGION);
  });

  it('takes the ingress URL from ApiUrl (no trailing slash) and runs flows with the deployed vendor settings', async () => {
    stackWith(outputsFor(allFlows(), { ApiUrl: `${API}/` }));
    const t = await open();
    expect(t.ingressUrl).toBe(API);
    const env = t.env({ debug() {}, info() {}, warn() {}, error() {} } as never);
    expect(env.vendors).toBe(deployment.vendors);
    expect(env.state).toBe(t.state);
  });

  it('has no ingress URL when the stack has no webhook API', async () => {
    stackWith(outputsFor(allFlows()).filter((o) => o.OutputKey !== 'ApiUrl'));
    expect((await open()).ingressUrl).toBeUndefined();
  });
});

describe('refusals', () => {
  it('names a stack that does not exist, and where it looked', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id Millwright does not exist'), { name: 'ValidationError' }),
      );
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackNotFoundError);
    expect((error as Error).message).toMatch(/^stack Millwright not found in eu-west-1/);
  });

  it('says how to provide credentials when there are none', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCredentialsError);
    expect((error as Error).message).toMatch(/no AWS credentials found: set AWS_PROFILE/);
  });

  it('asks for a region when none is configured', async () => {
    cfn.on(DescribeStacksCommand).rejects(new Error('Region is missing'));
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCredentialsError);
    expect((error as Error).message).toMatch(/no AWS region: pass --region or set AWS_REGION/);
  });

  it('says access was denied, keeping the action AWS named', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(
          new Error(
            'User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:DescribeStacks',
          ),
          { name: 'AccessDenied' },
        ),
      );
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsAccessDeniedError);
    expect((error as Error).message).toMatch(/access denied: .*cloudformation:DescribeStacks/);
  });

  it('refuses a stack without the operator outputs (not Millwright, or too old), with its status', async () => {
    stackWith([{ OutputKey: 'WebhookBaseUrl', OutputValue: `${API}/` }], 'UPDATE_ROLLBACK_COMPLETE');
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackOutputsError);
    expect((error as Error).message).toMatch(/UPDATE_ROLLBACK_COMPLETE.*no OperatorVersion output.*redeploy/);
  });

  it.each([
    [String(OPERATOR_VERSION - 1), /needs .*redeploy the stack/],
    [String(OPERATOR_VERSION + 1), /newer than this CLI.*update the CLI/],
  ])('refuses operator version %s', async (version, message) => {
    stackWith(outputsFor(allFlows(), { OperatorVersion: version }));
    await expect(open()).rejects.toThrow(message);
  });

  it('refuses a flow output that is not a flow description, naming it', async () => {
    stackWith(outputsFor(allFlows(), { [flowOutputKey(DOWNTIME)]: '{"flow":"x"' }));
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackOutputsError);
    expect((error as Error).message).toBe(`stack Millwright: output ${flowOutputKey(DOWNTIME)} is not JSON`);
    stackWith(
      outputsFor(allFlows(), { [flowOutputKey(DOWNTIME)]: JSON.stringify({ flow: DOWNTIME, queue: 'q' }) }),
    );
    await expect(open()).rejects.toThrow(/is not a flow's resources/);
  });

  it('refuses a config of another deployment', async () => {
    stackWith(outputsFor(allFlows(), { DeploymentName: 'PlantB' }));
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackConfigMismatchError);
    expect((error as Error).message).toMatch(
      /deployed from a config named "PlantB".*named "Millwright".*--config/,
    );
  });

  it('refuses a config enabling flows the stack does not run, naming them', async () => {
    const missing = ['upkeep-part-low-to-mobility-work-stock', DOWNTIME];
    stackWith(outputsFor(allFlows().filter((id) => !missing.includes(id))));
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackConfigMismatchError);
    for (const id of missing) expect((error as Error).message).toContain(id);
    expect((error as Error).message).toMatch(/npx cdk deploy/);
  });

  it('warns about (and leaves out) a deployed flow the config does not enable', async () => {
    const raw = readJsonFile(CONFIG, 'config') as { flows: Record<string, Record<string, unknown>> };
    raw.flows[DOWNTIME] = { ...raw.flows[DOWNTIME], enabled: false };
    const fewer = validateDeployment(raw, registry);
    stackWith(outputsFor(allFlows()));
    const t = await open(fewer);
    expect(t.flows.has(DOWNTIME)).toBe(false);
    expect(t.flows.size).toBe(allFlows().length - 1);
    expect(t.warnings).toEqual([
      expect.stringContaining(`runs flow ${DOWNTIME}, which the config does not enable`),
    ]);
  });
});
