/**
 * Shared by the downtime-flow tests: MachineMetrics downtime events as the poller and the Workflow
 * webhook emit them, a seeded PRNG, random episode histories with their expected end state, and a
 * queue-like delivery loop (shuffled, duplicated, retryable failures re-delivered later).
 */
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
} from '../../../functions/connectors/machinemetrics/events.ts';
import {
  AmbiguousWriteError,
  isRetryable,
  NotReadyError,
  VendorHttpError,
} from '../../../functions/core/errors.ts';
import type { FlowDefinition, FlowEvent, FlowResult } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import type { Clock } from '../../../sandbox/clock.ts';

export const MINUTE = 60_000;
export const T0 = Date.parse('2026-11-02T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** mulberry32: small, fast, good enough to shuffle test histories reproducibly. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}
export type Rand = ReturnType<typeof prng>;

export const REASONS = [
  { id: '33', name: 'Tooling' },
  { id: '41', name: 'Material' },
  { id: '12', name: 'Maintenance' },
  { id: '7', name: 'Operator' },
] as const;

// ---- events ----------------------------------------------------------------------------------

export const pollKey = (machineId: string, detectedAt: number) => `${machineId}/${iso(detectedAt)}`;
export const webhookKey = (machineId: string, start: number) => `wh:${machineId}:${iso(start)}`;

const envelope = (id: string, type: string, source: string, at: number, machineId: string, data: object) =>
  ({ id, type, source, occurredAt: iso(at), subject: machineId, data }) as FlowEvent;

export function pollStarted(o: {
  machineId: string;
  machineName?: string;
  detectedAt: number;
  startedAt: number;
  reason?: { id: string; name: string };
}): FlowEvent {
  const key = pollKey(o.machineId, o.detectedAt);
  const reason = o.reason ?? { id: 'uncategorized', name: 'Uncategorized' };
  return envelope(
    `mm:downtime:${key}:started`,
    DOWNTIME_STARTED,
    'machinemetrics.poll',
    o.detectedAt,
    o.machineId,
    {
      machineId: o.machineId,
      machineName: o.machineName ?? `Machine ${o.machineId}`,
      episodeKey: key,
      startedAt: iso(o.startedAt),
      detectedAt: iso(o.detectedAt),
      reasonId: reason.id,
      reasonName: reason.name,
      downtimeMs: o.detectedAt - o.startedAt,
    },
  );
}

export function pollCategorized(o: {
  machineId: string;
  detectedAt: number;
  at: number;
  reason: { id: string; name: string };
}): FlowEvent {
  const key = pollKey(o.machineId, o.detectedAt);
  return envelope(
    `mm:downtime:${key}:categorized:${o.reason.id}:${o.at}`,
    DOWNTIME_CATEGORIZED,
    'machinemetrics.poll',
    o.at,
    o.machineId,
    {
      machineId: o.machineId,
      machineName: `Machine ${o.machineId}`,
      episodeKey: key,
      reasonId: o.reason.id,
      reasonName: o.reason.name,
      categorizedAt: iso(o.at),
    },
  );
}

export function pollEnded(o: { machineId: string; detectedAt: number; startedAt: number; endedAt: number }) {
  const key = pollKey(o.machineId, o.detectedAt);
  return envelope(`mm:downtime:${key}:ended`, DOWNTIME_ENDED, 'machinemetrics.poll', o.endedAt, o.machineId, {
    machineId: o.machineId,
    machineName: `Machine ${o.machineId}`,
    episodeKey: key,
    startedAt: iso(o.startedAt),
    endedAt: iso(o.endedAt),
    downtimeMs: o.endedAt - o.startedAt,
  });
}

export function webhookStarted(o: { machineId: string; startedAt: number; downtimeMs?: number }) {
  const key = webhookKey(o.machineId, o.startedAt);
  return envelope(
    `mm:webhook:${key}:down`,
    DOWNTIME_STARTED,
    'machinemetrics.webhook',
    o.startedAt,
    o.machineId,
    {
      machineId: o.machineId,
      machineName: `Machine ${o.machineId}`,
      episodeKey: key,
      startedAt: iso(o.startedAt),
      detectedAt: iso(o.startedAt),
      reasonId: 'uncategorized',
      reasonName: 'Uncategorized',
      downtimeMs: o.downtimeMs ?? 0,
    },
  );
}

export function webhookCategorized(o: {
  machineId: string;
  startedAt: number;
  at: number;
  reason: { id: string; name: string };
}) {
  const key = webhookKey(o.machineId, o.startedAt);
  return envelope(
    `mm:webhook:${key}:cat:${o.at}`,
    DOWNTIME_CATEGORIZED,
    'machinemetrics.webhook',
    o.at,
    o.machineId,
    {
      machineId: o.machineId,
      machineName: `Machine ${o.machineId}`,
      episodeKey: key,
      reasonId: o.reason.id,
      reasonName: o.reason.name,
      categorizedAt: iso(o.at),
    },
  );
}

export function webhookEnded(o: { machineId: string; startedAt: number; endedAt: number }) {
  const key = webhookKey(o.machineId, o.startedAt);
  return envelope(`mm:webhook:${key}:up`, DOWNTIME_ENDED, 'machinemetrics.webhook', o.endedAt, o.machineId, {
    machineId: o.machineId,
    machineName: `Machine ${o.machineId}`,
    episodeKey: key,
    startedAt: iso(o.startedAt),
    endedAt: iso(o.endedAt),
    downtimeMs: o.endedAt - o.startedAt,
  });
}

// ---- histories -------------------------------------------------------------------------------

/** One real downtime and what should come of it. */
export interface TrueEpisode {
  machineId: string;
  /** Every key the sources give it (the poller's, and the webhook's when it reports it). */
  keys: string[];
  ended: boolean;
  /** The reason the record must show at the end. */
  reasonName: string;
}

/**
 * A random history: 1-3 downtimes per machine (at least 12 minutes each, so all qualify with a
 * 10-minute minimum), seen by the poller (start exact to within 2 minutes, as its refinement gives)
 * and, for about half, by the Workflow webhook too; 0-2 categorisations each, by the webhook and/or
 * the poller (which reports the same reason a few minutes later). The last downtime may still be on.
 */
export function randomHistory(
  rand: Rand,
  machineIds: readonly string[],
  minimumMinutes = 10,
  stepMinutes = 5,
) {
  const events: FlowEvent[] = [];
  const episodes: TrueEpisode[] = [];
  for (const machineId of machineIds) {
    const count = rand.int(1, 3);
    let t = T0 + rand.int(0, 30) * MINUTE;
    for (let i = 0; i < count; i++) {
      const start = t;
      const duration = rand.int(12, 45) * MINUTE;
      const ended = i < count - 1 || rand.chance(0.7);
      const end = start + duration;
      const step = stepMinutes * MINUTE;
      const detectedAt = Math.ceil((start + minimumMinutes * MINUTE) / step) * step;
      // The poller's start is never after its window minus the minimum (detector.ts).
      const pollStart = Math.min(start + rand.int(0, 2) * MINUTE, detectedAt - minimumMinutes * MINUTE);
      const webhook = rand.chance(0.5);
      const startReason = rand.pick(REASONS);
      const keys = [pollKey(machineId, detectedAt)];
      events.push(pollStarted({ machineId, detectedAt, startedAt: pollStart, reason: startReason }));
      if (webhook) {
        keys.push(webhookKey(machineId, start));
        // The webhook's "down" comes at the start (below the minimum), or late with a duration.
        const late = rand.chance(0.3);
        events.push(webhookStarted({ machineId, startedAt: start, downtimeMs: late ? 11 * MINUTE : 0 }));
        if (ended) events.push(webhookEnded({ machineId, startedAt: start, endedAt: end }));
      }
      if (ended) events.push(pollEnded({ machineId, detectedAt, startedAt: pollStart, endedAt: end }));
      let reasonName: string = startReason.name;
      const categorisations = rand.int(0, 2);
      for (let c = 0; c < categorisations; c++) {
        const at = start + (1 + 6 * c) * MINUTE + rand.int(0, 1) * 1000;
        const reason = rand.pick(REASONS);
        reasonName = reason.name;
        const viaWebhook = webhook && rand.chance(0.7);
        if (viaWebhook) events.push(webhookCategorized({ machineId, startedAt: start, at, reason }));
        if (!viaWebhook || rand.chance(0.5)) {
          events.push(pollCategorized({ machineId, detectedAt, at: at + 3 * MINUTE, reason }));
        }
      }
      episodes.push({ machineId, keys, ended, reasonName });
      t = end + rand.int(2, 20) * MINUTE;
    }
  }
  return { events, episodes };
}

/** Shuffle, and deliver about a quarter of the events a second time somewhere later (replays). */
export function interleave(rand: Rand, events: readonly FlowEvent[]): FlowEvent[] {
  const out = [...events];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rand.int(0, i);
    [out[i], out[j]] = [out[j] as FlowEvent, out[i] as FlowEvent];
  }
  for (const e of events) {
    if (rand.chance(0.25)) out.splice(rand.int(0, out.length), 0, e);
  }
  return out;
}

