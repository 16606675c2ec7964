/**
 * A sandbox left running for weeks: `enqueued` (every event's body, for the demo and tests) keeps the
 * newest `enqueuedLogLimit` events (`settle` counts every event enqueued, not this log).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { MW_EVENT } from '../../functions/connectors/mobility-work/events.ts';
import type { FlowEvent } from '../../functions/core/flow.ts';
import { PARTS, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const FLOW = 'mobility-work-task-to-upkeep-work-order-status';
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox({ enqueuedLogLimit: 2 });
});
afterAll(async () => {
  await sandbox?.close();
});

const started = (n: number): FlowEvent => ({
  id: `mobility-work:net:started-log-${n}`,
  type: MW_EVENT.TaskWasStarted,
  source: 'mobility-work.webhook',
  occurredAt: '2026-11-02T08:00:00.000Z',
  subject: `task-log-${n}`,
  data: {
    _event: 'TaskWasStarted',
    _idempotencyKey: `started-log-${n}`,
    taskId: `task-log-${n}`,
    networkId: '17df9a0f-5c04-43c8-b010-b48e1237e6ff',
  },
});

it('keeps the newest enqueued events only', async () => {
  await sandbox.send(FLOW, [started(1), started(2)]);
  await sandbox.settle({ timeoutMs: 20_000 });
  await sandbox.send(FLOW, [started(3)]);
  const settled = await sandbox.settle({ timeoutMs: 20_000 });
  expect(settled.received).toBeGreaterThanOrEqual(1);
  expect(sandbox.enqueued.map((e) => e.event.id)).toEqual([
    'mobility-work:net:started-log-2',
    'mobility-work:net:started-log-3',
  ]);
});

it('settles an event a simulator enqueues while settling, though the log is full', async () => {
  // The log is at its limit: its length no longer grows, the count of events enqueued does.
  expect(sandbox.enqueued).toHaveLength(2);
  await sandboxControl(sandbox).mobilityWorkPart(PARTS.belt, 'consume', 1);
  await sandbox.settle({ timeoutMs: 20_000 });
  const newest = sandbox.enqueued.at(-1)?.event;
  expect(newest?.source).toMatch(/^mobility-work/);
  expect(newest?.id).not.toMatch(/started-log/);
  const runs = await sandbox.state.queryRuns({ eventId: newest?.id ?? '' });
  expect(runs.entries.length).toBeGreaterThan(0);
});
