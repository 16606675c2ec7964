/**
 * The worker's own retries (issue 9, issue 13): a failed event stays on its queue and is made visible
 * again after a delay (ChangeMessageVisibility): transient failures back off exponentially or by the
 * vendor's Retry-After until the retry horizon has passed, then go to the DLQ; events held by an open
 * circuit breaker spend no attempt; waits end parked as needs-attention; poison goes to the DLQ at
 * once; records of one subject in a batch run in order. The queue is played by a small model: each
 * message keeps its receive count and first-receive time, and a redelivery moves a fake wall clock
 * by the delay the worker asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { MobilityWorkBulkError } from '../../../functions/connectors/mobility-work/errors.ts';
import {
  AmbiguousWriteError,
  CircuitOpenError,
  ClaimBusyError,
  NeedsAttentionError,
  NotReadyError,
  VendorHttpError,
} from '../../../functions/core/errors.ts';
import { type AnyFlow, defineFlow, type FlowEvent, type FlowResult } from '../../../functions/core/flow.ts';
import { RateLimitedError } from '../../../functions/core/rate-limit.ts';
import { emfMetrics } from '../../../functions/runtime/metrics.ts';
import { backoffSeconds, type RetrySettings } from '../../../functions/runtime/retry.ts';
import { createWorker, type DelaySender } from '../../../functions/runtime/worker.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';
import { onEach, testTrigger } from '../../support/flows.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const RETRY: RetrySettings = {
  baseDelaySeconds: 10,
  maxDelaySeconds: 900,
  horizonSeconds: 3600,
  waitBudgetSeconds: 600,
};

type Handle = (event: FlowEvent, attempt: number) => Promise<FlowResult>;

/** The event types the tests send. */
const TYPES = ['test.event', 'machinemetrics.downtime.started', 'mobility-work.TaskWasCompleted'];

/** A flow whose handler is the test's; `attempt` counts calls per event id. */
function testFlow(id: string, handle: Handle): AnyFlow {
  const calls = new Map<string, number>();
  return defineFlow({
    id,
    description: 'test',
    vendors: ['upkeep'],
    config: z.object({}),
    triggers: [testTrigger(TYPES)],
    setup: () => undefined,
    on: onEach(TYPES, async (event: FlowEvent) => {
      const attempt = (calls.get(event.id) ?? 0) + 1;
      calls.set(event.id, attempt);
      return handle(event, attempt);
    }),
  });
}

interface Delayed {
  receiptHandle: string;
  delaySeconds: number;
}

const START = Date.parse('2026-11-02T09:00:00.000Z');

function setup(
  id: string,
  handle: Handle,
  options: {
    retry?: Partial<RetrySettings>;
    delayFails?: boolean;
    removeFails?: boolean;
    maxReceiveCount?: number;
  } = {},
) {
  const delayed: Delayed[] = [];
  const removed: string[] = [];
  const deadLettered: { body: string; reason: string }[] = [];
  const metricLines: string[] = [];
  // The wall clock SQS's timestamps are compared with; a redelivery moves it by the delay asked for.
  let wall = START;
  // The run log's clock moves a second per reading, which keeps its entries in order.
  let now = START;
  const tick = () => {
    now += 1000;
    return new Date(now);
  };
  const env = testEnv(t.store(), { now: tick });
  const delay: DelaySender = async (receiptHandle, delaySeconds) => {
    if (options.delayFails) throw new Error('SQS unreachable');
    delayed.push({ receiptHandle, delaySeconds });
  };
  const worker = createWorker({
    flow: testFlow(id, handle),
    config: {},
    env,
    maxReceiveCount: options.maxReceiveCount ?? 3,
    deadLetter: async (body, reason) => {
      deadLettered.push({ body, reason });
    },
    delay,
    remove: async (receiptHandle) => {
      if (options.removeFails) throw new Error('SQS unreachable');
      removed.push(receiptHandle);
    },
    wallNow: () => wall,
    retry: { ...RETRY, ...options.retry },
    metrics: emfMetrics((line) => metricLines.push(line), env.now),
    random: () => 1,
  });
  /** One SQS message: its receive count and first-receive time, as SQS keeps them. */
  const message = (text: string, attributes: Record<string, string> = {}) => {
    let receiveCount = 0;
    const firstReceivedAt = wall;
    const deliver = () => {
      receiveCount += 1;
      return worker.processRecord(text, {
        receiveCount,
        attributes,
        receiptHandle: `rh-${receiveCount}`,
        firstReceivedAt,
      });
    };
    return {
      deliver,
      /** Deliver it again once the delay the worker last asked for is over. */
      redeliver: () => {
        const last = delayed.at(-1);
        if (!last) throw new Error('nothing was delayed');
        wall += last.delaySeconds * 1000;
        return deliver();
      },
      get receiveCount() {
        return receiveCount;
      },
    };
  };
  const advance = (seconds: number) => {
    wall += seconds * 1000;
  };
  const runs = async () => (await env.state.listRuns(id, 100)).reverse();
  return { worker, env, delayed, deadLettered, removed, metricLines, message, advance, runs };
}

