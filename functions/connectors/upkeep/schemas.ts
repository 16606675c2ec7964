/**
 * UpKeep request and response schemas, each beside its type.
 *
 * Responses are parsed tolerantly: unknown fields are dropped (UpKeep returns many we do not use),
 * while the fields we rely on are checked, so a changed shape fails loudly with the field's path.
 * Numbers that UpKeep returns as strings (reference §2.7: WO `priority` is `"1"` in GET responses
 * but `1` in the create response) are coerced. Expanded references (`includes`) are normalised to
 * their id.
 *
 * Requests are parsed strictly: UpKeep answers 400 to an unknown body field (`<field> not in
 * schema`) or query key (`invalid filter key: <key>`), so we never send one (reference §7.39).
 */
import * as z from 'zod/mini';
import { lazySchema, numericSchema } from '../../core/schema.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks.

/** A number, or a string holding one (`"1"`, `"88.00"`): core/schema.ts. */
export { numericSchema };

/** An id, or the object an `includes` expansion put in its place (normalised to its id). */
export const idRefSchema = lazySchema(() =>
  z.union([
    z.string(),
    z.pipe(
      z.object({ id: z.string() }),
      z.transform((o) => o.id),
    ),
  ]),
);

/** `{ success: true, result: <schema> }`. */
export const resultEnvelope = <S extends z.ZodMiniType>(result: S) =>
  z.object({ success: z.literal(true), result });

/** `{ success: true, results: [<schema>] }`. */
export const resultsEnvelope = <S extends z.ZodMiniType>(item: S) =>
  z.object({ success: z.literal(true), results: z.array(item) });

// ---------------------------------------------------------------------------------------------
// Auth.

export const authResponseSchema = lazySchema(() =>
  resultEnvelope(
    z.object({
      sessionToken: z.string().check(z.minLength(1)),
      /** ISO 8601; checked for a valid date where it is used. */
      expiresAt: z.string().check(z.minLength(1)),
    }),
  ),
);
export type AuthResponse = z.output<typeof authResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Work orders.

export const WORK_ORDER_STATUSES = ['open', 'onHold', 'inProgress', 'complete'] as const;
export type WorkOrderStatus = (typeof WORK_ORDER_STATUSES)[number];

/** Fields `orderBy` accepts on `GET /work-orders` (reference §2.4). */
export const WORK_ORDER_ORDER_FIELDS = [
  'createdAt',
  'updatedAt',
  'dueDate',
  'endDueDate',
  'dateCompleted',
] as const;

export interface WorkOrder {
  id: string;
  /** Zero-padded string (`"006"`); never parse it as a number. */
  workOrderNo?: string;
  title: string;
  description?: string | null;
  /** `open | onHold | inProgress | complete` (kept as a string: custom statuses exist). */
  status: string;
  /** 0 (lowest) to 3, coerced from the string form GET returns. */
  priority?: number;
  category?: string | null;
  /** Asset id (an expanded asset object is normalised to its id). */
  asset?: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The work order as UpKeep sends it (only the fields we use are checked). */
export const workOrderWireSchema = lazySchema(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    workOrderNo: z.optional(z.nullable(z.union([z.string(), z.number()]))),
    title: z.string(),
    description: z.optional(z.nullable(z.string())),
    status: z.string().check(z.minLength(1)),
    priority: z.optional(z.nullable(numericSchema)),
    category: z.optional(z.nullable(z.string())),
    asset: z.optional(z.nullable(idRefSchema)),
    createdAt: z.string().check(z.minLength(1)),
    updatedAt: z.string().check(z.minLength(1)),
  }),
);

export const workOrderSchema = lazySchema(() =>
  z.pipe(
    workOrderWireSchema,
    z.transform(
      (w): WorkOrder => ({
        id: w.id,
        ...(w.workOrderNo != null ? { workOrderNo: String(w.workOrderNo) } : {}),
        title: w.title,
        ...(w.description !== undefined ? { description: w.description } : {}),
        status: w.status,
        ...(w.priority != null ? { priority: w.priority } : {}),
        ...(w.category !== undefined ? { category: w.category } : {}),
        ...(w.asset !== undefined ? { asset: w.asset } : {}),
        createdAt: w.createdAt,
        updatedAt: w.updatedAt,
      }),
    ),
  ),
);

