/**
 * The stock flows on real pieces: the UpKeep and Mobility Work simulators (one manual clock), the
 * real clients, a real state store (dynalite). Mobility Work's webhooks are taken from the
 * simulator's event log and normalised by the real webhook parser, so the flows see what the ingress
 * would enqueue.
 */

import { MobilityWorkClient } from '../../../functions/connectors/mobility-work/client.ts';
import { parseMobilityWorkConfig } from '../../../functions/connectors/mobility-work/config.ts';
import {
  type MobilityWorkSimulator,
  startMobilityWorkSimulator,
} from '../../../functions/connectors/mobility-work/simulator/index.ts';
import { parseMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/webhook.ts';
import type { SimPartInput } from '../../../functions/connectors/upkeep/simulator/index.ts';
import type { FlowContext, FlowEvent, FlowResult } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import {
  type Deps as AlertDeps,
  flow as alertFlow,
  type StockAlertFlowConfig,
} from '../../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness, startHarness } from '../upkeep/support.ts';

export const MW_API_KEY = '913a8f7cef6ff084f1635511b9c7d07c3bab2816';
export const T0 = Date.parse('2026-11-02T08:00:00.000Z');

export interface StockWorld {
  state: TestState;
  store: StateStore;
  upkeep: Harness;
  mw: MobilityWorkSimulator;
  mwClient: MobilityWorkClient;
  /** Move the shared clock on. */
  advance(ms: number): void;
  now(): Date;
  /** Mobility Work's webhooks emitted since `from` (an index into its event log), as flow events. */
  mwEvents(from?: number): FlowEvent[];
  close(): Promise<void>;
}

export async function startStockWorld(options: { upkeepParts?: readonly SimPartInput[] } = {}) {
  const state = await startTestState();
  const upkeep = await startHarness(options.upkeepParts ? { parts: options.upkeepParts } : {});
  upkeep.clock.advance(T0 - upkeep.clock.now().getTime());
  // No webhook target: the events stay in the simulator's log, delivered by the test in any order.
  const mw = await startMobilityWorkSimulator({ clock: upkeep.clock, apiKey: MW_API_KEY, applyDelayMs: 1 });
  const mwClient = new MobilityWorkClient({
    config: parseMobilityWorkConfig({ baseUrl: mw.url, secretName: 'millwright/mobility-work' }),
    loadApiKey: async () => MW_API_KEY,
    http: { timeoutMs: 2000, random: () => 0.5, sleep: async () => undefined, maxAttempts: 1 },
  });
  const world: StockWorld = {
    state,
    store: state.store(() => upkeep.clock.now()),
    upkeep,
    mw,
    mwClient,
    advance: (ms) => upkeep.clock.advance(ms),
    now: () => upkeep.clock.now(),
    mwEvents(from = 0) {
      return mw
        .events()
        .slice(from)
        .map((e) => {
          const parsed = parseMobilityWorkWebhook({
            rawBody: JSON.stringify(e.payload),
            headers: {},
            pathParameters: {},
            query: {},
            receivedAt: upkeep.clock.now(),
          }).events[0];
          if (!parsed) throw new Error(`the webhook parser dropped ${e.event}`);
          return parsed;
        });
    },
    async close() {
      await mw.close();
      await upkeep.sim.close();
      await state.close();
    },
  };
  return world;
}

export type AlertCtx = FlowContext<StockAlertFlowConfig, AlertDeps>;

export function alertContext(world: StockWorld, config: Record<string, unknown> = {}): AlertCtx {
  return {
    flowId: alertFlow.id,
    config: alertFlow.config.parse(config),
    // One attempt per call: a failed create is the event's failure, retried like a queue would.
    deps: { upkeep: world.upkeep.client({ http: { maxAttempts: 1 } }) },
    state: world.store,
    log: memoryLog(),
    now: () => world.now(),
  } as AlertCtx;
}

export const handleAlert = (ctx: AlertCtx, event: FlowEvent): Promise<FlowResult> =>
  alertFlow.handle(event, ctx);

/** UpKeep purchase orders for one part. */
export const purchaseOrdersFor = (world: StockWorld, partId: string) =>
  world.upkeep.sim.purchaseOrders().filter((po) => po.parts.some((line) => line.id === partId));

/** A seeded PRNG (mulberry32): the same seed, the same run. */
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
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}
export type Prng = ReturnType<typeof prng>;

/**
 * Deliver events like a queue with no order guarantee: random interleaving, some duplicated, some
 * replayed later; a retryable error puts the event back to be delivered again later.
 */
export async function deliverShuffled(
  rng: Prng,
  events: readonly FlowEvent[],
  handle: (event: FlowEvent) => Promise<unknown>,
  options: { duplicates?: number; maxAttempts?: number } = {},
): Promise<{ deliveries: number; retried: number }> {
  const queue = [...events];
  for (let i = 0; i < (options.duplicates ?? Math.ceil(events.length / 3)); i++) {
    const e = rng.pick(events);
    if (e) queue.push(e);
  }
  let deliveries = 0;
  let retried = 0;
  while (queue.length > 0) {
    const [event] = queue.splice(rng.int(0, queue.length - 1), 1) as [FlowEvent];
    deliveries++;
    if (deliveries > (options.maxAttempts ?? 2000)) throw new Error('delivery did not converge');
    try {
      await handle(event);
    } catch (error) {
      if ((error as { retryable?: boolean }).retryable === false) throw error;
      retried++;
      queue.push(event);
    }
  }
  return { deliveries, retried };
}