const body = (overrides: Partial<FlowEvent> = {}) => JSON.stringify(flowEvent(overrides));
const delays = (delayed: Delayed[]) => delayed.map((d) => d.delaySeconds);
const fail503 = async (): Promise<FlowResult> => {
  throw new VendorHttpError('upkeep', 'createWorkOrder', 503, 'maintenance');
};

describe('backoff across deliveries (ChangeMessageVisibility)', () => {
  it('three 500s in a row do not dead-letter: each waits twice as long as the last, on the same message, and the fourth attempt succeeds', async () => {
    const { delayed, deadLettered, message, runs, env } = setup('flow-500s', async (_e, n) => {
      if (n <= 3) throw new VendorHttpError('upkeep', 'createWorkOrder', 500, 'internal error');
      return { outcome: 'done', message: 'work order WO-1', effects: { workOrderId: 'WO-1' } };
    });
    const m = message(body({ id: 'evt-500' }));
    expect((await m.deliver()).outcome).toBe('retrying');
    expect((await m.redeliver()).outcome).toBe('retrying');
    expect((await m.redeliver()).outcome).toBe('retrying');
    expect((await m.redeliver()).outcome).toBe('done');
    expect(deadLettered).toEqual([]);
    expect(delays(delayed)).toEqual([10, 20, 40]);
    // The delivery in hand is the one delayed: nothing is re-sent.
    expect(delayed.map((d) => d.receiptHandle)).toEqual(['rh-1', 'rh-2', 'rh-3']);
    const logged = await runs();
    expect(logged.map((r) => r.outcome)).toEqual(['retrying', 'retrying', 'retrying', 'done']);
    expect(logged[2]?.message).toBe(
      'attempt 3 failed: VendorHttpError: upkeep createWorkOrder failed with HTTP 500: internal error; next in 40s (30s of its 1h retry horizon)',
    );
    expect(env.log.lines.find((l) => l.message.startsWith('flow-500s: retrying:'))?.level).toBe('warn');
  });

  it("the delays grow exponentially with equal jitter up to the cap, and never past SQS's 12 h visibility limit", () => {
    const settings = { baseDelaySeconds: 10, maxDelaySeconds: 43_200 };
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, settings, () => 1))).toEqual([10, 20, 40, 80, 160]);
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, settings, () => 0))).toEqual([5, 10, 20, 40, 80]);
    // 10 * 2^20 s is far past 12 h: the delay stops at 11 h 45 m (12 h from the receive, less a
    // Lambda's longest run), and never reaches 12 h.
    expect(backoffSeconds(21, settings, () => 1)).toBe(42_300);
    expect(backoffSeconds(200, settings, () => 1)).toBe(42_300);
  });

  it("honours the vendor's Retry-After on a 429, and backs off from the attempt count after it", async () => {
    const { delayed, message } = setup('flow-429', async (_e, n) => {
      if (n === 1)
        throw new VendorHttpError('upkeep', 'createWorkOrder', 429, 'slow down', { retryAfterMs: 42_500 });
      if (n === 2) throw new AmbiguousWriteError('upkeep', 'createWorkOrder');
      return { outcome: 'done', message: 'ok' };
    });
    const m = message(body({ id: 'evt-429' }));
    await m.deliver();
    expect(delays(delayed)).toEqual([43]);
    expect((await m.redeliver()).outcome).toBe('retrying');
    // The second failed attempt backs off from the base (the Retry-After was the vendor's).
    expect(delays(delayed)).toEqual([43, 20]);
    expect((await m.redeliver()).outcome).toBe('done');
  });

  it('caps a Retry-After at the longest delay configured', async () => {
    const { delayed, message } = setup(
      'flow-429-long',
      async () => {
        throw new VendorHttpError('upkeep', 'createWorkOrder', 429, 'slow down', { retryAfterMs: 3_600_000 });
      },
      { retry: { maxDelaySeconds: 120 } },
    );
    await message(body({ id: 'evt-429-long' })).deliver();
    expect(delays(delayed)).toEqual([120]);
  });

  it("honours the rate limiter's come-back time (Click Maint's 429 with a retry-after too long to wait in-process), not the short backoff", async () => {
    const { delayed, message } = setup('flow-rate-limited', async (_e, n) => {
      if (n === 1) {
        throw new RateLimitedError(
          'click-maint:app.clickmaint.com',
          150_000,
          'click-maint createWorkOrder: rate limited (HTTP 429); retry in 150000 ms',
        );
      }
      return { outcome: 'done', message: 'ok' };
    });
    const m = message(body({ id: 'evt-rate-limited' }));
    expect((await m.deliver()).outcome).toBe('retrying');
    // Back when the bucket's pause ends, not after 10 s into a limiter that is still paused.
    expect(delays(delayed)).toEqual([150]);
    expect((await m.redeliver()).outcome).toBe('done');
  });

  it('honours a Retry-After carried as the cause of a wrapping error (a split Mobility Work bulk write whose second request got a 503)', async () => {
    const { delayed, message } = setup('flow-503-wrapped', async () => {
      const refused = new VendorHttpError('mobility-work', 'stockMovements', 503, 'maintenance', {
        retryAfterMs: 90_000,
      });
      throw new MobilityWorkBulkError('stockMovements', { requests: 1, items: 10 }, 10, 20, refused);
    });
    await message(body({ id: 'evt-503-wrapped' })).deliver();
    expect(delays(delayed)).toEqual([90]);
  });

  it('retries until the horizon has passed, with one attempt on the horizon, and only then dead-letters with the reason', async () => {
    const { delayed, deadLettered, message, runs } = setup('flow-outage', fail503, {
      retry: { horizonSeconds: 100 },
    });
    const m = message(body({ id: 'evt-outage' }));
    const outcomes = [(await m.deliver()).outcome];
    while (deadLettered.length === 0 && outcomes.length < 20) outcomes.push((await m.redeliver()).outcome);
    // 10 + 20 + 40 = 70 s; the next backoff (80 s) would pass the horizon: cut to 30 s, so the last
    // attempt falls on it (age 100 s), and that attempt's failure is the one that dead-letters.
    expect(delays(delayed)).toEqual([10, 20, 40, 30]);
    expect(outcomes).toEqual(['retrying', 'retrying', 'retrying', 'retrying', 'dead-lettered']);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]?.reason).toMatch(/^retry horizon passed: VendorHttpError: .*HTTP 503/);
    expect(deadLettered[0]?.body).toBe(body({ id: 'evt-outage' }));
    expect((await runs()).at(-1)?.message).toMatch(
      /^gave up after 5 failed attempts over 1m 40s \(retry horizon 1m 40s\), moved to the dead-letter queue/,
    );
  });

  it('a horizon of hours outlasts a small receive count: an outage of 5 hours ends with the event done, not in the DLQ', async () => {
    let upAt = 0;
    const { deadLettered, message, delayed } = setup(
      'flow-long-outage',
      async () => {
        if (upAt === 0) throw new VendorHttpError('upkeep', 'createWorkOrder', 503, 'down');
        return { outcome: 'done', message: 'ok' };
      },
      { retry: { horizonSeconds: 24 * 3600, maxDelaySeconds: 3600 } },
    );
    const m = message(body({ id: 'evt-5h' }));
    await m.deliver();
    let waited = 0;
    while (waited < 5 * 3600) {
      expect((await m.redeliver()).outcome).toBe('retrying');
      waited = delays(delayed).reduce((a, b) => a + b, 0);
    }
    upAt = waited;
    expect((await m.redeliver()).outcome).toBe('done');
    expect(deadLettered).toEqual([]);
    // Far more deliveries than the 3 an unexpected error is allowed: transient failures count time.
    expect(m.receiveCount).toBeGreaterThan(10);
  });

  it('a non-retryable failure goes to the dead-letter queue on the first failure, with its reason', async () => {
    const { delayed, deadLettered, message, runs } = setup('flow-404', async () => {
      throw new VendorHttpError('upkeep', 'getWorkOrder', 404, 'work order WO-9 does not exist');
    });
    expect((await message(body({ id: 'evt-404' })).deliver()).outcome).toBe('dead-lettered');
    expect(delayed).toEqual([]);
    expect(deadLettered[0]?.reason).toMatch(/HTTP 404: work order WO-9 does not exist/);
    expect((await runs())[0]?.message).toMatch(/^not retryable, moved to the dead-letter queue on attempt 1/);
  });

  it('an unexpected error (a bug) is retried with backoff, then dead-lettered after maxReceiveCount failed attempts', async () => {
    const { delayed, deadLettered, message, runs } = setup('flow-bug', async () => {
      throw new TypeError("cannot read properties of undefined (reading 'id')");
    });
    const m = message(body({ id: 'evt-bug' }));
    expect((await m.deliver()).outcome).toBe('retrying');
    expect((await m.redeliver()).outcome).toBe('retrying');
    expect((await m.redeliver()).outcome).toBe('dead-lettered');
    expect(delays(delayed)).toEqual([10, 20]);
    expect(deadLettered[0]?.reason).toBe(
      "unexpected error: TypeError: cannot read properties of undefined (reading 'id')",
    );
    expect((await runs()).map((r) => r.outcome)).toEqual(['failed', 'failed', 'dead-lettered']);
  });

  it('a throttled state-table request (provisioned capacity under a burst) is retried past maxReceiveCount until capacity catches up, not dead-lettered', async () => {
    // What the SDK throws once its own retries are spent, here wrapped by a flow's own error.
    const throttled = () =>
      Object.assign(new Error('The level of configured provisioned throughput for the table was exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      });
    const { delayed, deadLettered, message, runs } = setup('flow-throttled', async (_e, n) => {
      if (n === 1) throw throttled();
      if (n <= 5) throw new Error('could not save the episode', { cause: throttled() });
      return { outcome: 'done', message: 'ok' };
    });
    const m = message(body({ id: 'evt-throttled' }));
    const outcomes = [(await m.deliver()).outcome];
    for (let i = 0; i < 5; i++) outcomes.push((await m.redeliver()).outcome);
    expect(outcomes).toEqual(['retrying', 'retrying', 'retrying', 'retrying', 'retrying', 'done']);
    expect(deadLettered).toEqual([]);
    expect(delays(delayed)).toEqual([10, 20, 40, 80, 160]);
    expect((await runs())[0]?.message).toMatch(/^attempt 1 failed: .*ProvisionedThroughputExceededException/);
  });

  it('a replay of a dead-lettered event (a new message) counts its attempts afresh', async () => {
    const { delayed, message, advance } = setup('flow-replayed', fail503, { retry: { horizonSeconds: 100 } });
    const first = message(body({ id: 'evt-again' }));
    await first.deliver();
    await first.redeliver();
    await first.redeliver();
    expect(delays(delayed)).toEqual([10, 20, 40]);
    advance(3600);
    const replay = message(body({ id: 'evt-again' }));
    await replay.deliver();
    expect(delays(delayed).at(-1)).toBe(10);
  });

  it('falls back to SQS (throws) when the delay cannot be set, so nothing is lost', async () => {
    const { message, runs } = setup(
      'flow-delay-down',
      async () => {
        throw new VendorHttpError('upkeep', 'createWorkOrder', 502, 'bad gateway');
      },
      { delayFails: true },
    );
    await expect(message(body({ id: 'evt-x' })).deliver()).rejects.toThrow(/HTTP 502/);
    expect((await runs()).map((r) => r.outcome)).toEqual(['failed']);
  });

  it('an event redelivered past its horizon (every earlier delivery died) is dead-lettered before it runs again', async () => {
    let calls = 0;
    const { worker, deadLettered } = setup(
      'flow-crash-loop',
      async () => {
        calls += 1;
        return { outcome: 'done', message: 'ok' };
      },
      { retry: { horizonSeconds: 600 } },
    );
    // First delivered 1,600 s ago (past the horizon by more than a Lambda's longest run, 900 s, so no
    // put-off of the worker's ended this late): deliveries 1-3 died before the worker answered.
    const result = await worker.processRecord(body({ id: 'evt-crash' }), {
      receiveCount: 4,
      receiptHandle: 'rh-4',
      firstReceivedAt: START - 1_600_000,
    });
    expect(result.outcome).toBe('dead-lettered');
    expect(calls).toBe(0);
    expect(deadLettered[0]?.reason).toMatch(
      /^not completed within its retry horizon \(10m\) after 3 deliveries/,
    );
  });

  it('an event re-sent by an earlier version keeps its first-seen time: the horizon is not restarted', async () => {
    const { deadLettered, message } = setup('flow-legacy', fail503, { retry: { horizonSeconds: 3600 } });
    const firstSeen = new Date(START - 2 * 3600 * 1000).toISOString();
    const m = message(body({ id: 'evt-legacy' }), {
      retryHistory: JSON.stringify({
        firstSeen,
        waits: 0,
        waitedSeconds: 0,
        retries: 4,
        retriedSeconds: 150,
      }),
    });
    expect((await m.deliver()).outcome).toBe('dead-lettered');
    expect(deadLettered[0]?.reason).toMatch(/^retry horizon passed/);
  });
});

