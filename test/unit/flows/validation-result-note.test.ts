/**
 * deepomatic-validation-to-upkeep-work-order against the real UpKeep simulator and a real state store:
 * each transition of the flow's table, and scenario 9 (a note applied at UpKeep whose answer was lost).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DEEPOMATIC_OPEN_SET } from '../../../functions/connectors/deepomatic/poll-source.ts';
import { AmbiguousWriteError, NeedsAttentionError } from '../../../functions/core/errors.ts';
import type { FlowContext } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import {
  configSchema,
  type DeepomaticResultConfig,
  type Deps,
  FLOW_ID,
  flow,
} from '../../../functions/flows/deepomatic-validation-to-upkeep-work-order.ts';
import { flowEvent } from '../../support/factories.ts';
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

function context(config: Partial<DeepomaticResultConfig> = {}): FlowContext<DeepomaticResultConfig, Deps> {
  return {
    // A flow id per test, so claims and intents of one test never meet another's.
    flowId: `${FLOW_ID}-t${run}`,
    config: configSchema.parse(config),
    deps: { upkeep: h.client({ config: { timeoutMs: 1000 } }) },
    state: t.store(),
    log: memoryLog(),
    now: () => new Date('2026-11-02T09:00:00.000Z'),
  };
}

const changed = (workOrderId: string, over: Record<string, unknown> = {}) =>
  flowEvent({
    id: `dm-${workOrderId}-${run}-changed`,
    type: 'deepomatic.work-order.changed',
    data: {
      id: `dm-${workOrderId}-${run}`,
      name: `upkeep-${workOrderId}`,
      cmms: 'upkeep',
      cmmsWorkOrderId: workOrderId,
      progressScore: 100,
      reviewDate: null,
      updateDate: '2026-11-02T08:59:00.000000Z',
      tasks: [{ name: 'equipment_after_intervention', state: true }],
      metadata: {},
      ...over,
    },
  });

async function newWorkOrder(status?: 'complete' | 'inProgress'): Promise<string> {
  const client = h.client();
  const wo = await client.createWorkOrder({ title: 'Replace filter' });
  if (status) await client.updateWorkOrder(wo.id, { status });
  return wo.id;
}

const notes = (workOrderId: string) => h.sim.workOrderMessages(workOrderId);
const statusOf = (workOrderId: string) => h.sim.workOrders().find((w) => w.id === workOrderId)?.status;
const lostAnswer = (workOrderId: string) =>
  h.sim.faults.push({
    match: `POST /api/v2/work-orders/${workOrderId}/update-messages`,
    timeoutAfterWrite: true,
    delayMs: 300,
  });

describe('deepomatic-validation-to-upkeep-work-order transitions', () => {
  it('not concluded: nothing written, polled again (skipped)', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    const result = await flow.handle(changed(id, { progressScore: 40 }), ctx);
    expect(result.outcome).toBe('skipped');
    expect(statusOf(id)).toBe('open');
    expect(notes(id)).toHaveLength(0);
  });

  it('concluded passed on an open work order: complete, one note with its marker, unfollowed (done)', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    const event = changed(id);
    await ctx.state.putMember(DEEPOMATIC_OPEN_SET, String(event.data.id), { cmmsWorkOrderId: id });
    const result = await flow.handle(event, ctx);
    expect(result.outcome).toBe('done');
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(1);
    expect(notes(id)[0]?.text).toContain(`[millwright:${FLOW_ID}:${String(event.data.id)}]`);
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === event.data.id)).toBe(
      false,
    );
  });

  it('concluded failed on a work order already on hold: note only (done)', async () => {
    const id = await newWorkOrder();
    await h.client().updateWorkOrder(id, { status: 'onHold' });
    const result = await flow.handle(
      changed(id, { tasks: [{ name: 'equipment_after_intervention', state: false }] }),
      context(),
    );
    expect(result.outcome).toBe('done');
    expect(statusOf(id)).toBe('onHold');
    expect(notes(id)).toHaveLength(1);
    expect(notes(id)[0]?.text).toContain('FAILED');
  });

  it('concluded, result already applied: nothing again (duplicate)', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    await flow.handle(changed(id), ctx);
    const again = await flow.handle(changed(id), ctx);
    expect(again.outcome).toBe('duplicate');
    expect(notes(id)).toHaveLength(1);
  });

  it('out-of-order retry: an older concluded snapshot that failed with an UpKeep 5xx, retried after a newer one was applied, changes nothing (duplicate)', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    const older = changed(id, {
      updateDate: '2026-11-02T08:50:00.000000Z',
      tasks: [{ name: 'equipment_after_intervention', state: false }],
    });
    const newer = { ...changed(id), id: `dm-${id}-${run}-changed-later` };
    h.sim.faults.push({ match: `PATCH /api/v2/work-orders/${id}`, status: 500, times: 10 });
    await expect(flow.handle(older, ctx)).rejects.toThrow('HTTP 500');
    h.sim.faults.length = 0;
    expect((await flow.handle(newer, ctx)).outcome).toBe('done');
    expect(statusOf(id)).toBe('complete');
    const retried = await flow.handle(older, ctx);
    expect(retried.outcome).toBe('duplicate');
    expect(statusOf(id)).toBe('complete');
    expect(notes(id)).toHaveLength(1);
    expect(notes(id)[0]?.text).toContain('PASSED');
  });

  it('concluded, UpKeep work order gone: nothing written (skipped)', async () => {
    const result = await flow.handle(changed('NoSuchWO01'), context());
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain('no longer exists');
  });

  it('concluded, UpKeep work order deleted between our read and our write: skipped with the reason (not dead-lettered), no longer followed, a replay says so', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    const event = changed(id);
    await ctx.state.putMember(DEEPOMATIC_OPEN_SET, String(event.data.id), { cmmsWorkOrderId: id });
    const upkeep = ctx.deps.upkeep;
    const racing = Object.create(upkeep) as typeof upkeep;
    racing.getWorkOrder = async (woId: string) => {
      const wo = await upkeep.getWorkOrder(woId);
      await deleteWorkOrderInUpKeep(h.sim, woId);
      return wo;
    };
    const result = await flow.handle(event, { ...ctx, deps: { upkeep: racing } });
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain(`UpKeep work order ${id} was deleted`);
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === event.data.id)).toBe(
      false,
    );
    const replay = await flow.handle(event, ctx);
    expect(replay.outcome).toBe('duplicate');
    expect(replay.message).toContain('was deleted');
  });

  it('deleted in Deepomatic: no longer followed (skipped)', async () => {
    const ctx = context();
    await ctx.state.putMember(DEEPOMATIC_OPEN_SET, `dm-gone-${run}`, { cmmsWorkOrderId: 'WO' });
    const result = await flow.handle(
      flowEvent({
        type: 'deepomatic.work-order.deleted',
        data: { id: `dm-gone-${run}`, name: 'upkeep-WO', cmms: 'upkeep', cmmsWorkOrderId: 'WO' },
      }),
      ctx,
    );
    expect(result.outcome).toBe('skipped');
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === `dm-gone-${run}`)).toBe(
      false,
    );
  });

  it('scenario 9: a result note applied at the vendor whose answer was lost: 1 note on the work order, not 2', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    lostAnswer(id);
    await expect(flow.handle(changed(id), ctx)).rejects.toBeInstanceOf(AmbiguousWriteError);
    expect(notes(id)).toHaveLength(1); // UpKeep applied it; we never heard back
    // The queue retries the event: the note is looked for (found by its marker), not added again.
    const retry = await flow.handle(changed(id), ctx);
    expect(retry.outcome).toBe('done');
    expect(retry.message).toContain('was found, not added again');
    expect(notes(id)).toHaveLength(1);
    expect(statusOf(id)).toBe('complete');
  });

  it('a result note UpKeep applied but answered 500: the retry finds it by its marker, 1 note not 2', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    h.sim.faults.push({
      match: `POST /api/v2/work-orders/${id}/update-messages`,
      status: 500,
      afterWrite: true,
    });
    await expect(flow.handle(changed(id), ctx)).rejects.toThrow('HTTP 500');
    expect(notes(id)).toHaveLength(1);
    const retry = await flow.handle(changed(id), ctx);
    expect(retry.message).toContain('was found, not added again');
    expect(notes(id)).toHaveLength(1);
  });

  it('a note whose answer was lost before UpKeep applied it is sent again on the retry: exactly 1 note', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    // UpKeep never answers and never applies it (a 504 that comes after the client gave up).
    h.sim.faults.push({
      match: `POST /api/v2/work-orders/${id}/update-messages`,
      status: 504,
      delayMs: 1500,
    });
    await expect(flow.handle(changed(id), ctx)).rejects.toBeInstanceOf(AmbiguousWriteError);
    expect(notes(id)).toHaveLength(0);
    const retry = await flow.handle(changed(id), ctx);
    expect(retry.outcome).toBe('done');
    expect(notes(id)).toHaveLength(1);
  });

  it('retry after an unanswered note when UpKeep cannot tell (items not expanded): parked, no second note', async () => {
    const id = await newWorkOrder();
    const ctx = context();
    lostAnswer(id);
    await expect(flow.handle(changed(id), ctx)).rejects.toBeInstanceOf(AmbiguousWriteError);
    // This account answers the look-up with ids only (UPKEEP_UPDATE_ITEMS does not hold).
    const current = await h.client().getWorkOrder(id);
    h.sim.faults.push({
      match: `GET /api/v2/work-orders/${id}`,
      status: 200,
      body: { success: true, result: { ...current, arrayOfUpdateItems: ['UpdItem001'] } },
      times: 2,
    });
    const parked = await flow.handle(changed(id), ctx).catch((e: unknown) => e);
    expect(parked).toBeInstanceOf(NeedsAttentionError);
    expect((parked as NeedsAttentionError).check).toContain(`work order ${id}`);
    expect((parked as NeedsAttentionError).check).toContain('[millwright:');
    expect(notes(id)).toHaveLength(1);
  });
});

describe('a worker that dies at any write (crash-support sweep)', () => {
  it('a concluded validation: a crash at each write k (lost, or landed with its answer lost), then the next poll: the work order complete, one note, unfollowed, or parked with a reason and never two notes', async () => {
    let skew = 0;
    const clocked = t.store(() => new Date(Date.now() + skew));
    const follow = (event: ReturnType<typeof changed>, id: string) =>
      clocked.putMember(DEEPOMATIC_OPEN_SET, String(event.data.id), { cmmsWorkOrderId: id });
    const cleanId = await newWorkOrder();
    const counting = crashingStore(clocked, Number.POSITIVE_INFINITY);
    const cleanEvent = changed(cleanId);
    await follow(cleanEvent, cleanId);
    expect((await flow.handle(cleanEvent, { ...context(), state: counting.store })).outcome).toBe('done');
    for (let k = 1; k <= counting.writes(); k++) {
      for (const when of ['before', 'after'] as const) {
        const where = `k=${k} ${when}`;
        const id = await newWorkOrder();
        const event = changed(id);
        await follow(event, id);
        const crash = crashingStore(clocked, k, when);
        const died = await flow.handle(event, { ...context(), state: crash.store }).catch((x: unknown) => x);
        if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
        skew += 2 * 60_000; // past the claim's lease: the next poll reports it again
        const out = await flow.handle(event, { ...context(), state: clocked }).catch((x: unknown) => x);
        expect({ where, notes: notes(id).length <= 1 }).toEqual({ where, notes: true });
        if (out instanceof NeedsAttentionError) continue;
        expect({ where, outcome: (out as { outcome: string }).outcome }).toEqual({
          where,
          outcome: expect.stringMatching(/done|duplicate/),
        });
        const followed = (await clocked.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === event.data.id);
        expect({ where, status: statusOf(id), notes: notes(id).length, followed }).toEqual({
          where,
          status: 'complete',
          notes: 1,
          followed: false,
        });
      }
    }
  });
});