export const workOrderResponseSchema = lazySchema(() => resultEnvelope(workOrderSchema));
export const workOrderListResponseSchema = lazySchema(() => resultsEnvelope(workOrderSchema));
/** A list with each row left unparsed, to be parsed one by one (`parseRecords`). */
export const rowsResponseSchema = lazySchema(() => resultsEnvelope(z.unknown()));

const nonEmpty = () => z.string().check(z.minLength(1));
const priorityInput = () => z.int().check(z.gte(0), z.lte(3));
const unixMs = () => z.int().check(z.nonnegative());

/** `POST /work-orders/` body: the subset of documented create fields we write. */
export const createWorkOrderInputSchema = lazySchema(() =>
  z.strictObject({
    title: nonEmpty(),
    description: z.optional(z.string()),
    priority: z.optional(priorityInput()),
    category: z.optional(nonEmpty()),
    asset: z.optional(nonEmpty()),
    location: z.optional(nonEmpty()),
    assignedToUser: z.optional(nonEmpty()),
    startDate: z.optional(unixMs()),
    dueDate: z.optional(unixMs()),
  }),
);
export interface CreateWorkOrderInput {
  title: string;
  description?: string;
  priority?: 0 | 1 | 2 | 3;
  category?: string;
  asset?: string;
  location?: string;
  assignedToUser?: string;
  /** Unix ms. */
  startDate?: number;
  /** Unix ms. */
  dueDate?: number;
}

/** `PATCH /work-orders/<ID>` body: absolute values; `null` erases a field (reference §2.7). */
export const updateWorkOrderInputSchema = lazySchema(() =>
  z.strictObject({
    title: z.optional(nonEmpty()),
    description: z.optional(z.nullable(z.string())),
    priority: z.optional(priorityInput()),
    category: z.optional(z.nullable(nonEmpty())),
    status: z.optional(z.enum(WORK_ORDER_STATUSES)),
    assignedToUser: z.optional(z.nullable(nonEmpty())),
  }),
);
export interface UpdateWorkOrderInput {
  title?: string;
  description?: string | null;
  priority?: 0 | 1 | 2 | 3;
  category?: string | null;
  status?: WorkOrderStatus;
  assignedToUser?: string | null;
}

/**
 * Filters we expose on `GET /work-orders`, with the documented query name each maps to. Anything
 * else a caller passes is dropped (z.object strips unknown keys): UpKeep rejects unknown keys.
 */
