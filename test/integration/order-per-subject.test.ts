/**
 * Order per subject across retries (issue 13), through the sandbox's real queue and worker: the
 * first event of a subject fails with a vendor 5xx (the simulator's fault injection) and goes back on
 * the queue with a delay (however the worker schedules it: only the run log's `retrying` is
 * asserted); a later event of the same subject succeeds meanwhile; then the retry comes back and
 * must not undo the later state.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DOWNTIME_ENDED, DOWNTIME_STARTED } from '../../functions/connectors/machinemetrics/events.ts';
import { connectUpKeep } from '../../functions/connectors/upkeep/client.ts';
import type { FlowEvent } from '../../functions/core/flow.ts';
import { FLOW_ID as DOWNTIME_FLOW } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as STATUS_FLOW } from '../../functions/flows/mobility-work-task-to-upkeep-work-order-status.ts';
import { MACHINES, postJson, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { pollOnce } from '../../sandbox/sqs.ts';
import { startTestSandbox, TEST_RETRY } from '../support/sandbox.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox({
    // The failed event comes back after 2 s: long enough for the later event to be handled first.
    retry: { ...TEST_RETRY, baseDelaySeconds: 2, maxDelaySeconds: 2, horizonSeconds: 30 },
    // The worker delays a failed event on the delivery in hand; a loaded machine can spend more than
    // the tests' usual 1 s on the vendor's retried 5xx, and past its visibility timeout the delivery
    // can no longer be delayed (the event then takes SQS's path: `failed`, redelivered).
    visibilityTimeoutSeconds: 10,
  });
  await sandboxControl(sandbox).advance(0);
});
afterAll(() => sandbox?.close());
afterEach(() => clearFaults());

const upkeep = () => {
  const sim = sandbox.simulators.upkeep;
  if (!sim) throw new Error('no UpKeep simulator');
  return sim;
};
const faults = (body: unknown) => postJson(`${upkeep().url}/_sandbox/faults`, body);
const clearFaults = async () => {
  await fetch(`${upkeep().url}/_sandbox/faults`, { method: 'DELETE' });
};

/** One receive from the flow's queue through its worker (what one Lambda invocation does). */
async function receiveOnce(flowId: string) {
  const flow = sandbox.flows.get(flowId);
  if (!flow) throw new Error(`flow ${flowId} not enabled`);
  return pollOnce(sandbox.sqs.client, flow.queues, flow.worker.handler);
}

const lastEnqueued = (type: string, subject: string): FlowEvent => {
  const found = [...sandbox.enqueued]
    .reverse()
    .find((e) => e.event.type === type && e.event.subject === subject);
  if (!found) throw new Error(`no ${type} for ${subject}`);
  return found.event;
};

describe('order per subject through the queue and the worker', () => {
  it('downtime -> UpKeep: a started that failed with a 5xx comes back after its ended: one work order, recovered; a replay of the started after that creates nothing', async () => {
    const c = sandboxControl(sandbox);
    const machine = MACHINES.one;
    const asset = 'AssetMill01';
    const before = (await c.workOrdersFor(asset)).length;
    await faults({ match: 'POST /api/v2/work-orders', status: 503, times: 20 });
    await c.machine(machine, 'down');
    sandbox.clock.advance(20 * 60_000);
    await sandbox.tick();
    await receiveOnce(DOWNTIME_FLOW);
    const startedId = lastEnqueued(DOWNTIME_STARTED, machine).id;
    const first = await sandbox.state.queryRuns({ eventId: startedId, limit: 5 });
    expect(first.entries.map((r) => r.outcome)).toEqual(['retrying']); // the create: 503
    await clearFaults(); // UpKeep is back; the started waits in the queue for its retry
    await c.machine(machine, 'up');
    sandbox.clock.advance(10 * 60_000);
    await sandbox.tick();
    const ended = lastEnqueued(DOWNTIME_ENDED, machine);
    await receiveOnce(DOWNTIME_FLOW); // the ended (poller's and webhook's), before the started's retry
    const endRuns = await sandbox.state.queryRuns({ subject: machine, flowId: DOWNTIME_FLOW, limit: 20 });
    expect(endRuns.entries.some((r) => r.eventId === ended.id)).toBe(true);
    expect((await c.workOrdersFor(asset)).slice(before)).toHaveLength(0); // kept on the episode
    await sandbox.settle(); // the retry comes back
    const made = (await c.workOrdersFor(asset)).slice(before);
    expect(made).toHaveLength(1);
    expect(made[0]?.description).toContain('Running again since');

    // Replayed later (DLQ replay, backfill): the closed episode stays closed, nothing new is made.
    const started = lastEnqueued(DOWNTIME_STARTED, machine);
    sandbox.clock.advance(60_000); // so the run log lists the replay after the retry
    await sandbox.send(DOWNTIME_FLOW, [started]);
    await sandbox.settle();
    expect((await c.workOrdersFor(asset)).slice(before)).toHaveLength(1);
    const runs = await sandbox.state.queryRuns({ eventId: started.id, flowId: DOWNTIME_FLOW, limit: 10 });
    // Newest first: the replay, the retry that made the work order, the first attempt.
    expect(runs.entries.map((r) => r.outcome)).toEqual(['duplicate', 'done', 'retrying']);
    expect(runs.entries[0]?.message).toContain('already ended');
  });

  it('Mobility Work task -> UpKeep status: a started that failed with a 5xx, retried after the canceled was applied, leaves the work order on hold (stale)', async () => {
    const workOrderId = (await connectUpKeep(sandbox.env).createWorkOrder({ title: 'Order test' })).id;
    const status = () =>
      upkeep()
        .workOrders()
        .find((w) => w.id === workOrderId)?.status;
    const event = (kind: 'Started' | 'Canceled', at: string): FlowEvent => ({
      id: `mobility-work:network-1:order-test-${kind}`,
      type: `mobility-work.TaskWas${kind}`,
      source: 'mobility-work.webhook',
      occurredAt: at,
      subject: 'order-test-task',
      data: {
        _event: `TaskWas${kind}`,
        networkId: 'network-1',
        taskId: 'order-test-task',
        metadata: { upkeepWorkOrderId: workOrderId },
      },
    });
    const started = event('Started', '2026-11-02T09:00:00.000Z');
    const canceled = event('Canceled', '2026-11-02T09:05:00.000Z');

    await faults({ match: `PATCH /api/v2/work-orders/${workOrderId}`, status: 500, times: 20 });
    await sandbox.send(STATUS_FLOW, [started]);
    await receiveOnce(STATUS_FLOW);
    const first = await sandbox.state.queryRuns({ eventId: started.id, limit: 5 });
    expect(first.entries.map((r) => r.outcome)).toEqual(['retrying']); // the PATCH: 500
    expect(status()).toBe('open');
    await clearFaults();
    await sandbox.send(STATUS_FLOW, [canceled]);
    await receiveOnce(STATUS_FLOW); // the canceled, while the started waits for its retry
    expect(status()).toBe('onHold');
    await sandbox.settle(); // the started comes back
    expect(status()).toBe('onHold');
    const runs = await sandbox.state.queryRuns({ eventId: started.id, limit: 10 });
    expect(runs.entries.map((r) => r.outcome)).toEqual(expect.arrayContaining(['retrying', 'stale']));
    expect(runs.entries.find((r) => r.outcome === 'stale')?.message).toContain(`(event ${canceled.id})`);
    expect(upkeep().workOrderMessages(workOrderId)).toHaveLength(1);
  });
});