describe('held while the circuit breaker is open', () => {
  const open = (ms: number) =>
    new CircuitOpenError('upkeep:api.onupkeep.com', ms, 'UpKeep (api.onupkeep.com) is failing; circuit open');

  it('keeps the event body on the first entry and the final one, not on the put-offs of later deliveries', async () => {
    const { message, env } = setup('flow-held-body', async (_e, n) => {
      if (n <= 3) throw open(30_000);
      return { outcome: 'done', message: 'ok' };
    });
    const m = message(body({ id: 'evt-held-body' }));
    await m.deliver();
    for (let i = 0; i < 3; i++) await m.redeliver();
    const page = await env.state.queryRuns({ eventId: 'evt-held-body', limit: 10 });
    const oldestFirst = [...page.entries].reverse();
    expect(oldestFirst.map((e) => [e.outcome, e.eventBody !== undefined])).toEqual([
      ['held', true],
      ['held', false],
      ['held', false],
      ['done', true],
    ]);
  });

  it('holds the event until the probe without spending an attempt: the first real failure after the holds backs off from the base', async () => {
    const { delayed, deadLettered, message, runs } = setup('flow-held', async (_e, n) => {
      if (n <= 3) throw open(30_000);
      if (n === 4) throw new VendorHttpError('upkeep', 'createWorkOrder', 500, 'internal error');
      return { outcome: 'done', message: 'ok' };
    });
    const m = message(body({ id: 'evt-held' }));
    const outcomes = [(await m.deliver()).outcome];
    for (let i = 0; i < 4; i++) outcomes.push((await m.redeliver()).outcome);
    expect(outcomes).toEqual(['held', 'held', 'held', 'retrying', 'done']);
    // Held until the probe (30 s) plus up to half as much again (random() = 1 here): 45 s. Then the
    // first failed attempt: 10 s, as if the holds had not happened.
    expect(delays(delayed)).toEqual([45, 45, 45, 10]);
    expect(deadLettered).toEqual([]);
    const held = (await runs()).find((r) => r.outcome === 'held');
    expect(held?.message).toMatch(
      /^held: UpKeep \(api\.onupkeep\.com\) is failing; circuit open; back in 45s, not counted as an attempt/,
    );
  });

  it('goes to the DLQ once the horizon has passed while held', async () => {
    const { deadLettered, message } = setup(
      'flow-held-long',
      async () => {
        throw open(300_000);
      },
      { retry: { horizonSeconds: 1000 } },
    );
    const m = message(body({ id: 'evt-held-long' }));
    const outcomes = [(await m.deliver()).outcome];
    while (deadLettered.length === 0 && outcomes.length < 10) outcomes.push((await m.redeliver()).outcome);
    // 450 + 450 = 900 s held; the next hold is cut to 100 s, so the event is back on the horizon.
    expect(outcomes).toEqual(['held', 'held', 'held', 'dead-lettered']);
    expect(deadLettered[0]?.reason).toMatch(/^retry horizon passed: CircuitOpenError/);
  });
});

