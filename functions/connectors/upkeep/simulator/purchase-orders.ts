/**
 * Purchase orders (reference §3.8): create, list, get, PATCH (status changes and partial fulfilment
 * with the documented messages) and delete; each write sends its webhook.
 */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { ApiError, bad } from './errors.ts';
import { applyBody, ignoreField, sameSetter } from './fields.ts';
import { fieldSpec, listRoute } from './listing.ts';
import { api, jsonObjectBody } from './routing.ts';
import { nowIso, SIM_USER, type UpKeepWorld, updateOnCopy, upkeepId } from './state.ts';
import type { SimPurchaseOrder, SimPurchaseOrderLine } from './types.ts';
import {
  checkCustomFields,
  checkDateString,
  checkKeys,
  checkNumber,
  checkString,
  isObject,
  type KeySchema,
  requiredString,
} from './validation.ts';
import { deliverWebhook } from './webhooks.ts';

const PO_COMPANY_FIELDS = ['Name', 'Slogan', 'Street', 'City', 'State', 'Zip', 'Phone', 'Fax'].map(
  (f) => `company${f}`,
);
const PO_SHIPPING_FIELDS = ['Name', 'Company', 'Street', 'City', 'State', 'Zip', 'Phone', 'Fax'].map(
  (f) => `shipping${f}`,
);
const PO_FIELDS = new Set([
  'title',
  'purchaseOrderNumber',
  'parts',
  'vendor',
  'description',
  'category',
  'dueDate',
  'poDate',
  'tax',
  'shippingCost',
  'otherCost',
  'requisitioner',
  'shippingMethod',
  'fobPoint',
  'terms',
  'notes',
  ...PO_COMPANY_FIELDS,
  ...PO_SHIPPING_FIELDS,
  'customFieldsPO',
]);
const PO_PATCH_ONLY_FIELDS = new Set(['status', 'statusAction', 'partsReceived']);
const PO_READ_ONLY_FIELDS = new Set([
  'id',
  'createdAt',
  'updatedAt',
  'createdByUser',
  'partQuantities',
  'partsPendingQuantities',
  'partialFulfillHistory',
  'totalQuantity',
  'totalCost',
  'approvedAt',
  'declinedAt',
  'fulfilledAt',
  'fulfilledByUser',
]);
const PO_STATUSES = ['awaiting', 'approved', 'declined', 'fulfilled'];
const PO_NUMBER_FIELDS = new Set(['tax', 'shippingCost', 'otherCost']);
const PO_FILTERS = new Set(['title', 'status', 'vendor', 'category', 'createdByUser']);
const PO_DATE_FIELDS = [
  'dueDate',
  'poDate',
  'fulfilledAt',
  'approvedAt',
  'declinedAt',
  'createdAt',
  'updatedAt',
];

const PO_KEYS: KeySchema = {
  required: 'title',
  fields: PO_FIELDS,
  patchOnly: PO_PATCH_ONLY_FIELDS,
  readOnly: PO_READ_ONLY_FIELDS,
};

const poSpec = fieldSpec<SimPurchaseOrder>(PO_FILTERS, PO_DATE_FIELDS, {
  extraKey: (key) => /^customFieldsPO\[(name|value|unit)\]$/.test(key),
  tieKey: (po) => po.id,
});

const findPurchaseOrder = (world: UpKeepWorld, id: string | undefined): SimPurchaseOrder => {
  const po = world.purchaseOrders.find((p) => p.id === id);
  if (!po) throw new ApiError(404, 'Purchase order not found');
  return po;
};

/** `full` = create, PATCH and single GET; the list omits `parts`/`partQuantities` (reference §3.8). */
function renderPurchaseOrder(world: UpKeepWorld, po: SimPurchaseOrder, mode: 'full' | 'list') {
  const totalQuantity = po.parts.reduce((sum, l) => sum + l.quantity, 0);
  const totalCost = po.parts.reduce(
    (sum, l) => sum + l.quantity * (world.parts.find((p) => p.id === l.id)?.cost ?? 0),
    0,
  );
  const stamps = Object.fromEntries(
    (['approvedAt', 'declinedAt', 'fulfilledAt', 'fulfilledByUser'] as const)
      .filter((k) => po[k] !== null)
      .map((k) => [k, po[k]]),
  );
  return {
    ...structuredClone(po.extra),
    id: po.id,
    createdByUser: po.createdByUser,
    title: po.title,
    description: po.description,
    status: po.status,
    ...stamps,
    poDate: po.poDate,
    dueDate: po.dueDate,
    vendor: po.vendor,
    ...(mode === 'full'
      ? {
          parts: po.parts.map((l) => l.id),
          partQuantities: po.parts.map((l) => l.quantity),
          partialFulfillHistory: structuredClone(po.partialFulfillHistory),
        }
      : {}),
    partsPendingQuantities: { ...po.partsPendingQuantities },
    totalQuantity,
    totalCost: Math.round(totalCost * 100) / 100,
    notes: po.notes,
    purchaseOrderNumber: po.purchaseOrderNumber,
    category: po.category,
    createdAt: po.createdAt,
    updatedAt: po.updatedAt,
  };
}

