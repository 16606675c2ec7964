/**
 * UpKeep API simulator, built from the vendor doc (shared/vendors/upkeep/reference.md). It serves
 * the API under `/api/v2` like the real host, so a client's `baseUrl` is `sim.baseUrl`.
 *
 * Behaviour as documented: session tokens from `POST /auth` (JSON or form body) with `expiresAt`,
 * `Session-Token` required everywhere else, `{success, result|results|message}` envelopes, 400
 * messages `title cannot be null`, `<field> not in schema`, `invalid filter key: <key>`,
 * `<field> is not allowed to be set!`, numbers as strings in GET responses (priority, time, cost),
 * asset timestamps without `Z`, and the bulk downtime endpoint with per-row errors and
 * `success: false`. Parts return `cost`, `quantity` and `minimumQuantity` as strings and the part
 * number as `partName` (reference §7.9, §7.20); list them with the documented filters, sorted by the
 * order field then by id, so parts that share an updatedAt millisecond (a manual clock makes that
 * common) page stably. Purchase orders (status, partial fulfilment with the documented messages)
 * and requests (JSON or form body) are served too. Where the doc is silent the choice is noted in
 * place (e.g. `row` numbering, the HTTP status of a partial downtime failure, webhook payload shape,
 * fulfilling a purchase order does not restock its parts).
 *
 * Request contract (api-doc.txt): the required fields (`title`, part `name`, `email`/`password`,
 * update-message `text`, downtime `assetId`/`status`/`recordedOn`, additional-cost `amount`/`info`/
 * `category`/`assignedToUser`, form-item `name`/`type`) are required, documented fields have their
 * documented types, unknown ones are `not in schema`. Optional fields are not filled in: a part
 * created without `quantity` holds none (`quantity: null`), and PATCH `null` erases a field ("Null
 * values are allowed to erase the value unless otherwise stated") except `title` / part `name`.
 * Update messages take a form body like the doc's curl, or JSON.
 *
 * Control routes (no auth): `GET /_sandbox/state`, `POST /_sandbox/tokens/expire`,
 * `POST /_sandbox/work-orders` (a user creates one in the app: same checks and webhook as the API),
 * `POST /_sandbox/reset`, `POST /_sandbox/parts` (`{parts: [...]}`, bulk create),
 * `POST /_sandbox/parts/:id/consume` and `/restock` (`{quantity}`), plus the shared ones from
 * server.ts (`/_sandbox/faults`, `/_sandbox/requests`).
 */
import { randomBytes } from 'node:crypto';
import { UPKEEP_UPDATE_ITEMS } from '../../functions/connectors/upkeep/client.ts';
import type { Clock } from '../clock.ts';
import { readSavedState, type SimulatorStateStore, simulatorPersistence } from './persistence.ts';
import {
  json,
  type Route,
  type SimRequest,
  type SimResponse,
  type Simulator,
  startSimulator,
} from './server.ts';

export const UPKEEP_SIM_API_PREFIX = '/api/v2';
export const UPKEEP_SIM_ASSET_IDS = ['AssetMill01', 'AssetLathe2', 'AssetPress3'] as const;

export interface UpKeepSimulatorOptions {
  port?: number;
  clock: Clock;
  email: string;
  password: string;
  /** Session lifetime (default 30 days; the real one is undocumented). */
  tokenTtlMs?: number;
  /** Where work-order webhooks go (e.g. the local ingress `.../webhooks/upkeep/<token>`). */
  webhook?: { url: string };
  /**
   * What a list page past the end returns: an empty list (200, default) or 404, which one
   * third-party client reports seeing (reference §2.4 EXT).
   */
  pastEndStatus?: 200 | 404;
  /** For webhook delivery (tests); defaults to global fetch. */
  fetch?: typeof fetch;
  /** Parts present at start and after reset (default: UPKEEP_SIM_SEED_PARTS; `[]` for none). */
  parts?: readonly SimPartInput[];
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
}

