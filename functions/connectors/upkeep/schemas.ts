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

// ---------------------------------------------------------------------------------------------
// Building blocks.

/** A number, or a string holding one (`"1"`, `"88.00"`). Empty or non-numeric strings fail. */
export const numericSchema = z.pipe(
  z.union([z.number(), z.string()]),
  z.transform((value, ctx) => {
    const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n)) {
      ctx.issues.push({ code: 'custom', message: 'expected a number or a numeric string', input: value });
      return z.NEVER;
    }
    return n;
  }),
);

/** An id, or the object an `includes` expansion put in its place (normalised to its id). */
export const idRefSchema = z.union([
  z.string(),
  z.pipe(
    z.object({ id: z.string() }),
    z.transform((o) => o.id),
  ),
]);

/** `{ success: true, result: <schema> }`. */
export const resultEnvelope = <S extends z.ZodMiniType>(result: S) =>
  z.object({ success: z.literal(true), result });

/** `{ success: true, results: [<schema>] }`. */
export const resultsEnvelope = <S extends z.ZodMiniType>(item: S) =>
  z.object({ success: z.literal(true), results: z.array(item) });

// ---------------------------------------------------------------------------------------------
// Auth.

export const authResponseSchema = resultEnvelope(
  z.object({
    sessionToken: z.string().check(z.minLength(1)),
    /** ISO 8601; checked for a valid date where it is used. */
    expiresAt: z.string().check(z.minLength(1)),
  }),
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
export const workOrderWireSchema = z.object({
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
});

export const workOrderSchema = z.pipe(
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
);

export const workOrderResponseSchema = resultEnvelope(workOrderSchema);
export const workOrderListResponseSchema = resultsEnvelope(workOrderSchema);

const nonEmpty = () => z.string().check(z.minLength(1));
const priorityInput = () => z.int().check(z.gte(0), z.lte(3));
const unixMs = () => z.int().check(z.nonnegative());

/** `POST /work-orders/` body: the subset of documented create fields we write. */
export const createWorkOrderInputSchema = z.strictObject({
  title: nonEmpty(),
  description: z.optional(z.string()),
  priority: z.optional(priorityInput()),
  category: z.optional(nonEmpty()),
  asset: z.optional(nonEmpty()),
  location: z.optional(nonEmpty()),
  assignedToUser: z.optional(nonEmpty()),
  startDate: z.optional(unixMs()),
  dueDate: z.optional(unixMs()),
});
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
export const updateWorkOrderInputSchema = z.strictObject({
  title: z.optional(nonEmpty()),
  description: z.optional(z.nullable(z.string())),
  priority: z.optional(priorityInput()),
  category: z.optional(z.nullable(nonEmpty())),
  status: z.optional(z.enum(WORK_ORDER_STATUSES)),
  assignedToUser: z.optional(z.nullable(nonEmpty())),
});
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
export const workOrderListFilterSchema = z.object({
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
});
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

/** ISO 8601 or unix ms, as the doc allows; garbage is refused before anything is sent. */
export const recordedOnSchema = z.union([
  z.string().check(
    z.refine((s) => ISO_8601.test(s) && !Number.isNaN(Date.parse(s)), {
      message: 'must be an ISO 8601 timestamp',
    }),
  ),
  unixMs(),
]);

export const downtimeEntryInputSchema = z.strictObject({
  assetId: nonEmpty(),
  status: z.enum(DOWNTIME_STATUSES),
  recordedOn: recordedOnSchema,
  /** The id of a custom downtime status (`/asset-downtime-statuses`). */
  statusCategory: z.optional(nonEmpty()),
  userId: z.optional(nonEmpty()),
});
export const downtimeInputSchema = z.array(downtimeEntryInputSchema).check(z.minLength(1));
export interface DowntimeEntry {
  assetId: string;
  status: DowntimeStatus;
  /** ISO 8601 timestamp, or unix ms. */
  recordedOn: string | number;
  statusCategory?: string;
  userId?: string;
}

export const downtimeRowErrorSchema = z.object({
  message: z.optional(z.string()),
  slug: z.optional(z.string()),
  value: z.optional(z.unknown()),
});
export type DowntimeRowError = z.output<typeof downtimeRowErrorSchema>;

/** One result row. `row` does not match array positions (reference §7.33): match by assetId + recordedOn. */
export const downtimeRowSchema = z.object({
  assetId: z.string(),
  status: z.optional(z.string()),
  recordedOn: z.optional(z.union([z.string(), z.number()])),
  row: z.optional(numericSchema),
  errors: z.optional(z.array(downtimeRowErrorSchema)),
  statusMessage: z.optional(z.string()),
  statusSlug: z.optional(z.string()),
  newAssetActivityUpdateId: z.optional(z.string()),
});
export type DowntimeRowResult = z.output<typeof downtimeRowSchema>;

export const downtimeResponseSchema = z.object({
  success: z.boolean(),
  results: z.optional(z.array(downtimeRowSchema)),
  message: z.optional(z.string()),
});
export type DowntimeResponse = z.output<typeof downtimeResponseSchema>;
