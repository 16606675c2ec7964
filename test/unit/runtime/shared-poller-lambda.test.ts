/** The deployed poll-group poller: it polls unless every member flow is paused, once for all of them. */

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadDeployment } from '../../../functions/config/deployment.ts';
import { flows } from '../../../functions/flows/index.ts';
import { sharedPollerLambda } from '../../../functions/runtime/lambda/shared-poller.ts';
import { planPollGroups } from '../../../functions/runtime/shared-poll.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

const context = {
  functionName: 'shared-poller',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:shared-poller',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const deployment = loadDeployment('config/default.json', flows);
const group = planPollGroups(deployment.enabled).groups[0];
const members = group?.members.map((m) => m.flow.id) ?? [];

function handler() {
  if (!group) throw new Error('no poll group in config/default.json');
  return sharedPollerLambda(
    group.id,
    group.members.map((m) => ({ flow: m.flow, flowConfig: m.config })),
    {
      vendors: deployment.vendors as Record<string, unknown>,
      runtime: { logLevel: 'ERROR', maxReceiveCount: 3, maxWebhookBytes: 262_144 },
    },
  );
}

const paused = (...flowIds: string[]) => {
  dynamo.on(GetCommand).resolves({});
  for (const id of flowIds) {
    dynamo
      .on(GetCommand, { Key: { pk: `FLOW#${id}`, sk: 'CONTROL' } })
      .resolves({ Item: { paused: true, at: '2026-12-06T08:00:00.000Z' } });
  }
};

beforeEach(() => {
  process.env.TABLE_NAME = 'state';
  members.forEach((_, i) => {
    process.env[`QUEUE_URL_${i}`] = `https://sqs.eu-west-1.amazonaws.com/123456789012/q${i}`;
  });
  dynamo.reset();
  sqs.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand).rejects(new Error('no secrets in unit tests'));
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  jest.restoreAllMocks();
  delete process.env.TABLE_NAME;
  members.forEach((_, i) => {
    delete process.env[`QUEUE_URL_${i}`];
  });
});

describe('sharedPollerLambda', () => {
  it('groups the three downtime flows of the default config', () => {
    expect(group?.id).toBe('machinemetrics-downtime-poller');
    expect([...members].sort()).toEqual([
      'machinemetrics-downtime-to-click-maint-work-order',
      'machinemetrics-downtime-to-mobility-work-task',
      'machinemetrics-downtime-to-upkeep-work-order',
    ]);
  });

  it('does not poll when every member flow is paused', async () => {
    paused(...members);
    const result = await handler()({} as ScheduledEvent, context);
    expect(result).toMatchObject({ stoppedBy: 'paused', events: 0 });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('polls the group state when one member is paused and the others are not', async () => {
    paused(members[0] ?? '');
    // The poll itself stops at the (mocked) secret: what matters is that it ran, from the group's state.
    await expect(handler()({} as ScheduledEvent, context)).rejects.toBeDefined();
    const keys = dynamo.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.pk);
    expect(keys).toContain(`POLL#${group?.stateKey}`);
    expect(secrets.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(0);
  });
});
