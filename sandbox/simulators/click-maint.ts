/**
 * Click Maint API simulator, built from the vendor doc (shared/vendors/click-maint/reference.md). It
 * serves the API under `/api/v1` like the real host, so a client's `baseUrl` is `sim.baseUrl`.
 *
 * As documented: `Authorization: Bearer <key>` (401 `{status: 'error', message: 'Invalid API key'}`),
 * `X-Entity-Id` on every call but `GET /entities`, the `{status: 'success', data, meta}` envelope with
 * `meta.entity` / `meta.customer` and, on lists, `meta.pagination {total, page, per_page,
 * total_pages}`, `meta.sort` (array), `meta.search` and `meta.filter` (the echo of the filters
 * applied); `page` / `per_page` (default 50), `sort=<field> <asc|desc>`, Ransack
 * `filter[<field>_<cont|eq|gteq|lteq|gt|lt>]`; wrapped create/update bodies (`{work_order: {...}}`)
 * and unwrapped part actions (`restock {quantity, cost, note}`, `reconcile {quantity (delta), note}`);
 * timestamps in whole seconds (`2026-11-02T08:00:00Z`); rate-limit headers
 * `X-RateLimit-Limit / -Remaining / -Reset` (unix seconds) and `retry-after` (seconds).
 *
 * Where the doc is silent (reference §2.2, §6), the choice is made here and noted:
 * - Rate limit: a FIXED window aligned to the epoch, in REAL wall-clock time (`wallClock`, default
 *   Date.now; not the sandbox clock), per simulator (= per IP). Every request that passes auth counts,
 *   429-rejected ones too; the 429 carries `retry-after` = seconds to the window's end.
 * - Order of checks: auth (401, not counted), rate limit (429), then `X-Entity-Id` (400 when missing
 *   or not an integer, 404 when unknown to the key).
 * - `filter[updated_at_*]` is honoured only with `acceptsUpdatedAtFilter` (default true); otherwise it
 *   is ignored and NOT echoed in `meta.filter`, as Ransack does with an unpermitted predicate. Unknown
 *   fields and predicates are ignored the same way.
 * - Ties of the sort field are ordered by id ascending; `per_page` is capped at `maxPerPage`.
 * - Statuses for work orders: 1 open, 2 on_hold, 3 in_progress, 5 completed (`status_id` writes);
 *   `completed_at` is set when the status becomes 5 (unless given) and cleared when it leaves 5.
 * - Validation failures answer 422 `{status: 'error', message}`; a missing wrapper answers 400 like
 *   Rails (`param is missing or the value is empty: work_order`); created work orders answer 201.
 * - Request contract: what api-doc.txt marks required is required (the `X-Entity-Id` header, the
 *   wrapper object, restock `quantity` + `cost`, reconcile `quantity` + `note`) and every field
 *   sent must have its documented type (decimals, integers and integer arrays, `"yes"` strings,
 *   checklist items; null clears a work-order field); optional fields (restock `note`, every
 *   work-order field but the title) may be omitted. Beyond the doc, named here: a work order needs a
 *   `title` (the doc marks only the wrapper required; "Title can't be blank" is Rails' message), a
 *   restock `quantity` is > 0 (the doc gives no sign), and `type` is accepted on create only.
 *
 * Control routes (no auth, not rate limited): `GET /_sandbox/state`, `GET /_sandbox/stats`,
 * `POST /_sandbox/reset`, `POST /_sandbox/parts` (`{entityId, parts: [...]}`),
 * `POST /_sandbox/parts/:id/consume` and `/restock` (`{quantity}`), `POST /_sandbox/settings`
 * (`{rateLimit?: {limit, windowSeconds}, acceptsUpdatedAtFilter?}`), plus the shared ones of server.ts
 * (`/_sandbox/faults`, `/_sandbox/requests`).
 */
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

export const CLICK_MAINT_SIM_API_PREFIX = '/api/v1';
export const CLICK_MAINT_SIM_STATUSES: Readonly<Record<number, string>> = {
  1: 'open',
  2: 'on_hold',
  3: 'in_progress',
  5: 'completed',
};
export const CLICK_MAINT_SIM_COMPLETED_STATUS = 5;
const PRIORITIES = ['none', 'low', 'medium', 'high'];
const CUSTOMER = { id: 84, name: 'Acme Corporation' };

export interface SimEntity {
  id: number;
  name: string;
}

export const CLICK_MAINT_SIM_ENTITIES: readonly SimEntity[] = [
  { id: 1, name: 'Main Facility' },
  { id: 2, name: 'North Plant' },
];

