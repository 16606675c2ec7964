/** Lists: Ransack filters, search, sort and pagination, answered in the list envelope. */
import {
  json,
  type Route,
  type SimRequest,
  type SimResponse,
} from '../../../../sandbox/simulators/server.ts';
import { api } from './pipeline.ts';
import type { SimEntity } from './records.ts';
import { entityMeta, type Row } from './responses.ts';
import type { ClickMaintWorld } from './state.ts';

const PREDICATES = ['cont', 'eq', 'gteq', 'lteq', 'gt', 'lt'] as const;
type Predicate = (typeof PREDICATES)[number];

/**
 * CLICK_MAINT_FILTER_ECHO: how `meta.filter` echoes an applied filter. Documented: an `_eq` filter is
 * echoed without its predicate (`filter[can_be_assigned_to_wo_eq]=true` -> `"can_be_assigned_to_wo":
 * "true"`, api-doc.txt:2566/2629, 2686/2771) and a `_cont` one with it (`"name_cont"`, e.g.
 * api-doc.txt:1010-1011, 1888-1889). The doc shows no other predicate: we assume they keep it, as
 * `_cont` does (`updated_at_gteq`, which the parts poller looks for in the echo).
 */
export const echoKey = (field: string, predicate: Predicate): string =>
  predicate === 'eq' ? field : `${field}_${predicate}`;

export interface ListSpec {
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

export function listAnswer(
  world: ClickMaintWorld,
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
    if (field.startsWith('updated_at') && !world.acceptsUpdatedAtFilter) continue;
    applied[echoKey(field, predicate)] = value;
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
  const perPage = Math.min(world.maxPerPage, Number.isInteger(perParam) && perParam >= 1 ? perParam : 50);
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

/** `GET <path>` of an entity's records (parts, assets, work orders), rendered, then listed. */
export const entityListRoute = <T extends { entityId: number }>(
  world: ClickMaintWorld,
  path: string,
  spec: ListSpec,
  records: () => readonly T[],
  render: (record: T) => Row,
): Route =>
  api(world, 'GET', path, (req, entity) =>
    listAnswer(
      world,
      req,
      records()
        .filter((r) => r.entityId === entity.id)
        .map((r) => render(r)),
      spec,
      entity,
    ),
  );
