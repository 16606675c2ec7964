/**
 * Parts: the list and single GET (reference §3.5), the documented stock actions (`restock {quantity,
 * cost, note}`, `reconcile {quantity (delta), note}`), and the control API's stock changes. Every
 * stock change is kept as a part transaction.
 */
import type { Route, SimRequest, SimResponse } from '../../../../sandbox/simulators/server.ts';
import { entityOf } from './entities.ts';
import { entityListRoute, type ListSpec } from './lists.ts';
import { api } from './pipeline.ts';
import type { SimEntity, SimPart, SimPartInput } from './records.ts';
import { one, type Row, SimulatorInputError, unprocessable } from './responses.ts';
import { type ClickMaintWorld, nowStamp } from './state.ts';
import { decimals, isNumber, isObject, quantityOf } from './validation.ts';

const PART_SPEC: ListSpec = {
  fields: [
    'id',
    'name',
    'number',
    'description',
    'area',
    'is_non_stock',
    'on_hand_qty',
    'min_qty',
    'desired_qty',
    'available',
    'unit_cost',
    'created_at',
    'updated_at',
  ],
  defaultSort: 'name asc',
  searchFields: ['name', 'number', 'description'],
};

/** List items have no `reserved` (reference §3.5); the single GET has it. */
export const renderPart = (p: SimPart, view: 'list' | 'show'): Row => ({
  id: p.id,
  name: p.name,
  description: p.description,
  is_non_stock: p.is_non_stock,
  number: p.number,
  area: p.area,
  lead_time: null,
  on_hand_qty: p.on_hand_qty,
  min_qty: p.min_qty,
  desired_qty: p.desired_qty,
  unit_cost: p.unit_cost,
  avg_unit_cost: p.avg_unit_cost,
  available: p.is_non_stock ? null : round3(p.on_hand_qty - p.reserved),
  ...(view === 'show' ? { reserved: p.reserved } : {}),
  part_type: null,
  storeroom: null,
  measurement_unit: { id: 2, name: 'Item', ...(view === 'show' ? { short_name: 'itm' } : {}) },
  created_at: p.created_at,
  updated_at: p.updated_at,
});

/** Create parts in an entity, all stamped with the clock's current second; throws on bad input. */
/**
 * Ids (and the largest) of a parts list, kept up to date as it grows by appends (a delete or a reset
 * makes a new list): a seeded catalogue of 100,000 parts stays linear.
 */
const partIds = new WeakMap<SimPart[], { count: number; ids: Set<number>; max: number }>();
function idsOf(parts: SimPart[]) {
  let known = partIds.get(parts);
  if (!known || known.count > parts.length) {
    known = { count: 0, ids: new Set(), max: 100 };
    partIds.set(parts, known);
  }
  for (let i = known.count; i < parts.length; i++) {
    const id = (parts[i] as SimPart).id;
    known.ids.add(id);
    known.max = Math.max(known.max, id);
  }
  known.count = parts.length;
  return known;
}

export function addParts(world: ClickMaintWorld, entityId: number, list: readonly SimPartInput[]): SimPart[] {
  entityOf(world, entityId);
  const stamp = nowStamp(world);
  const created: SimPart[] = [];
  for (const input of list) {
    if (!isObject(input) || typeof input.name !== 'string' || input.name.trim() === '') {
      throw new SimulatorInputError(400, 'each part needs a name');
    }
    const known = idsOf(world.parts);
    const id = input.id ?? known.max + 1;
    if (!Number.isInteger(id) || id < 1 || known.ids.has(id)) {
      throw new SimulatorInputError(400, `part id ${String(id)} is invalid or taken`);
    }
    const nonStock = input.is_non_stock === true;
    const part: SimPart = {
      id,
      entityId,
      name: input.name,
      description: input.description ?? null,
      number: input.number ?? null,
      area: input.area ?? null,
      is_non_stock: nonStock,
      on_hand_qty: nonStock ? 0 : (input.on_hand_qty ?? 0),
      min_qty: nonStock ? null : (input.min_qty ?? null),
      desired_qty: nonStock ? null : (input.desired_qty ?? null),
      reserved: input.reserved ?? 0,
      unit_cost: input.unit_cost ?? null,
      avg_unit_cost: input.unit_cost ?? null,
      created_at: stamp,
      updated_at: stamp,
    };
    world.parts.push(part);
    created.push(part);
  }
  return created;
}

