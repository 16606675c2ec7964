/**
 * Work orders: create (API and the app-user control route), list, get with update items, PATCH,
 * update messages and delete; each write sends its webhook.
 */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { UPKEEP_UPDATE_ITEMS } from '../client.ts';
import { checkAsset } from './assets.ts';
import { ApiError, bad } from './errors.ts';
import { applyBody, sameSetter } from './fields.ts';
import { includesOf, type ListSpec, listRouteByRequest, stringField } from './listing.ts';
import { api, jsonObjectBody, requestBody } from './routing.ts';
import { nowIso, type UpKeepWorld, updateOnCopy, upkeepId } from './state.ts';
import type { SimWorkOrder } from './types.ts';
import {
  checkKeys,
  checkMs,
  checkPriority,
  checkRequired,
  checkString,
  checkWorkOrderExtra,
  isObject,
  type KeySchema,
  requiredString,
  utcMs,
  WO_IMAGE_FIELDS,
} from './validation.ts';
import { deliverWebhook } from './webhooks.ts';

const WO_CREATE_FIELDS = new Set([
  'title',
  'description',
  'priority',
  'category',
  'startDate',
  'dueDate',
  'asset',
  'location',
  ...WO_IMAGE_FIELDS,
  'files',
  'formTemplate',
  'formItems',
  'assignedToUser',
  'estimatedDurationInHours',
  'parts',
  'respectivePartQuantityUsed',
  'decreaseInventory',
  'time',
  'cost',
  'additionalUsers',
  'customWOStatusId',
]);
const WO_PATCH_ONLY_FIELDS = new Set(['status', 'archivedStatus', 'additionalCosts']);
/** Response fields a PATCH may not set. */
const WO_READ_ONLY_FIELDS = new Set([
  'id',
  'objectId',
  'workOrderNo',
  'createdAt',
  'updatedAt',
  'dateCompleted',
  'completedByUser',
  'assignedByUser',
  'createdByUser',
]);
const WO_STATUSES = ['open', 'onHold', 'inProgress', 'complete'];
const WO_FILTERS = new Set([
  'title',
  'isComplete',
  'status',
  'archivedStatus',
  'priority',
  'location',
  'asset',
  'assignedToUser',
  'assignedByUser',
  'category',
  'publicRequesterEmail',
  'customWOStatusId',
]);
const WO_DATE_FIELDS = ['dueDate', 'endDueDate', 'dateCompleted', 'createdAt', 'updatedAt'];
const WO_ORDER_FIELDS = ['createdAt', 'updatedAt', 'dueDate', 'endDueDate', 'dateCompleted'];

const WO_KEYS: KeySchema = {
  required: 'title',
  fields: WO_CREATE_FIELDS,
  patchOnly: WO_PATCH_ONLY_FIELDS,
  readOnly: WO_READ_ONLY_FIELDS,
};

/** `POST /work-orders`, for the API and for the control route that plays a user of UpKeep's app. */
export function createWorkOrder(world: UpKeepWorld, body: unknown) {
  if (!isObject(body)) throw bad('Request body must be a JSON object');
  checkKeys(body, 'create', WO_KEYS);
  const now = nowIso(world);
  world.woCounter++;
  const wo: SimWorkOrder = {
    id: upkeepId(),
    workOrderNo: String(world.woCounter).padStart(3, '0'),
    title: '',
    description: null,
    priority: null,
    category: null,
    status: 'open',
    asset: null,
    location: null,
    assignedToUser: null,
    startDate: null,
    dueDate: null,
    dateCompleted: null,
    archivedStatus: '0',
    time: null,
    cost: null,
    extra: {},
    createdAt: now,
    updatedAt: now,
  };
  applyFields(world, wo, body, 'create');
  world.workOrders.push(wo);
  deliverWebhook(world, 'WORK_ORDER_CREATED', wo.id, renderWorkOrder(world, wo, 'read'));
  return renderWorkOrder(world, wo, 'create');
}

