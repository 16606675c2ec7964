/**
 * What DLQ replay and parked-event replay share: putting a stored message body back on its flow's
 * queue, marked `via=replay` (DLQ) or `via=parked-replay` (the worker copies it into the run log, and
 * passes it to the flow: only a parked replay says an operator checked the vendor), and pacing the sends.
 */
import { type MessageAttributeValue, SendMessageCommand } from '@aws-sdk/client-sqs';
import { HISTORY_ATTRIBUTE } from '../functions/runtime/retry.ts';
import { VIA_ATTRIBUTE } from '../functions/runtime/worker.ts';
import type { FlowResources, Target } from './target.ts';

/** Attributes a replay never carries over: the retry history (a replay starts afresh), the old reason. */
const DROPPED = new Set([HISTORY_ATTRIBUTE, 'deadLetterReason', VIA_ATTRIBUTE]);

/** Send `body` unchanged to the flow's own queue with `via` (default `replay`) and no retry history. */
export async function sendReplay(
  target: Target,
  flow: FlowResources,
  body: string,
  attributes: Record<string, MessageAttributeValue> = {},
  via = 'replay',
): Promise<void> {
  const kept = Object.fromEntries(
    Object.entries(attributes).filter(([name, value]) => !DROPPED.has(name) && value.StringValue),
  );
  await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: flow.queueUrl,
      MessageBody: body,
      MessageAttributes: { ...kept, [VIA_ATTRIBUTE]: { DataType: 'String', StringValue: via } },
    }),
  );
}

/** The CLI's and the console's ceiling for a replay or backfill rate, and their default (per second). */
export const MAX_RATE_PER_SECOND = 1000;
export const DEFAULT_RATE_PER_SECOND = 10;

/** Time for pacing: real by default; tests pass a fake that advances when slept. */
export interface PaceClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realPaceClock: PaceClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A pacer for `ratePerSecond` sends: the n-th call (from 0) resolves no earlier than n/rate seconds
 * after the first, so a burst of replays never floods the flow's vendors.
 */
export function pacer(ratePerSecond: number, clock: PaceClock = realPaceClock): () => Promise<void> {
  if (!(ratePerSecond > 0)) throw new RangeError(`rate must be above 0 per second, got ${ratePerSecond}`);
  const interval = 1000 / ratePerSecond;
  let start: number | undefined;
  let n = 0;
  return async () => {
    start ??= clock.now();
    const due = start + n * interval;
    n++;
    const wait = due - clock.now();
    if (wait > 0) await clock.sleep(wait);
  };
}

/** The loose reading of a stored body: its ids when it is a flow event, `(unreadable)` otherwise. */
export function peekEvent(body: string): { eventId: string; eventType: string; subject?: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { eventId: '(unreadable)', eventType: '(unknown)' };
  }
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const subject = str(o.subject);
  return {
    eventId: str(o.id) ?? '(unreadable)',
    eventType: str(o.type) ?? '(unknown)',
    ...(subject ? { subject } : {}),
  };
}

export const byWhom = (by: string | undefined) => (by ? ` by ${by}` : '');
