/**
 * upkeep-work-order-to-deepomatic-validation against the real UpKeep and Deepomatic simulators and a
 * real state store: the transitions of the flow's table and scenario 8 (Deepomatic half).
 */
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DEEPOMATIC_OPEN_SET } from '../../../functions/connectors/deepomatic/poll-source.ts';
import { workOrderVersion } from '../../../functions/connectors/upkeep/webhook.ts';
import { forgetUnconfirmedSend } from '../../../functions/core/claims.ts';
import { NeedsAttentionError } from '../../../functions/core/errors.ts';
import type { FlowContext } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import {
  configSchema as resultConfig,
  flow as resultFlow,
} from '../../../functions/flows/deepomatic-validation-to-upkeep-work-order.ts';
import { rememberWorkOrderWrite } from '../../../functions/flows/shared/echo.ts';
import {
  adoptDeepomaticWorkOrder,
  configSchema,
  DEEPOMATIC_BY_WORK_ORDER,
  type Deps,
  FLOW_ID,
  flow,
  type ValidationFlowConfig,
} from '../../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { flowEvent } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness as DmHarness, startHarness as startDeepomatic } from '../deepomatic/support.ts';
import { startHarness as startUpKeep, type Harness as UpHarness } from '../upkeep/support.ts';
import { crashingStore, WorkerCrash } from './crash-support.ts';

let t: TestState;
let up: UpHarness;
let dm: DmHarness;
let run = 0;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());
beforeEach(async () => {
  up = await startUpKeep();
  dm = await startDeepomatic();
  run++;
});
afterEach(async () => {
  await up.sim.close();
  await dm.sim.close();
});

function context(): FlowContext<ValidationFlowConfig, Deps> {
  return {
    flowId: `${FLOW_ID}-t${run}`,
    config: configSchema.parse({
      categories: ['Photo validation'],
      deepomatic: { workOrderTypes: ['photo-validation'] },
    }),
    deps: { upkeep: up.client(), deepomatic: dm.client({ http: { timeoutMs: 1000 } }) },
    state: t.store(),
    log: memoryLog(),
    now: () => new Date('2026-11-02T09:00:00.000Z'),
  };
}

const created = (workOrderId: string, n = 1) =>
  flowEvent({
    id: `up-${workOrderId}-${n}`,
    type: 'upkeep.WORK_ORDER_CREATED',
    subject: workOrderId,
    data: { event: 'WORK_ORDER_CREATED', objectId: workOrderId, objectType: 'workOrder' },
  });

async function upkeepWorkOrder(category = 'Photo validation'): Promise<string> {
  return (await up.client().createWorkOrder({ title: 'Replace filter', category })).id;
}
const dmFor = (id: string) => dm.sim.workOrders().filter((w) => w.name === `upkeep-${id}`);
const parkedBy = async (promise: Promise<unknown>) => {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(NeedsAttentionError);
  return error as NeedsAttentionError;
};

