/** The simulator's public types: the network's records, its options and the simulator object. */
import type { Clock } from '../../../../sandbox/clock.ts';
import type { SimulatorStateStore } from '../../../../sandbox/simulators/persistence.ts';
import type { Simulator } from '../../../../sandbox/simulators/server.ts';
import { MW_EVENT_NAMES, type MwEventName } from '../events.ts';
import type { MwSignatureScheme } from '../signature.ts';

export type MwPlan = 'starter' | 'premium' | 'ultimate';

/** The simulator sends exactly the events the connector knows (one list, in the connector). */
export const MW_SIM_EVENTS = MW_EVENT_NAMES;
export type MwSimEventName = MwEventName;

export interface MwSimEquipment {
  id: number;
  itemCode: string | null;
  name: string;
}

export interface MwSimUser {
  id: number;
  email: string;
  name: string;
}

export interface MwSimSparePart {
  /** Native id. */
  id: string;
  externalReference: string;
  name: string;
  description: string | null;
  stock: number;
  minimumStock: number | null;
  maximumStock: number | null;
  replenishmentLot: number | null;
  unitPrice: { amount: number; currency: string } | null;
  gtin: string | null;
  costCenter: string | null;
  location: string;
}

export type MwSimTaskState = 'scheduled' | 'started' | 'completed' | 'canceled';

export interface MwSimTask {
  /** 8 hex characters, like `32828f62`. */
  id: string;
  legacyId: string;
  state: MwSimTaskState;
  equipment: MwSimEquipment;
  description: string;
  startDateTime: string;
  endDateTime: string;
  allDay: boolean;
  assignees: MwSimUser[];
  /** As sent (the webhooks send `tags: []`). */
  tags: unknown[];
  metadata: Record<string, unknown>;
  origin: { type: 'api' } | { type: 'maintenance-plan'; maintenancePlanId: string };
  createdAt: string;
  startedAt: string | null;
  doneAt: string | null;
  canceledAt: string | null;
  cancelReason: string | null;
}

export interface MwSimActivity {
  id: string;
  taskId: string;
  comment: string | null;
  consumptions: { sparePartId: string; quantity: number; canceled: boolean }[];
  createdAt: string;
}

export interface MwSimMaintenancePlan {
  id: string;
  name: string;
  equipmentId: number;
  description: string;
  assigneeIds: number[];
  durationMinutes: number;
}

export interface MwSimPendingWrite {
  id: number;
  /** `METHOD /path` of the accepted request. */
  endpoint: string;
  acceptedAt: string;
  items: unknown[];
}

/** An item accepted with the 202 but dropped when applied (MW reports these nowhere). */
export interface MwSimRejectedItem {
  writeId: number;
  endpoint: string;
  index: number;
  identifier: unknown;
  reason: string;
}

/** One delivery attempt. */
export interface MwSimDelivery {
  /** Sequence number of the delivery (shared by its attempts). */
  delivery: number;
  event: MwSimEventName;
  idempotencyKey: string;
  /** Task id or spare-part external reference. */
  subject: string;
  attempt: number;
  nonce: string;
  status?: number;
  error?: string;
  /** `retrying` until the next attempt; `failed` on the last one (MW would e-mail someone). */
  outcome: 'delivered' | 'retrying' | 'failed';
}

export type MwSimPayload = Record<string, unknown> & {
  _event: MwSimEventName;
  _idempotencyKey: string;
  networkId: string;
};

/** Every event the network produced, sent or not (Starter, no webhook configured). */
export interface MwSimEvent {
  event: MwSimEventName;
  subject: string;
  sent: boolean;
  payload: MwSimPayload;
}

export interface MobilityWorkSimState {
  networkId: string;
  plan: MwPlan;
  equipment: MwSimEquipment[];
  users: MwSimUser[];
  locations: string[];
  maintenancePlans: MwSimMaintenancePlan[];
  spareParts: MwSimSparePart[];
  tasks: MwSimTask[];
  activities: MwSimActivity[];
  pendingWrites: MwSimPendingWrite[];
  rejectedItems: MwSimRejectedItem[];
}