describe('waiting', () => {
  it('scenario 10: claim contention never dead-letters: the event waits until the claim is free, then completes', async () => {
    // Another worker holds the claim for the first 6 attempts: more than maxReceiveCount (3).
    const { delayed, deadLettered, message, runs, env } = setup(
      'flow-contention',
      async (_e, n) => {
        if (n <= 6) throw new ClaimBusyError('flow-contention:work-order:ep-1');
        return { outcome: 'duplicate', message: 'the other worker made it' };
      },
      { retry: { waitBudgetSeconds: 3600 } },
    );
    const m = message(body({ id: 'evt-busy' }));
    let last = await m.deliver();
    expect(last.outcome).toBe('waiting');
    for (let i = 0; i < 6; i++) last = await m.redeliver();
    expect(last.outcome).toBe('duplicate');
    expect(deadLettered).toEqual([]);
    expect(delays(delayed)).toEqual([10, 20, 40, 80, 160, 320]);
    const outcomes = (await runs()).map((r) => r.outcome);
    expect(outcomes).toEqual([...Array(6).fill('waiting'), 'duplicate']);
    const [wait] = await runs();
    expect(wait?.message).toMatch(
      /^waiting for another worker to finish flow-contention:work-order:ep-1; try 2 in 10s/,
    );
    const line = env.log.lines.find((l) => l.message.startsWith('flow-contention: waiting:'));
    expect(line?.level).toBe('info');
  });

  it("scenario 12: an event that depends on another flow's result waits, then is parked visibly once the wait budget has passed, naming what it waited for", async () => {
    const { delayed, deadLettered, metricLines, message, runs, env } = setup(
      'flow-not-ready',
      async () => {
        throw new NotReadyError(
          'the UpKeep work order of episode ep-7 (made by flow machinemetrics-downtime)',
        );
      },
      // 10 + 20 + 40 + 80 + 160 = 310 s waited; then 320 s more pass the 400 s budget.
      { retry: { waitBudgetSeconds: 400 } },
    );
    const event = body({ id: 'evt-early', type: 'mobility-work.TaskWasCompleted', subject: 'task-7' });
    const m = message(event);
    expect((await m.deliver()).outcome).toBe('waiting');
    for (let i = 0; i < 5; i++) expect((await m.redeliver()).outcome).toBe('waiting');
    const parked = await m.redeliver();
    expect(parked.outcome).toBe('needs-attention');
    expect(delayed).toHaveLength(6);
    expect(deadLettered).toEqual([]);
    expect(parked.message).toMatch(
      /^needs attention: waited 10m 30s \(7 deliveries\) for the UpKeep work order of episode ep-7 .*longer than the 6m 40s allowed\. Check: whether the UpKeep work order of episode ep-7/,
    );

    const [item] = await env.state.listParked('flow-not-ready');
    expect(item).toMatchObject({
      eventId: 'evt-early',
      eventType: 'mobility-work.TaskWasCompleted',
      subject: 'task-7',
      body: event,
    });
    expect(item?.check).toMatch(/^whether the UpKeep work order of episode ep-7 .* ever happened; replay/);
    const outcomes = (await runs()).map((r) => r.outcome);
    expect(outcomes).toEqual([...Array(6).fill('waiting'), 'needs-attention']);
    expect(env.log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringMatching(/^flow-not-ready: needs attention: waited/),
    ]);
    expect(metricLines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ flow: 'flow-not-ready', NeedsAttention: 1 }),
    ]);
  });
});