describe('upkeep-work-order-to-deepomatic-validation transitions', () => {
  it('no configured category or tag: nothing created (skipped)', async () => {
    const id = await upkeepWorkOrder('Electrical');
    expect((await flow.handle(created(id), context())).outcome).toBe('skipped');
    expect(dmFor(id)).toHaveLength(0);
  });

  it("our own write's webhook: not forwarded (echo)", async () => {
    const ctx = context();
    const wo = await up.client().createWorkOrder({ title: 'Replace filter', category: 'Photo validation' });
    await rememberWorkOrderWrite(ctx, wo);
    expect((await flow.handle(created(wo.id), ctx)).outcome).toBe('echo');
    expect(dmFor(wo.id)).toHaveLength(0);
  });

  it('a work order Millwright created, its CREATED webhook handled before the create was answered (no echo mark yet): skipped, no Deepomatic work order', async () => {
    const ctx = context();
    // As machinemetrics-downtime-to-upkeep-work-order creates it; its answer (and mark) not back yet.
    const wo = await up.client().createWorkOrder({
      title: 'Machine down: Press 4 (Jam)',
      category: 'Photo validation',
      description:
        'Down since 2026-11-02T08:00:00.000Z\n\nCreated by Millwright. [millwright:machinemetrics-downtime-to-upkeep-work-order:m-1|2026-11-02T08:00:00.000Z]',
    });
    const result = await flow.handle(created(wo.id), ctx);
    expect(result).toMatchObject({
      outcome: 'skipped',
      message: expect.stringContaining('machinemetrics-downtime-to-upkeep-work-order'),
    });
    expect(dmFor(wo.id)).toHaveLength(0);
  });

  it('a person’s change whose webhook is handled after a later write of ours: still the person’s (done), not swallowed as our echo', async () => {
    const ctx = context();
    const client = up.client();
    const wo = await client.createWorkOrder({ title: 'Replace filter', category: 'Electrical' });
    up.clock.advance(1000);
    // A person puts it in the validated category (v0) ...
    const person = await client.updateWorkOrder(wo.id, { category: 'Photo validation' });
    up.clock.advance(1000);
    // ... then another flow of ours writes its status (v1) before v0's webhook is handled.
    const ours = await client.updateWorkOrder(wo.id, { status: 'inProgress' });
    await rememberWorkOrderWrite(
      { flowId: 'mobility-work-task-to-upkeep-work-order-status', state: ctx.state },
      ours,
    );
    const event = flowEvent({
      id: `up-${wo.id}-person`,
      type: 'upkeep.WORK_ORDER_UPDATED',
      subject: wo.id,
      data: {
        event: 'WORK_ORDER_UPDATED',
        objectId: wo.id,
        objectType: 'workOrder',
        updatedAt: workOrderVersion(person.updatedAt),
      },
    });
    expect((await flow.handle(event, ctx)).outcome).toBe('done');
    expect(dmFor(wo.id)).toHaveLength(1);
  });

  it('a work order Millwright created, put in a photo-check category by a person later (our marks long gone): the person asked for it, so one validation starts (done); a resend is a duplicate', async () => {
    const ctx = context();
    const client = up.client();
    const wo = await client.createWorkOrder({
      title: 'Machine down: Press 4 (Jam)',
      category: 'Electrical',
      description:
        'Down since 2026-11-02T08:00:00.000Z\n\nCreated by Millwright. [millwright:machinemetrics-downtime-to-upkeep-work-order:m-1|2026-11-02T08:00:00.000Z]',
    });
    up.clock.advance(3 * 24 * 3600_000);
    const person = await client.updateWorkOrder(wo.id, { category: 'Photo validation' });
    const event = flowEvent({
      id: `up-${wo.id}-person-category`,
      type: 'upkeep.WORK_ORDER_UPDATED',
      subject: wo.id,
      data: {
        event: 'WORK_ORDER_UPDATED',
        objectId: wo.id,
        objectType: 'workOrder',
        updatedAt: workOrderVersion(person.updatedAt),
      },
    });
    expect((await flow.handle(event, ctx)).outcome).toBe('done');
    expect((await flow.handle(event, ctx)).outcome).toBe('duplicate');
    expect(dmFor(wo.id)).toHaveLength(1);
  });

  it('matches, nothing sent yet: one Deepomatic work order, mapped and followed (done)', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    const result = await flow.handle(created(id), ctx);
    expect(result.outcome).toBe('done');
    expect(dmFor(id)).toHaveLength(1);
    const dmId = dmFor(id)[0]?.id as string;
    expect(await ctx.state.getMapping(DEEPOMATIC_BY_WORK_ORDER, id)).toBe(dmId);
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === dmId)).toBe(true);
  });

  it('an application with no work-order types configured: the flow is configurable without types and creates one work order without work_order_types', async () => {
    // api-doc.txt:176-180 (create): `work_order_types` has no `*` (optional, unlike `name*`, 134); 482:
    // types must "have been configured beforehand", so an application without them can only omit it.
    await dm.sim.close();
    dm = await startDeepomatic({ workOrderTypes: [] });
    const config = configSchema.parse({ categories: ['Photo validation'], deepomatic: {} });
    const ctx = { ...context(), config, deps: { ...context().deps, deepomatic: dm.client() } };
    const id = await upkeepWorkOrder();
    expect((await flow.handle(created(id), ctx)).outcome).toBe('done');
    expect(dmFor(id)).toHaveLength(1);
    expect(dmFor(id)[0]?.types).toEqual([]);
  });

  it('matches, already mapped: nothing created again (duplicate)', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    await flow.handle(created(id), ctx);
    expect((await flow.handle(created(id, 2), ctx)).outcome).toBe('duplicate');
    expect(dmFor(id)).toHaveLength(1);
  });

  it('create certainly refused (429): error, and the retry creates exactly one', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    dm.sim.faults.push({ match: 'POST /v0.2/work-orders', status: 429, times: 5 });
    await expect(flow.handle(created(id), ctx)).rejects.toThrow(/429/);
    dm.sim.faults.length = 0;
    expect((await flow.handle(created(id), ctx)).outcome).toBe('done');
    expect(dmFor(id)).toHaveLength(1);
  });

  it('a create Deepomatic applied but answered 503 (its doc promises nothing for 503) is never sent a second time: parked', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    dm.sim.faults.push({ match: 'POST /v0.2/work-orders', status: 503, afterWrite: true });
    expect((await parkedBy(flow.handle(created(id), ctx))).message).toMatch(/not sent again/);
    expect(dmFor(id)).toHaveLength(1);
    await parkedBy(flow.handle(created(id, 2), ctx));
    expect(dmFor(id)).toHaveLength(1);
  });

  it('a create Deepomatic applied but answered 500 is parked on the retry, never sent a second time', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    dm.sim.faults.push({ match: 'POST /v0.2/work-orders', status: 500, afterWrite: true });
    await expect(flow.handle(created(id), ctx)).rejects.toThrow(/500/);
    expect(dmFor(id)).toHaveLength(1);
    await parkedBy(flow.handle(created(id, 2), ctx));
    expect(dmFor(id)).toHaveLength(1);
  });

  it('a create Deepomatic applied but answered 200 with a body that is no work order (a proxy page in a maintenance window) is parked, never sent a second time', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    dm.sim.faults.push({
      match: 'POST /v0.2/work-orders',
      status: 200,
      afterWrite: true,
      body: { message: 'We are performing scheduled maintenance' },
    });
    const parked = await parkedBy(flow.handle(created(id), ctx));
    expect(parked.message).toMatch(/not sent again/);
    expect(dmFor(id)).toHaveLength(1);
    // The redelivery, once Deepomatic answers normally again, creates nothing more.
    await parkedBy(flow.handle(created(id, 2), ctx));
    expect(dmFor(id)).toHaveLength(1);
  });

  it('out-of-order retry: a created event that failed with a Deepomatic 429, retried after a later updated event made the Deepomatic work order, creates nothing more (duplicate)', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    dm.sim.faults.push({ match: 'POST /v0.2/work-orders', status: 429, times: 5 });
    await expect(flow.handle(created(id), ctx)).rejects.toThrow(/429/);
    dm.sim.faults.length = 0;
    const updated = flowEvent({
      id: `up-${id}-updated`,
      type: 'upkeep.WORK_ORDER_UPDATED',
      subject: id,
      data: { event: 'WORK_ORDER_UPDATED', objectId: id, objectType: 'workOrder' },
    });
    expect((await flow.handle(updated, ctx)).outcome).toBe('done');
    expect((await flow.handle(created(id), ctx)).outcome).toBe('duplicate');
    expect(dmFor(id)).toHaveLength(1);
  });

  it('order does not matter: a created event handled late, after the category was taken off, reads the work order as it is now (skipped); the same event after it is put back creates one', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    await up.client().updateWorkOrder(id, { category: 'Damage' });
    expect((await flow.handle(created(id), ctx)).outcome).toBe('skipped');
    await up.client().updateWorkOrder(id, { category: 'Photo validation' });
    expect((await flow.handle(created(id, 2), ctx)).outcome).toBe('done');
    expect((await flow.handle(created(id), ctx)).outcome).toBe('duplicate');
    expect(dmFor(id)).toHaveLength(1);
  });

  it('scenario 8 (Deepomatic half): a create that times out before Deepomatic applied it is parked visibly, and creates exactly 1 once the operator checked', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    // Deepomatic never applies it: its (late) answer comes after the client gave up.
    dm.sim.faults.push({ match: 'POST /v0.2/work-orders', status: 504, delayMs: 1500 });
    const parked = await parkedBy(flow.handle(created(id), ctx));
    expect(parked.check).toContain(`named upkeep-${id}`);
    expect(parked.check).toContain(`cmms_work_order_id ${id}`);
    expect(dmFor(id)).toHaveLength(0);
    // A redelivery of the same event (or an update webhook) never re-sends on a guess.
    await parkedBy(flow.handle(created(id, 2), ctx));
    expect(dmFor(id)).toHaveLength(0);
    // The operator found nothing in Deepomatic, cleared the send and replayed: exactly one.
    await forgetUnconfirmedSend(ctx.state, `${ctx.flowId}:create:${id}`);
    expect((await flow.handle(created(id), ctx)).outcome).toBe('done');
    expect(dmFor(id)).toHaveLength(1);
  });

  it('a create Deepomatic applied but whose answer was lost is parked, and adopting it follows it without a second', async () => {
    const id = await upkeepWorkOrder();
    const ctx = context();
    dm.sim.faults.push({ match: 'POST /v0.2/work-orders', timeoutAfterWrite: true, delayMs: 5000 });
    await parkedBy(flow.handle(created(id), ctx));
    expect(dmFor(id)).toHaveLength(1);
    const dmId = dmFor(id)[0]?.id as string;
    await adoptDeepomaticWorkOrder(ctx.state, ctx.flowId, id, dmId);
    const replay = await flow.handle(created(id), ctx);
    expect(replay.outcome).toBe('duplicate');
    expect(dmFor(id)).toHaveLength(1);
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === dmId)).toBe(true);
  });
});