/**
 * Deliver like a queue: one at a time, the clock a minute further each time; a retryable failure
 * (NotReadyError, ClaimBusyError, an injected 5xx) goes back in the queue, a little later. `more`
 * returns events the vendors produced meanwhile (e.g. Mobility Work task webhooks).
 */
export async function deliver(
  rand: Rand,
  queue: FlowEvent[],
  handle: (event: FlowEvent) => Promise<FlowResult>,
  options: { clock: Clock; more?: () => FlowEvent[] },
): Promise<{ results: { event: FlowEvent; result: FlowResult }[]; retries: number; waits: number }> {
  const results: { event: FlowEvent; result: FlowResult }[] = [];
  let retries = 0;
  let waits = 0;
  for (let round = 0; queue.length > 0; round++) {
    if (round > 5000) throw new Error('delivery did not converge');
    const event = queue.shift() as FlowEvent;
    options.clock.advance(MINUTE);
    try {
      results.push({ event, result: await handle(event) });
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (error instanceof NotReadyError) waits++;
      else retries++;
      queue.splice(rand.int(Math.min(queue.length, 1), queue.length), 0, event);
    }
    // Vendor webhooks arrive within minutes (the premise of MW-A1's wait), not at the queue's end.
    for (const e of options.more?.() ?? []) queue.splice(rand.int(0, Math.min(3, queue.length)), 0, e);
  }
  return { results, retries, waits };
}

