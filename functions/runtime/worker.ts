/**
 * The generic flow worker: an SQS batch consumer that runs one flow's `handle` per message and
 * reports partial batch failures, so one bad event never blocks or repeats the others. Failed
 * events are retried by SQS and end in the flow's DLQ after `maxReceiveCount` deliveries.
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

export interface WorkerOptions {
  flow: AnyFlow;
  config: unknown;
  env: RuntimeEnv;
  maxReceiveCount: number;
}

export function parseMessage(body: string): FlowEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidMessageError('', 'body is not JSON', { cause: error });
  }
  return parseWith(flowEventSchema, json, (p) => new InvalidMessageError(p.path, p.message));
}

export interface Worker {
  /** Process one queue message; throws to let the queue retry it. */
  processRecord(body: string, receiveCount: number): Promise<FlowResult>;
  handler(event: SQSEvent): Promise<SQSBatchResponse>;
}

export function createWorker(options: WorkerOptions): Worker {
  const { flow, config, env, maxReceiveCount } = options;
  let deps: unknown;
  const getDeps = () => {
    deps ??= flow.setup(env, config);
    return deps;
  };

  async function processRecord(body: string, receiveCount: number): Promise<FlowResult> {
    const event = parseMessage(body);
    const log = env.log;
    const started = Date.now();
    try {
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
      const final = receiveCount >= maxReceiveCount;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      // Contention with a concurrent worker is expected and resolves on the retry.
      const level = error instanceof ClaimBusyError && !final ? 'warn' : 'error';
      log[level](`${flow.id}: failed (attempt ${receiveCount}/${maxReceiveCount}): ${message}`, {
        eventId: event.id,
        eventType: event.type,
        retryable: error instanceof MillwrightError ? error.retryable : undefined,
        deadLetter: final,
      });
      await env.state
        .appendRun({
          flowId: flow.id,
          eventId: event.id,
          eventType: event.type,
          outcome: final ? 'dead-lettered' : 'failed',
          message: `attempt ${receiveCount}/${maxReceiveCount}: ${message}`,
          at: env.now().toISOString(),
        })
        .catch(() => undefined);
      throw error;
    }
  }

  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord) =>
    processRecord(record.body, Number(record.attributes?.ApproximateReceiveCount ?? '1'));

  return {
    processRecord,
    handler: (event) => processPartialResponse(event, recordHandler, processor),
  };
}
