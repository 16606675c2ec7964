/**
 * The worker's own retries (issue 9): waits and transient failures go back on the flow's queue with
 * a delay and their history, never spending the SQS receive count that leads to the DLQ; bounded
 * waits end parked as needs-attention; poison goes to the DLQ at once; records of one subject in a
 * batch run in order. The queue is played by an in-memory list: each re-sent message is delivered
 * again as SQS would deliver it (a new message: receive count 1, its attributes).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import {
  AmbiguousWriteError,
  ClaimBusyError,
  NeedsAttentionError,
  NotReadyError,
  VendorHttpError,
} from '../../../functions/core/errors.ts';
import { type AnyFlow, defineFlow, type FlowEvent, type FlowResult } from '../../../functions/core/flow.ts';
import { emfMetrics } from '../../../functions/runtime/metrics.ts';
import type { RetrySettings } from '../../../functions/runtime/retry.ts';
import { createWorker, type Delivery, type Requeue } from '../../../functions/runtime/worker.ts';
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
  transientBudgetSeconds: 3600,
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

interface Sent {
  body: string;
  delaySeconds: number;
  attributes: Record<string, string>;
}

function setup(
  id: string,
  handle: Handle,
  options: { retry?: Partial<RetrySettings>; requeueFails?: boolean } = {},
) {
  const requeued: Sent[] = [];
  const deadLettered: { body: string; reason: string }[] = [];
  const metricLines: string[] = [];
  // A clock that moves a second per reading keeps the run log in order.
  let now = Date.parse('2026-11-02T09:00:00.000Z');
  const tick = () => {
    now += 1000;
    return new Date(now);
  };
  const env = testEnv(t.store(), { now: tick });
  const requeue: Requeue = async (message) => {
    if (options.requeueFails) throw new Error('SQS unreachable');
    requeued.push(message);
  };
  const worker = createWorker({
    flow: testFlow(id, handle),
    config: {},
    env,
    maxReceiveCount: 3,
    deadLetter: async (body, reason) => {
      deadLettered.push({ body, reason });
    },
    requeue,
    retry: { ...RETRY, ...options.retry },
    metrics: emfMetrics((line) => metricLines.push(line), env.now),
    random: () => 1,
  });
  /** Deliver the last re-sent message again, as SQS would once its delay is over. */
  const redeliver = () => {
    const last = requeued.at(-1);
    if (!last) throw new Error('nothing was re-sent');
    const delivery: Delivery = { receiveCount: 1, attributes: last.attributes };
    return worker.processRecord(last.body, delivery);
  };
  const runs = async () => (await env.state.listRuns(id, 100)).reverse();
  return { worker, env, requeued, deadLettered, metricLines, redeliver, runs };
}

const body = (overrides: Partial<FlowEvent> = {}) => JSON.stringify(flowEvent(overrides));
const history = (sent: Sent | undefined) => JSON.parse(sent?.attributes.retryHistory ?? '{}');

