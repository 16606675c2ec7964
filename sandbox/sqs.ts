/**
 * Local SQS (our own engine on loopback, sqs-engine.ts; durable in `dir` when given, see
 * sqs-journal.ts) and the part Lambda plays in AWS: an event source mapping that receives batches
 * (with their message attributes: the worker's retry history travels there), invokes the worker
 * handler with an SQSEvent, deletes what succeeded and leaves batchItemFailures to reappear after
 * the visibility timeout, until the queue's redrive policy moves them to the DLQ. An invocation that
 * throws or outlives its timeout fails its whole batch, as a crashed or timed-out Lambda does. The
 * engine honours DelaySeconds, so the worker's delayed re-sends behave as in AWS, and SQS's
 * 262,144-byte message limit (aws-limits.ts).
 */
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { withInvocationDeadline } from '../functions/core/deadline.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamo.ts';
import { SqsEngine } from './sqs-engine.ts';
import { type Journal, openJournal, readJournal } from './sqs-journal.ts';
import { createSqsHttpServer } from './sqs-server.ts';

export interface LocalSqs {
  endpoint: string;
  client: SQSClient;
  /** The engine itself, for in-process consumers (`waitForMessage`, `events`). */
  engine: SqsEngine;
  /** Where the queues are journaled (none: in memory). */
  dir?: string;
  /**
   * Per queue, the journaled messages found past their retention period at start (the sandbox was
   * stopped longer than it): dropped, as SQS drops them, but the caller says so.
   */
  expiredAtStart: { queue: string; messages: number }[];
  createQueue(
    name: string,
    options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
  ): Promise<FlowQueues>;
  /** Resolves when the queue has a message to receive, or when `signal` aborts. */
  waitForMessage(queueUrl: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface FlowQueues {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
}

const ACCOUNT = '123456789012';

/** The flow queues' and DLQs' retention, in seconds (SQS's maximum). */
const FOURTEEN_DAYS_S = '1209600';

/**
 * Start the local SQS on 127.0.0.1. With `dir`, every queue and message is journaled there and
 * restored (and the journal compacted) at start; without, it lives in memory.
 */

export async function startLocalSqs(
  options: {
    port?: number;
    dir?: string;
    /** fsync every journal write: survives a power loss too, at a cost per request (default false). */
    fsync?: boolean;
    /** Wall-clock milliseconds (tests pass a fake). */
    now?: () => number;
  } = {},
): Promise<LocalSqs> {
  let journal: Journal | undefined;
  let engine: SqsEngine;
  let expiredAtStart: { queue: string; messages: number }[] = [];
  const base = {
    baseUrl: '',
    region: LOCAL_REGION,
    account: ACCOUNT,
    ...(options.now ? { now: options.now } : {}),
  };
  if (options.dir) {
    const { records } = readJournal(options.dir);
    journal = openJournal(options.dir, { fsync: options.fsync ?? false });
    engine = new SqsEngine({ ...base, journal });
    engine.replay(records);
    expiredAtStart = engine.expired();
    // Drops a torn tail and whatever the live state no longer needs, before anything is appended.
    engine.compact();
  } else {
    engine = new SqsEngine(base);
  }
  const { server, abortAll } = createSqsHttpServer(engine);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  engine.baseUrl = endpoint;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

  /** Create the queue, or bring an existing one (a restart with changed settings) to `attributes`. */
  const upsertQueue = async (name: string, attributes: Record<string, string>) => {
    try {
      return (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
        .QueueUrl as string;
    } catch (error) {
      if ((error as Error).name !== 'QueueNameExists') throw error;
      const url = (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string;
      await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
      return url;
    }
  };

  return {
    endpoint,
    client,
    engine,
    ...(options.dir ? { dir: options.dir } : {}),
    expiredAtStart,
    async createQueue(name, { visibilityTimeoutSeconds, maxReceiveCount }) {
      // 14 days for both, as the stack's queues (lib/constructs/flow-worker.ts): SQS's default of
      // 4 days would drop the events of a flow paused, or a sandbox stopped, for a long week.
      const dlqUrl = await upsertQueue(`${name}-dlq`, { MessageRetentionPeriod: FOURTEEN_DAYS_S });
      const dlqArn = engine.arnOf(`${name}-dlq`);
      const queueUrl = await upsertQueue(name, {
        MessageRetentionPeriod: FOURTEEN_DAYS_S,
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      });
      return { queueUrl, queueArn: engine.arnOf(name), dlqUrl };
    },
    waitForMessage: (queueUrl, signal) => engine.waitForMessage(queueUrl, signal),
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        abortAll();
        server.closeAllConnections?.();
        server.close(() => {
          journal?.close();
          resolve();
        });
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
  /** Told when the invocation crashes or times out (Lambda logs both; the batch fails silently here). */
  onCrash?: (error: unknown, received: number) => void,
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
    const invoke = () => handler(toSqsEvent(messages, queues.queueArn));
    // As in Lambda (runtime/lambda/worker.ts): vendor calls give up before the timeout (core/deadline.ts).
    const work = timeoutMs ? withInvocationDeadline(Date.now() + timeoutMs, invoke) : invoke();
    response = await withTimeout(work, timeoutMs);
  } catch (error) {
    // A handler crash fails the whole batch, as in Lambda.
    onCrash?.(error, messages.length);
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
