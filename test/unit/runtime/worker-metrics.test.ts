/**
 * Business metrics (issue 12): the worker counts exactly one outcome per record, whatever path the
 * record takes (the flow's own outcome, a wait, a retry, the DLQ, needs-attention, a failure left
 * to SQS); in Lambda the counts go to Powertools Metrics as `Events.<outcome>` per flow.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import {
  CircuitOpenError,
  NeedsAttentionError,
  NotReadyError,
  VendorHttpError,
} from '../../../functions/core/errors.ts';
import { defineFlow, type FlowEvent, type FlowOutcome } from '../../../functions/core/flow.ts';
import {
  flowMetrics,
  pollGapsNeedAttention,
  pollMetrics,
  powertoolsWorkerMetrics,
} from '../../../functions/runtime/lambda/metrics.ts';
import {
  type EventOutcome,
  METRIC_NAMESPACE,
  NEEDS_ATTENTION_METRIC,
  outcomeMetricName,
  POLL_COMPLETED_METRIC,
  type WorkerMetrics,
} from '../../../functions/runtime/metrics.ts';
import { createWorker } from '../../../functions/runtime/worker.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';
import { onEach, testTrigger } from '../../support/flows.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const TYPES = ['test.event'];
const FLOW = 'flow-metrics';

/** The event id says what the handler does: a flow outcome, or a failure of some kind. */
async function handle(event: FlowEvent) {
  const [what, arg] = event.id.split(':');
  if (what === 'result') return { outcome: arg as FlowOutcome, message: arg ?? '' };
  if (what === 'park') throw new NeedsAttentionError('vendor says no', 'the work order');
  if (what === 'wait') throw new NotReadyError('the start of the episode');
  if (what === 'held') throw new CircuitOpenError('upkeep:host', 30_000, 'circuit open');
  if (what === 'http') throw new VendorHttpError('upkeep', 'createWorkOrder', Number(arg), 'vendor error');
  throw new Error('a bug');
}

/** A fake WorkerMetrics that keeps every call. */
function fakeMetrics() {
  const outcomes: [string, EventOutcome][] = [];
  const parked: string[] = [];
  const metrics: WorkerMetrics = {
    needsAttention: (flowId) => parked.push(flowId),
    outcome: (flowId, outcome) => outcomes.push([flowId, outcome]),
  };
  return { metrics, outcomes, parked };
}

function worker(metrics: WorkerMetrics) {
  return createWorker({
    flow: defineFlow({
      id: FLOW,
      description: 'test',
      vendors: ['upkeep'],
      config: z.object({}),
      triggers: [testTrigger(TYPES)],
      setup: () => undefined,
      on: onEach(TYPES, handle),
    }),
    config: {},
    env: testEnv(t.store()),
    maxReceiveCount: 3,
    deadLetter: async () => undefined,
    delay: async () => undefined,
    metrics,
    random: () => 1,
  });
}

const record = (id: string, receiveCount = 1): SQSRecord =>
  ({
    messageId: `m-${id}`,
    receiptHandle: id,
    // One subject per record: none is held back behind another.
    body: JSON.stringify(flowEvent({ id, subject: id, type: 'test.event' })),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
    messageAttributes: {},
  }) as unknown as SQSRecord;

/** Each record of the batch and the one outcome it must be counted under. */
const CASES: [SQSRecord, EventOutcome][] = [
  [record('result:done'), 'done'],
  [record('result:skipped'), 'skipped'],
  [record('result:duplicate'), 'duplicate'],
  [record('result:echo'), 'echo'],
  [record('result:stale'), 'stale'],
  [record('park'), 'needs-attention'],
  [record('wait'), 'waiting'],
  [record('http:503'), 'retrying'],
  [record('http:404'), 'dead-lettered'],
  [record('held'), 'held'],
  [record('bug:first', 1), 'failed'],
  // Its first failed attempt, whatever the receive count: unexpected errors count attempts.
  [record('bug:again', 3), 'failed'],
];