describe('waiting without spending attempts', () => {
  it('scenario 10: claim contention never dead-letters: the event waits (re-sent with a delay) until the claim is free, then completes', async () => {
    // Another worker holds the claim for the first 6 attempts: more than maxReceiveCount (3).
    const { worker, requeued, deadLettered, redeliver, runs, env } = setup(
      'flow-contention',
      async (_e, n) => {
        if (n <= 6) throw new ClaimBusyError('flow-contention:work-order:ep-1');
        return { outcome: 'duplicate', message: 'the other worker made it' };
      },
      { retry: { waitBudgetSeconds: 3600 } },
    );
    const first = await worker.processRecord(body({ id: 'evt-busy' }), 1);
    expect(first.outcome).toBe('waiting');
    let last = first;
    for (let i = 0; i < 6; i++) last = await redeliver();
    expect(last.outcome).toBe('duplicate');
    expect(deadLettered).toEqual([]);
    // Each wait is a new message with the same body; the delays back off; the history counts waits.
    expect(requeued.map((m) => m.body)).toEqual(Array(6).fill(body({ id: 'evt-busy' })));
    expect(requeued.map((m) => m.delaySeconds)).toEqual([10, 20, 40, 80, 160, 320]);
    expect(history(requeued.at(-1))).toMatchObject({ waits: 6, waitedSeconds: 630, retries: 0 });
    const outcomes = (await runs()).map((r) => r.outcome);
    expect(outcomes).toEqual([...Array(6).fill('waiting'), 'duplicate']);
    const [wait] = await runs();
    expect(wait?.message).toMatch(
      /^waiting for another worker to finish flow-contention:work-order:ep-1; retry 1 in 10s/,
    );
    const line = env.log.lines.find((l) => l.message.startsWith('flow-contention: waiting:'));
    expect(line?.level).toBe('info');
  });

  it("scenario 12: an event that depends on another flow's result waits and retries, then is parked visibly after the bound, naming what it waited for", async () => {
    const { worker, requeued, deadLettered, metricLines, redeliver, runs, env } = setup(
      'flow-not-ready',
      async () => {
        throw new NotReadyError(
          'the UpKeep work order of episode ep-7 (made by flow machinemetrics-downtime)',
        );
      },
      // 10 + 20 + 40 + 80 + 160 = 310 s fit in 400 s; the next wait (320 s) does not.
      { retry: { waitBudgetSeconds: 400 } },
    );
    const event = body({ id: 'evt-early', type: 'mobility-work.TaskWasCompleted', subject: 'task-7' });
    expect((await worker.processRecord(event, 1)).outcome).toBe('waiting');
    for (let i = 0; i < 4; i++) expect((await redeliver()).outcome).toBe('waiting');
    const parked = await redeliver();
    expect(parked.outcome).toBe('needs-attention');
    expect(requeued).toHaveLength(5);
    expect(deadLettered).toEqual([]);
    expect(parked.message).toMatch(
      /^needs attention: waited 5m 10s \(5 retries since .*\) for the UpKeep work order of episode ep-7 .*longer than the 6m 40s allowed\. Check: whether the UpKeep work order of episode ep-7/,
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
    expect(outcomes).toEqual([...Array(5).fill('waiting'), 'needs-attention']);
    expect(env.log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringMatching(/^flow-not-ready: needs attention: waited/),
    ]);
    expect(metricLines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ flow: 'flow-not-ready', NeedsAttention: 1 }),
    ]);
  });
});

describe('transient failures', () => {
  it('scenario 10: three 500s in a row do not dead-letter: each is retried with backoff and the fourth attempt succeeds', async () => {
    const { worker, requeued, deadLettered, redeliver, runs, env } = setup('flow-500s', async (_e, n) => {
      if (n <= 3) throw new VendorHttpError('upkeep', 'createWorkOrder', 500, 'internal error');
      return { outcome: 'done', message: 'work order WO-1', effects: { workOrderId: 'WO-1' } };
    });
    expect((await worker.processRecord(body({ id: 'evt-500' }), 1)).outcome).toBe('retrying');
    expect((await redeliver()).outcome).toBe('retrying');
    expect((await redeliver()).outcome).toBe('retrying');
    expect((await redeliver()).outcome).toBe('done');
    expect(deadLettered).toEqual([]);
    expect(requeued.map((m) => m.delaySeconds)).toEqual([10, 20, 40]);
    expect(history(requeued.at(-1))).toMatchObject({ retries: 3, retriedSeconds: 70, waits: 0 });
    const logged = await runs();
    expect(logged.map((r) => r.outcome)).toEqual(['retrying', 'retrying', 'retrying', 'done']);
    expect(logged[2]?.message).toBe(
      'attempt 3 failed: VendorHttpError: upkeep createWorkOrder failed with HTTP 500: internal error; next in 40s',
    );
    expect(env.log.lines.find((l) => l.message.startsWith('flow-500s: retrying:'))?.level).toBe('warn');
  });

  it("honours the vendor's Retry-After on a 429, and retries an ambiguous write (for the flow to look it up)", async () => {
    const { worker, requeued } = setup('flow-429', async (_e, n) => {
      if (n === 1)
        throw new VendorHttpError('upkeep', 'createWorkOrder', 429, 'slow down', { retryAfterMs: 42_500 });
      if (n === 2) throw new AmbiguousWriteError('upkeep', 'createWorkOrder');
      return { outcome: 'done', message: 'ok' };
    });
    await worker.processRecord(body({ id: 'evt-429' }), 1);
    expect(requeued[0]?.delaySeconds).toBe(43);
    const again = await worker.processRecord(requeued[0]?.body ?? '', {
      receiveCount: 1,
      attributes: requeued[0]?.attributes ?? {},
    });
    expect(again.outcome).toBe('retrying');
    // The second retry of the event backs off from the base (the Retry-After was the vendor's).
    expect(requeued[1]?.delaySeconds).toBe(20);
  });

  it('caps a Retry-After at the longest delay the worker may ask for', async () => {
    const { worker, requeued } = setup(
      'flow-429-long',
      async () => {
        throw new VendorHttpError('upkeep', 'createWorkOrder', 429, 'slow down', { retryAfterMs: 3_600_000 });
      },
      { retry: { maxDelaySeconds: 120 } },
    );
    await worker.processRecord(body({ id: 'evt-429-long' }), 1);
    expect(requeued[0]?.delaySeconds).toBe(120);
  });

  it('goes to the dead-letter queue with its reason once the transient budget is spent', async () => {
    const { worker, requeued, deadLettered, redeliver, runs } = setup(
      'flow-outage',
      async () => {
        throw new VendorHttpError('upkeep', 'createWorkOrder', 503, 'maintenance');
      },
      { retry: { transientBudgetSeconds: 60 } },
    );
    await worker.processRecord(body({ id: 'evt-outage' }), 1);
    await redeliver();
    // 10 + 20 = 30 s spent; the next (40 s) would pass 60 s.
    const last = await redeliver();
    expect(last.outcome).toBe('dead-lettered');
    expect(requeued).toHaveLength(2);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]?.reason).toMatch(/^retries exhausted: VendorHttpError: .*HTTP 503/);
    expect(deadLettered[0]?.body).toBe(body({ id: 'evt-outage' }));
    expect((await runs()).at(-1)?.message).toMatch(/^gave up after 3 failed attempts over 30s \(budget 1m\)/);
  });

  it('falls back to SQS (throws) when the event cannot be re-sent, so nothing is lost', async () => {
    const { worker, runs } = setup(
      'flow-requeue-down',
      async () => {
        throw new VendorHttpError('upkeep', 'createWorkOrder', 502, 'bad gateway');
      },
      { requeueFails: true },
    );
    await expect(worker.processRecord(body({ id: 'evt-x' }), 1)).rejects.toThrow(/HTTP 502/);
    expect((await runs()).map((r) => r.outcome)).toEqual(['failed']);
  });
});