function checkPurchaseOrderParts(world: UpKeepWorld, value: unknown): SimPurchaseOrderLine[] {
  if (!Array.isArray(value)) throw bad('parts must be an Array of objects with id and quantity');
  const seen = new Set<string>();
  return value.map((line: unknown, i) => {
    if (!isObject(line)) throw bad(`parts[${i}] must be an object with id and quantity`);
    for (const key of Object.keys(line)) {
      if (key !== 'id' && key !== 'quantity') throw bad(`parts[${i}].${key} not in schema`);
    }
    const { id, quantity } = line;
    if (typeof id !== 'string' || id === '') throw bad(`parts[${i}].id cannot be null`);
    if (!world.parts.some((p) => p.id === id)) throw bad(`parts[${i}].id: part ${id} not found`);
    if (seen.has(id)) throw bad(`parts[${i}].id: part ${id} is listed twice`);
    seen.add(id);
    if (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity <= 0) {
      throw bad(`parts[${i}].quantity must be a positive Number`);
    }
    return { id, quantity };
  });
}

/** A status set through PATCH, with the stamp it leaves. */
function setStatus(world: UpKeepWorld, po: SimPurchaseOrder, value: unknown): string | undefined {
  if (typeof value !== 'string' || !PO_STATUSES.includes(value)) {
    throw bad(`status must be one of ${PO_STATUSES.join(', ')}`);
  }
  if (po.status === value) return undefined;
  po.status = value;
  const now = nowIso(world);
  if (value === 'approved') po.approvedAt = now;
  if (value === 'declined') po.declinedAt = now;
  if (value === 'fulfilled') {
    // Whether fulfilment restocks the parts is undocumented (reference §7.45): it does not here.
    po.fulfilledAt = now;
    po.fulfilledByUser = SIM_USER;
  }
  return value;
}

/** The order's lines, and what of each is still pending after the receipts so far. */
function setLines(world: UpKeepWorld, po: SimPurchaseOrder, value: unknown): void {
  const lines = checkPurchaseOrderParts(world, value);
  const received = (id: string) =>
    po.partialFulfillHistory.reduce((sum, h) => sum + (h.received[id] ?? 0), 0);
  po.parts = lines;
  po.partsPendingQuantities = Object.fromEntries(
    lines.map((l) => [l.id, Math.max(0, l.quantity - received(l.id))]),
  );
}

function checkPurchaseOrderExtra(field: string, value: unknown): void {
  if (PO_NUMBER_FIELDS.has(field)) checkNumber(field, value, true);
  else if (field === 'customFieldsPO') checkCustomFields(field, value);
  else checkString(field, value, true);
}

/** Applies documented fields; returns the new status when it changed. */
function applyPurchaseOrderFields(
  world: UpKeepWorld,
  po: SimPurchaseOrder,
  body: Record<string, unknown>,
): string | undefined {
  let statusChanged: string | undefined;
  applyBody(
    po,
    body,
    {
      // Read by partiallyFulfil.
      statusAction: ignoreField,
      partsReceived: ignoreField,
      title: (value) => {
        po.title = requiredString('title', value);
      },
      ...sameSetter(['description', 'vendor', 'category', 'notes'], (value, field) => {
        po[field] = checkString(field, value, true);
      }),
      ...sameSetter(['dueDate', 'poDate'], (value, field) => {
        po[field] = checkDateString(field, value);
      }),
      purchaseOrderNumber: (value) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
          throw bad('purchaseOrderNumber must be a positive Number');
        }
        po.purchaseOrderNumber = value;
      },
      parts: (value) => setLines(world, po, value),
      status: (value) => {
        statusChanged = setStatus(world, po, value) ?? statusChanged;
      },
    },
    checkPurchaseOrderExtra,
  );
  return statusChanged;
}

