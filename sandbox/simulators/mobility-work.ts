/**
 * Mobility Work Public API simulator, built from the vendor doc (shared/vendors/mobility-work/reference.md)
 * and the connector contract (/tmp/contracts/mw.md). Webhook payloads use exactly the contract's field
 * names, including the (A) ones the doc collapsed.
 *
 * Behaviour as documented: `Api-Key` auth (401 `401001`), MW's error format with JSON-pointer
 * `property_errors`, 201/`null` for `POST /partners/v1/tasks` (no task id), 204 for the
 * maintenance-plan trigger, 202/`null` for every bulk endpoint (bodies of 1..10000 items, applied
 * later, per-item failures reported nowhere), plan restrictions (403 `403001` on Premium+ routes for a
 * Starter network, and no webhooks at all on Starter), `X-MW-Signature` + `User-Agent: Mobility Work -
 * Webhook Service v1`, success only on HTTP 200, two retries then give up ("an e-mail is sent").
 *
 * Simulator choices where the doc is silent (named so nobody mistakes them for MW facts):
 * - 202 writes are applied `applyDelayMs` (real time) after acceptance, in order; `settle()` applies
 *   them at once. Items naming an unknown spare part are dropped into `rejectedItems` (state only).
 * - Validation messageKeys other than `error.payload.min_length`, `error.payload.equipment.unknown` and
 *   `error.payload.assignees.unknown` (documented) are invented in the same style.
 * - The equipment typed identifier accepts `native`, `external` and `externalReference` (reference §7.17).
 * - Request contract: every field api-doc.txt marks required is required (400 `error.payload.required`
 *   at its JSON pointer), with the documented types and constraints (lengths, `>= 0`, patterns,
 *   1..10000 items); optional fields may be omitted, and `null` unsets an attribute on the two
 *   `/attributes` endpoints ("To unset an attribute, set it to null") except a `name` or spare-part
 *   `externalReference` (a record cannot be without one). Unknown extra properties are ignored.
 * - Objects the doc marks required but whose names it lost are the connector's named assumptions
 *   (functions/connectors/mobility-work/config.ts): `movements/bulk` items need the movement object
 *   `{id, movement: {type: 'inventory', quantity}}` (MW_STOCK_MOVEMENT; a flat `{id, quantity}` item,
 *   the deprecated PUT's shape, is a 400 at `/<i>/movement`), an absolute set (a recount); a
 *   `POST /spare-parts` item needs `unitPrice` `{amount, currency}` and `location` (optionally
 *   `{locationName}`; MW_SPARE_PART_REQUIRED_OBJECTS). Relocation uses the [EXT] `sparePartId`,
 *   `source` / `target` `{locationName}` names.
 * - Lengths the doc does not give are not invented: identifiers and `costCenter` take any length
 *   (identifiers must not be empty). A task needs at least one assignee (the doc marks `assignees`
 *   required but gives no minimum; reference §9 q7 asks MW; the connector always sends one).
 * - Stock webhook triggers (see `afterStockChange`):
 *   - an absolute set (API movement/stock write when `emitOnApiWrites`, or a user recount) emits
 *     `SparePartWasManuallyRecounted` with `recounted: {quantity: <new stock>, previousStock}`;
 *   - a consumption emits `SparePartWasConsumed`, a restock `SparePartWasRestocked`;
 *   - then, for any decrease: `SparePartStockWasUnderMinThreshold` when the stock CROSSES the minimum,
 *     i.e. goes from > minimumStock to <= minimumStock (never while it stays under, never when the
 *     minimum is null; `<=` and crossing-only are assumptions), and `SparePartWasOutOfStock` when it
 *     goes from > 0 to 0. Their `movement` is `{type, quantity}` where quantity is the amount consumed
 *     or, for `inventory`, the new absolute stock.
 *   - A change of minimumStock through `/spare-parts/attributes` emits nothing (no stock movement).
 * - Deliveries go through one sequential queue (so per-part order holds), 3 attempts `retryDelayMs`
 *   apart; `_idempotencyKey` and the body are the same on every attempt, the nonce is new each time.
 *
 * Control routes (no auth): `GET /_sandbox/state`, `GET /_sandbox/deliveries`, `GET /_sandbox/events`,
 * `POST /_sandbox/settle`, `POST /_sandbox/reset`,
 * `POST /_sandbox/spare-parts/:externalReference/{consume|restock|recount}`,
 * `POST /_sandbox/tasks/:taskId/{start|complete|cancel|activities}`,
 * `POST /_sandbox/tasks/by-metadata/{start|complete|cancel|activities}` (body `{key, value, ...}`),
 * `POST /_sandbox/activities/:activityId/cancel-consumption`, plus the shared ones from server.ts.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import {
  MW_SPARE_PART_REQUIRED_OBJECTS,
  MW_STOCK_MOVEMENT,
} from '../../functions/connectors/mobility-work/config.ts';
import { MW_EVENT_NAMES, type MwEventName } from '../../functions/connectors/mobility-work/events.ts';
import {
  type MwSignatureScheme,
  signMobilityWorkWebhook,
} from '../../functions/connectors/mobility-work/signature.ts';
import type { Clock } from '../clock.ts';
import {
  readSavedState,
  SavedStateShapeError,
  type SimulatorStateStore,
  simulatorPersistence,
} from './persistence.ts';
import {
  json,
  type Route,
  type SimRequest,
  type SimResponse,
  type Simulator,
  startSimulator,
} from './server.ts';

// ---------------------------------------------------------------------------------------------
// Constants and seed data.

export const MW_SIM_DEFAULT_NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';
/** The seeded "external trigger (API)" maintenance plan (equipment 2507). */
export const MW_SIM_MAINTENANCE_PLAN_ID = '5b0f6f0e-3c1a-4d9e-8f2b-7a6c4e1d2b90';
export const MW_SIM_WEBHOOK_USER_AGENT = 'Mobility Work - Webhook Service v1';
export const MW_SIM_BULK_LIMIT = 10_000;
export const MW_SIM_NETWORK_SETTINGS = {
  legacyNetworkId: 686,
  name: 'Sandbox plant',
  timezone: 'Europe/Paris',
  currency: 'EUR',
} as const;

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

/** A control action that cannot be applied; `status` is what the control API answers. */
export class MobilityWorkSimError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'MobilityWorkSimError';
  }
}

const SEED_EQUIPMENT: readonly MwSimEquipment[] = [
  { id: 2507, itemCode: 'EQ-MILL-01', name: 'Mill 01' },
  { id: 2508, itemCode: 'EQ-LATHE-02', name: 'Lathe 02' },
  { id: 2509, itemCode: 'EQ-PRESS-03', name: 'Press 03' },
];

export const MW_SIM_USERS: readonly MwSimUser[] = [
  { id: 3, email: 'tech@plant.example', name: 'Tess Technician' },
  { id: 4, email: 'planner@plant.example', name: 'Pat Planner' },
];
/** The initiator of API-originated changes (not assignable). */
export const MW_SIM_API_USER: MwSimUser = { id: 1, email: 'api@plant.example', name: 'Partner API' };

const MAIN_STORE = 'Main store';

/** Same references, names, stock and minimums as the UpKeep simulator's parts. */
const SEED_PARTS: readonly (Pick<MwSimSparePart, 'externalReference' | 'name' | 'stock'> & {
  minimumStock: number;
})[] = [
  { externalReference: 'PartBearing6204', name: 'Bearing 6204', stock: 12, minimumStock: 4 },
  { externalReference: 'PartBeltA42', name: 'V-belt A42', stock: 3, minimumStock: 2 },
  { externalReference: 'PartFilterHF35', name: 'Hydraulic filter HF35', stock: 20, minimumStock: 5 },
  { externalReference: 'PartSeal2210', name: 'Shaft seal 22x10', stock: 8, minimumStock: 2 },
  // Click Maint's seeded parts, referenced by their part number (the Click Maint flow's default).
  { externalReference: 'FL_A', name: 'Air Filter', stock: 6, minimumStock: 5 },
  { externalReference: 'B52', name: 'V-Belt B52', stock: 2, minimumStock: 3 },
  { externalReference: 'GR-400', name: 'Grease cartridge', stock: 40, minimumStock: 10 },
];

