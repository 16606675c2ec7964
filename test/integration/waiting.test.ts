/**
 * Waiting on the real local engines: an event that is not ready is re-sent to its queue with a
 * delay, its retry history travelling in the message attributes through local SQS (as through SQS
 * and Lambda's event source mapping), and parked as needs-attention once the wait budget is spent:
 * never dead-lettered, never dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotReadyError } from '../../functions/core/errors.ts';
import type { AnyFlow, FlowEvent } from '../../functions/core/flow.ts';
import { memoryLog } from '../../functions/core/log.ts';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { queueDepth } from '../../sandbox/sqs.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
/** What the sandbox logs (it writes through a redacting wrapper, so keep the memory log itself). */
const log = memoryLog();
/** The downtime flow, except that one event depends on something that never comes. */
const neverReady = (flow: AnyFlow): AnyFlow =>
  flow.id !== FLOW_ID
    ? flow
    : {
        ...flow,
        handle: async (event, ctx) => {
          if (event.id === 'early-1') throw new NotReadyError('the UpKeep work order of episode ep-early');
          return flow.handle(event, ctx);
        },
      };

beforeAll(async () => {
  sandbox = await startTestSandbox({
    // 1 s waits, parked once 3 s of waiting are spent: the 4th attempt parks it.
    retry: { baseDelaySeconds: 1, maxDelaySeconds: 1, waitBudgetSeconds: 3 },
    wrapFlow: neverReady,
    log,
  });
});
afterAll(async () => {
  await sandbox?.close();
});

describe('an event that is not ready', () => {
  it('scenario 12: waits through local SQS with its history, then is parked visibly with an alarm, not dead-lettered', async () => {
    const event: FlowEvent = {
      id: 'early-1',
      type: 'machinemetrics.downtime.ended',
      source: 'test',
      occurredAt: '2026-11-02T08:00:00.000Z',
      subject: 'machine-early',
      data: { machineId: 'machine-early', endedAt: '2026-11-02T08:00:00.000Z' },
    };
    await sandbox.send(FLOW_ID, [event]);
    await sandbox.drain({ timeoutMs: 20_000 });

    const runs = (await sandbox.state.listRuns(FLOW_ID, 50)).filter((r) => r.eventId === 'early-1');
    // Waits of 1 s until 3 s have passed since its first delivery (how many depends on the loop's pace).
    // (The sandbox's manual clock stamps them all alike, so count them rather than read their order.)
    const outcomes = runs.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'needs-attention')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'waiting').length).toBeGreaterThanOrEqual(2);
    expect(outcomes.length).toBe(outcomes.filter((o) => o === 'waiting').length + 1);
    const parked = await sandbox.state.listParked(FLOW_ID);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.body).toBe(JSON.stringify(event));
    expect(parked[0]?.reason).toMatch(
      /^waited [3-9]s \(\d+ deliveries\) for the UpKeep work order of episode ep-early/,
    );
    const queues = sandbox.flows.get(FLOW_ID)?.queues;
    expect(await queueDepth(sandbox.sqs.client, queues?.dlqUrl ?? '')).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
    expect(log.lines.some((l) => l.level === 'warn' && /^alarm: .*needs attention/.test(l.message))).toBe(
      true,
    );
  });
});
