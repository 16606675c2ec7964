/**
 * The operator's pause, DLQ and parked-event functions against the real sandbox (local SQS with
 * redrive, dynalite, the UpKeep and Deepomatic simulators, the ingress), through the same Target
 * the CLI uses: a dead-lettered event is listed with its reason, replayed and done, and replaying
 * it again is absorbed; a paused flow loses nothing and its pollers wait; parked events are listed,
 * replayed after a repair, and discarded.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID as CM_FLOW } from '../../functions/flows/machinemetrics-downtime-to-click-maint-work-order.ts';
import { FLOW_ID as FLOW } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { pollStateKey } from '../../functions/runtime/poller.ts';
import { listDeadLetters, replayDeadLetters } from '../../operator/dlq.ts';
import {
  adoptDeepomaticWorkOrder,
  discardParked,
  forgetSend,
  listParked,
  replayParked,
} from '../../operator/parked.ts';
import { pauseFlow, resumeFlow } from '../../operator/pause.ts';
import { queueDepth, totalOf } from '../../operator/queue-depth.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import { MACHINES, postJson, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let target: Target;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  target = sandboxTarget(sandbox);
  await sandboxControl(sandbox).advance(0);
});
afterAll(async () => {
  target?.close();
  await sandbox?.close();
});

const dm = () => sandbox.simulators.deepomatic as NonNullable<Sandbox['simulators']['deepomatic']>;
const dmFor = (workOrderId: string) =>
  dm()
    .workOrders()
    .filter((w) => w.name === `upkeep-${workOrderId}`);

/** An UpKeep work order that the flow sends to Deepomatic (its webhook reaches the flow). */
const photoWorkOrder = (title: string): Promise<string> =>
  sandboxControl(sandbox).upkeepWorkOrder({ title, category: 'Photo validation' });

/** The events of this flow about one UpKeep work order, and each one's outcomes (oldest first). */
async function outcomesFor(workOrderId: string) {
  const entries = (await target.state.queryRuns({ subject: workOrderId, flowId: FLOW, limit: 100 })).entries;
  return entries.reverse().map((e) => ({ eventId: e.eventId, outcome: e.outcome, via: e.via }));
}

/**
 * The worker stamps run-log entries with the sandbox's manual clock: the operator's entries use it
 * too, and each step is a second after the one before, so the run log's order is the order of events.
 */
const now = () => sandbox.clock.now();
const nextSecond = () => sandbox.clock.advance(1000);

/** Entries that end an attempt (not the worker's own waits and retries). */
const final = (outcome: string) => outcome !== 'waiting' && outcome !== 'retrying';

const flowQueueDepth = async (flowId: string) =>
  totalOf(await queueDepth(target.sqs, target.flows.get(flowId)?.queueUrl ?? ''));

