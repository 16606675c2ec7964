/**
 * The sandbox's event source mapping plays Lambda's SQS trigger: for each flow, as many pollers as
 * the flow's maximum concurrency, every flow's pollers at once (as Lambda's pollers are: one slow
 * worker never holds another flow's events). A poller waits until its queue has a message (the
 * engine tells it: a send, a delay or visibility timeout running out), receives what is there up to
 * the flow's batch size (Lambda's batching window for standard queues is 0: a receive does not wait
 * to fill a batch) and hands it to the flow's worker. Nothing sleeps on a fixed interval; an idle poller
 * looks at its queue again after `rewaitMs` without a wake-up, so one lost wake-up delays a message by
 * seconds, never for good. A drain that times out names what each poller of a stuck queue is doing.
 *
 * `start` runs the pollers in the background; `drain` runs them (or watches the running ones) until
 * every queue is empty and nothing is in flight or delayed; `settle` also waits for the simulators'
 * asynchronous work, until nothing new is enqueued.
 *
 * A paused flow's queue is not received from (as a disabled event source mapping in AWS): its
 * messages wait on the queue until the flow is resumed. The flag is written by another process, so a
 * paused flow's pollers re-read it (at the flag cache's age) rather than wait for an event. `drain`
 * and `settle` count a paused flow's queue as nothing to do, so they return while it holds messages.
 */
import { setMaxListeners } from 'node:events';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AnyFlow } from '../functions/core/flow.ts';
import type { Log } from '../functions/core/log.ts';
import type { Worker } from '../functions/runtime/worker.ts';
import type { PauseFlags } from './pause-flags.ts';
import { type FlowQueues, pollOnce, queueDepth } from './sqs.ts';

export interface MappedFlow {
  flow: AnyFlow;
  queues: FlowQueues;
  worker: Worker;
}

export interface EventSourceOptions {
  sqs: SQSClient;
  /**
   * Resolves when the queue has a message to receive (at once if it has one), or when `signal`
   * aborts, without taking it: the local engine's `waitForMessage`.
   */
  waitForMessage: (queueUrl: string, signal: AbortSignal) => Promise<void>;
  flows: () => Iterable<MappedFlow>;
  /** Concurrent invocations per flow (default: the flow's `worker.maxConcurrency`, else 1). */
  concurrency?: number;
  /** A worker invocation's timeout for a flow (Lambda's function timeout). */
  timeoutMs: (flow: AnyFlow) => number;
  /** How many events have been enqueued so far (settle stops when it no longer grows). */
  enqueuedCount: () => number;
  /** Resolves when the simulators have no asynchronous work left. */
  settleSimulators: () => Promise<void>;
  /** Words on what a queue holds (each message's state), for a drain that times out. */
  describeQueue?: (queueUrl: string) => string;
  /** The flow's pause switch (see pause-flags.ts); none: never paused. */
  pauses?: PauseFlags;
  /** How often a paused flow's pollers re-read its flag (default 1000 ms, the flag cache's age). */
  pausedRecheckMs?: number;
  /**
   * How long an idle poller trusts the engine's wake-up before it looks at its queue again (default
   * 5000 ms): a wake-up lost for whatever reason delays a message by at most this, never for good.
   */
  rewaitMs?: number;
  log: Log;
}

export type Counts = { received: number; failed: number };

/** Where a poller is in its loop (named by a drain that times out). */
type Phase =
  | 'reading the pause flag'
  | 'paused'
  | 'waiting for a message'
  | 'receiving or invoking'
  | 'pausing after an error';

export interface EventSourceMapping {
  drain(options?: { timeoutMs?: number }): Promise<Counts>;
  settle(options?: { timeoutMs?: number; maxRounds?: number }): Promise<Counts & { rounds: number }>;
  /** Run the pollers in the background until `stop`. */
  start(): void;
  /** Stop the pollers and wait for the invocations in progress. */
  stop(): Promise<void>;
}

/**
 * Resolves after `ms`, or at once when one of `signals` aborts. Listens to each rather than to an
 * `AbortSignal.any` of them: Node 20 keeps a reference to every such composite in each long-lived
 * source signal for good, and a paused flow's pollers pause once a second for as long as it stays
 * paused (days, in a sandbox left running).
 */
function pause(ms: number, signals: readonly AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve();
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s.addEventListener('abort', done, { once: true });
  });
}