describe('the UpKeep webhooks and the Deepomatic poller reporting one work order, in either order', () => {
  const resultContext = (ctx: FlowContext<ValidationFlowConfig, Deps>, now: Date) => ({
    flowId: `${resultFlow.id}-t${run}`,
    config: resultConfig.parse({}),
    deps: { upkeep: up.client() },
    state: ctx.state,
    log: memoryLog(),
    now: () => now,
  });
  const updated = (id: string, tag: string, version?: string) =>
    flowEvent({
      id: `up-${id}-updated-${tag}`,
      type: 'upkeep.WORK_ORDER_UPDATED',
      subject: id,
      data: {
        event: 'WORK_ORDER_UPDATED',
        objectId: id,
        objectType: 'workOrder',
        ...(version ? { updatedAt: version } : {}),
      },
    });
  const concluded = (id: string, dmId: string) =>
    flowEvent({
      id: `deepomatic:${dmId}:2026-11-02T08:59:00.000000Z:f`,
      type: 'deepomatic.work-order.changed',
      subject: dmId,
      data: {
        id: dmId,
        name: `upkeep-${id}`,
        cmms: 'upkeep',
        cmmsWorkOrderId: id,
        progressScore: 100,
        reviewDate: null,
        updateDate: '2026-11-02T08:59:00.000000Z',
        tasks: [{ name: 'equipment_after_intervention', state: true }],
        metadata: {},
      },
    });

  for (const personFirst of [true, false]) {
    it(`${personFirst ? "a person's update webhook before" : 'the created webhook before'} the other, the result applied, then our completion's webhook, the person's late webhook and a 25 h resend of everything: one Deepomatic work order, one note, the work order stays complete`, async () => {
      const ctx = context();
      const client = up.client();
      const id = await upkeepWorkOrder();
      up.clock.advance(1000);
      const person = await client.updateWorkOrder(id, { title: 'Replace filter (bay 2)' });
      const personEvent = updated(id, 'person', workOrderVersion(person.updatedAt));
      const first = personFirst ? personEvent : created(id);
      const second = personFirst ? created(id) : personEvent;
      expect((await flow.handle(first, ctx)).outcome).toBe('done');
      expect((await flow.handle(second, ctx)).outcome).toBe('duplicate');
      const dmId = dmFor(id)[0]?.id as string;

      // The poller reports the concluded validation: completed, noted, unfollowed.
      const result = resultContext(ctx, new Date('2026-11-02T09:05:00.000Z'));
      expect((await resultFlow.handle(concluded(id, dmId), result)).outcome).toBe('done');
      const after = await client.getWorkOrder(id);
      expect(after?.status).toBe('complete');
      // Our completion comes back as a webhook: another flow's write (skipped), nothing created.
      const ours = updated(id, 'ours', workOrderVersion(after?.updatedAt as string));
      expect(['echo', 'skipped', 'duplicate']).toContain((await flow.handle(ours, ctx)).outcome);

      // 25 h later (past the ingress's delivery memory) everything is resent.
      const late = { ...ctx, now: () => new Date('2026-11-03T10:05:00.000Z') };
      for (const e of [created(id), personEvent, ours])
        expect(['echo', 'skipped', 'duplicate']).toContain((await flow.handle(e, late)).outcome);
      const lateResult = resultContext(ctx, new Date('2026-11-03T10:05:00.000Z'));
      expect((await resultFlow.handle(concluded(id, dmId), lateResult)).outcome).toBe('duplicate');

      expect(dmFor(id)).toHaveLength(1);
      expect(up.sim.workOrderMessages(id)).toHaveLength(1);
      expect((await client.getWorkOrder(id))?.status).toBe('complete');
      expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === dmId)).toBe(false);
    });
  }
});

