/**
 * UpKeep fires a work order's webhook as it commits, so the echo of our own PATCH can be handled
 * before the PATCH's answer (and so before its version is known). A flow that writes a work order
 * (here deepomatic-validation-to-upkeep-work-order, against the real UpKeep simulator) leaves an
 * intent first; a watcher meeting that intent waits (NotReadyError) instead of taking the change for
 * a person's, and a person's change made while our write was in flight is still a person's.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { UpKeepClient } from '../../../functions/connectors/upkeep/client.ts';
import { NotReadyError } from '../../../functions/core/errors.ts';
import type { FlowContext } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import {
  configSchema,
  type DeepomaticResultConfig,
  type Deps,
  FLOW_ID,
  flow,
} from '../../../functions/flows/deepomatic-validation-to-upkeep-work-order.ts';
import {
  OWN_WRITE_PENDING_MS,
  UPKEEP_WORK_ORDER_ECHO,
  workOrderEcho,
  writeWorkOrder,
} from '../../../functions/flows/shared/echo.ts';
import { flowEvent } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness, startHarness } from '../upkeep/support.ts';

let t: TestState;
let h: Harness;
let run = 0;
/** The state store's clock (the intent's age is measured on it). */
let nowMs = Date.parse('2026-11-02T09:00:00.000Z');
const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && 'S' in v ? String(v.S) : '';
/** `<Command> <pk prefix>` of every DynamoDB request while `counting`. */
let counting = false;
const sent: string[] = [];
beforeAll(async () => {
  t = await startTestState();
  t.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, Record<string, unknown> | undefined>;
      const pk = text(input.Key?.pk ?? input.Item?.pk ?? input.ExpressionAttributeValues?.[':pk']);
      if (counting)
        sent.push(`${(context.commandName ?? '').replace(/(Item)?Command$/, '')} ${pk.split('#')[0]}`);
      return next(args);
    },
    { step: 'initialize', name: 'requestCounter' },
  );
});
afterAll(() => t.close());
beforeEach(async () => {
  h = await startHarness();
  run++;
});
afterEach(() => h.sim.close());

const WATCHER = 'upkeep-work-order-to-deepomatic-validation';
const state = () => t.store(() => new Date(nowMs));

/** The writer's UpKeep client, whose PATCH runs `meanwhile` after UpKeep committed, before answering. */
function writerClient(meanwhile: (committed: { id: string; updatedAt: string }) => Promise<void>) {
  const real = h.client({ config: { timeoutMs: 1000 } });
  const client = Object.create(real) as UpKeepClient;
  client.updateWorkOrder = async (id, patch) => {
    const wo = await real.updateWorkOrder(id, patch);
    await meanwhile(wo);
    return wo;
  };
  return client;
}

function writer(upkeep: UpKeepClient): FlowContext<DeepomaticResultConfig, Deps> {
  return {
    flowId: `${FLOW_ID}-t${run}`,
    config: configSchema.parse({}),
    deps: { upkeep },
    state: state(),
    log: memoryLog(),
    now: () => new Date(nowMs),
  };
}
const watcher = () => ({ flowId: WATCHER, state: state() });

const concluded = (workOrderId: string) =>
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
    },
  });

async function newWorkOrder(): Promise<string> {
  const wo = await h.client().createWorkOrder({ title: 'Replace filter' });
  h.clock.advance(1000);
  return wo.id;
}
const reRead = async (id: string) => {
  const wo = await h.client().getWorkOrder(id);
  if (!wo) throw new Error(`work order ${id} missing`);
  return wo;
};

