/**
 * The sandbox's event source mapping (sandbox/event-source.ts) on the local SQS: its pollers wake
 * when a message can be received rather than on an interval, and every flow's queue is received on
 * its own, so a slow worker of one flow never holds another flow's events.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, expect, it, jest } from '@jest/globals';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AnyFlow } from '../../functions/core/flow.ts';
import type { Log } from '../../functions/core/log.ts';
import type { Worker } from '../../functions/runtime/worker.ts';
import {
  createEventSourceMapping,
  type EventSourceMapping,
  type MappedFlow,
} from '../../sandbox/event-source.ts';
import { pauseFlags } from '../../sandbox/pause-flags.ts';
import { type LocalSqs, queueDepth, startLocalSqs } from '../../sandbox/sqs.ts';

const HOUR_MS = 3_600_000;
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

let sqs: LocalSqs | undefined;
let mapping: EventSourceMapping | undefined;
afterEach(async () => {
  await mapping?.stop();
  await sqs?.close();
  mapping = undefined;
  sqs = undefined;
});

/** The bodies each worker was handed, and a way to wait for one. */
function recordingWorker(onBatch?: (bodies: string[]) => Promise<void>) {
  const bodies: string[] = [];
  const waiting = new Map<string, () => void>();
  const worker = {
    processRecord: async () => {
      throw new Error('not used');
    },
    handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const batch = event.Records.map((r) => r.body);
      bodies.push(...batch);
      for (const body of batch) waiting.get(body)?.();
      await onBatch?.(batch);
      return { batchItemFailures: [] };
    },
  } as unknown as Worker;
  const handed = (body: string) =>
    bodies.includes(body) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(body, resolve));
  return { worker, bodies, handed };
}

async function flowOn(local: LocalSqs, id: string, worker: Worker): Promise<MappedFlow> {
  const queues = await local.createQueue(id, { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
  return { flow: { id, worker: { batchSize: 10 } } as unknown as AnyFlow, queues, worker };
}

function mappingOf(
  local: LocalSqs,
  flows: MappedFlow[],
  paused = new Set<string>(),
  extra: {
    log?: Log;
    describe?: boolean;
    rewaitMs?: number;
    waitForMessage?: (url: string, signal: AbortSignal) => Promise<void>;
  } = {},
) {
  return createEventSourceMapping({
    sqs: local.client,
    waitForMessage: extra.waitForMessage ?? ((url, signal) => local.waitForMessage(url, signal)),
    flows: () => flows,
    timeoutMs: () => 60_000,
    enqueuedCount: () => 0,
    settleSimulators: async () => undefined,
    // Every interval the mapping has is an hour long: whatever arrives sooner came by an event.
    pauses: pauseFlags({
      read: async (flowId) => paused.has(flowId),
      maxAgeMs: HOUR_MS,
    }),
    pausedRecheckMs: HOUR_MS,
    rewaitMs: extra.rewaitMs ?? HOUR_MS,
    log: extra.log ?? silent,
    ...(extra.describe ? { describeQueue: (url: string) => local.engine.describe(url) } : {}),
  });
}

const send = (local: LocalSqs, queueUrl: string, body: string, delaySeconds = 0) =>
  local.client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds }),
  );

