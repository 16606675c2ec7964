/**
 * The simulator's world: the records and the sequences of their ids, the settings, the rate window,
 * stats and call log, and what of it survives a restart.
 */
import type { Clock } from '../../../../sandbox/clock.ts';
import { versionedState } from '../../../../sandbox/simulators/persistence.ts';
import { REQUEST_LOG_LIMIT } from '../../../../sandbox/simulators/server.ts';
import {
  CLICK_MAINT_SIM_ENTITIES,
  type SimAsset,
  type SimCall,
  type SimEntity,
  type SimPart,
  type SimPartTransaction,
  type SimWorkOrder,
} from './records.ts';

/** The options that shape the world (the simulator's options less port and store). */
export interface ClickMaintSimSettings {
  /** Record timestamps (created_at / updated_at); the manual clock in tests and the demo. */
  clock: Clock;
  apiKey: string;
  /** Entities the key can see (default CLICK_MAINT_SIM_ENTITIES). */
  entities?: readonly SimEntity[];
  /** Requests per fixed window of real time (default 300 per 300 s; the demo uses 300 per 5 s). */
  rateLimit?: { limit: number; windowSeconds: number };
  /** Wall-clock ms for the rate window (default Date.now); inject for tests. */
  wallClock?: () => number;
  /** Honour `filter[updated_at_*]` (default true); else ignore it and leave it out of `meta.filter`. */
  acceptsUpdatedAtFilter?: boolean;
  /** Cap of `per_page` (default 100). */
  maxPerPage?: number;
  /** Seed the doc-like parts and assets of entity 1 (default true; also after reset). */
  seed?: boolean;
  /** How many calls (and requests) the logs keep, newest (default REQUEST_LOG_LIMIT). */
  requestLogLimit?: number;
}

export const CLICK_MAINT_SIM_STATE_VERSION = 1;

/**
 * What survives a restart: the records and the sequences of their ids. Entities and settings come
 * from the options; the rate window, stats and call log describe a run and start afresh.
 */
export interface ClickMaintSavedState {
  simulator: 'click-maint';
  version: typeof CLICK_MAINT_SIM_STATE_VERSION;
  parts: SimPart[];
  assets: SimAsset[];
  workOrders: SimWorkOrder[];
  transactions: SimPartTransaction[];
  /** The last work-order id. */
  workOrderSequence: number;
  /** The last part-transaction id. */
  transactionSequence: number;
}

export interface RateWindow {
  startMs: number;
  counted: number;
  accepted: number;
}

/** Everything the routes and control actions read and change. */
export interface ClickMaintWorld {
  readonly clock: Clock;
  readonly wallClock: () => number;
  readonly apiKey: string;
  readonly entities: SimEntity[];
  readonly maxPerPage: number;
  readonly seed: boolean;
  rateLimit: { limit: number; windowSeconds: number };
  acceptsUpdatedAtFilter: boolean;
  parts: SimPart[];
  assets: SimAsset[];
  workOrders: SimWorkOrder[];
  transactions: SimPartTransaction[];
  calls: SimCall[];
  /** How many `calls` are kept (the newest): a sandbox polling for weeks must not grow it unbounded. */
  readonly callLogLimit: number;
  /** The last work-order id. */
  woCounter: number;
  /** The last part-transaction id. */
  txCounter: number;
  readonly stats: { unauthorized: number; rateLimited: number; maxAcceptedInWindow: number };
  window: RateWindow;
}

export function createClickMaintWorld(settings: ClickMaintSimSettings): ClickMaintWorld {
  return {
    clock: settings.clock,
    wallClock: settings.wallClock ?? Date.now,
    apiKey: settings.apiKey,
    entities: (settings.entities ?? CLICK_MAINT_SIM_ENTITIES).map((e) => ({ ...e })),
    maxPerPage: settings.maxPerPage ?? 100,
    seed: settings.seed !== false,
    rateLimit: { limit: 300, windowSeconds: 300, ...settings.rateLimit },
    acceptsUpdatedAtFilter: settings.acceptsUpdatedAtFilter ?? true,
    parts: [],
    assets: [],
    workOrders: [],
    transactions: [],
    calls: [],
    callLogLimit: settings.requestLogLimit ?? REQUEST_LOG_LIMIT,
    woCounter: 1000,
    txCounter: 0,
    stats: { unauthorized: 0, rateLimited: 0, maxAcceptedInWindow: 0 },
    window: { startMs: 0, counted: 0, accepted: 0 },
  };
}

/** Whole-second ISO, like the real API (`2026-11-02T08:00:00Z`). */
export const isoSeconds = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

/** The clock's current second, for created_at / updated_at. */
export const nowStamp = (world: ClickMaintWorld): string => isoSeconds(world.clock.now());

/** The saved state of one simulator's world. */
export const clickMaintSavedState = versionedState<ClickMaintWorld, ClickMaintSavedState>({
  simulator: 'click-maint',
  version: CLICK_MAINT_SIM_STATE_VERSION,
  fields: {
    parts: 'array',
    assets: 'array',
    workOrders: 'array',
    transactions: 'array',
    workOrderSequence: 'integer',
    transactionSequence: 'integer',
  },
  save: ({ parts, assets, workOrders, transactions, woCounter, txCounter }) => ({
    parts,
    assets,
    workOrders,
    transactions,
    workOrderSequence: woCounter,
    transactionSequence: txCounter,
  }),
  load: (world, { parts, assets, workOrders, transactions, workOrderSequence, transactionSequence }) => {
    const sequences = { woCounter: workOrderSequence, txCounter: transactionSequence };
    Object.assign(world, {
      parts,
      assets,
      workOrders,
      transactions,
      ...sequences,
    } satisfies Partial<ClickMaintWorld>);
  },
});
