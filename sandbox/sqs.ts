/**
 * Local SQS (local-aws-sqs on loopback) and the part Lambda plays in AWS: an event source mapping
 * that receives batches (with their message attributes: the worker's retry history travels there),
 * invokes the worker handler with an SQSEvent, deletes what succeeded and leaves batchItemFailures
 * to reappear after the visibility timeout, until the queue's redrive policy moves them to the DLQ.
 * An invocation that throws or outlives its timeout fails its whole batch, as a crashed or timed-out
 * Lambda does. local-aws-sqs honours DelaySeconds, so the worker's delayed re-sends behave as in AWS.
 * SQS's 262,144-byte message limit, which local-aws-sqs does not enforce (it takes 1 MiB, counted
 * in characters), is enforced in front of it (aws-limits.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createSqsServer } from 'local-aws-sqs';
import { enforceLimits, sqsLimits } from './aws-limits.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamo.ts';

export interface LocalSqs {
  endpoint: string;
  client: SQSClient;
  createQueue(
    name: string,
    options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
  ): Promise<FlowQueues>;
  close(): Promise<void>;
}

export interface FlowQueues {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
}

const ACCOUNT = '123456789012';

export async function startLocalSqs(options: { port?: number } = {}): Promise<LocalSqs> {
  const server: Server = await createSqsServer({
    port: options.port ?? 0,
    hostname: '127.0.0.1',
    region: LOCAL_REGION,
    accountId: ACCOUNT,
    emulateQueueCreationLifecycle: false,
  });
  enforceLimits(server, sqsLimits);
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    async createQueue(name, { visibilityTimeoutSeconds, maxReceiveCount }) {
      const dlq = await client.send(
        new CreateQueueCommand({
          QueueName: `${name}-dlq`,
          Attributes: { MessageRetentionPeriod: '1209600' },
        }),
      );
      const dlqArn = `arn:aws:sqs:${LOCAL_REGION}:${ACCOUNT}:${name}-dlq`;
      const queue = await client.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(visibilityTimeoutSeconds),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
          },
        }),
      );
      return {
        queueUrl: queue.QueueUrl as string,
        queueArn: `arn:aws:sqs:${LOCAL_REGION}:${ACCOUNT}:${name}`,
        dlqUrl: dlq.QueueUrl as string,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Visible, in flight and delayed: one implementation for the sandbox and the operator. */
export { queueDepth } from '../operator/queue-depth.ts';

export function toSqsEvent(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: 'sandbox',
        ApproximateFirstReceiveTimestamp:
          m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          {
            dataType: value.DataType ?? 'String',
            ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: LOCAL_REGION,
    })),
  };
}

/** The invocation did not finish within the function's timeout. */
export class InvocationTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`worker invocation timed out after ${timeoutMs} ms`);
    this.name = 'InvocationTimeoutError';
  }
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (!timeoutMs) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One event-source-mapping poll: receive up to `batchSize`, invoke, delete successes. `timeoutMs` is
 * the function's timeout: past it the batch fails as a whole (the invocation is abandoned, as Lambda
 * stops a timed-out function).
 */
export async function pollOnce(
  client: SQSClient,
  queues: FlowQueues,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
  batchSize = 10,
  timeoutMs?: number,
): Promise<{ received: number; failed: number }> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queues.queueUrl,
      MaxNumberOfMessages: batchSize,
      WaitTimeSeconds: 0,
      AttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  const messages = out.Messages ?? [];
  if (messages.length === 0) return { received: 0, failed: 0 };
  let response: SQSBatchResponse;
  try {
    response = await withTimeout(handler(toSqsEvent(messages, queues.queueArn)), timeoutMs);
  } catch {
    // A handler crash fails the whole batch, as in Lambda.
    return { received: messages.length, failed: messages.length };
  }
  const failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failedIds.has(m.MessageId ?? ''));
  if (done.length > 0) {
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  return { received: messages.length, failed: failedIds.size };
}