/** `promise`, or a rejection naming `what` after `ms` (a failing test ends instead of hanging). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

it('hands a message sent to an idle queue to its worker at once, not at the next poll interval', async () => {
  sqs = await startLocalSqs();
  const { worker, handed } = recordingWorker();
  const flow = await flowOn(sqs, 'idle', worker);
  mapping = mappingOf(sqs, [flow]);
  await send(sqs, flow.queues.queueUrl, 'first');
  mapping.start();
  await within(handed('first'), 3000, 'the first delivery');
  // The pollers have received once and are idle now; the next message must wake them.
  await send(sqs, flow.queues.queueUrl, 'second');
  await within(handed('second'), 3000, 'the delivery to an idle poller');
  // A delayed message (a worker's retry) is received when its delay ends, by the engine's timer.
  await send(sqs, flow.queues.queueUrl, 'delayed', 1);
  await within(handed('delayed'), 4000, 'the delivery of a delayed message');
});

it('receives every flow queue at once: a slow worker of one flow does not hold another flow', async () => {
  sqs = await startLocalSqs();
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow = recordingWorker(() => held);
  const quick = recordingWorker();
  const slowFlow = await flowOn(sqs, 'slow', slow.worker);
  const quickFlow = await flowOn(sqs, 'quick', quick.worker);
  mapping = mappingOf(sqs, [slowFlow, quickFlow]);
  mapping.start();
  try {
    await send(sqs, slowFlow.queues.queueUrl, 'slow-1');
    await within(slow.handed('slow-1'), 3000, 'the slow flow’s delivery');
    await send(sqs, quickFlow.queues.queueUrl, 'quick-1');
    await within(quick.handed('quick-1'), 3000, 'the other flow’s delivery while the slow worker runs');
    expect(slow.bodies).toEqual(['slow-1']);
  } finally {
    release();
  }
});

it('drain waits for a delayed message and returns when every queue is empty; a paused flow waits', async () => {
  sqs = await startLocalSqs();
  const a = recordingWorker();
  const b = recordingWorker();
  const flowA = await flowOn(sqs, 'a', a.worker);
  const flowB = await flowOn(sqs, 'b', b.worker);
  const paused = new Set(['b']);
  mapping = mappingOf(sqs, [flowA, flowB], paused);
  await send(sqs, flowA.queues.queueUrl, 'now');
  await send(sqs, flowA.queues.queueUrl, 'later', 1);
  await send(sqs, flowB.queues.queueUrl, 'held');
  expect(await mapping.drain({ timeoutMs: 10_000 })).toEqual({ received: 2, failed: 0 });
  expect(a.bodies.sort()).toEqual(['later', 'now']);
  expect(b.bodies).toEqual([]);
  expect((await queueDepth(sqs.client, flowB.queues.queueUrl)).visible).toBe(1);
  // Resumed: an explicit drain reads the flag afresh and wakes the paused pollers.
  paused.delete('b');
  expect(await mapping.drain({ timeoutMs: 10_000 })).toEqual({ received: 1, failed: 0 });
  expect(b.bodies).toEqual(['held']);
});

it('a drain that times out names the queue and each message left, and a crashed invocation is logged', async () => {
  sqs = await startLocalSqs();
  const errors: string[] = [];
  const log = {
    ...silent,
    error: (message: string) => {
      errors.push(message);
    },
  } as Log;
  const crashing = {
    processRecord: async () => {
      throw new Error('not used');
    },
    handler: async (): Promise<SQSBatchResponse> => {
      throw new Error('worker blew up');
    },
  } as unknown as Worker;
  const flow = await flowOn(sqs, 'stuck', crashing);
  mapping = mappingOf(sqs, [flow], new Set(), { log, describe: true });
  await send(sqs, flow.queues.queueUrl, 'poison');
  // The crash fails the batch; the message stays in flight for the queue's 30 s visibility timeout.
  const error = await mapping.drain({ timeoutMs: 300 }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error?.message).toMatch(
    /did not drain within 300 ms \(0 invocations running, 1 messages left: stuck: \S+ \(received 1 times, in flight, visible in 29\.\d s\); 1 receivers waiting; 1 poller: waiting for a message \(\d+\.\d s\)\)/,
  );
  expect(errors).toEqual([
    expect.stringContaining('stuck: invocation failed its batch of 1: Error: worker blew up'),
  ]);
});

it('a wake-up the engine loses delays a message by rewaitMs, not for good', async () => {
  sqs = await startLocalSqs();
  const local = sqs;
  const { worker, handed } = recordingWorker();
  const flow = await flowOn(local, 'lossy', worker);
  // The engine's first wait never reports the message (a lost wake-up); later waits are the engine's.
  let lost = false;
  const waitForMessage = (url: string, signal: AbortSignal): Promise<void> => {
    if (lost) return local.waitForMessage(url, signal);
    lost = true;
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  };
  mapping = mappingOf(local, [flow], new Set(), { rewaitMs: 200, waitForMessage, describe: true });
  mapping.start();
  await send(local, flow.queues.queueUrl, 'after a lost wake-up');
  await within(handed('after a lost wake-up'), 3000, 'the delivery after a lost wake-up');
  expect(lost).toBe(true);
});

it('a drain that times out says what each poller of a stuck queue is doing', async () => {
  sqs = await startLocalSqs();
  const local = sqs;
  const { worker } = recordingWorker();
  const flow = await flowOn(local, 'deaf', worker);
  // An engine that never wakes this poller, and a poller that never looks again within the drain.
  const waitForMessage = (_url: string, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  mapping = mappingOf(local, [flow], new Set(), { waitForMessage, describe: true });
  await send(local, flow.queues.queueUrl, 'unheard');
  const error = await mapping.drain({ timeoutMs: 300 }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error?.message).toMatch(
    /1 messages left: deaf: \S+ \(received 0 times, visible\); 0 receivers waiting; 1 poller: waiting for a message \(\d+\.\d s\)\)/,
  );
});

it('a paused flow re-reading its flag for days leaves nothing behind in the long-lived signals', async () => {
  sqs = await startLocalSqs();
  const local = sqs;
  const { worker } = recordingWorker();
  const flow = await flowOn(local, 'held', worker);
  // Node 20 keeps every AbortSignal.any composite in its source signals for good: one per recheck
  // of a paused flow (once a second, for as long as it stays paused) would grow without bound.
  const any = jest.spyOn(AbortSignal, 'any');
  let reads = 0;
  let fifthRead = () => {};
  const fifth = new Promise<void>((resolve) => {
    fifthRead = resolve;
  });
  mapping = createEventSourceMapping({
    sqs: local.client,
    waitForMessage: (url, signal) => local.waitForMessage(url, signal),
    flows: () => [flow],
    timeoutMs: () => 60_000,
    enqueuedCount: () => 0,
    settleSimulators: async () => undefined,
    pauses: {
      isPaused: async () => {
        if (++reads === 5) fifthRead();
        return true;
      },
      forget: () => undefined,
    },
    pausedRecheckMs: 50,
    rewaitMs: HOUR_MS,
    log: silent,
  });
  try {
    mapping.start();
    await within(fifth, 3000, 'five reads of the pause flag');
    expect(any).not.toHaveBeenCalled();
  } finally {
    any.mockRestore();
  }
});
