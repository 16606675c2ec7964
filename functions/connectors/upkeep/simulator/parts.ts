/**
 * Parts (reference §3.2): create, list, get, PATCH and delete, plus the stock moves and bulk creation
 * the control routes and tests use. No webhooks: UpKeep has no part events (reference §4).
 */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { ApiError, bad } from './errors.ts';
import { applyBody, sameSetter } from './fields.ts';
import { fieldSpec, listRoute } from './listing.ts';
import { api, jsonObjectBody } from './routing.ts';
import { nowIso, SIM_USER, type UpKeepWorld, updateOnCopy, upkeepId } from './state.ts';
import type { SimPart, SimPartInput } from './types.ts';
import {
  checkCustomFields,
  checkKeys,
  checkNumber,
  checkString,
  isObject,
  type KeySchema,
  requiredString,
} from './validation.ts';

const PART_FIELDS = new Set([
  'name',
  'description',
  'cost',
  'quantity',
  'minimumQuantity',
  'serial',
  'area',
  'details',
  'category',
  'location',
  'partId',
  'partNumber',
  // The doc's own create example sends `partName` (reference §7.9).
  'partName',
  'customFieldsPart',
]);
const PART_READ_ONLY_FIELDS = new Set(['id', 'createdAt', 'updatedAt', 'createdByUser', 'files']);
const PART_FILTERS = new Set(['name', 'category', 'location', 'partId', 'partNumber', 'createdByUser']);
const PART_DATE_FIELDS = ['createdAt', 'updatedAt'];

const PART_KEYS: KeySchema = {
  required: 'name',
  fields: PART_FIELDS,
  readOnly: PART_READ_ONLY_FIELDS,
};

const partSpec = fieldSpec<SimPart>(PART_FILTERS, PART_DATE_FIELDS, {
  extraKey: (key) => /^customFieldsPart\[(name|value|unit)\]$/.test(key),
  // Parts sharing an updatedAt millisecond keep one order across pages.
  tieKey: (part) => part.id,
});

export const findPart = (world: UpKeepWorld, id: string | undefined): SimPart => {
  const part = world.parts.find((p) => p.id === id);
  if (!part) throw new ApiError(404, `Part not found: ${id ?? ''}`);
  return part;
};

/** The same in create, PATCH and GET responses: numbers as strings, the number as `partName`. */
export function renderPart(part: SimPart) {
  return {
    ...structuredClone(part.extra),
    id: part.id,
    name: part.name,
    description: part.description,
    cost: part.cost === null ? null : part.cost.toFixed(2),
    quantity: part.quantity === null ? null : String(part.quantity),
    minimumQuantity: part.minimumQuantity === null ? null : String(part.minimumQuantity),
    partId: part.partId,
    partName: part.partNumber,
    serial: part.serial,
    area: part.area,
    details: part.details,
    category: part.category,
    location: part.location,
    createdByUser: part.createdByUser,
    createdAt: part.createdAt,
    updatedAt: part.updatedAt,
  };
}

function applyPartFields(part: SimPart, body: Record<string, unknown>): void {
  applyBody(
    part,
    body,
    {
      name: (value) => {
        part.name = requiredString('name', value);
      },
      ...sameSetter(['quantity', 'cost', 'minimumQuantity'], (value, field) => {
        part[field] = checkNumber(field, value, true);
      }),
      ...sameSetter(['partName', 'partNumber'], (value, field) => {
        part.partNumber = checkString(field, value, true);
      }),
      ...sameSetter(
        ['description', 'partId', 'serial', 'area', 'details', 'category', 'location'],
        (value, field) => {
          part[field] = checkString(field, value, true);
        },
      ),
    },
    (field, value) => {
      if (field === 'customFieldsPart') checkCustomFields(field, value);
    },
  );
}