export const workOrderListFilterSchema = lazySchema(() =>
  z.object({
    asset: z.optional(nonEmpty()),
    title: z.optional(nonEmpty()),
    status: z.optional(z.enum(WORK_ORDER_STATUSES)),
    /** Unix ms → `createdAtGreaterThanOrEqualTo`. */
    createdAtGte: z.optional(unixMs()),
    /** Unix ms → `updatedAtGreaterThanOrEqualTo`. */
    updatedAtGte: z.optional(unixMs()),
    /** `<field> <ASC|DESC>`, field one of WORK_ORDER_ORDER_FIELDS. */
    orderBy: z.optional(
      z.string().check(z.regex(new RegExp(`^(${WORK_ORDER_ORDER_FIELDS.join('|')}) (ASC|DESC)$`))),
    ),
    limit: z.optional(z.int().check(z.positive())),
    offset: z.optional(z.int().check(z.nonnegative())),
  }),
);
export interface WorkOrderListFilter {
  asset?: string;
  title?: string;
  /** One of WORK_ORDER_STATUSES (checked at run time). */
  status?: string;
  createdAtGte?: number;
  updatedAtGte?: number;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// Asset downtime (`POST /assets/downtime`, reference §3.3).

export const DOWNTIME_STATUSES = ['available', 'not-available'] as const;
export type DowntimeStatus = (typeof DOWNTIME_STATUSES)[number];

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * "recordedOn String true ... Must be an ISO 8601 timestamp, or Unix time in miliseconds" (api-doc):
 * an ISO string, or unix ms as a string of digits or as a number (the client sends it as the
 * documented String, `recordedOnForUpKeep`); garbage is refused before anything is sent.
 */
export const recordedOnSchema = lazySchema(() =>
  z.union([
    z.string().check(
      z.refine((s) => (ISO_8601.test(s) && !Number.isNaN(Date.parse(s))) || /^\d+$/.test(s), {
        message: 'must be an ISO 8601 timestamp or unix milliseconds',
      }),
    ),
    unixMs(),
  ]),
);

/** The documented type of `recordedOn` is String: unix ms given as a number goes as its digits. */
export const recordedOnForUpKeep = (value: string | number): string =>
  typeof value === 'number' ? String(value) : value;

export const downtimeEntryInputSchema = lazySchema(() =>
  z.strictObject({
    assetId: nonEmpty(),
    status: z.enum(DOWNTIME_STATUSES),
    recordedOn: recordedOnSchema,
    /** The id of a custom downtime status (`/asset-downtime-statuses`). */
    statusCategory: z.optional(nonEmpty()),
    userId: z.optional(nonEmpty()),
  }),
);
export const downtimeInputSchema = lazySchema(() => z.array(downtimeEntryInputSchema).check(z.minLength(1)));
export interface DowntimeEntry {
  assetId: string;
  status: DowntimeStatus;
  /** ISO 8601 timestamp, or unix ms. */
  recordedOn: string | number;
  statusCategory?: string;
  userId?: string;
}

export const downtimeRowErrorSchema = lazySchema(() =>
  z.object({
    message: z.optional(z.string()),
    slug: z.optional(z.string()),
    value: z.optional(z.unknown()),
  }),
);
export type DowntimeRowError = z.output<typeof downtimeRowErrorSchema>;

/** One result row. `row` does not match array positions (reference §7.33): match by assetId + recordedOn. */
export const downtimeRowSchema = lazySchema(() =>
  z.object({
    assetId: z.string(),
    status: z.optional(z.string()),
    recordedOn: z.optional(z.union([z.string(), z.number()])),
    row: z.optional(numericSchema),
    errors: z.optional(z.array(downtimeRowErrorSchema)),
    statusMessage: z.optional(z.string()),
    statusSlug: z.optional(z.string()),
    newAssetActivityUpdateId: z.optional(z.string()),
  }),
);
export type DowntimeRowResult = z.output<typeof downtimeRowSchema>;

export const downtimeResponseSchema = lazySchema(() =>
  z.object({
    success: z.boolean(),
    results: z.optional(z.array(downtimeRowSchema)),
    message: z.optional(z.string()),
  }),
);
export type DowntimeResponse = z.output<typeof downtimeResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Shared pieces for parts, purchase orders and requests.

/**
 * A quantity UpKeep sends as a string (`"5"`, `"88.00"`, reference §7.20), parsed with `Number()`.
 * The message carries the value (quantities are not secret), so an operator sees what came back.
 * Absent, `null` and `""` mean "not set" (null): every such part field is optional in the doc.
 */
const stringNumber = () =>
  z.pipe(
    z.unknown(),
    z.transform((value, ctx): number | null => {
      if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
        return null;
      }
      const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (!Number.isFinite(n)) {
        ctx.issues.push({
          code: 'custom',
          message: `expected a number or a numeric string, got ${JSON.stringify(value)?.slice(0, 40) ?? typeof value}`,
          input: value,
        });
        return z.NEVER;
      }
      return n;
    }),
  );

/** Unix ms of an UpKeep timestamp; a zone-less one (`2017-11-16T15:01:01`) is UTC (reference §2.7). */
export function upkeepTimestampMs(value: string): number {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
  return Date.parse(hasZone || !value.includes('T') ? value : `${value}Z`);
}

/** An ISO timestamp string that must parse (we compute with it). */
const timestamp = () =>
  z
    .string()
    .check(
      z.refine((s) => !Number.isNaN(upkeepTimestampMs(s)), { message: 'expected an ISO 8601 timestamp' }),
    );

