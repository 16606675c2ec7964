/**
 * What the worker sends to SQS itself (Lambda's event source mapping does the receiving):
 * - `sqsDeadLetter`: a failure no retry can mend goes to the flow's DLQ at once. The body goes as it
 *   was received, so a replay (SQS's DLQ redrive) puts back exactly the same event; the reason
 *   travels as a message attribute. The retry history does not: a replayed event starts afresh.
 * - `sqsDelay`: an event that must wait or retry stays on the flow's own queue, made visible again
 *   after a delay (ChangeMessageVisibility on the delivery in hand; see retry.ts). Nothing is re-sent,
 *   so the message keeps its first-receive time, which the retry horizon counts from.
 * - `sqsRemove`: a dead-lettered delivery is deleted from the flow's queue at once, so a batch whose
 *   invocation then dies (a crash, a timeout: the whole batch comes back) does not dead-letter it twice.
 * The SQS client is loaded on first use: each SDK client costs tens of milliseconds of cold start,
 * and most invocations send nothing.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterSender, DelaySender, RemoveSender } from './worker.ts';

/** SQS caps an attribute at 256 KB; a reason is for people, so keep it short. */
const MAX_REASON = 1000;

type Sqs = {
  client: SQSClient;
  Command: typeof import('@aws-sdk/client-sqs').SendMessageCommand;
  ChangeVisibility: typeof import('@aws-sdk/client-sqs').ChangeMessageVisibilityCommand;
  Delete: typeof import('@aws-sdk/client-sqs').DeleteMessageCommand;
};

function lazySqs(client?: SQSClient): () => Promise<Sqs> {
  if (!client) return defaultSqs;
  let sqs: Promise<Sqs> | undefined;
  return () => {
    sqs ??= loadSqs(client);
    return sqs;
  };
}

const loadSqs = (client?: SQSClient): Promise<Sqs> =>
  import('@aws-sdk/client-sqs').then((m) => ({
    client: client ?? new m.SQSClient({}),
    Command: m.SendMessageCommand,
    ChangeVisibility: m.ChangeMessageVisibilityCommand,
    Delete: m.DeleteMessageCommand,
  }));

/** One client for every sender without a client of its own (the Lambda worker's three). */
let defaultLoaded: Promise<Sqs> | undefined;
const defaultSqs = (): Promise<Sqs> => {
  defaultLoaded ??= loadSqs();
  return defaultLoaded;
};

export function sqsDeadLetter(dlqUrl: string, client?: SQSClient): DeadLetterSender {
  const sqs = lazySqs(client);
  return async (body, reason) => {
    const { client: sender, Command } = await sqs();
    await sender.send(
      new Command({
        QueueUrl: dlqUrl,
        MessageBody: body,
        MessageAttributes: {
          deadLetterReason: { DataType: 'String', StringValue: reason.slice(0, MAX_REASON) || 'unknown' },
        },
      }),
    );
  };
}

export function sqsDelay(queueUrl: string, client?: SQSClient): DelaySender {
  const sqs = lazySqs(client);
  return async (receiptHandle, delaySeconds) => {
    const { client: sender, ChangeVisibility } = await sqs();
    await sender.send(
      new ChangeVisibility({
        QueueUrl: queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: delaySeconds,
      }),
    );
  };
}

export function sqsRemove(queueUrl: string, client?: SQSClient): RemoveSender {
  const sqs = lazySqs(client);
  return async (receiptHandle) => {
    const { client: sender, Delete } = await sqs();
    await sender.send(new Delete({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
  };
}
