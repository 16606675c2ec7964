/**
 * `millwright test-event <flow> --file event.json | --example NAME [--dry-run]`: run one event
 * through a flow exactly as its worker does (the worker's processRecord, so parsing, the handler,
 * claims, failure handling and the run-log entry are the real ones), marked `via: test-event`.
 *
 * - Without a dry run it really acts: vendor writes, claims, the run log (the CLI asks first).
 * - With a dry run, vendor writes are recorded and answered by the connector's `dryRun` instead of
 *   sent (reads still go to the vendors), and state writes go to an in-memory overlay of the table
 *   (state-overlay.ts): no claim is marked done, nothing is logged, the table is left as it was.
 * - The event gets a fresh id (`test-<uuid>`) unless `keepId`, so a test never takes a real event's
 *   claim (the run is found by that id: `millwright show test-...`). Flows that key their work by
 *   entity (a downtime episode, a work order) still see the entity's real state.
 * - Failures are not re-queued or dead-lettered: the worker is given no queue, so a retryable
 *   failure comes back as `failed` with its reason (a parked event is parked, as in the worker).
 */
import { randomUUID } from 'node:crypto';
import { connectors } from '../functions/connectors/index.ts';
import { MillwrightError, redact } from '../functions/core/errors.ts';
import { type FlowEvent, type FlowResult, flowEventSchema, type RuntimeEnv } from '../functions/core/flow.ts';
import { type Log, redactingLog } from '../functions/core/log.ts';
import { parseWith } from '../functions/core/schema.ts';
import { createWorker, type Handled, VIA_ATTRIBUTE } from '../functions/runtime/worker.ts';
import { dryRunTransport, type RecordedWrite } from './dry-run.ts';
import { findExample, listExamples } from './examples.ts';
import { stateOverlay } from './state-overlay.ts';
import { flowOf, type Target } from './target.ts';

/** The event given cannot be run through this flow (bad shape, unknown example, unhandled type). */
export class TestEventInputError extends MillwrightError {}

export const TEST_EVENT_VIA = 'test-event';

export interface TestEventOptions {
  /** The event to run (e.g. the parsed `--file`): checked against the FlowEvent shape. */
  event?: unknown;
  /** One of the flow's examples by name (`listExamples(flowId)`), or `connector/name`. */
  exampleName?: string;
  dryRun?: boolean;
  /** Run the event under its own id instead of a fresh `test-<uuid>` (its real claims then apply). */
  keepId?: boolean;
  /** Also receives the flow's log lines (they are returned in `logs` either way). */
  log?: Log;
}

/** The worker's answer, or `failed` when it left the event to the queue (no queue here: it is over). */
export type TestEventOutcome = FlowResult | Handled | { outcome: 'failed'; message: string };

export interface TestEventResult {
  flowId: string;
  /** The event as run (with its fresh id). */
  event: FlowEvent;
  /** The id it came with, when a fresh one replaced it. */
  originalId?: string;
  dryRun: boolean;
  result: TestEventOutcome;
  /** Dry run: vendor writes not sent and state writes not kept, in order. Empty otherwise. */
  writes: RecordedWrite[];
  /** The flow's and the worker's log lines, credentials redacted. */
  logs: string[];
}

function resolveEvent(flowId: string, options: TestEventOptions): FlowEvent {
  if ((options.event === undefined) === (options.exampleName === undefined)) {
    throw new TestEventInputError('give either an event or an example name');
  }
  if (options.exampleName !== undefined) {
    const example = findExample(flowId, options.exampleName);
    if (!example) {
      const names = listExamples(flowId).map((e) => e.name);
      throw new TestEventInputError(
        `no example "${options.exampleName}" for flow ${flowId}; its examples: ${names.join(', ') || '(none)'}`,
      );
    }
    return structuredClone(example.event);
  }
  return parseWith(
    flowEventSchema,
    options.event,
    (p) => new TestEventInputError(`not a flow event: ${p.path || '(root)'}: ${p.message}`),
  );
}

/** A Log that keeps one text line per call and forwards to `also`. */
function capture(lines: string[], also?: Log): Log {
  const at =
    (level: keyof Log) =>
    (message: string, extra?: Record<string, unknown>): void => {
      lines.push(`${level.toUpperCase()} ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}`);
      also?.[level](message, extra);
    };
  return redactingLog({ debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') });
}

export async function testEvent(
  target: Target,
  flowId: string,
  options: TestEventOptions,
): Promise<TestEventResult> {
  const { flow, config } = flowOf(target, flowId);
  const given = resolveEvent(flowId, options);
  if (!flow.handles.includes(given.type)) {
    throw new TestEventInputError(
      `flow ${flowId} does not handle ${given.type}; it handles ${flow.handles.join(', ')}`,
    );
  }
  const event = options.keepId ? given : { ...given, id: `test-${randomUUID()}` };
  const logs: string[] = [];
  const writes: RecordedWrite[] = [];
  const log = capture(logs, options.log);
  const dryRun = options.dryRun === true;

  let env: RuntimeEnv = target.env(log);
  if (dryRun) {
    const record = (write: RecordedWrite) => writes.push(write);
    env = {
      ...env,
      state: env.state.withClient((client) => stateOverlay(client, record).client),
      transport: dryRunTransport({ connectors: new Map(connectors.map((c) => [c.id, c.dryRun])), record }),
    };
  }
  const worker = createWorker({
    flow,
    config,
    env,
    maxReceiveCount: target.deployment.runtime.maxReceiveCount,
  });
  let result: TestEventOutcome;
  try {
    result = await worker.processRecord(JSON.stringify(event), {
      receiveCount: 1,
      attributes: { [VIA_ATTRIBUTE]: TEST_EVENT_VIA },
    });
  } catch (error) {
    result = {
      outcome: 'failed',
      message: redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error), []),
    };
  }
  return {
    flowId,
    event,
    ...(event.id !== given.id ? { originalId: given.id } : {}),
    dryRun,
    result,
    writes,
    logs,
  };
}