/**
 * A work order's update messages as the single GET shows them: ids (the doc's example), or, with
 * `includes=arrayOfUpdateItems`, objects `{id, text, createdAt}`: the connector's NAMED ASSUMPTION
 * UPKEEP_UPDATE_ITEMS (the doc never shows an expanded item).
 */
function updateItemsOf(world: UpKeepWorld, wo: SimWorkOrder, includes: Set<string>) {
  return world.updateMessages
    .map((m, index) => ({ ...m, id: m.id ?? `UpdItem${String(index).padStart(6, '0')}` }))
    .filter((m) => m.workOrderId === wo.id)
    .map((m) =>
      includes.has(UPKEEP_UPDATE_ITEMS.include) ? { id: m.id, text: m.text, createdAt: m.createdAt } : m.id,
    );
}

/**
 * `create` = the create response (numbers as numbers, doc example `"priority": 1`); `read` = GET
 * and the PATCH response (numbers as strings: the doc's PATCH example shows `"priority": "1"`).
 */
function renderWorkOrder(
  world: UpKeepWorld,
  wo: SimWorkOrder,
  mode: 'read' | 'create',
  includes: Set<string> = new Set(),
) {
  const asNum = (n: number | null) => (n === null ? null : mode === 'read' ? String(n) : n);
  const asset =
    wo.asset && includes.has('asset') ? (world.assets.find((a) => a.id === wo.asset) ?? wo.asset) : wo.asset;
  return {
    ...structuredClone(wo.extra),
    id: wo.id,
    workOrderNo: wo.workOrderNo,
    title: wo.title,
    description: wo.description,
    status: wo.status,
    priority: asNum(wo.priority),
    category: wo.category,
    asset,
    location: wo.location,
    assignedToUser: wo.assignedToUser,
    startDate: wo.startDate,
    dueDate: wo.dueDate,
    dateCompleted: wo.dateCompleted,
    archivedStatus: wo.archivedStatus,
    time: wo.time === null ? null : String(wo.time),
    cost: wo.cost === null ? null : String(wo.cost),
    createdAt: wo.createdAt,
    updatedAt: wo.updatedAt,
  };
}

/** A status set through PATCH (a create may not set one); returns whether it changed. */
function setStatus(world: UpKeepWorld, wo: SimWorkOrder, value: unknown, mode: 'create' | 'patch'): boolean {
  if (mode === 'create') throw bad('status not in schema');
  if (typeof value !== 'string' || !WO_STATUSES.includes(value)) {
    throw bad(`status must be one of ${WO_STATUSES.join(', ')}`);
  }
  if (wo.status === value) return false;
  wo.status = value;
  wo.dateCompleted = value === 'complete' ? nowIso(world) : null;
  return true;
}

/** Apply the documented work-order fields of `body` to `wo`; returns whether status changed. */
function applyFields(
  world: UpKeepWorld,
  wo: SimWorkOrder,
  body: Record<string, unknown>,
  mode: 'create' | 'patch',
): boolean {
  let statusChanged = false;
  applyBody(
    wo,
    body,
    {
      title: (value) => {
        wo.title = requiredString('title', value);
      },
      ...sameSetter(['description', 'category', 'location', 'assignedToUser'], (value, field) => {
        wo[field] = checkString(field, value, true);
      }),
      priority: (value) => {
        wo.priority = checkPriority(value);
      },
      asset: (value) => {
        wo.asset = checkAsset(world, value);
      },
      ...sameSetter(['startDate', 'dueDate'], (value, field) => {
        wo[field] = checkMs(field, value);
      }),
      ...sameSetter(['time', 'cost'], (value, field) => {
        if (value !== null && (typeof value !== 'number' || !Number.isFinite(value)))
          throw bad(`${field} must be a Number`);
        wo[field] = value as number | null;
      }),
      status: (value) => {
        statusChanged = setStatus(world, wo, value, mode) || statusChanged;
      },
      archivedStatus: (value) => {
        if (value !== '0' && value !== '1') throw bad('archivedStatus must be "0" or "1"');
        wo.archivedStatus = value;
      },
    },
    checkWorkOrderExtra,
  );
  return statusChanged;
}

