/**
 * Click Maint request and response schemas (reference §2.2, §3), each beside its type.
 *
 * Responses are parsed tolerantly: unknown fields are dropped (Click Maint returns many we do not
 * use) while the fields we rely on are checked, so a changed shape fails loudly with the field's path
 * (`data[3].on_hand_qty`). Quantities and costs are decimals (`8.5`, `26.15`); a Rails decimal may
 * also arrive as a string (`"26.15"`), which is accepted and parsed. Timestamps must carry a zone
 * (`2025-09-24T14:20:25Z`); the API sends whole seconds.
 *
 * Parts are normalised to camelCase (`ClickMaintPart`, a superset of the poller's snapshot). Work
 * orders, entities and assets keep the vendor's field names. Request bodies are parsed strictly
 * (a misspelt field fails here instead of being silently dropped by Rails strong parameters).
 */
import * as z from 'zod/mini';
import type { RecordProblem } from '../../core/records.ts';
import { lazySchema, numericSchema } from '../../core/schema.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks.

/** A number, or a string holding one (`"26.15"`): core/schema.ts. */
export { numericSchema };

const optionalNumber = () => z.optional(z.nullable(numericSchema));
const optionalText = () => z.optional(z.nullable(z.string()));
const idSchema = lazySchema(() => z.int().check(z.gte(1)));

/** ISO 8601 with `Z` or an offset (a zone-less time would be read as local time). */
export const timestampSchema = lazySchema(() => z.iso.datetime({ offset: true }));

