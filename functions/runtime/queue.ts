/**
 * Enqueue flow events on SQS. A webhook is acknowledged, and a poll watermark advanced, only after
 * `send` resolves: every event is durably on its queue or `send` throws.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { MillwrightError } from '../core/errors.ts';
import type { FlowEvent } from '../core/flow.ts';

export interface EventQueue {
  send(queueUrl: string, events: readonly FlowEvent[]): Promise<void>;
}

export class EnqueueError extends MillwrightError {
  constructor(queueUrl: string, failed: number, options: { cause?: unknown } = {}) {
    super(`${failed} event(s) could not be enqueued on ${queueUrl}`, { ...options, retryable: true });
  }
}

const BATCH = 10;

export function sqsQueue(client: SQSClient = new SQSClient({})): EventQueue {
  return {
    async send(queueUrl, events) {
      for (let i = 0; i < events.length; i += BATCH) {
        let entries: SendMessageBatchRequestEntry[] = events.slice(i, i + BATCH).map((event, n) => ({
          Id: String(n),
          MessageBody: JSON.stringify(event),
          MessageAttributes: {
            eventId: { DataType: 'String', StringValue: event.id },
            eventType: { DataType: 'String', StringValue: event.type },
          },
        }));
        // Retry only the entries SQS reports as failed, a couple of times, then give up loudly.
        for (let attempt = 1; entries.length > 0; attempt++) {
          let failedIds: Set<string>;
          try {
            const out = await client.send(
              new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
            );
            failedIds = new Set((out.Failed ?? []).map((f) => f.Id ?? ''));
          } catch (error) {
            if (attempt >= 3) throw new EnqueueError(queueUrl, entries.length, { cause: error });
            continue;
          }
          entries = entries.filter((e) => failedIds.has(e.Id ?? ''));
          if (entries.length > 0 && attempt >= 3) throw new EnqueueError(queueUrl, entries.length);
        }
      }
    },
  };
}
