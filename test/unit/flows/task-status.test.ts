/**
 * mobility-work-task-to-upkeep-work-order-status against the real UpKeep simulator and a real state
 * store: one test per row of the flow's transition table, and scenario 12.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MW_EVENT } from '../../../functions/connectors/mobility-work/events.ts';
import { parseMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/webhook.ts';
import { AmbiguousWriteError, NeedsAttentionError, NotReadyError } from '../../../functions/core/errors.ts';
import type { FlowContext, FlowEvent } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import {
  configSchema,
  type Deps,
  FLOW_ID,
  flow,
  type TaskStatusFlowConfig,
} from '../../../functions/flows/mobility-work-task-to-upkeep-work-order-status.ts';
import {
  EPISODE_WITHOUT_WORK_ORDER,
  EPISODE_WORK_ORDER_MAPPING,
} from '../../../functions/flows/shared/downtime.ts';
import { flowEvent } from '../../support/factories.ts';
import { permutations } from '../../support/orders.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { deleteWorkOrderInUpKeep, type Harness, startHarness } from '../upkeep/support.ts';
import { crashingStore, WorkerCrash } from './crash-support.ts';

let t: TestState;
let h: Harness;
let run = 0;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());
beforeEach(async () => {
  h = await startHarness();
  run++;
});
afterEach(() => h.sim.close());

function context(config: Partial<TaskStatusFlowConfig> = {}): FlowContext<TaskStatusFlowConfig, Deps> {
  return {
    flowId: `${FLOW_ID}-t${run}`,
    config: configSchema.parse(config),
    deps: { upkeep: h.client({ config: { timeoutMs: 1000 } }) },
    state: t.store(),
    log: memoryLog(),
    now: () => new Date('2026-11-02T09:00:00.000Z'),
  };
}

type Kind = 'started' | 'completed' | 'canceled';
const TYPE: Record<Kind, string> = {
  started: MW_EVENT.TaskWasStarted,
  completed: MW_EVENT.TaskWasCompleted,
  canceled: MW_EVENT.TaskWasCanceled,
};
const taskEvent = (kind: Kind, metadata: Record<string, unknown>, at: string, task = `task-${run}`) =>
  flowEvent({
    id: `mw-${task}-${kind}-${at}`,
    type: TYPE[kind],
    occurredAt: at,
    // The time the receiver read occurredAt from (a payload without one is ordered differently).
    data: {
      _event: TYPE[kind].split('.')[1],
      networkId: 'network-1',
      taskId: task,
      metadata,
      ...OWN_TIME[kind](at),
    },
  });
const OWN_TIME: Record<Kind, (at: string) => Record<string, unknown>> = {
  started: (at) => ({ started: { at } }),
  completed: (at) => ({ doneAt: at }),
  canceled: (at) => ({ canceled: { at } }),
};
const T1 = '2026-11-02T08:10:00.000Z';
const T2 = '2026-11-02T08:40:00.000Z';

async function workOrder(status?: 'onHold' | 'inProgress' | 'complete'): Promise<string> {
  const client = h.client();
  const wo = await client.createWorkOrder({ title: 'Machine down: Mill 1' });
  if (status) await client.updateWorkOrder(wo.id, { status });
  return wo.id;
}
const statusOf = (id: string) => h.sim.workOrders().find((w) => w.id === id)?.status;
const notes = (id: string) => h.sim.workOrderMessages(id);
const patches = (id: string) => h.sim.calls().filter((c) => c.line === `PATCH /work-orders/${id}`);

const deleteWorkOrder = (id: string) => deleteWorkOrderInUpKeep(h.sim, id);

describe('mobility-work-task-to-upkeep-work-order-status transitions', () => {
  it('no millwrightKey and no upkeepWorkOrderId: can never correspond (skipped)', async () => {
    const result = await flow.handle(taskEvent('completed', { source: 'someone' }, T1), context());
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain('does not correspond');
  });

  it('key whose episode the UpKeep flow recorded as having no work order (skipped)', async () => {
    const ctx = context();
    await ctx.state.putMapping(
      EPISODE_WITHOUT_WORK_ORDER,
      `ep-none-${run}`,
      'the machine has no UpKeep asset',
    );
    const result = await flow.handle(taskEvent('completed', { millwrightKey: `ep-none-${run}` }, T1), ctx);
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain('no UpKeep asset');
  });

  it('key whose work order is not recorded yet: waits (NotReadyError naming the episode)', async () => {
    const error = await flow
      .handle(taskEvent('started', { millwrightKey: `ep-wait-${run}` }, T1), context())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotReadyError);
    expect((error as NotReadyError).waitingFor).toContain(`downtime episode ep-wait-${run}`);
  });

  it('started on an open work order: inProgress and one note (done)', async () => {
    const id = await workOrder();
    const result = await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), context());
    expect(result.outcome).toBe('done');
    expect(statusOf(id)).toBe('inProgress');
    expect(notes(id)).toHaveLength(1);
    expect(notes(id)[0]?.text).toContain(`[millwright:${FLOW_ID}:task-${run}:started]`);
  });

  it('started on a work order on hold: inProgress (done)', async () => {
    const id = await workOrder('onHold');
    expect((await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), context())).outcome).toBe(
      'done',
    );
    expect(statusOf(id)).toBe('inProgress');
  });

  it('started on a work order already in progress: note only, no status write (done)', async () => {
    const id = await workOrder('inProgress');
    const before = patches(id).length;
    expect(before).toBe(1);
    expect((await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), context())).outcome).toBe(
      'done',
    );
    expect(patches(id)).toHaveLength(before);
    expect(notes(id)).toHaveLength(1);
  });

  it('started or canceled on a complete work order: never reopened (stale)', async () => {
    const id = await workOrder('complete');
    const ctx = context();
    const started = await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), ctx);
    expect(started.outcome).toBe('stale');
    expect(started.message).toContain('does not reopen');
    const canceled = await flow.handle(
      taskEvent('canceled', { upkeepWorkOrderId: id }, T2, `other-${run}`),
      ctx,
    );
    expect(canceled.outcome).toBe('stale');
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(0);
  });

  it('completed on a work order in progress: complete and a note (done)', async () => {
    const id = await workOrder('inProgress');
    expect(
      (await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), context())).outcome,
    ).toBe('done');
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(1);
  });

  it('completed on a work order already complete: note only (done)', async () => {
    const id = await workOrder('complete');
    expect(
      (await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), context())).outcome,
    ).toBe('done');
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(1);
  });

  it('canceled on an open work order: onHold and a note (done)', async () => {
    const id = await workOrder();
    expect((await flow.handle(taskEvent('canceled', { upkeepWorkOrderId: id }, T1), context())).outcome).toBe(
      'done',
    );
    expect(statusOf(id)).toBe('onHold');
  });

  it('the same task event again: nothing twice (duplicate)', async () => {
    const id = await workOrder();
    const ctx = context();
    await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), ctx);
    expect((await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), ctx)).outcome).toBe(
      'duplicate',
    );
    expect(notes(id)).toHaveLength(1);
  });

  it('an event older than the last one applied to the task: nothing (stale), e.g. canceled after started', async () => {
    const id = await workOrder();
    const ctx = context();
    await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T2), ctx);
    const late = await flow.handle(taskEvent('canceled', { upkeepWorkOrderId: id }, T1), ctx);
    expect(late.outcome).toBe('stale');
    expect(statusOf(id)).toBe('inProgress');
    expect(notes(id)).toHaveLength(1);
  });

  it('completed delivered before started: complete, and the late started changes nothing (stale)', async () => {
    const id = await workOrder();
    const ctx = context();
    expect((await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), ctx)).outcome).toBe(
      'done',
    );
    expect((await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), ctx)).outcome).toBe(
      'stale',
    );
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(1);
  });

  it('out-of-order retry: a started that failed with an UpKeep 5xx, retried after its canceled was applied, does not revert the work order (stale, naming the canceled)', async () => {
    const id = await workOrder();
    const ctx = context();
    const started = taskEvent('started', { upkeepWorkOrderId: id }, T1);
    const canceled = taskEvent('canceled', { upkeepWorkOrderId: id }, T2);
    h.sim.faults.push({ match: `PATCH /api/v2/work-orders/${id}`, status: 500, times: 10 });
    await expect(flow.handle(started, ctx)).rejects.toThrow('HTTP 500');
    h.sim.faults.length = 0; // UpKeep is back
    expect((await flow.handle(canceled, ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('onHold');
    const retried = await flow.handle(started, ctx);
    expect(retried.outcome).toBe('stale');
    expect(retried.message).toContain(`canceled at ${T2} (event ${canceled.id})`);
    expect(statusOf(id)).toBe('onHold');
    expect(notes(id)).toHaveLength(1);
  });

  it("a started redelivered after its canceled, its _sentAt the redelivery's time: ordered by its own started.at, so it is stale and the work order stays on hold", async () => {
    const id = await workOrder();
    const ctx = context();
    const delivery = (body: Record<string, unknown>, receivedAt: string) =>
      parseMobilityWorkWebhook({
        rawBody: JSON.stringify({ networkId: 'network-1', taskId: `task-${run}`, ...body }),
        headers: {},
        pathParameters: {},
        query: {},
        receivedAt: new Date(receivedAt),
      }).events[0] as FlowEvent;
    const metadata = { upkeepWorkOrderId: id };
    // Started at 08:10; its first delivery failed, Mobility Work sent it again at 08:50.
    const started = delivery(
      {
        _event: 'TaskWasStarted',
        _idempotencyKey: `start-${run}`,
        _sentAt: '2026-11-02T08:50:00+00:00',
        started: { at: T1 },
        metadata,
      },
      '2026-11-02T08:50:01Z',
    );
    const canceled = delivery(
      {
        _event: 'TaskWasCanceled',
        _idempotencyKey: `cancel-${run}`,
        _sentAt: '2026-11-02T08:40:01+00:00',
        canceled: { at: T2, reason: null },
        metadata,
      },
      '2026-11-02T08:40:02Z',
    );
    expect((await flow.handle(canceled, ctx)).outcome).toBe('done');
    expect(started.occurredAt).toBe(T1);
    expect((await flow.handle(started, ctx)).outcome).toBe('stale');
    expect(statusOf(id)).toBe('onHold');
  });

  it('an older event arriving while a later one of the task is still being applied is stale: the later one is guarded before it touches the work order', async () => {
    const id = await workOrder();
    const ctx = context();
    // The canceled (T2) sets onHold, then its note takes a while: it has not finished when the
    // retried started (T1) comes in.
    h.sim.faults.push({ match: `POST /api/v2/work-orders/${id}/update-messages`, delayMs: 400 });
    const canceled = flow.handle(taskEvent('canceled', { upkeepWorkOrderId: id }, T2), ctx);
    for (let i = 0; i < 100 && statusOf(id) !== 'onHold'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(statusOf(id)).toBe('onHold');
    const late = await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), ctx);
    expect(late.outcome).toBe('stale');
    expect((await canceled).outcome).toBe('done');
    expect(statusOf(id)).toBe('onHold');
    expect(notes(id)).toHaveLength(1);
  });

  it('two workers at once: a started whose read of the work order answers late writes after the later completed was applied; the work order still ends complete', async () => {
    const id = await workOrder();
    const ctx = context();
    // The started's worker reads the work order (open), then stalls until the completed's worker
    // has applied the completed in full.
    let read!: () => void;
    const wasRead = new Promise<void>((resolve) => {
      read = resolve;
    });
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const upkeep = ctx.deps.upkeep;
    const slow = Object.create(upkeep) as typeof upkeep;
    slow.getWorkOrder = async (woId: string) => {
      const wo = await upkeep.getWorkOrder(woId);
      read();
      await stalled;
      return wo;
    };
    const started = flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), {
      ...ctx,
      deps: { upkeep: slow },
    });
    await wasRead;
    const completed = await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), ctx);
    expect(completed.outcome).toBe('done');
    expect(statusOf(id)).toBe('complete');
    release();
    await started;
    expect(statusOf(id)).toBe('complete');
  });

  it('a task started again after its canceled (a later started, another event): in progress again with its own note, not taken for the first started (done); its redelivery under a new id is a duplicate', async () => {
    const id = await workOrder();
    const ctx = context();
    const T3 = '2026-11-02T08:50:00.000Z';
    const metadata = { upkeepWorkOrderId: id };
    expect((await flow.handle(taskEvent('started', metadata, T1), ctx)).outcome).toBe('done');
    expect((await flow.handle(taskEvent('canceled', metadata, T2), ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('onHold');
    const again = await flow.handle(taskEvent('started', metadata, T3), ctx);
    expect(again.outcome).toBe('done');
    expect(statusOf(id)).toBe('inProgress');
    expect(notes(id)).toHaveLength(3);
    const redelivered = { ...taskEvent('started', metadata, T3), id: `mw-redelivered-${run}` };
    expect((await flow.handle(redelivered, ctx)).outcome).toBe('duplicate');
    expect(notes(id)).toHaveLength(3);
  });

  it('work order gone in UpKeep: nothing written (skipped)', async () => {
    const result = await flow.handle(
      taskEvent('completed', { upkeepWorkOrderId: 'GoneWO0001' }, T1),
      context(),
    );
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain('no longer exists');
  });

  it('work order deleted in UpKeep between our read and our status write: nothing written, said so (skipped, not dead-lettered)', async () => {
    const id = await workOrder();
    const ctx = context();
    const upkeep = ctx.deps.upkeep;
    const racing = Object.create(upkeep) as typeof upkeep;
    racing.getWorkOrder = async (woId: string) => {
      const wo = await upkeep.getWorkOrder(woId);
      await deleteWorkOrder(woId);
      return wo;
    };
    const result = await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T1), {
      ...ctx,
      deps: { upkeep: racing },
    });
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain(`work order ${id} was deleted in UpKeep`);
    // A replay changes nothing and says what happened the first time.
    const replay = await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T1), ctx);
    expect(replay.outcome).toBe('duplicate');
    expect(replay.message).toContain('deleted in UpKeep');
  });

  it('work order deleted in UpKeep between our status write and our note: skipped with the reason, no note', async () => {
    const id = await workOrder('inProgress');
    const ctx = context();
    const upkeep = ctx.deps.upkeep;
    const racing = Object.create(upkeep) as typeof upkeep;
    racing.getWorkOrder = async (woId: string) => {
      const wo = await upkeep.getWorkOrder(woId);
      await deleteWorkOrder(woId);
      return wo;
    };
    const result = await flow.handle(taskEvent('started', { upkeepWorkOrderId: id }, T1), {
      ...ctx,
      deps: { upkeep: racing },
    });
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain(`work order ${id} was deleted in UpKeep`);
  });

  it('a note whose answer was lost: the retry finds it by its marker, 1 note', async () => {
    const id = await workOrder();
    const ctx = context();
    h.sim.faults.push({
      match: `POST /api/v2/work-orders/${id}/update-messages`,
      timeoutAfterWrite: true,
      delayMs: 5000,
    });
    await expect(
      flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), ctx),
    ).rejects.toBeInstanceOf(AmbiguousWriteError);
    const retry = await flow.handle(taskEvent('completed', { upkeepWorkOrderId: id }, T2), ctx);
    expect(retry.outcome).toBe('done');
    expect(retry.message).toContain('found, not added again');
    expect(notes(id)).toHaveLength(1);
  });

  it('scenario 12: a task completed before its UpKeep work order is known waits and is applied once the work order is recorded: status and note not lost', async () => {
    const id = await workOrder();
    const ctx = context();
    const key = `ep-late-${run}`;
    const completed = taskEvent('completed', { millwrightKey: key, source: 'millwright' }, T2);
    // The downtime flow is still retrying its create: the task event must wait, not be skipped.
    await expect(flow.handle(completed, ctx)).rejects.toBeInstanceOf(NotReadyError);
    expect(statusOf(id)).toBe('open');
    // The downtime flow records the episode's work order; the retried event now applies.
    await ctx.state.putMapping(EPISODE_WORK_ORDER_MAPPING, key, id);
    const retried = await flow.handle(completed, ctx);
    expect(retried.outcome).toBe('done');
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(1);
  });
});

/**
 * Orders Mobility Work really produces. Per the doc, TaskWasStarted / TaskWasCanceled /
 * TaskWasScheduled show no time field at all (their `started`/`canceled` objects are collapsed; only
 * TaskWasCompleted has `doneAt`), so such an event's occurredAt is its receive time; MW retries a
 * failed delivery (delay undocumented) with the same `_idempotencyKey`.
 */