describe('the echo of a work-order write handled before the write is answered', () => {
  it('is not taken for a person change: the watcher waits while the write is in flight, then skips it as Millwright’s', async () => {
    const id = await newWorkOrder();
    let inFlight: unknown;
    const ctx = writer(
      writerClient(async (committed) => {
        // UpKeep's webhook, handled by a watcher before our PATCH's answer reaches the writer.
        inFlight = await workOrderEcho(watcher(), await reRead(committed.id)).catch((e: unknown) => e);
      }),
    );
    expect((await flow.handle(concluded(id), ctx)).outcome).toBe('done');
    expect(inFlight).toBeInstanceOf(NotReadyError);
    // Its retry, after the answer: Millwright's own change, naming the writer.
    expect(await workOrderEcho(watcher(), await reRead(id))).toMatchObject({
      outcome: 'skipped',
      message: expect.stringContaining(ctx.flowId),
    });
  });

  it('a person’s change made while our write was in flight is still a person’s (reordered: handled before our echo)', async () => {
    const id = await newWorkOrder();
    let person: { id: string; updatedAt: string } | undefined;
    let ours: { id: string; updatedAt: string } | undefined;
    let personInFlight: unknown;
    const ctx = writer(
      writerClient(async (committed) => {
        ours = committed;
        h.clock.advance(1000);
        person = await h.client().updateWorkOrder(id, { priority: 3 });
        personInFlight = await workOrderEcho(watcher(), person).catch((e: unknown) => e);
      }),
    );
    expect((await flow.handle(concluded(id), ctx)).outcome).toBe('done');
    if (!person || !ours) throw new Error('the writes did not happen');
    // While ours was unanswered, nobody could tell: waited rather than swallowed.
    expect(personInFlight).toBeInstanceOf(NotReadyError);
    // Retried after the answer: the person's version is not ours, ours still is.
    expect(await workOrderEcho(watcher(), person)).toBeUndefined();
    expect(await workOrderEcho(watcher(), ours)).toMatchObject({ outcome: 'skipped' });
  });

  it('an answer lost after UpKeep committed: the failed write gives its intent up (no answer will name its version), so its echo counts as not ours, as without intents', async () => {
    const id = await newWorkOrder();
    h.sim.faults.push({
      match: `PATCH /api/v2/work-orders/${id}`,
      timeoutAfterWrite: true,
      delayMs: 1000,
      times: 10,
    });
    const ctx = writer(h.client({ config: { timeoutMs: 200 } }));
    // Retried by the client, unanswered every time: an unavailable vendor, the outcome unknown.
    await expect(flow.handle(concluded(id), ctx)).rejects.toThrow('unavailable');
    const committed = await reRead(id);
    expect(committed.status).toBe('complete');
    expect(await workOrderEcho(watcher(), committed)).toBeUndefined();
  });

  it('a writer that died mid-request (its intent never settled) holds the record’s echoes for the bound only', async () => {
    const id = await newWorkOrder();
    await state().intendOwnWrite(UPKEEP_WORK_ORDER_ECHO, id, `${FLOW_ID}-t${run}`);
    const wo = await reRead(id);
    await expect(workOrderEcho(watcher(), wo)).rejects.toBeInstanceOf(NotReadyError);
    nowMs += OWN_WRITE_PENDING_MS + 1;
    expect(await workOrderEcho(watcher(), wo)).toBeUndefined();
  });

  it('a write UpKeep certainly refused leaves no intent: a person’s change right after is not held', async () => {
    const id = await newWorkOrder();
    h.sim.faults.push({ match: `PATCH /api/v2/work-orders/${id}`, status: 400 });
    const ctx = writer(h.client({ config: { timeoutMs: 1000 } }));
    await expect(flow.handle(concluded(id), ctx)).rejects.toThrow();
    const person = await h.client().updateWorkOrder(id, { priority: 3 });
    expect(await workOrderEcho(watcher(), person)).toBeUndefined();
  });

  it('split writes of one event: the first write’s echo, handled while the second is in flight, is recognised at once; the second’s waits, then is recognised', async () => {
    const id = await newWorkOrder();
    const ctx = { flowId: `${FLOW_ID}-t${run}`, state: state() };
    const client = h.client();
    const first = await writeWorkOrder(ctx, id, () => client.updateWorkOrder(id, { status: 'inProgress' }));
    h.clock.advance(1000);
    let firstEcho: unknown;
    let secondEcho: unknown;
    const second = await writeWorkOrder(ctx, id, async () => {
      const wo = await client.updateWorkOrder(id, { status: 'complete' });
      firstEcho = await workOrderEcho(watcher(), first).catch((e: unknown) => e);
      secondEcho = await workOrderEcho(watcher(), wo).catch((e: unknown) => e);
      return wo;
    });
    expect(second.updatedAt).not.toBe(first.updatedAt);
    expect(firstEcho).toMatchObject({ outcome: 'skipped' });
    expect(secondEcho).toBeInstanceOf(NotReadyError);
    expect(await workOrderEcho(watcher(), second)).toMatchObject({ outcome: 'skipped' });
    expect(await workOrderEcho(ctx, first)).toMatchObject({ outcome: 'echo' });
  });

  it('costs one request more per write (the intent) and none more per check: a write is Put intent + Update version, a check one Query', async () => {
    const id = await newWorkOrder();
    const ctx = { flowId: `${FLOW_ID}-t${run}`, state: state() };
    const client = h.client();
    await client.getWorkOrder(id);
    counting = true;
    const wo = await writeWorkOrder(ctx, id, () => client.updateWorkOrder(id, { status: 'inProgress' }));
    const write = sent.splice(0);
    await workOrderEcho(watcher(), wo);
    const check = sent.splice(0);
    counting = false;
    expect(write).toEqual(['Put ECHO', 'Update ECHO']);
    expect(check).toEqual(['Query ECHO']);
  });

  it('two writes of ours answered with one version (a PATCH that changed nothing): both intents resolved, a person’s change after is not held', async () => {
    const id = await newWorkOrder();
    const ctx = { flowId: `${FLOW_ID}-t${run}`, state: state() };
    const client = h.client();
    const wo = await writeWorkOrder(ctx, id, () => client.updateWorkOrder(id, { status: 'inProgress' }));
    // A retry after a crash writes the same value; UpKeep answers the version it already had.
    await writeWorkOrder(ctx, id, async () => wo);
    h.clock.advance(1000);
    const person = await client.updateWorkOrder(id, { priority: 3 });
    expect(await workOrderEcho(watcher(), person)).toBeUndefined();
    expect(await workOrderEcho(watcher(), wo)).toMatchObject({ outcome: 'skipped' });
  });
});