/** `statusAction: partially-fulfilled` with `partsReceived`, and the doc's three 400 messages. */
function partiallyFulfil(world: UpKeepWorld, po: SimPurchaseOrder, body: Record<string, unknown>): void {
  if (body.statusAction !== 'partially-fulfilled') throw bad('statusAction must be partially-fulfilled');
  const received = body.partsReceived;
  const invalid = 'Invalid partial-fulfill values; should be valid positive numbers';
  if (!isObject(received) || Object.keys(received).length === 0) throw bad(invalid);
  for (const v of Object.values(received)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(invalid);
  }
  if (po.status !== 'approved' && po.status !== 'partially-fulfilled') {
    throw bad('Can partially-fulfill only if status is approved or partially-fulfilled.');
  }
  for (const [id, v] of Object.entries(received)) {
    const pending = po.partsPendingQuantities[id];
    if (pending === undefined || (v as number) > pending) {
      throw bad('Invalid partial-fulfillment values - should not be more than pending quantities');
    }
  }
  for (const [id, v] of Object.entries(received)) {
    po.partsPendingQuantities[id] = (po.partsPendingQuantities[id] ?? 0) - (v as number);
  }
  po.partialFulfillHistory.push({
    timestamp: nowIso(world),
    user: SIM_USER,
    received: structuredClone(received) as Record<string, number>,
  });
  const done = Object.values(po.partsPendingQuantities).every((n) => n === 0);
  po.status = done ? 'fulfilled' : 'partially-fulfilled';
  if (done) {
    po.fulfilledAt = nowIso(world);
    po.fulfilledByUser = SIM_USER;
  }
}

/** `POST /purchase-orders`: numbered from the account's sequence unless the body gives a number. */
function createPurchaseOrder(world: UpKeepWorld, body: Record<string, unknown>): SimPurchaseOrder {
  checkKeys(body, 'create', PO_KEYS);
  const now = nowIso(world);
  const po: SimPurchaseOrder = {
    id: upkeepId(),
    purchaseOrderNumber: 0,
    title: '',
    description: null,
    status: 'awaiting',
    vendor: null,
    category: null,
    dueDate: null,
    poDate: null,
    notes: null,
    parts: [],
    partsPendingQuantities: {},
    partialFulfillHistory: [],
    createdByUser: SIM_USER,
    approvedAt: null,
    declinedAt: null,
    fulfilledAt: null,
    fulfilledByUser: null,
    extra: {},
    createdAt: now,
    updatedAt: now,
  };
  applyPurchaseOrderFields(world, po, body);
  // A custom number does not move the account's sequence.
  if (body.purchaseOrderNumber === undefined) po.purchaseOrderNumber = ++world.poCounter;
  world.purchaseOrders.push(po);
  return po;
}

export function purchaseOrderRoutes(world: UpKeepWorld): Route[] {
  const renderListed = (po: SimPurchaseOrder) => renderPurchaseOrder(world, po, 'list');
  return [
    api(world, 'POST', '/purchase-orders', (req) => {
      const po = createPurchaseOrder(world, jsonObjectBody(req));
      deliverWebhook(world, 'PURCHASE_ORDER_CREATED', po.id, renderPurchaseOrder(world, po, 'full'));
      return json(200, { success: true, result: renderPurchaseOrder(world, po, 'full') });
    }),

    listRoute(world, '/purchase-orders', poSpec, () => world.purchaseOrders, renderListed),

    api(world, 'GET', '/purchase-orders/:id', (req) =>
      json(200, {
        success: true,
        result: renderPurchaseOrder(world, findPurchaseOrder(world, req.params.id), 'full'),
      }),
    ),

    api(world, 'PATCH', '/purchase-orders/:id', (req) => {
      const po = findPurchaseOrder(world, req.params.id);
      const body = jsonObjectBody(req);
      checkKeys(body, 'patch', PO_KEYS);
      const statusChanged = updateOnCopy(world, po, (draft) => {
        const changed = applyPurchaseOrderFields(world, draft, body);
        if (body.statusAction !== undefined || body.partsReceived !== undefined) {
          partiallyFulfil(world, draft, body);
        }
        return changed;
      });
      const record = renderPurchaseOrder(world, po, 'full');
      deliverWebhook(world, 'PURCHASE_ORDER_UPDATED', po.id, record);
      if (statusChanged === 'approved') deliverWebhook(world, 'PURCHASE_ORDER_APPROVED', po.id, record);
      if (statusChanged === 'declined') deliverWebhook(world, 'PURCHASE_ORDER_DECLINED', po.id, record);
      return json(200, { success: true, result: record });
    }),

    api(world, 'DELETE', '/purchase-orders/:id', (req) => {
      const po = findPurchaseOrder(world, req.params.id);
      world.purchaseOrders = world.purchaseOrders.filter((p) => p !== po);
      deliverWebhook(world, 'PURCHASE_ORDER_DELETED', po.id, renderPurchaseOrder(world, po, 'full'));
      return json(200, { success: true, message: '1 Purchase Order deleted' });
    }),
  ];
}
