/**
 * The UpKeep simulator's world: the account's records and sequences, the sessions and logs of a run,
 * the seed data, and the saved state that survives a restart. Every route module reads and writes one
 * `UpKeepWorld`; a reset or an import replaces its fields, never the object, so modules that hold it
 * see the change.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../../sandbox/clock.ts';
import { versionedState } from '../../../../sandbox/simulators/persistence.ts';
import { REQUEST_LOG_LIMIT } from '../../../../sandbox/simulators/server.ts';
import type {
  SimAsset,
  SimCall,
  SimDowntimeActivity,
  SimPart,
  SimPartInput,
  SimPurchaseOrder,
  SimUpdateMessage,
  SimWebhook,
  SimWebhookDelivery,
  SimWorkOrder,
  SimWorkRequest,
  UpKeepSimulatorOptions,
} from './types.ts';

export const UPKEEP_SIM_ASSET_IDS = ['AssetMill01', 'AssetLathe2', 'AssetPress3'] as const;
/** The user the integration logs in as; owner of what it creates. */
export const SIM_USER = 'UserAdmin1';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 10-character alphanumeric id, like UpKeep's (reference §2.7). */
export function upkeepId(): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

export interface UpKeepSimState {
  workOrders: SimWorkOrder[];
  updateMessages: SimUpdateMessage[];
  assets: SimAsset[];
  downtime: SimDowntimeActivity[];
  parts: SimPart[];
  purchaseOrders: SimPurchaseOrder[];
  requests: SimWorkRequest[];
}

export const UPKEEP_SIM_STATE_VERSION = 1;

/**
 * What survives a restart: the account's records and the sequences their numbers come from. Sessions
 * are not saved (a client logs in again on 401, as after a real session expiry), nor the call log,
 * login counters or webhook deliveries.
 */
export interface UpKeepSavedState extends UpKeepSimState {
  simulator: 'upkeep';
  version: typeof UPKEEP_SIM_STATE_VERSION;
  /** The last `workOrderNo` given. */
  workOrderSequence: number;
  /** The last `purchaseOrderNumber` given. */
  purchaseOrderSequence: number;
}

export interface UpKeepWorld {
  readonly options: UpKeepSimulatorOptions;
  readonly clock: Clock;
  workOrders: SimWorkOrder[];
  assets: SimAsset[];
  downtime: SimDowntimeActivity[];
  /** The last `workOrderNo` given. */
  woCounter: number;
  parts: SimPart[];
  purchaseOrders: SimPurchaseOrder[];
  requests: SimWorkRequest[];
  updateMessages: SimUpdateMessage[];
  /** The last `purchaseOrderNumber` given. */
  poCounter: number;
  /** Session token -> expiry (epoch ms). */
  readonly tokens: Map<string, number>;
  issued: string[];
  calls: SimCall[];
  authAttempts: number;
  logins: number;
  deliveries: SimWebhookDelivery[];
  /**
   * Webhooks registered through the API, and the last id given. Kept in memory only, like sessions
   * (the saved state's shape stays at its version): after a restart, register again.
   */
  webhooks: SimWebhook[];
  webhookCounter: number;
  /** Webhook deliveries still running (a reset does not forget them: `flushWebhooks` waits for them). */
  readonly pending: Set<Promise<void>>;
}

/** How many entries each of the world's logs keeps (see UpKeepSimulatorOptions.requestLogLimit). */
export const logLimit = (world: UpKeepWorld): number => world.options.requestLogLimit ?? REQUEST_LOG_LIMIT;

export const nowIso = (world: UpKeepWorld): string => world.clock.now().toISOString();
/** Asset-style timestamp: no ms, no zone. */
export const nowAssetStamp = (world: UpKeepWorld): string => world.clock.now().toISOString().slice(0, 19);

/** A fresh account with the seeded assets and no parts (the caller seeds those through `addParts`). */
export function createWorld(options: UpKeepSimulatorOptions): UpKeepWorld {
  const world: UpKeepWorld = {
    options,
    clock: options.clock,
    workOrders: [],
    assets: [],
    downtime: [],
    woCounter: 0,
    parts: [],
    purchaseOrders: [],
    requests: [],
    updateMessages: [],
    poCounter: 0,
    tokens: new Map(),
    issued: [],
    calls: [],
    authAttempts: 0,
    logins: 0,
    deliveries: [],
    webhooks: [],
    webhookCounter: 109,
    pending: new Set(),
  };
  world.assets = seedAssets(nowAssetStamp(world));
  return world;
}

/** Back to a fresh account: records, sequences, sessions and logs (parts are left empty to reseed). */
export function resetWorld(world: UpKeepWorld): void {
  world.workOrders = [];
  world.assets = seedAssets(nowAssetStamp(world));
  world.downtime = [];
  world.woCounter = 0;
  world.parts = [];
  world.purchaseOrders = [];
  world.requests = [];
  world.poCounter = 0;
  world.tokens.clear();
  world.issued = [];
  world.calls = [];
  world.authAttempts = 0;
  world.logins = 0;
  world.updateMessages = [];
  world.deliveries = [];
  world.webhooks = [];
  world.webhookCounter = 109;
}