const SEED_PLANS: readonly MwSimMaintenancePlan[] = [
  {
    id: MW_SIM_MAINTENANCE_PLAN_ID,
    name: 'Mill 01 lubrication (API trigger)',
    equipmentId: 2507,
    description: 'Lubricate the Mill 01 spindle and ways',
    assigneeIds: [3],
    durationMinutes: 60,
  },
];

/**
 * A `POST /partners/v1/spare-parts` item the contract accepts: the two required objects (names
 * assumed, MW_SPARE_PART_REQUIRED_OBJECTS) filled with the main store and a zero price. For demos and
 * tests that create parts through the API.
 */
export function mwSimNewSparePart(externalReference: string, name: string): Record<string, unknown> {
  return {
    externalReference,
    name,
    unitPrice: { amount: 0, currency: MW_SIM_NETWORK_SETTINGS.currency },
    location: { locationName: MAIN_STORE },
  };
}

function seedParts(): MwSimSparePart[] {
  return SEED_PARTS.map((p, i) => ({
    id: `sp-${i + 1}`,
    externalReference: p.externalReference,
    name: p.name,
    description: null,
    stock: p.stock,
    minimumStock: p.minimumStock,
    maximumStock: null,
    replenishmentLot: null,
    unitPrice: null,
    gtin: null,
    costCenter: null,
    location: MAIN_STORE,
  }));
}

// ---------------------------------------------------------------------------------------------
// Helpers: MW error format and validation.

interface MwErrorDetail {
  messageKey: string;
  parameters: Record<string, unknown>;
}

/** Collects `property_errors` keyed by JSON pointer. */
class Problems {
  readonly property: Record<string, MwErrorDetail[]> = {};
  readonly global: MwErrorDetail[] = [];

  add(pointer: string, messageKey: string, parameters: Record<string, unknown> = {}): void {
    const list = this.property[pointer] ?? [];
    list.push({ messageKey, parameters });
    this.property[pointer] = list;
  }

  get empty(): boolean {
    return this.global.length === 0 && Object.keys(this.property).length === 0;
  }
}

function mwError(status: number, code: string, message: string, problems: Problems): SimResponse {
  return json(status, {
    http_status_code: status,
    code,
    message,
    extended_message: { global_errors: problems.global, property_errors: problems.property },
    more_info_url: null,
  });
}

const invalidPayload = (problems: Problems) =>
  mwError(400, '400044', 'The request payload is not valid.', problems);

function authError(): SimResponse {
  const problems = new Problems();
  problems.global.push({ messageKey: 'Invalid Api Key.', parameters: {} });
  return mwError(401, '401001', 'Authentication error', problems);
}

function planError(plan: MwPlan): SimResponse {
  const problems = new Problems();
  problems.global.push({
    messageKey: 'Subscription plan does not allow to use that API',
    parameters: { plan },
  });
  return mwError(403, '403001', 'Subscription plan does not allow to use that API', problems);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 10 alphanumeric characters, like the doc's `i6WeIdxywu`. */
export function mwIdempotencyKey(): string {
  let out = '';
  for (const b of randomBytes(10)) out += ALNUM[b % ALNUM.length];
  return out;
}

/** MW's timestamp style: `2021-11-02T16:32:38+00:00`. */
const mwTime = (date: Date) => `${date.toISOString().slice(0, 19)}+00:00`;

function requiredString(
  value: unknown,
  pointer: string,
  p: Problems,
  bounds: { min: number; max: number },
  required = true,
): string | undefined {
  if (value === undefined) {
    if (required) p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value !== 'string') {
    p.add(pointer, 'error.payload.type', { expected: 'string' });
    return undefined;
  }
  if (value.length < bounds.min) {
    p.add(pointer, 'error.payload.min_length', { min: bounds.min, length: value.length });
    return undefined;
  }
  if (value.length > bounds.max) {
    p.add(pointer, 'error.payload.max_length', { max: bounds.max, length: value.length });
    return undefined;
  }
  return value;
}

/** Optional string that may be null (unset). `undefined` = omitted. */
function nullableString(
  value: unknown,
  pointer: string,
  p: Problems,
  bounds: { min: number; max: number },
): string | null | undefined {
  if (value === null) return null;
  return requiredString(value, pointer, p, bounds, false);
}

function nonNegativeInteger(
  value: unknown,
  pointer: string,
  p: Problems,
  required = true,
): number | undefined {
  if (value === undefined) {
    if (required) p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'integer' });
    return undefined;
  }
  if (value < 0) {
    p.add(pointer, 'error.payload.min', { min: 0, value });
    return undefined;
  }
  return value;
}

/** number >= 0 or null (attributes); `undefined` = omitted. */
function nullableNonNegativeNumber(value: unknown, pointer: string, p: Problems): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'number|null' });
    return undefined;
  }
  if (value < 0) {
    p.add(pointer, 'error.payload.min', { min: 0, value });
    return undefined;
  }
  return value;
}

function unitPrice(
  value: unknown,
  pointer: string,
  p: Problems,
): { amount: number; currency: string } | undefined {
  if (!isRecord(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'object' });
    return undefined;
  }
  const amount = nonNegativeInteger(value.amount, `${pointer}/amount`, p);
  if (typeof value.currency !== 'string' || !/^[A-Z]{3}$/.test(value.currency)) {
    p.add(`${pointer}/currency`, 'error.payload.pattern', { pattern: '^[A-Z]{3}$' });
    return undefined;
  }
  return amount === undefined ? undefined : { amount, currency: value.currency };
}

function gtin(value: unknown, pointer: string, p: Problems): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || !/^[0-9]{8,18}$/.test(value)) {
    p.add(pointer, 'error.payload.pattern', { pattern: '^[0-9]{8,18}$' });
    return undefined;
  }
  return value;
}

/** SparePartIdentifier: a string (= external reference) or `{type: 'externalReference', value}`. */
function sparePartIdentifier(value: unknown, pointer: string, p: Problems): string | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value === 'string') return requiredString(value, pointer, p, NON_EMPTY);
  if (isRecord(value)) {
    if (value.type !== 'externalReference') {
      p.add(`${pointer}/type`, 'error.payload.choice', { choices: ['externalReference'], value: value.type });
    }
    const ref = requiredString(value.value, `${pointer}/value`, p, NON_EMPTY);
    return value.type === 'externalReference' ? ref : undefined;
  }
  p.add(pointer, 'error.payload.type', { expected: 'string|object' });
  return undefined;
}

type EquipmentIdentifier = { type: 'native'; value: number } | { type: 'external'; value: string };

/** equipment_identifier: an int (native), a string (item code) or `{type, value}`. */
function equipmentIdentifier(value: unknown, pointer: string, p: Problems): EquipmentIdentifier | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return { type: 'native', value };
    p.add(pointer, 'error.payload.type', { expected: 'integer|string|object' });
    return undefined;
  }
  if (typeof value === 'string') {
    const code = requiredString(value, pointer, p, NON_EMPTY);
    return code === undefined ? undefined : { type: 'external', value: code };
  }
  if (isRecord(value)) {
    const kind = value.type;
    if (kind === 'native') {
      if (typeof value.value === 'number' && Number.isInteger(value.value))
        return { type: 'native', value: value.value };
      p.add(`${pointer}/value`, 'error.payload.type', { expected: 'integer' });
      return undefined;
    }
    if (kind === 'external' || kind === 'externalReference') {
      const code = requiredString(value.value, `${pointer}/value`, p, NON_EMPTY);
      return code === undefined ? undefined : { type: 'external', value: code };
    }
    p.add(`${pointer}/type`, 'error.payload.choice', {
      choices: ['native', 'external', 'externalReference'],
      value: kind,
    });
    return undefined;
  }
  p.add(pointer, 'error.payload.type', { expected: 'integer|string|object' });
  return undefined;
}

