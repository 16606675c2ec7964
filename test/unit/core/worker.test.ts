/**
 * The flow worker's failure paths: a failure no retry can mend goes to the dead-letter queue on its
 * first delivery, with its reason; anything that may be transient is left for SQS to retry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { ClaimBusyError, MillwrightError, VendorHttpError } from '../../../functions/core/errors.ts';
import { type AnyFlow, defineFlow, type FlowEvent } from '../../../functions/core/flow.ts';
import { createWorker } from '../../../functions/runtime/worker.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';
import { onEach, testTrigger } from '../../support/flows.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

/** A flow whose `handle` fails as each event's `data.fail` says. */
const failingFlow = (id: string): AnyFlow =>
  defineFlow({
    id,
    description: 'test',
    vendors: ['upkeep'],
    config: z.object({}),
    triggers: [testTrigger()],
    setup: () => undefined,
    on: onEach(['test.event'], async (event: FlowEvent) => {
      switch (event.data.fail) {
        case 'not-found':
          throw new VendorHttpError('upkeep', 'getWorkOrder', 404, 'work order WO-9 does not exist');
        case 'unavailable':
          throw new VendorHttpError('upkeep', 'getWorkOrder', 503, 'try later');
        case 'bug':
          throw new TypeError('cannot read properties of undefined');
        case 'busy':
          throw new ClaimBusyError('flow:create:WO-1');
        default:
          return { outcome: 'done', message: 'ok' };
      }
    }),
  });

function setup(id: string, options: { deadLetterFails?: boolean } = {}) {
  const deadLettered: { body: string; reason: string }[] = [];
  const env = testEnv(t.store());
  const worker = createWorker({
    flow: failingFlow(id),
    config: {},
    env,
    maxReceiveCount: 3,
    deadLetter: async (body, reason) => {
      if (options.deadLetterFails) throw new Error('DLQ unreachable');
      deadLettered.push({ body, reason });
    },
  });
  return { worker, env, deadLettered, runs: () => env.state.listRuns(id) };
}

const body = (fail: string, id = `evt-${fail}`) => JSON.stringify(flowEvent({ id, data: { fail } }));

describe('worker failures', () => {
  it('dead-letters a non-retryable failure on the first delivery, with its reason, and says so in the run log', async () => {
    const { worker, deadLettered, runs } = setup('flow-404');
    const result = await worker.processRecord(body('not-found'), 1);
    expect(result.outcome).toBe('dead-lettered');
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]?.body).toBe(body('not-found'));
    expect(deadLettered[0]?.reason).toMatch(/VendorHttpError: upkeep getWorkOrder failed with HTTP 404/);
    const [run] = await runs();
    expect(run?.outcome).toBe('dead-lettered');
    expect(run?.eventId).toBe('evt-not-found');
    expect(run?.message).toMatch(/^not retryable, moved to the dead-letter queue on attempt 1: .*HTTP 404/);
  });

  it('leaves a retryable failure to SQS: it throws, nothing is dead-lettered, the run log says which attempt', async () => {
    const { worker, deadLettered, runs } = setup('flow-503');
    await expect(worker.processRecord(body('unavailable'), 1)).rejects.toThrow(/HTTP 503/);
    expect(deadLettered).toEqual([]);
    const [run] = await runs();
    expect(run?.outcome).toBe('failed');
    expect(run?.message).toMatch(/^attempt 1\/3: /);
  });

  it('treats an error that is not ours (a bug, an SDK error) as possibly transient', async () => {
    const { worker, deadLettered } = setup('flow-bug');
    await expect(worker.processRecord(body('bug'), 1)).rejects.toThrow(TypeError);
    expect(deadLettered).toEqual([]);
  });

  it('reports contention with a concurrent worker as waiting, not as a failure', async () => {
    const { worker, env, runs } = setup('flow-busy');
    await expect(worker.processRecord(body('busy'), 1)).rejects.toThrow(ClaimBusyError);
    const line = env.log.lines.find((l) => l.message.startsWith('flow-busy:'));
    expect(line?.level).toBe('info');
    expect(line?.message).toMatch(/^flow-busy: waiting: another worker is performing this right now/);
    const [run] = await runs();
    expect(run?.outcome).toBe('waiting');
  });

  it('dead-letters a message that is not a flow event at once', async () => {
    const { worker, deadLettered, runs } = setup('flow-garbage');
    const result = await worker.processRecord('{"not":"an event"}', 1);
    expect(result.outcome).toBe('dead-lettered');
    expect(deadLettered[0]?.reason).toMatch(/InvalidMessageError: queue message is not a flow event/);
    const [run] = await runs();
    expect(run?.eventId).toBe('(unreadable message)');
  });

  it('falls back to SQS retries when the dead-letter queue cannot be reached', async () => {
    const { worker, env, runs } = setup('flow-dlq-down', { deadLetterFails: true });
    await expect(worker.processRecord(body('not-found'), 1)).rejects.toThrow(/HTTP 404/);
    expect(env.log.lines.some((e) => /could not dead-letter/.test(e.message))).toBe(true);
    const [run] = await runs();
    expect(run?.outcome).toBe('failed');
  });

  it('without a dead-letter sender, a non-retryable failure still takes the SQS path', async () => {
    const env = testEnv(t.store());
    const worker = createWorker({ flow: failingFlow('flow-no-dlq'), config: {}, env, maxReceiveCount: 3 });
    await expect(worker.processRecord(body('not-found'), 3)).rejects.toThrow(MillwrightError);
    const [run] = await env.state.listRuns('flow-no-dlq');
    expect(run?.outcome).toBe('dead-lettered');
  });

  it('in a batch, reports only the retryable failure back to SQS', async () => {
    const { worker, deadLettered } = setup('flow-batch');
    const record = (messageId: string, text: string) => ({
      messageId,
      receiptHandle: messageId,
      body: text,
      attributes: { ApproximateReceiveCount: '1' },
    });
    const event = {
      Records: [
        record('m1', body('not-found')),
        record('m2', body('unavailable')),
        record('m3', body('none')),
      ],
    } as unknown as SQSEvent;
    const response = await worker.handler(event);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    expect(deadLettered).toHaveLength(1);
  });
});