/**
 * Wrap a vendor client: each listed method fails now and then with an injected 503 before reaching
 * the vendor, and (`after`) sometimes reaches it and then loses the answer (AmbiguousWriteError).
 */
export function withFaults<T extends object>(
  client: T,
  rand: Rand,
  vendor: string,
  plan: Record<string, 'before' | 'after'>,
  rates = { before: 0.15, after: 0.1 },
): T {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const mode = plan[String(prop)];
      if (!mode) return value.bind(target);
      return async (...args: unknown[]) => {
        if (rand.chance(rates.before)) {
          throw new VendorHttpError(vendor, String(prop), 503, 'injected fault (not applied)');
        }
        if (mode === 'after' && rand.chance(rates.after)) {
          await value.apply(target, args);
          throw new AmbiguousWriteError(vendor, String(prop), {
            cause: new Error('injected timeout after write'),
          });
        }
        return value.apply(target, args);
      };
    },
  });
}

/** Run `body` for each seed; a failure names the seed so it can be replayed alone. */
export async function forSeeds(seeds: readonly number[], body: (seed: number) => Promise<void>) {
  for (const seed of seeds) {
    try {
      await body(seed);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`seed ${seed} failed (replay with SEEDS=${seed}): ${message}`, { cause: error });
    }
  }
}

/** SEEDS=1,2,3 replays given seeds; otherwise `count` seeds from 1. */
export const seedsFromEnv = (count: number): number[] =>
  process.env.SEEDS
    ? process.env.SEEDS.split(',').map((s) => Number(s.trim()))
    : Array.from({ length: count }, (_, i) => i + 1);

/** Handle events with one downtime flow, as its worker would: its config, deps, state and clock. */
export function flowRunner<C, D>(
  flow: FlowDefinition<C, D>,
  config: C,
  deps: D,
  state: StateStore,
  clock: Clock,
) {
  const ctx = { flowId: flow.id, config, deps, state, log: memoryLog(), now: () => clock.now() };
  /** `via`: how the event came, as the worker passes it (`replay`, `backfill`; absent: live). */
  return (event: FlowEvent, via?: string): Promise<FlowResult> =>
    flow.handle(event, via ? { ...ctx, via } : ctx);
}