function isoDateTime(value: unknown, pointer: string, p: Problems): string | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value !== 'string' || !ISO_WITH_OFFSET.test(value) || Number.isNaN(Date.parse(value))) {
    p.add(pointer, 'error.payload.date_time', { format: 'Y-m-d\\TH:i:sP', value });
    return undefined;
  }
  return value;
}

/** A bulk body: an array of 1..10000 items (pointer `` for the whole body). */
function bulkArray(body: unknown, p: Problems): unknown[] | undefined {
  if (!Array.isArray(body)) {
    p.add('', 'error.payload.type', { expected: 'array' });
    return undefined;
  }
  if (body.length < 1) {
    p.add('', 'error.payload.min_count', { min: 1, count: body.length });
    return undefined;
  }
  if (body.length > MW_SIM_BULK_LIMIT) {
    p.add('', 'error.payload.max_count', { max: MW_SIM_BULK_LIMIT, count: body.length });
    return undefined;
  }
  return body;
}

const itemObject = (item: unknown, pointer: string, p: Problems): Record<string, unknown> | undefined => {
  if (isRecord(item)) return item;
  p.add(pointer, 'error.payload.type', { expected: 'object' });
  return undefined;
};

// Parsed bulk items.

interface StockItem {
  ref: string;
  quantity: number;
}

/**
 * `movements/bulk` ('movement': identifier + the required movement object, api-doc.txt Bulk Stock
 * Movement) or the deprecated `PUT /spare-parts/stock` ('flat': identifier + `quantity`).
 */
function stockItem(
  item: unknown,
  index: number,
  p: Problems,
  shape: 'movement' | 'flat',
): StockItem | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const ref = sparePartIdentifier(o.id, `${at}/id`, p);
  const quantity =
    shape === 'flat'
      ? nonNegativeInteger(o.quantity, `${at}/quantity`, p)
      : movementQuantity(o[MW_STOCK_MOVEMENT.key], `${at}/${MW_STOCK_MOVEMENT.key}`, p);
  return ref === undefined || quantity === undefined ? undefined : { ref, quantity };
}

/**
 * The movement object is required (a flat `{id, quantity}` item lacks it: 400). Its fields are the
 * connector's named assumption (MW_STOCK_MOVEMENT): `{type: 'inventory', quantity: integer >= 0}`.
 */
function movementQuantity(value: unknown, pointer: string, p: Problems): number | undefined {
  const movement = requiredObject(value, pointer, p);
  if (!movement) return undefined;
  if (movement.type === undefined) p.add(`${pointer}/type`, 'error.payload.required');
  else if (movement.type !== MW_STOCK_MOVEMENT.type) {
    p.add(`${pointer}/type`, 'error.payload.choice', {
      choices: [MW_STOCK_MOVEMENT.type],
      value: movement.type,
    });
  }
  return nonNegativeInteger(movement.quantity, `${pointer}/quantity`, p);
}

/** A property the doc types as `object` and marks required. */
function requiredObject(value: unknown, pointer: string, p: Problems): Record<string, unknown> | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (!isRecord(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'object' });
    return undefined;
  }
  return value;
}

/** `costCenter` and the like: a string the doc gives no length for (any, even empty). */
const ANY_LENGTH = { min: 0, max: Number.POSITIVE_INFINITY };
/** An identifier string the doc gives no length for: non-empty (an empty one names nothing). */
const NON_EMPTY = { min: 1, max: Number.POSITIVE_INFINITY };

interface CreateItem {
  externalReference: string;
  name: string;
  description: string | null;
  minimumStock: number | null;
  maximumStock: number | null;
  unitPrice: { amount: number; currency: string };
  gtin: string | null;
  costCenter: string | null;
  /** From the assumed `location.locationName`; the main store when the object names none. */
  location: string;
}

/**
 * `POST /spare-parts`: `externalReference` and `name` required, plus the two required objects whose
 * names the doc lost (MW_SPARE_PART_REQUIRED_OBJECTS: `unitPrice`, `location`).
 */
function createItem(item: unknown, index: number, p: Problems): CreateItem | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const externalReference = requiredString(o.externalReference, `${at}/externalReference`, p, NON_EMPTY);
  const name = requiredString(o.name, `${at}/name`, p, { min: 3, max: 255 });
  const description = requiredString(o.description, `${at}/description`, p, { min: 3, max: 3000 }, false);
  const objects = Object.fromEntries(
    MW_SPARE_PART_REQUIRED_OBJECTS.map((key) => [key, requiredObject(o[key], `${at}/${key}`, p)]),
  );
  const price = objects.unitPrice && unitPrice(objects.unitPrice, `${at}/unitPrice`, p);
  const location = objects.location && stockLocation(objects.location, `${at}/location`, p);
  const minimumStock = nonNegativeInteger(o.minimumStock, `${at}/minimumStock`, p, false);
  const maximumStock = nonNegativeInteger(o.maximumStock, `${at}/maximumStock`, p, false);
  const code = o.gtin === null ? typeError(`${at}/gtin`, 'string', p) : gtin(o.gtin, `${at}/gtin`, p);
  const costCenter = requiredString(o.costCenter, `${at}/costCenter`, p, ANY_LENGTH, false);
  if (externalReference === undefined || name === undefined || !price || location === undefined) {
    return undefined;
  }
  return {
    externalReference,
    name,
    description: description ?? null,
    minimumStock: minimumStock ?? null,
    maximumStock: maximumStock ?? null,
    unitPrice: price,
    gtin: code ?? null,
    costCenter: costCenter ?? null,
    location,
  };
}

/** The assumed `{locationName}` of the create's location object; other fields pass. */
function stockLocation(value: Record<string, unknown>, pointer: string, p: Problems): string | undefined {
  if (value.locationName === undefined) return MAIN_STORE;
  return requiredString(value.locationName, `${pointer}/locationName`, p, { min: 1, max: 255 });
}

function typeError(pointer: string, expected: string, p: Problems): undefined {
  p.add(pointer, 'error.payload.type', { expected });
  return undefined;
}

type AttributeChanges = Partial<
  Pick<
    MwSimSparePart,
    | 'name'
    | 'description'
    | 'externalReference'
    | 'minimumStock'
    | 'maximumStock'
    | 'replenishmentLot'
    | 'unitPrice'
    | 'gtin'
    | 'costCenter'
  >
>;

/**
 * `POST /spare-parts/attributes`: only `id` is required; an omitted field is left alone and `null`
 * unsets it ("To unset an attribute, set it to null"), except `name` and `externalReference`, which
 * a part cannot be without (simulator choice: null is a type error there).
 */
function attributesItem(
  item: unknown,
  index: number,
  p: Problems,
): { ref: string; changes: AttributeChanges } | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const ref = sparePartIdentifier(o.id, `${at}/id`, p);
  const changes: AttributeChanges = {};
  const set = <K extends keyof AttributeChanges>(key: K, value: AttributeChanges[K] | undefined) => {
    if (value !== undefined) changes[key] = value;
  };
  if (o.name !== undefined) set('name', requiredString(o.name, `${at}/name`, p, { min: 3, max: 255 }));
  if (o.externalReference !== undefined) {
    set('externalReference', requiredString(o.externalReference, `${at}/externalReference`, p, NON_EMPTY));
  }
  set('description', nullableString(o.description, `${at}/description`, p, { min: 3, max: 3000 }));
  for (const key of ['minimumStock', 'maximumStock', 'replenishmentLot'] as const) {
    set(key, nullableNonNegativeNumber(o[key], `${at}/${key}`, p));
  }
  if (o.unitPrice !== undefined) {
    set('unitPrice', o.unitPrice === null ? null : unitPrice(o.unitPrice, `${at}/unitPrice`, p));
  }
  set('gtin', gtin(o.gtin, `${at}/gtin`, p));
  set('costCenter', nullableString(o.costCenter, `${at}/costCenter`, p, ANY_LENGTH));
  return ref === undefined ? undefined : { ref, changes };
}

