import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { CircuitOpenError } from '../../../functions/core/errors.ts';
import { defineFlow, type PollSource } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import { flowEvent, recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

/** A source that emits one event per step for steps after the stored counter, up to `until`. */
const counterSource: PollSource<{ until: number }, { n: number }, undefined> = {
  id: 'test.counter',
  vendor: 'machinemetrics',
  events: {},
  stateSchema: z.object({ n: z.number() }),
  connect: () => undefined,
  async *poll({ state, options }) {
    for (let n = (state?.n ?? 0) + 1; n <= options.until; n++) {
      yield { events: [flowEvent({ id: `step-${n}` })], state: { n }, summary: `step ${n}` };
    }
  },
};

const makeFlow = (until: number) =>
  defineFlow({
    id: `poll-test-${until}`,
    description: 'test',
    vendors: [],
    config: z.object({}),
    triggers: [
      { kind: 'schedule', source: counterSource, everyMinutes: () => 5, options: () => ({ until }) },
    ],
    setup: () => undefined,
    on: {},
  });

/**
 * A source over a fixed list of vendor records, one step per record: a record it cannot read is
 * skipped (in the step's `skipped`), and the watermark `n` moves past it like past any other.
 */
const recordsSource: PollSource<{ records: (number | string)[] }, { n: number }, undefined> = {
  id: 'test.records',
  vendor: 'upkeep',
  events: {},
  stateSchema: z.object({ n: z.number() }),
  connect: () => undefined,
  async *poll({ state, options }) {
    for (let n = (state?.n ?? 0) + 1; n <= options.records.length; n++) {
      const value = options.records[n - 1];
      if (typeof value === 'number') {
        yield { events: [flowEvent({ id: `rec-${n}` })], state: { n }, summary: `record ${n}` };
      } else {
        yield {
          events: [],
          state: { n },
          summary: `record ${n}`,
          skipped: [
            {
              kind: 'Test part',
              record: `R-${n}`,
              field: 'quantity',
              message: `expected number (got ${JSON.stringify(value)})`,
              next: 'read again when it changes',
            },
          ],
        };
      }
    }
  },
};

const recordsFlow = (id: string, records: (number | string)[]) =>
  defineFlow({
    id,
    description: 'test',
    vendors: [],
    config: z.object({}),
    triggers: [
      { kind: 'schedule', source: recordsSource, everyMinutes: () => 5, options: () => ({ records }) },
    ],
    setup: () => undefined,
    on: {},
  });

describe('runPoll: records a source could not parse', () => {
  it('reports each skipped record (WARN line, run-log entry, count) and goes on past it', async () => {
    const flow = recordsFlow('poll-skip-a', [1, 'abc', 3]);
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const env = testEnv(t.store());
    const queue = recordingQueue();
    const summary = await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });

    expect(summary).toMatchObject({ steps: 3, events: 2, skipped: 1 });
    expect(summary.summaries).toEqual(['record 1', 'record 2; 1 record skipped', 'record 3']);
    expect(queue.sent.map((s) => s.event.id)).toEqual(['rec-1', 'rec-3']);
    expect((await env.state.loadPollState(`${flow.id}#test.records`))?.data).toEqual({ n: 3 });

    const message =
      'Test part R-2 skipped: quantity: expected number (got "abc"); read again when it changes';
    expect(env.log.lines.filter((l) => l.level === 'warn')).toEqual([
      {
        level: 'warn',
        message: `poll-skip-a/test.records: ${message}`,
        extra: { flow: 'poll-skip-a', source: 'test.records', record: 'R-2', field: 'quantity' },
      },
    ]);
    expect(await env.state.listRuns(flow.id)).toEqual([
      {
        flowId: 'poll-skip-a',
        eventId: 'test.records:R-2',
        eventType: 'test.records.record-skipped',
        outcome: 'skipped',
        message,
        at: '2026-11-02T09:00:00.000Z',
        effects: undefined,
      },
    ]);

    // Nothing is read or reported again.
    const again = await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });
    expect(again).toMatchObject({ steps: 0, events: 0, skipped: 0 });
    expect(await env.state.listRuns(flow.id)).toHaveLength(1);
  });

  it('does not move the watermark past a skipped record it could not report', async () => {
    const flow = recordsFlow('poll-skip-b', [1, 'abc', 3]);
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const store = t.store();
    const failing = Object.assign(Object.create(Object.getPrototypeOf(store)), store) as typeof store;
    failing.appendRun = async () => {
      throw new Error('dynamodb unavailable');
    };
    const env = testEnv(failing);
    await expect(
      runPoll({ flow, trigger, config: {}, env, queue: recordingQueue(), queueUrl: 'q', deps: undefined }),
    ).rejects.toThrow('dynamodb unavailable');
    // Record 1 was handled; the run stopped before saving past record 2.
    expect((await store.loadPollState(`${flow.id}#test.records`))?.data).toEqual({ n: 1 });
  });
});

