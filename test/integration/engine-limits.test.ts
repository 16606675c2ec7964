/**
 * The local engines refuse what AWS refuses (sandbox/aws-limits.ts), with AWS's error names and
 * messages, so that code paths meet in tests the errors they would meet in AWS. Sizes use 'é'
 * (2 bytes, 1 character) where the engines alone counted characters instead of bytes.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureStateTable, type LocalDynamo, startLocalDynamo } from '../../sandbox/dynamo.ts';
import { type FlowQueues, type LocalSqs, startLocalSqs } from '../../sandbox/sqs.ts';

let sqs: LocalSqs;
let queues: FlowQueues;
let dynamo: LocalDynamo;
const TABLE = 'limits-state';

beforeAll(async () => {
  sqs = await startLocalSqs();
  queues = await sqs.createQueue('limits', { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 });
  dynamo = await startLocalDynamo();
  await ensureStateTable(dynamo.client, TABLE);
});
afterAll(async () => {
  await sqs?.close();
  await dynamo?.close();
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as { name: string; message: string; $metadata?: { httpStatusCode?: number } },
  );

describe('engine limits: SQS', () => {
  it('engine limits: SQS refuses a message over 262,144 bytes (body + attributes) with InvalidParameterValue', async () => {
    // 140,000 characters, 280,000 bytes.
    const error = await refusal(
      sqs.client.send(
        new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'é'.repeat(140_000) }),
      ),
    );
    expect(error?.name).toBe('InvalidParameterValue');
    expect(error?.message).toBe(
      'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.',
    );
    // The attributes count too: a body just under the limit plus an attribute is over it.
    const withAttribute = await refusal(
      sqs.client.send(
        new SendMessageCommand({
          QueueUrl: queues.queueUrl,
          MessageBody: 'x'.repeat(262_100),
          MessageAttributes: { eventId: { DataType: 'String', StringValue: 'y'.repeat(100) } },
        }),
      ),
    );
    expect(withAttribute?.name).toBe('InvalidParameterValue');
    // At the limit exactly it is accepted.
    await expect(
      sqs.client.send(
        new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'x'.repeat(262_144) }),
      ),
    ).resolves.toBeDefined();
  });

  it('engine limits: SQS refuses a batch whose messages add up to more than 262,144 bytes with BatchRequestTooLong', async () => {
    const error = await refusal(
      sqs.client.send(
        new SendMessageBatchCommand({
          QueueUrl: queues.queueUrl,
          Entries: [
            { Id: '0', MessageBody: 'a'.repeat(150_000) },
            { Id: '1', MessageBody: 'b'.repeat(150_000) },
          ],
        }),
      ),
    );
    expect(error?.name).toBe('BatchRequestTooLong');
    expect(error?.message).toBe(
      'Batch requests cannot be longer than 262144 bytes. You have sent 300000 bytes.',
    );
  });
});

describe('engine limits: DynamoDB', () => {
  const put = (pk: string, sk: string, extra: Record<string, { S: string }> = {}) =>
    dynamo.client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk }, sk: { S: sk }, ...extra } }),
    );

  it('engine limits: DynamoDB refuses a sort key over 1,024 UTF-8 bytes with ValidationException (writes and reads)', async () => {
    const sk = 'é'.repeat(600); // 600 characters, 1,200 bytes
    const write = await refusal(put('DELIVERY#mobility-work', sk));
    expect(write?.name).toBe('ValidationException');
    expect(write?.message).toBe(
      'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
    );
    const read = await refusal(
      dynamo.client.send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'DELIVERY#mobility-work' }, sk: { S: sk } } }),
      ),
    );
    expect(read?.name).toBe('ValidationException');
  });

  it('engine limits: DynamoDB refuses a partition key over 2,048 UTF-8 bytes with ValidationException', async () => {
    const error = await refusal(put(`CLAIM#${'é'.repeat(1_100)}`, 'CLAIM'));
    expect(error?.name).toBe('ValidationException');
    expect(error?.message).toBe(
      'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes',
    );
  });

  it('engine limits: DynamoDB refuses an item over 400 KB (UTF-8 bytes) with ValidationException', async () => {
    const error = await refusal(put('RUN#big', 'one', { message: { S: 'é'.repeat(250_000) } }));
    expect(error?.name).toBe('ValidationException');
    expect(error?.message).toBe('Item size has exceeded the maximum allowed size');
    // Keys and items within the limits still go through.
    await expect(
      put('RUN#ok', 'é'.repeat(500), { message: { S: 'x'.repeat(1_000) } }),
    ).resolves.toBeDefined();
  });
});