describe('dead-letter queue', () => {
  let workOrder = '';
  let eventId = '';

  it('lists a failed event with its reason, replays it, and the run log shows replayed then done', async () => {
    // Deepomatic refuses the create (400): not retryable, dead-lettered on the first delivery.
    await postJson(`${dm().url}/_sandbox/faults`, { match: 'POST /v0.2/work-orders', status: 400 });
    workOrder = await photoWorkOrder('Replace filter');
    await sandbox.settle();
    expect(dmFor(workOrder)).toHaveLength(0);

    const letters = await listDeadLetters(target, FLOW);
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    eventId = letter?.eventId ?? '';
    expect(letter).toMatchObject({ eventType: 'upkeep.WORK_ORDER_CREATED', subject: workOrder });
    expect(letter?.reason).toMatch(/-> 400/);
    expect(letter?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(letter?.body ?? '{}').id).toBe(eventId);
    // Listing consumed nothing.
    expect((await listDeadLetters(target, FLOW)).map((l) => l.messageId)).toEqual([letter?.messageId]);

    const dry = await replayDeadLetters(target, FLOW, { ids: [eventId, 'no-such-event'], dryRun: true });
    expect(dry).toMatchObject({ selected: 1, replayed: 0, notFound: ['no-such-event'], dryRun: true });
    expect(await listDeadLetters(target, FLOW)).toHaveLength(1);

    nextSecond();
    const replay = await replayDeadLetters(target, FLOW, { ids: [eventId], by: 'ana', now });
    expect(replay).toMatchObject({ selected: 1, replayed: 1, notFound: [], notDeleted: [] });
    expect(await listDeadLetters(target, FLOW)).toEqual([]);
    nextSecond();
    await sandbox.settle();

    expect(dmFor(workOrder)).toHaveLength(1);
    const runs = (await outcomesFor(workOrder)).filter((r) => r.eventId === eventId);
    expect(runs.map((r) => r.outcome)).toEqual(['dead-lettered', 'replayed', 'done']);
    expect(runs.slice(1).map((r) => r.via)).toEqual(['replay', 'replay']);
    const [replayed] = (await target.state.queryRuns({ eventId, outcomes: ['replayed'] })).entries;
    expect(replayed?.message).toBe('replayed from the dead-letter queue by ana');
  });

  it('replaying the same event again (a crash between send and delete) is absorbed: duplicate, no second work order', async () => {
    const dlqUrl = target.flows.get(FLOW)?.dlqUrl ?? '';
    const body = sandbox.enqueued.find((e) => e.event.id === eventId)?.event;
    await target.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: JSON.stringify(body),
        MessageAttributes: { deadLetterReason: { DataType: 'String', StringValue: 'left by a crash' } },
      }),
    );
    nextSecond();
    expect(await replayDeadLetters(target, FLOW, { all: true, now })).toMatchObject({
      selected: 1,
      replayed: 1,
    });
    nextSecond();
    await sandbox.settle();
    expect(dmFor(workOrder)).toHaveLength(1);
    const runs = (await outcomesFor(workOrder)).filter((r) => r.eventId === eventId);
    expect(runs.map((r) => r.outcome)).toEqual([
      'dead-lettered',
      'replayed',
      'done',
      'replayed',
      'duplicate',
    ]);
    expect(runs.at(-1)?.via).toBe('replay');
  });
});

describe('pause and resume', () => {
  it('a paused flow loses nothing: webhooks and the shared downtime poll wait on its queue, and resuming does each event once', async () => {
    const c = sandboxControl(sandbox);
    const pollKey = pollStateKey(CM_FLOW, sandbox.flows.get(CM_FLOW)?.pollers[0]?.trigger.source.id ?? '');
    const lastPoll = await target.state.lastPollRun(pollKey);
    expect(lastPoll).toBeDefined();

    const paused = await pauseFlow(target, FLOW, { by: 'ana' });
    expect(paused).toMatchObject({ flowId: FLOW, paused: true, queued: 0 });
    expect(paused.lines.join('\n')).toMatch(/paused in the state table/);
    await pauseFlow(target, CM_FLOW);
    expect(await target.state.getFlowControl(FLOW)).toMatchObject({ paused: true, by: 'ana' });

    const enqueuedBefore = sandbox.enqueued.length;
    const first = await photoWorkOrder('Check guard');
    const second = await photoWorkOrder('Check belt');
    await c.machine(MACHINES.two, 'down');
    await c.advance(20); // a tick and a settle: returns although the paused queue holds messages

    // Accepted and enqueued, still on the queue, nothing done; the paused poller did not run.
    const mine = sandbox.enqueued
      .slice(enqueuedBefore)
      .filter((e) => e.queueUrl === target.flows.get(FLOW)?.queueUrl);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(await flowQueueDepth(FLOW)).toBe(mine.length);
    expect(dmFor(first)).toHaveLength(0);
    expect(dmFor(second)).toHaveLength(0);
    expect(await outcomesFor(first)).toEqual([]);
    // One MachineMetrics poll feeds every downtime flow: it went on for the flows not paused, and
    // its started event for the paused Click Maint flow waits on that flow's queue.
    expect((await target.state.lastPollRun(pollKey))?.at).not.toBe(lastPoll?.at);
    const cmWorkOrders = () =>
      (sandbox.simulators['click-maint']?.workOrders(1) ?? []).filter((w) => w.asset_id === 46);
    expect(cmWorkOrders()).toHaveLength(0);
    // MachineMetrics' own webhooks for the downtime reached the paused Click Maint flow: they wait too.
    const cmQueue = target.flows.get(CM_FLOW)?.queueUrl;
    const cmEvents = sandbox.enqueued.slice(enqueuedBefore).filter((e) => e.queueUrl === cmQueue);
    expect(await flowQueueDepth(CM_FLOW)).toBe(cmEvents.length);
    expect(
      cmEvents.filter((e) => e.event.source === 'machinemetrics.poll' && e.event.subject === MACHINES.two),
    ).toHaveLength(1);

    const resumed = await resumeFlow(target, FLOW, { by: 'ana' });
    expect(resumed).toMatchObject({ paused: false, queued: mine.length });
    await resumeFlow(target, CM_FLOW);
    await c.advance(5);

    expect(dmFor(first)).toHaveLength(1);
    expect(dmFor(second)).toHaveLength(1);
    expect(await flowQueueDepth(FLOW)).toBe(0);
    // Every event that waited was processed exactly once.
    for (const [flowId, events] of [
      [FLOW, mine],
      [CM_FLOW, cmEvents],
    ] as const) {
      for (const { event } of events) {
        const runs = (await target.state.queryRuns({ eventId: event.id, flowId })).entries;
        expect([event.id, runs.filter((r) => final(r.outcome)).length]).toEqual([event.id, 1]);
      }
    }
    expect(await flowQueueDepth(CM_FLOW)).toBe(0);
    expect((await outcomesFor(first)).filter((r) => r.outcome === 'done')).toHaveLength(1);
    expect((await outcomesFor(second)).filter((r) => r.outcome === 'done')).toHaveLength(1);
    // The downtime the shared poll enqueued while paused reached Click Maint once.
    expect(cmWorkOrders()).toHaveLength(1);
    await c.machine(MACHINES.two, 'up');
    await c.advance(10);
  });
});