/**
 * Change `record` through `apply` on a copy, then stamp and keep it: validation runs on the copy so a
 * bad field leaves the record untouched.
 */
export function updateOnCopy<T extends { updatedAt: string }, R>(
  world: UpKeepWorld,
  record: T,
  apply: (draft: T) => R,
): R {
  const draft: T = structuredClone(record);
  const result = apply(draft);
  draft.updatedAt = nowIso(world);
  Object.assign(record, draft);
  return result;
}

/** The account's records, live (not copied). */
const records = (world: UpKeepWorld): UpKeepSimState => {
  const { workOrders, assets, downtime, parts, purchaseOrders, requests, updateMessages } = world;
  return { workOrders, assets, downtime, parts, purchaseOrders, requests, updateMessages };
};

/** Deep copies of the account's records. */
export function snapshot(world: UpKeepWorld): UpKeepSimState {
  return structuredClone(records(world));
}

/** The saved state of one simulator's world: its records and the sequences of their ids. */
export const upkeepSavedState = versionedState<UpKeepWorld, UpKeepSavedState>({
  simulator: 'upkeep',
  version: UPKEEP_SIM_STATE_VERSION,
  fields: {
    workOrders: 'array',
    updateMessages: 'array',
    assets: 'array',
    downtime: 'array',
    parts: 'array',
    purchaseOrders: 'array',
    requests: 'array',
    workOrderSequence: 'integer',
    purchaseOrderSequence: 'integer',
  },
  // The live records (not a snapshot): exportState copies them, a commit serializes them at once.
  save: (world) => ({
    ...records(world),
    workOrderSequence: world.woCounter,
    purchaseOrderSequence: world.poCounter,
  }),
  load: (world, state) => {
    const { workOrders, updateMessages, assets, downtime, parts, purchaseOrders, requests } = state;
    Object.assign(world, { workOrders, updateMessages, assets, downtime, parts, purchaseOrders, requests });
    world.woCounter = state.workOrderSequence;
    world.poCounter = state.purchaseOrderSequence;
  },
});

/** Parts present at start and after reset unless `options.parts` says otherwise. */
export const UPKEEP_SIM_SEED_PARTS: readonly SimPartInput[] = [
  {
    id: 'PartBearing6204',
    name: 'Deep groove ball bearing 6204-2RS',
    partNumber: '6204-2RS',
    quantity: 12,
    minimumQuantity: 4,
    cost: 6.4,
    category: 'Bearings',
    location: 'LocShopA01',
  },
  {
    id: 'PartBeltA42',
    name: 'Classic V-belt A42',
    partNumber: 'A42',
    quantity: 3,
    minimumQuantity: 2,
    cost: 14.5,
    category: 'Belts',
    location: 'LocShopA01',
  },
  {
    id: 'PartFilterHF35',
    name: 'Hydraulic return filter element HF35',
    partNumber: 'HF35-10',
    quantity: 20,
    minimumQuantity: 5,
    cost: 38,
    category: 'Filters',
    location: 'LocShopB02',
  },
  {
    id: 'PartSeal2210',
    name: 'Rotary shaft seal 22x35x7 NBR',
    partNumber: 'RS-2235-7',
    quantity: 8,
    minimumQuantity: 2,
    cost: 2.1,
    category: 'Seals',
    location: 'LocShopB02',
  },
];

function seedAssets(now: string): SimAsset[] {
  const base = {
    status: 'active',
    downtimeStatus: 'available',
    availabilityStatus: 'available',
    availabilityTrackingOn: true,
    createdByUser: 'UserAdmin1',
    assignedToUser: null,
    createdAt: now,
    updatedAt: now,
  };
  return [
    {
      ...base,
      id: 'AssetMill01',
      name: 'CNC Mill 01',
      serial: 'BC-MILL-01',
      barcode: 'BC-MILL-01',
      serialNumber: 'SN-MILL-0001',
      model: 'VF-2',
      location: 'LocShopA01',
      category: 'Machining',
    },
    {
      ...base,
      id: 'AssetLathe2',
      name: 'Lathe 2',
      serial: 'BC-LATHE-02',
      barcode: 'BC-LATHE-02',
      serialNumber: 'SN-LATHE-0002',
      model: 'ST-10',
      location: 'LocShopA01',
      category: 'Turning',
    },
    {
      ...base,
      id: 'AssetPress3',
      name: 'Press 3',
      serial: 'BC-PRESS-03',
      barcode: 'BC-PRESS-03',
      serialNumber: 'SN-PRESS-0003',
      model: 'HP-200',
      location: 'LocShopB02',
      category: 'Forming',
    },
  ];
}