function newPart(world: UpKeepWorld, body: Record<string, unknown>, id: string): SimPart {
  checkKeys(body, 'create', PART_KEYS);
  const now = nowIso(world);
  const part: SimPart = {
    id,
    name: '',
    description: null,
    cost: null,
    quantity: null,
    minimumQuantity: null,
    partNumber: null,
    partId: null,
    serial: null,
    area: null,
    details: null,
    category: null,
    location: null,
    createdByUser: SIM_USER,
    extra: {},
    createdAt: now,
    updatedAt: now,
  };
  applyPartFields(part, body);
  return part;
}

/**
 * Ids of a parts list, kept up to date as the list grows by appends (a delete or a reset makes a new
 * list): a seeded catalogue of 100,000 parts added in many bulk calls stays linear.
 */
const partIds = new WeakMap<SimPart[], { count: number; ids: Set<string> }>();
function idsOf(parts: SimPart[]): Set<string> {
  let known = partIds.get(parts);
  if (!known || known.count > parts.length) {
    known = { count: 0, ids: new Set() };
    partIds.set(parts, known);
  }
  for (let i = known.count; i < parts.length; i++) known.ids.add((parts[i] as SimPart).id);
  known.count = parts.length;
  return known.ids;
}

/** All or nothing: every entry is checked before any is added; all get the clock's current time. */
export function addParts(world: UpKeepWorld, list: readonly SimPartInput[]): SimPart[] {
  if (!Array.isArray(list)) throw bad('parts must be an array');
  const existing = idsOf(world.parts);
  // The new ids on their own: entries are all checked before any is added.
  const ids = new Set<string>();
  const created = list.map((input: unknown, i) => {
    if (!isObject(input)) throw bad(`parts[${i}] must be an object`);
    const { id, ...fields } = input;
    if (id !== undefined && (typeof id !== 'string' || id === '')) {
      throw bad(`parts[${i}].id must be a non-empty String`);
    }
    const partId = (id as string | undefined) ?? upkeepId();
    if (existing.has(partId) || ids.has(partId)) throw bad(`parts[${i}]: part ${partId} already exists`);
    ids.add(partId);
    try {
      return newPart(world, fields, partId);
    } catch (error) {
      if (error instanceof ApiError) throw bad(`parts[${i}]: ${error.message}`);
      throw error;
    }
  });
  // Not push(...created): a spread of 100,000 arguments overflows the stack.
  for (const part of created) world.parts.push(part);
  return created;
}

/** Stock moves outside the API (the floor uses or receives parts); updatedAt moves with them. */
export function adjustStock(
  world: UpKeepWorld,
  id: string | undefined,
  direction: 1 | -1,
  quantity: unknown,
): SimPart {
  const part = findPart(world, id);
  if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity <= 0) {
    throw bad('quantity must be a positive Number');
  }
  // A part without a quantity on hand has none to consume; a restock gives it one.
  const current = part.quantity ?? 0;
  const next = current + direction * quantity;
  if (next < 0)
    throw bad(`not enough stock: part ${part.id} has ${part.quantity}, cannot consume ${quantity}`);
  part.quantity = next;
  part.updatedAt = nowIso(world);
  return part;
}

export function partRoutes(world: UpKeepWorld): Route[] {
  return [
    api(world, 'POST', '/parts', (req) => {
      const part = newPart(world, jsonObjectBody(req), upkeepId());
      world.parts.push(part);
      return json(200, { success: true, result: renderPart(part) });
    }),

    listRoute(world, '/parts', partSpec, () => world.parts, renderPart),

    api(world, 'GET', '/parts/:id', (req) =>
      json(200, { success: true, result: renderPart(findPart(world, req.params.id)) }),
    ),

    api(world, 'PATCH', '/parts/:id', (req) => {
      const part = findPart(world, req.params.id);
      const body = jsonObjectBody(req);
      checkKeys(body, 'patch', PART_KEYS);
      updateOnCopy(world, part, (draft) => applyPartFields(draft, body));
      return json(200, { success: true, result: renderPart(part) });
    }),

    api(world, 'DELETE', '/parts/:id', (req) => {
      const part = findPart(world, req.params.id);
      world.parts = world.parts.filter((p) => p !== part);
      return json(200, { success: true, message: '1 part deleted' });
    }),
  ];
}
