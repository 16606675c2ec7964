/**
 * Listing: documented filters only, date ranges in unix ms, orderBy `<field> <ASC|DESC>`, then
 * offset/limit paging. Shared by every list route.
 */
import { json, type Route, type SimRequest } from '../../../../sandbox/simulators/server.ts';
import { bad } from './errors.ts';
import { api } from './routing.ts';
import type { UpKeepWorld } from './state.ts';
import { utcMs } from './validation.ts';

const PAGING_KEYS = new Set(['offset', 'limit', 'orderBy', 'includes', 'includes[]']);
const DATE_SUFFIXES = ['GreaterThan', 'LessThan', 'GreaterThanOrEqualTo', 'LessThanOrEqualTo'] as const;
type DateOp = (typeof DATE_SUFFIXES)[number];
const compare: Record<DateOp, (value: number, bound: number) => boolean> = {
  GreaterThan: (v, b) => v > b,
  LessThan: (v, b) => v < b,
  GreaterThanOrEqualTo: (v, b) => v >= b,
  LessThanOrEqualTo: (v, b) => v <= b,
};

export interface ListSpec<T> {
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

/** A record's field when it is a string (the plain filters compare strings). */
export function stringField(record: object, key: string): string | undefined {
  const v = (record as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/** A record's timestamp field in epoch ms (asset timestamps come without a zone: read as UTC). */
function dateField(record: object, field: string): number | undefined {
  const v = (record as Record<string, unknown>)[field];
  return typeof v === 'string' ? utcMs(v) : undefined;
}

/** A spec over a record's own string fields and timestamps, orderable by any of those timestamps. */
export function fieldSpec<T extends object>(
  filters: Set<string>,
  dateFields: string[],
  more: Pick<ListSpec<T>, 'extraKey' | 'tieKey'> = {},
): ListSpec<T> {
  return { filters, dateFields, orderFields: dateFields, value: stringField, date: dateField, ...more };
}

/** Filter, sort and page `records` by the query; `past-end` when the simulator answers 404 past the end. */
export function list<T>(
  world: UpKeepWorld,
  req: SimRequest,
  records: T[],
  spec: ListSpec<T>,
): T[] | 'past-end' {
  const dateKeys = new Map<string, { field: string; op: DateOp }>();
  for (const field of spec.dateFields)
    for (const op of DATE_SUFFIXES) dateKeys.set(`${field}${op}`, { field, op });
  // One parse per distinct timestamp per request: a large catalogue shares few of them.
  spec = withDateMemo(spec);
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
  out = sorted(req, out, spec);
  const offsetRaw = req.query.get('offset');
  const limitRaw = req.query.get('limit');
  if (offsetRaw !== null && !/^\d+$/.test(offsetRaw)) throw bad('offset must be a non-negative Number');
  if (limitRaw !== null && !/^\d+$/.test(limitRaw)) throw bad('limit must be a non-negative Number');
  const offset = offsetRaw === null ? 0 : Number(offsetRaw);
  const page = out.slice(offset, limitRaw === null ? undefined : offset + Number(limitRaw));
  if (page.length === 0 && offset > 0 && world.options.pastEndStatus === 404) return 'past-end';
  return page;
}

/** `spec` with its `date` remembered per field and raw value (for one request). */
function withDateMemo<T>(spec: ListSpec<T>): ListSpec<T> {
  const seen = new Map<string, number | undefined>();
  return {
    ...spec,
    date: (record, field) => {
      const raw = (record as Record<string, unknown>)[field];
      if (typeof raw !== 'string') return spec.date(record, field);
      const key = `${field}\u0000${raw}`;
      if (seen.has(key)) return seen.get(key);
      const t = spec.date(record, field);
      seen.set(key, t);
      return t;
    },
  };
}

/** The records in the query's `orderBy` (default `createdAt DESC`). */
function sorted<T>(req: SimRequest, records: T[], spec: ListSpec<T>): T[] {
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
  return records
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
}

/** `includes=a,b` and `includes[]=a` as one set. */
export const includesOf = (req: SimRequest): Set<string> =>
  new Set(
    [...req.query.getAll('includes'), ...req.query.getAll('includes[]')].flatMap((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  );

/**
 * `GET <path>`: one page of `records()` as `renderFor(req)` shows them, or, past the end when the
 * simulator is told to answer so, 404 `No <what the path names> found` (`/purchase-orders`:
 * `No purchase orders found`).
 */
export function listRouteByRequest<T>(
  world: UpKeepWorld,
  path: string,
  spec: ListSpec<T>,
  records: () => T[],
  renderFor: (req: SimRequest) => (record: T) => unknown,
): Route {
  const noun = path.slice(1).replaceAll('-', ' ');
  return api(world, 'GET', path, (req) => {
    const page = list(world, req, records(), spec);
    if (page === 'past-end') return json(404, { success: false, message: `No ${noun} found` });
    return json(200, { success: true, results: page.map(renderFor(req)) });
  });
}

/** listRouteByRequest for records shown the same whatever the request asks. */
export const listRoute = <T>(
  world: UpKeepWorld,
  path: string,
  spec: ListSpec<T>,
  records: () => T[],
  render: (record: T) => unknown,
): Route => listRouteByRequest(world, path, spec, records, () => render);
