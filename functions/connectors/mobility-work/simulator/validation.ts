/**
 * MW's error format (`property_errors` keyed by JSON pointer) and the checks of request bodies
 * against api-doc.txt: types, lengths, patterns and identifiers, each reported at its pointer.
 */
import { json, type SimResponse } from '../../../../sandbox/simulators/server.ts';

export const MW_SIM_BULK_LIMIT = 10_000;

interface MwErrorDetail {
  messageKey: string;
  parameters: Record<string, unknown>;
}

/** Collects `property_errors` keyed by JSON pointer. */
export class Problems {
  readonly property: Record<string, MwErrorDetail[]> = {};
  readonly global: MwErrorDetail[] = [];

  add(pointer: string, messageKey: string, parameters: Record<string, unknown> = {}): void {
    const list = this.property[pointer] ?? [];
    list.push({ messageKey, parameters });
    this.property[pointer] = list;
  }

  get empty(): boolean {
    return this.global.length === 0 && Object.keys(this.property).length === 0;
  }
}

export function mwError(status: number, code: string, message: string, problems: Problems): SimResponse {
  return json(status, {
    http_status_code: status,
    code,
    message,
    extended_message: { global_errors: problems.global, property_errors: problems.property },
    more_info_url: null,
  });
}

export const invalidPayload = (problems: Problems) =>
  mwError(400, '400044', 'The request payload is not valid.', problems);

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function requiredString(
  value: unknown,
  pointer: string,
  p: Problems,
  bounds: { min: number; max: number },
  required = true,
): string | undefined {
  if (value === undefined) {
    if (required) p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value !== 'string') {
    p.add(pointer, 'error.payload.type', { expected: 'string' });
    return undefined;
  }
  // The doc's bounds are in characters (`string [ 3 .. 3000 ] characters`): code points, as JSON
  // Schema's minLength/maxLength count them, so an emoji is one, not two UTF-16 units.
  const length = [...value].length;
  if (length < bounds.min) {
    p.add(pointer, 'error.payload.min_length', { min: bounds.min, length });
    return undefined;
  }
  if (length > bounds.max) {
    p.add(pointer, 'error.payload.max_length', { max: bounds.max, length });
    return undefined;
  }
  return value;
}

/** Optional string that may be null (unset). `undefined` = omitted. */
export function nullableString(
  value: unknown,
  pointer: string,
  p: Problems,
  bounds: { min: number; max: number },
): string | null | undefined {
  if (value === null) return null;
  return requiredString(value, pointer, p, bounds, false);
}

export function nonNegativeInteger(
  value: unknown,
  pointer: string,
  p: Problems,
  required = true,
): number | undefined {
  if (value === undefined) {
    if (required) p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'integer' });
    return undefined;
  }
  if (value < 0) {
    p.add(pointer, 'error.payload.min', { min: 0, value });
    return undefined;
  }
  return value;
}

/** number >= 0 or null (attributes); `undefined` = omitted. */
export function nullableNonNegativeNumber(
  value: unknown,
  pointer: string,
  p: Problems,
): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'number|null' });
    return undefined;
  }
  if (value < 0) {
    p.add(pointer, 'error.payload.min', { min: 0, value });
    return undefined;
  }
  return value;
}

/**
 * `{amount, currency}` (field names: MW_SPARE_PART_REQUIRED_OBJECTS). The doc's one rule: "Unit price
 * amount must be passed as an integer in the lowest unit of the currency" (no sign rule). `currency`
 * is a non-empty string, as the client requires; its codes (the doc's examples use EUR, USD) are not
 * checked.
 */
export function unitPrice(
  value: unknown,
  pointer: string,
  p: Problems,
): { amount: number; currency: string } | undefined {
  if (!isRecord(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'object' });
    return undefined;
  }
  let amount: number | undefined;
  if (value.amount === undefined) p.add(`${pointer}/amount`, 'error.payload.required');
  else if (typeof value.amount !== 'number' || !Number.isInteger(value.amount)) {
    p.add(`${pointer}/amount`, 'error.payload.type', { expected: 'integer' });
  } else amount = value.amount;
  const currency = requiredString(value.currency, `${pointer}/currency`, p, NON_EMPTY);
  return amount === undefined || currency === undefined ? undefined : { amount, currency };
}

export function gtin(value: unknown, pointer: string, p: Problems): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || !/^[0-9]{8,18}$/.test(value)) {
    p.add(pointer, 'error.payload.pattern', { pattern: '^[0-9]{8,18}$' });
    return undefined;
  }
  return value;
}

/** SparePartIdentifier: a string (= external reference) or `{type: 'externalReference', value}`. */
export function sparePartIdentifier(value: unknown, pointer: string, p: Problems): string | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value === 'string') return requiredString(value, pointer, p, NON_EMPTY);
  if (isRecord(value)) {
    if (value.type !== 'externalReference') {
      p.add(`${pointer}/type`, 'error.payload.choice', { choices: ['externalReference'], value: value.type });
    }
    const ref = requiredString(value.value, `${pointer}/value`, p, NON_EMPTY);
    return value.type === 'externalReference' ? ref : undefined;
  }
  p.add(pointer, 'error.payload.type', { expected: 'string|object' });
  return undefined;
}

