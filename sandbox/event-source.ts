/**
 * The sandbox's event source mapping plays Lambda's SQS trigger: it receives each flow's queue in
 * batches of the flow's size, with as many concurrent invocations as its maximum concurrency, and
 * hands them to the flow's worker. `drain` runs it until every queue is empty; `settle` also waits
 * for the simulators' asynchronous work, until nothing new is enqueued.
 *
 * A paused flow's queue is not received from (as a disabled event source mapping in AWS): its
 * messages wait on the queue until the flow is resumed. `drain` and `settle` count a paused flow's
 * queue as nothing to do, so they return while it still holds messages.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AnyFlow } from '../functions/core/flow.ts';
import type { Log } from '../functions/core/log.ts';
import type { Worker } from '../functions/runtime/worker.ts';
import type { PauseFlags } from './pause-flags.ts';
import { type FlowQueues, pollOnce, queueDepth } from './sqs.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface MappedFlow {
  flow: AnyFlow;
  queues: FlowQueues;
  worker: Worker;
}

export interface EventSourceOptions {
  sqs: SQSClient;
  flows: () => Iterable<MappedFlow>;
  /** Concurrent invocations per flow (default: the flow's `worker.maxConcurrency`, else 1). */
  concurrency?: number;
  /** A worker invocation's timeout for a flow (Lambda's function timeout). */
  timeoutMs: (flow: AnyFlow) => number;
  /** How many events have been enqueued so far (settle stops when it no longer grows). */
  enqueuedCount: () => number;
  /** Resolves when the simulators have no asynchronous work left. */
  settleSimulators: () => Promise<void>;
  /** The flow's pause switch (see pause-flags.ts); none: never paused. */
  pauses?: PauseFlags;
  log: Log;
}

export type Counts = { received: number; failed: number };

export interface EventSourceMapping {
  drain(options?: { timeoutMs?: number }): Promise<Counts>;
  settle(options?: { timeoutMs?: number; maxRounds?: number }): Promise<Counts & { rounds: number }>;
  /** Poll the queues every `intervalMs` in the background. */
  start(intervalMs: number): void;
  /** Stop the background loop and wait for the poll in progress. */
  stop(): Promise<void>;
}

export function createEventSourceMapping(options: EventSourceOptions): EventSourceMapping {
  let busy = false;
  let stopped = false;

  /** The flows whose queues are received from now: every flow but the paused ones. */
  const active = async (): Promise<MappedFlow[]> => {
    const all = [...options.flows()];
    if (!options.pauses) return all;
    const paused = await Promise.all(all.map(({ flow }) => options.pauses?.isPaused(flow.id)));
    return all.filter((_, i) => !paused[i]);
  };

  /** One receive per flow queue (per concurrent invocation), each batch through its worker. */
  const pollQueues = async (): Promise<Counts> => {
    let received = 0;
    let failed = 0;
    for (const { flow, queues, worker } of await active()) {
      // As the event source mapping would: the flow's batch size, and as many concurrent
      // invocations as its maximum concurrency (one by default in the sandbox).
      const invocations = Math.max(1, options.concurrency ?? flow.worker?.maxConcurrency ?? 1);
      const results = await Promise.all(
        Array.from({ length: invocations }, () =>
          pollOnce(
            options.sqs,
            queues,
            worker.handler,
            flow.worker?.batchSize ?? 10,
            options.timeoutMs(flow),
          ),
        ),
      );
      for (const r of results) {
        received += r.received;
        failed += r.failed;
      }
    }
    return { received, failed };
  };

  /** Messages still to process in every queue: visible, in flight and delayed (waiting, retrying). */
  const pending = async (): Promise<number> => {
    let total = 0;
    for (const { queues } of await active()) {
      const d = await queueDepth(options.sqs, queues.queueUrl);
      total += d.visible + d.inFlight + d.delayed;
    }
    return total;
  };

  const drain = async ({ timeoutMs = 60_000 } = {}): Promise<Counts> => {
    const deadline = Date.now() + timeoutMs;
    // An explicit drain obeys the flags as they are now, not as they were a moment ago.
    options.pauses?.forget();
    let received = 0;
    let failed = 0;
    while (Date.now() < deadline) {
      while (busy) await sleep(10);
      busy = true;
      const r = await pollQueues().finally(() => {
        busy = false;
      });
      received += r.received;
      failed += r.failed;
      if (r.received > 0) continue;
      if ((await pending()) === 0) return { received, failed };
      await sleep(100);
    }
    throw new Error(`sandbox queues did not drain within ${timeoutMs} ms`);
  };

  return {
    drain,
    async settle({ timeoutMs = 60_000, maxRounds = 20 } = {}) {
      let received = 0;
      let failed = 0;
      for (let rounds = 1; rounds <= maxRounds; rounds++) {
        const before = options.enqueuedCount();
        const r = await drain({ timeoutMs });
        received += r.received;
        failed += r.failed;
        await options.settleSimulators();
        if (options.enqueuedCount() === before) return { received, failed, rounds };
      }
      throw new Error(`sandbox did not settle within ${maxRounds} rounds (a loop between flows?)`);
    },
    start(intervalMs) {
      const loop = async () => {
        while (!stopped) {
          if (!busy) {
            busy = true;
            await pollQueues()
              .catch((e) => options.log.error(`event source mapping: ${String(e)}`))
              .finally(() => {
                busy = false;
              });
          }
          await sleep(intervalMs);
        }
      };
      void loop();
    },
    async stop() {
      stopped = true;
      while (busy) await sleep(10);
    },
  };
}