const optionalText = () => z.optional(z.nullable(z.string()));
const compactObject = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const orderByOf = (fields: readonly string[]) =>
  z.string().check(z.regex(new RegExp(`^(${fields.join('|')}) (ASC|DESC)$`)));

/** `YYYY-MM-DD`, the only form the doc shows for purchase-order dates (reference §2.7). */
const dateOnly = () =>
  z.string().check(
    z.refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)), {
      message: 'must be a date YYYY-MM-DD',
    }),
  );

// ---------------------------------------------------------------------------------------------
// Parts (reference §3.2).

/** Fields `orderBy` accepts on `GET /parts`. */
export const PART_ORDER_FIELDS = ['createdAt', 'updatedAt'] as const;

export interface Part {
  id: string;
  name: string;
  description?: string | null;
  /**
   * Quantity on hand (UpKeep sends `"5"`). null when the part has none: the doc marks `quantity`
   * optional on create ("quantity Number false The quantity on hand.") and PATCH erases with null
   * ("Null values are allowed to erase the value"). Unknown, not 0: never read it as no stock.
   */
  quantity: number | null;
  /** Absent, null or `""` at UpKeep -> null ("no minimum"). */
  minimumQuantity: number | null;
  /** Cost per unit; null when not set. */
  cost: number | null;
  /**
   * The part number. The doc's request table calls it `partNumber`, but its example body and every
   * response use `partName` (reference §7.9); either is read here.
   */
  partNumber?: string;
  /** "ID of the parent part" (a 24-hex string, unlike other ids). */
  partId?: string | null;
  serial?: string | null;
  category?: string | null;
  /** Location id (an expanded location is normalised to its id). */
  location?: string | null;
  createdAt: string;
  updatedAt: string;
  createdAtMs: number;
  updatedAtMs: number;
}

/** The part as UpKeep sends it (only the fields we use are checked). */
export const partWireSchema = lazySchema(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    name: z.string(),
    description: optionalText(),
    // Wrapped in optional: zod reports an absent key before a transform could turn it into null.
    quantity: z.optional(stringNumber()),
    minimumQuantity: z.optional(stringNumber()),
    cost: z.optional(stringNumber()),
    partName: z.optional(z.nullable(z.union([z.string(), z.number()]))),
    partNumber: z.optional(z.nullable(z.union([z.string(), z.number()]))),
    partId: optionalText(),
    serial: optionalText(),
    category: optionalText(),
    location: z.optional(z.nullable(idRefSchema)),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  }),
);

export const partSchema = lazySchema(() =>
  z.pipe(
    partWireSchema,
    z.transform((p): Part => {
      const partNumber = p.partName ?? p.partNumber;
      return {
        id: p.id,
        name: p.name,
        ...compactObject({
          description: p.description,
          partId: p.partId,
          serial: p.serial,
          category: p.category,
          location: p.location,
        }),
        quantity: p.quantity ?? null,
        minimumQuantity: p.minimumQuantity ?? null,
        cost: p.cost ?? null,
        ...(partNumber != null && partNumber !== '' ? { partNumber: String(partNumber) } : {}),
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
        createdAtMs: upkeepTimestampMs(p.createdAt),
        updatedAtMs: upkeepTimestampMs(p.updatedAt),
      };
    }),
  ),
);

/**
 * Where a part sits in `updatedAt` order, read from a part that does not parse as a whole, so a
 * poller can move its watermark past it (or not, when even this cannot be read).
 */
export const partPlaceSchema = lazySchema(() =>
  z.object({ id: z.string().check(z.minLength(1)), updatedAt: timestamp() }),
);

/**
 * Envelopes whose records are checked one by one (see the client), so an error names the field as
 * `part.<field>` and says which record it was.
 */
export const partResponseSchema = lazySchema(() => resultEnvelope(z.unknown()));
export const partListResponseSchema = lazySchema(() => resultsEnvelope(z.unknown()));

const quantityInput = () => z.number().check(z.nonnegative());