/** When pollers are idle but messages are still counted (e.g. taken in flight by another client). */
const IDLE_RECHECK_MS = 250;

/** A set of pollers (every flow's), running until its signal aborts. */
interface Session {
  stop: AbortController;
  done: Promise<void>;
}

export function createEventSourceMapping(options: EventSourceOptions): EventSourceMapping {
  // At least 50 ms: a paused flow's pollers must not spin on the table.
  const recheckMs = Math.max(50, options.pausedRecheckMs ?? 1000);
  /** Pollers inside a wake-up: reading the pause flag, receiving, or in an invocation. */
  let busy = 0;
  /** Called on every change a drain waits for: a poller done with a wake-up, a flow found paused. */
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watch of [...watchers]) watch();
  };
  /** Receives each invocation's counts (drains add themselves while they run). */
  const counters = new Set<(c: Counts) => void>();
  /** Wakes the pollers of paused flows to read their flag again (an explicit drain does). */
  let recheck = new AbortController();
  /** Every session whose pollers have not all ended yet: `stop` waits for them all. */
  const sessions = new Set<Session>();
  let background: Session | undefined;
  let drainSession: { session: Session; users: number } | undefined;
  let stopped = false;

  const rewaitMs = Math.max(50, options.rewaitMs ?? 5000);

  /**
   * The engine's `waitForMessage`, given up after `rewaitMs`: true when the queue has a message (or
   * `stop` aborted), false when the wait ran out and the caller should look again.
   */
  const waitForMessage = async (queueUrl: string, stop: AbortSignal): Promise<boolean> => {
    const wait = new AbortController();
    const end = () => wait.abort();
    const timer = setTimeout(end, rewaitMs);
    stop.addEventListener('abort', end, { once: true });
    try {
      await options.waitForMessage(queueUrl, wait.signal);
      return stop.aborted || !wait.signal.aborted;
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', end);
    }
  };

  const isPaused = async (flowId: string): Promise<boolean> =>
    options.pauses ? options.pauses.isPaused(flowId) : false;

  /** What each running poller is doing, and since when (a drain that times out says so). */
  const phases = new Map<symbol, { queueUrl: string; phase: Phase; since: number }>();

  /** One poller: wait for a message, receive a batch, invoke the worker; again until stopped. */
  const poller = async ({ flow, queues, worker }: MappedFlow, stop: AbortSignal): Promise<void> => {
    const batchSize = flow.worker?.batchSize ?? 10;
    const me = Symbol(flow.id);
    const at = (phase: Phase) => phases.set(me, { queueUrl: queues.queueUrl, phase, since: Date.now() });
    try {
      while (!stop.aborted) {
        await wakeUp();
      }
    } finally {
      phases.delete(me);
    }

    async function wakeUp(): Promise<void> {
      try {
        at('reading the pause flag');
        if (await isPaused(flow.id)) {
          notify();
          at('paused');
          await pause(recheckMs, [stop, recheck.signal]);
          return;
        }
        at('waiting for a message');
        while (!(await waitForMessage(queues.queueUrl, stop))) if (stop.aborted) return;
        busy++;
        try {
          at('reading the pause flag');
          // The flag may have been set while the queue was idle.
          if (await isPaused(flow.id)) return;
          at('receiving or invoking');
          const counts = await pollOnce(
            options.sqs,
            queues,
            worker.handler,
            batchSize,
            options.timeoutMs(flow),
            (error, received) =>
              options.log.error(
                `event source mapping: ${flow.id}: invocation failed its batch of ${received}: ${String(error)}`,
              ),
          );
          if (counts.received > 0) for (const count of counters) count(counts);
        } finally {
          busy--;
          notify();
        }
      } catch (error) {
        if (stop.aborted) return;
        options.log.error(`event source mapping: ${flow.id}: ${String(error)}`);
        at('pausing after an error');
        // A failing receive (the engine closing, say) is not retried in a tight loop.
        await pause(recheckMs, [stop]);
      }
    }
  };

  /** The pollers of `queueUrl` and what each is doing, e.g. `1 poller: waiting for a message (12.0 s)`. */
  const pollersOf = (queueUrl: string): string => {
    const now = Date.now();
    const each = [...phases.values()]
      .filter((p) => p.queueUrl === queueUrl)
      .map((p) => `${p.phase} (${((now - p.since) / 1000).toFixed(1)} s)`);
    return each.length === 0
      ? 'no poller'
      : `${each.length} poller${each.length === 1 ? '' : 's'}: ${each.join(', ')}`;
  };

  /** Every flow's pollers: as many per flow as its maximum concurrency, all at once. */
  const startSession = (): Session => {
    const stop = new AbortController();
    // Every poller waits on this one signal (more than Node's default of 10 listeners).
    setMaxListeners(0, stop.signal);
    const pollers: Promise<void>[] = [];
    for (const mapped of options.flows()) {
      const invocations = Math.max(1, options.concurrency ?? mapped.flow.worker?.maxConcurrency ?? 1);
      for (let i = 0; i < invocations; i++) pollers.push(poller(mapped, stop.signal));
    }
    const session: Session = { stop, done: Promise.all(pollers).then(() => undefined) };
    sessions.add(session);
    void session.done.then(() => sessions.delete(session));
    return session;
  };

  /** The flows whose queues are received from now: every flow but the paused ones. */
  const active = async (): Promise<MappedFlow[]> => {
    const all = [...options.flows()];
    const paused = await Promise.all(all.map(({ flow }) => isPaused(flow.id)));
    return all.filter((_, i) => !paused[i]);
  };

  /** Messages still to process in every active queue: visible, in flight and delayed (retrying). */
  const pending = async (): Promise<number> => {
    const depths = await Promise.all(
      (await active()).map(({ queues }) => queueDepth(options.sqs, queues.queueUrl)),
    );
    return depths.reduce((n, d) => n + d.visible + d.inFlight + d.delayed, 0);
  };

  /** Where the messages a timed-out drain leaves are, queue by queue (empty without `describeQueue`). */
  const leftovers = async (): Promise<string> => {
    const { describeQueue } = options;
    if (!describeQueue) return '';
    const words = (await active().catch(() => [])).map(({ queues }) => {
      const held = describeQueue(queues.queueUrl);
      return held === '' ? '' : `${held}; ${pollersOf(queues.queueUrl)}`;
    });
    const named = words.filter((w) => w !== '');
    return named.length > 0 ? `: ${named.join('; ')}` : '';
  };

  /** Resolves on the next poller change or after `ms`, whichever is first. */
  const nextChange = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        watchers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      watchers.add(done);
    });

  const drain = async ({ timeoutMs = 60_000 } = {}): Promise<Counts> => {
    const deadline = Date.now() + timeoutMs;
    // An explicit drain obeys the flags as they are now, not as they were a moment ago.
    options.pauses?.forget();
    recheck.abort();
    recheck = new AbortController();
    const counts: Counts = { received: 0, failed: 0 };
    const count = (c: Counts) => {
      counts.received += c.received;
      counts.failed += c.failed;
    };
    counters.add(count);
    // Without the background pollers, a drain runs its own (shared by drains at the same time).
    const own = !background;
    if (own) {
      drainSession ??= { session: startSession(), users: 0 };
      drainSession.users++;
    }
    try {
      while (Date.now() < deadline) {
        // Wait for the pollers to be idle, then ask the queues: delayed and in-flight messages wake
        // a poller when they become visible, so a drain waits for a change rather than polls.
        if (busy > 0) {
          await nextChange(deadline - Date.now());
          continue;
        }
        if ((await pending()) === 0 && busy === 0) return counts;
        await nextChange(Math.min(IDLE_RECHECK_MS, deadline - Date.now()));
      }
      const left = await pending().catch(() => Number.NaN);
      throw new Error(
        `sandbox queues did not drain within ${timeoutMs} ms (${busy} invocations running, ${left} messages left${await leftovers()})`,
      );
    } finally {
      counters.delete(count);
      if (own && drainSession && --drainSession.users === 0) {
        const { session } = drainSession;
        drainSession = undefined;
        session.stop.abort();
        // Idle pollers end at once; after a timeout, the invocations in progress are let finish (as
        // the older loop did: a drain never returned while one ran).
        await session.done;
      }
    }
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
    start() {
      if (stopped || background) return;
      background = startSession();
    },
    async stop() {
      stopped = true;
      const running = [...sessions];
      for (const s of running) s.stop.abort();
      await Promise.all(running.map((s) => s.done));
    },
  };
}