describe('runPoll', () => {
  it('enqueues each step and then saves its state', async () => {
    const flow = makeFlow(3);
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const env = testEnv(t.store());
    const queue = recordingQueue();
    const summary = await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });
    expect(summary).toMatchObject({ steps: 3, events: 3 });
    expect((await env.state.loadPollState(`${flow.id}#test.counter`))?.data).toEqual({ n: 3 });
    // A second run has nothing new.
    const again = await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });
    expect(again.events).toBe(0);
    expect(queue.sent.map((s) => s.event.id)).toEqual(['step-1', 'step-2', 'step-3']);
  });

  it('does not advance the watermark when enqueueing fails, so the next run repeats the step', async () => {
    const flow = makeFlow(2);
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const env = testEnv(t.store());
    await expect(
      runPoll({
        flow,
        trigger,
        config: {},
        env,
        queue: recordingQueue({ fail: true }),
        queueUrl: 'q',
        deps: undefined,
      }),
    ).rejects.toThrow('queue unavailable');
    expect(await env.state.loadPollState(`${flow.id}#test.counter`)).toBeUndefined();
    const queue = recordingQueue();
    await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });
    expect(queue.sent.map((s) => s.event.id)).toEqual(['step-1', 'step-2']);
  });

  it('fails loudly on corrupt stored state instead of starting over', async () => {
    const flow = makeFlow(1);
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const env = testEnv(t.store());
    await env.state.savePollState(`${flow.id}#test.counter`, { n: 'oops' }, undefined);
    await expect(
      runPoll({ flow, trigger, config: {}, env, queue: recordingQueue(), queueUrl: 'q', deps: undefined }),
    ).rejects.toThrow(/poll state .*\.n/);
  });

  it('ends a tick refused by an open circuit breaker with one WARN line, keeping the watermark', async () => {
    // Step 1 goes through; the vendor's breaker refuses the read of step 2.
    const refusing: PollSource<undefined, { n: number }, undefined> = {
      ...(counterSource as unknown as PollSource<undefined, { n: number }, undefined>),
      async *poll({ state }) {
        if (!state) yield { events: [flowEvent({ id: 'step-1' })], state: { n: 1 }, summary: 'step 1' };
        throw new CircuitOpenError(
          'machinemetrics:api.example',
          30_000,
          'circuit breaker machinemetrics:api.example is open until 08:00:30 (HTTP 503); not sent, retry in 30000 ms',
        );
      },
    };
    const flow = defineFlow({
      id: 'poll-test-breaker',
      description: 'test',
      vendors: [],
      config: z.object({}),
      triggers: [{ kind: 'schedule', source: refusing, everyMinutes: () => 5, options: () => undefined }],
      setup: () => undefined,
      on: {},
    });
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    const log = memoryLog();
    const env = { ...testEnv(t.store()), log };
    const queue = recordingQueue();
    const first = await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });
    expect(first.stoppedBy).toBe('circuit breaker machinemetrics:api.example open');
    // The step before the refusal was saved as usual; the next tick starts after it.
    expect((await env.state.loadPollState(`${flow.id}#test.counter`))?.data).toEqual({ n: 1 });
    const second = await runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: undefined });
    expect(second).toMatchObject({ steps: 0, events: 0 });
    expect((await env.state.loadPollState(`${flow.id}#test.counter`))?.data).toEqual({ n: 1 });
    expect(queue.sent.map((s) => s.event.id)).toEqual(['step-1']);
    const warned = log.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warned.at(-1)).toBe(
      'poll-test-breaker/test.counter: not polled this tick: circuit breaker machinemetrics:api.example is open until 08:00:30 (HTTP 503); not sent, retry in 30000 ms',
    );
    expect(await env.state.lastPollRun(`${flow.id}#test.counter`)).toMatchObject({
      summary: 'held: circuit breaker open',
      error: expect.stringContaining('is open until 08:00:30'),
    });
  });
});
