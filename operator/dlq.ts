/**
 * `millwright dlq list|replay FLOW`. Listing reads every message of the flow's dead-letter queue
 * without consuming it: each is received with a short visibility timeout, then made visible again
 * at once. Replaying sends each chosen body unchanged to the flow's own queue (`via=replay`, no
 * retry history) and only then deletes it from the DLQ: a crash in between leaves a duplicate,
 * which the flows' claims absorb (outcome `duplicate`); nothing is ever lost.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { MillwrightError } from '../functions/core/errors.ts';
import { duration } from '../functions/runtime/retry.ts';
import { queueDepth } from './queue-depth.ts';
import { byWhom, type PaceClock, pacer, peekEvent, realPaceClock, sendReplay } from './replay.ts';
import { type FlowResources, flowOf, type Target } from './target.ts';

/** A replay named nothing to replay, or a send failed part way (the rest stay on the DLQ). */
export class DeadLetterReplayError extends MillwrightError {}

export interface DeadLetter {
  messageId: string;
  /** The event's id, or `(unreadable)` when the body is not a flow event. */
  eventId: string;
  eventType: string;
  subject?: string;
  /** Why it failed: the worker's `deadLetterReason`, or the redrive SQS did after the last delivery. */
  reason: string;
  /** When it reached the queue (SQS's SentTimestamp), ISO. */
  sentAt?: string;
  ageSeconds?: number;
  /** `3h 12m`, for people. */
  age?: string;
  /** The message body as stored (for --json, and what a replay sends). */
  body: string;
}

/** How long a listed message stays hidden before it is made visible again (if the release fails). */
const LIST_VISIBILITY_SECONDS = 30;
/** SQS's ceiling for a visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;

interface Scan {
  /** Unique messages in the order first received, each with its latest receipt handle. */
  messages: Message[];
}

/**
 * Receive every message of `queueUrl` (or the first `limit`), keeping each hidden for
 * `visibilitySeconds`. Stops when a receive brings nothing new: the queue is empty, or every
 * message left is one already in hand (SQS may hand a message out twice).
 */
async function scan(
  target: Target,
  queueUrl: string,
  options: { visibilitySeconds: number; limit?: number },
): Promise<Scan> {
  const byId = new Map<string, Message>();
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  while (byId.size < limit) {
    const out = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: options.visibilitySeconds,
        // Long polling asks every SQS server; the sandbox's local SQS is one server, and the scan's
        // last, empty receive would wait the full second there.
        WaitTimeSeconds: target.kind === 'stack' ? 1 : 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    );
    let fresh = 0;
    for (const m of out.Messages ?? []) {
      if (!m.MessageId) continue;
      if (!byId.has(m.MessageId)) fresh++;
      // The latest receipt handle is the one SQS honours.
      byId.set(m.MessageId, m);
    }
    if (fresh === 0) break;
  }
  return { messages: [...byId.values()] };
}

/** Make messages visible again at once (batches of 10). Best effort: they reappear after the timeout anyway. */
async function release(target: Target, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    await target.sqs
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, j) => ({
            Id: String(j),
            ReceiptHandle: m.ReceiptHandle ?? '',
            VisibilityTimeout: 0,
          })),
        }),
      )
      .catch(() => undefined);
  }
}

/** One DLQ message as operators read it. */
export function toDeadLetter(message: Message, now: Date, maxReceiveCount: number): DeadLetter {
  const body = message.Body ?? '';
  const peeked = peekEvent(body);
  const attrs = message.MessageAttributes ?? {};
  // The queue message's own attributes name the event when the body cannot (see runtime/queue.ts).
  const eventId =
    peeked.eventId === '(unreadable)' ? (attrs.eventId?.StringValue ?? peeked.eventId) : peeked.eventId;
  const eventType =
    peeked.eventType === '(unknown)' ? (attrs.eventType?.StringValue ?? peeked.eventType) : peeked.eventType;
  const sent = Number(message.Attributes?.SentTimestamp);
  const ageSeconds =
    Number.isFinite(sent) && sent > 0 ? Math.max(0, Math.floor((now.getTime() - sent) / 1000)) : undefined;
  return {
    messageId: message.MessageId ?? '',
    eventId,
    eventType,
    ...(peeked.subject ? { subject: peeked.subject } : {}),
    reason: attrs.deadLetterReason?.StringValue ?? `failed ${maxReceiveCount} deliveries (redriven by SQS)`,
    ...(ageSeconds !== undefined
      ? { sentAt: new Date(sent).toISOString(), ageSeconds, age: duration(ageSeconds) }
      : {}),
    body,
  };
}

export interface ListOptions {
  /** At most this many messages (default: all). */
  limit?: number;
  now?: () => Date;
}

/** Every message on the flow's DLQ (or the first `limit`), oldest handed out first; none consumed. */
export async function listDeadLetters(
  target: Target,
  flowId: string,
  options: ListOptions = {},
): Promise<DeadLetter[]> {
  const flow = flowOf(target, flowId);
  const { messages } = await scan(target, flow.dlqUrl, {
    visibilitySeconds: LIST_VISIBILITY_SECONDS,
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  });
  await release(target, flow.dlqUrl, messages);
  const now = (options.now ?? (() => new Date()))();
  return messages
    .slice(0, options.limit)
    .map((m) => toDeadLetter(m, now, target.deployment.runtime.maxReceiveCount));
}