/** A native id is an integer or a UUID ("Native IDs ... can be numbers or UUIDS", api-doc.txt:117). */
export type EquipmentIdentifier =
  | { type: 'native'; value: number | string }
  | { type: 'external'; value: string };

/** equipment_identifier: an int (native), a string (item code) or `{type, value}`. */
export function equipmentIdentifier(
  value: unknown,
  pointer: string,
  p: Problems,
): EquipmentIdentifier | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return { type: 'native', value };
    p.add(pointer, 'error.payload.type', { expected: 'integer|string|object' });
    return undefined;
  }
  if (typeof value === 'string') {
    const code = requiredString(value, pointer, p, NON_EMPTY);
    return code === undefined ? undefined : { type: 'external', value: code };
  }
  if (isRecord(value)) {
    const kind = value.type;
    if (kind === 'native') {
      const native = value.value;
      if (typeof native === 'number' && Number.isInteger(native)) return { type: 'native', value: native };
      if (typeof native === 'string' && UUID.test(native)) return { type: 'native', value: native };
      p.add(`${pointer}/value`, 'error.payload.type', { expected: 'integer|uuid' });
      return undefined;
    }
    if (kind === 'external' || kind === 'externalReference') {
      const code = requiredString(value.value, `${pointer}/value`, p, NON_EMPTY);
      return code === undefined ? undefined : { type: 'external', value: code };
    }
    p.add(`${pointer}/type`, 'error.payload.choice', {
      choices: ['native', 'external', 'externalReference'],
      value: kind,
    });
    return undefined;
  }
  p.add(pointer, 'error.payload.type', { expected: 'integer|string|object' });
  return undefined;
}

export function isoDateTime(value: unknown, pointer: string, p: Problems): string | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (typeof value !== 'string' || !ISO_WITH_OFFSET.test(value) || Number.isNaN(Date.parse(value))) {
    p.add(pointer, 'error.payload.date_time', { format: 'Y-m-d\\TH:i:sP', value });
    return undefined;
  }
  return value;
}

/** A bulk body: an array of 1..10000 items (pointer `` for the whole body). */
export function bulkArray(body: unknown, p: Problems): unknown[] | undefined {
  if (!Array.isArray(body)) {
    p.add('', 'error.payload.type', { expected: 'array' });
    return undefined;
  }
  if (body.length < 1) {
    p.add('', 'error.payload.min_count', { min: 1, count: body.length });
    return undefined;
  }
  if (body.length > MW_SIM_BULK_LIMIT) {
    p.add('', 'error.payload.max_count', { max: MW_SIM_BULK_LIMIT, count: body.length });
    return undefined;
  }
  return body;
}

export const itemObject = (
  item: unknown,
  pointer: string,
  p: Problems,
): Record<string, unknown> | undefined => {
  if (isRecord(item)) return item;
  p.add(pointer, 'error.payload.type', { expected: 'object' });
  return undefined;
};

/** A property the doc types as `object` and marks required. */
export function requiredObject(
  value: unknown,
  pointer: string,
  p: Problems,
): Record<string, unknown> | undefined {
  if (value === undefined) {
    p.add(pointer, 'error.payload.required');
    return undefined;
  }
  if (!isRecord(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'object' });
    return undefined;
  }
  return value;
}

/** `costCenter` and the like: a string the doc gives no length for (any, even empty). */
export const ANY_LENGTH = { min: 0, max: Number.POSITIVE_INFINITY };
/** An identifier string the doc gives no length for: non-empty (an empty one names nothing). */
export const NON_EMPTY = { min: 1, max: Number.POSITIVE_INFINITY };

export function typeError(pointer: string, expected: string, p: Problems): undefined {
  p.add(pointer, 'error.payload.type', { expected });
  return undefined;
}

/** An optional, nullable `Array of strings`. */
export function stringList(value: unknown, pointer: string, p: Problems): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'array' });
    return;
  }
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string') p.add(`${pointer}/${i}`, 'error.payload.type', { expected: 'string' });
  });
}

/**
 * An optional `Array of objects` (spare-part attributes `tags`, "A list of tags changes to apply",
 * api-doc.txt:590-593; the objects' fields are undocumented, so only their kind is checked).
 */
export function objectList(value: unknown, pointer: string, p: Problems): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    p.add(pointer, 'error.payload.type', { expected: 'array' });
    return;
  }
  value.forEach((entry: unknown, i) => {
    if (!isRecord(entry)) p.add(`${pointer}/${i}`, 'error.payload.type', { expected: 'object' });
  });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a parsed body holds a string (or key) with half a surrogate pair. NAMED ASSUMPTION
 * MW_LONE_SURROGATE_MALFORMED (the doc is silent): such an escape is no character, and a strict
 * JSON parser (PHP's json_decode: "Single unpaired UTF-16 surrogate") refuses the whole body.
 */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (isRecord(value))
    return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
  return false;
}