const findPart = (world: ClickMaintWorld, id: number, entityId?: number): SimPart => {
  const part = world.parts.find((p) => p.id === id && (entityId === undefined || p.entityId === entityId));
  if (!part) throw new SimulatorInputError(404, 'Part not found');
  return part;
};

function recordTransaction(
  world: ClickMaintWorld,
  part: SimPart,
  type: string,
  quantity: number,
  cost: number | null,
  note: string | null,
) {
  world.transactions.push({
    id: ++world.txCounter,
    partId: part.id,
    entityId: part.entityId,
    type,
    quantity,
    cost,
    note,
    created_at: part.updated_at,
  });
}

/** Control-API stock change (work on the floor, a delivery); bumps updated_at. */
export function adjust(world: ClickMaintWorld, id: number, sign: 1 | -1, quantity: unknown): SimPart {
  const part = findPart(world, id);
  if (!isNumber(quantity) || quantity <= 0)
    throw new SimulatorInputError(400, 'quantity must be a number > 0');
  if (part.is_non_stock) throw new SimulatorInputError(409, `part ${id} is non-stock`);
  const next = round3(part.on_hand_qty + sign * quantity);
  if (next < 0) throw new SimulatorInputError(409, `part ${id} has only ${part.on_hand_qty} on hand`);
  part.on_hand_qty = next;
  part.updated_at = nowStamp(world);
  recordTransaction(world, part, sign < 0 ? 'consume' : 'control_restock', sign * quantity, null, null);
  return part;
}

function partAction(
  world: ClickMaintWorld,
  req: SimRequest,
  entity: SimEntity,
  kind: 'restock' | 'reconcile',
): SimResponse {
  const part = findPart(world, Number(req.params.id), entity.id);
  const body = isObject(req.json) ? req.json : {};
  if (part.is_non_stock) throw unprocessable('Part is non-stock');
  if (kind === 'restock') {
    const quantity = quantityOf(body, { nonZero: false });
    const cost = body.cost;
    if (cost === undefined || cost === null) throw unprocessable("Cost can't be blank");
    if (!isNumber(cost) || cost < 0) throw unprocessable('Cost must be greater than or equal to 0');
    if (decimals(cost) > 2) throw unprocessable('Cost must have at most 2 decimal places');
    // `note` is an optional string ("note | string").
    if (body.note !== undefined && body.note !== null && typeof body.note !== 'string')
      throw unprocessable('Note must be a string');
    const note = typeof body.note === 'string' ? body.note : null;
    const before = part.on_hand_qty;
    part.on_hand_qty = round3(before + quantity);
    const avg = part.avg_unit_cost ?? cost;
    part.avg_unit_cost =
      part.on_hand_qty > 0 ? round2((avg * before + cost * quantity) / part.on_hand_qty) : cost;
    part.unit_cost = cost;
    part.updated_at = nowStamp(world);
    recordTransaction(world, part, 'restock', quantity, cost, note);
  } else {
    const quantity = quantityOf(body, { nonZero: true });
    if (typeof body.note !== 'string' || body.note.trim() === '') throw unprocessable("Note can't be blank");
    const next = round3(part.on_hand_qty + quantity);
    if (next < 0) throw unprocessable('Quantity would make the on-hand quantity negative');
    part.on_hand_qty = next;
    part.updated_at = nowStamp(world);
    recordTransaction(world, part, 'reconcile', quantity, null, body.note);
  }
  return one(entity, renderPart(part, 'show'));
}

export function partRoutes(world: ClickMaintWorld): Route[] {
  return [
    entityListRoute(
      world,
      '/parts',
      PART_SPEC,
      () => world.parts,
      (p) => renderPart(p, 'list'),
    ),
    api(world, 'GET', '/parts/:id', (req, entity) =>
      one(entity, renderPart(findPart(world, Number(req.params.id), entity.id), 'show')),
    ),
    api(world, 'PATCH', '/parts/:id/restock', (req, entity) => partAction(world, req, entity, 'restock')),
    api(world, 'PATCH', '/parts/:id/reconcile', (req, entity) => partAction(world, req, entity, 'reconcile')),
  ];
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