describe('a crash between the create and its bookkeeping', () => {
  it('a retry after the worker died between mapping and following the Deepomatic work order still follows it (its validation is not lost)', async () => {
    const ctx = context();
    const id = await upkeepWorkOrder();
    // The first attempt creates in Deepomatic, then dies on the write that makes the poller follow it.
    const store = ctx.state;
    const crashing = Object.create(store) as typeof store;
    crashing.putMember = async () => {
      throw new Error('Lambda timed out');
    };
    await expect(flow.handle(created(id), { ...ctx, state: crashing })).rejects.toThrow('Lambda timed out');
    expect(dmFor(id)).toHaveLength(1);
    // SQS redelivers: one Deepomatic work order, and the poller follows it.
    const retried = await flow.handle(created(id), ctx);
    expect(retried.outcome).toBe('duplicate');
    expect(dmFor(id)).toHaveLength(1);
    const dmId = (await ctx.state.getMapping(DEEPOMATIC_BY_WORK_ORDER, id)) as string;
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === dmId)).toBe(true);
  });
});

/** What DynamoDB's TTL does by `atSeconds`: every item whose `ttl` is before it is gone. */
async function expireTtlBy(store: { tableName: string }, atSeconds: number): Promise<void> {
  const doc = DynamoDBDocumentClient.from(t.dynamo.client);
  const { Items = [] } = await doc.send(new ScanCommand({ TableName: store.tableName }));
  for (const item of Items) {
    if (typeof item.ttl === 'number' && item.ttl < atSeconds) {
      await doc.send(new DeleteCommand({ TableName: store.tableName, Key: { pk: item.pk, sk: item.sk } }));
    }
  }
}