describe('parking and poison', () => {
  it('scenario 8: a write nothing can resolve is parked as needs attention: body kept, run-log entry naming what to check, ERROR line, alarm metric, not retried', async () => {
    const { worker, requeued, deadLettered, metricLines, runs, env } = setup('flow-ambiguous', async () => {
      throw new NeedsAttentionError(
        'Mobility Work createTask: outcome unknown after sending and Mobility Work offers no lookup',
        'Mobility Work tasks of asset AssetMill01 created around 08:00 with title "Machine down: MILL 1"',
      );
    });
    const event = body({ id: 'evt-park', type: 'machinemetrics.downtime.started', subject: 'machine-1' });
    const result = await worker.processRecord(event, 1);
    expect(result.outcome).toBe('needs-attention');
    expect(requeued).toEqual([]);
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

  it('scenario 10: only poison reaches the dead-letter queue: in one batch, contention and 500s are re-sent while the poison message is dead-lettered at once', async () => {
    const { worker, requeued, deadLettered } = setup('flow-poison', async (event) => {
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
    // Even on what SQS counts as their last delivery (3 of 3), nothing is left for the redrive.
    const response = await worker.handler({
      Records: [record('m1', 'busy', 3), record('m2', 'five-hundred', 3), record('m3', 'not-found', 1)],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLettered.map((d) => JSON.parse(d.body).id)).toEqual(['not-found']);
    expect(deadLettered[0]?.reason).toMatch(/HTTP 404/);
    expect(requeued.map((m) => JSON.parse(m.body).id).sort()).toEqual(['busy', 'five-hundred']);
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
    const { worker, requeued, runs } = setup('flow-behind', async (event, n) => {
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
    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual(['m1-started', 'm2-started']);
    // Both went back: the ended one second after the started, so it comes back after it.
    expect(requeued.map((m) => [JSON.parse(m.body).id, m.delaySeconds])).toEqual([
      ['m1-started', 10],
      ['m1-ended', 11],
    ]);
    // Attributes that came with the event travel with it; the body is unchanged.
    expect(requeued[1]?.attributes.eventId).toBe('m1-ended');
    expect(requeued[1]?.body).toBe(body({ id: 'm1-ended', subject: 'm1' }));
    const behind = (await runs()).find((r) => r.eventId === 'm1-ended');
    expect(behind?.outcome).toBe('waiting');
    expect(behind?.message).toMatch(/^waiting for earlier event m1-started of the same subject \(m1\)/);
  });

  it('reports to SQS only the records it could not deal with itself', async () => {
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
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });
});
