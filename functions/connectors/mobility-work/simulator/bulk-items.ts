/**
 * The items of the bulk (202) endpoints, parsed and checked one by one: the same parse runs when a
 * write is accepted (reporting problems) and when it is applied (giving the values).
 */
import { MW_SPARE_PART_REQUIRED_OBJECTS, MW_STOCK_MOVEMENT } from '../config.ts';
import { MAIN_STORE } from './seed.ts';
import type { MwSimSparePart } from './types.ts';
import {
  ANY_LENGTH,
  type EquipmentIdentifier,
  equipmentIdentifier,
  gtin,
  isRecord,
  itemObject,
  NON_EMPTY,
  nonNegativeInteger,
  nullableNonNegativeNumber,
  nullableString,
  objectList,
  type Problems,
  requiredObject,
  requiredString,
  sparePartIdentifier,
  stringList,
  typeError,
  unitPrice,
} from './validation.ts';

export interface StockItem {
  ref: string;
  quantity: number;
}

/**
 * `movements/bulk` ('movement': identifier + the required movement object, api-doc.txt Bulk Stock
 * Movement) or the deprecated `PUT /spare-parts/stock` ('flat': identifier + `quantity`).
 */
export function stockItem(
  item: unknown,
  index: number,
  p: Problems,
  shape: 'movement' | 'flat',
): StockItem | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const ref = sparePartIdentifier(o.id, `${at}/id`, p);
  const quantity =
    shape === 'flat'
      ? nonNegativeInteger(o.quantity, `${at}/quantity`, p)
      : movementQuantity(o[MW_STOCK_MOVEMENT.key], `${at}/${MW_STOCK_MOVEMENT.key}`, p);
  return ref === undefined || quantity === undefined ? undefined : { ref, quantity };
}

/**
 * The movement object is required (a flat `{id, quantity}` item lacks it: 400). Its fields are the
 * connector's named assumption (MW_STOCK_MOVEMENT): `{type: 'inventory', quantity: integer >= 0}`.
 */
function movementQuantity(value: unknown, pointer: string, p: Problems): number | undefined {
  const movement = requiredObject(value, pointer, p);
  if (!movement) return undefined;
  if (movement.type === undefined) p.add(`${pointer}/type`, 'error.payload.required');
  else if (movement.type !== MW_STOCK_MOVEMENT.type) {
    p.add(`${pointer}/type`, 'error.payload.choice', {
      choices: [MW_STOCK_MOVEMENT.type],
      value: movement.type,
    });
  }
  return nonNegativeInteger(movement.quantity, `${pointer}/quantity`, p);
}

export interface CreateItem {
  externalReference: string;
  name: string;
  description: string | null;
  minimumStock: number | null;
  maximumStock: number | null;
  unitPrice: { amount: number; currency: string };
  gtin: string | null;
  costCenter: string | null;
  /** From the assumed `location.locationName`; the main store when the object names none. */
  location: string;
}

/**
 * `POST /spare-parts`: `externalReference` and `name` required, plus the two required objects whose
 * names the doc lost (MW_SPARE_PART_REQUIRED_OBJECTS: `unitPrice`, `location`).
 */
export function createItem(item: unknown, index: number, p: Problems): CreateItem | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const externalReference = requiredString(o.externalReference, `${at}/externalReference`, p, NON_EMPTY);
  const name = requiredString(o.name, `${at}/name`, p, { min: 3, max: 255 });
  const description = requiredString(o.description, `${at}/description`, p, { min: 3, max: 3000 }, false);
  const objects = Object.fromEntries(
    MW_SPARE_PART_REQUIRED_OBJECTS.map((key) => [key, requiredObject(o[key], `${at}/${key}`, p)]),
  );
  const price = objects.unitPrice && unitPrice(objects.unitPrice, `${at}/unitPrice`, p);
  const location = objects.location && stockLocation(objects.location, `${at}/location`, p);
  const minimumStock = nonNegativeInteger(o.minimumStock, `${at}/minimumStock`, p, false);
  const maximumStock = nonNegativeInteger(o.maximumStock, `${at}/maximumStock`, p, false);
  const code = o.gtin === null ? typeError(`${at}/gtin`, 'string', p) : gtin(o.gtin, `${at}/gtin`, p);
  const costCenter = requiredString(o.costCenter, `${at}/costCenter`, p, ANY_LENGTH, false);
  if (externalReference === undefined || name === undefined || !price || location === undefined) {
    return undefined;
  }
  return {
    externalReference,
    name,
    description: description ?? null,
    minimumStock: minimumStock ?? null,
    maximumStock: maximumStock ?? null,
    unitPrice: price,
    gtin: code ?? null,
    costCenter: costCenter ?? null,
    location,
  };
}

/** The assumed `{locationName}` of the create's location object; other fields pass. */
function stockLocation(value: Record<string, unknown>, pointer: string, p: Problems): string | undefined {
  if (value.locationName === undefined) return MAIN_STORE;
  return requiredString(value.locationName, `${pointer}/locationName`, p, { min: 1, max: 255 });
}

