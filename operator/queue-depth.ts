/** How many messages a queue holds, as SQS estimates it: waiting, in flight and delayed together. */
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Target } from './target.ts';

export interface QueueDepth {
  visible: number;
  inFlight: number;
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
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export const totalOf = (d: QueueDepth): number => d.visible + d.inFlight + d.delayed;

/**
 * When the oldest of up to 10 visible messages was sent: a peek (visibility timeout 0, so nothing is
 * hidden from the worker or a replay). Exact for a queue of at most 10 messages, which a DLQ should
 * be; for a deeper one SQS gives no cheaper exact answer outside CloudWatch (`exact: false`).
 */
export async function oldestSentAt(
  target: Pick<Target, 'sqs' | 'kind'>,
  queueUrl: string,
  depth: number,
): Promise<{ sentAt: string; exact: boolean } | undefined> {
  if (depth === 0) return undefined;
  const out = await target.sqs.send(
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