/** `PATCH /parts/<ID>` body: absolute values (no increment exists, reference §7.45). */
export const updatePartInputSchema = lazySchema(() =>
  z.strictObject({
    name: z.optional(nonEmpty()),
    description: z.optional(z.nullable(z.string())),
    cost: z.optional(z.nullable(quantityInput())),
    quantity: z.optional(quantityInput()),
    minimumQuantity: z.optional(z.nullable(quantityInput())),
    serial: z.optional(z.nullable(z.string())),
    area: z.optional(z.nullable(z.string())),
    details: z.optional(z.nullable(z.string())),
    category: z.optional(z.nullable(nonEmpty())),
    location: z.optional(z.nullable(nonEmpty())),
  }),
);
export interface UpdatePartInput {
  name?: string;
  description?: string | null;
  cost?: number | null;
  /** Quantity on hand, absolute. */
  quantity?: number;
  minimumQuantity?: number | null;
  serial?: string | null;
  area?: string | null;
  details?: string | null;
  category?: string | null;
  location?: string | null;
}

/** Filters we expose on `GET /parts` (documented names only; unknown keys are dropped). */
export const partListFilterSchema = lazySchema(() =>
  z.object({
    name: z.optional(nonEmpty()),
    category: z.optional(nonEmpty()),
    location: z.optional(nonEmpty()),
    partNumber: z.optional(nonEmpty()),
    /** Unix ms → `createdAtGreaterThanOrEqualTo`. */
    createdAtGte: z.optional(unixMs()),
    /** Unix ms → `createdAtLessThanOrEqualTo`. */
    createdAtLte: z.optional(unixMs()),
    /** Unix ms → `updatedAtGreaterThanOrEqualTo`. */
    updatedAtGte: z.optional(unixMs()),
    /** Unix ms → `updatedAtLessThanOrEqualTo`. */
    updatedAtLte: z.optional(unixMs()),
    /** `<createdAt|updatedAt> <ASC|DESC>`. */
    orderBy: z.optional(orderByOf(PART_ORDER_FIELDS)),
    limit: z.optional(z.int().check(z.positive())),
    offset: z.optional(z.int().check(z.nonnegative())),
  }),
);
export interface PartListFilter {
  name?: string;
  category?: string;
  location?: string;
  partNumber?: string;
  createdAtGte?: number;
  createdAtLte?: number;
  updatedAtGte?: number;
  updatedAtLte?: number;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// Purchase orders (reference §3.8).

/** Values PATCH accepts for `status`; `partially-fulfilled` is also seen after a partial receipt. */
export const PURCHASE_ORDER_STATUSES = [
  'awaiting',
  'approved',
  'declined',
  'fulfilled',
  'partially-fulfilled',
] as const;
export type PurchaseOrderStatus = (typeof PURCHASE_ORDER_STATUSES)[number];

export const PURCHASE_ORDER_ORDER_FIELDS = [
  'createdAt',
  'updatedAt',
  'dueDate',
  'poDate',
  'fulfilledAt',
  'approvedAt',
  'declinedAt',
] as const;

export interface PurchaseOrderLine {
  id: string;
  /** Ordered quantity; absent when UpKeep sent `parts` without `partQuantities`. */
  quantity?: number;
}

export interface PurchaseOrder {
  id: string;
  title: string;
  description?: string | null;
  /** `awaiting | approved | declined | fulfilled | partially-fulfilled` (kept as a string). */
  status: string;
  purchaseOrderNumber?: number;
  vendor?: string | null;
  category?: string | null;
  /** Only on create and single GET: the list response omits `parts`/`partQuantities` (§3.8). */
  parts?: PurchaseOrderLine[];
  /** `{partId: quantity still expected}`. */
  partsPendingQuantities?: Record<string, number>;
  dueDate?: string | null;
  poDate?: string | null;
  notes?: string | null;
  createdAt: string;
  updatedAt: string;
}

export const purchaseOrderWireSchema = lazySchema(() =>
  z
    .object({
      id: z.string().check(z.minLength(1)),
      title: z.string(),
      description: optionalText(),
      status: z.string().check(z.minLength(1)),
      purchaseOrderNumber: z.optional(z.nullable(numericSchema)),
      vendor: z.optional(z.nullable(idRefSchema)),
      category: optionalText(),
      parts: z.optional(z.nullable(z.array(idRefSchema))),
      partQuantities: z.optional(z.nullable(z.array(numericSchema))),
      partsPendingQuantities: z.optional(z.nullable(z.record(z.string(), numericSchema))),
      dueDate: optionalText(),
      poDate: optionalText(),
      notes: optionalText(),
      createdAt: z.string().check(z.minLength(1)),
      updatedAt: z.string().check(z.minLength(1)),
    })
    .check(
      z.refine((po) => !po.parts || !po.partQuantities || po.parts.length === po.partQuantities.length, {
        message: 'parts and partQuantities differ in length',
        path: ['partQuantities'],
      }),
    ),
);

export const purchaseOrderSchema = lazySchema(() =>
  z.pipe(
    purchaseOrderWireSchema,
    z.transform(
      (po): PurchaseOrder => ({
        id: po.id,
        title: po.title,
        ...compactObject({
          description: po.description,
          vendor: po.vendor,
          category: po.category,
          dueDate: po.dueDate,
          poDate: po.poDate,
          notes: po.notes,
        }),
        status: po.status,
        ...(po.purchaseOrderNumber != null ? { purchaseOrderNumber: po.purchaseOrderNumber } : {}),
        ...(po.parts
          ? {
              parts: po.parts.map((id, i) => {
                const quantity = po.partQuantities?.[i];
                return quantity === undefined ? { id } : { id, quantity };
              }),
            }
          : {}),
        ...(po.partsPendingQuantities ? { partsPendingQuantities: po.partsPendingQuantities } : {}),
        createdAt: po.createdAt,
        updatedAt: po.updatedAt,
      }),
    ),
  ),
);
export const purchaseOrderResponseSchema = lazySchema(() => resultEnvelope(purchaseOrderSchema));
export const purchaseOrderListResponseSchema = lazySchema(() => resultsEnvelope(purchaseOrderSchema));

/** `POST /purchase-orders` body: the subset of documented create fields we write. */
export const createPurchaseOrderInputSchema = lazySchema(() =>
  z.strictObject({
    title: nonEmpty(),
    description: z.optional(z.string()),
    parts: z.optional(
      z.array(z.strictObject({ id: nonEmpty(), quantity: z.number().check(z.positive()) })).check(
        z.minLength(1),
        z.refine((lines) => new Set(lines.map((l) => l.id)).size === lines.length, {
          message: 'a part may appear only once',
        }),
      ),
    ),
    vendor: z.optional(nonEmpty()),
    category: z.optional(nonEmpty()),
    dueDate: z.optional(dateOnly()),
    poDate: z.optional(dateOnly()),
    notes: z.optional(z.string()),
    requisitioner: z.optional(z.string()),
    purchaseOrderNumber: z.optional(z.int().check(z.positive())),
  }),
);
export interface CreatePurchaseOrderInput {
  title: string;
  description?: string;
  /** Each part once, quantity > 0. */
  parts?: { id: string; quantity: number }[];
  /** Vendor id. */
  vendor?: string;
  /** One of the account's configured PO categories. */
  category?: string;
  /** `YYYY-MM-DD`. */
  dueDate?: string;
  /** `YYYY-MM-DD`. */
  poDate?: string;
  notes?: string;
  requisitioner?: string;
  /** Custom number; UpKeep's own sequence otherwise. */
  purchaseOrderNumber?: number;
}

export const purchaseOrderListFilterSchema = lazySchema(() =>
  z.object({
    title: z.optional(nonEmpty()),
    status: z.optional(z.enum(PURCHASE_ORDER_STATUSES)),
    vendor: z.optional(nonEmpty()),
    category: z.optional(nonEmpty()),
    /** Unix ms → `createdAtGreaterThanOrEqualTo`. */
    createdAtGte: z.optional(unixMs()),
    /** Unix ms → `updatedAtGreaterThanOrEqualTo`. */
    updatedAtGte: z.optional(unixMs()),
    orderBy: z.optional(orderByOf(PURCHASE_ORDER_ORDER_FIELDS)),
    limit: z.optional(z.int().check(z.positive())),
    offset: z.optional(z.int().check(z.nonnegative())),
  }),
);
export interface PurchaseOrderListFilter {
  title?: string;
  /** One of PURCHASE_ORDER_STATUSES (checked at run time). */
  status?: string;
  vendor?: string;
  category?: string;
  createdAtGte?: number;
  updatedAtGte?: number;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// Requests (work requests, reference §3.7). No update, approve or status filter is documented.

export const REQUEST_ORDER_FIELDS = ['createdAt', 'updatedAt', 'dueDate', 'endDueDate'] as const;

/** Named WorkRequest (not Request) so it cannot be confused with fetch's Request. */
export interface WorkRequest {
  id: string;
  title: string;
  description?: string | null;
  /** `open` on create; absent in the doc's list example. */
  status?: string;
  priority?: number;
  asset?: string | null;
  location?: string | null;
  category?: string | null;
  dueDate?: string | null;
  requestedByUser?: string | null;
  createdAt: string;
  updatedAt: string;
}

export const workRequestWireSchema = lazySchema(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    title: z.string(),
    description: optionalText(),
    status: z.optional(z.nullable(z.string())),
    priority: z.optional(z.nullable(numericSchema)),
    asset: z.optional(z.nullable(idRefSchema)),
    location: z.optional(z.nullable(idRefSchema)),
    category: optionalText(),
    dueDate: optionalText(),
    requestedByUser: z.optional(z.nullable(idRefSchema)),
    createdAt: z.string().check(z.minLength(1)),
    updatedAt: z.string().check(z.minLength(1)),
  }),
);
export const workRequestSchema = lazySchema(() =>
  z.pipe(
    workRequestWireSchema,
    z.transform(
      (r): WorkRequest => ({
        id: r.id,
        title: r.title,
        ...compactObject({
          description: r.description,
          asset: r.asset,
          location: r.location,
          category: r.category,
          dueDate: r.dueDate,
          requestedByUser: r.requestedByUser,
        }),
        ...(r.status != null ? { status: r.status } : {}),
        ...(r.priority != null ? { priority: r.priority } : {}),
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
      }),
    ),
  ),
);
export const workRequestResponseSchema = lazySchema(() => resultEnvelope(workRequestSchema));
export const workRequestListResponseSchema = lazySchema(() => resultsEnvelope(workRequestSchema));

