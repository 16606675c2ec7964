/**
 * Request contract of `POST /reports/downtime` (api-doc.txt, Downtime Query Object): which bodies the
 * simulator accepts, and the per-field errors of the 400 it answers otherwise.
 */

/**
 * ASSUMED: api-doc.txt lost the `group` enum (reference.md §7.1 #4); this is reference.md's "probable
 * set" (doc prose names shift, operation, day and week rollups; third-party code the rest).
 */
export const ASSUMED_REPORT_GROUPS = [
  'machine',
  'reason',
  'day',
  'hour',
  'week',
  'shift',
  'machineGroup',
  'jobOperation',
  'operator',
] as const;
const SIMULATED_GROUPS = new Set(['machine', 'reason', 'day', 'hour', 'shift']);

export interface SimDowntimeQuery {
  start: Date;
  end: Date;
  groupBy: string[];
  machines?: string[];
  /** `csv: true`: the answer also carries `csv: { url, expires }` (api-doc.txt:452-453). */
  csv?: boolean;
}

export interface ValidationIssue {
  field: string;
  code: string;
  message: string;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate a downtime query body like the vendor (400 ValidationError with per-field errors). */
export function validateDowntimeQuery(
  body: unknown,
): { ok: true; query: SimDowntimeQuery } | { ok: false; errors: ValidationIssue[] } {
  if (!isRecord(body))
    return { ok: false, errors: [{ field: '', code: 'InvalidType', message: 'body must be an object' }] };
  const errors: ValidationIssue[] = [];
  const date = (field: 'start' | 'end'): Date | undefined => {
    const value = body[field];
    if (value === undefined) {
      errors.push({ field, code: 'Required', message: `${field} is required` });
      return undefined;
    }
    if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
      errors.push({ field, code: 'InvalidDateTime', message: `${field} must be a valid ISO 8601 date-time` });
      return undefined;
    }
    return new Date(value);
  };
  const start = date('start');
  const end = date('end');
  if (start && end && start.getTime() >= end.getTime()) {
    errors.push({ field: 'start', code: 'InvalidRange', message: 'start must be before end' });
  }

  const groupBy: string[] = [];
  if (body.groupBy !== undefined) {
    if (!Array.isArray(body.groupBy)) {
      errors.push({
        field: 'groupBy',
        code: 'InvalidType',
        message: 'groupBy must be an array of { group }',
      });
    } else {
      body.groupBy.forEach((item: unknown, i) => {
        const group = isRecord(item) ? item.group : undefined;
        const field = `groupBy[${i}].group`;
        if (typeof group !== 'string' || !(ASSUMED_REPORT_GROUPS as readonly string[]).includes(group)) {
          errors.push({
            field,
            code: 'InvalidGroup',
            message: `group must be one of ${ASSUMED_REPORT_GROUPS.join(', ')}`,
          });
        } else if (!SIMULATED_GROUPS.has(group)) {
          errors.push({
            field,
            code: 'NotSimulated',
            message: `the simulator does not model group '${group}'`,
          });
        } else if (groupBy.includes(group)) {
          errors.push({ field, code: 'DuplicateGroup', message: `group '${group}' appears twice` });
        } else groupBy.push(group);
      });
    }
  }

  let machines: string[] | undefined;
  if (body.filter !== undefined) {
    if (!isRecord(body.filter)) {
      errors.push({ field: 'filter', code: 'InvalidType', message: 'filter must be an object of id arrays' });
    } else {
      for (const [key, value] of Object.entries(body.filter)) {
        // Ids are strings (machine UUIDs) or numbers (user reasons: `"id": 33`, api-doc.txt:216).
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
          errors.push({
            field: `filter.${key}`,
            code: 'InvalidType',
            message: `filter.${key} must be an array of ids`,
          });
        }
      }
      // "If the array is not supplied, or is empty, no filtering will be done on that item." Only the
      // machine filter is modelled: another non-empty one is refused rather than silently ignored
      // (which would answer unfiltered totals), like an unmodelled groupBy.
      for (const [key, value] of Object.entries(body.filter)) {
        if (key !== 'machine' && Array.isArray(value) && value.length > 0) {
          errors.push({
            field: `filter.${key}`,
            code: 'NotSimulated',
            message: `the simulator does not model filter '${key}'`,
          });
        }
      }
      const machine = body.filter.machine;
      if (Array.isArray(machine) && machine.length > 0) machines = machine.map(String);
    }
  }
  // `csv` and `flatten` are documented booleans (api-doc.txt:182-183). `csv: true` adds a download
  // link to the answer; `flatten`'s description is lost, so the simulator answers the nested shape
  // either way (FLATTEN_ANSWERS_NESTED in report-routes.ts).
  for (const flag of ['csv', 'flatten'] as const) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') {
      errors.push({ field: flag, code: 'InvalidType', message: `${flag} must be a boolean` });
    }
  }
  if (errors.length > 0 || !start || !end) return { ok: false, errors };
  return {
    ok: true,
    query: {
      start,
      end,
      groupBy,
      ...(machines ? { machines } : {}),
      ...(body.csv === true ? { csv: true } : {}),
    },
  };
}