export interface MobilityWorkWebhookTarget {
  url: string;
  /** Signing secret; without one MW sends no `X-MW-Signature` (reference §4.4). */
  secret?: string;
  scheme: MwSignatureScheme;
  /** Delay between attempts (default 50 ms). */
  retryDelayMs?: number;
  /** Per-attempt timeout (default 5000 ms; MW's is undocumented). */
  timeoutMs?: number;
}

export interface MobilityWorkSimulatorOptions {
  port?: number;
  clock: Clock;
  apiKey: string;
  networkId?: string;
  plan?: MwPlan;
  /** Real-time delay before a 202 write is applied (default 300 ms). */
  applyDelayMs?: number;
  webhook?: MobilityWorkWebhookTarget;
  /**
   * API stock writes emit the same stock webhooks as a user recount (default true). MW does not say
   * (reference §7.28); assume echoes.
   */
  emitOnApiWrites?: boolean;
  /** How an empty task `metadata` is sent: `{}` (default) or `[]` like a PHP empty array. */
  emptyTaskMetadata?: 'object' | 'array';
  /** For webhook delivery (tests); defaults to global fetch. */
  fetch?: typeof fetch;
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
  /**
   * How many entries each log keeps, newest (webhook events and deliveries, activities, rejected
   * items; default REQUEST_LOG_LIMIT): one is added per event, for as long as a sandbox runs, and
   * the last two are saved with the world at every write.
   */
  requestLogLimit?: number;
}

export const MOBILITY_WORK_SIM_STATE_VERSION = 1;

/**
 * What survives a restart: the network's records, the 202 writes accepted but not yet applied (a 202
 * is a promise; they are applied `applyDelayMs` after the restart) and the counters ids come from.
 * Users, maintenance plans, network id and plan come from the seed and the options. Events,
 * webhook deliveries and their queue are not saved: a delivery in flight at shutdown is lost, as
 * the log of deliveries is.
 */
export interface MobilityWorkSavedState {
  simulator: 'mobility-work';
  version: typeof MOBILITY_WORK_SIM_STATE_VERSION;
  equipment: MwSimEquipment[];
  locations: string[];
  spareParts: MwSimSparePart[];
  /** The last spare-part number (`sp-<n>`). */
  sparePartSequence: number;
  tasks: MwSimTask[];
  activities: MwSimActivity[];
  pendingWrites: MwSimPendingWrite[];
  /** The last 202 write id. */
  writeSequence: number;
  rejectedItems: MwSimRejectedItem[];
}

export interface MobilityWorkSimulator extends Simulator {
  networkId: string;
  plan: MwPlan;
  /** Deep copy. */
  state(): MobilityWorkSimState;
  spareParts(): MwSimSparePart[];
  tasks(): MwSimTask[];
  /** Delivery attempts, oldest first. */
  deliveries(): MwSimDelivery[];
  events(): MwSimEvent[];
  /** Apply every pending 202 write now, then wait for every delivery in flight (retries included). */
  settle(): Promise<void>;
  /** A user consumes spare parts (first part with that reference). */
  consume(
    externalReference: string,
    quantity: number,
    options?: { taskId?: string; initiator?: number | string },
  ): MwSimSparePart;
  restock(
    externalReference: string,
    quantity: number,
    options?: { initiator?: number | string },
  ): MwSimSparePart;
  /** A user recounts (absolute stock). */
  recount(
    externalReference: string,
    quantity: number,
    options?: { initiator?: number | string },
  ): MwSimSparePart;
  startTask(taskId: string, options?: { initiator?: number | string }): MwSimTask;
  completeTask(taskId: string, options?: { initiator?: number | string }): MwSimTask;
  cancelTask(taskId: string, options?: { reason?: string | null; initiator?: number | string }): MwSimTask;
  /** The first task whose `metadata[key] === value`. */
  findTaskByMetadata(key: string, value: unknown): MwSimTask | undefined;
  addActivity(
    taskId: string,
    options?: {
      comment?: string;
      consume?: { externalReference: string; quantity: number }[];
      initiator?: number | string;
    },
  ): MwSimActivity;
  /** Cancel the consumptions of an activity (stock goes back up). */
  cancelConsumption(activityId: string): MwSimActivity;
  reset(): void;
  /** The state that survives a restart (a deep copy). */
  exportState(): MobilityWorkSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}
