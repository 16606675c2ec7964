/** The open-work-orders poll source end to end: real client, simulator, real StateStore, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import {
  type DeepomaticClient,
  DeepomaticRouteNotFoundError,
} from '../../../functions/connectors/deepomatic/client.ts';
import {
  DEEPOMATIC_OPEN_SET,
  DEEPOMATIC_WORK_ORDER_CHANGED,
  DEEPOMATIC_WORK_ORDER_DELETED,
  type DeepomaticOpenMember,
  type DeepomaticOpenWorkOrdersPollOptions,
  type DeepomaticOpenWorkOrdersPollState,
  DeepomaticPollError,
  deepomaticOpenWorkOrdersPollSource,
  deepomaticWorkOrderChangedSchema,
  deepomaticWorkOrderDeletedSchema,
} from '../../../functions/connectors/deepomatic/poll-source.ts';
import { ConfigError, VendorResponseError } from '../../../functions/core/errors.ts';
import { defineFlow, type FlowEvent, type PollStep } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness, startHarness, T0 } from './support.ts';

let h: Harness;
let t: TestState;
let store: StateStore;
let client: DeepomaticClient;

beforeAll(async () => {
  h = await startHarness();
  t = await startTestState();
  store = t.store();
  client = h.client();
});
afterAll(async () => {
  await h.sim.close();
  await t.close();
});
beforeEach(async () => {
  h.sim.reset();
  h.sim.faults.length = 0;
  h.clock.advance(Date.parse(T0) - h.clock.now().getTime());
  for (const m of await store.listMembers(DEEPOMATIC_OPEN_SET, { limit: 1000 })) {
    await store.deleteMember(DEEPOMATIC_OPEN_SET, m.id);
  }
});

/** Create a Deepomatic work order and follow it, as the validation-request flow does. */
async function follow(cmmsId: string, types: string[] = ['photo-validation']): Promise<string> {
  const name = `upkeep-${cmmsId}`;
  const wo = await client.createWorkOrder({
    name,
    metadata: { cmms_work_order_id: cmmsId },
    work_order_types: types,
  });
  await store.putMember<DeepomaticOpenMember>(DEEPOMATIC_OPEN_SET, wo.id, {
    cmms: 'upkeep',
    cmmsWorkOrderId: cmmsId,
    name,
  });
  return wo.id;
}

async function poll(
  state: DeepomaticOpenWorkOrdersPollState | undefined,
  options: DeepomaticOpenWorkOrdersPollOptions = {},
  pollClient: Pick<DeepomaticClient, 'getWorkOrder'> = client,
) {
  const log = memoryLog();
  const steps: PollStep<DeepomaticOpenWorkOrdersPollState>[] = [];
  let error: unknown;
  try {
    for await (const step of deepomaticOpenWorkOrdersPollSource.poll({
      state,
      options,
      now: h.clock.now(),
      deps: { client: pollClient, members: store },
      log,
    })) {
      // What the runtime does: the saved state must load again through the source's schema.
      expect(
        deepomaticOpenWorkOrdersPollSource.stateSchema.parse(JSON.parse(JSON.stringify(step.state))),
      ).toEqual(step.state);
      steps.push(step);
    }
  } catch (e) {
    error = e;
  }
  const events = steps.flatMap((s) => s.events);
  return { steps, events, state: steps.at(-1)?.state ?? state, log, error };
}

const changed = (events: FlowEvent[]) =>
  events
    .filter((e) => e.type === DEEPOMATIC_WORK_ORDER_CHANGED)
    .map((e) => deepomaticWorkOrderChangedSchema.parse(e.data));
const members = async () => (await store.listMembers(DEEPOMATIC_OPEN_SET, { limit: 1000 })).map((m) => m.id);