export interface SimWorkOrder {
  id: string;
  workOrderNo: string;
  title: string;
  description: string | null;
  priority: number | null;
  category: string | null;
  status: string;
  asset: string | null;
  location: string | null;
  assignedToUser: string | null;
  startDate: string | null;
  dueDate: string | null;
  dateCompleted: string | null;
  archivedStatus: string;
  time: number | null;
  cost: number | null;
  /** Other documented fields, stored as sent (formItems, parts, files, ...). */
  extra: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface SimAsset {
  id: string;
  name: string;
  serial: string;
  barcode: string;
  serialNumber: string;
  model: string;
  location: string;
  status: string;
  category: string;
  downtimeStatus: string;
  availabilityStatus: string;
  availabilityTrackingOn: boolean;
  createdByUser: string;
  assignedToUser: string | null;
  /** Asset timestamps have no `Z` at UpKeep (reference §2.7). */
  createdAt: string;
  updatedAt: string;
}

export interface SimDowntimeActivity {
  id: string;
  assetId: string;
  status: 'available' | 'not-available';
  /** Normalised ISO. */
  recordedOn: string;
  statusCategory?: string;
  userId?: string;
  createdAt: string;
}

export interface SimPart {
  id: string;
  name: string;
  description: string | null;
  /** Cost per unit; rendered as a string with two decimals (`"88.00"`). */
  cost: number | null;
  /**
   * Rendered as a string (`"5"`). Optional in the doc ("quantity Number false"), so a part created
   * without one holds null (rendered `null`, like an unset minimumQuantity); PATCH null erases it.
   */
  quantity: number | null;
  minimumQuantity: number | null;
  /** The request field `partNumber` (or `partName`); rendered as `partName` (reference §7.9). */
  partNumber: string | null;
  /** "ID of the parent part". */
  partId: string | null;
  serial: string | null;
  area: string | null;
  details: string | null;
  category: string | null;
  location: string | null;
  createdByUser: string;
  /** Other documented fields, stored as sent (customFieldsPart). */
  extra: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** A part to create through the control API or `addParts` (the fields of `POST /parts`, plus an id). */
export interface SimPartInput {
  id?: string;
  name: string;
  quantity?: number | null;
  minimumQuantity?: number | null;
  cost?: number | null;
  partNumber?: string | null;
  description?: string | null;
  category?: string | null;
  location?: string | null;
  serial?: string | null;
}

export interface SimPurchaseOrderLine {
  id: string;
  quantity: number;
}

export interface SimPurchaseOrder {
  id: string;
  purchaseOrderNumber: number;
  title: string;
  description: string | null;
  status: string;
  vendor: string | null;
  category: string | null;
  /** ISO (sent as `YYYY-MM-DD`). */
  dueDate: string | null;
  poDate: string | null;
  notes: string | null;
  parts: SimPurchaseOrderLine[];
  partsPendingQuantities: Record<string, number>;
  partialFulfillHistory: { timestamp: string; user: string; received: Record<string, number> }[];
  createdByUser: string;
  approvedAt: string | null;
  declinedAt: string | null;
  fulfilledAt: string | null;
  fulfilledByUser: string | null;
  /** Other documented fields, stored as sent (tax, costs, terms, company and shipping blocks, ...). */
  extra: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** A work request (`/requests`). */
export interface SimWorkRequest {
  id: string;
  title: string;
  description: string | null;
  priority: number | null;
  status: string;
  asset: string | null;
  location: string | null;
  team: string | null;
  assignedToUser: string | null;
  category: string | null;
  dueDate: string | null;
  requestedByUser: string;
  createdAt: string;
  updatedAt: string;
}

export interface SimUpdateMessage {
  /** The update item's id (listed in the work order's `arrayOfUpdateItems`); older saved states lack it. */
  id?: string;
  workOrderId: string;
  text: string;
  createdAt: string;
}

export interface SimCall {
  /** `METHOD /path` (path without the /api/v2 prefix and trailing slash). */
  line: string;
  query: Record<string, string[]>;
  /** The `upkeep-version` header, if sent. */
  version: string | undefined;
  authorized: boolean;
}

export interface SimWebhookDelivery {
  event: string;
  /** Id of the work order, purchase order or request. */
  objectId: string;
  /** Set for work-order events. */
  workOrderId?: string;
  attempt: number;
  status?: number;
  error?: string;
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

export interface UpKeepSimulator extends Simulator {
  /** `${url}/api/v2`: the client's base URL. */
  baseUrl: string;
  /** Deep copies of the data. */
  state(): UpKeepSimState;
  workOrders(): SimWorkOrder[];
  assets(): SimAsset[];
  downtime(): SimDowntimeActivity[];
  parts(): SimPart[];
  purchaseOrders(): SimPurchaseOrder[];
  /** Work requests (`/requests`); `requests` is taken by the HTTP request log of server.ts. */
  workRequests(): SimWorkRequest[];
  /** Work-order update messages (notes), oldest first; of one work order if given. */
  workOrderMessages(workOrderId?: string): SimUpdateMessage[];
  /** Take `quantity` out of stock (as work on the floor would); bumps updatedAt. Throws below zero. */
  consumePart(id: string, quantity: number): SimPart;
  /** Put `quantity` into stock; bumps updatedAt. */
  restockPart(id: string, quantity: number): SimPart;
  /** Create parts directly (all with the clock's current time); throws on invalid input. */
  addParts(parts: readonly SimPartInput[]): SimPart[];
  /** Every API call that reached a handler (not fault-answered ones), oldest first. */
  calls(): SimCall[];
  /** `POST /auth` attempts, and those that issued a token. */
  authAttempts(): number;
  logins(): number;
  /** Tokens issued so far (so tests can prove they never leak). */
  issuedTokens(): string[];
  expireTokens(): void;
  reset(): void;
  /** The state that survives a restart (a deep copy). */
  exportState(): UpKeepSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
  webhookDeliveries(): SimWebhookDelivery[];
  /** Resolves when every webhook delivery started so far has finished (including its retry). */
  flushWebhooks(): Promise<void>;
}

const WO_CREATE_FIELDS = new Set([
  'title',
  'description',
  'priority',
  'category',
  'startDate',
  'dueDate',
  'asset',
  'location',
  'image',
  'image2',
  'image3',
  'image4',
  'image5',
  'signatureImage',
  'files',
  'formTemplate',
  'formItems',
  'assignedToUser',
  'estimatedDurationInHours',
  'parts',
  'respectivePartQuantityUsed',
  'decreaseInventory',
  'time',
  'cost',
  'additionalUsers',
  'customWOStatusId',
]);
const WO_PATCH_ONLY_FIELDS = new Set(['status', 'archivedStatus', 'additionalCosts']);
/** Response fields a PATCH may not set. */
const WO_READ_ONLY_FIELDS = new Set([
  'id',
  'objectId',
  'workOrderNo',
  'createdAt',
  'updatedAt',
  'dateCompleted',
  'completedByUser',
  'assignedByUser',
  'createdByUser',
]);
const WO_STATUSES = ['open', 'onHold', 'inProgress', 'complete'];
const WO_FILTERS = new Set([
  'title',
  'isComplete',
  'status',
  'archivedStatus',
  'priority',
  'location',
  'asset',
  'assignedToUser',
  'assignedByUser',
  'category',
  'publicRequesterEmail',
  'customWOStatusId',
]);
const WO_DATE_FIELDS = ['dueDate', 'endDueDate', 'dateCompleted', 'createdAt', 'updatedAt'];
const WO_ORDER_FIELDS = ['createdAt', 'updatedAt', 'dueDate', 'endDueDate', 'dateCompleted'];
const ASSET_FILTERS = new Set([
  'name',
  'serial',
  'serialNumber',
  'location',
  'status',
  'category',
  'assignedToUser',
  'createdByUser',
  'downtimeStatus',
]);
const ASSET_DATE_FIELDS = ['createdAt', 'updatedAt'];
const ASSET_ORDER_FIELDS = ['createdAt', 'updatedAt'];
const PAGING_KEYS = new Set(['offset', 'limit', 'orderBy', 'includes', 'includes[]']);
const DATE_SUFFIXES = ['GreaterThan', 'LessThan', 'GreaterThanOrEqualTo', 'LessThanOrEqualTo'] as const;
type DateOp = (typeof DATE_SUFFIXES)[number];
const compare: Record<DateOp, (value: number, bound: number) => boolean> = {
  GreaterThan: (v, b) => v > b,
  LessThan: (v, b) => v < b,
  GreaterThanOrEqualTo: (v, b) => v >= b,
  LessThanOrEqualTo: (v, b) => v <= b,
};
const PART_FIELDS = new Set([
  'name',
  'description',
  'cost',
  'quantity',
  'minimumQuantity',
  'serial',
  'area',
  'details',
  'category',
  'location',
  'partId',
  'partNumber',
  // The doc's own create example sends `partName` (reference §7.9).
  'partName',
  'customFieldsPart',
]);
const PART_READ_ONLY_FIELDS = new Set(['id', 'createdAt', 'updatedAt', 'createdByUser', 'files']);
const PART_FILTERS = new Set(['name', 'category', 'location', 'partId', 'partNumber', 'createdByUser']);
const PART_DATE_FIELDS = ['createdAt', 'updatedAt'];
const PART_ORDER_FIELDS = ['createdAt', 'updatedAt'];
const PO_COMPANY_FIELDS = ['Name', 'Slogan', 'Street', 'City', 'State', 'Zip', 'Phone', 'Fax'].map(
  (f) => `company${f}`,
);
const PO_SHIPPING_FIELDS = ['Name', 'Company', 'Street', 'City', 'State', 'Zip', 'Phone', 'Fax'].map(
  (f) => `shipping${f}`,
);
const PO_FIELDS = new Set([
  'title',
  'purchaseOrderNumber',
  'parts',
  'vendor',
  'description',
  'category',
  'dueDate',
  'poDate',
  'tax',
  'shippingCost',
  'otherCost',
  'requisitioner',
  'shippingMethod',
  'fobPoint',
  'terms',
  'notes',
  ...PO_COMPANY_FIELDS,
  ...PO_SHIPPING_FIELDS,
  'customFieldsPO',
]);
const PO_PATCH_ONLY_FIELDS = new Set(['status', 'statusAction', 'partsReceived']);
const PO_READ_ONLY_FIELDS = new Set([
  'id',
  'createdAt',
  'updatedAt',
  'createdByUser',
  'partQuantities',
  'partsPendingQuantities',
  'partialFulfillHistory',
  'totalQuantity',
  'totalCost',
  'approvedAt',
  'declinedAt',
  'fulfilledAt',
  'fulfilledByUser',
]);
const PO_STATUSES = ['awaiting', 'approved', 'declined', 'fulfilled'];
const PO_NUMBER_FIELDS = new Set(['tax', 'shippingCost', 'otherCost']);
const PO_FILTERS = new Set(['title', 'status', 'vendor', 'category', 'createdByUser']);
const PO_DATE_FIELDS = [
  'dueDate',
  'poDate',
  'fulfilledAt',
  'approvedAt',
  'declinedAt',
  'createdAt',
  'updatedAt',
];
const REQUEST_FIELDS = new Set([
  'title',
  'description',
  'priority',
  'location',
  'asset',
  'team',
  'assignedToUser',
  'dueDate',
  'category',
]);
const REQUEST_FILTERS = new Set([
  'title',
  'location',
  'asset',
  'team',
  'assignedToUser',
  'category',
  'requestedByUser',
  'publicRequesterEmail',
]);
const REQUEST_DATE_FIELDS = ['dueDate', 'endDueDate', 'createdAt', 'updatedAt'];
/** The user the integration logs in as; owner of what it creates. */
const SIM_USER = 'UserAdmin1';
const DOWNTIME_FIELDS = new Set(['assetId', 'status', 'recordedOn', 'statusCategory', 'userId']);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 10-character alphanumeric id, like UpKeep's (reference §2.7). */
export function upkeepId(): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
const bad = (message: string) => new ApiError(400, message);

/** Parse a stored timestamp as UTC (asset timestamps come without a zone). */
function utcMs(value: string): number {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
  return Date.parse(hasZone || !value.includes('T') ? value : `${value}Z`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Documented types of the work-order fields the simulator stores as sent (api-doc.txt, Create a
// Work Order / Update a Specific Work Order). `null` is accepted: "Null values are allowed to erase
// the value unless otherwise stated".

const WO_STRING_FIELDS = new Set([
  'image',
  'image2',
  'image3',
  'image4',
  'image5',
  'signatureImage',
  'formTemplate',
  'customWOStatusId',
]);
const WO_STRING_LIST_FIELDS = new Set(['files', 'parts', 'additionalUsers']);
/** "type should be one of TASK, TEXT, NUMBER, CHECKLIST, MULTIPLE_CHOICE, or METER"; form templates
 * (and reference §7) show METER_READING, accepted too. */
const FORM_ITEM_TYPES = ['TASK', 'TEXT', 'NUMBER', 'CHECKLIST', 'MULTIPLE_CHOICE', 'METER', 'METER_READING'];
const DECREASE_INVENTORY = ['auto', 'manual'];

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkList(field: string, value: unknown, item: (entry: unknown) => boolean, what: string): void {
  if (!Array.isArray(value) || !value.every(item)) throw bad(`${field} must be an Array of ${what}`);
}

/** formItems: "Should include name and type keys"; type from the documented list. */
function checkFormItems(value: unknown): void {
  checkList('formItems', value, isObject, 'objects');
  (value as Record<string, unknown>[]).forEach((item, i) => {
    if (typeof item.name !== 'string' || item.name === '') throw bad(`formItems[${i}].name cannot be null`);
    if (item.type === undefined || item.type === null) throw bad(`formItems[${i}].type cannot be null`);
    if (typeof item.type !== 'string' || !FORM_ITEM_TYPES.includes(item.type)) {
      throw bad(`formItems[${i}].type must be one of ${FORM_ITEM_TYPES.join(', ')}`);
    }
  });
}

/**
 * additionalCosts (PATCH): amount (Number), info, category and assignedToUser (String) are marked
 * required; an item that only deletes a cost (`id` + `deleteAdditionalCostItem: true`) needs its id.
 */
function checkAdditionalCosts(value: unknown): void {
  checkList('additionalCosts', value, isObject, 'objects');
  (value as Record<string, unknown>[]).forEach((cost, i) => {
    const at = `additionalCosts[${i}]`;
    const deleting = cost.deleteAdditionalCostItem === true;
    if (deleting && typeof cost.id !== 'string') throw bad(`${at}.id cannot be null`);
    const required: [string, (v: unknown) => boolean, string][] = [
      ['amount', isFiniteNumber, 'a Number'],
      ['info', (v) => typeof v === 'string', 'a String'],
      ['category', (v) => typeof v === 'string', 'a String'],
      ['assignedToUser', (v) => typeof v === 'string', 'a String'],
    ];
    for (const [key, ok, what] of required) {
      if (cost[key] === undefined || cost[key] === null) {
        if (!deleting) throw bad(`${at}.${key} cannot be null`);
      } else if (!ok(cost[key])) throw bad(`${at}.${key} must be ${what}`);
    }
    if (cost.id !== undefined && typeof cost.id !== 'string') throw bad(`${at}.id must be a String`);
    const date = cost.date;
    if (date !== undefined && typeof date !== 'string' && !isFiniteNumber(date)) {
      throw bad(`${at}.date must be an ISO string or a unix timestamp`);
    }
    for (const flag of ['includedInTotalCost', 'deleteAdditionalCostItem']) {
      if (cost[flag] !== undefined && typeof cost[flag] !== 'boolean')
        throw bad(`${at}.${flag} must be a Boolean`);
    }
  });
}

/** The documented type of a work-order field kept in `extra`; throws a 400 when it is not met. */
function checkWorkOrderExtra(field: string, value: unknown): void {
  if (value === null) return;
  if (WO_STRING_FIELDS.has(field)) {
    if (typeof value !== 'string') throw bad(`${field} must be a String`);
  } else if (WO_STRING_LIST_FIELDS.has(field)) {
    checkList(field, value, (v) => typeof v === 'string', 'Strings');
  } else if (field === 'respectivePartQuantityUsed') {
    checkList(field, value, isFiniteNumber, 'Numbers');
  } else if (field === 'estimatedDurationInHours') {
    if (!isFiniteNumber(value)) throw bad(`${field} must be a Number`);
  } else if (field === 'decreaseInventory') {
    if (typeof value !== 'string' || !DECREASE_INVENTORY.includes(value)) {
      throw bad('decreaseInventory must be "auto" or "manual"');
    }
  } else if (field === 'formItems') checkFormItems(value);
  else if (field === 'additionalCosts') checkAdditionalCosts(value);
}

/** Legacy custom fields (`customFieldsPart`, `customFieldsPO`): "Array of objects". */
function checkCustomFields(field: string, value: unknown): void {
  if (value !== null) checkList(field, value, isObject, 'objects');
}

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

export async function startUpKeepSimulator(options: UpKeepSimulatorOptions): Promise<UpKeepSimulator> {
  const { clock } = options;
  const tokenTtlMs = options.tokenTtlMs ?? 30 * 86_400_000;
  const nowIso = () => clock.now().toISOString();
  /** Asset-style timestamp: no ms, no zone. */
  const nowAssetStamp = () => clock.now().toISOString().slice(0, 19);

  let workOrders: SimWorkOrder[] = [];
  let assets: SimAsset[] = seedAssets(nowAssetStamp());
  let downtime: SimDowntimeActivity[] = [];
  let woCounter = 0;
  /** Seeded at the end of this function, once the helpers below exist. */
  let parts: SimPart[] = [];
  let purchaseOrders: SimPurchaseOrder[] = [];
  let requests: SimWorkRequest[] = [];
  let updateMessages: SimUpdateMessage[] = [];
  let poCounter = 0;
  const tokens = new Map<string, number>();
  let issued: string[] = [];
  let calls: SimCall[] = [];
  let authAttempts = 0;
  let logins = 0;
  let deliveries: SimWebhookDelivery[] = [];
  const pending = new Set<Promise<void>>();

  // ---------------------------------------------------------------------------------------------
  // Plumbing.

  const record = (req: SimRequest, authorized: boolean) => {
    const query: Record<string, string[]> = {};
    for (const [k, v] of req.query) query[k] = [...(query[k] ?? []), v];
    const version = req.headers['upkeep-version'];
    calls.push({
      line: `${req.method} ${req.path.slice(UPKEEP_SIM_API_PREFIX.length).replace(/\/+$/, '') || '/'}`,
      query,
      version: Array.isArray(version) ? version[0] : version,
      authorized,
    });
  };

  const failure = (error: unknown): SimResponse => {
    if (error instanceof ApiError) return json(error.status, { success: false, message: error.message });
    throw error;
  };

  /** A control route (no auth, not recorded); ApiErrors become `{success: false, message}`. */
  const control = (method: string, pattern: string, handler: (req: SimRequest) => SimResponse): Route => ({
    method,
    pattern,
    handler: (req) => {
      try {
        return handler(req);
      } catch (error) {
        return failure(error);
      }
    },
  });

  /** An authenticated API route. */
  const api = (method: string, path: string, handler: (req: SimRequest) => SimResponse): Route => ({
    method,
    pattern: `${UPKEEP_SIM_API_PREFIX}${path}`,
    handler: (req) => {
      const header = req.headers['session-token'];
      const token = Array.isArray(header) ? header[0] : header;
      const expiresAt = token ? tokens.get(token) : undefined;
      const authorized = expiresAt !== undefined && clock.now().getTime() < expiresAt;
      record(req, authorized);
      if (!authorized) return json(401, { success: false, message: 'Unauthorized' });
      try {
        return handler(req);
      } catch (error) {
        return failure(error);
      }
    },
  });

  /** Work-order, purchase-order and request events (UpKeep has none for parts, reference §4). */
  function deliverWebhook(event: string, objectId: string, record: unknown): void {
    const target = options.webhook?.url;
    if (!target) return;
    const fetchFn = options.fetch ?? fetch;
    const ids = event.startsWith('WORK_ORDER_') ? { objectId, workOrderId: objectId } : { objectId };
    // Payload shape is undocumented (reference §4); an envelope with the record as GET returns it.
    const body = JSON.stringify({ event, data: record });
    const run = async () => {
      for (let attempt = 1; attempt <= 2; attempt++) {
        try {
          const res = await fetchFn(target, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(5_000),
          });
          await res.arrayBuffer().catch(() => undefined);
          deliveries.push({ event, ...ids, attempt, status: res.status });
          if (res.ok) return;
        } catch (error) {
          deliveries.push({
            event,
            ...ids,
            attempt,
            error: (error as Error)?.message ?? String(error),
          });
        }
      }
    };
    const p: Promise<void> = run()
      .catch(() => undefined)
      .finally(() => {
        pending.delete(p);
      });
    pending.add(p);
  }

  // ---------------------------------------------------------------------------------------------
  // Rendering.

  /** `write` = create/PATCH response (numbers as numbers); `read` = GET (numbers as strings). */
  /** `POST /work-orders`, for the API and for the control route that plays a user of UpKeep's app. */
  function createWorkOrder(body: unknown) {
    if (!isObject(body)) throw bad('Request body must be a JSON object');
    checkKeys(body, 'create');
    if (body.title === undefined || body.title === null || body.title === '')
      throw bad('title cannot be null');
    const now = nowIso();
    woCounter++;
    const wo: SimWorkOrder = {
      id: upkeepId(),
      workOrderNo: String(woCounter).padStart(3, '0'),
      title: '',
      description: null,
      priority: null,
      category: null,
      status: 'open',
      asset: null,
      location: null,
      assignedToUser: null,
      startDate: null,
      dueDate: null,
      dateCompleted: null,
      archivedStatus: '0',
      time: null,
      cost: null,
      extra: {},
      createdAt: now,
      updatedAt: now,
    };
    applyFields(wo, body, 'create');
    workOrders.push(wo);
    deliverWebhook('WORK_ORDER_CREATED', wo.id, renderWorkOrder(wo, 'read'));
    return renderWorkOrder(wo, 'write');
  }

  /**
   * A work order's update messages as the single GET shows them: ids (the doc's example), or, with
   * `includes=arrayOfUpdateItems`, objects `{id, text, createdAt}`: the connector's NAMED ASSUMPTION
   * UPKEEP_UPDATE_ITEMS (the doc never shows an expanded item).
   */
  function updateItemsOf(wo: SimWorkOrder, includes: Set<string>) {
    return updateMessages
      .map((m, index) => ({ ...m, id: m.id ?? `UpdItem${String(index).padStart(6, '0')}` }))
      .filter((m) => m.workOrderId === wo.id)
      .map((m) =>
        includes.has(UPKEEP_UPDATE_ITEMS.include) ? { id: m.id, text: m.text, createdAt: m.createdAt } : m.id,
      );
  }

  function renderWorkOrder(wo: SimWorkOrder, mode: 'read' | 'write', includes: Set<string> = new Set()) {
    const asNum = (n: number | null) => (n === null ? null : mode === 'read' ? String(n) : n);
    const asset =
      wo.asset && includes.has('asset') ? (assets.find((a) => a.id === wo.asset) ?? wo.asset) : wo.asset;
    return {
      ...structuredClone(wo.extra),
      id: wo.id,
      workOrderNo: wo.workOrderNo,
      title: wo.title,
      description: wo.description,
      status: wo.status,
      priority: asNum(wo.priority),
      category: wo.category,
      asset,
      location: wo.location,
      assignedToUser: wo.assignedToUser,
      startDate: wo.startDate,
      dueDate: wo.dueDate,
      dateCompleted: wo.dateCompleted,
      archivedStatus: wo.archivedStatus,
      time: wo.time === null ? null : String(wo.time),
      cost: wo.cost === null ? null : String(wo.cost),
      createdAt: wo.createdAt,
      updatedAt: wo.updatedAt,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Validation shared by create and PATCH.

  function checkString(field: string, value: unknown, nullable: boolean): string | null {
    if (value === null && nullable) return null;
    if (typeof value !== 'string') throw bad(`${field} must be a String`);
    return value;
  }
  function checkMs(field: string, value: unknown): string | null {
    if (value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw bad(`${field} must be a Number (unix ms)`);
    return new Date(value).toISOString();
  }
  function checkPriority(value: unknown): number | null {
    if (value === null) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 3) {
      throw bad('priority must be one of 0, 1, 2, 3');
    }
    return value;
  }
  function checkAsset(value: unknown): string | null {
    const id = checkString('asset', value, true);
    if (id !== null && !assets.some((a) => a.id === id)) throw bad(`asset ${id} not found`);
    return id;
  }

  /** Apply the documented work-order fields of `body` to `wo`; returns whether status changed. */
  function applyFields(wo: SimWorkOrder, body: Record<string, unknown>, mode: 'create' | 'patch'): boolean {
    let statusChanged = false;
    for (const [field, value] of Object.entries(body)) {
      if (value === undefined) continue;
      switch (field) {
        case 'title':
          if (value === null || value === '') throw bad('title cannot be null');
          wo.title = checkString('title', value, false) as string;
          break;
        case 'description':
        case 'category':
        case 'location':
        case 'assignedToUser':
          wo[field] = checkString(field, value, true);
          break;
        case 'priority':
          wo.priority = checkPriority(value);
          break;
        case 'asset':
          wo.asset = checkAsset(value);
          break;
        case 'startDate':
        case 'dueDate':
          wo[field] = checkMs(field, value);
          break;
        case 'time':
        case 'cost':
          if (value !== null && (typeof value !== 'number' || !Number.isFinite(value)))
            throw bad(`${field} must be a Number`);
          wo[field] = value as number | null;
          break;
        case 'status': {
          if (mode === 'create') throw bad('status not in schema');
          if (typeof value !== 'string' || !WO_STATUSES.includes(value)) {
            throw bad(`status must be one of ${WO_STATUSES.join(', ')}`);
          }
          if (wo.status !== value) {
            statusChanged = true;
            wo.status = value;
            wo.dateCompleted = value === 'complete' ? nowIso() : null;
          }
          break;
        }
        case 'archivedStatus':
          if (value !== '0' && value !== '1') throw bad('archivedStatus must be "0" or "1"');
          wo.archivedStatus = value;
          break;
        default:
          checkWorkOrderExtra(field, value);
          wo.extra[field] = structuredClone(value);
      }
    }
    return statusChanged;
  }

  function checkKeys(body: Record<string, unknown>, mode: 'create' | 'patch'): void {
    for (const field of Object.keys(body)) {
      if (WO_CREATE_FIELDS.has(field)) continue;
      if (mode === 'patch' && WO_PATCH_ONLY_FIELDS.has(field)) continue;
      if (mode === 'patch' && WO_READ_ONLY_FIELDS.has(field)) throw bad(`${field} is not allowed to be set!`);
      throw bad(`${field} not in schema`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Listing: documented filters only, date ranges in unix ms, orderBy `<field> <ASC|DESC>`.

  interface ListSpec<T> {
    filters: Set<string>;
    dateFields: string[];
    orderFields: string[];
    /** Value of a plain filter field on a record, as the string UpKeep compares. */
    value(record: T, key: string): string | undefined;
    date(record: T, field: string): number | undefined;
    /** Extra key patterns accepted (e.g. customFields[0][type]). */
    extraKey?: (key: string) => boolean;
    /** Order of records with equal sort values (default: insertion order). */
    tieKey?: (record: T) => string;
  }

  function list<T>(req: SimRequest, records: T[], spec: ListSpec<T>): T[] | 'past-end' {
    const dateKeys = new Map<string, { field: string; op: DateOp }>();
    for (const field of spec.dateFields)
      for (const op of DATE_SUFFIXES) dateKeys.set(`${field}${op}`, { field, op });
    let out = [...records];
    for (const key of new Set(req.query.keys())) {
      if (!spec.filters.has(key) && !PAGING_KEYS.has(key) && !dateKeys.has(key) && !spec.extraKey?.(key)) {
        throw bad(`invalid filter key: ${key}`);
      }
    }
    for (const [key, raw] of req.query) {
      const range = dateKeys.get(key);
      if (range) {
        if (!/^\d+$/.test(raw)) throw bad(`${key} must be a unix timestamp in milliseconds`);
        const bound = Number(raw);
        const test = compare[range.op];
        out = out.filter((r) => {
          const t = spec.date(r, range.field);
          return t !== undefined && !Number.isNaN(t) && test(t, bound);
        });
      } else if (spec.filters.has(key)) {
        out = out.filter((r) => spec.value(r, key) === raw);
      }
    }
    const orderBy = req.query.get('orderBy') ?? 'createdAt DESC';
    const m = /^(\w+) (ASC|DESC)$/.exec(orderBy.trim());
    if (!m || !spec.orderFields.includes(m[1] ?? '')) {
      throw bad(`invalid orderBy: ${orderBy} (expected "<${spec.orderFields.join('|')}> <ASC|DESC>")`);
    }
    const field = m[1] as string;
    const dir = m[2] === 'ASC' ? 1 : -1;
    // Stable sort (ties by tieKey, else insertion order); records without the field go last.
    const tie = (a: { r: T; i: number }, b: { r: T; i: number }): number => {
      if (!spec.tieKey) return a.i - b.i;
      const ak = spec.tieKey(a.r);
      const bk = spec.tieKey(b.r);
      return ak < bk ? -1 : ak > bk ? 1 : a.i - b.i;
    };
    out = out
      .map((r, i) => ({ r, i, t: spec.date(r, field) }))
      .sort((a, b) => {
        const at = a.t === undefined || Number.isNaN(a.t) ? undefined : a.t;
        const bt = b.t === undefined || Number.isNaN(b.t) ? undefined : b.t;
        if (at === undefined || bt === undefined) {
          return at === bt ? tie(a, b) : at === undefined ? 1 : -1;
        }
        return at === bt ? tie(a, b) : (at - bt) * dir;
      })
      .map((x) => x.r);
    const offsetRaw = req.query.get('offset');
    const limitRaw = req.query.get('limit');
    if (offsetRaw !== null && !/^\d+$/.test(offsetRaw)) throw bad('offset must be a non-negative Number');
    if (limitRaw !== null && !/^\d+$/.test(limitRaw)) throw bad('limit must be a non-negative Number');
    const offset = offsetRaw === null ? 0 : Number(offsetRaw);
    const page = out.slice(offset, limitRaw === null ? undefined : offset + Number(limitRaw));
    if (page.length === 0 && offset > 0 && options.pastEndStatus === 404) return 'past-end';
    return page;
  }

  const includesOf = (req: SimRequest): Set<string> =>
    new Set(
      [...req.query.getAll('includes'), ...req.query.getAll('includes[]')].flatMap((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    );

  const woSpec: ListSpec<SimWorkOrder> = {
    filters: WO_FILTERS,
    dateFields: WO_DATE_FIELDS,
    orderFields: WO_ORDER_FIELDS,
    value(wo, key) {
      switch (key) {
        case 'isComplete':
          return wo.status === 'complete' ? '1' : '0';
        case 'priority':
          return wo.priority === null ? undefined : String(wo.priority);
        case 'title':
        case 'status':
        case 'archivedStatus':
        case 'location':
        case 'asset':
        case 'assignedToUser':
        case 'category':
          return wo[key] ?? undefined;
        default: {
          const v = wo.extra[key];
          return typeof v === 'string' ? v : undefined;
        }
      }
    },
    date(wo, field) {
      const v =
        field === 'endDueDate' ? wo.extra.endDueDate : (wo as unknown as Record<string, unknown>)[field];
      return typeof v === 'string' ? utcMs(v) : undefined;
    },
  };

  const assetSpec: ListSpec<SimAsset> = {
    filters: ASSET_FILTERS,
    dateFields: ASSET_DATE_FIELDS,
    orderFields: ASSET_ORDER_FIELDS,
    value(asset, key) {
      const v = (asset as unknown as Record<string, unknown>)[key];
      return typeof v === 'string' ? v : undefined;
    },
    date(asset, field) {
      const v = (asset as unknown as Record<string, unknown>)[field];
      return typeof v === 'string' ? utcMs(v) : undefined;
    },
    extraKey: (key) => /^customFields\[\d+\]\[(type|id|value|minValue|maxValue)\]$/.test(key),
  };

  const findWorkOrder = (id: string | undefined): SimWorkOrder => {
    const wo = workOrders.find((w) => w.id === id);
    if (!wo) throw new ApiError(404, 'Work order not found');
    return wo;
  };

  // ---------------------------------------------------------------------------------------------
  // Parts (reference §3.2).

  const findPart = (id: string | undefined): SimPart => {
    const part = parts.find((p) => p.id === id);
    if (!part) throw new ApiError(404, `Part not found: ${id ?? ''}`);
    return part;
  };

  /** The same in create, PATCH and GET responses: numbers as strings, the number as `partName`. */
  function renderPart(part: SimPart) {
    return {
      ...structuredClone(part.extra),
      id: part.id,
      name: part.name,
      description: part.description,
      cost: part.cost === null ? null : part.cost.toFixed(2),
      quantity: part.quantity === null ? null : String(part.quantity),
      minimumQuantity: part.minimumQuantity === null ? null : String(part.minimumQuantity),
      partId: part.partId,
      partName: part.partNumber,
      serial: part.serial,
      area: part.area,
      details: part.details,
      category: part.category,
      location: part.location,
      createdByUser: part.createdByUser,
      createdAt: part.createdAt,
      updatedAt: part.updatedAt,
    };
  }

  function checkNumber(field: string, value: unknown, nullable: boolean): number | null {
    if (value === null) {
      if (nullable) return null;
      throw bad(`${field} cannot be null`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`${field} must be a Number`);
    return value;
  }

  function checkPartKeys(body: Record<string, unknown>, mode: 'create' | 'patch'): void {
    for (const field of Object.keys(body)) {
      if (PART_FIELDS.has(field)) continue;
      if (mode === 'patch' && PART_READ_ONLY_FIELDS.has(field))
        throw bad(`${field} is not allowed to be set!`);
      throw bad(`${field} not in schema`);
    }
  }

  function applyPartFields(part: SimPart, body: Record<string, unknown>): void {
    for (const [field, value] of Object.entries(body)) {
      if (value === undefined) continue;
      switch (field) {
        case 'name':
          if (value === null || value === '') throw bad('name cannot be null');
          part.name = checkString('name', value, false) as string;
          break;
        case 'quantity':
        case 'cost':
        case 'minimumQuantity':
          part[field] = checkNumber(field, value, true);
          break;
        case 'partName':
        case 'partNumber':
          part.partNumber = checkString(field, value, true);
          break;
        case 'description':
        case 'partId':
        case 'serial':
        case 'area':
        case 'details':
        case 'category':
        case 'location':
          part[field] = checkString(field, value, true);
          break;
        default:
          if (field === 'customFieldsPart') checkCustomFields(field, value);
          part.extra[field] = structuredClone(value);
      }
    }
  }

  function newPart(body: Record<string, unknown>, id: string): SimPart {
    checkPartKeys(body, 'create');
    if (body.name === undefined || body.name === null || body.name === '') throw bad('name cannot be null');
    const now = nowIso();
    const part: SimPart = {
      id,
      name: '',
      description: null,
      cost: null,
      quantity: null,
      minimumQuantity: null,
      partNumber: null,
      partId: null,
      serial: null,
      area: null,
      details: null,
      category: null,
      location: null,
      createdByUser: SIM_USER,
      extra: {},
      createdAt: now,
      updatedAt: now,
    };
    applyPartFields(part, body);
    return part;
  }

  /** All or nothing: every entry is checked before any is added; all get the clock's current time. */
  function addParts(list: readonly SimPartInput[]): SimPart[] {
    if (!Array.isArray(list)) throw bad('parts must be an array');
    const ids = new Set(parts.map((p) => p.id));
    const created = list.map((input: unknown, i) => {
      if (!isObject(input)) throw bad(`parts[${i}] must be an object`);
      const { id, ...fields } = input;
      if (id !== undefined && (typeof id !== 'string' || id === '')) {
        throw bad(`parts[${i}].id must be a non-empty String`);
      }
      const partId = (id as string | undefined) ?? upkeepId();
      if (ids.has(partId)) throw bad(`parts[${i}]: part ${partId} already exists`);
      ids.add(partId);
      try {
        return newPart(fields, partId);
      } catch (error) {
        if (error instanceof ApiError) throw bad(`parts[${i}]: ${error.message}`);
        throw error;
      }
    });
    parts.push(...created);
    return created;
  }

  /** Stock moves outside the API (the floor uses or receives parts); updatedAt moves with them. */
  function adjustStock(id: string | undefined, direction: 1 | -1, quantity: unknown): SimPart {
    const part = findPart(id);
    if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity <= 0) {
      throw bad('quantity must be a positive Number');
    }
    // A part without a quantity on hand has none to consume; a restock gives it one.
    const current = part.quantity ?? 0;
    const next = current + direction * quantity;
    if (next < 0)
      throw bad(`not enough stock: part ${part.id} has ${part.quantity}, cannot consume ${quantity}`);
    part.quantity = next;
    part.updatedAt = nowIso();
    return part;
  }

  const partSpec: ListSpec<SimPart> = {
    filters: PART_FILTERS,
    dateFields: PART_DATE_FIELDS,
    orderFields: PART_ORDER_FIELDS,
    value(part, key) {
      const v = (part as unknown as Record<string, unknown>)[key];
      return typeof v === 'string' ? v : undefined;
    },
    date(part, field) {
      const v = (part as unknown as Record<string, unknown>)[field];
      return typeof v === 'string' ? utcMs(v) : undefined;
    },
    extraKey: (key) => /^customFieldsPart\[(name|value|unit)\]$/.test(key),
    // Parts sharing an updatedAt millisecond keep one order across pages.
    tieKey: (part) => part.id,
  };

  // ---------------------------------------------------------------------------------------------
  // Purchase orders (reference §3.8).

  const findPurchaseOrder = (id: string | undefined): SimPurchaseOrder => {
    const po = purchaseOrders.find((p) => p.id === id);
    if (!po) throw new ApiError(404, 'Purchase order not found');
    return po;
  };

  /** `full` = create, PATCH and single GET; the list omits `parts`/`partQuantities` (reference §3.8). */
  function renderPurchaseOrder(po: SimPurchaseOrder, mode: 'full' | 'list') {
    const totalQuantity = po.parts.reduce((sum, l) => sum + l.quantity, 0);
    const totalCost = po.parts.reduce(
      (sum, l) => sum + l.quantity * (parts.find((p) => p.id === l.id)?.cost ?? 0),
      0,
    );
    const stamps = Object.fromEntries(
      (['approvedAt', 'declinedAt', 'fulfilledAt', 'fulfilledByUser'] as const)
        .filter((k) => po[k] !== null)
        .map((k) => [k, po[k]]),
    );
    return {
      ...structuredClone(po.extra),
      id: po.id,
      createdByUser: po.createdByUser,
      title: po.title,
      description: po.description,
      status: po.status,
      ...stamps,
      poDate: po.poDate,
      dueDate: po.dueDate,
      vendor: po.vendor,
      ...(mode === 'full'
        ? {
            parts: po.parts.map((l) => l.id),
            partQuantities: po.parts.map((l) => l.quantity),
            partialFulfillHistory: structuredClone(po.partialFulfillHistory),
          }
        : {}),
      partsPendingQuantities: { ...po.partsPendingQuantities },
      totalQuantity,
      totalCost: Math.round(totalCost * 100) / 100,
      notes: po.notes,
      purchaseOrderNumber: po.purchaseOrderNumber,
      category: po.category,
      createdAt: po.createdAt,
      updatedAt: po.updatedAt,
    };
  }

  /** PO dates are date Strings (`"2018-06-30"`, reference §2.7); stored as ISO. */
  function checkDateString(field: string, value: unknown): string | null {
    if (value === null) return null;
    if (typeof value !== 'string' || !ISO_8601.test(value) || Number.isNaN(utcMs(value))) {
      throw bad(`${field} must be a date String (e.g. 2018-06-30)`);
    }
    return new Date(utcMs(value)).toISOString();
  }

  function checkPurchaseOrderParts(value: unknown): SimPurchaseOrderLine[] {
    if (!Array.isArray(value)) throw bad('parts must be an Array of objects with id and quantity');
    const seen = new Set<string>();
    return value.map((line: unknown, i) => {
      if (!isObject(line)) throw bad(`parts[${i}] must be an object with id and quantity`);
      for (const key of Object.keys(line)) {
        if (key !== 'id' && key !== 'quantity') throw bad(`parts[${i}].${key} not in schema`);
      }
      const { id, quantity } = line;
      if (typeof id !== 'string' || id === '') throw bad(`parts[${i}].id cannot be null`);
      if (!parts.some((p) => p.id === id)) throw bad(`parts[${i}].id: part ${id} not found`);
      if (seen.has(id)) throw bad(`parts[${i}].id: part ${id} is listed twice`);
      seen.add(id);
      if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity <= 0) {
        throw bad(`parts[${i}].quantity must be a positive Number`);
      }
      return { id, quantity };
    });
  }

  function checkPurchaseOrderKeys(body: Record<string, unknown>, mode: 'create' | 'patch'): void {
    for (const field of Object.keys(body)) {
      if (PO_FIELDS.has(field)) continue;
      if (mode === 'patch' && PO_PATCH_ONLY_FIELDS.has(field)) continue;
      if (mode === 'patch' && PO_READ_ONLY_FIELDS.has(field)) throw bad(`${field} is not allowed to be set!`);
      throw bad(`${field} not in schema`);
    }
  }

  /** Applies documented fields; returns the new status when it changed. */
  function applyPurchaseOrderFields(po: SimPurchaseOrder, body: Record<string, unknown>): string | undefined {
    let statusChanged: string | undefined;
    for (const [field, value] of Object.entries(body)) {
      if (value === undefined || field === 'statusAction' || field === 'partsReceived') continue;
      switch (field) {
        case 'title':
          if (value === null || value === '') throw bad('title cannot be null');
          po.title = checkString('title', value, false) as string;
          break;
        case 'description':
        case 'vendor':
        case 'category':
        case 'notes':
          po[field] = checkString(field, value, true);
          break;
        case 'dueDate':
        case 'poDate':
          po[field] = checkDateString(field, value);
          break;
        case 'purchaseOrderNumber':
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
            throw bad('purchaseOrderNumber must be a positive Number');
          }
          po.purchaseOrderNumber = value;
          break;
        case 'parts': {
          const lines = checkPurchaseOrderParts(value);
          const received = (id: string) =>
            po.partialFulfillHistory.reduce((sum, h) => sum + (h.received[id] ?? 0), 0);
          po.parts = lines;
          po.partsPendingQuantities = Object.fromEntries(
            lines.map((l) => [l.id, Math.max(0, l.quantity - received(l.id))]),
          );
          break;
        }
        case 'status': {
          if (typeof value !== 'string' || !PO_STATUSES.includes(value)) {
            throw bad(`status must be one of ${PO_STATUSES.join(', ')}`);
          }
          if (po.status !== value) {
            po.status = value;
            statusChanged = value;
            const now = nowIso();
            if (value === 'approved') po.approvedAt = now;
            if (value === 'declined') po.declinedAt = now;
            if (value === 'fulfilled') {
              // Whether fulfilment restocks the parts is undocumented (reference §7.45): it does not here.
              po.fulfilledAt = now;
              po.fulfilledByUser = SIM_USER;
            }
          }
          break;
        }
        default:
          if (PO_NUMBER_FIELDS.has(field)) checkNumber(field, value, true);
          else if (field === 'customFieldsPO') checkCustomFields(field, value);
          else checkString(field, value, true);
          po.extra[field] = structuredClone(value);
      }
    }
    return statusChanged;
  }

  /** `statusAction: partially-fulfilled` with `partsReceived`, and the doc's three 400 messages. */
  function partiallyFulfil(po: SimPurchaseOrder, body: Record<string, unknown>): void {
    if (body.statusAction !== 'partially-fulfilled') throw bad('statusAction must be partially-fulfilled');
    const received = body.partsReceived;
    const invalid = 'Invalid partial-fulfill values; should be valid positive numbers';
    if (!isObject(received) || Object.keys(received).length === 0) throw bad(invalid);
    for (const v of Object.values(received)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(invalid);
    }
    if (po.status !== 'approved' && po.status !== 'partially-fulfilled') {
      throw bad('Can partially-fulfill only if status is approved or partially-fulfilled.');
    }
    for (const [id, v] of Object.entries(received)) {
      const pending = po.partsPendingQuantities[id];
      if (pending === undefined || (v as number) > pending) {
        throw bad('Invalid partial-fulfillment values - should not be more than pending quantities');
      }
    }
    for (const [id, v] of Object.entries(received)) {
      po.partsPendingQuantities[id] = (po.partsPendingQuantities[id] ?? 0) - (v as number);
    }
    po.partialFulfillHistory.push({
      timestamp: nowIso(),
      user: SIM_USER,
      received: structuredClone(received) as Record<string, number>,
    });
    const done = Object.values(po.partsPendingQuantities).every((n) => n === 0);
    po.status = done ? 'fulfilled' : 'partially-fulfilled';
    if (done) {
      po.fulfilledAt = nowIso();
      po.fulfilledByUser = SIM_USER;
    }
  }

  const poSpec: ListSpec<SimPurchaseOrder> = {
    filters: PO_FILTERS,
    dateFields: PO_DATE_FIELDS,
    orderFields: PO_DATE_FIELDS,
    value(po, key) {
      const v = (po as unknown as Record<string, unknown>)[key];
      return typeof v === 'string' ? v : undefined;
    },
    date(po, field) {
      const v = (po as unknown as Record<string, unknown>)[field];
      return typeof v === 'string' ? utcMs(v) : undefined;
    },
    extraKey: (key) => /^customFieldsPO\[(name|value|unit)\]$/.test(key),
    tieKey: (po) => po.id,
  };

  // ---------------------------------------------------------------------------------------------
  // Requests (reference §3.7).

  const findRequest = (id: string | undefined): SimWorkRequest => {
    const request = requests.find((r) => r.id === id);
    if (!request) throw new ApiError(404, 'Request not found');
    return request;
  };

  const renderRequest = (r: SimWorkRequest) => structuredClone(r);

  /** The doc's curl sends a form (`-d title=...`); JSON is accepted too. Form numbers are coerced. */
  function requestBody(req: SimRequest): Record<string, unknown> {
    const contentType = String(req.headers['content-type'] ?? '');
    if (contentType.includes('application/x-www-form-urlencoded')) {
      const form: Record<string, unknown> = Object.fromEntries(new URLSearchParams(req.rawBody));
      for (const key of ['priority', 'dueDate']) {
        const v = form[key];
        if (typeof v === 'string' && /^\d+$/.test(v)) form[key] = Number(v);
      }
      return form;
    }
    if (!isObject(req.json)) throw bad('Request body must be a JSON object');
    return req.json;
  }

  function newRequest(body: Record<string, unknown>): SimWorkRequest {
    for (const field of Object.keys(body))
      if (!REQUEST_FIELDS.has(field)) throw bad(`${field} not in schema`);
    if (body.title === undefined || body.title === null || body.title === '')
      throw bad('title cannot be null');
    const now = nowIso();
    const str = (field: string) => (body[field] === undefined ? null : checkString(field, body[field], true));
    return {
      id: upkeepId(),
      title: checkString('title', body.title, false) as string,
      description: str('description'),
      priority: body.priority === undefined ? null : checkPriority(body.priority),
      status: 'open',
      asset: body.asset === undefined ? null : checkAsset(body.asset),
      location: str('location'),
      team: str('team'),
      assignedToUser: str('assignedToUser'),
      category: str('category'),
      dueDate: body.dueDate === undefined ? null : checkMs('dueDate', body.dueDate),
      requestedByUser: SIM_USER,
      createdAt: now,
      updatedAt: now,
    };
  }

  const requestSpec: ListSpec<SimWorkRequest> = {
    filters: REQUEST_FILTERS,
    dateFields: REQUEST_DATE_FIELDS,
    orderFields: REQUEST_DATE_FIELDS,
    value(r, key) {
      const v = (r as unknown as Record<string, unknown>)[key];
      return typeof v === 'string' ? v : undefined;
    },
    date(r, field) {
      const v = (r as unknown as Record<string, unknown>)[field];
      return typeof v === 'string' ? utcMs(v) : undefined;
    },
    tieKey: (r) => r.id,
  };

  // ---------------------------------------------------------------------------------------------
  // Downtime.

  function recordDowntime(body: unknown): SimResponse {
    if (!Array.isArray(body) || body.length === 0) {
      throw bad('Request body must be an array with at least one object');
    }
    let success = true;
    const results = body.map((row: unknown, index) => {
      const r = isObject(row) ? row : {};
      const errors: { message: string; slug: string; value?: unknown }[] = [];
      if (!isObject(row)) errors.push({ message: 'Row must be an object', slug: 'invalid-row', value: row });
      for (const key of Object.keys(r)) {
        if (!DOWNTIME_FIELDS.has(key))
          errors.push({ message: `${key} not in schema`, slug: 'invalid-field', value: key });
      }
      const assetId = typeof r.assetId === 'string' ? r.assetId : undefined;
      const asset = assetId ? assets.find((a) => a.id === assetId) : undefined;
      if (!assetId)
        errors.push({ message: 'assetId cannot be null', slug: 'missing-asset-id', value: r.assetId });
      else if (!asset) errors.push({ message: 'Asset not found', slug: 'asset-not-found', value: assetId });
      const status = r.status;
      if (status !== 'available' && status !== 'not-available') {
        errors.push({
          message: 'Invalid status; use available or not-available',
          slug: 'invalid-status',
          value: status,
        });
      }
      let recordedMs = Number.NaN;
      if (typeof r.recordedOn === 'number' && Number.isFinite(r.recordedOn) && r.recordedOn >= 0) {
        recordedMs = r.recordedOn;
      } else if (typeof r.recordedOn === 'string' && /^\d+$/.test(r.recordedOn)) {
        recordedMs = Number(r.recordedOn);
      } else if (typeof r.recordedOn === 'string' && ISO_8601.test(r.recordedOn)) {
        recordedMs = utcMs(r.recordedOn);
      }
      if (Number.isNaN(recordedMs)) {
        errors.push({ message: 'Invalid recordedOn date', slug: 'invalid-recorded-on', value: r.recordedOn });
      }
      for (const key of ['statusCategory', 'userId'] as const) {
        if (r[key] !== undefined && typeof r[key] !== 'string') {
          errors.push({ message: `${key} must be a String`, slug: `invalid-${key}`, value: r[key] });
        }
      }
      // The doc's example numbers rows 1 and 3 for array positions 0 and 1 (reference §7.33); mimic
      // it so clients cannot mistake `row` for an index.
      const base = { assetId: r.assetId, status: r.status, recordedOn: r.recordedOn, row: index * 2 + 1 };
      if (errors.length > 0 || !asset) {
        success = false;
        return { ...base, errors };
      }
      const activity: SimDowntimeActivity = {
        id: upkeepId(),
        assetId: asset.id,
        status: status as SimDowntimeActivity['status'],
        recordedOn: new Date(recordedMs).toISOString(),
        ...(typeof r.statusCategory === 'string' ? { statusCategory: r.statusCategory } : {}),
        ...(typeof r.userId === 'string' ? { userId: r.userId } : {}),
        createdAt: nowIso(),
      };
      downtime.push(activity);
      // The asset shows its latest recorded status.
      const latest = downtime
        .filter((d) => d.assetId === asset.id)
        .reduce((a, b) => (Date.parse(b.recordedOn) >= Date.parse(a.recordedOn) ? b : a));
      asset.downtimeStatus = latest.status;
      asset.availabilityStatus = latest.status;
      asset.updatedAt = nowAssetStamp();
      return {
        ...base,
        statusMessage: 'Insert new asset activity update',
        statusSlug: 'insert-asset-activity-update',
        newAssetActivityUpdateId: activity.id,
      };
    });
    // The HTTP status of a partial failure is undocumented; 200 with `success: false` here.
    return json(200, { success, results });
  }

  // ---------------------------------------------------------------------------------------------
  // Routes.

  const authRoute: Route = {
    method: 'POST',
    pattern: `${UPKEEP_SIM_API_PREFIX}/auth`,
    handler: (req) => {
      record(req, false);
      authAttempts++;
      const contentType = String(req.headers['content-type'] ?? '');
      let fields: Record<string, unknown> = {};
      if (contentType.includes('application/x-www-form-urlencoded')) {
        fields = Object.fromEntries(new URLSearchParams(req.rawBody));
      } else if (isObject(req.json)) {
        fields = req.json;
      }
      for (const field of ['email', 'password']) {
        if (typeof fields[field] !== 'string' || fields[field] === '') {
          return json(400, { success: false, message: `${field} cannot be null` });
        }
      }
      if (fields.email !== options.email || fields.password !== options.password) {
        return json(401, { success: false, message: 'Invalid username/password.' });
      }
      const sessionToken = `r:${randomBytes(16).toString('hex')}`;
      const expiresAt = clock.now().getTime() + tokenTtlMs;
      tokens.set(sessionToken, expiresAt);
      issued.push(sessionToken);
      logins++;
      return json(200, {
        success: true,
        result: { sessionToken, expiresAt: new Date(expiresAt).toISOString() },
      });
    },
  };

  const routes: Route[] = [
    authRoute,
    api('DELETE', '/auth', (req) => {
      const header = req.headers['session-token'];
      tokens.delete(String(Array.isArray(header) ? header[0] : header));
      return json(200, { success: true, message: 'session deleted' });
    }),

    api('POST', '/work-orders', (req) => json(200, { success: true, result: createWorkOrder(req.json) })),

    api('GET', '/work-orders', (req) => {
      const page = list(req, workOrders, woSpec);
      if (page === 'past-end') return json(404, { success: false, message: 'No work orders found' });
      const includes = includesOf(req);
      return json(200, { success: true, results: page.map((wo) => renderWorkOrder(wo, 'read', includes)) });
    }),

    api('GET', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(req.params.id);
      const includes = includesOf(req);
      return json(200, {
        success: true,
        result: { ...renderWorkOrder(wo, 'read', includes), arrayOfUpdateItems: updateItemsOf(wo, includes) },
      });
    }),

    api('PATCH', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(req.params.id);
      const body = req.json;
      if (!isObject(body)) throw bad('Request body must be a JSON object');
      checkKeys(body, 'patch');
      // Validate on a copy so a bad field leaves the record untouched.
      const draft: SimWorkOrder = structuredClone(wo);
      const statusChanged = applyFields(draft, body, 'patch');
      draft.updatedAt = nowIso();
      Object.assign(wo, draft);
      deliverWebhook('WORK_ORDER_UPDATED', wo.id, renderWorkOrder(wo, 'read'));
      if (statusChanged) deliverWebhook('WORK_ORDER_STATUS_UPDATED', wo.id, renderWorkOrder(wo, 'read'));
      return json(200, { success: true, result: renderWorkOrder(wo, 'write') });
    }),

    api('POST', '/work-orders/:id/update-messages', (req) => {
      const wo = findWorkOrder(req.params.id);
      // The doc's curl sends a form (`-d text="New message"`); JSON is accepted too.
      const body = requestBody(req);
      if (body.text === undefined || body.text === null || body.text === '') throw bad('text cannot be null');
      if (typeof body.text !== 'string') throw bad('text must be a String');
      const unknown = Object.keys(body).filter((k) => k !== 'text');
      if (unknown.length > 0) throw bad(`${unknown[0]} is not in schema`);
      updateMessages.push({ id: upkeepId(), workOrderId: wo.id, text: body.text, createdAt: nowIso() });
      return json(200, { success: true, message: '1 message Added' });
    }),

    api('DELETE', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(req.params.id);
      workOrders = workOrders.filter((w) => w !== wo);
      deliverWebhook('WORK_ORDER_DELETED', wo.id, renderWorkOrder(wo, 'read'));
      return json(200, { success: true, message: '1 work order deleted' });
    }),

    api('POST', '/assets/downtime', (req) => recordDowntime(req.json)),

    api('GET', '/assets', (req) => {
      const page = list(req, assets, assetSpec);
      if (page === 'past-end') return json(404, { success: false, message: 'No assets found' });
      return json(200, { success: true, results: structuredClone(page) });
    }),

    api('GET', '/assets/:id', (req) => {
      const asset = assets.find((a) => a.id === req.params.id);
      if (!asset) throw new ApiError(404, 'Asset not found');
      return json(200, { success: true, result: structuredClone(asset) });
    }),

    api('POST', '/parts', (req) => {
      const body = req.json;
      if (!isObject(body)) throw bad('Request body must be a JSON object');
      const part = newPart(body, upkeepId());
      parts.push(part);
      return json(200, { success: true, result: renderPart(part) });
    }),

    api('GET', '/parts', (req) => {
      const page = list(req, parts, partSpec);
      if (page === 'past-end') return json(404, { success: false, message: 'No parts found' });
      return json(200, { success: true, results: page.map(renderPart) });
    }),

    api('GET', '/parts/:id', (req) =>
      json(200, { success: true, result: renderPart(findPart(req.params.id)) }),
    ),

    api('PATCH', '/parts/:id', (req) => {
      const part = findPart(req.params.id);
      const body = req.json;
      if (!isObject(body)) throw bad('Request body must be a JSON object');
      checkPartKeys(body, 'patch');
      // Validate on a copy so a bad field leaves the record untouched.
      const draft: SimPart = structuredClone(part);
      applyPartFields(draft, body);
      draft.updatedAt = nowIso();
      Object.assign(part, draft);
      return json(200, { success: true, result: renderPart(part) });
    }),

    api('DELETE', '/parts/:id', (req) => {
      const part = findPart(req.params.id);
      parts = parts.filter((p) => p !== part);
      return json(200, { success: true, message: '1 part deleted' });
    }),

    api('POST', '/purchase-orders', (req) => {
      const body = req.json;
      if (!isObject(body)) throw bad('Request body must be a JSON object');
      checkPurchaseOrderKeys(body, 'create');
      if (body.title === undefined || body.title === null || body.title === '') {
        throw bad('title cannot be null');
      }
      const now = nowIso();
      const po: SimPurchaseOrder = {
        id: upkeepId(),
        purchaseOrderNumber: 0,
        title: '',
        description: null,
        status: 'awaiting',
        vendor: null,
        category: null,
        dueDate: null,
        poDate: null,
        notes: null,
        parts: [],
        partsPendingQuantities: {},
        partialFulfillHistory: [],
        createdByUser: SIM_USER,
        approvedAt: null,
        declinedAt: null,
        fulfilledAt: null,
        fulfilledByUser: null,
        extra: {},
        createdAt: now,
        updatedAt: now,
      };
      applyPurchaseOrderFields(po, body);
      // A custom number does not move the account's sequence.
      if (body.purchaseOrderNumber === undefined) po.purchaseOrderNumber = ++poCounter;
      purchaseOrders.push(po);
      deliverWebhook('PURCHASE_ORDER_CREATED', po.id, renderPurchaseOrder(po, 'full'));
      return json(200, { success: true, result: renderPurchaseOrder(po, 'full') });
    }),

    api('GET', '/purchase-orders', (req) => {
      const page = list(req, purchaseOrders, poSpec);
      if (page === 'past-end') return json(404, { success: false, message: 'No purchase orders found' });
      return json(200, { success: true, results: page.map((po) => renderPurchaseOrder(po, 'list')) });
    }),

    api('GET', '/purchase-orders/:id', (req) =>
      json(200, { success: true, result: renderPurchaseOrder(findPurchaseOrder(req.params.id), 'full') }),
    ),

    api('PATCH', '/purchase-orders/:id', (req) => {
      const po = findPurchaseOrder(req.params.id);
      const body = req.json;
      if (!isObject(body)) throw bad('Request body must be a JSON object');
      checkPurchaseOrderKeys(body, 'patch');
      const draft: SimPurchaseOrder = structuredClone(po);
      const statusChanged = applyPurchaseOrderFields(draft, body);
      if (body.statusAction !== undefined || body.partsReceived !== undefined) partiallyFulfil(draft, body);
      draft.updatedAt = nowIso();
      Object.assign(po, draft);
      const record = renderPurchaseOrder(po, 'full');
      deliverWebhook('PURCHASE_ORDER_UPDATED', po.id, record);
      if (statusChanged === 'approved') deliverWebhook('PURCHASE_ORDER_APPROVED', po.id, record);
      if (statusChanged === 'declined') deliverWebhook('PURCHASE_ORDER_DECLINED', po.id, record);
      return json(200, { success: true, result: record });
    }),

    api('DELETE', '/purchase-orders/:id', (req) => {
      const po = findPurchaseOrder(req.params.id);
      purchaseOrders = purchaseOrders.filter((p) => p !== po);
      deliverWebhook('PURCHASE_ORDER_DELETED', po.id, renderPurchaseOrder(po, 'full'));
      return json(200, { success: true, message: '1 Purchase Order deleted' });
    }),

    api('POST', '/requests', (req) => {
      const request = newRequest(requestBody(req));
      requests.push(request);
      deliverWebhook('REQUEST_CREATED', request.id, renderRequest(request));
      return json(200, { success: true, result: renderRequest(request) });
    }),

    api('GET', '/requests', (req) => {
      const page = list(req, requests, requestSpec);
      if (page === 'past-end') return json(404, { success: false, message: 'No requests found' });
      return json(200, { success: true, results: page.map(renderRequest) });
    }),

    api('GET', '/requests/:id', (req) =>
      json(200, { success: true, result: renderRequest(findRequest(req.params.id)) }),
    ),

    // Control API (no auth).
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () => json(200, snapshot()),
    },
    // A technician creates a work order in UpKeep's app: same checks and webhook as the API.
    control('POST', '/_sandbox/work-orders', (req) => json(200, { workOrder: createWorkOrder(req.json) })),
    control('POST', '/_sandbox/parts', (req) => {
      const body = req.json;
      if (!isObject(body) || !Array.isArray(body.parts)) throw bad('body must be {"parts": [...]}');
      const created = addParts(body.parts as SimPartInput[]);
      return json(200, { created: created.length, ids: created.map((p) => p.id) });
    }),
    control('POST', '/_sandbox/parts/:id/consume', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: renderPart(adjustStock(req.params.id, -1, quantity)) });
    }),
    control('POST', '/_sandbox/parts/:id/restock', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: renderPart(adjustStock(req.params.id, 1, quantity)) });
    }),
    {
      method: 'POST',
      pattern: '/_sandbox/tokens/expire',
      handler: () => {
        expireTokens();
        return json(200, { expired: tokens.size });
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
  ];

  function snapshot(): UpKeepSimState {
    return structuredClone({ workOrders, assets, downtime, parts, purchaseOrders, requests, updateMessages });
  }
  function expireTokens(): void {
    for (const token of tokens.keys()) tokens.set(token, 0);
  }
  function reset(): void {
    workOrders = [];
    assets = seedAssets(nowAssetStamp());
    downtime = [];
    woCounter = 0;
    parts = [];
    addParts(options.parts ?? UPKEEP_SIM_SEED_PARTS);
    purchaseOrders = [];
    requests = [];
    poCounter = 0;
    tokens.clear();
    issued = [];
    calls = [];
    authAttempts = 0;
    logins = 0;
    updateMessages = [];
    deliveries = [];
    sim.faults.length = 0;
    sim.requests.length = 0;
  }

  function exportState(): UpKeepSavedState {
    return {
      simulator: 'upkeep',
      version: UPKEEP_SIM_STATE_VERSION,
      ...snapshot(),
      workOrderSequence: woCounter,
      purchaseOrderSequence: poCounter,
    };
  }
  function importState(saved: unknown): void {
    const state = readSavedState<UpKeepSavedState>(saved, {
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
    });
    const copy = structuredClone(state);
    workOrders = copy.workOrders;
    updateMessages = copy.updateMessages;
    assets = copy.assets;
    downtime = copy.downtime;
    parts = copy.parts;
    purchaseOrders = copy.purchaseOrders;
    requests = copy.requests;
    woCounter = copy.workOrderSequence;
    poCounter = copy.purchaseOrderSequence;
  }

  addParts(options.parts ?? UPKEEP_SIM_SEED_PARTS);
  const persistence = simulatorPersistence(options.store, { exportState, importState });
  persistence.restore();
  const sim = await startSimulator({
    name: 'upkeep',
    routes,
    port: options.port,
    commit: persistence.commit,
  });
  return Object.assign(sim, {
    baseUrl: `${sim.url}${UPKEEP_SIM_API_PREFIX}`,
    state: snapshot,
    workOrders: () => structuredClone(workOrders),
    assets: () => structuredClone(assets),
    downtime: () => structuredClone(downtime),
    parts: () => structuredClone(parts),
    purchaseOrders: () => structuredClone(purchaseOrders),
    workRequests: () => structuredClone(requests),
    workOrderMessages: (workOrderId?: string) =>
      structuredClone(updateMessages.filter((m) => !workOrderId || m.workOrderId === workOrderId)),
    consumePart: persistence.committing((id: string, quantity: number) =>
      structuredClone(adjustStock(id, -1, quantity)),
    ),
    restockPart: persistence.committing((id: string, quantity: number) =>
      structuredClone(adjustStock(id, 1, quantity)),
    ),
    addParts: persistence.committing((list: readonly SimPartInput[]) => structuredClone(addParts(list))),
    calls: () => structuredClone(calls),
    authAttempts: () => authAttempts,
    logins: () => logins,
    issuedTokens: () => [...issued],
    expireTokens,
    reset: persistence.committing(reset),
    exportState,
    importState: persistence.committing(importState),
    webhookDeliveries: () => structuredClone(deliveries),
    flushWebhooks: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  });
}
