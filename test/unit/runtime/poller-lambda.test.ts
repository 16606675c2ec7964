/** The deployed poller obeys `millwright pause` even when a deploy has enabled its schedule again. */

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadDeployment } from '../../../functions/config/deployment.ts';
import { flows } from '../../../functions/flows/index.ts';
import { FLOW_ID } from '../../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { pollerLambda } from '../../../functions/runtime/lambda/poller.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
// Every AWS client is mocked: the test never looks for credentials or reaches the network.
const secrets = mockClient(SecretsManagerClient);

const context = {
  functionName: 'poller',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:poller',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

function handler() {
  const deployment = loadDeployment('config/default.json', flows);
  const enabled = deployment.enabled.find((e) => e.flow.id === FLOW_ID);
  if (!enabled) throw new Error('flow not enabled in config/default.json');
  const index = enabled.flow.triggers.findIndex((t) => t.kind === 'schedule');
  return pollerLambda(enabled.flow, index, {
    vendors: deployment.vendors as Record<string, unknown>,
    runtime: { logLevel: 'ERROR', maxReceiveCount: 3, maxWebhookBytes: 262_144 },
    flowConfig: enabled.config,
  });
}

beforeEach(() => {
  process.env.TABLE_NAME = 'state';
  process.env.QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/q';
  dynamo.reset();
  sqs.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand).rejects(new Error('no secrets in unit tests'));
});
/** What the handler wrote to stdout (Powertools Metrics' EMF documents among it). */
let stdout: string[] = [];
beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
/** The PollCompleted counts in the EMF documents written (the missed-runs alarm sums these). */
const pollCompleted = () =>
  stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"PollCompleted"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

afterEach(() => {
  jest.restoreAllMocks();
  delete process.env.TABLE_NAME;
  delete process.env.QUEUE_URL;
});

describe('pollerLambda', () => {
  it('does not poll, enqueue or move the watermark while the flow is paused', async () => {
    dynamo
      .on(GetCommand, { Key: { pk: `FLOW#${FLOW_ID}`, sk: 'CONTROL' } })
      .resolves({ Item: { paused: true, at: '2026-12-06T08:00:00.000Z', by: 'ana' } });
    const result = await handler()({} as ScheduledEvent, context);
    expect(result).toMatchObject({ stoppedBy: 'paused', events: 0 });
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
    // A paused tick still completed: only a failing or missing poller raises the missed-runs alarm.
    expect(pollCompleted()).toEqual([
      expect.objectContaining({
        PollCompleted: 1,
        service: 'millwright',
        flow: FLOW_ID,
        source: 'machinemetrics.downtime',
      }),
    ]);
  });

  it('polls when the flag is absent (the first read is the flag, then the poll state)', async () => {
    dynamo.on(GetCommand).resolves({});
    // The poll itself stops at the (mocked) secret: what matters is that it ran.
    await expect(handler()({} as ScheduledEvent, context)).rejects.toBeDefined();
    const keys = dynamo.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.pk);
    expect(keys[0]).toBe(`FLOW#${FLOW_ID}`);
    expect(keys).toContain(`POLL#${FLOW_ID}#machinemetrics.downtime`);
    expect(secrets.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(0);
    // A failed tick counts no completed run.
    expect(pollCompleted()).toEqual([]);
  });
});