describe('deepomatic.open-work-orders poll source', () => {
  it('emits a changed event per followed work order on first sight, then nothing while unchanged', async () => {
    const id = await follow('WO1');
    const first = await poll(undefined);
    expect(first.error).toBeUndefined();
    expect(first.events).toHaveLength(1);
    const [event] = first.events;
    expect(event).toMatchObject({
      type: DEEPOMATIC_WORK_ORDER_CHANGED,
      source: 'deepomatic.poll',
      subject: id,
      occurredAt: '2026-11-02T08:00:00.000Z',
    });
    expect(event?.id).toMatch(new RegExp(`^deepomatic:${id}:2026-11-02T08:00:00\\.000000Z:[0-9a-f]{16}$`));
    expect(deepomaticWorkOrderChangedSchema.parse(event?.data)).toEqual({
      id,
      name: 'upkeep-WO1',
      cmms: 'upkeep',
      cmmsWorkOrderId: 'WO1',
      progressScore: 0,
      reviewDate: null,
      updateDate: '2026-11-02T08:00:00.000000Z',
      tasks: [
        { name: 'equipment_after_intervention', state: null },
        { name: 'nameplate_visible', state: null },
      ],
      metadata: { cmms_work_order_id: 'WO1' },
    });
    expect(Object.keys(first.state?.seen ?? {})).toEqual([id]);
    expect(first.steps.map((s) => s.summary)).toEqual([
      'page 1: 1 open work order listed, 1 changed, 0 deleted',
    ]);

    const again = await poll(first.state);
    expect(again.events).toEqual([]);
    expect(again.state).toEqual(first.state);
  });

  it('emits when progress changes with the clock, only for the work order that changed', async () => {
    const a = await follow('A');
    const first = await poll(undefined);
    h.clock.advance(60_000);
    const b = await follow('B'); // created at +1 min: still 0 %
    const second = await poll(first.state);
    expect(changed(second.events).map((d) => [d.id, d.progressScore])).toEqual(
      [
        [a, 20],
        [b, 0],
      ].sort(([x], [y]) => String(x).localeCompare(String(y))),
    );
    const quiet = await poll(second.state);
    expect(quiet.events).toEqual([]);
    h.clock.advance(15_000); // A: 25 %, B: 5 %
    const third = await poll(quiet.state);
    expect(
      changed(third.events)
        .map((d) => d.progressScore)
        .sort(),
    ).toEqual([25, 5]);
    expect(new Set(third.events.map((e) => e.id)).size).toBe(2);
    expect(third.events.map((e) => e.id)).not.toContain(second.events[0]?.id);
  });

  it('emits on a task state change and on a back-office review (no progress change)', async () => {
    const id = await follow('WO1');
    const first = await poll(undefined, {}, client);
    h.sim.setTaskStates(id, { nameplate_visible: { conform: false } });
    const states = await poll(first.state);
    expect(changed(states.events)[0]?.tasks).toEqual([
      { name: 'equipment_after_intervention', state: null },
      { name: 'nameplate_visible', state: { conform: false } },
    ]);
    h.clock.advance(1_000);
    h.sim.review(id);
    const reviewed = await poll(states.state);
    expect(changed(reviewed.events)[0]?.reviewDate).toBe('2026-11-02T08:00:01.000000Z');
    h.sim.setOutcome(id, 'passed');
    const passed = await poll(reviewed.state);
    expect(changed(passed.events)[0]).toMatchObject({ progressScore: 100 });
  });

  it('event ids are deterministic: the same state and vendor data give the same events', async () => {
    await follow('A');
    await follow('B');
    h.clock.advance(42_000);
    const one = await poll(undefined);
    const two = await poll(undefined);
    expect(two.events).toEqual(one.events);
    expect(two.state).toEqual(one.state);
  });

  it('emits deleted on 404, then stops following the work order and forgets it', async () => {
    const keep = await follow('KEEP');
    const gone = await follow('GONE');
    const first = await poll(undefined);
    await client.deleteWorkOrder(gone);
    const second = await poll(first.state);
    expect(second.events).toHaveLength(1);
    const [event] = second.events;
    expect(event).toMatchObject({
      id: `deepomatic:${gone}:deleted`,
      type: DEEPOMATIC_WORK_ORDER_DELETED,
      subject: gone,
      occurredAt: T0,
    });
    expect(deepomaticWorkOrderDeletedSchema.parse(event?.data)).toEqual({
      id: gone,
      name: 'upkeep-GONE',
      cmms: 'upkeep',
      cmmsWorkOrderId: 'GONE',
    });
    expect(Object.keys(second.state?.seen ?? {})).toEqual([keep]);
    expect(await members()).toEqual([keep]);
    expect((await poll(second.state)).events).toEqual([]);
  });

  it('a 404 that is not "WorkOrder not found!" (baseUrl without /v0.2) emits no deleted and stops the walk', async () => {
    for (const n of [1, 2, 3]) await follow(`WO${n}`);
    const first = await poll(undefined);
    const before = await members();
    h.sim.requests.length = 0;
    const misrouted = h.client({ config: { baseUrl: h.sim.url } });
    const run = await poll(first.state, { concurrency: 1 }, misrouted);
    expect(run.events.filter((e) => e.type === DEEPOMATIC_WORK_ORDER_DELETED)).toEqual([]);
    expect(run.error).toBeInstanceOf(DeepomaticRouteNotFoundError);
    expect(run.error).not.toBeInstanceOf(DeepomaticPollError);
    expect(run.state).toEqual(first.state);
    expect(await members()).toEqual(before);
    expect(h.sim.requests).toHaveLength(1);
  });

  it('walks the whole set a page at a time and keeps the state to current members only', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) ids.push(await follow(`WO${n}`));
    const sorted = [...ids].sort();
    const first = await poll(undefined, { pageSize: 2, concurrency: 2 });
    expect(first.steps.map((s) => s.events.length)).toEqual([2, 2, 1]);
    expect(first.events.map((e) => e.subject)).toEqual(sorted); // set (id) order
    expect(Object.keys(first.steps[0]?.state.seen ?? {})).toEqual(sorted.slice(0, 2));
    expect(Object.keys(first.state?.seen ?? {}).sort()).toEqual(sorted);

    // Two members leave the set (a flow concluded them): their entries go, nothing is emitted.
    await store.deleteMember(DEEPOMATIC_OPEN_SET, sorted[1] as string);
    await store.deleteMember(DEEPOMATIC_OPEN_SET, sorted[4] as string);
    const second = await poll(first.state, { pageSize: 2 });
    expect(second.events).toEqual([]);
    expect(Object.keys(second.state?.seen ?? {}).sort()).toEqual([sorted[0], sorted[2], sorted[3]]);
    // An intermediate step drops the ids it passed (sorted[1]) and keeps the ones not reached yet.
    expect(Object.keys(second.steps[0]?.state.seen ?? {}).sort()).toEqual([
      sorted[0],
      sorted[2],
      sorted[3],
      sorted[4],
    ]);

    // An exact multiple of the page size ends on an empty page that still prunes.
    await store.deleteMember(DEEPOMATIC_OPEN_SET, sorted[3] as string);
    const third = await poll(second.state, { pageSize: 2 });
    expect(third.state).toEqual({
      seen: { [sorted[0] as string]: expect.any(String), [sorted[2] as string]: expect.any(String) },
    });
  });

  it('an empty set is one quiet step with an empty state', async () => {
    const run = await poll({ seen: { stale: 'abc' } });
    expect(run.steps).toEqual([
      { events: [], state: { seen: {} }, summary: 'no open Deepomatic work orders' },
    ]);
  });

  it('skips a member with invalid data, emits the others, then fails the run naming it', async () => {
    const good = await follow('GOOD');
    await store.putMember(DEEPOMATIC_OPEN_SET, 'broken-member', { cmms: 'upkeep' });
    const run = await poll(undefined);
    expect(changed(run.events).map((d) => d.id)).toEqual([good]);
    expect(run.error).toBeInstanceOf(DeepomaticPollError);
    expect((run.error as Error).message).toContain('broken-member');
    expect(run.log.lines.some((l) => l.level === 'error' && l.extra?.id === 'broken-member')).toBe(true);
  });

  it('a work order whose body does not match is skipped (others go on) and keeps its old fingerprint', async () => {
    const a = await follow('A');
    const b = await follow('B');
    const first = await poll(undefined);
    h.clock.advance(60_000);
    const flaky: Pick<DeepomaticClient, 'getWorkOrder'> = {
      getWorkOrder: async (id) => {
        if (id === a) {
          throw new VendorResponseError('deepomatic', 'getWorkOrder', 'progress_score', 'expected number');
        }
        return client.getWorkOrder(id);
      },
    };
    const second = await poll(first.state, {}, flaky);
    expect(changed(second.events).map((d) => d.id)).toEqual([b]);
    // Skipped and reported, not a failed run: the others are handled and the poll goes on.
    expect(second.error).toBeUndefined();
    expect(second.steps.flatMap((s) => s.skipped ?? []).map((x) => [x.record, x.field])).toEqual([
      [a, 'progress_score'],
    ]);
    expect(second.state?.seen[a]).toBe(first.state?.seen[a]);
    const third = await poll(second.state);
    expect(changed(third.events).map((d) => d.id)).toEqual([a]);
  });

  it('reports an unreadable work order at every run with the time it was first found, until it parses', async () => {
    const a = await follow('A');
    const b = await follow('B');
    /** Deepomatic answers A's body with a progress_score that is not a number. */
    const corrupting = (on: boolean) =>
      h.client({
        http: {
          fetch: async (input, init) => {
            const res = await fetch(input, init);
            if (!on || !String(input).includes(a)) return res;
            const body = (await res.json()) as Record<string, unknown>;
            return new Response(JSON.stringify({ ...body, progress_score: 'abc' }), { status: res.status });
          },
        },
      });
    const first = await poll(undefined, {}, corrupting(true));
    expect(first.error).toBeUndefined();
    expect(changed(first.events).map((d) => d.id)).toEqual([b]);
    const entry = {
      kind: 'Deepomatic work order',
      record: a,
      field: 'progress_score',
      message: 'expected number (got "abc")',
      next: `its upkeep work order A waits: not judged while unreadable (since ${T0}), read again at every poll`,
    };
    expect(first.steps.flatMap((s) => s.skipped ?? [])).toEqual([entry]);
    expect(first.state?.unreadable).toEqual({ [a]: T0 });
    expect(first.state?.seen[a]).toBeUndefined();

    // Still unreadable a minute later: reported again, with the same "since".
    h.clock.advance(60_000);
    const second = await poll(first.state, {}, corrupting(true));
    expect(second.steps.flatMap((s) => s.skipped ?? [])).toEqual([entry]);
    expect(second.state?.unreadable).toEqual({ [a]: T0 });

    // Readable again: judged (first sight of its state: it emits), and no longer reported.
    const third = await poll(second.state, {}, corrupting(false));
    expect(changed(third.events).map((d) => d.id)).toContain(a);
    expect(third.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
    expect(third.state?.unreadable).toBeUndefined();
  });

  it('an auth failure stops the walk and throws (nothing emitted, state kept, no more GETs)', async () => {
    for (const n of [1, 2, 3]) await follow(`WO${n}`);
    const first = await poll(undefined);
    h.sim.requests.length = 0;
    const bad = h.client({ loadApiKey: async () => 'wrong-key-0000' });
    const run = await poll(first.state, { concurrency: 1 }, bad);
    expect(run.events).toEqual([]);
    expect((run.error as Error).message).toContain('-> 401');
    expect(run.error).not.toBeInstanceOf(DeepomaticPollError);
    expect(run.state).toEqual(first.state);
    expect(run.steps.map((s) => s.summary)).toEqual([
      'page 1: 3 open work orders listed, 0 changed, 0 deleted, 3 not read',
    ]);
    expect(h.sim.requests).toHaveLength(1);
  });

  it('rejects bad options with a ConfigError', async () => {
    const run = await poll(undefined, { pageSize: 0 });
    expect(run.error).toBeInstanceOf(ConfigError);
    expect((run.error as ConfigError).path).toBe('options.pageSize');
  });
});

