/**
 * Deepomatic work-order shapes (zod/mini): requests, tolerant responses, name rules.
 *
 * The response schema is tolerant (reference §3.2): unknown fields pass through, and fields the doc
 * shows only by example default when absent (`review_date` null, `metadata` null, lists empty).
 * Required: `id`, `name`, `progress_score` (0..100), `create_date`, `update_date`, and per task `name`.
 * Tasks and task groups are keyed by NAME: their ids change when the application version changes.
 *
 * The validation-outcome rule over task states is in client.ts (`validationOutcome`).
 */
import * as z from 'zod/mini';
import { lazySchema } from '../../core/schema.ts';

const nonEmpty = lazySchema(() => z.string().check(z.minLength(1)));
const nullableString = lazySchema(() => z._default(z.nullable(z.string()), null));
const list = <T extends z.ZodMiniType>(item: T) => z._default(z.array(item), () => []);

// ---- names ------------------------------------------------------------------------------------

/**
 * Letters, digits, `_` and `-`; 1..128 characters (api-doc.txt, create: "Only letters, numbers,
 * underscores and hyphens are accepted for the name."). NAMED ASSUMPTION DEEPOMATIC_NAME_ASCII_ONLY:
 * the doc does not say whether "letters" includes non-ASCII ones (`é`); we take the stricter reading,
 * ASCII A-Z/a-z only, so a name we send is valid under either reading (toWorkOrderName replaces the
 * rest).
 */
export const WORK_ORDER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const WORK_ORDER_NAME_MAX_LENGTH = 128;

/** Why `name` is not a valid work-order name, or undefined when it is. */
export function workOrderNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  if (name.length > WORK_ORDER_NAME_MAX_LENGTH)
    return `must be at most ${WORK_ORDER_NAME_MAX_LENGTH} characters (got ${name.length})`;
  const bad = [...new Set(name.replace(/[A-Za-z0-9_-]/g, ''))];
  if (bad.length > 0) {
    return `only letters, digits, _ and - are accepted (found ${bad.map((c) => JSON.stringify(c)).join(', ')})`;
  }
  return undefined;
}

// ---- requests ---------------------------------------------------------------------------------

const metadataSchema = lazySchema(() => z.record(z.string(), z.unknown()));
/** Item type undocumented (ids come from the CSM). */
const userGroupIdSchema = lazySchema(() => z.union([nonEmpty, z.number()]));

/** `POST /work-orders/` body. Unknown keys are refused (a typo would otherwise be dropped silently). */
export const createWorkOrderInputSchema = lazySchema(() =>
  z.strictObject({
    /** Checked against WORK_ORDER_NAME_PATTERN first, with a readable message. */
    name: z.string(),
    /** A key-value object (keys are app-specific); `{}` is sent when absent. */
    metadata: z.optional(metadataSchema),
    tags: z.optional(z.array(nonEmpty)),
    /** Must be an existing Deepomatic user, else the whole create fails (E2). */
    field_engineer_email: z.optional(nonEmpty),
    user_group_ids: z.optional(z.array(userGroupIdSchema)),
    /** Type NAMES configured in the application; they filter the tasks at creation. */
    work_order_types: z.optional(z.array(nonEmpty)),
  }),
);
export type CreateWorkOrderInput = z.input<typeof createWorkOrderInputSchema>;

/** `PATCH /work-orders/{id}/` body: override semantics, every field present replaces the stored one. */
export const updateWorkOrderInputSchema = lazySchema(() =>
  z.strictObject({
    name: z.optional(z.string()),
    metadata: z.optional(metadataSchema),
    tags: z.optional(z.array(nonEmpty)),
    field_engineer_email: z.optional(nonEmpty),
    user_group_ids: z.optional(z.array(userGroupIdSchema)),
    /** Whether this re-filters the tasks is undocumented (create filters them). */
    work_order_types: z.optional(z.array(nonEmpty)),
  }),
);
export type UpdateWorkOrderInput = z.input<typeof updateWorkOrderInputSchema>;

// ---- responses --------------------------------------------------------------------------------

export const deepomaticTaskSchema = lazySchema(() =>
  z.looseObject({
    id: z.optional(z.string()),
    /** The stable key. */
    name: nonEmpty,
    label: z.optional(z.nullable(z.string())),
    /** Seen: `Boolean`, `Number`; the full list is undocumented. */
    type: z.optional(z.nullable(z.string())),
    group_id: z.optional(z.nullable(z.string())),
    group_name: z.optional(z.nullable(z.string())),
    /** Undocumented (see the NAMED ASSUMPTION above); null until analysed. */
    state: z.optional(z.unknown()),
  }),
);
export type DeepomaticTask = z.output<typeof deepomaticTaskSchema>;

export const deepomaticTaskGroupSchema = lazySchema(() =>
  z.looseObject({
    id: z.optional(z.string()),
    name: nonEmpty,
    display_name: z.optional(z.nullable(z.string())),
    order: z.optional(z.nullable(z.number())),
  }),
);
export type DeepomaticTaskGroup = z.output<typeof deepomaticTaskGroupSchema>;

export const deepomaticWorkOrderSchema = lazySchema(() =>
  z.looseObject({
    /** UUID; persist it against the CMMS id (there is no lookup by name). */
    id: nonEmpty,
    name: z.string(),
    site_id: z.optional(z.nullable(z.string())),
    /** Completion 0..100 over the tasks of the conformity score. */
    progress_score: z.number().check(z.gte(0), z.lte(100)),
    /** Back-office review date; null until reviewed. */
    review_date: nullableString,
    /** ISO-8601 UTC with microseconds, e.g. `2023-05-29T12:12:11.584841Z`. */
    create_date: nonEmpty,
    update_date: nonEmpty,
    tags: list(z.string()),
    app_version_id: z.optional(z.nullable(z.string())),
    metadata: z._default(z.nullable(z.record(z.string(), z.unknown())), null),
    /** Resolved `work_order_types` (request names), as `{id, name}`; not in request order. */
    types: list(z.looseObject({ id: z.optional(z.string()), name: z.string() })),
    field_engineer_email: nullableString,
    field_engineer_name: z.optional(z.nullable(z.string())),
    /**
     * Item type undocumented (api-doc.txt:168-174 "array", 216 only `[]`) and read by nothing here:
     * any items pass, so an unexpected shape cannot make a work order unreadable to the poller.
     */
    user_group_ids: list(z.unknown()),
    tasks: list(deepomaticTaskSchema),
    task_groups: list(deepomaticTaskGroupSchema),
  }),
);
export type DeepomaticWorkOrder = z.output<typeof deepomaticWorkOrderSchema>;