describe('outcome metrics', () => {
  it('counts one outcome per record of a batch, each under its flow', async () => {
    const { metrics, outcomes, parked } = fakeMetrics();
    const response = await worker(metrics).handler({ Records: CASES.map(([r]) => r) });
    // What stays on the queue for a delay (wait, held, 503, the two bugs) is a batch item failure.
    expect(response.batchItemFailures).toHaveLength(5);
    expect(outcomes).toHaveLength(CASES.length);
    expect(outcomes.map(([, o]) => o).sort()).toEqual(CASES.map(([, o]) => o).sort());
    expect(new Set(outcomes.map(([flowId]) => flowId))).toEqual(new Set([FLOW]));
    expect(parked).toEqual([FLOW]);
  });

  it('a metric that cannot be counted does not fail the record', async () => {
    const metrics: WorkerMetrics = {
      needsAttention: () => undefined,
      outcome: () => {
        throw new Error('metrics store full');
      },
    };
    const result = await worker(metrics).processRecord(record('result:done').body, 1);
    expect(result.outcome).toBe('done');
  });
});

describe('Powertools Metrics in Lambda', () => {
  it('puts every outcome of an invocation in one EMF document, per flow, and needs-attention on its own line', () => {
    const metrics = flowMetrics(FLOW);
    const lines: string[] = [];
    const workerMetrics = powertoolsWorkerMetrics(metrics, (line) => lines.push(line));
    workerMetrics.outcome(FLOW, 'done');
    workerMetrics.outcome(FLOW, 'done');
    workerMetrics.outcome(FLOW, 'dead-lettered');
    workerMetrics.needsAttention(FLOW);
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe(METRIC_NAMESPACE);
    expect(directive?.Dimensions).toEqual([['service', 'flow']]);
    expect(emf.flow).toBe(FLOW);
    expect(emf.service).toBe('millwright');
    expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual([
      outcomeMetricName('dead-lettered'),
      outcomeMetricName('done'),
    ]);
    expect(emf[outcomeMetricName('done')]).toEqual([1, 1]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ flow: FLOW, [NEEDS_ATTENTION_METRIC]: 1 });
  });

  it("adds the deployment's name to every metric when the bundle names it (two plants in one account stay apart)", () => {
    const dimensionsOf = (emf: unknown) =>
      (emf as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } })._aws.CloudWatchMetrics[0]
        ?.Dimensions;
    const metrics = flowMetrics(FLOW, 'PlantA');
    const lines: string[] = [];
    const workerMetrics = powertoolsWorkerMetrics(metrics, (line) => lines.push(line), 'PlantA');
    workerMetrics.outcome(FLOW, 'done');
    workerMetrics.needsAttention(FLOW);
    const outcomes = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    expect(dimensionsOf(outcomes)).toEqual([['service', 'flow', 'deployment']]);
    expect(outcomes.deployment).toBe('PlantA');
    const parked = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(dimensionsOf(parked)).toEqual([['flow', 'deployment']]);
    expect(parked).toMatchObject({ flow: FLOW, deployment: 'PlantA', [NEEDS_ATTENTION_METRIC]: 1 });

    const poll = pollMetrics(FLOW, 'upkeep.parts', 'PlantA');
    poll.addMetric(POLL_COMPLETED_METRIC, 'Count', 1);
    const polled = poll.serializeMetrics() as unknown as Record<string, unknown>;
    expect(dimensionsOf(polled)).toEqual([['service', 'flow', 'source', 'deployment']]);
    expect(polled.deployment).toBe('PlantA');

    const gaps: string[] = [];
    pollGapsNeedAttention([FLOW], 1, (line) => gaps.push(line), new Date(), 'PlantA');
    expect(JSON.parse(gaps[0] ?? '{}')).toMatchObject({ flow: FLOW, deployment: 'PlantA' });
  });
});
