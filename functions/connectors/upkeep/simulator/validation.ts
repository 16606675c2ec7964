/**
 * Request-body checks against the doc (api-doc.txt): the documented types of each field, with
 * UpKeep's 400 messages, and the key checks (`<field> not in schema`, `<field> is not allowed to be
 * set!`) that create and PATCH share.
 */
import { bad } from './errors.ts';

export const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parse a stored timestamp as UTC (asset timestamps come without a zone). */
export function utcMs(value: string): number {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
  return Date.parse(hasZone || !value.includes('T') ? value : `${value}Z`);
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Documented types of the work-order fields the simulator stores as sent (api-doc.txt, Create a
// Work Order / Update a Specific Work Order). `null` is accepted: "Null values are allowed to erase
// the value unless otherwise stated".

/** The work-order image fields (URLs, as Strings). */
export const WO_IMAGE_FIELDS = ['image', 'image2', 'image3', 'image4', 'image5', 'signatureImage'];
const WO_STRING_FIELDS = new Set([...WO_IMAGE_FIELDS, 'formTemplate', 'customWOStatusId']);
const WO_STRING_LIST_FIELDS = new Set(['files', 'parts', 'additionalUsers']);
/** "type should be one of TASK, TEXT, NUMBER, CHECKLIST, MULTIPLE_CHOICE, or METER"; form templates
 * (and reference §7) show METER_READING, accepted too. */
const FORM_ITEM_TYPES = ['TASK', 'TEXT', 'NUMBER', 'CHECKLIST', 'MULTIPLE_CHOICE', 'METER', 'METER_READING'];
const DECREASE_INVENTORY = ['auto', 'manual'];

export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkList(field: string, value: unknown, item: (entry: unknown) => boolean, what: string): void {
  if (!Array.isArray(value) || !value.every(item)) throw bad(`${field} must be an Array of ${what}`);
}

/** formItems: "Should include name and type keys"; type from the documented list. */
function checkFormItems(value: unknown): void {
  checkList('formItems', value, isObject, 'objects');
  (value as Record<string, unknown>[]).forEach((item, i) => {
    if (typeof item.name !== 'string' || item.name === '') throw bad(`formItems[${i}].name cannot be null`);
    if (item.type === undefined || item.type === null) throw bad(`formItems[${i}].type cannot be null`);
    if (typeof item.type !== 'string' || !FORM_ITEM_TYPES.includes(item.type)) {
      throw bad(`formItems[${i}].type must be one of ${FORM_ITEM_TYPES.join(', ')}`);
    }
  });
}

/**
 * additionalCosts (PATCH): amount (Number), info, category and assignedToUser (String) are marked
 * required; an item that only deletes a cost (`id` + `deleteAdditionalCostItem: true`) needs its id.
 */
function checkAdditionalCosts(value: unknown): void {
  checkList('additionalCosts', value, isObject, 'objects');
  (value as Record<string, unknown>[]).forEach((cost, i) => {
    const at = `additionalCosts[${i}]`;
    const deleting = cost.deleteAdditionalCostItem === true;
    if (deleting && typeof cost.id !== 'string') throw bad(`${at}.id cannot be null`);
    const required: [string, (v: unknown) => boolean, string][] = [
      ['amount', isFiniteNumber, 'a Number'],
      ['info', (v) => typeof v === 'string', 'a String'],
      ['category', (v) => typeof v === 'string', 'a String'],
      ['assignedToUser', (v) => typeof v === 'string', 'a String'],
    ];
    for (const [key, ok, what] of required) {
      if (cost[key] === undefined || cost[key] === null) {
        if (!deleting) throw bad(`${at}.${key} cannot be null`);
      } else if (!ok(cost[key])) throw bad(`${at}.${key} must be ${what}`);
    }
    if (cost.id !== undefined && typeof cost.id !== 'string') throw bad(`${at}.id must be a String`);
    const date = cost.date;
    if (date !== undefined && typeof date !== 'string' && !isFiniteNumber(date)) {
      throw bad(`${at}.date must be an ISO string or a unix timestamp`);
    }
    for (const flag of ['includedInTotalCost', 'deleteAdditionalCostItem']) {
      if (cost[flag] !== undefined && typeof cost[flag] !== 'boolean')
        throw bad(`${at}.${flag} must be a Boolean`);
    }
  });
}

/** The documented type of a work-order field kept in `extra`; throws a 400 when it is not met. */
export function checkWorkOrderExtra(field: string, value: unknown): void {
  if (value === null) return;
  if (WO_STRING_FIELDS.has(field)) {
    if (typeof value !== 'string') throw bad(`${field} must be a String`);
  } else if (WO_STRING_LIST_FIELDS.has(field)) {
    checkList(field, value, (v) => typeof v === 'string', 'Strings');
  } else if (field === 'respectivePartQuantityUsed') {
    checkList(field, value, isFiniteNumber, 'Numbers');
  } else if (field === 'estimatedDurationInHours') {
    if (!isFiniteNumber(value)) throw bad(`${field} must be a Number`);
  } else if (field === 'decreaseInventory') {
    if (typeof value !== 'string' || !DECREASE_INVENTORY.includes(value)) {
      throw bad('decreaseInventory must be "auto" or "manual"');
    }
  } else if (field === 'formItems') checkFormItems(value);
  else if (field === 'additionalCosts') checkAdditionalCosts(value);
}

/** Legacy custom fields (`customFieldsPart`, `customFieldsPO`): "Array of objects". */
export function checkCustomFields(field: string, value: unknown): void {
  if (value !== null) checkList(field, value, isObject, 'objects');
}

export function checkString(field: string, value: unknown, nullable: boolean): string | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'string') throw bad(`${field} must be a String`);
  return value;
}

