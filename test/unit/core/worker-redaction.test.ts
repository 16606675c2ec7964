/**
 * The worker's second line of defence: a failure whose text carries a credential a client was
 * issued (an error a flow or connector built itself, past the client's own redaction) reaches
 * neither the dead-letter reason (an SQS attribute `millwright dlq` prints) nor a parked event's
 * reason (`millwright parked`), as it already reaches neither the run log nor a redacting log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { NeedsAttentionError, rememberCredential, VendorHttpError } from '../../../functions/core/errors.ts';
import { defineFlow, type FlowEvent } from '../../../functions/core/flow.ts';
import { createWorker } from '../../../functions/runtime/worker.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';
import { onEach, testTrigger } from '../../support/flows.ts';
import { startTestState, type TestState } from '../../support/state.ts';

const TOKEN = 'dp/Key+worker-redaction-7e1f2a9c==';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const flow = (id: string) =>
  defineFlow({
    id,
    description: 'fails with a message carrying an issued credential',
    vendors: ['deepomatic'],
    config: z.object({}),
    triggers: [testTrigger()],
    setup: () => undefined,
    on: onEach(['test.event'], async (event: FlowEvent) => {
      if (event.data.fail === 'park') {
        throw new NeedsAttentionError(`validation says token ${TOKEN} is unknown`, `rotate ${TOKEN}`);
      }
      throw new VendorHttpError('deepomatic', 'getWorkOrder', 404, `no work order for token ${TOKEN}`);
    }),
  });

describe('an issued credential in a failure text', () => {
  it('secrets never logged: it reaches neither the dead-letter reason nor the parked reason and check', async () => {
    rememberCredential(TOKEN);
    const deadLettered: string[] = [];
    const env = testEnv(t.store());
    const worker = createWorker({
      flow: flow('flow-redact'),
      config: {},
      env,
      maxReceiveCount: 3,
      deadLetter: async (_body, reason) => {
        deadLettered.push(reason);
      },
    });
    await worker.processRecord(JSON.stringify(flowEvent({ id: 'evt-dlq', data: { fail: 'dlq' } })), 1);
    await worker.processRecord(JSON.stringify(flowEvent({ id: 'evt-park', data: { fail: 'park' } })), 1);

    expect(deadLettered).toHaveLength(1);
    const parked = await env.state.listParked('flow-redact');
    expect(parked).toHaveLength(1);
    const shown = JSON.stringify({
      deadLettered,
      parked: parked.map(({ reason, check }) => ({ reason, check })),
      runs: await env.state.listRuns('flow-redact'),
    });
    expect(shown).toContain('[REDACTED]');
    expect(shown).not.toContain('worker-redaction');
  });
});