const woSpec: ListSpec<SimWorkOrder> = {
  filters: WO_FILTERS,
  dateFields: WO_DATE_FIELDS,
  orderFields: WO_ORDER_FIELDS,
  value(wo, key) {
    switch (key) {
      case 'isComplete':
        return wo.status === 'complete' ? '1' : '0';
      case 'priority':
        return wo.priority === null ? undefined : String(wo.priority);
      case 'title':
      case 'status':
      case 'archivedStatus':
      case 'location':
      case 'asset':
      case 'assignedToUser':
      case 'category':
        return wo[key] ?? undefined;
      default:
        return stringField(wo.extra, key);
    }
  },
  date(wo, field) {
    const v =
      field === 'endDueDate' ? wo.extra.endDueDate : (wo as unknown as Record<string, unknown>)[field];
    return typeof v === 'string' ? utcMs(v) : undefined;
  },
};

const findWorkOrder = (world: UpKeepWorld, id: string | undefined): SimWorkOrder => {
  const wo = world.workOrders.find((w) => w.id === id);
  if (!wo) throw new ApiError(404, 'Work order not found');
  return wo;
};

export function workOrderRoutes(world: UpKeepWorld): Route[] {
  return [
    api(world, 'POST', '/work-orders', (req) =>
      json(200, { success: true, result: createWorkOrder(world, req.json) }),
    ),

    listRouteByRequest(
      world,
      '/work-orders',
      woSpec,
      () => world.workOrders,
      (req) => {
        const includes = includesOf(req);
        return (wo) => renderWorkOrder(world, wo, 'read', includes);
      },
    ),

    api(world, 'GET', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(world, req.params.id);
      const includes = includesOf(req);
      return json(200, {
        success: true,
        result: {
          ...renderWorkOrder(world, wo, 'read', includes),
          arrayOfUpdateItems: updateItemsOf(world, wo, includes),
        },
      });
    }),

    api(world, 'PATCH', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(world, req.params.id);
      const body = jsonObjectBody(req);
      checkKeys(body, 'patch', WO_KEYS);
      const statusChanged = updateOnCopy(world, wo, (draft) => applyFields(world, draft, body, 'patch'));
      deliverWebhook(world, 'WORK_ORDER_UPDATED', wo.id, renderWorkOrder(world, wo, 'read'));
      if (statusChanged) {
        deliverWebhook(world, 'WORK_ORDER_STATUS_UPDATED', wo.id, renderWorkOrder(world, wo, 'read'));
      }
      return json(200, { success: true, result: renderWorkOrder(world, wo, 'read') });
    }),

    api(world, 'POST', '/work-orders/:id/update-messages', (req) => {
      const wo = findWorkOrder(world, req.params.id);
      // The doc's curl sends a form (`-d text="New message"`); JSON is accepted too.
      const body = requestBody(req);
      checkRequired(body, 'text');
      if (typeof body.text !== 'string') throw bad('text must be a String');
      const unknown = Object.keys(body).filter((k) => k !== 'text');
      if (unknown.length > 0) throw bad(`${unknown[0]} not in schema`); // api-doc.txt Errors: "{field} not in schema"
      world.updateMessages.push({
        id: upkeepId(),
        workOrderId: wo.id,
        text: body.text,
        createdAt: nowIso(world),
      });
      return json(200, { success: true, message: '1 message Added' });
    }),

    api(world, 'DELETE', '/work-orders/:id', (req) => {
      const wo = findWorkOrder(world, req.params.id);
      world.workOrders = world.workOrders.filter((w) => w !== wo);
      deliverWebhook(world, 'WORK_ORDER_DELETED', wo.id, renderWorkOrder(world, wo, 'read'));
      return json(200, { success: true, message: '1 work order deleted' });
    }),
  ];
}