/** A required field of a create: absent, null and '' are all `<field> cannot be null`. */
export function checkRequired(body: Record<string, unknown>, field: string): void {
  const value = body[field];
  if (value === undefined || value === null || value === '') throw bad(`${field} cannot be null`);
}

/** A String that may be changed but never erased (`title`, part `name`). */
export function requiredString(field: string, value: unknown): string {
  if (value === null || value === '') throw bad(`${field} cannot be null`);
  return checkString(field, value, false) as string;
}

export function checkMs(field: string, value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`${field} must be a Number (unix ms)`);
  return new Date(value).toISOString();
}

export function checkPriority(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 3) {
    throw bad('priority must be one of 0, 1, 2, 3');
  }
  return value;
}

export function checkNumber(field: string, value: unknown, nullable: boolean): number | null {
  if (value === null) {
    if (nullable) return null;
    throw bad(`${field} cannot be null`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`${field} must be a Number`);
  return value;
}

/** PO dates are date Strings (`"2018-06-30"`, reference §2.7); stored as ISO. */
export function checkDateString(field: string, value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !ISO_8601.test(value) || Number.isNaN(utcMs(value))) {
    throw bad(`${field} must be a date String (e.g. 2018-06-30)`);
  }
  return new Date(utcMs(value)).toISOString();
}

/** The keys a resource accepts: on create, `fields`; on PATCH, also `patchOnly`; `readOnly` ones are refused. */
export interface KeySchema {
  fields: ReadonlySet<string>;
  /** The field a create must carry (`title`, a part's `name`), checked after the keys. */
  required: string;
  patchOnly?: ReadonlySet<string>;
  readOnly: ReadonlySet<string>;
}

/**
 * `<field> not in schema`, or on PATCH of a response-only field, `<field> is not allowed to be set!`;
 * then on create, the required field.
 */
export function checkKeys(body: Record<string, unknown>, mode: 'create' | 'patch', schema: KeySchema): void {
  for (const field of Object.keys(body)) {
    if (schema.fields.has(field)) continue;
    if (mode === 'patch' && schema.patchOnly?.has(field)) continue;
    if (mode === 'patch' && schema.readOnly.has(field)) throw bad(`${field} is not allowed to be set!`);
    throw bad(`${field} not in schema`);
  }
  if (mode === 'create') checkRequired(body, schema.required);
}
