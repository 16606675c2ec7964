/** What SQS says about a queue, without taking anything from it. */
import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface QueueDepth {
  /** Waiting to be received. */
  visible: number;
  /** Received by a worker and not yet deleted (being processed, or failed and not yet visible again). */
  inFlight: number;
  /** Sent with a delay (the worker's waits and retries) and not yet visible. */
  delayed: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const n = (name: QueueAttributeName) => Number(out.Attributes?.[name] ?? 0) || 0;
  return {
    visible: n('ApproximateNumberOfMessages'),
    inFlight: n('ApproximateNumberOfMessagesNotVisible'),
    delayed: n('ApproximateNumberOfMessagesDelayed'),
  };
}

/**
 * When the oldest of up to 10 visible messages was sent: a peek (visibility timeout 0, so nothing is
 * hidden from the worker or a replay). Exact for a queue of at most 10 messages, which a DLQ should
 * be; for a deeper one SQS gives no cheaper exact answer outside CloudWatch (`exact: false`).
 */
export async function oldestSentAt(
  sqs: SQSClient,
  queueUrl: string,
  depth: number,
): Promise<{ sentAt: string; exact: boolean } | undefined> {
  if (depth === 0) return undefined;
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['SentTimestamp'],
    }),
  );
  const sent = (out.Messages ?? [])
    .map((m) => Number(m.Attributes?.SentTimestamp))
    .filter((t) => Number.isFinite(t) && t > 0);
  if (sent.length === 0) return undefined;
  return { sentAt: new Date(Math.min(...sent)).toISOString(), exact: depth <= 10 };
}