export type AttributeChanges = Partial<
  Pick<
    MwSimSparePart,
    | 'name'
    | 'description'
    | 'externalReference'
    | 'minimumStock'
    | 'maximumStock'
    | 'replenishmentLot'
    | 'unitPrice'
    | 'gtin'
    | 'costCenter'
  >
>;

/**
 * `POST /spare-parts/attributes`: only `id` is required; an omitted field is left alone and `null`
 * unsets it ("To unset an attribute, set it to null"), except `name` and `externalReference`, which
 * a part cannot be without (simulator choice: null is a type error there).
 */
export function attributesItem(
  item: unknown,
  index: number,
  p: Problems,
): { ref: string; changes: AttributeChanges } | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const ref = sparePartIdentifier(o.id, `${at}/id`, p);
  const changes: AttributeChanges = {};
  const set = <K extends keyof AttributeChanges>(key: K, value: AttributeChanges[K] | undefined) => {
    if (value !== undefined) changes[key] = value;
  };
  if (o.name !== undefined) set('name', requiredString(o.name, `${at}/name`, p, { min: 3, max: 255 }));
  if (o.externalReference !== undefined) {
    set('externalReference', requiredString(o.externalReference, `${at}/externalReference`, p, NON_EMPTY));
  }
  set('description', nullableString(o.description, `${at}/description`, p, { min: 3, max: 3000 }));
  for (const key of ['minimumStock', 'maximumStock', 'replenishmentLot'] as const) {
    set(key, nullableNonNegativeNumber(o[key], `${at}/${key}`, p));
  }
  if (o.unitPrice !== undefined) {
    set('unitPrice', o.unitPrice === null ? null : unitPrice(o.unitPrice, `${at}/unitPrice`, p));
  }
  set('gtin', gtin(o.gtin, `${at}/gtin`, p));
  set('costCenter', nullableString(o.costCenter, `${at}/costCenter`, p, ANY_LENGTH));
  objectList(o.tags, `${at}/tags`, p);
  return ref === undefined ? undefined : { ref, changes };
}

export interface EquipmentChanges {
  id: EquipmentIdentifier;
  name?: string;
  itemCode?: string | null;
}

/**
 * `POST /equipment/attributes`: only `id` is required; the others are checked as documented (name
 * 3..255, description 3..3000, gtin pattern, costCenter 3..255, itemCode 1..255, tags strings) and
 * may be `null` to unset ("To unset an attribute, set it to null"), except `name` (as above).
 * Only `name` and `itemCode` are kept: the simulator's equipment has no other field.
 */
export function equipmentAttributesItem(
  item: unknown,
  index: number,
  p: Problems,
): EquipmentChanges | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const id = equipmentIdentifier(o.id, `${at}/id`, p);
  const name = requiredString(o.name, `${at}/name`, p, { min: 3, max: 255 }, false);
  const itemCode = nullableString(o.itemCode, `${at}/itemCode`, p, { min: 1, max: 255 });
  nullableString(o.description, `${at}/description`, p, { min: 3, max: 3000 });
  gtin(o.gtin, `${at}/gtin`, p);
  nullableString(o.costCenter, `${at}/costCenter`, p, { min: 3, max: 255 });
  stringList(o.tags, `${at}/tags`, p);
  if (!id) return undefined;
  return { id, ...(name !== undefined ? { name } : {}), ...(itemCode !== undefined ? { itemCode } : {}) };
}

export function locationItem(item: unknown, index: number, p: Problems): { name: string } | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const name = requiredString(o.name, `${at}/name`, p, { min: 1, max: 255 });
  if (name !== undefined && !/^(?!$)\w/.test(name)) {
    p.add(`${at}/name`, 'error.payload.pattern', { pattern: '^(?!$)\\w' });
    return undefined;
  }
  return name === undefined ? undefined : { name };
}

export function relocateItem(
  item: unknown,
  index: number,
  p: Problems,
): { ref: string; source: string | null; target: string } | undefined {
  const at = `/${index}`;
  const o = itemObject(item, at, p);
  if (!o) return undefined;
  const ref = sparePartIdentifier(o.sparePartId, `${at}/sparePartId`, p);
  const locationName = (value: unknown, pointer: string, required: boolean): string | null | undefined => {
    if (value === undefined) {
      if (required) p.add(pointer, 'error.payload.required');
      return required ? undefined : null;
    }
    if (!isRecord(value)) {
      p.add(pointer, 'error.payload.type', { expected: 'object' });
      return undefined;
    }
    return requiredString(value.locationName, `${pointer}/locationName`, p, { min: 1, max: 255 });
  };
  const source = locationName(o.source, `${at}/source`, false);
  const target = locationName(o.target, `${at}/target`, true);
  if (ref === undefined || source === undefined || typeof target !== 'string') return undefined;
  return { ref, source, target };
}
