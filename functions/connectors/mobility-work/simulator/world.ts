/**
 * The simulator's in-memory world: the network's records, the 202 writes waiting to be applied, the
 * webhook log and queue, and the counters ids come from. Every resource module reads and changes
 * this one object, so what the vendor "knows" lives in one place.
 */
import type { Clock } from '../../../../sandbox/clock.ts';
import { appendBounded, REQUEST_LOG_LIMIT } from '../../../../sandbox/simulators/server.ts';
import { MAIN_STORE, MW_SIM_DEFAULT_NETWORK_ID, SEED_EQUIPMENT, seedParts } from './seed.ts';
import type {
  MobilityWorkSimulatorOptions,
  MobilityWorkWebhookTarget,
  MwPlan,
  MwSimActivity,
  MwSimDelivery,
  MwSimEquipment,
  MwSimEvent,
  MwSimPendingWrite,
  MwSimRejectedItem,
  MwSimSparePart,
  MwSimTask,
} from './types.ts';

/** The options with their defaults applied. */
export interface MobilityWorkConfig {
  clock: Clock;
  apiKey: string;
  networkId: string;
  plan: MwPlan;
  applyDelayMs: number;
  emitOnApiWrites: boolean;
  emptyTaskMetadata: MobilityWorkSimulatorOptions['emptyTaskMetadata'];
  webhook: MobilityWorkWebhookTarget | undefined;
  fetch: typeof fetch;
  /** How many entries each of the world's logs keeps (MobilityWorkSimulatorOptions.requestLogLimit). */
  logLimit: number;
}

/** A 202 write waiting for its timer. */
export interface PendingEntry {
  record: MwSimPendingWrite;
  timer: ReturnType<typeof setTimeout>;
}

export interface MobilityWorkWorld {
  readonly config: MobilityWorkConfig;
  equipment: MwSimEquipment[];
  locations: string[];
  spareParts: MwSimSparePart[];
  /** The last spare-part number (`sp-<n>`). */
  partCounter: number;
  tasks: MwSimTask[];
  activities: MwSimActivity[];
  pending: PendingEntry[];
  rejectedItems: MwSimRejectedItem[];
  /** The last 202 write id. */
  writeCounter: number;
  deliveries: MwSimDelivery[];
  events: MwSimEvent[];
  deliveryCounter: number;
  /** Tail of the sequential delivery queue. */
  queue: Promise<void>;
  closed: boolean;
  /**
   * How each bulk endpoint applies an accepted write, by `METHOD /path`. A pending write is kept as
   * its request items only, so one restored from disk is applied exactly like one accepted just now.
   */
  readonly bulkAppliers: Map<string, (items: unknown[], writeId: number) => void>;
  /** Saves the state; set once the persistence exists (a timer-applied write calls it). */
  commit: () => void;
}

export function createWorld(options: MobilityWorkSimulatorOptions): MobilityWorkWorld {
  const spareParts = seedParts();
  return {
    config: {
      clock: options.clock,
      apiKey: options.apiKey,
      networkId: options.networkId ?? MW_SIM_DEFAULT_NETWORK_ID,
      plan: options.plan ?? 'premium',
      applyDelayMs: options.applyDelayMs ?? 300,
      emitOnApiWrites: options.emitOnApiWrites ?? true,
      emptyTaskMetadata: options.emptyTaskMetadata,
      webhook: options.webhook,
      fetch: options.fetch ?? fetch,
      logLimit: options.requestLogLimit ?? REQUEST_LOG_LIMIT,
    },
    equipment: SEED_EQUIPMENT.map((e) => ({ ...e })),
    locations: [MAIN_STORE],
    spareParts,
    partCounter: spareParts.length,
    tasks: [],
    activities: [],
    pending: [],
    rejectedItems: [],
    writeCounter: 0,
    deliveries: [],
    events: [],
    deliveryCounter: 0,
    queue: Promise.resolve(),
    closed: false,
    bulkAppliers: new Map(),
    commit: () => undefined,
  };
}

/** MW's timestamp style: `2021-11-02T16:32:38+00:00`. */
export const mwTime = (date: Date) => `${date.toISOString().slice(0, 19)}+00:00`;

export const now = (world: MobilityWorkWorld) => mwTime(world.config.clock.now());

/** Append to one of the world's logs, which keep the newest `logLimit` entries (a log, not a record). */
export function logTo<T>(world: MobilityWorkWorld, list: T[], item: T): void {
  appendBounded(list, item, world.config.logLimit);
}