describe('parked events', () => {
  it('lists parked events, replays one after adopting its work order, and discards another with a reason', async () => {
    // Deepomatic creates each work order but the answer is lost: both events are parked.
    await postJson(`${dm().url}/_sandbox/faults`, {
      match: 'POST /v0.2/work-orders',
      timeoutAfterWrite: true,
      delayMs: 3000,
      times: 2,
    });
    const adopted = await photoWorkOrder('Paint guard');
    const dropped = await photoWorkOrder('Paint rail');
    await sandbox.settle();

    const parked = await listParked(target, FLOW);
    expect(parked.map((p) => p.subject).sort()).toEqual([adopted, dropped].sort());
    expect((await listParked(target)).filter((p) => p.flowId === FLOW)).toHaveLength(2);
    const find = (wo: string) => parked.find((p) => p.subject === wo) as (typeof parked)[number];
    expect(find(adopted).check).toMatch(/npx millwright repair adopt-deepomatic/);

    // The operator finds the work order in Deepomatic and adopts it; the replay finds it.
    const existing = dmFor(adopted);
    expect(existing).toHaveLength(1);
    await adoptDeepomaticWorkOrder(target, FLOW, adopted, existing[0]?.id ?? '');
    expect(await replayParked(target, FLOW, [find(adopted).id], { dryRun: true })).toMatchObject({
      selected: 1,
      done: 0,
    });
    expect(await listParked(target, FLOW)).toHaveLength(2);
    nextSecond();
    const replay = await replayParked(target, FLOW, [find(adopted).id, 'nothing-here'], { by: 'ana', now });
    expect(replay).toMatchObject({ selected: 1, done: 1, notFound: ['nothing-here'] });
    nextSecond();
    await sandbox.settle();
    expect(dmFor(adopted)).toHaveLength(1);
    const runs = (await outcomesFor(adopted)).filter((r) => r.eventId === find(adopted).eventId);
    expect(runs.map((r) => r.outcome)).toEqual(['needs-attention', 'replayed', 'duplicate']);
    expect(runs.slice(1).map((r) => r.via)).toEqual(['parked-replay', 'parked-replay']);

    // The other: the send's intent can be forgotten, and the event discarded with a reason.
    const key = `${FLOW}:create:${dropped}`;
    expect(await target.state.getLatest('send-intent', key)).toBeDefined();
    await forgetSend(target, key);
    expect(await target.state.getLatest('send-intent', key)).toBeUndefined();
    const discard = await discardParked(target, FLOW, [find(dropped).eventId], {
      reason: 'made by hand',
      by: 'ana',
    });
    expect(discard).toMatchObject({ selected: 1, done: 1 });
    expect(await listParked(target, FLOW)).toEqual([]);
    const last = (await outcomesFor(dropped)).at(-1);
    expect(last).toMatchObject({ outcome: 'discarded' });
    const [entry] = (
      await target.state.queryRuns({ eventId: find(dropped).eventId, outcomes: ['discarded'] })
    ).entries;
    expect(entry?.message).toBe('discarded by ana: made by hand');
  });
});