/** `POST /requests/` body (sent as JSON, reference §2.7 INF). */
export const createRequestInputSchema = lazySchema(() =>
  z.strictObject({
    title: nonEmpty(),
    description: z.optional(z.string()),
    priority: z.optional(priorityInput()),
    asset: z.optional(nonEmpty()),
    location: z.optional(nonEmpty()),
    team: z.optional(nonEmpty()),
    assignedToUser: z.optional(nonEmpty()),
    category: z.optional(nonEmpty()),
    dueDate: z.optional(unixMs()),
  }),
);
export interface CreateRequestInput {
  title: string;
  description?: string;
  priority?: 0 | 1 | 2 | 3;
  asset?: string;
  location?: string;
  team?: string;
  assignedToUser?: string;
  /** "Can not be a random string": one of the account's request categories. */
  category?: string;
  /** Unix ms. */
  dueDate?: number;
}

export const requestListFilterSchema = lazySchema(() =>
  z.object({
    title: z.optional(nonEmpty()),
    asset: z.optional(nonEmpty()),
    location: z.optional(nonEmpty()),
    category: z.optional(nonEmpty()),
    /** Unix ms → `createdAtGreaterThanOrEqualTo`. */
    createdAtGte: z.optional(unixMs()),
    /** Unix ms → `updatedAtGreaterThanOrEqualTo`. */
    updatedAtGte: z.optional(unixMs()),
    orderBy: z.optional(orderByOf(REQUEST_ORDER_FIELDS)),
    limit: z.optional(z.int().check(z.positive())),
    offset: z.optional(z.int().check(z.nonnegative())),
  }),
);
export interface RequestListFilter {
  title?: string;
  asset?: string;
  location?: string;
  category?: string;
  createdAtGte?: number;
  updatedAtGte?: number;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// Assets (reference §3.3): listed for `millwright discover upkeep`.

export const ASSET_ORDER_FIELDS = ['createdAt', 'updatedAt'] as const;

export interface Asset {
  id: string;
  name: string;
  /** "The asset's barcode number." */
  serial?: string | null;
  serialNumber?: string | null;
  model?: string | null;
  category?: string | null;
  status?: string | null;
  /** Location id (an expanded location is normalised to its id). */
  location?: string | null;
}

/** Only what discovery shows is checked; other fields (custom fields, files, ...) are dropped. */
export const assetSchema: z.ZodMiniType<Asset> = lazySchema(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    name: z.string(),
    serial: optionalText(),
    serialNumber: optionalText(),
    model: optionalText(),
    category: optionalText(),
    status: optionalText(),
    location: z.optional(z.nullable(idRefSchema)),
  }),
);
/** Records are checked one by one (a bad asset is skipped, not the page). */
export const assetListResponseSchema = lazySchema(() => resultsEnvelope(z.unknown()));

