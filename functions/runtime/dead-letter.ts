/**
 * Sends a failed message to its flow's dead-letter queue at once, for failures no retry can mend.
 * The body goes as it was received, so a replay (SQS's DLQ redrive) puts back exactly the same
 * event; the reason travels as a message attribute. The SQS client is loaded on first use: a worker
 * otherwise never talks to SQS (Lambda's event source mapping does), and each SDK client costs
 * tens of milliseconds of cold start.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterSender } from './worker.ts';

/** SQS caps an attribute at 256 KB; a reason is for people, so keep it short. */
const MAX_REASON = 1000;

export function sqsDeadLetter(dlqUrl: string, client?: SQSClient): DeadLetterSender {
  let sqs: Promise<{ client: SQSClient; Command: typeof import('@aws-sdk/client-sqs').SendMessageCommand }>;
  return async (body, reason) => {
    sqs ??= import('@aws-sdk/client-sqs').then((m) => ({
      client: client ?? new m.SQSClient({}),
      Command: m.SendMessageCommand,
    }));
    const { client: sender, Command } = await sqs;
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