describe('a validation that takes longer than the state retention', () => {
  it('a Deepomatic work order still open 120 days after its create is still followed (its result is not lost to the TTL)', async () => {
    const ctx = context();
    const id = await upkeepWorkOrder();
    expect((await flow.handle(created(id), ctx)).outcome).toBe('done');
    const dmId = (await ctx.state.getMapping(DEEPOMATIC_BY_WORK_ORDER, id)) as string;
    // Field work scheduled months out: DynamoDB's TTL sweeps the table meanwhile.
    await expireTtlBy(ctx.state, Math.floor(Date.now() / 1000) + 120 * 86_400);
    expect((await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === dmId)).toBe(true);
  });

  it('an adopted Deepomatic work order is followed past the state retention too', async () => {
    const ctx = context();
    const id = await upkeepWorkOrder();
    await adoptDeepomaticWorkOrder(ctx.state, ctx.flowId, id, `dm-adopted-${run}`);
    await expireTtlBy(ctx.state, Math.floor(Date.now() / 1000) + 120 * 86_400);
    const members = await ctx.state.listMembers(DEEPOMATIC_OPEN_SET);
    expect(members.some((m) => m.id === `dm-adopted-${run}`)).toBe(true);
  });
});

describe('a worker that dies at any write of a create (crash-support sweep)', () => {
  it('a crash at each write k of a clean run (write lost, or landed with its answer lost), then SQS redelivery: one Deepomatic work order, mapped and followed, or parked with a reason', async () => {
    let skew = 0;
    const clocked = t.store(() => new Date(Date.now() + skew));
    const clean = crashingStore(clocked, Number.POSITIVE_INFINITY);
    const cleanId = await upkeepWorkOrder();
    expect((await flow.handle(created(cleanId), { ...context(), state: clean.store })).outcome).toBe('done');
    const n = clean.writes();
    expect(n).toBeGreaterThan(2);
    for (let k = 1; k <= n; k++) {
      for (const when of ['before', 'after'] as const) {
        const ctx = { ...context(), state: clocked };
        const id = await upkeepWorkOrder();
        const crash = crashingStore(clocked, k, when);
        await expect(flow.handle(created(id), { ...ctx, state: crash.store })).rejects.toThrow(WorkerCrash);
        skew += 2 * 60_000; // past the claim's lease, as a redelivery after the visibility timeout is
        const retried = await flow.handle(created(id), ctx).catch((e: unknown) => e);
        const where = `k=${k} ${when} (${crash.log().join(',')})`;
        if (retried instanceof NeedsAttentionError) {
          // Parked visibly once the send intent landed (Deepomatic offers no look-up): never two.
          expect({ where, sent: dmFor(id).length <= 1 }).toEqual({ where, sent: true });
          continue;
        }
        expect({ where, retried }).toEqual({
          where,
          retried: expect.objectContaining({ outcome: expect.any(String) }),
        });
        expect({ where, n: dmFor(id).length }).toEqual({ where, n: 1 });
        const dmId = await ctx.state.getMapping(DEEPOMATIC_BY_WORK_ORDER, id);
        expect({ where, dmId }).toEqual({ where, dmId: dmFor(id)[0]?.id });
        const followed = (await ctx.state.listMembers(DEEPOMATIC_OPEN_SET)).some((m) => m.id === dmId);
        expect({ where, followed }).toEqual({ where, followed: true });
      }
    }
  });
});
