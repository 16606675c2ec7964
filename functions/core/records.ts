/**
 * Record-level parsing for vendor lists: one bad record must never stall the others (a poller that
 * threw on it would fail on the same page forever). `parseRecords` splits a list into the records
 * that parse and a descriptor per record that does not (its id when that can be read, the path of
 * the bad field inside the record, a readable reason). Envelopes (the list itself, pagination) are
 * still checked strictly by the caller: a response we cannot read as a whole stays a typed error.
 */

import type * as z from 'zod/mini';
import type { VendorResponseError } from './errors.ts';
import { redact } from './errors.ts';
import { describeIssue, issuePath } from './schema.ts';

/** Why one vendor record was not read. */
export interface RecordProblem {
  /** The vendor's id of the record, or its position (`[3]`) when the id itself cannot be read. */
  record: string;
  /** Path of the offending field inside the record (`quantity`, `tasks[0].name`); '' = the record. */
  field: string;
  /** What was wrong, with the value received (`expected number (got "abc")`). */
  message: string;
}

/** A record that did not parse, with what the caller may still need from it (its raw value). */
export interface RecordFailure extends RecordProblem {
  index: number;
  raw: unknown;
}

export interface ParsedRecords<T> {
  records: T[];
  failures: RecordFailure[];
}

const MAX_SHOWN = 40;

/** A short rendering of a received value for a message (`"abc"`, `null`, `nothing`). */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // Redacted before the cut (a vendor may echo a credential in any field).
  const text = redact(JSON.stringify(value) ?? typeof value, []);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

/** The value at `path` inside `value` (undefined when any step is missing). */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** The record's own id, when it is a non-empty string or a number. */
export const readId = (raw: unknown, key = 'id'): string | undefined => {
  const id = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[key] : undefined;
  return (typeof id === 'string' && id.length > 0) || typeof id === 'number' ? String(id) : undefined;
};

/** The first problem of a failed parse: field path and a message that shows the value received. */
export function firstProblem(error: z.core.$ZodError, raw: unknown): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', message: 'invalid' };
  const described = describeIssue(issue);
  // Custom messages of our own schemas already show the value (`..., got "five"`).
  const message = / got /.test(described)
    ? described
    : `${described} (got ${showValue(valueAt(raw, issue.path))})`;
  return { field: issuePath(issue), message };
}

/**
 * Parse each item with `schema`; never throws for a bad item. `idOf` reads a record's id from the
 * raw item (default: its `id`); a record whose id cannot be read is named by its position.
 */
export function parseRecords<S extends z.ZodMiniType>(
  items: readonly unknown[],
  schema: S,
  idOf: (raw: unknown) => string | undefined = (raw) => readId(raw),
): ParsedRecords<z.output<S>> {
  const records: z.output<S>[] = [];
  const failures: RecordFailure[] = [];
  items.forEach((raw, index) => {
    const result = schema.safeParse(raw);
    if (result.success) {
      records.push(result.data);
      return;
    }
    failures.push({ index, raw, record: idOf(raw) ?? `[${index}]`, ...firstProblem(result.error, raw) });
  });
  return { records, failures };
}

/** The descriptor of a single record whose read failed with a VendorResponseError. */
export const problemOf = (record: string, error: VendorResponseError): RecordProblem => ({
  record,
  field: error.field,
  message: error.detail,
});
