/**
 * Enqueue flow events on SQS. A webhook is acknowledged, and a poll watermark advanced, only after
 * `send` resolves: every event is durably on its queue or `send` throws.
 *
 * SQS refuses a message over 262,144 bytes (body + attributes) and a batch request whose messages
 * add up to more: batches are cut by size as well as count, and an event that cannot fit one
 * message is refused here (MessageTooLargeError, not retryable) instead of being retried forever.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { MillwrightError } from '../core/errors.ts';
import type { FlowEvent } from '../core/flow.ts';
import { SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES, utf8Bytes } from '../core/limits.ts';

export interface EventQueue {
  /** `attributes`: extra string message attributes on every message (e.g. `via: backfill`). */
  send(queueUrl: string, events: readonly FlowEvent[], attributes?: Record<string, string>): Promise<void>;
}

export class EnqueueError extends MillwrightError {
  constructor(queueUrl: string, failed: number, options: { cause?: unknown } = {}) {
    super(`${failed} event(s) could not be enqueued on ${queueUrl}`, { ...options, retryable: true });
  }
}

/** An event whose message would exceed SQS's size limit: no retry can help. */
export class MessageTooLargeError extends MillwrightError {
  constructor(
    readonly eventId: string,
    readonly bytes: number,
  ) {
    super(
      `event ${eventId.slice(0, 80)} would be a ${bytes}-byte SQS message; the limit is ${SQS_MAX_MESSAGE_BYTES}`,
    );
  }
}

/** The SQS message an event becomes (without the batch entry id). */
export function toMessage(
  event: FlowEvent,
  attributes: Record<string, string> = {},
): Omit<SendMessageBatchRequestEntry, 'Id'> {
  return {
    MessageBody: JSON.stringify(event),
    MessageAttributes: {
      ...Object.fromEntries(
        Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
      ),
      eventId: { DataType: 'String', StringValue: event.id },
      eventType: { DataType: 'String', StringValue: event.type },
    },
  };
}

/** A message's size as SQS counts it: body plus each attribute's name, data type and value. */
export function messageBytes(message: Omit<SendMessageBatchRequestEntry, 'Id'>): number {
  let bytes = utf8Bytes(message.MessageBody ?? '');
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes += utf8Bytes(name) + utf8Bytes(value.DataType ?? '') + utf8Bytes(value.StringValue ?? '');
    bytes += value.BinaryValue?.byteLength ?? 0;
  }
  return bytes;
}

/** Refuse an event whose message would not fit, before anything is sent. */
export function checkMessageSize(event: FlowEvent): void {
  const bytes = messageBytes(toMessage(event));
  if (bytes > SQS_MAX_MESSAGE_BYTES) throw new MessageTooLargeError(event.id, bytes);
}

/** Cut entries into batch requests of at most 10 entries and 262,144 bytes together. */
function batches(
  events: readonly FlowEvent[],
  attributes?: Record<string, string>,
): SendMessageBatchRequestEntry[][] {
  const out: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let size = 0;
  for (const event of events) {
    const message = toMessage(event, attributes);
    const bytes = messageBytes(message);
    if (bytes > SQS_MAX_MESSAGE_BYTES) throw new MessageTooLargeError(event.id, bytes);
    if (current.length === SQS_MAX_BATCH_ENTRIES || size + bytes > SQS_MAX_MESSAGE_BYTES) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push({ Id: String(current.length), ...message });
    size += bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export function sqsQueue(client: SQSClient = new SQSClient({})): EventQueue {
  return {
    async send(queueUrl, events, attributes) {
      for (let entries of batches(events, attributes)) {
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