export interface ClickMaintSimulatorOptions {
  port?: number;
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
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
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

export interface SimPart {
  id: number;
  entityId: number;
  name: string;
  description: string | null;
  number: string | null;
  area: string | null;
  is_non_stock: boolean;
  on_hand_qty: number;
  min_qty: number | null;
  desired_qty: number | null;
  reserved: number;
  unit_cost: number | null;
  avg_unit_cost: number | null;
  created_at: string;
  updated_at: string;
}

/** A part for `addParts` / `POST /_sandbox/parts` (vendor field names; `id` optional). */
export interface SimPartInput {
  id?: number;
  name: string;
  description?: string | null;
  number?: string | null;
  area?: string | null;
  is_non_stock?: boolean;
  on_hand_qty?: number;
  min_qty?: number | null;
  desired_qty?: number | null;
  reserved?: number;
  unit_cost?: number | null;
}

export interface SimAsset {
  id: number;
  entityId: number;
  name: string;
  asset_code: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface SimWorkOrder {
  id: number;
  entityId: number;
  title: string;
  description: string | null;
  priority: string;
  type: string;
  status_id: number;
  asset_id: number | null;
  due_date: string | null;
  completed_at: string | null;
  /** Other documented fields as sent (categories_ids, technicians_ids, checklist, ...). */
  extra: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface SimPartTransaction {
  id: number;
  partId: number;
  entityId: number;
  /** `restock` / `reconcile` (API), `consume` / `control_restock` (control API). */
  type: string;
  quantity: number;
  cost: number | null;
  note: string | null;
  created_at: string;
}

export interface SimCall {
  /** `METHOD /path` without the `/api/v1` prefix. */
  line: string;
  query: Record<string, string[]>;
  /** The `X-Entity-Id` header as sent. */
  entityId: string | undefined;
  /** The JSON body as sent. */
  body: unknown;
  status: number;
}

export interface ClickMaintSimStats {
  /** Every API request (control routes excluded; fault-answered ones included). */
  requests: number;
  /** Requests that failed auth (not counted against the rate limit). */
  unauthorized: number;
  /** Answers 429. */
  rateLimited: number;
  /** The most requests accepted (not 429) within one rate window. */
  maxAcceptedInWindow: number;
  /** The current window: start (wall-clock ms), requests counted, requests accepted. */
  window: { startMs: number; counted: number; accepted: number };
  rateLimit: { limit: number; windowSeconds: number };
}

export interface ClickMaintSimState {
  entities: SimEntity[];
  parts: SimPart[];
  assets: SimAsset[];
  workOrders: SimWorkOrder[];
  transactions: SimPartTransaction[];
  stats: ClickMaintSimStats;
}

export interface ClickMaintSimulator extends Simulator {
  /** `${url}/api/v1`: the client's base URL. */
  baseUrl: string;
  state(): ClickMaintSimState;
  parts(entityId?: number): SimPart[];
  assets(entityId?: number): SimAsset[];
  workOrders(entityId?: number): SimWorkOrder[];
  transactions(partId?: number): SimPartTransaction[];
  /** Create parts in an entity, all stamped with the clock's current second; throws on bad input. */
  addParts(entityId: number, parts: readonly SimPartInput[]): SimPart[];
  /** Take stock out (work on the floor); bumps updated_at. Throws below zero. */
  consume(partId: number, quantity: number): SimPart;
  /** Put stock in; bumps updated_at. */
  restock(partId: number, quantity: number): SimPart;
  stats(): ClickMaintSimStats;
  setRateLimit(rateLimit: { limit: number; windowSeconds: number }): void;
  setAcceptsUpdatedAtFilter(accepts: boolean): void;
  /** Every API call that reached the simulator's checks (not fault-answered ones), oldest first. */
  calls(): SimCall[];
  /** Data, stats, calls and the request log back to the start (settings stay). */
  reset(): void;
  /** The state that survives a restart (a deep copy). */
  exportState(): ClickMaintSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}

/** A control or API input that cannot be applied; `status` is what the route answers. */
export class SimulatorInputError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimulatorInputError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const decimals = (n: number): number => {
  const s = String(n);
  if (s.includes('e')) return 10;
  return s.includes('.') ? (s.split('.')[1]?.length ?? 0) : 0;
};
/** Whole-second ISO, like the real API (`2026-11-02T08:00:00Z`). */
export const isoSeconds = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;
const error = (status: number, message: string): SimResponse => json(status, { status: 'error', message });
const unprocessable = (message: string) => new SimulatorInputError(422, message);

// Documented types of the work-order fields the simulator keeps as sent (api-doc.txt, "Work order to
// create": integers, integer arrays, `"yes"` strings, checklist items). A field may be null to clear.
const WO_INTEGER_FIELDS = ['work_order_request_id', 'location_id'];
const WO_INTEGER_LIST_FIELDS = [
  'categories_ids',
  'account_codes_ids',
  'procedure_template_ids',
  'technicians_ids',
  'vendors_ids',
];
const WO_STRING_FIELDS = ['notify_vendors_on_create', 'notify_vendors_on_update'];

/** Rails-style attribute label for messages: `categories_ids` -> `Categories ids`. */
const label = (field: string) => {
  const words = field.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** A `checklist[]` item: `{text: string, order: integer, checked: boolean}` (each typed when sent). */
function checkChecklist(value: unknown): void {
  if (!Array.isArray(value) || !value.every(isObject))
    throw unprocessable('Checklist must be an array of items');
  value.forEach((item: Record<string, unknown>, i) => {
    if (item.text !== undefined && typeof item.text !== 'string')
      throw unprocessable(`Checklist item ${i} text must be a string`);
    if (item.order !== undefined && !Number.isInteger(item.order))
      throw unprocessable(`Checklist item ${i} order must be an integer`);
    if (item.checked !== undefined && typeof item.checked !== 'boolean')
      throw unprocessable(`Checklist item ${i} checked must be a boolean`);
  });
}

/** The documented type of a kept work-order field; a 422 when it is not met. */
function checkWorkOrderExtra(field: string, value: unknown): void {
  if (value === null) return;
  if (WO_INTEGER_FIELDS.includes(field) && !Number.isInteger(value))
    throw unprocessable(`${label(field)} must be an integer`);
  if (
    WO_INTEGER_LIST_FIELDS.includes(field) &&
    (!Array.isArray(value) || !value.every((v) => Number.isInteger(v)))
  ) {
    throw unprocessable(`${label(field)} must be an array of integers`);
  }
  if (WO_STRING_FIELDS.includes(field) && typeof value !== 'string')
    throw unprocessable(`${label(field)} must be a string`);
  if (field === 'checklist') checkChecklist(value);
}

/** Doc-like seed data of entity 1 (reference §3.5 example values for the Air Filter). */
function seedParts(): (SimPartInput & { id: number })[] {
  return [
    {
      id: 101,
      name: 'Air Filter',
      description: 'Fiberglass panel filter',
      number: 'FL_A',
      area: 'Filters bin',
      on_hand_qty: 6,
      min_qty: 5,
      desired_qty: 8,
      reserved: 1,
      unit_cost: 26.15,
    },
    {
      id: 102,
      name: 'V-Belt B52',
      number: 'B52',
      on_hand_qty: 2,
      min_qty: 3,
      desired_qty: 6,
      unit_cost: 18.4,
    },
    {
      id: 103,
      name: 'Grease cartridge',
      number: 'GR-400',
      on_hand_qty: 40,
      min_qty: 10,
      desired_qty: 60,
      unit_cost: 7.25,
    },
    { id: 104, name: 'Shop towels', is_non_stock: true, unit_cost: 12 },
  ];
}

// ---------------------------------------------------------------------------------------------
// Lists: Ransack filters, sort, pagination.

type Row = Record<string, unknown>;
const PREDICATES = ['cont', 'eq', 'gteq', 'lteq', 'gt', 'lt'] as const;
type Predicate = (typeof PREDICATES)[number];

interface ListSpec {
  /** Fields filters and sort may name (of the rendered row). */
  fields: readonly string[];
  defaultSort: string;
  /** Fields `search` looks in. */
  searchFields: readonly string[];
}

const isTimeField = (field: string) => field.endsWith('_at') || field.endsWith('_date');

function compareValues(a: unknown, b: unknown, field: string): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (isTimeField(field)) return Date.parse(String(a)) - Date.parse(String(b));
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

function matches(value: unknown, predicate: Predicate, param: string, field: string): boolean {
  if (predicate === 'cont')
    return String(value ?? '')
      .toLowerCase()
      .includes(param.toLowerCase());
  if (predicate === 'eq') return String(value) === param;
  if (value === null || value === undefined) return false;
  let cmp: number;
  if (isTimeField(field)) {
    const bound = Date.parse(param);
    if (Number.isNaN(bound)) return false;
    cmp = Date.parse(String(value)) - bound;
  } else {
    const bound = Number(param);
    if (!Number.isFinite(bound) || typeof value !== 'number') return false;
    cmp = value - bound;
  }
  return predicate === 'gteq'
    ? cmp >= 0
    : predicate === 'lteq'
      ? cmp <= 0
      : predicate === 'gt'
        ? cmp > 0
        : cmp < 0;
}

// ---------------------------------------------------------------------------------------------

export async function startClickMaintSimulator(
  options: ClickMaintSimulatorOptions,
): Promise<ClickMaintSimulator> {
  const { clock } = options;
  const wallClock = options.wallClock ?? Date.now;
  const entities: SimEntity[] = (options.entities ?? CLICK_MAINT_SIM_ENTITIES).map((e) => ({ ...e }));
  const maxPerPage = options.maxPerPage ?? 100;
  let rateLimit = { limit: 300, windowSeconds: 300, ...options.rateLimit };
  let acceptsUpdatedAtFilter = options.acceptsUpdatedAtFilter ?? true;

  let parts: SimPart[] = [];
  let assets: SimAsset[] = [];
  let workOrders: SimWorkOrder[] = [];
  let transactions: SimPartTransaction[] = [];
  let calls: SimCall[] = [];
  let woCounter = 1000;
  let txCounter = 0;
  const stats = { unauthorized: 0, rateLimited: 0, maxAcceptedInWindow: 0 };
  let window = { startMs: 0, counted: 0, accepted: 0 };

  const now = () => isoSeconds(clock.now());

  // ---- data helpers -----------------------------------------------------------------------

  const entityOf = (id: number): SimEntity => {
    const entity = entities.find((e) => e.id === id);
    if (!entity) throw new SimulatorInputError(404, `unknown entity ${id}`);
    return entity;
  };

  function addParts(entityId: number, list: readonly SimPartInput[]): SimPart[] {
    entityOf(entityId);
    const stamp = now();
    const created: SimPart[] = [];
    for (const input of list) {
      if (!isObject(input) || typeof input.name !== 'string' || input.name.trim() === '') {
        throw new SimulatorInputError(400, 'each part needs a name');
      }
      const id = input.id ?? Math.max(100, ...parts.map((p) => p.id)) + 1;
      if (!Number.isInteger(id) || id < 1 || parts.some((p) => p.id === id)) {
        throw new SimulatorInputError(400, `part id ${String(id)} is invalid or taken`);
      }
      const nonStock = input.is_non_stock === true;
      const part: SimPart = {
        id,
        entityId,
        name: input.name,
        description: input.description ?? null,
        number: input.number ?? null,
        area: input.area ?? null,
        is_non_stock: nonStock,
        on_hand_qty: nonStock ? 0 : (input.on_hand_qty ?? 0),
        min_qty: nonStock ? null : (input.min_qty ?? null),
        desired_qty: nonStock ? null : (input.desired_qty ?? null),
        reserved: input.reserved ?? 0,
        unit_cost: input.unit_cost ?? null,
        avg_unit_cost: input.unit_cost ?? null,
        created_at: stamp,
        updated_at: stamp,
      };
      parts.push(part);
      created.push(part);
    }
    return created;
  }

  const findPart = (id: number, entityId?: number): SimPart => {
    const part = parts.find((p) => p.id === id && (entityId === undefined || p.entityId === entityId));
    if (!part) throw new SimulatorInputError(404, 'Part not found');
    return part;
  };

  function record(part: SimPart, type: string, quantity: number, cost: number | null, note: string | null) {
    transactions.push({
      id: ++txCounter,
      partId: part.id,
      entityId: part.entityId,
      type,
      quantity,
      cost,
      note,
      created_at: part.updated_at,
    });
  }

  /** Control-API stock change (work on the floor, a delivery); bumps updated_at. */
  function adjust(id: number, sign: 1 | -1, quantity: unknown): SimPart {
    const part = findPart(id);
    if (!isNumber(quantity) || quantity <= 0)
      throw new SimulatorInputError(400, 'quantity must be a number > 0');
    if (part.is_non_stock) throw new SimulatorInputError(409, `part ${id} is non-stock`);
    const next = round3(part.on_hand_qty + sign * quantity);
    if (next < 0) throw new SimulatorInputError(409, `part ${id} has only ${part.on_hand_qty} on hand`);
    part.on_hand_qty = next;
    part.updated_at = now();
    record(part, sign < 0 ? 'consume' : 'control_restock', sign * quantity, null, null);
    return part;
  }

  function seed(): void {
    if (options.seed === false) return;
    if (entities.some((e) => e.id === 1)) {
      addParts(1, seedParts());
      const stamp = now();
      assets.push(
        {
          id: 45,
          entityId: 1,
          name: 'Mill 01',
          asset_code: 'AST-045',
          status: 'online',
          created_at: stamp,
          updated_at: stamp,
        },
        {
          id: 46,
          entityId: 1,
          name: 'Lathe 02',
          asset_code: 'AST-046',
          status: 'online',
          created_at: stamp,
          updated_at: stamp,
        },
      );
    }
  }

  // ---- rendering --------------------------------------------------------------------------

  const entityMeta = (entity: SimEntity | undefined) => ({
    entity: entity
      ? {
          id: entity.id,
          name: entity.name,
          currency: 'USD',
          currency_symbol: '$',
          datetime_format: 'MM/DD/YYYY - 11:59 PM',
          timezone: 'Etc/UTC: +00:00',
        }
      : {
          id: null,
          name: null,
          currency: null,
          currency_symbol: null,
          datetime_format: null,
          timezone: null,
        },
    customer: CUSTOMER,
  });

  const renderEntity = (e: SimEntity): Row => ({
    id: e.id,
    name: e.name,
    description: null,
    address: null,
    datetime_format: 'MM/DD/YYYY - 11:59 PM',
    timezone: 'Etc/UTC: +00:00',
    currency: 'USD',
    currency_name: 'United States Dollar',
    currency_symbol: '$',
    created_at: '2025-07-17T19:19:20Z',
    updated_at: '2025-07-17T19:19:20Z',
    created_by_id: 1,
    updated_by_id: 1,
  });

  /** List items have no `reserved` (reference §3.5); the single GET has it. */
  const renderPart = (p: SimPart, view: 'list' | 'show'): Row => ({
    id: p.id,
    name: p.name,
    description: p.description,
    is_non_stock: p.is_non_stock,
    number: p.number,
    area: p.area,
    lead_time: null,
    on_hand_qty: p.on_hand_qty,
    min_qty: p.min_qty,
    desired_qty: p.desired_qty,
    unit_cost: p.unit_cost,
    avg_unit_cost: p.avg_unit_cost,
    available: p.is_non_stock ? null : round3(p.on_hand_qty - p.reserved),
    ...(view === 'show' ? { reserved: p.reserved } : {}),
    part_type: null,
    storeroom: null,
    measurement_unit: { id: 2, name: 'Item', ...(view === 'show' ? { short_name: 'itm' } : {}) },
    created_at: p.created_at,
    updated_at: p.updated_at,
  });

  const renderAsset = (a: SimAsset): Row => ({
    id: a.id,
    name: a.name,
    asset_code: a.asset_code,
    status: a.status,
    location: null,
    parent: null,
    created_at: a.created_at,
    updated_at: a.updated_at,
  });

  const renderWorkOrder = (wo: SimWorkOrder): Row => {
    const asset = wo.asset_id === null ? undefined : assets.find((a) => a.id === wo.asset_id);
    return {
      id: wo.id,
      title: wo.title,
      description: wo.description,
      priority: wo.priority,
      type: wo.type,
      pm_schedule_id: null,
      status: {
        id: wo.status_id,
        name: CLICK_MAINT_SIM_STATUSES[wo.status_id] ?? 'unknown',
        is_custom: false,
      },
      // Filterable scalar (Ransack filters on columns, `filter[status_id_eq]`).
      status_id: wo.status_id,
      asset: asset ? { id: asset.id, name: asset.name, status: asset.status } : null,
      location: null,
      categories: [],
      technicians: [],
      due_date: wo.due_date,
      completed_at: wo.completed_at,
      created_at: wo.created_at,
      updated_at: wo.updated_at,
      created_by: { id: 7, name: 'Millwright', surname: 'API' },
      updated_by: { id: 7, name: 'Millwright', surname: 'API' },
    };
  };

  function listAnswer(
    req: SimRequest,
    rows: Row[],
    spec: ListSpec,
    entity: SimEntity | undefined,
  ): SimResponse {
    const q = req.query;
    // Ransack: `filter[<field>_<predicate>]`; unknown fields/predicates are ignored and not echoed.
    const applied: Record<string, string> = {};
    let out = rows;
    for (const [key, value] of q.entries()) {
      const m = /^filter\[([a-z0-9_]+)\]$/.exec(key);
      if (!m?.[1]) continue;
      const name = m[1];
      const predicate = PREDICATES.find((p) => name.endsWith(`_${p}`));
      if (!predicate) continue;
      const field = name.slice(0, -(predicate.length + 1));
      if (!spec.fields.includes(field)) continue;
      if (field.startsWith('updated_at') && !acceptsUpdatedAtFilter) continue;
      applied[name] = value;
      out = out.filter((row) => matches(row[field], predicate, value, field));
    }
    const search = q.get('search');
    if (search) {
      const needle = search.toLowerCase();
      out = out.filter((row) =>
        spec.searchFields.some((f) =>
          String(row[f] ?? '')
            .toLowerCase()
            .includes(needle),
        ),
      );
    }
    let sort = spec.defaultSort;
    const askedSort = /^([a-z0-9_]+) (asc|desc)$/i.exec((q.get('sort') ?? '').trim());
    if (askedSort?.[1] && askedSort[2] && spec.fields.includes(askedSort[1])) {
      sort = `${askedSort[1]} ${askedSort[2].toLowerCase()}`;
    }
    const [sortField = 'id', direction] = sort.split(' ');
    const sign = direction === 'desc' ? -1 : 1;
    out = [...out].sort(
      (a, b) => sign * compareValues(a[sortField], b[sortField], sortField) || Number(a.id) - Number(b.id),
    );
    const pageParam = Number(q.get('page') ?? '1');
    const page = Number.isInteger(pageParam) && pageParam >= 1 ? pageParam : 1;
    const perParam = Number(q.get('per_page') ?? '50');
    const perPage = Math.min(maxPerPage, Number.isInteger(perParam) && perParam >= 1 ? perParam : 50);
    const total = out.length;
    return json(200, {
      status: 'success',
      data: out.slice((page - 1) * perPage, page * perPage),
      meta: {
        ...entityMeta(entity),
        pagination: { total, page, per_page: perPage, total_pages: Math.ceil(total / perPage) },
        sort: [sort],
        search: search ?? null,
        filter: applied,
      },
    });
  }

  const one = (entity: SimEntity, data: Row, status = 200): SimResponse =>
    json(status, { status: 'success', data, meta: entityMeta(entity) });

  // ---- the API pipeline: auth, rate limit, entity ------------------------------------------

  function rateHeaders(nowMs: number): Record<string, string> {
    const windowMs = rateLimit.windowSeconds * 1000;
    const endMs = window.startMs + windowMs;
    return {
      'x-ratelimit-limit': String(rateLimit.limit),
      'x-ratelimit-remaining': String(Math.max(0, rateLimit.limit - window.counted)),
      'x-ratelimit-reset': String(Math.ceil(endMs / 1000)),
      ...(window.counted > rateLimit.limit
        ? { 'retry-after': String(Math.max(1, Math.ceil((endMs - nowMs) / 1000))) }
        : {}),
    };
  }

  function rollWindow(nowMs: number): void {
    const windowMs = rateLimit.windowSeconds * 1000;
    const startMs = Math.floor(nowMs / windowMs) * windowMs;
    if (startMs !== window.startMs) window = { startMs, counted: 0, accepted: 0 };
  }

  type ApiHandler = (req: SimRequest, entity: SimEntity) => SimResponse;

  /** An entity-scoped API route (`X-Entity-Id` required). */
  const api = (method: string, path: string, handler: ApiHandler): Route =>
    route(method, path, (req, entity) => (entity ? handler(req, entity) : error(500, 'no entity')), 'entity');
  /** An account-scoped API route (`GET /entities`: no `X-Entity-Id`). */
  const accountApi = (method: string, path: string, handler: (req: SimRequest) => SimResponse): Route =>
    route(method, path, (req) => handler(req), 'account');

  function route(
    method: string,
    path: string,
    handler: (req: SimRequest, entity: SimEntity | undefined) => SimResponse,
    scope: 'entity' | 'account',
  ): Route {
    return {
      method,
      pattern: `${CLICK_MAINT_SIM_API_PREFIX}${path}`,
      handler: (req) => {
        const call: SimCall = {
          line: `${method} ${req.path.slice(CLICK_MAINT_SIM_API_PREFIX.length).replace(/\/+$/, '')}`,
          query: {},
          entityId: headerOf(req, 'x-entity-id'),
          body: req.json,
          status: 0,
        };
        for (const [k, v] of req.query.entries()) call.query[k] = [...(call.query[k] ?? []), v];
        calls.push(call);
        const response = run(req, handler, scope);
        call.status = response.status;
        return response;
      },
    };
  }

  function run(
    req: SimRequest,
    handler: (req: SimRequest, entity: SimEntity | undefined) => SimResponse,
    scope: 'entity' | 'account',
  ): SimResponse {
    const auth = headerOf(req, 'authorization');
    if (auth !== `Bearer ${options.apiKey}`) {
      stats.unauthorized++;
      return error(401, 'Invalid API key');
    }
    const nowMs = wallClock();
    rollWindow(nowMs);
    window.counted++;
    if (window.counted > rateLimit.limit) {
      stats.rateLimited++;
      return { ...error(429, 'Rate limit exceeded. Try again later.'), headers: rateHeaders(nowMs) };
    }
    window.accepted++;
    stats.maxAcceptedInWindow = Math.max(stats.maxAcceptedInWindow, window.accepted);
    const headers = rateHeaders(nowMs);
    let response: SimResponse;
    try {
      if (scope === 'account') {
        response = handler(req, undefined);
      } else {
        const raw = headerOf(req, 'x-entity-id');
        if (raw === undefined || raw.trim() === '') {
          response = error(400, 'X-Entity-Id header is required');
        } else if (!/^\d+$/.test(raw.trim())) {
          response = error(400, 'X-Entity-Id must be an integer');
        } else {
          const entity = entities.find((e) => e.id === Number(raw.trim()));
          response = entity ? handler(req, entity) : error(404, 'Entity not found');
        }
      }
    } catch (e) {
      if (!(e instanceof SimulatorInputError)) throw e;
      response = error(e.status, e.message);
    }
    return { ...response, headers: { ...response.headers, ...headers } };
  }

  // ---- work-order writes ------------------------------------------------------------------

  const WO_EXTRA_FIELDS = [
    'work_order_request_id',
    'location_id',
    'categories_ids',
    'account_codes_ids',
    'procedure_template_ids',
    'technicians_ids',
    'vendors_ids',
    'notify_vendors_on_create',
    'notify_vendors_on_update',
    'checklist',
  ];

  function wrapped(req: SimRequest, key: string): Record<string, unknown> {
    const body = isObject(req.json) ? req.json[key] : undefined;
    if (!isObject(body)) throw new SimulatorInputError(400, `param is missing or the value is empty: ${key}`);
    return body;
  }

  function applyWorkOrder(wo: SimWorkOrder, body: Record<string, unknown>, creating: boolean): void {
    if ('title' in body || creating) {
      if (typeof body.title !== 'string' || body.title.trim() === '')
        throw unprocessable("Title can't be blank");
      wo.title = body.title;
    }
    if ('description' in body) wo.description = body.description === null ? null : String(body.description);
    if ('priority' in body) {
      if (typeof body.priority !== 'string' || !PRIORITIES.includes(body.priority)) {
        throw unprocessable('Priority is not included in the list');
      }
      wo.priority = body.priority;
    }
    if (creating && 'type' in body) {
      if (typeof body.type !== 'string' || body.type === '')
        throw unprocessable('Type is not included in the list');
      wo.type = body.type;
    }
    for (const field of ['due_date', 'completed_at'] as const) {
      if (!(field in body)) continue;
      const value = body[field];
      if (value !== null && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
        throw unprocessable(`${field} is not a valid date-time`);
      }
      wo[field] = value === null ? null : isoSeconds(new Date(value as string));
    }
    if ('asset_id' in body) {
      if (body.asset_id === null) wo.asset_id = null;
      else if (!assets.some((a) => a.id === body.asset_id && a.entityId === wo.entityId)) {
        throw unprocessable('Asset must exist');
      } else wo.asset_id = body.asset_id as number;
    }
    if ('status_id' in body) {
      const statusId = body.status_id;
      if (typeof statusId !== 'number' || !(statusId in CLICK_MAINT_SIM_STATUSES)) {
        throw unprocessable('Status must exist');
      }
      wo.status_id = statusId;
    }
    if (wo.status_id === CLICK_MAINT_SIM_COMPLETED_STATUS) {
      if (!('completed_at' in body) && wo.completed_at === null) wo.completed_at = now();
    } else if ('status_id' in body && !('completed_at' in body)) {
      wo.completed_at = null;
    }
    for (const field of WO_EXTRA_FIELDS) {
      if (!(field in body)) continue;
      checkWorkOrderExtra(field, body[field]);
      wo.extra[field] = body[field];
    }
  }

  const findWorkOrder = (entity: SimEntity, id: string): SimWorkOrder => {
    const wo = workOrders.find((w) => String(w.id) === id && w.entityId === entity.id);
    if (!wo) throw new SimulatorInputError(404, 'Work order not found');
    return wo;
  };

  // ---- part actions -----------------------------------------------------------------------

  function quantityOf(body: Record<string, unknown>, { nonZero }: { nonZero: boolean }): number {
    const q = body.quantity;
    if (q === undefined || q === null) throw unprocessable("Quantity can't be blank");
    if (!isNumber(q)) throw unprocessable('Quantity is not a number');
    if (decimals(q) > 3) throw unprocessable('Quantity must have at most 3 decimal places');
    if (nonZero ? q === 0 : q <= 0)
      throw unprocessable(nonZero ? 'Quantity must not be 0' : 'Quantity must be greater than 0');
    return q;
  }

  function partAction(req: SimRequest, entity: SimEntity, kind: 'restock' | 'reconcile'): SimResponse {
    const part = findPart(Number(req.params.id), entity.id);
    const body = isObject(req.json) ? req.json : {};
    if (part.is_non_stock) throw unprocessable('Part is non-stock');
    if (kind === 'restock') {
      const quantity = quantityOf(body, { nonZero: false });
      const cost = body.cost;
      if (cost === undefined || cost === null) throw unprocessable("Cost can't be blank");
      if (!isNumber(cost) || cost < 0) throw unprocessable('Cost must be greater than or equal to 0');
      if (decimals(cost) > 2) throw unprocessable('Cost must have at most 2 decimal places');
      // `note` is an optional string ("note | string").
      if (body.note !== undefined && body.note !== null && typeof body.note !== 'string')
        throw unprocessable('Note must be a string');
      const note = typeof body.note === 'string' ? body.note : null;
      const before = part.on_hand_qty;
      part.on_hand_qty = round3(before + quantity);
      const avg = part.avg_unit_cost ?? cost;
      part.avg_unit_cost =
        part.on_hand_qty > 0 ? round2((avg * before + cost * quantity) / part.on_hand_qty) : cost;
      part.unit_cost = cost;
      part.updated_at = now();
      record(part, 'restock', quantity, cost, note);
    } else {
      const quantity = quantityOf(body, { nonZero: true });
      if (typeof body.note !== 'string' || body.note.trim() === '')
        throw unprocessable("Note can't be blank");
      const next = round3(part.on_hand_qty + quantity);
      if (next < 0) throw unprocessable('Quantity would make the on-hand quantity negative');
      part.on_hand_qty = next;
      part.updated_at = now();
      record(part, 'reconcile', quantity, null, body.note);
    }
    return one(entity, renderPart(part, 'show'));
  }

  // ---- routes -----------------------------------------------------------------------------

  const PART_SPEC: ListSpec = {
    fields: [
      'id',
      'name',
      'number',
      'description',
      'area',
      'is_non_stock',
      'on_hand_qty',
      'min_qty',
      'desired_qty',
      'available',
      'unit_cost',
      'created_at',
      'updated_at',
    ],
    defaultSort: 'name asc',
    searchFields: ['name', 'number', 'description'],
  };
  const WO_SPEC: ListSpec = {
    fields: [
      'id',
      'title',
      'description',
      'priority',
      'type',
      'status_id',
      'due_date',
      'completed_at',
      'created_at',
      'updated_at',
    ],
    defaultSort: 'created_at desc',
    searchFields: ['title', 'description'],
  };
  const ASSET_SPEC: ListSpec = {
    fields: ['id', 'name', 'asset_code', 'status', 'created_at', 'updated_at'],
    defaultSort: 'name asc',
    searchFields: ['name', 'asset_code'],
  };
  const ENTITY_SPEC: ListSpec = { fields: ['id', 'name'], defaultSort: 'name asc', searchFields: ['name'] };

  const control = (method: string, pattern: string, handler: (req: SimRequest) => SimResponse): Route => ({
    method,
    pattern,
    handler: (req) => {
      try {
        return handler(req);
      } catch (e) {
        if (e instanceof SimulatorInputError) return error(e.status, e.message);
        throw e;
      }
    },
  });

  const routes: Route[] = [
    accountApi('GET', '/entities', (req) =>
      listAnswer(req, entities.map(renderEntity), ENTITY_SPEC, undefined),
    ),

    api('GET', '/parts', (req, entity) =>
      listAnswer(
        req,
        parts.filter((p) => p.entityId === entity.id).map((p) => renderPart(p, 'list')),
        PART_SPEC,
        entity,
      ),
    ),
    api('GET', '/parts/:id', (req, entity) =>
      one(entity, renderPart(findPart(Number(req.params.id), entity.id), 'show')),
    ),
    api('PATCH', '/parts/:id/restock', (req, entity) => partAction(req, entity, 'restock')),
    api('PATCH', '/parts/:id/reconcile', (req, entity) => partAction(req, entity, 'reconcile')),

    api('GET', '/assets', (req, entity) =>
      listAnswer(req, assets.filter((a) => a.entityId === entity.id).map(renderAsset), ASSET_SPEC, entity),
    ),
    api('GET', '/assets/:id', (req, entity) => {
      const asset = assets.find((a) => String(a.id) === req.params.id && a.entityId === entity.id);
      if (!asset) throw new SimulatorInputError(404, 'Asset not found');
      return one(entity, renderAsset(asset));
    }),

    api('GET', '/work_orders', (req, entity) =>
      listAnswer(
        req,
        workOrders.filter((w) => w.entityId === entity.id).map(renderWorkOrder),
        WO_SPEC,
        entity,
      ),
    ),
    api('GET', '/work_orders/:id', (req, entity) =>
      one(entity, renderWorkOrder(findWorkOrder(entity, req.params.id ?? ''))),
    ),
    api('POST', '/work_orders', (req, entity) => {
      const body = wrapped(req, 'work_order');
      const stamp = now();
      const wo: SimWorkOrder = {
        id: ++woCounter,
        entityId: entity.id,
        title: '',
        description: null,
        priority: 'none',
        type: 'reactive',
        status_id: 1,
        asset_id: null,
        due_date: null,
        completed_at: null,
        extra: {},
        created_at: stamp,
        updated_at: stamp,
      };
      applyWorkOrder(wo, body, true);
      workOrders.push(wo);
      return one(entity, renderWorkOrder(wo), 201);
    }),
    api('PATCH', '/work_orders/:id', (req, entity) => {
      const wo = findWorkOrder(entity, req.params.id ?? '');
      const body = wrapped(req, 'work_order');
      const draft: SimWorkOrder = structuredClone(wo);
      applyWorkOrder(draft, body, false);
      draft.updated_at = now();
      Object.assign(wo, draft);
      return one(entity, renderWorkOrder(wo));
    }),

    // Control API (no auth, not rate limited).
    control('GET', '/_sandbox/state', () => json(200, snapshot())),
    control('GET', '/_sandbox/stats', () => json(200, currentStats())),
    control('POST', '/_sandbox/reset', () => {
      reset();
      return json(200, { reset: true });
    }),
    control('POST', '/_sandbox/parts', (req) => {
      const body = req.json;
      if (!isObject(body) || !isNumber(body.entityId) || !Array.isArray(body.parts)) {
        throw new SimulatorInputError(400, 'body must be {"entityId": <id>, "parts": [...]}');
      }
      const created = addParts(body.entityId, body.parts as SimPartInput[]);
      return json(201, { created: created.length, parts: structuredClone(created) });
    }),
    control('POST', '/_sandbox/parts/:id/consume', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: structuredClone(adjust(Number(req.params.id), -1, quantity)) });
    }),
    control('POST', '/_sandbox/parts/:id/restock', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: structuredClone(adjust(Number(req.params.id), 1, quantity)) });
    }),
    control('POST', '/_sandbox/settings', (req) => {
      const body = isObject(req.json) ? req.json : {};
      if (body.rateLimit !== undefined)
        setRateLimit(body.rateLimit as { limit: number; windowSeconds: number });
      if (body.acceptsUpdatedAtFilter !== undefined) {
        if (typeof body.acceptsUpdatedAtFilter !== 'boolean') {
          throw new SimulatorInputError(400, 'acceptsUpdatedAtFilter must be a boolean');
        }
        acceptsUpdatedAtFilter = body.acceptsUpdatedAtFilter;
      }
      return json(200, { rateLimit, acceptsUpdatedAtFilter });
    }),
  ];

  function setRateLimit(value: { limit: number; windowSeconds: number }): void {
    if (
      !isObject(value) ||
      !Number.isInteger(value.limit) ||
      value.limit < 1 ||
      !isNumber(value.windowSeconds) ||
      value.windowSeconds <= 0
    ) {
      throw new SimulatorInputError(
        400,
        'rateLimit must be {limit: integer >= 1, windowSeconds: number > 0}',
      );
    }
    rateLimit = { limit: value.limit, windowSeconds: value.windowSeconds };
    window = { startMs: 0, counted: 0, accepted: 0 };
  }

  function currentStats(): ClickMaintSimStats {
    return { requests: sim.requests.length, ...stats, window: { ...window }, rateLimit: { ...rateLimit } };
  }

  function snapshot(): ClickMaintSimState {
    return structuredClone({ entities, parts, assets, workOrders, transactions, stats: currentStats() });
  }

  function reset(): void {
    parts = [];
    assets = [];
    workOrders = [];
    transactions = [];
    calls = [];
    woCounter = 1000;
    txCounter = 0;
    Object.assign(stats, { unauthorized: 0, rateLimited: 0, maxAcceptedInWindow: 0 });
    window = { startMs: 0, counted: 0, accepted: 0 };
    sim.faults.length = 0;
    sim.requests.length = 0;
    seed();
  }

  function exportState(): ClickMaintSavedState {
    return structuredClone({
      simulator: 'click-maint',
      version: CLICK_MAINT_SIM_STATE_VERSION,
      parts,
      assets,
      workOrders,
      transactions,
      workOrderSequence: woCounter,
      transactionSequence: txCounter,
    });
  }

  function importState(saved: unknown): void {
    const state = structuredClone(
      readSavedState<ClickMaintSavedState>(saved, {
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
      }),
    );
    parts = state.parts;
    assets = state.assets;
    workOrders = state.workOrders;
    transactions = state.transactions;
    woCounter = state.workOrderSequence;
    txCounter = state.transactionSequence;
  }

  seed();
  const persistence = simulatorPersistence(options.store, { exportState, importState });
  persistence.restore();
  const sim = await startSimulator({
    name: 'click-maint',
    routes,
    port: options.port,
    commit: persistence.commit,
  });
  const byEntity = <T extends { entityId: number }>(rows: T[], entityId?: number): T[] =>
    structuredClone(rows.filter((r) => entityId === undefined || r.entityId === entityId));
  return Object.assign(sim, {
    baseUrl: `${sim.url}${CLICK_MAINT_SIM_API_PREFIX}`,
    state: snapshot,
    parts: (entityId?: number) => byEntity(parts, entityId),
    assets: (entityId?: number) => byEntity(assets, entityId),
    workOrders: (entityId?: number) => byEntity(workOrders, entityId),
    transactions: (partId?: number) =>
      structuredClone(transactions.filter((t) => partId === undefined || t.partId === partId)),
    addParts: persistence.committing((entityId: number, list: readonly SimPartInput[]) =>
      structuredClone(addParts(entityId, list)),
    ),
    consume: persistence.committing((partId: number, quantity: number) =>
      structuredClone(adjust(partId, -1, quantity)),
    ),
    restock: persistence.committing((partId: number, quantity: number) =>
      structuredClone(adjust(partId, 1, quantity)),
    ),
    stats: currentStats,
    setRateLimit,
    setAcceptsUpdatedAtFilter: (accepts: boolean) => {
      acceptsUpdatedAtFilter = accepts;
    },
    calls: () => structuredClone(calls),
    reset: persistence.committing(reset),
    exportState,
    importState: persistence.committing(importState),
  });
}

function headerOf(req: SimRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
