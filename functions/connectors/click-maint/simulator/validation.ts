/**
 * Request-body checks against api-doc.txt: what it marks required is required and every field sent
 * must have its documented type; a failure is a 422 (400 for a missing wrapper, like Rails).
 */
import type { SimRequest } from '../../../../sandbox/simulators/server.ts';
import { SimulatorInputError, unprocessable } from './responses.ts';

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const decimals = (n: number): number => {
  const s = String(n);
  if (s.includes('e')) return 10;
  return s.includes('.') ? (s.split('.')[1]?.length ?? 0) : 0;
};

// Documented types of the work-order fields the simulator keeps as sent (api-doc.txt, "Work order to
// create": integers, integer arrays, `"yes"` strings, checklist items). A field may be null to clear.
const WO_INTEGER_FIELDS = ['work_order_request_id', 'location_id'];
const WO_INTEGER_LIST_FIELDS = [
  'categories_ids',
  'account_codes_ids',
  'procedure_template_ids',
  'technicians_ids',
  'vendors_ids',
];
const WO_STRING_FIELDS = ['notify_vendors_on_create', 'notify_vendors_on_update'];

/** Rails-style attribute label for messages: `categories_ids` -> `Categories ids`. */
const label = (field: string) => {
  const words = field.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** A `checklist[]` item: `{text: string, order: integer, checked: boolean}` (each typed when sent). */
function checkChecklist(value: unknown): void {
  if (!Array.isArray(value) || !value.every(isObject))
    throw unprocessable('Checklist must be an array of items');
  value.forEach((item: Record<string, unknown>, i) => {
    if (item.text !== undefined && typeof item.text !== 'string')
      throw unprocessable(`Checklist item ${i} text must be a string`);
    if (item.order !== undefined && !Number.isInteger(item.order))
      throw unprocessable(`Checklist item ${i} order must be an integer`);
    if (item.checked !== undefined && typeof item.checked !== 'boolean')
      throw unprocessable(`Checklist item ${i} checked must be a boolean`);
  });
}

/** The documented type of a kept work-order field; a 422 when it is not met. */
export function checkWorkOrderExtra(field: string, value: unknown): void {
  if (value === null) return;
  if (WO_INTEGER_FIELDS.includes(field) && !Number.isInteger(value))
    throw unprocessable(`${label(field)} must be an integer`);
  if (
    WO_INTEGER_LIST_FIELDS.includes(field) &&
    (!Array.isArray(value) || !value.every((v) => Number.isInteger(v)))
  ) {
    throw unprocessable(`${label(field)} must be an array of integers`);
  }
  if (WO_STRING_FIELDS.includes(field) && typeof value !== 'string')
    throw unprocessable(`${label(field)} must be a string`);
  if (field === 'checklist') checkChecklist(value);
}

/** The wrapped body of a create / update (`{work_order: {...}}`). */
export function wrapped(req: SimRequest, key: string): Record<string, unknown> {
  const body = isObject(req.json) ? req.json[key] : undefined;
  if (!isObject(body)) throw new SimulatorInputError(400, `param is missing or the value is empty: ${key}`);
  return body;
}

export function quantityOf(body: Record<string, unknown>, { nonZero }: { nonZero: boolean }): number {
  const q = body.quantity;
  if (q === undefined || q === null) throw unprocessable("Quantity can't be blank");
  if (!isNumber(q)) throw unprocessable('Quantity is not a number');
  if (decimals(q) > 3) throw unprocessable('Quantity must have at most 3 decimal places');
  if (nonZero ? q === 0 : q <= 0)
    throw unprocessable(nonZero ? 'Quantity must not be 0' : 'Quantity must be greater than 0');
  return q;
}