describe('parking and poison', () => {
  it('scenario 8: a write nothing can resolve is parked as needs attention: body kept, run-log entry naming what to check, ERROR line, alarm metric, not retried', async () => {
    const { worker, delayed, deadLettered, metricLines, runs, env } = setup('flow-ambiguous', async () => {
      throw new NeedsAttentionError(
        'Mobility Work createTask: outcome unknown after sending and Mobility Work offers no lookup',
        'Mobility Work tasks of asset AssetMill01 created around 08:00 with title "Machine down: MILL 1"',
      );
    });
    const event = body({ id: 'evt-park', type: 'machinemetrics.downtime.started', subject: 'machine-1' });
    const result = await worker.processRecord(event, 1);
    expect(result.outcome).toBe('needs-attention');
    expect(delayed).toEqual([]);
    expect(deadLettered).toEqual([]);
    const [parked] = await env.state.listParked('flow-ambiguous');
    expect(parked).toMatchObject({
      flowId: 'flow-ambiguous',
      eventId: 'evt-park',
      eventType: 'machinemetrics.downtime.started',
      subject: 'machine-1',
      body: event,
      reason: 'Mobility Work createTask: outcome unknown after sending and Mobility Work offers no lookup',
      check:
        'Mobility Work tasks of asset AssetMill01 created around 08:00 with title "Machine down: MILL 1"',
    });
    const [run] = await runs();
    expect(run?.outcome).toBe('needs-attention');
    expect(run?.message).toMatch(/Check: Mobility Work tasks of asset AssetMill01/);
    const error = env.log.lines.find((l) => l.level === 'error');
    expect(error?.message).toMatch(/^flow-ambiguous: needs attention: /);
    expect(error?.extra).toMatchObject({ eventId: 'evt-park', needsAttention: true });
    expect(metricLines).toHaveLength(1);
    expect(JSON.parse(metricLines[0] ?? '{}')._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'Millwright',
      Dimensions: [['flow']],
      Metrics: [{ Name: 'NeedsAttention', Unit: 'Count' }],
    });
  });

  it('lists parked events newest first and clears one', async () => {
    const store = t.store();
    const base = { flowId: 'flow-list', eventType: 't', reason: 'r', check: 'c', body: '{}' };
    await store.parkEvent({ ...base, eventId: 'old', at: '2026-11-02T08:00:00.000Z' });
    const newer = await store.parkEvent({ ...base, eventId: 'new', at: '2026-11-02T09:00:00.000Z' });
    expect((await store.listParked('flow-list')).map((p) => p.eventId)).toEqual(['new', 'old']);
    await store.removeParked('flow-list', newer);
    expect((await store.listParked('flow-list')).map((p) => p.eventId)).toEqual(['old']);
  });

  it('scenario 10: only poison reaches the dead-letter queue: in one batch, contention and 500s stay on the queue (batch item failures, delayed) while the poison message is dead-lettered at once', async () => {
    const { worker, delayed, deadLettered } = setup('flow-poison', async (event) => {
      if (event.id === 'busy') throw new ClaimBusyError('flow-poison:work-order:ep-1');
      if (event.id === 'five-hundred')
        throw new VendorHttpError('upkeep', 'createWorkOrder', 500, 'internal error');
      throw new VendorHttpError('upkeep', 'getWorkOrder', 404, 'work order WO-9 does not exist');
    });
    const record = (messageId: string, id: string, receiveCount: number) =>
      ({
        messageId,
        receiptHandle: messageId,
        body: body({ id, subject: id }),
        attributes: { ApproximateReceiveCount: String(receiveCount) },
        messageAttributes: {},
      }) as unknown as SQSRecord;
    // Whatever their receive count, nothing is dead-lettered for it: the worker decides by time.
    const response = await worker.handler({
      Records: [record('m1', 'busy', 3), record('m2', 'five-hundred', 3), record('m3', 'not-found', 1)],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    expect(deadLettered.map((d) => JSON.parse(d.body).id)).toEqual(['not-found']);
    expect(deadLettered[0]?.reason).toMatch(/HTTP 404/);
    expect(delayed.map((d) => d.receiptHandle).sort()).toEqual(['m1', 'm2']);
  });

  it('a dead-lettered delivery is taken off its queue at once: if the batch then dies, it does not come back to be dead-lettered twice', async () => {
    const { message, deadLettered, removed, advance } = setup('flow-remove', fail503);
    // Poison on its first delivery.
    expect((await message('not json at all').deliver()).outcome).toBe('dead-lettered');
    expect(removed).toEqual(['rh-1']);
    // Past its horizon: dead-lettered, and removed with this delivery's handle.
    const late = message(body({ id: 'evt-late' }));
    await late.deliver();
    advance(RETRY.horizonSeconds + 1);
    expect((await late.redeliver()).outcome).toBe('dead-lettered');
    expect(removed).toEqual(['rh-1', `rh-${late.receiveCount}`]);
    expect(deadLettered).toHaveLength(2);
  });

  it('a dead-letter whose removal fails is still dead-lettered (the batch answer deletes it), with a warning', async () => {
    const { message, deadLettered, removed, env } = setup('flow-remove-fails', fail503, {
      removeFails: true,
    });
    expect((await message('not json at all').deliver()).outcome).toBe('dead-lettered');
    expect(deadLettered).toHaveLength(1);
    expect(removed).toEqual([]);
    expect(
      env.log.lines.some((l) => l.level === 'warn' && /not yet taken off its queue/.test(l.message)),
    ).toBe(true);
  });
});

describe('order within a batch', () => {
  const record = (messageId: string, text: string, attributes: Record<string, string> = {}): SQSRecord =>
    ({
      messageId,
      receiptHandle: messageId,
      body: text,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [k, { dataType: 'String', stringValue: v }]),
      ),
    }) as unknown as SQSRecord;
  const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('scenario 10: an "ended" after its "started" in one batch runs after it, while another machine runs alongside', async () => {
    const trace: string[] = [];
    let otherStarted: () => void = () => undefined;
    const other = new Promise<void>((resolve) => {
      otherStarted = resolve;
    });
    const { worker } = setup('flow-order', async (event) => {
      trace.push(`begin ${event.id}`);
      if (event.id === 'm1-started') {
        // m1's started is slow: it finishes only once machine m2's event has begun (concurrency).
        await Promise.race([other, new Promise((r) => setTimeout(r, 2000).unref())]);
        for (let i = 0; i < 5; i++) await tick();
      }
      if (event.subject === 'm2') otherStarted();
      trace.push(`end ${event.id}`);
      return { outcome: 'done', message: event.id };
    });
    const response = await worker.handler(
      batch(
        record('a', body({ id: 'm1-started', subject: 'm1' })),
        record('b', body({ id: 'm1-ended', subject: 'm1' })),
        record('c', body({ id: 'm2-started', subject: 'm2' })),
      ),
    );
    expect(response.batchItemFailures).toEqual([]);
    const at = (line: string) => trace.indexOf(line);
    expect(at('end m1-started')).toBeLessThan(at('begin m1-ended'));
    // Different subjects are not serialised: m2 began while m1's started was still running.
    expect(at('begin m2-started')).toBeLessThan(at('end m1-started'));
  });

  it('scenario 10: when the "started" must be retried, the "ended" of the same machine is put off behind it, not run first', async () => {
    const handled: string[] = [];
    const { worker, delayed, runs } = setup('flow-behind', async (event, n) => {
      handled.push(event.id);
      if (event.id === 'm1-started' && n === 1) {
        throw new VendorHttpError('upkeep', 'createWorkOrder', 500, 'internal error');
      }
      return { outcome: 'done', message: event.id };
    });
    const response = await worker.handler(
      batch(
        record('a', body({ id: 'm1-started', subject: 'm1' }), { eventId: 'm1-started' }),
        record('b', body({ id: 'm1-ended', subject: 'm1' }), { eventId: 'm1-ended' }),
        record('c', body({ id: 'm2-started', subject: 'm2' })),
      ),
    );
    // Both stay on the queue: the ended one second after the started, so it comes back after it.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }]);
    expect(handled).toEqual(['m1-started', 'm2-started']);
    expect(delayed.map((d) => [d.receiptHandle, d.delaySeconds])).toEqual([
      ['a', 10],
      ['b', 11],
    ]);
    const behind = (await runs()).find((r) => r.eventId === 'm1-ended');
    expect(behind?.outcome).toBe('waiting');
    expect(behind?.message).toMatch(/^waiting for earlier event m1-started of the same subject \(m1\)/);
  });

  it("two subjects interleaved in one batch, the first record of one retrying: the other runs all its records in order, the failing one's later records are kept on the queue behind it in order, none lost", async () => {
    const handled: string[] = [];
    const { worker, delayed, runs } = setup('flow-interleaved', async (event) => {
      handled.push(event.id);
      if (event.id === 'a1') throw new VendorHttpError('upkeep', 'createWorkOrder', 503, 'unavailable');
      return { outcome: 'done', message: event.id };
    });
    const response = await worker.handler(
      batch(
        record('ra1', body({ id: 'a1', subject: 'a' })),
        record('rb1', body({ id: 'b1', subject: 'b' })),
        record('ra2', body({ id: 'a2', subject: 'a' })),
        record('rb2', body({ id: 'b2', subject: 'b' })),
        record('ra3', body({ id: 'a3', subject: 'a' })),
      ),
    );
    expect(handled.filter((id) => id.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(handled).not.toContain('a2');
    expect(handled).not.toContain('a3');
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'ra1' },
      { itemIdentifier: 'ra2' },
      { itemIdentifier: 'ra3' },
    ]);
    // Each comes back after the one ahead of it.
    expect(delayed.map((d) => [d.receiptHandle, d.delaySeconds])).toEqual([
      ['ra1', 10],
      ['ra2', 11],
      ['ra3', 12],
    ]);
    const outcomes = Object.fromEntries((await runs()).map((r) => [r.eventId, r.outcome]));
    expect(outcomes).toMatchObject({ a1: 'retrying', a2: 'waiting', a3: 'waiting', b1: 'done', b2: 'done' });
  });

  it('an "ended" behind a "started" held through a long vendor outage waits with it up to the retry horizon, not parked at the wait budget', async () => {
    const handled: string[] = [];
    const { worker, delayed, runs, env } = setup(
      'flow-behind-held',
      async (event) => {
        handled.push(event.id);
        throw new CircuitOpenError('upkeep:api.onupkeep.com', 30_000, 'circuit breaker is open');
      },
      { retry: { horizonSeconds: 24 * 3600, waitBudgetSeconds: 8 * 3600 } },
    );
    // Both came 9 hours ago (a maintenance window of hours) and have come back together ever since.
    const old = (messageId: string, text: string): SQSRecord => {
      const r = record(messageId, text);
      r.attributes = {
        ...r.attributes,
        ApproximateReceiveCount: '40',
        ApproximateFirstReceiveTimestamp: String(START - 9 * 3600 * 1000),
      };
      return r;
    };
    const response = await worker.handler(
      batch(
        old('a', body({ id: 'm1-started', subject: 'm1' })),
        old('b', body({ id: 'm1-ended', subject: 'm1' })),
      ),
    );
    expect(handled).toEqual(['m1-started']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }]);
    expect(delayed.map((d) => d.receiptHandle)).toEqual(['a', 'b']);
    // The outage is not the event's fault: it is kept for the horizon like the held one, not parked.
    expect(await env.state.listParked('flow-behind-held')).toEqual([]);
    const behind = (await runs()).find((r) => r.eventId === 'm1-ended');
    expect(behind?.outcome).toBe('waiting');
  });

  it('reports to SQS the records that stay on the queue, and only those', async () => {
    const { worker } = setup('flow-partial', async (event) => {
      if (event.id === 'bug') throw new TypeError('cannot read properties of undefined');
      if (event.id === 'busy') throw new ClaimBusyError('k');
      return { outcome: 'done', message: 'ok' };
    });
    const response = await worker.handler(
      batch(
        record('m1', body({ id: 'bug', subject: 's1' })),
        record('m2', body({ id: 'busy', subject: 's2' })),
        record('m3', body({ id: 'fine', subject: 's3' })),
      ),
    );
    // The bug and the wait stay on the queue (delayed); the done one is deleted.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
  });
});
