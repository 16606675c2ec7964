/**
 * What the worker sends to SQS itself (Lambda's event source mapping does the receiving):
 * - `sqsDeadLetter`: a failure no retry can mend goes to the flow's DLQ at once. The body goes as it
 *   was received, so a replay (SQS's DLQ redrive) puts back exactly the same event; the reason
 *   travels as a message attribute. The retry history does not: a replayed event starts afresh.
 * - `sqsRequeue`: an event that must wait or retry goes back on the flow's own queue with a delay,
 *   body unchanged, its attributes carrying the retry history (see retry.ts), so waiting never
 *   spends the receive count that leads to the DLQ.
 * The SQS client is loaded on first use: each SDK client costs tens of milliseconds of cold start,
 * and most invocations send nothing.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterSender, Requeue } from './worker.ts';

/** SQS caps an attribute at 256 KB; a reason is for people, so keep it short. */
const MAX_REASON = 1000;

type Sqs = { client: SQSClient; Command: typeof import('@aws-sdk/client-sqs').SendMessageCommand };

function lazySqs(client?: SQSClient): () => Promise<Sqs> {
  let sqs: Promise<Sqs> | undefined;
  return () => {
    sqs ??= import('@aws-sdk/client-sqs').then((m) => ({
      client: client ?? new m.SQSClient({}),
      Command: m.SendMessageCommand,
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

export function sqsRequeue(queueUrl: string, client?: SQSClient): Requeue {
  const sqs = lazySqs(client);
  return async ({ body, delaySeconds, attributes }) => {
    const { client: sender, Command } = await sqs();
    await sender.send(
      new Command({
        QueueUrl: queueUrl,
        MessageBody: body,
        DelaySeconds: delaySeconds,
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes)
            .filter(([, value]) => value !== '')
            .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
        ),
      }),
    );
  };
}