interface EquipmentChanges {
  id: EquipmentIdentifier;
  name?: string;
  itemCode?: string | null;
}

/**
 * `POST /equipment/attributes`: only `id` is required; the others are checked as documented (name
 * 3..255, description 3..3000, gtin pattern, costCenter 3..255, itemCode 1..255, tags strings) and
 * may be `null` to unset ("To unset an attribute, set it to null"), except `name` (as above).
 * Only `name` and `itemCode` are kept: the simulator's equipment has no other field.
 */
function equipmentAttributesItem(item: unknown, index: number, p: Problems): EquipmentChanges | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const id = equipmentIdentifier(o.id, `${at}/id`, p);
  const name = requiredString(o.name, `${at}/name`, p, { min: 3, max: 255 }, false);
  const itemCode = nullableString(o.itemCode, `${at}/itemCode`, p, { min: 1, max: 255 });
  nullableString(o.description, `${at}/description`, p, { min: 3, max: 3000 });
  gtin(o.gtin, `${at}/gtin`, p);
  nullableString(o.costCenter, `${at}/costCenter`, p, { min: 3, max: 255 });
  stringList(o.tags, `${at}/tags`, p);
  if (!id) return undefined;
  return { id, ...(name !== undefined ? { name } : {}), ...(itemCode !== undefined ? { itemCode } : {}) };
}

/** An optional, nullable `Array of strings`. */
function stringList(value: unknown, pointer: string, p: Problems): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'array' });
    return;
  }
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string') p.add(`${pointer}/${i}`, 'error.payload.type', { expected: 'string' });
  });
}

function locationItem(item: unknown, index: number, p: Problems): { name: string } | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const name = requiredString(o.name, `${at}/name`, p, { min: 1, max: 255 });
  if (name !== undefined && !/^(?!$)\w/.test(name)) {
    p.add(`${at}/name`, 'error.payload.pattern', { pattern: '^(?!$)\\w' });
    return undefined;
  }
  return name === undefined ? undefined : { name };
}

function relocateItem(
  item: unknown,
  index: number,
  p: Problems,
): { ref: string; source: string | null; target: string } | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const ref = sparePartIdentifier(o.sparePartId, `${at}/sparePartId`, p);
  const locationName = (value: unknown, pointer: string, required: boolean): string | null | undefined => {
    if (value === undefined) {
      if (required) p.add(pointer, 'error.payload.required');
      return required ? undefined : null;
    }
    if (!isRecord(value)) {
      p.add(pointer, 'error.payload.type', { expected: 'object' });
      return undefined;
    }
    return requiredString(value.locationName, `${pointer}/locationName`, p, { min: 1, max: 255 });
  };
  const source = locationName(o.source, `${at}/source`, false);
  const target = locationName(o.target, `${at}/target`, true);
  if (ref === undefined || source === undefined || typeof target !== 'string') return undefined;
  return { ref, source, target };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The simulator.

interface PendingEntry {
  record: MwSimPendingWrite;
  timer: ReturnType<typeof setTimeout>;
}

