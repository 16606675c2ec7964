/**
 * UpKeep API simulator, built from the vendor doc (shared/vendors/upkeep/reference.md). It serves
 * the API under `/api/v2` like the real host, so a client's `baseUrl` is `sim.baseUrl`.
 *
 * Behaviour as documented: session tokens from `POST /auth` (JSON or form body) with `expiresAt`,
 * `Session-Token` required everywhere else, `{success, result|results|message}` envelopes, 400
 * messages `title cannot be null`, `<field> not in schema`, `invalid filter key: <key>`,
 * `<field> is not allowed to be set!`, numbers as strings in GET responses (priority, time, cost),
 * asset timestamps without `Z`, and the bulk downtime endpoint with per-row errors and
 * `success: false`. Where the doc is silent the choice is noted in place (e.g. `row` numbering,
 * the HTTP status of a partial downtime failure, webhook payload shape).
 *
 * Control routes (no auth): `GET /_sandbox/state`, `POST /_sandbox/tokens/expire`,
 * `POST /_sandbox/reset`, plus the shared ones from server.ts (`/_sandbox/faults`, `/_sandbox/requests`).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
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
  workOrderId: string;
  attempt: number;
  status?: number;
  error?: string;
}

export interface UpKeepSimState {
  workOrders: SimWorkOrder[];
  assets: SimAsset[];
  downtime: SimDowntimeActivity[];
}

export interface UpKeepSimulator extends Simulator {
  /** `${url}/api/v2`: the client's base URL. */
  baseUrl: string;
  /** Deep copies of the data. */
  state(): UpKeepSimState;
  workOrders(): SimWorkOrder[];
  assets(): SimAsset[];
  downtime(): SimDowntimeActivity[];
  /** Every API call that reached a handler (not fault-answered ones), oldest first. */
  calls(): SimCall[];
  /** `POST /auth` attempts, and those that issued a token. */
  authAttempts(): number;
  logins(): number;
  /** Tokens issued so far (so tests can prove they never leak). */
  issuedTokens(): string[];
  expireTokens(): void;
  reset(): void;
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

  function deliverWebhook(event: string, wo: SimWorkOrder): void {
    const target = options.webhook?.url;
    if (!target) return;
    const fetchFn = options.fetch ?? fetch;
    // Payload shape is undocumented (reference §4); an envelope with the record as GET returns it.
    const body = JSON.stringify({ event, data: renderWorkOrder(wo, 'read') });
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
          deliveries.push({ event, workOrderId: wo.id, attempt, status: res.status });
          if (res.ok) return;
        } catch (error) {
          deliveries.push({
            event,
            workOrderId: wo.id,
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
    // Stable sort; records without the field go last.
    out = out
      .map((r, i) => ({ r, i, t: spec.date(r, field) }))
      .sort((a, b) => {
        const at = a.t === undefined || Number.isNaN(a.t) ? undefined : a.t;
        const bt = b.t === undefined || Number.isNaN(b.t) ? undefined : b.t;
        if (at === undefined || bt === undefined) {
          return at === bt ? a.i - b.i : at === undefined ? 1 : -1;
        }
        return at === bt ? a.i - b.i : (at - bt) * dir;
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

    api('POST', '/work-orders', (req) => {
      const body = req.json;
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
      deliverWebhook('WORK_ORDER_CREATED', wo);
      return json(200, { success: true, result: renderWorkOrder(wo, 'write') });
    }),

    api('GET', '/work-orders', (req) => {
      const page = list(req, workOrders, woSpec);
      if (page === 'past-end') return json(404, { success: false, message: 'No work orders found' });
      const includes = includesOf(req);
      return json(200, { success: true, results: page.map((wo) => renderWorkOrder(wo, 'read', includes)) });
    }),

    api('GET', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(req.params.id);
      return json(200, { success: true, result: renderWorkOrder(wo, 'read', includesOf(req)) });
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
      deliverWebhook('WORK_ORDER_UPDATED', wo);
      if (statusChanged) deliverWebhook('WORK_ORDER_STATUS_UPDATED', wo);
      return json(200, { success: true, result: renderWorkOrder(wo, 'write') });
    }),

    api('DELETE', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(req.params.id);
      workOrders = workOrders.filter((w) => w !== wo);
      deliverWebhook('WORK_ORDER_DELETED', wo);
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

    // Control API (no auth).
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () => json(200, snapshot()),
    },
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
    return structuredClone({ workOrders, assets, downtime });
  }
  function expireTokens(): void {
    for (const token of tokens.keys()) tokens.set(token, 0);
  }
  function reset(): void {
    workOrders = [];
    assets = seedAssets(nowAssetStamp());
    downtime = [];
    woCounter = 0;
    tokens.clear();
    issued = [];
    calls = [];
    authAttempts = 0;
    logins = 0;
    deliveries = [];
    sim.faults.length = 0;
    sim.requests.length = 0;
  }

  const sim = await startSimulator({ name: 'upkeep', routes, port: options.port });
  return Object.assign(sim, {
    baseUrl: `${sim.url}${UPKEEP_SIM_API_PREFIX}`,
    state: snapshot,
    workOrders: () => structuredClone(workOrders),
    assets: () => structuredClone(assets),
    downtime: () => structuredClone(downtime),
    calls: () => structuredClone(calls),
    authAttempts: () => authAttempts,
    logins: () => logins,
    issuedTokens: () => [...issued],
    expireTokens,
    reset,
    webhookDeliveries: () => structuredClone(deliveries),
    flushWebhooks: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  });
}