export const assetListFilterSchema = lazySchema(() =>
  z.object({
    name: z.optional(nonEmpty()),
    location: z.optional(nonEmpty()),
    category: z.optional(nonEmpty()),
    status: z.optional(nonEmpty()),
    orderBy: z.optional(orderByOf(ASSET_ORDER_FIELDS)),
    limit: z.optional(z.int().check(z.positive())),
    offset: z.optional(z.int().check(z.nonnegative())),
  }),
);
export interface AssetListFilter {
  name?: string;
  location?: string;
  category?: string;
  status?: string;
  /** `<createdAt|updatedAt> <ASC|DESC>`. */
  orderBy?: string;
  limit?: number;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// Webhooks (reference §3.11, §4): registered by `millwright webhooks register upkeep`.

/** One registered webhook. Ids are numeric strings (`"110"`); the doc's create answer is disabled. */
export interface UpKeepWebhook {
  id: string;
  title: string;
  endpoint: string;
  /** `"*"` comes back expanded to the 20 names. */
  events: string[];
  enabled: boolean;
}

export const upkeepWebhookSchema: z.ZodMiniType<UpKeepWebhook> = lazySchema(() =>
  z.pipe(
    z.object({
      id: z.union([z.string().check(z.minLength(1)), z.number()]),
      title: optionalText(),
      endpoint: z.string(),
      events: z.optional(z.nullable(z.array(z.string()))),
      enabled: z.boolean(),
    }),
    z.transform(
      (w): UpKeepWebhook => ({
        id: String(w.id),
        title: w.title ?? '',
        endpoint: w.endpoint,
        events: w.events ?? [],
        enabled: w.enabled,
      }),
    ),
  ),
);
export const webhookResponseSchema = lazySchema(() => resultEnvelope(upkeepWebhookSchema));
export const webhookListResponseSchema = lazySchema(() => resultsEnvelope(upkeepWebhookSchema));

/** `POST /webhooks` body (doc: `title` and `endpoint` required, `events` optional). */
export const createWebhookInputSchema = lazySchema(() =>
  z.strictObject({
    title: nonEmpty(),
    endpoint: z.url({ protocol: /^https?$/ }),
    events: z.optional(z.array(nonEmpty()).check(z.minLength(1))),
  }),
);
export interface CreateWebhookInput {
  title: string;
  endpoint: string;
  events?: string[];
}

/** `PATCH /webhooks/<ID>` body: any of the create fields, and `enabled`. */
export const updateWebhookInputSchema = lazySchema(() =>
  z.strictObject({
    title: z.optional(nonEmpty()),
    endpoint: z.optional(z.url({ protocol: /^https?$/ })),
    events: z.optional(z.array(nonEmpty()).check(z.minLength(1))),
    enabled: z.optional(z.boolean()),
  }),
);
export interface UpdateWebhookInput {
  title?: string;
  endpoint?: string;
  events?: string[];
  enabled?: boolean;
}