/** `2026-11-02T08:00:00Z` (no `.000`) for a whole second, the full ISO form otherwise. */
export function canonicalIso(value: string | number | Date): string {
  const ms = typeof value === 'number' ? value : value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not a timestamp: ${String(value)}`);
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? iso.replace('.000Z', 'Z') : iso;
}

/** The start of the second `ms` falls in. */
export const floorSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export const paginationSchema = lazySchema(() =>
  z.object({
    total: z.int().check(z.gte(0)),
    page: z.int().check(z.gte(1)),
    per_page: z.int().check(z.gte(1)),
    /** 0 for an empty list. */
    total_pages: z.int().check(z.gte(0)),
  }),
);
export type ClickMaintPagination = z.output<typeof paginationSchema>;

/** `meta` of a list answer: pagination always; `filter` echoes the filters the API applied. */
export const listMetaSchema = lazySchema(() =>
  z.object({
    pagination: paginationSchema,
    sort: z.optional(z.nullable(z.array(z.string()))),
    search: z.optional(z.nullable(z.string())),
    filter: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
  }),
);

/** `{ status: 'success', data: <schema>, meta }`. */
export const successEnvelope = <S extends z.ZodMiniType>(data: S) =>
  z.object({ status: z.literal('success'), data, meta: z.optional(z.unknown()) });

/** `{ status: 'success', data: [<schema>], meta: { pagination, sort, search, filter } }`. */
export const listEnvelope = <S extends z.ZodMiniType>(item: S) =>
  z.object({ status: z.literal('success'), data: z.array(item), meta: listMetaSchema });

/** The only documented error shape: `{ status: 'error', message: 'Invalid API key' }`. */
export const errorEnvelopeSchema = lazySchema(() =>
  z.object({
    status: z.literal('error'),
    message: z.string(),
  }),
);

/** A list record that did not parse; `updatedAtMs` when its place in `updated_at` order is known. */
export interface ClickMaintSkippedRecord extends RecordProblem {
  updatedAtMs?: number;
}

/** One page of a list. */
export interface ClickMaintPage<T> {
  items: T[];
  /** Records of the page that did not parse (lists read record by record only, e.g. parts). */
  skipped: ClickMaintSkippedRecord[];
  pagination: ClickMaintPagination;
  /** `meta.sort` as echoed (e.g. `['updated_at asc']`). */
  sort: string[];
  /** `meta.filter` as echoed: the filters the API applied (`{}` when none or absent). */
  filter: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Entities, assets.

export const entitySchema = lazySchema(() =>
  z.object({
    id: idSchema,
    name: z.string(),
    description: optionalText(),
    timezone: optionalText(),
    currency: optionalText(),
  }),
);
export type ClickMaintEntity = z.output<typeof entitySchema>;

const namedRef = lazySchema(() => z.object({ id: idSchema, name: z.string() }));

export const assetSchema = lazySchema(() =>
  z.object({
    id: idSchema,
    name: z.string(),
    asset_code: optionalText(),
    status: optionalText(),
    location: z.optional(z.nullable(z.object({ id: idSchema, name: z.string(), path: optionalText() }))),
    parent: z.optional(z.nullable(namedRef)),
    created_at: z.optional(z.nullable(z.string())),
    updated_at: z.optional(z.nullable(z.string())),
  }),
);
export type ClickMaintAsset = z.output<typeof assetSchema>;

// ---------------------------------------------------------------------------------------------
// Parts (reference §3.5).

/** A part, normalised. `reserved` only comes with `GET /parts/{id}` (null in lists). */
export interface ClickMaintPart {
  id: number;
  name: string;
  description: string | null;
  /** The part number (`FL_A`); null when none. */
  number: string | null;
  onHandQty: number;
  minQty: number | null;
  desiredQty: number | null;
  available: number | null;
  reserved: number | null;
  isNonStock: boolean;
  unitCost: number | null;
  createdAt: string | null;
  /** Canonical ISO (`2026-11-02T08:00:00Z`). */
  updatedAt: string;
  updatedAtMs: number;
}

export const partWireSchema = lazySchema(() =>
  z.object({
    id: idSchema,
    name: z.string(),
    description: optionalText(),
    number: z.optional(z.nullable(z.union([z.string(), z.number()]))),
    is_non_stock: z.optional(z.nullable(z.boolean())),
    on_hand_qty: optionalNumber(),
    min_qty: optionalNumber(),
    desired_qty: optionalNumber(),
    available: optionalNumber(),
    reserved: optionalNumber(),
    unit_cost: optionalNumber(),
    created_at: z.optional(z.nullable(z.string())),
    updated_at: timestampSchema,
  }),
);

export const partSchema = lazySchema(() =>
  z.pipe(
    partWireSchema.check(
      z.refine((p) => p.is_non_stock === true || (p.on_hand_qty !== undefined && p.on_hand_qty !== null), {
        message: 'expected a number (on_hand_qty of a stock part)',
        path: ['on_hand_qty'],
      }),
    ),
    z.transform(
      (p): ClickMaintPart => ({
        id: p.id,
        name: p.name,
        description: p.description ?? null,
        number: p.number === undefined || p.number === null || p.number === '' ? null : String(p.number),
        onHandQty: p.on_hand_qty ?? 0,
        minQty: p.min_qty ?? null,
        desiredQty: p.desired_qty ?? null,
        available: p.available ?? null,
        reserved: p.reserved ?? null,
        isNonStock: p.is_non_stock === true,
        unitCost: p.unit_cost ?? null,
        createdAt: p.created_at ?? null,
        updatedAt: canonicalIso(p.updated_at),
        updatedAtMs: Date.parse(p.updated_at),
      }),
    ),
  ),
);

/**
 * Where a list record sits in `updated_at` order, read from a record that does not parse as a whole,
 * so a poller can move its watermark past it.
 */
export const recordPlaceSchema = lazySchema(() => z.object({ id: idSchema, updated_at: timestampSchema }));

/** Quantities: at most 3 decimals; costs: at most 2 (reference §3.5), rounded before sending. */
export const roundTo = (value: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};

export const restockInputSchema = lazySchema(() =>
  z.strictObject({
    /** Units received (> 0; rounded to 3 decimals). */
    quantity: z.number().check(z.gt(0)),
    /** Unit cost of the restocked items (>= 0; rounded to 2 decimals). Required by the API. */
    cost: z.number().check(z.gte(0)),
    note: z.optional(z.string()),
  }),
);
export type RestockPartInput = z.input<typeof restockInputSchema>;

export const reconcileInputSchema = lazySchema(() =>
  z.strictObject({
    /** A DELTA, positive or negative (not the new count; rounded to 3 decimals). */
    quantity: z.number().check(z.refine((n) => n !== 0, { message: 'must not be 0' })),
    /** Required by the API. */
    note: z.string().check(z.minLength(1)),
  }),
);
export type ReconcilePartInput = z.input<typeof reconcileInputSchema>;

// ---------------------------------------------------------------------------------------------
// Work orders (reference §3.6).

export const workOrderSchema = lazySchema(() =>
  z.object({
    id: idSchema,
    title: z.string(),
    description: optionalText(),
    priority: optionalText(),
    type: optionalText(),
    status: z.optional(
      z.nullable(
        z.object({ id: idSchema, name: z.string(), is_custom: z.optional(z.nullable(z.boolean())) }),
      ),
    ),
    asset: z.optional(z.nullable(z.object({ id: idSchema, name: z.string(), status: optionalText() }))),
    location: z.optional(z.nullable(z.object({ id: idSchema, name: z.string(), path: optionalText() }))),
    due_date: optionalText(),
    completed_at: optionalText(),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  }),
);
export type ClickMaintWorkOrder = z.output<typeof workOrderSchema>;

const ids = () => z.optional(z.array(idSchema));
const yesNo = () => z.optional(z.enum(['yes', 'no']));
const checklist = () =>
  z.optional(
    z.array(z.strictObject({ text: z.string().check(z.minLength(1)), order: z.int(), checked: z.boolean() })),
  );

/** `POST /work_orders` fields (sent wrapped as `{ work_order: {...} }`). */
export const createWorkOrderInputSchema = lazySchema(() =>
  z.strictObject({
    title: z.string().check(z.minLength(1)),
    /** `reactive` is the only documented value. */
    type: z.optional(z.string().check(z.minLength(1))),
    description: z.optional(z.string()),
    /** `none` / `high` documented; `low` / `medium` plausible. */
    priority: z.optional(z.string().check(z.minLength(1))),
    work_order_request_id: z.optional(idSchema),
    due_date: z.optional(timestampSchema),
    completed_at: z.optional(timestampSchema),
    location_id: z.optional(idSchema),
    asset_id: z.optional(idSchema),
    /** Tenant-specific (custom statuses exist); `5` is `completed` in the doc's sample. */
    status_id: z.optional(idSchema),
    categories_ids: ids(),
    account_codes_ids: ids(),
    procedure_template_ids: ids(),
    technicians_ids: ids(),
    vendors_ids: ids(),
    /** Strings, not booleans; `yes` e-mails the vendors. */
    notify_vendors_on_create: yesNo(),
    notify_vendors_on_update: yesNo(),
    checklist: checklist(),
  }),
);
export type CreateWorkOrderInput = z.input<typeof createWorkOrderInputSchema>;

/** `PATCH /work_orders/{id}` fields (absolute values; `type` and the request id cannot change). */
export const updateWorkOrderInputSchema = lazySchema(() =>
  z.strictObject({
    title: z.optional(z.string().check(z.minLength(1))),
    description: z.optional(z.string()),
    priority: z.optional(z.string().check(z.minLength(1))),
    due_date: z.optional(z.nullable(timestampSchema)),
    completed_at: z.optional(z.nullable(timestampSchema)),
    location_id: z.optional(z.nullable(idSchema)),
    asset_id: z.optional(z.nullable(idSchema)),
    status_id: z.optional(idSchema),
    categories_ids: ids(),
    account_codes_ids: ids(),
    procedure_template_ids: ids(),
    technicians_ids: ids(),
    vendors_ids: ids(),
    notify_vendors_on_update: yesNo(),
    checklist: checklist(),
  }),
);
export type UpdateWorkOrderInput = z.input<typeof updateWorkOrderInputSchema>;

// ---------------------------------------------------------------------------------------------
// List queries (reference §2.3-2.5).

export const listQuerySchema = lazySchema(() =>
  z.strictObject({
    page: z.optional(z.int().check(z.gte(1))),
    /** 1..100 (no maximum is documented; 100 is ours). */
    perPage: z.optional(z.int().check(z.gte(1), z.lte(100))),
    /** `<field> <asc|desc>`, e.g. `updated_at asc`. */
    sort: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9_]* (asc|desc)$/))),
    search: z.optional(z.string().check(z.minLength(1))),
    /** Ransack `field_matcher` -> value, e.g. `{ title_cont: 'mw-1a2b' }` -> `filter[title_cont]=mw-1a2b`. */
    filter: z.optional(
      z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).check(
        z.refine((f) => Object.keys(f).every((k) => /^[a-z][a-z0-9_]*$/.test(k)), {
          message: 'filter keys are Ransack field_matcher names (lower-case letters, digits, _)',
        }),
      ),
    ),
  }),
);
export type ClickMaintListQuery = z.input<typeof listQuerySchema>;
