/**
 * Response schemas of the MachineMetrics report API (reference §3.3, §6), beside their types.
 *
 * Tolerant on purpose: unknown keys are dropped, unknown entity groups (day, shift, ...) are
 * ignored, reason ids may be numbers or strings, `virtual`/`color`/`recordCount` may be missing.
 * Strict where we rely on the data: `range` and `items` must be there, because reading "no downtime"
 * out of a body we do not understand would end episodes that are still running.
 *
 * Rows are checked one by one (client.ts, normaliseDowntimeReport), with these schemas: a row that
 * does not parse makes only its machine unreadable for that report (the detector leaves that machine
 * as it was), never the whole report, unless the row cannot be tied to a machine. Entries of
 * `entities` only name things (a bad one falls back to the id), so they never fail a report.
 */
import * as z from 'zod/mini';
import { lazySchema } from '../../core/schema.ts';

const id = lazySchema(() => z.union([z.string(), z.number()]));

export const downtimeAggregateSchema = lazySchema(() =>
  z.object({
    downtimeMs: z.number().check(z.minimum(0)),
    recordCount: z.optional(z.number()),
  }),
);
export type DowntimeAggregate = z.infer<typeof downtimeAggregateSchema>;

export const reportEntityRefSchema = lazySchema(() => z.object({ type: z.string(), id }));
export type ReportEntityRef = z.infer<typeof reportEntityRefSchema>;

/** Children of one node of the nested `items` tree (they follow the next `groupBy` level). */
export const reportChildrenSchema = lazySchema(() => z.optional(z.array(z.unknown())));

export const machineEntitySchema = lazySchema(() =>
  z.object({ id: z.optional(z.string()), name: z.string() }),
);
export type MachineEntity = z.infer<typeof machineEntitySchema>;

/** `id` is a number for user reasons (33) and a string for virtual ones ("uncategorized"). */
export const reasonEntitySchema = lazySchema(() =>
  z.object({
    id,
    name: z.string(),
    color: z.optional(z.string()),
    virtual: z.optional(z.boolean()),
  }),
);
export type ReasonEntity = z.infer<typeof reasonEntitySchema>;

export const downtimeReportResponseSchema = lazySchema(() =>
  z.object({
    range: z.object({ start: z.string(), end: z.string() }),
    /** The company total: shown in the doc's sample but read by nothing here, so not required. */
    aggregate: z.optional(downtimeAggregateSchema),
    entities: z._default(
      z.object({
        machine: z.optional(z.record(z.string(), z.unknown())),
        reason: z.optional(z.record(z.string(), z.unknown())),
      }),
      {},
    ),
    /** Rows `{ entity, aggregate, items? }`, nested in `groupBy` order; parsed one by one. */
    items: z.array(z.unknown()),
    csv: z.optional(z.object({ url: z.string(), expires: z.optional(z.string()) })),
  }),
);
export type DowntimeReportResponse = z.infer<typeof downtimeReportResponseSchema>;
