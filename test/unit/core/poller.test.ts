import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { defineFlow, type PollSource } from '../../../functions/core/flow.ts';
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
    handle: async () => ({ outcome: 'done', message: '' }),
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
});
