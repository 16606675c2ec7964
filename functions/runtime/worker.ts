/**
 * The generic flow worker: an SQS batch consumer that runs one flow's `handle` per message and
 * reports partial batch failures, so one bad event never blocks or repeats the others. Retryable
 * failures are retried by SQS and end in the flow's DLQ after `maxReceiveCount` deliveries; a
 * failure no retry can mend (a `MillwrightError` with `retryable: false`, e.g. a vendor 404 or an
 * invalid message) is sent to the DLQ at once, with its reason, instead of being tried again.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ClaimBusyError, MillwrightError } from '../core/errors.ts';
import {
  type AnyFlow,
  type FlowEvent,
  type FlowResult,
  flowEventSchema,
  type RuntimeEnv,
} from '../core/flow.ts';
import { parseWith } from '../core/schema.ts';

export class InvalidMessageError extends MillwrightError {
  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super(`queue message is not a flow event: ${field || '(root)'}: ${message}`, options);
  }
}

/** Puts a message body on the flow's dead-letter queue with the reason it failed. */
export type DeadLetterSender = (body: string, reason: string) => Promise<void>;

export interface WorkerOptions {
  flow: AnyFlow;
  config: unknown;
  env: RuntimeEnv;
  maxReceiveCount: number;
  /**
   * Dead-letters a non-retryable failure on its first delivery. Without it (or when it fails) the
   * message takes the usual path: retried until `maxReceiveCount`, then redriven by SQS.
   */
  deadLetter?: DeadLetterSender;
}

/** Not worth another delivery: our own typed errors say so; anything else may be transient. */
const isPermanent = (error: unknown): boolean => error instanceof MillwrightError && !error.retryable;

export function parseMessage(body: string): FlowEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidMessageError('', 'body is not JSON', { cause: error });
  }
  return parseWith(flowEventSchema, json, (p) => new InvalidMessageError(p.path, p.message));
}

/** A message that was dead-lettered at once because no retry could help. */
export interface DeadLettered {
  outcome: 'dead-lettered';
  message: string;
}

export interface Worker {
  /** Process one queue message; throws to let the queue retry it. */
  processRecord(body: string, receiveCount: number): Promise<FlowResult | DeadLettered>;
  handler(event: SQSEvent): Promise<SQSBatchResponse>;
}

export function createWorker(options: WorkerOptions): Worker {
  const { flow, config, env, maxReceiveCount } = options;
  let deps: unknown;
  const getDeps = () => {
    deps ??= flow.setup(env, config);
    return deps;
  };

  async function processRecord(body: string, receiveCount: number): Promise<FlowResult | DeadLettered> {
    const log = env.log;
    let event: FlowEvent | undefined;
    const started = Date.now();
    try {
      event = parseMessage(body);
      const result = await flow.handle(event, {
        flowId: flow.id,
        config,
        deps: getDeps(),
        state: env.state,
        log,
        now: env.now,
      });
      log.info(`${flow.id}: ${result.outcome}: ${result.message}`, {
        eventId: event.id,
        eventType: event.type,
        outcome: result.outcome,
        ms: Date.now() - started,
      });
      await env.state.appendRun({
        flowId: flow.id,
        eventId: event.id,
        eventType: event.type,
        outcome: result.outcome,
        message: result.message,
        at: env.now().toISOString(),
        effects: result.effects,
      });
      return result;
    } catch (error) {
      return failed(body, event, receiveCount, error);
    }
  }

  /** Log and record a failure; dead-letter it now if no retry can help, else throw to retry. */
  async function failed(
    body: string,
    event: FlowEvent | undefined,
    receiveCount: number,
    error: unknown,
  ): Promise<DeadLettered> {
    const log = env.log;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const ids = { eventId: event?.id ?? '(unreadable message)', eventType: event?.type ?? '(unknown)' };
    const permanent = isPermanent(error) && options.deadLetter !== undefined;
    let deadLettered = false;
    if (permanent) {
      try {
        await options.deadLetter?.(body, reason);
        deadLettered = true;
      } catch (sendError) {
        log.error(`${flow.id}: could not dead-letter a non-retryable failure; SQS will retry it`, {
          ...ids,
          error: String(sendError),
        });
      }
    }
    const final = deadLettered || receiveCount >= maxReceiveCount;
    // Contention with a concurrent worker is expected: the retry finds the effect done or free.
    const waiting = error instanceof ClaimBusyError && !final;
    const message = deadLettered
      ? `not retryable, moved to the dead-letter queue on attempt ${receiveCount}: ${reason}`
      : waiting
        ? `another worker is performing this right now; trying again shortly (attempt ${receiveCount}/${maxReceiveCount})`
        : `attempt ${receiveCount}/${maxReceiveCount}: ${reason}`;
    const extra = {
      ...ids,
      retryable: error instanceof MillwrightError ? error.retryable : undefined,
      deadLetter: final,
    };
    if (waiting)
      log.info(`${flow.id}: waiting: ${message}`, { ...ids, claim: (error as ClaimBusyError).key });
    else log.error(`${flow.id}: failed (${message})`, extra);
    await env.state
      .appendRun({
        flowId: flow.id,
        ...ids,
        outcome: final ? 'dead-lettered' : waiting ? 'waiting' : 'failed',
        message,
        at: env.now().toISOString(),
      })
      .catch(() => undefined);
    if (deadLettered) return { outcome: 'dead-lettered', message };
    throw error;
  }

  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord) =>
    processRecord(record.body, Number(record.attributes?.ApproximateReceiveCount ?? '1'));

  return {
    processRecord,
    handler: (event) => processPartialResponse(event, recordHandler, processor),
  };
}
