/**
 * AWS limits the code must respect by construction (the local engines enforce the same ones, see
 * sandbox/aws-limits.ts), and the bounds we put on untrusted input so that it always fits them.
 *
 * Budget of an event id (the longest key part we derive from vendor input):
 * - the delivery mark's sort key is the id: DynamoDB allows 1,024 bytes;
 * - the run log's sort key is `<ISO time 24>#<id>#<8>`: 34 + id <= 1,024;
 * - a claim's partition key is `CLAIM#<flow id>:<id>:...`: DynamoDB allows 2,048 bytes.
 * An id is built from at most two vendor identifiers (MAX_ID_BYTES each) and fixed text, so
 * MAX_EVENT_ID_BYTES = 700 fits all three with room to spare.
 */
import { WebhookError } from './errors.ts';

/** SQS: a message (body + attribute names, types and values) and a whole batch request. */
export const SQS_MAX_MESSAGE_BYTES = 262_144;
export const SQS_MAX_BATCH_ENTRIES = 10;
/** DynamoDB: partition key, sort key, item (names and values). */
export const DYNAMO_MAX_PARTITION_KEY_BYTES = 2_048;
export const DYNAMO_MAX_SORT_KEY_BYTES = 1_024;
export const DYNAMO_MAX_ITEM_BYTES = 400 * 1_024;

/**
 * One vendor identifier (object id, idempotency key, machine id, network id). The vendors document
 * none longer than Mobility Work's 255-character external references; real ids are 10-40 bytes.
 */
export const MAX_ID_BYTES = 256;
/** A FlowEvent's `id` and `subject` (see the budget above). */
export const MAX_EVENT_ID_BYTES = 700;
/** A FlowEvent's `type` and `source` (`upkeep.WORK_ORDER_SCHEDULE_STATUS_UPDATED` is 41). */
export const MAX_EVENT_NAME_BYTES = 128;
/** JSON nesting depth accepted from a webhook; vendor payloads nest 4-6 levels. */
export const MAX_JSON_DEPTH = 64;
/**
 * Room a queued event needs besides the webhook body it may carry whole (id, type, source, subject,
 * occurredAt, the JSON envelope and the message attributes).
 */
export const EVENT_ENVELOPE_BYTES = 8_192;
/** The largest webhook body whose event is sure to fit one SQS message. */
export const MAX_WEBHOOK_BODY_BYTES = SQS_MAX_MESSAGE_BYTES - EVENT_ENVELOPE_BYTES;

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * Does `text` nest arrays/objects deeper than `maxDepth`? One pass over the characters, strings
 * skipped, no allocation: bounded time and memory whatever the input (run before JSON.parse).
 */
export function jsonDepthExceeds(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Why `value` is too long for `field`, or undefined when it fits. */
export function tooLong(field: string, value: string | undefined, maxBytes: number): string | undefined {
  if (value === undefined) return undefined;
  const bytes = utf8Bytes(value);
  return bytes > maxBytes ? `${field} is ${bytes} bytes; the limit is ${maxBytes}` : undefined;
}

/**
 * A webhook identifier within MAX_ID_BYTES, or a 400 naming the field and the limit. Used by the
 * receivers on every identifier they lift from a body, before it becomes part of a key.
 */
export function boundedId<T extends string | undefined>(
  what: string,
  field: string,
  value: T,
  maxBytes = MAX_ID_BYTES,
): T {
  const problem = tooLong(field, value, maxBytes);
  if (problem) throw new WebhookError(400, `${what}: ${problem}`);
  return value;
}
