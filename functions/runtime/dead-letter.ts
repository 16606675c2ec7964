/**
 * What the worker sends to SQS itself (Lambda's event source mapping does the receiving):
 * - `sqsDeadLetter`: a failure no retry can mend goes to the flow's DLQ at once. The body goes as it
 *   was received, so a replay (SQS's DLQ redrive) puts back exactly the same event; the reason
 *   travels as a message attribute. The retry history does not: a replayed event starts afresh.
 * - `sqsDelay`: an event that must wait or retry stays on the flow's own queue, made visible again
 *   after a delay (ChangeMessageVisibility on the delivery in hand; see retry.ts). Nothing is re-sent,
 *   so the message keeps its first-receive time, which the retry horizon counts from.
 * The SQS client is loaded on first use: each SDK client costs tens of milliseconds of cold start,
 * and most invocations send nothing.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterSender, DelaySender } from './worker.ts';

/** SQS caps an attribute at 256 KB; a reason is for people, so keep it short. */
const MAX_REASON = 1000;

type Sqs = {
  client: SQSClient;
  Command: typeof import('@aws-sdk/client-sqs').SendMessageCommand;
  ChangeVisibility: typeof import('@aws-sdk/client-sqs').ChangeMessageVisibilityCommand;
};

function lazySqs(client?: SQSClient): () => Promise<Sqs> {
  let sqs: Promise<Sqs> | undefined;
  return () => {
    sqs ??= import('@aws-sdk/client-sqs').then((m) => ({
      client: client ?? new m.SQSClient({}),
      Command: m.SendMessageCommand,
      ChangeVisibility: m.ChangeMessageVisibilityCommand,
    }));
    return sqs;
  };
}

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
