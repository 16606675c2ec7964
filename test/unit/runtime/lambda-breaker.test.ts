/** Deployed workers and pollers send every vendor request through the vendor account's circuit breaker. */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { CircuitOpenError } from '../../../functions/core/errors.ts';
import { vendorEnv } from '../../../functions/runtime/lambda/vendor-env.ts';

// Every AWS client is mocked: the test never looks for credentials or reaches the network.
const dynamo = mockClient(DynamoDBDocumentClient);

beforeEach(() => {
  process.env.TABLE_NAME = 'state';
  dynamo.reset();
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe('vendorEnv', () => {
  it('refuses a request to a vendor account whose breaker is open, without sending it, and emits CircuitOpen', async () => {
    const now = Date.now();
    dynamo.on(GetCommand, { Key: { pk: 'BREAKER#upkeep:api.onupkeep.com', sk: 'STATE' } }).resolves({
      Item: {
        pk: 'BREAKER#upkeep:api.onupkeep.com',
        sk: 'STATE',
        version: 3,
        doc: {
          status: 'open',
          failures: [],
          openedAtMs: now - 90_000,
          openUntilMs: now + 20_000,
          openMs: 60_000,
          failureCount: 1,
          reason: 'HTTP 503',
          updatedAtMs: now,
        },
      },
    });
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const lines: string[] = [];
    const env = vendorEnv(
      {
        deployment: 'PlantA',
        vendors: {},
        runtime: {
          logLevel: 'ERROR',
          maxReceiveCount: 3,
          maxWebhookBytes: 262_144,
          circuitBreaker: { failureThreshold: 5, windowSeconds: 60, openSeconds: 30, maxOpenSeconds: 300 },
        },
      },
      new Logger({ logLevel: 'ERROR' }),
      'some-flow',
      (line) => lines.push(line),
    );
    const send = env.transport?.('upkeep');
    if (!send) throw new Error('no transport');
    const error = await send('https://api.onupkeep.com/api/v2/work-orders', { method: 'POST' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).key).toBe('upkeep:api.onupkeep.com');
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    // Per vendor and deployment: another plant's breaker of the same vendor is another alarm's.
    expect(emf).toMatchObject({
      vendor: 'upkeep',
      deployment: 'PlantA',
      CircuitOpen: 1,
      CircuitOpenSeconds: 90,
    });
    expect(emf._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'Millwright', Dimensions: [['vendor', 'deployment']] }],
    });
  });
});