describe('task events as Mobility Work delivers them: timeless events, late redeliveries', () => {
  const delivery = (body: Record<string, unknown>, receivedAt: string) =>
    parseMobilityWorkWebhook({
      rawBody: JSON.stringify({ networkId: 'network-1', taskId: `task-${run}`, ...body }),
      headers: {},
      pathParameters: {},
      query: {},
      receivedAt: new Date(receivedAt),
    }).events[0] as FlowEvent;

  it('a timeless started redelivered more than 24 h later (same _idempotencyKey, after its canceled): duplicate, the work order stays on hold, no second note', async () => {
    const id = await workOrder();
    const ctx = context();
    const metadata = { upkeepWorkOrderId: id };
    const started = { _event: 'TaskWasStarted', _idempotencyKey: `start-${run}`, metadata };
    const canceled = { _event: 'TaskWasCanceled', _idempotencyKey: `cancel-${run}`, metadata };
    expect((await flow.handle(delivery(started, '2026-11-02T08:10:00Z'), ctx)).outcome).toBe('done');
    expect((await flow.handle(delivery(canceled, '2026-11-02T08:40:00Z'), ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('onHold');
    // The ingress remembers a delivery 24 h; MW's resend the next day is enqueued again.
    const resent = delivery(started, '2026-11-03T09:00:00Z');
    const result = await flow.handle(resent, ctx);
    expect(result.outcome).toBe('duplicate');
    expect(statusOf(id)).toBe('onHold');
    expect(notes(id)).toHaveLength(2);
  });

  it('a timeless started resent after a timed completed (completed mapped to onHold): it cannot be ordered, so it does not override the completed (stale, saying why)', async () => {
    const id = await workOrder();
    const ctx = context({ statuses: { started: 'inProgress', completed: 'onHold', canceled: 'onHold' } });
    const metadata = { upkeepWorkOrderId: id };
    const completed = delivery(
      { _event: 'TaskWasCompleted', _idempotencyKey: `done-${run}`, id: `task-${run}`, doneAt: T2, metadata },
      '2026-11-02T08:40:01Z',
    );
    expect((await flow.handle(completed, ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('onHold');
    // Its first delivery failed at 08:10 (ingress down); MW's retry comes after the completed.
    const started = delivery(
      { _event: 'TaskWasStarted', _idempotencyKey: `start-${run}`, metadata },
      '2026-11-02T10:10:00Z',
    );
    const result = await flow.handle(started, ctx);
    expect(result.outcome).toBe('stale');
    expect(result.message).toContain('no time of its own');
    expect(statusOf(id)).toBe('onHold');
    expect(notes(id)).toHaveLength(1);
  });

  it('timeless events in their real order, and a real restart (a new _idempotencyKey): each applied once, by arrival; the restart resent a day later is a duplicate', async () => {
    const id = await workOrder();
    const ctx = context();
    const metadata = { upkeepWorkOrderId: id };
    const started = { _event: 'TaskWasStarted', _idempotencyKey: `start-${run}`, metadata };
    const restarted = { _event: 'TaskWasStarted', _idempotencyKey: `restart-${run}`, metadata };
    const canceled = { _event: 'TaskWasCanceled', _idempotencyKey: `cancel-${run}`, metadata };
    expect((await flow.handle(delivery(started, '2026-11-02T08:10:00Z'), ctx)).outcome).toBe('done');
    expect((await flow.handle(delivery(canceled, '2026-11-02T08:40:00Z'), ctx)).outcome).toBe('done');
    expect((await flow.handle(delivery(restarted, '2026-11-02T09:00:00Z'), ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('inProgress');
    expect(notes(id)).toHaveLength(3);
    expect((await flow.handle(delivery(restarted, '2026-11-03T10:00:00Z'), ctx)).outcome).toBe('duplicate');
    expect((await flow.handle(delivery(started, '2026-11-03T10:05:00Z'), ctx)).outcome).toBe('duplicate');
    expect(statusOf(id)).toBe('inProgress');
    expect(notes(id)).toHaveLength(3);
  });

  it('a tie: completed and canceled at the same second, in either order, leave the work order complete', async () => {
    for (const order of [
      ['canceled', 'completed'],
      ['completed', 'canceled'],
    ] as const) {
      const id = await workOrder();
      const ctx = context();
      const task = `task-${run}-${order[0]}`;
      for (const kind of order) await flow.handle(taskEvent(kind, { upkeepWorkOrderId: id }, T2, task), ctx);
      expect(statusOf(id)).toBe('complete');
    }
  });

  it('a timed completed delivered after a timeless started that came later than it happened (a resend): the completed wins, the work order ends complete', async () => {
    const id = await workOrder();
    const ctx = context();
    const metadata = { upkeepWorkOrderId: id };
    // Started at 08:10; its first delivery failed and MW's resend came at 10:00.
    const started = delivery(
      { _event: 'TaskWasStarted', _idempotencyKey: `start-${run}`, metadata },
      '2026-11-02T10:00:00Z',
    );
    expect((await flow.handle(started, ctx)).outcome).toBe('done');
    // Completed at 09:00; its delivery was slow too.
    const completed = delivery(
      {
        _event: 'TaskWasCompleted',
        _idempotencyKey: `done-${run}`,
        id: `task-${run}`,
        doneAt: '2026-11-02T09:00:00Z',
        metadata,
      },
      '2026-11-02T10:01:00Z',
    );
    expect((await flow.handle(completed, ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('complete');
  });
});

describe('task events in every delivery order, with duplicates and resends a day later', () => {
  it('started, canceled, restarted (timeless) and completed (timed), in any order, twice, then resent 25 h later: the work order ends complete, one note per applied event, nothing applied twice', async () => {
    const delivery = (task: string, body: Record<string, unknown>, receivedAt: string) =>
      parseMobilityWorkWebhook({
        rawBody: JSON.stringify({ networkId: 'network-1', taskId: task, ...body }),
        headers: {},
        pathParameters: {},
        query: {},
        receivedAt: new Date(receivedAt),
      }).events[0] as FlowEvent;
    const later = (iso: string) => new Date(Date.parse(iso) + 25 * 3_600_000).toISOString();
    const names = ['started', 'canceled', 'restarted', 'completed'] as const;
    for (const order of permutations(names)) {
      const id = await workOrder();
      const ctx = context();
      const task = `task-${run}-${order.join('-')}`;
      const metadata = { upkeepWorkOrderId: id };
      // As the ingress enqueues them: the timeless ones are stamped with their receive time.
      const sent = {
        started: [{ _event: 'TaskWasStarted', _idempotencyKey: `s-${task}`, metadata }, T1],
        canceled: [
          { _event: 'TaskWasCanceled', _idempotencyKey: `x-${task}`, metadata },
          '2026-11-02T08:20:00Z',
        ],
        restarted: [
          { _event: 'TaskWasStarted', _idempotencyKey: `r-${task}`, metadata },
          '2026-11-02T08:30:00Z',
        ],
        completed: [
          { _event: 'TaskWasCompleted', _idempotencyKey: `c-${task}`, doneAt: T2, metadata },
          '2026-11-02T08:40:01Z',
        ],
      } as const;
      const outcomes: string[] = [];
      const done = new Set<string>();
      const deliver = async (name: (typeof names)[number], resend: boolean) => {
        const [body, at] = sent[name];
        const r = await flow.handle(delivery(task, body, resend ? later(at) : at), ctx);
        outcomes.push(`${name}${resend ? '+25h' : ''}:${r.outcome}`);
        if (r.outcome === 'done') {
          expect({ order, name, twice: done.has(name) }).toEqual({ order, name, twice: false });
          done.add(name);
        }
        expect(['done', 'stale', 'duplicate']).toContain(r.outcome);
      };
      for (const name of order) await deliver(name, false);
      for (const name of order) await deliver(name, false);
      for (const name of order) await deliver(name, true);
      expect({ order, status: statusOf(id) }).toEqual({ order, status: 'complete' });
      expect({ order, notes: notes(id).length, outcomes }).toEqual({ order, notes: done.size, outcomes });
    }
  }, 60_000);
});

describe('a worker that dies at any write (crash-support sweep)', () => {
  // As Mobility Work delivers them: a timeless event's occurredAt is its receive time.
  const timeless = (task: string, body: Record<string, unknown>, receivedAt: string) =>
    parseMobilityWorkWebhook({
      rawBody: JSON.stringify({ networkId: 'network-1', taskId: task, ...body }),
      headers: {},
      pathParameters: {},
      query: {},
      receivedAt: new Date(receivedAt),
    }).events[0] as FlowEvent;
  const scenarios = [
    {
      name: 'started then completed (timed)',
      status: 'complete',
      notes: 2,
      events: (id: string, task: string) => [
        taskEvent('started', { upkeepWorkOrderId: id }, T1, task),
        taskEvent('completed', { upkeepWorkOrderId: id }, T2, task),
      ],
    },
    {
      name: 'completed delivered before started (timed; the started is stale)',
      status: 'complete',
      notes: 1,
      events: (id: string, task: string) => [
        taskEvent('completed', { upkeepWorkOrderId: id }, T2, task),
        taskEvent('started', { upkeepWorkOrderId: id }, T1, task),
      ],
    },
    {
      name: 'started, canceled, restarted (timeless, by arrival)',
      status: 'inProgress',
      notes: 3,
      events: (id: string, task: string) => {
        const metadata = { upkeepWorkOrderId: id };
        return [
          timeless(task, { _event: 'TaskWasStarted', _idempotencyKey: `start-${task}`, metadata }, T1),
          timeless(task, { _event: 'TaskWasCanceled', _idempotencyKey: `cancel-${task}`, metadata }, T2),
          timeless(
            task,
            { _event: 'TaskWasStarted', _idempotencyKey: `restart-${task}`, metadata },
            '2026-11-02T09:00:00.000Z',
          ),
        ];
      },
    },
  ] as const;
  for (const scenario of scenarios)
    it(`${scenario.name}: a crash at each write k of each event (lost, or landed with its answer lost), then SQS redelivery: the work order ends as in a clean run, one note per event, or parked with a reason and never a note twice`, async () => {
      let skew = 0;
      const clocked = t.store(() => new Date(Date.now() + skew));
      let n = 0;
      const events = (id: string) => scenario.events(id, `crash-${run}-${++n}`);
      const cleanId = await workOrder();
      const counts: number[] = [];
      for (const event of events(cleanId)) {
        const counting = crashingStore(clocked, Number.POSITIVE_INFINITY);
        expect((await flow.handle(event, { ...context(), state: counting.store })).outcome).toMatch(
          /^(done|stale)$/,
        );
        counts.push(counting.writes());
      }
      for (const [e, writes] of counts.entries()) {
        // Event e delivered after the others, no crash: a crashed attempt that applied nothing ends so.
        const twin = await workOrder();
        const twinEvents = events(twin);
        for (const event of [...twinEvents.filter((_, i) => i !== e), twinEvents[e] as FlowEvent])
          await flow.handle(event, { ...context(), state: clocked });
        const reordered = { status: statusOf(twin), notes: notes(twin).length };
        const inOrder = { status: scenario.status, notes: scenario.notes };
        for (let k = 1; k <= writes; k++) {
          for (const [when, redelivery] of [
            ['before', 'next'],
            ['after', 'next'],
            ['before', 'last'],
            ['after', 'last'],
          ] as const) {
            // The redelivery comes next, or after the task's later events (SQS keeps no order).
            const where = `event ${e} k=${k} ${when}, redelivered ${redelivery}`;
            const id = await workOrder();
            let parked = false;
            const list = events(id);
            const deliveries = list.map((event, i) => ({ event, i }));
            if (redelivery === 'last') deliveries.push({ event: list[e] as FlowEvent, i: -1 });
            for (const { event, i } of deliveries) {
              if (redelivery === 'last' && i === e) {
                const crash = crashingStore(clocked, k, when);
                await flow.handle(event, { ...context(), state: crash.store }).catch(() => undefined);
                skew += 2 * 60_000;
                continue;
              }
              if (i === e) {
                const crash = crashingStore(clocked, k, when);
                const died = await flow
                  .handle(event, { ...context(), state: crash.store })
                  .catch((x: unknown) => x);
                if (crash.crashed())
                  expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
                skew += 2 * 60_000; // past the claim's lease: the redelivery
              }
              const out = await flow.handle(event, { ...context(), state: clocked }).catch((x: unknown) => x);
              if (out instanceof NeedsAttentionError) parked = true;
              else
                expect({ where, i, out }).toEqual({
                  where,
                  i,
                  out: expect.objectContaining({
                    outcome: expect.stringMatching(/^(done|duplicate|stale)$/),
                  }),
                });
            }
            const most = Math.max(inOrder.notes, reordered.notes);
            expect({ where, notes: notes(id).length <= most }).toEqual({ where, notes: true });
            if (parked) continue;
            // As the clean run in the order the effects landed: at the crashed attempt, or at its redelivery.
            const final = { status: statusOf(id), notes: notes(id).length };
            const expected = redelivery === 'next' || isDeepStrictEqual(final, inOrder) ? inOrder : reordered;
            expect({ where, final }).toEqual({ where, final: expected });
          }
        }
      }
      // A sweep of every write of every event: about 10 s on a quiet machine, past 30 s on a busy one.
    }, 120_000);
});