export interface Selection<T> {
  selected: T[];
  /** Requested ids that matched nothing. */
  notFound: string[];
}

/** The letters a replay takes: every one (`all`), or those whose event id or message id is asked for. */
export function selectDeadLetters<T extends { messageId: string; eventId: string }>(
  letters: readonly T[],
  choice: { ids?: readonly string[]; all?: boolean },
): Selection<T> {
  const ids = [...new Set(choice.ids ?? [])];
  if (choice.all) {
    if (ids.length > 0) throw new DeadLetterReplayError('name event ids or --all, not both');
    return { selected: [...letters], notFound: [] };
  }
  if (ids.length === 0)
    throw new DeadLetterReplayError('name the event ids (or message ids) to replay, or --all');
  const wanted = new Set(ids);
  const selected = letters.filter((l) => wanted.has(l.eventId) || wanted.has(l.messageId));
  const notFound = ids.filter((id) => !letters.some((l) => l.eventId === id || l.messageId === id));
  return { selected, notFound };
}

export interface ReplayOptions {
  /** Event ids or DLQ message ids. */
  ids?: string[];
  all?: boolean;
  /** Sends per second (default 10). */
  ratePerSecond?: number;
  /** List what would be replayed; change nothing. */
  dryRun?: boolean;
  /** Who replays (kept in the run log). */
  by?: string;
  onProgress?: (done: number, total: number) => void;
  /** Pacing time (tests). */
  clock?: PaceClock;
  now?: () => Date;
}

export interface ReplayResult {
  selected: number;
  replayed: number;
  notFound: string[];
  dryRun: boolean;
  /** The chosen messages (replayed, or that would be with dryRun). */
  events: Omit<DeadLetter, 'body'>[];
  /** Replayed, but their DLQ copy could not be deleted: a later replay of them is a duplicate. */
  notDeleted: string[];
}

/**
 * Replay chosen messages of the flow's DLQ onto its queue, paced, send before delete, with a run-log
 * entry `replayed` each. The messages are held hidden for the whole run (so no other replay takes
 * them); those not chosen are made visible again at the end.
 */
export async function replayDeadLetters(
  target: Target,
  flowId: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const flow = flowOf(target, flowId);
  const rate = options.ratePerSecond ?? 10;
  const pace = pacer(rate, options.clock ?? realPaceClock);
  const now = options.now ?? (() => new Date());
  // Held long enough for every send at the rate (SQS's estimate of the count), plus a margin.
  const estimate = (await queueDepth(target.sqs, flow.dlqUrl)).visible;
  const visibilitySeconds = Math.min(MAX_VISIBILITY_SECONDS, 60 + Math.ceil(estimate / rate));
  const { messages } = await scan(target, flow.dlqUrl, { visibilitySeconds });
  const pending = new Map(messages.map((m) => [m.MessageId ?? '', m]));
  try {
    const letters = messages.map((m) => toDeadLetter(m, now(), target.deployment.runtime.maxReceiveCount));
    const { selected, notFound } = selectDeadLetters(letters, options);
    const result: ReplayResult = {
      selected: selected.length,
      replayed: 0,
      notFound,
      dryRun: options.dryRun === true,
      events: selected.map(({ body: _, ...rest }) => rest),
      notDeleted: [],
    };
    if (options.dryRun) return result;
    for (const letter of selected) {
      const message = pending.get(letter.messageId) as Message;
      await pace();
      await replayOne(target, flow, letter, message, options.by, now, result);
      pending.delete(letter.messageId);
      options.onProgress?.(result.replayed, selected.length);
    }
    return result;
  } finally {
    // Whatever was not replayed (not chosen, a dry run, or left by a failure) is visible again.
    await release(target, flow.dlqUrl, [...pending.values()]);
  }
}

async function replayOne(
  target: Target,
  flow: FlowResources,
  letter: DeadLetter,
  message: Message,
  by: string | undefined,
  now: () => Date,
  result: ReplayResult,
): Promise<void> {
  const at = now().toISOString();
  try {
    await sendReplay(target, flow, letter.body, message.MessageAttributes);
  } catch (error) {
    throw new DeadLetterReplayError(
      `${flow.flow.id}: could not send ${letter.eventId} (message ${letter.messageId}) to its queue after ${result.replayed} replayed; it and the rest stay on the dead-letter queue: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  result.replayed++;
  try {
    await target.sqs.send(
      new DeleteMessageCommand({ QueueUrl: flow.dlqUrl, ReceiptHandle: message.ReceiptHandle ?? '' }),
    );
  } catch {
    result.notDeleted.push(letter.messageId);
  }
  await target.state.appendRun({
    flowId: flow.flow.id,
    eventId: letter.eventId,
    eventType: letter.eventType,
    ...(letter.subject ? { subject: letter.subject } : {}),
    outcome: 'replayed',
    message: `replayed from the dead-letter queue${byWhom(by)}`,
    at,
    via: 'replay',
  });
}