describe('deepomatic.open-work-orders poll source under runPoll', () => {
  let flowCounter = 0;
  const makeFlow = (options: DeepomaticOpenWorkOrdersPollOptions = {}) =>
    defineFlow({
      id: `deepomatic-open-test-${flowCounter++}`,
      description: 'test',
      vendors: ['deepomatic'],
      config: z.object({}),
      triggers: [
        {
          kind: 'schedule',
          source: deepomaticOpenWorkOrdersPollSource,
          everyMinutes: () => 5,
          options: () => options,
        },
      ],
      setup: () => undefined,
      on: {},
    });

  /** A queue whose `send` throws on the calls listed in `failOn` (1-based); records every attempt. */
  function flakyQueue(failOn: number[] = []) {
    let calls = 0;
    const attempted: FlowEvent[][] = [];
    const sent: FlowEvent[] = [];
    const queue: EventQueue = {
      async send(_url, events) {
        calls++;
        attempted.push([...events]);
        if (failOn.includes(calls)) throw new Error('queue unavailable');
        sent.push(...events);
      },
    };
    return { queue, attempted, sent };
  }

  async function run(flow: ReturnType<typeof makeFlow>, queue: EventQueue) {
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const env = testEnv(store, { now: () => h.clock.now() });
    return runPoll({
      flow,
      trigger,
      config: {},
      env,
      queue,
      queueUrl: 'q',
      deps: { client, members: store },
    });
  }

  it('a crash before enqueue repeats nothing and loses nothing', async () => {
    const a = await follow('A');
    const gone = await follow('GONE');
    await client.deleteWorkOrder(gone);
    const flow = makeFlow();
    const key = `${flow.id}#deepomatic.open-work-orders`;

    const crashed = flakyQueue([1]);
    await expect(run(flow, crashed.queue)).rejects.toThrow('queue unavailable');
    expect(crashed.sent).toEqual([]);
    expect(await store.loadPollState(key)).toBeUndefined();
    // The deleted work order is still followed: its event was not enqueued.
    expect((await members()).sort()).toEqual([a, gone].sort());
    const attemptedIds = crashed.attempted[0]?.map((e) => e.id) ?? [];
    expect(attemptedIds).toHaveLength(2);

    const retry = flakyQueue();
    expect(await run(flow, retry.queue)).toMatchObject({ steps: 1, events: 2 });
    expect(retry.sent.map((e) => e.id)).toEqual(attemptedIds);
    expect(await members()).toEqual([a]);
    expect(
      Object.keys((await store.loadPollState<DeepomaticOpenWorkOrdersPollState>(key))?.data.seen ?? {}),
    ).toEqual([a]);

    const quiet = flakyQueue();
    expect(await run(flow, quiet.queue)).toMatchObject({ steps: 1, events: 0 });
    expect(quiet.sent).toEqual([]);

    h.clock.advance(60_000);
    const next = flakyQueue();
    await run(flow, next.queue);
    expect(changed(next.sent).map((d) => d.progressScore)).toEqual([20]);
  });

  it('an unreadable work order gets a run-log entry and a count at each run, and fails nothing', async () => {
    const a = await follow('A');
    await follow('B');
    const flow = makeFlow();
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const env = testEnv(store, { now: () => h.clock.now() });
    const unreadable: Pick<DeepomaticClient, 'getWorkOrder'> = {
      getWorkOrder: async (id) => {
        if (id === a)
          throw new VendorResponseError('deepomatic', 'getWorkOrder', 'tasks[0].name', 'expected string');
        return client.getWorkOrder(id);
      },
    };
    const deps = { client: unreadable, members: store };
    const first = await runPoll({
      flow,
      trigger,
      config: {},
      env,
      queue: flakyQueue().queue,
      queueUrl: 'q',
      deps,
    });
    expect(first).toMatchObject({ events: 1, skipped: 1 });
    expect(first.summaries).toEqual([
      'page 1: 2 open work orders listed, 1 changed, 0 deleted; 1 record skipped',
    ]);
    h.clock.advance(60_000);
    const second = await runPoll({
      flow,
      trigger,
      config: {},
      env,
      queue: flakyQueue().queue,
      queueUrl: 'q',
      deps,
    });
    expect(second).toMatchObject({ skipped: 1 });
    const runs = await store.listRuns(flow.id);
    expect(runs.map((r) => [r.outcome, r.eventId])).toEqual([
      ['skipped', `deepomatic.open-work-orders:${a}`],
      ['skipped', `deepomatic.open-work-orders:${a}`],
    ]);
    expect(runs[0]?.message).toBe(
      `Deepomatic work order ${a} skipped: tasks[0].name: expected string; its upkeep work order A waits: not judged while unreadable (since ${T0}), read again at every poll`,
    );
  });

  it('a crash on a later page keeps the pages already enqueued and repeats only the failed one', async () => {
    for (const n of [1, 2, 3]) await follow(`WO${n}`);
    const flow = makeFlow({ pageSize: 2 });
    const crashed = flakyQueue([2]);
    await expect(run(flow, crashed.queue)).rejects.toThrow('queue unavailable');
    expect(crashed.sent).toHaveLength(2);
    const retry = flakyQueue();
    await run(flow, retry.queue);
    expect(retry.sent.map((e) => e.id)).toEqual(crashed.attempted[1]?.map((e) => e.id));
    expect(new Set([...crashed.sent, ...retry.sent].map((e) => e.id)).size).toBe(3);
  });
});