export async function startMobilityWorkSimulator(
  options: MobilityWorkSimulatorOptions,
): Promise<MobilityWorkSimulator> {
  const { clock } = options;
  const networkId = options.networkId ?? MW_SIM_DEFAULT_NETWORK_ID;
  const plan: MwPlan = options.plan ?? 'premium';
  const applyDelayMs = options.applyDelayMs ?? 300;
  const emitOnApiWrites = options.emitOnApiWrites ?? true;
  const fetchFn = options.fetch ?? fetch;

  let equipment: MwSimEquipment[] = SEED_EQUIPMENT.map((e) => ({ ...e }));
  let locations: string[] = [MAIN_STORE];
  let spareParts: MwSimSparePart[] = seedParts();
  let partCounter = spareParts.length;
  let tasks: MwSimTask[] = [];
  let activities: MwSimActivity[] = [];
  let pending: PendingEntry[] = [];
  let rejectedItems: MwSimRejectedItem[] = [];
  let writeCounter = 0;
  let deliveries: MwSimDelivery[] = [];
  let events: MwSimEvent[] = [];
  let deliveryCounter = 0;
  /** Tail of the sequential delivery queue. */
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const now = () => mwTime(clock.now());

  // -------------------------------------------------------------------------------------------
  // Webhooks.

  async function deliver(target: MobilityWorkWebhookTarget, n: number, event: MwSimEvent): Promise<void> {
    const rawBody = JSON.stringify(event.payload);
    const retryDelayMs = target.retryDelayMs ?? 50;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const nonce = randomBytes(20).toString('hex');
      const record: MwSimDelivery = {
        delivery: n,
        event: event.event,
        idempotencyKey: event.payload._idempotencyKey,
        subject: event.subject,
        attempt,
        nonce,
        outcome: 'retrying',
      };
      deliveries.push(record);
      if (closed) {
        record.error = 'simulator closed';
        record.outcome = 'failed';
        return;
      }
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': MW_SIM_WEBHOOK_USER_AGENT,
      };
      if (target.secret) {
        headers['X-MW-Signature'] = signMobilityWorkWebhook({
          secret: target.secret,
          scheme: target.scheme,
          t: Math.floor(clock.now().getTime() / 1000),
          nonce,
          rawBody,
        });
      }
      try {
        const res = await fetchFn(target.url, {
          method: 'POST',
          headers,
          body: rawBody,
          signal: AbortSignal.timeout(target.timeoutMs ?? 5_000),
        });
        record.status = res.status;
        await res.arrayBuffer().catch(() => undefined);
        // "must respond with the HTTP code 200, otherwise ... marked as failed": exactly 200.
        if (res.status === 200) {
          record.outcome = 'delivered';
          return;
        }
        record.error = `HTTP ${res.status}`;
      } catch (error) {
        record.error = (error as Error)?.message ?? String(error);
      }
      if (attempt === 3) {
        record.outcome = 'failed';
        return;
      }
      await sleep(retryDelayMs);
    }
  }

  function emit(event: MwSimEventName, subject: string, fields: Record<string, unknown>): void {
    const payload = {
      _event: event,
      _idempotencyKey: mwIdempotencyKey(),
      ...fields,
      networkId,
    } as MwSimPayload;
    const target = options.webhook;
    const sent = target !== undefined && plan !== 'starter';
    const record: MwSimEvent = { event, subject, sent, payload };
    events.push(record);
    if (!sent) return;
    const n = ++deliveryCounter;
    queue = queue.then(() => deliver(target, n, record)).catch(() => undefined);
  }

  const partRef = (part: MwSimSparePart) => ({
    id: part.id,
    externalReference: part.externalReference,
    name: part.name,
  });
  const userRef = (user: MwSimUser) => ({ id: user.id, email: user.email, name: user.name });
  const taskMetadata = (task: MwSimTask): unknown =>
    Object.keys(task.metadata).length === 0 && options.emptyTaskMetadata === 'array'
      ? []
      : structuredClone(task.metadata);
  const taskContext = (task: MwSimTask) => ({
    associatedTo: { equipment: { ...task.equipment } },
    tags: [],
    requiredSpareParts: [],
    metadata: taskMetadata(task),
  });

  function afterStockChange(
    part: MwSimSparePart,
    previous: number,
    movement: { type: 'consumption' | 'inventory' | 'replenishment'; quantity: number },
  ): void {
    const threshold = {
      _date: now(),
      _metadata: null,
      stock: { quantity: part.stock, minimumStock: part.minimumStock },
      sparePart: partRef(part),
      movement,
    };
    const min = part.minimumStock;
    if (min !== null && previous > min && part.stock <= min) {
      emit('SparePartStockWasUnderMinThreshold', part.externalReference, threshold);
    }
    if (previous > 0 && part.stock === 0) {
      emit('SparePartWasOutOfStock', part.externalReference, { ...threshold, _date: now() });
    }
  }

  /** Absolute set (recount). `emitEvents` false = an API write with emitOnApiWrites off. */
  function setStock(part: MwSimSparePart, quantity: number, initiator: MwSimUser, emitEvents: boolean): void {
    const previous = part.stock;
    part.stock = quantity;
    if (!emitEvents) return;
    const at = now();
    emit('SparePartWasManuallyRecounted', part.externalReference, {
      _type: 'SparePartWasManuallyRecountedWebhook',
      _sentAt: at,
      emittedAt: at,
      _metadata: '',
      sparePart: partRef(part),
      location: { name: part.location },
      initiator: userRef(initiator),
      recounted: { quantity, previousStock: previous },
    });
    afterStockChange(part, previous, { type: 'inventory', quantity });
  }

  function consumeStock(
    part: MwSimSparePart,
    quantity: number,
    initiator: MwSimUser,
    taskId: string | null,
  ): void {
    const previous = part.stock;
    part.stock = previous - quantity;
    const at = now();
    emit('SparePartWasConsumed', part.externalReference, {
      _type: 'SparePartWasConsumedWebhook',
      _sentAt: at,
      emittedAt: at,
      _metadata: '',
      task: taskId === null ? null : { id: taskId },
      sparePart: partRef(part),
      location: { name: part.location },
      initiator: userRef(initiator),
      consumed: { _type: 'SparePartConsumption', quantity, previousStock: previous },
    });
    afterStockChange(part, previous, { type: 'consumption', quantity });
  }

  function restockStock(part: MwSimSparePart, quantity: number, initiator: MwSimUser): void {
    const previous = part.stock;
    part.stock = previous + quantity;
    const at = now();
    emit('SparePartWasRestocked', part.externalReference, {
      _type: 'SparePartWasRestockedWebhook',
      _sentAt: at,
      emittedAt: at,
      _metadata: '',
      task: null,
      sparePart: partRef(part),
      location: { name: part.location },
      initiator: userRef(initiator),
      restocked: { quantity, previousStock: previous },
    });
    // A restock only raises the stock: no threshold event can follow.
  }

  // -------------------------------------------------------------------------------------------
  // 202 writes.

  /**
   * How each bulk endpoint applies an accepted write, by `METHOD /path`. A pending write is kept as
   * its request items only, so one restored from disk is applied exactly like one accepted just now.
   */
  const bulkAppliers = new Map<string, (items: unknown[], writeId: number) => void>();

  function applyUpTo(id: number): void {
    // Once closed, pending writes belong to the saved state (and the next instance).
    if (closed) return;
    let applied = false;
    while (pending.length > 0 && (pending[0]?.record.id ?? Number.POSITIVE_INFINITY) <= id) {
      const entry = pending.shift() as PendingEntry;
      clearTimeout(entry.timer);
      bulkAppliers.get(entry.record.endpoint)?.(entry.record.items, entry.record.id);
      applied = true;
    }
    if (applied) commitApplied();
  }

  /** A 202 write applied on a timer changes state outside any request: save it then. */
  function commitApplied(): void {
    try {
      persistence.commit();
    } catch (error) {
      // No caller to answer: say it where the sandbox's operator sees it.
      console.error(`[mobility-work-sim] ${(error as Error).message}`);
    }
  }

  function scheduleWrite(record: MwSimPendingWrite): void {
    const timer = setTimeout(() => applyUpTo(record.id), applyDelayMs);
    timer.unref();
    pending.push({ record, timer });
  }

  function queueWrite(endpoint: string, items: unknown[]): void {
    const id = ++writeCounter;
    scheduleWrite({ id, endpoint, acceptedAt: now(), items: structuredClone(items) });
  }

  const partsByRef = (ref: string) => spareParts.filter((part) => part.externalReference === ref);

  function reject(
    writeId: number,
    endpoint: string,
    index: number,
    identifier: unknown,
    reason: string,
  ): void {
    rejectedItems.push({ writeId, endpoint, index, identifier, reason });
  }

  // -------------------------------------------------------------------------------------------
  // Tasks.

  const newTaskId = (): string => {
    for (;;) {
      const id = randomBytes(4).toString('hex');
      if (!tasks.some((t) => t.id === id)) return id;
    }
  };

  function resolveEquipment(id: EquipmentIdentifier): MwSimEquipment | undefined {
    return id.type === 'native'
      ? equipment.find((e) => e.id === id.value)
      : equipment.find((e) => e.itemCode !== null && e.itemCode === id.value);
  }

  function scheduleTask(
    fields: Omit<
      MwSimTask,
      'id' | 'legacyId' | 'state' | 'createdAt' | 'startedAt' | 'doneAt' | 'canceledAt' | 'cancelReason'
    >,
  ): MwSimTask {
    const id = newTaskId();
    const task: MwSimTask = {
      id,
      legacyId: id,
      state: 'scheduled',
      ...fields,
      createdAt: now(),
      startedAt: null,
      doneAt: null,
      canceledAt: null,
      cancelReason: null,
    };
    tasks.push(task);
    emit('TaskWasScheduled', task.id, {
      taskId: task.id,
      scheduled: { at: task.createdAt, startDateTime: task.startDateTime, endDateTime: task.endDateTime },
      ...taskContext(task),
    });
    return task;
  }

  function resolveUser(value: unknown, pointer: string, p: Problems): MwSimUser | undefined {
    let type: 'native' | 'email';
    let raw: unknown = value;
    if (typeof value === 'number') type = 'native';
    else if (typeof value === 'string') type = 'email';
    else if (isRecord(value) && (value.type === 'native' || value.type === 'email')) {
      type = value.type;
      raw = value.value;
    } else {
      p.add(pointer, 'error.payload.type', { expected: 'integer|string|object' });
      return undefined;
    }
    const user = MW_SIM_USERS.find((u) =>
      type === 'native'
        ? u.id === raw
        : typeof raw === 'string' && u.email.toLowerCase() === raw.toLowerCase(),
    );
    if (!user) p.add(pointer, 'error.payload.assignees.unknown', { type, value: raw });
    return user;
  }

  function createTask(body: unknown): SimResponse {
    const p = new Problems();
    if (!isRecord(body)) {
      p.add('', 'error.payload.type', { expected: 'object' });
      return invalidPayload(p);
    }
    const equipmentId = equipmentIdentifier(body.equipment, '/equipment', p);
    const found = equipmentId ? resolveEquipment(equipmentId) : undefined;
    if (equipmentId && !found) {
      p.add('/equipment', 'error.payload.equipment.unknown', {
        type: equipmentId.type,
        value: equipmentId.value,
      });
    }
    const description = requiredString(body.description, '/description', p, { min: 3, max: 3000 });
    const start = isoDateTime(body.startDateTime, '/startDateTime', p);
    const end = isoDateTime(body.endDateTime, '/endDateTime', p);
    if (start && end && Date.parse(end) < Date.parse(start)) {
      p.add('/endDateTime', 'error.payload.date_time.before', { before: start, value: end });
    }
    if (body.allDay === undefined) p.add('/allDay', 'error.payload.required');
    else if (typeof body.allDay !== 'boolean')
      p.add('/allDay', 'error.payload.type', { expected: 'boolean' });
    const assignees: MwSimUser[] = [];
    if (body.assignees === undefined) p.add('/assignees', 'error.payload.required');
    else if (!Array.isArray(body.assignees)) p.add('/assignees', 'error.payload.type', { expected: 'array' });
    else if (body.assignees.length === 0)
      p.add('/assignees', 'error.payload.min_count', { min: 1, count: 0 });
    else {
      body.assignees.forEach((value: unknown, i) => {
        const user = resolveUser(value, `/assignees/${i}`, p);
        if (user && !assignees.includes(user)) assignees.push(user);
      });
    }
    let tags: unknown[] = [];
    if (body.tags !== undefined) {
      if (!Array.isArray(body.tags)) p.add('/tags', 'error.payload.type', { expected: 'array' });
      else {
        body.tags.forEach((tag: unknown, i) => {
          if (
            typeof tag !== 'string' &&
            !(typeof tag === 'number' && Number.isInteger(tag)) &&
            !isRecord(tag)
          ) {
            p.add(`/tags/${i}`, 'error.payload.type', { expected: 'integer|string|object' });
          }
        });
        tags = body.tags;
      }
    }
    if (body.checklist !== undefined && body.checklist !== null) {
      if (typeof body.checklist !== 'string' || !UUID.test(body.checklist)) {
        p.add('/checklist', 'error.payload.format', { format: 'uuid' });
      }
    }
    for (const flag of ['sendEmailToAssignees', 'inheritEquipmentTags', 'emailToCreator'] as const) {
      if (body[flag] !== undefined && typeof body[flag] !== 'boolean') {
        p.add(`/${flag}`, 'error.payload.type', { expected: 'boolean' });
      }
    }
    if (body.metadata !== undefined && !isRecord(body.metadata)) {
      p.add('/metadata', 'error.payload.type', { expected: 'object' });
    }
    if (!p.empty || !found || description === undefined || !start || !end) return invalidPayload(p);
    scheduleTask({
      equipment: { ...found },
      description,
      startDateTime: start,
      endDateTime: end,
      allDay: body.allDay as boolean,
      assignees: assignees.map((u) => ({ ...u })),
      tags: structuredClone(tags),
      metadata: isRecord(body.metadata) ? structuredClone(body.metadata) : {},
      origin: { type: 'api' },
    });
    return json(201, null);
  }

  function triggerPlan(planId: string, body: unknown): SimResponse {
    const p = new Problems();
    if (!UUID.test(planId))
      p.add('/maintenancePlanId', 'error.payload.format', { format: 'uuid', value: planId });
    const maintenancePlan = SEED_PLANS.find((m) => m.id === planId.toLowerCase());
    if (p.empty && !maintenancePlan) {
      p.add('/maintenancePlanId', 'error.payload.maintenance_plan.unknown', { value: planId });
    }
    if (body !== undefined && !isRecord(body)) p.add('', 'error.payload.type', { expected: 'object' });
    const metadata = isRecord(body) ? body.metadata : undefined;
    if (metadata !== undefined && !isRecord(metadata))
      p.add('/metadata', 'error.payload.type', { expected: 'object' });
    const found = maintenancePlan ? equipment.find((e) => e.id === maintenancePlan.equipmentId) : undefined;
    if (!p.empty || !maintenancePlan || !found) return invalidPayload(p);
    const startMs = clock.now().getTime();
    scheduleTask({
      equipment: { ...found },
      description: maintenancePlan.description,
      startDateTime: mwTime(new Date(startMs)),
      endDateTime: mwTime(new Date(startMs + maintenancePlan.durationMinutes * 60_000)),
      allDay: false,
      assignees: MW_SIM_USERS.filter((u) => maintenancePlan.assigneeIds.includes(u.id)).map((u) => ({
        ...u,
      })),
      tags: [],
      metadata: isRecord(metadata) ? structuredClone(metadata) : {},
      origin: { type: 'maintenance-plan', maintenancePlanId: maintenancePlan.id },
    });
    return json(204, undefined);
  }

  // -------------------------------------------------------------------------------------------
  // User actions (control API).

  function initiatorOf(value: number | string | undefined, fallback: MwSimUser): MwSimUser {
    if (value === undefined) return fallback;
    const user = MW_SIM_USERS.find((u) => (typeof value === 'number' ? u.id === value : u.email === value));
    if (!user) throw new MobilityWorkSimError(400, `unknown user ${String(value)}`);
    return user;
  }
  const defaultUser = MW_SIM_USERS[0] as MwSimUser;

  function partFor(externalReference: string): MwSimSparePart {
    const part = spareParts.find((p) => p.externalReference === externalReference);
    if (!part) throw new MobilityWorkSimError(404, `unknown spare part ${externalReference}`);
    return part;
  }
  function checkQuantity(quantity: unknown, min: number): number {
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < min) {
      throw new MobilityWorkSimError(400, `quantity must be an integer >= ${min}`);
    }
    return quantity;
  }
  function taskFor(taskId: string): MwSimTask {
    const task = tasks.find((t) => t.id === taskId);
    if (!task) throw new MobilityWorkSimError(404, `unknown task ${taskId}`);
    return task;
  }
  function transition(task: MwSimTask, from: MwSimTaskState[], to: MwSimTaskState): void {
    if (!from.includes(task.state)) {
      throw new MobilityWorkSimError(409, `task ${task.id} is ${task.state}, cannot become ${to}`);
    }
    task.state = to;
  }

  const consume: MobilityWorkSimulator['consume'] = (externalReference, quantity, opts = {}) => {
    const part = partFor(externalReference);
    checkQuantity(quantity, 1);
    if (quantity > part.stock) {
      throw new MobilityWorkSimError(
        409,
        `cannot consume ${quantity}: ${externalReference} has ${part.stock}`,
      );
    }
    consumeStock(part, quantity, initiatorOf(opts.initiator, defaultUser), opts.taskId ?? null);
    return structuredClone(part);
  };

  const restock: MobilityWorkSimulator['restock'] = (externalReference, quantity, opts = {}) => {
    const part = partFor(externalReference);
    restockStock(part, checkQuantity(quantity, 1), initiatorOf(opts.initiator, defaultUser));
    return structuredClone(part);
  };

  const recount: MobilityWorkSimulator['recount'] = (externalReference, quantity, opts = {}) => {
    const part = partFor(externalReference);
    setStock(part, checkQuantity(quantity, 0), initiatorOf(opts.initiator, defaultUser), true);
    return structuredClone(part);
  };

  const startTask: MobilityWorkSimulator['startTask'] = (taskId) => {
    const task = taskFor(taskId);
    transition(task, ['scheduled'], 'started');
    task.startedAt = now();
    emit('TaskWasStarted', task.id, {
      taskId: task.id,
      started: { at: task.startedAt },
      ...taskContext(task),
    });
    return structuredClone(task);
  };

  const completeTask: MobilityWorkSimulator['completeTask'] = (taskId, opts = {}) => {
    const task = taskFor(taskId);
    const initiator = initiatorOf(opts.initiator, task.assignees[0] ?? defaultUser);
    transition(task, ['scheduled', 'started'], 'completed');
    task.doneAt = now();
    emit('TaskWasCompleted', task.id, {
      legacyId: task.legacyId,
      id: task.id,
      doneAt: task.doneAt,
      initiator: userRef(initiator),
      ...taskContext(task),
    });
    return structuredClone(task);
  };

  const cancelTask: MobilityWorkSimulator['cancelTask'] = (taskId, opts = {}) => {
    const task = taskFor(taskId);
    initiatorOf(opts.initiator, defaultUser);
    transition(task, ['scheduled', 'started'], 'canceled');
    task.canceledAt = now();
    task.cancelReason = opts.reason ?? null;
    emit('TaskWasCanceled', task.id, {
      taskId: task.id,
      canceled: { at: task.canceledAt, reason: task.cancelReason },
      ...taskContext(task),
    });
    return structuredClone(task);
  };

  const findTaskByMetadata: MobilityWorkSimulator['findTaskByMetadata'] = (key, value) => {
    const task = tasks.find((t) => t.metadata[key] === value);
    return task ? structuredClone(task) : undefined;
  };

  const addActivity: MobilityWorkSimulator['addActivity'] = (taskId, opts = {}) => {
    const task = taskFor(taskId);
    if (task.state === 'canceled') throw new MobilityWorkSimError(409, `task ${task.id} is canceled`);
    const initiator = initiatorOf(opts.initiator, defaultUser);
    const wanted = new Map<MwSimSparePart, number>();
    for (const c of opts.consume ?? []) {
      const part = partFor(c.externalReference);
      wanted.set(part, (wanted.get(part) ?? 0) + checkQuantity(c.quantity, 1));
    }
    for (const [part, quantity] of wanted) {
      if (quantity > part.stock) {
        throw new MobilityWorkSimError(
          409,
          `cannot consume ${quantity}: ${part.externalReference} has ${part.stock}`,
        );
      }
    }
    const activity: MwSimActivity = {
      id: randomUUID(),
      taskId: task.id,
      comment: opts.comment ?? null,
      consumptions: [],
      createdAt: now(),
    };
    activities.push(activity);
    emit('ActivityWasAddedOnTask', task.id, {
      _type: 'ActivityWasAddedOnTaskWebhook',
      _sentAt: activity.createdAt,
      _metadata: [],
      emittedAt: activity.createdAt,
      task: { id: task.id },
      equipment: { id: task.equipment.id },
      activity: { id: activity.id, comment: activity.comment },
      requiredSpareParts: [],
    });
    for (const c of opts.consume ?? []) {
      const part = partFor(c.externalReference);
      consumeStock(part, c.quantity, initiator, task.id);
      activity.consumptions.push({ sparePartId: part.id, quantity: c.quantity, canceled: false });
    }
    return structuredClone(activity);
  };

  const cancelConsumption: MobilityWorkSimulator['cancelConsumption'] = (activityId) => {
    const activity = activities.find((a) => a.id === activityId);
    if (!activity) throw new MobilityWorkSimError(404, `unknown activity ${activityId}`);
    const open = activity.consumptions.filter((c) => !c.canceled);
    if (open.length === 0)
      throw new MobilityWorkSimError(409, `activity ${activityId} has no consumption to cancel`);
    for (const consumption of open) {
      consumption.canceled = true;
      const part = spareParts.find((p) => p.id === consumption.sparePartId);
      if (!part) continue;
      part.stock += consumption.quantity;
      const at = now();
      emit('SparePartConsumptionWasCanceled', part.externalReference, {
        _type: 'SparePartConsumptionWasCanceledWebhook',
        _sentAt: at,
        emittedAt: at,
        _metadata: '',
        task: { id: activity.taskId },
        sparePart: partRef(part),
        activity: { id: activity.id },
        location: { name: part.location },
      });
    }
    return structuredClone(activity);
  };

  // -------------------------------------------------------------------------------------------
  // Routes.

  /** An `Api-Key` route answering in MW's format, with a `Request-Id` header. */
  const api = (
    method: string,
    pattern: string,
    handler: (req: SimRequest) => SimResponse,
    premiumOnly = false,
  ): Route => ({
    method,
    pattern,
    handler: (req) => {
      const header = req.headers['api-key'];
      const key = Array.isArray(header) ? header[0] : header;
      let response: SimResponse;
      if (key !== options.apiKey) response = authError();
      else if (premiumOnly && plan === 'starter') response = planError(plan);
      else if (req.rawBody.trim() !== '' && req.json === undefined) {
        const p = new Problems();
        p.global.push({ messageKey: 'error.payload.malformed_json', parameters: {} });
        response = invalidPayload(p);
      } else response = handler(req);
      return { ...response, headers: { ...response.headers, 'request-id': randomUUID() } };
    },
  });

  /** A bulk 202 route: validate the whole body synchronously, queue the write. */
  function bulk<T>(
    method: string,
    path: string,
    parseItem: (item: unknown, index: number, p: Problems) => T | undefined,
    apply: (items: T[], writeId: number, endpoint: string) => void,
    premiumOnly = false,
  ): Route {
    const endpoint = `${method} ${path}`;
    const parseAll = (raw: unknown[], p: Problems): T[] => {
      const items: T[] = [];
      raw.forEach((item, index) => {
        const parsed = parseItem(item, index, p);
        if (parsed !== undefined) items.push(parsed);
      });
      return items;
    };
    // The items were valid when accepted; parsing them again at apply time gives the same values.
    bulkAppliers.set(endpoint, (raw, writeId) => apply(parseAll(raw, new Problems()), writeId, endpoint));
    return api(
      method,
      path,
      (req) => {
        const p = new Problems();
        const raw = bulkArray(req.json, p);
        if (!raw) return invalidPayload(p);
        parseAll(raw, p);
        if (!p.empty) return invalidPayload(p);
        queueWrite(endpoint, raw);
        return json(202, null);
      },
      premiumOnly,
    );
  }

  const applyStockItems = (items: StockItem[], writeId: number, endpoint: string) => {
    items.forEach((item, index) => {
      const parts = partsByRef(item.ref);
      if (parts.length === 0) reject(writeId, endpoint, index, item.ref, 'unknown spare part');
      for (const part of parts) setStock(part, item.quantity, MW_SIM_API_USER, emitOnApiWrites);
    });
  };

  const routes: Route[] = [
    api('GET', '/partners/v1/network/settings', () => json(200, { networkId, ...MW_SIM_NETWORK_SETTINGS })),
    api('POST', '/partners/v1/tasks', (req) => createTask(req.json)),
    api('POST', '/partners/maintenance-plans/trigger/:planId', (req) =>
      triggerPlan(req.params.planId ?? '', req.json),
    ),
    bulk('POST', '/partners/v1/spare-parts', createItem, (items) => {
      for (const item of items) {
        partCounter++;
        spareParts.push({ id: `sp-${partCounter}`, ...item, stock: 0, replenishmentLot: null });
      }
    }),
    bulk('POST', '/partners/v1/spare-parts/attributes', attributesItem, (items, writeId, endpoint) => {
      items.forEach((item, index) => {
        const parts = partsByRef(item.ref);
        if (parts.length === 0) reject(writeId, endpoint, index, item.ref, 'unknown spare part');
        for (const part of parts) Object.assign(part, structuredClone(item.changes));
      });
    }),
    bulk(
      'POST',
      '/partners/v1/spare-parts/movements/bulk',
      (item, index, p) => stockItem(item, index, p, 'movement'),
      applyStockItems,
    ),
    bulk(
      'PUT',
      '/partners/v1/spare-parts/stock',
      (item, index, p) => stockItem(item, index, p, 'flat'),
      applyStockItems,
      true,
    ),
    bulk(
      'POST',
      '/partners/v1/equipment/attributes',
      equipmentAttributesItem,
      (items, writeId, endpoint) => {
        for (const [index, item] of items.entries()) {
          const found = resolveEquipment(item.id);
          if (!found) {
            reject(writeId, endpoint, index, item.id, 'unknown equipment');
            continue;
          }
          if (item.name !== undefined) found.name = item.name;
          if (item.itemCode !== undefined) found.itemCode = item.itemCode;
        }
      },
      true,
    ),
    bulk(
      'POST',
      '/partners/v1/locations/create/bulk',
      locationItem,
      (items) => {
        for (const item of items) if (!locations.includes(item.name)) locations.push(item.name);
      },
      true,
    ),
    bulk(
      'POST',
      '/partners/v1/spare-parts/relocate/bulk',
      relocateItem,
      (items, writeId, endpoint) => {
        for (const [index, item] of items.entries()) {
          const parts = partsByRef(item.ref).filter(
            (part) => item.source === null || part.location === item.source,
          );
          if (parts.length === 0) reject(writeId, endpoint, index, item.ref, 'unknown spare part');
          else if (!locations.includes(item.target))
            reject(writeId, endpoint, index, item.ref, 'unknown location');
          else for (const part of parts) part.location = item.target;
        }
      },
      true,
    ),
  ];

  // Control API (no auth).
  const control =
    (action: (req: SimRequest, body: Record<string, unknown>) => unknown) =>
    (req: SimRequest): SimResponse => {
      const body = isRecord(req.json) ? req.json : {};
      try {
        return json(200, action(req, body));
      } catch (error) {
        if (error instanceof MobilityWorkSimError) return json(error.status, { message: error.message });
        throw error;
      }
    };
  const initiatorParam = (value: unknown): number | string | undefined => {
    if (value === undefined || typeof value === 'number' || typeof value === 'string') return value;
    throw new MobilityWorkSimError(400, 'initiator must be a user id or e-mail');
  };
  const reasonParam = (value: unknown): string | null | undefined => {
    if (value === undefined || value === null || typeof value === 'string') return value;
    throw new MobilityWorkSimError(400, 'reason must be a string or null');
  };
  const consumeParam = (value: unknown): { externalReference: string; quantity: number }[] | undefined => {
    if (value === undefined) return undefined;
    const list = Array.isArray(value) ? value : [value];
    return list.map((c) => {
      if (!isRecord(c) || typeof c.externalReference !== 'string') {
        throw new MobilityWorkSimError(400, 'consume items need externalReference and quantity');
      }
      return { externalReference: c.externalReference, quantity: checkQuantity(c.quantity, 1) };
    });
  };

  type TaskAction = 'start' | 'complete' | 'cancel' | 'activities';
  const TASK_ACTIONS: readonly TaskAction[] = ['start', 'complete', 'cancel', 'activities'];
  const runTaskAction = (taskId: string, action: TaskAction, body: Record<string, unknown>): unknown => {
    const initiator = initiatorParam(body.initiator);
    switch (action) {
      case 'start':
        return startTask(taskId, { initiator });
      case 'complete':
        return completeTask(taskId, { initiator });
      case 'cancel':
        return cancelTask(taskId, { reason: reasonParam(body.reason), initiator });
      case 'activities':
        if (body.comment !== undefined && typeof body.comment !== 'string') {
          throw new MobilityWorkSimError(400, 'comment must be a string');
        }
        return addActivity(taskId, { comment: body.comment, consume: consumeParam(body.consume), initiator });
    }
  };

  routes.push(
    { method: 'GET', pattern: '/_sandbox/state', handler: () => json(200, snapshot()) },
    { method: 'GET', pattern: '/_sandbox/deliveries', handler: () => json(200, { deliveries }) },
    { method: 'GET', pattern: '/_sandbox/events', handler: () => json(200, { events }) },
    {
      method: 'POST',
      pattern: '/_sandbox/settle',
      handler: async () => {
        await settle();
        return json(200, { settled: true, deliveries: deliveries.length });
      },
    },
    {
      method: 'POST',
      pattern: '/_sandbox/reset',
      handler: () => {
        reset();
        return json(200, { reset: true });
      },
    },
    ...(['consume', 'restock', 'recount'] as const).map(
      (action): Route => ({
        method: 'POST',
        pattern: `/_sandbox/spare-parts/:externalReference/${action}`,
        handler: control((req, body) => {
          const ref = req.params.externalReference ?? '';
          const initiator = initiatorParam(body.initiator);
          if (action === 'consume') {
            if (body.taskId !== undefined && typeof body.taskId !== 'string') {
              throw new MobilityWorkSimError(400, 'taskId must be a string');
            }
            return consume(ref, body.quantity as number, { taskId: body.taskId, initiator });
          }
          return action === 'restock'
            ? restock(ref, body.quantity as number, { initiator })
            : recount(ref, body.quantity as number, { initiator });
        }),
      }),
    ),
    // Before `/_sandbox/tasks/:taskId/:action`, which would also match.
    {
      method: 'POST',
      pattern: '/_sandbox/tasks/by-metadata/:action',
      handler: control((req, body) => {
        const action = req.params.action as TaskAction;
        if (!TASK_ACTIONS.includes(action))
          throw new MobilityWorkSimError(404, `unknown task action ${action}`);
        if (typeof body.key !== 'string' || !('value' in body)) {
          throw new MobilityWorkSimError(400, 'body must be {key, value}');
        }
        const task = tasks.find((t) => t.metadata[body.key as string] === body.value);
        if (!task) {
          throw new MobilityWorkSimError(
            404,
            `no task with metadata ${body.key} = ${JSON.stringify(body.value)}`,
          );
        }
        return runTaskAction(task.id, action, body);
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/tasks/:taskId/:action',
      handler: control((req, body) => {
        const action = req.params.action as TaskAction;
        if (!TASK_ACTIONS.includes(action))
          throw new MobilityWorkSimError(404, `unknown task action ${action}`);
        return runTaskAction(req.params.taskId ?? '', action, body);
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/activities/:activityId/cancel-consumption',
      handler: control((req) => cancelConsumption(req.params.activityId ?? '')),
    },
  );

  function snapshot(): MobilityWorkSimState {
    return structuredClone({
      networkId,
      plan,
      equipment,
      users: [...MW_SIM_USERS],
      locations,
      maintenancePlans: [...SEED_PLANS],
      spareParts,
      tasks,
      activities,
      pendingWrites: pending.map((entry) => entry.record),
      rejectedItems,
    });
  }

  async function settle(): Promise<void> {
    for (;;) {
      applyUpTo(Number.POSITIVE_INFINITY);
      const tail = queue;
      await tail;
      if (pending.length === 0 && tail === queue) return;
    }
  }

  function reset(): void {
    for (const entry of pending) clearTimeout(entry.timer);
    pending = [];
    equipment = SEED_EQUIPMENT.map((e) => ({ ...e }));
    locations = [MAIN_STORE];
    spareParts = seedParts();
    partCounter = spareParts.length;
    tasks = [];
    activities = [];
    rejectedItems = [];
    deliveries = [];
    events = [];
    sim.faults.length = 0;
    sim.requests.length = 0;
  }

  function exportState(): MobilityWorkSavedState {
    return structuredClone({
      simulator: 'mobility-work',
      version: MOBILITY_WORK_SIM_STATE_VERSION,
      equipment,
      locations,
      spareParts,
      sparePartSequence: partCounter,
      tasks,
      activities,
      pendingWrites: pending.map((entry) => entry.record),
      writeSequence: writeCounter,
      rejectedItems,
    });
  }

  function importState(saved: unknown): void {
    const state = structuredClone(
      readSavedState<MobilityWorkSavedState>(saved, {
        simulator: 'mobility-work',
        version: MOBILITY_WORK_SIM_STATE_VERSION,
        fields: {
          equipment: 'array',
          locations: 'array',
          spareParts: 'array',
          sparePartSequence: 'integer',
          tasks: 'array',
          activities: 'array',
          pendingWrites: 'array',
          writeSequence: 'integer',
          rejectedItems: 'array',
        },
      }),
    );
    const unknown = state.pendingWrites.find((w) => !bulkAppliers.has(w.endpoint));
    if (unknown) {
      throw new SavedStateShapeError(
        `pending write ${unknown.id} is for an unknown endpoint ${unknown.endpoint}`,
      );
    }
    for (const entry of pending) clearTimeout(entry.timer);
    pending = [];
    equipment = state.equipment;
    locations = state.locations;
    spareParts = state.spareParts;
    partCounter = state.sparePartSequence;
    tasks = state.tasks;
    activities = state.activities;
    writeCounter = state.writeSequence;
    rejectedItems = state.rejectedItems;
    for (const record of state.pendingWrites) scheduleWrite(record);
  }

  const persistence = simulatorPersistence(options.store, { exportState, importState });
  persistence.restore();
  const sim = await startSimulator({
    name: 'mobility-work',
    routes,
    port: options.port,
    commit: persistence.commit,
  });
  const closeServer = sim.close;
  return Object.assign(sim, {
    networkId,
    plan,
    state: snapshot,
    spareParts: () => structuredClone(spareParts),
    tasks: () => structuredClone(tasks),
    deliveries: () => structuredClone(deliveries),
    events: () => structuredClone(events),
    settle,
    consume: persistence.committing(consume),
    restock: persistence.committing(restock),
    recount: persistence.committing(recount),
    startTask: persistence.committing(startTask),
    completeTask: persistence.committing(completeTask),
    cancelTask: persistence.committing(cancelTask),
    findTaskByMetadata,
    addActivity: persistence.committing(addActivity),
    cancelConsumption: persistence.committing(cancelConsumption),
    reset: persistence.committing(reset),
    exportState,
    importState: persistence.committing(importState),
    close: async () => {
      closed = true;
      // Pending writes stay in the saved state (they were committed when accepted) and are applied
      // after a restart; here they only stop being applied by this instance.
      for (const entry of pending) clearTimeout(entry.timer);
      await queue;
      await closeServer();
    },
  });
}
