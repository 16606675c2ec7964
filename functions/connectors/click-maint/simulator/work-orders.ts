/**
 * Work orders: list, single GET, create (201) and update, with wrapped bodies (`{work_order: {...}}`).
 * Statuses 1 open, 2 on_hold, 3 in_progress, 5 completed (`status_id` writes); `completed_at` is set
 * when the status becomes 5 (unless given) and cleared when it leaves 5.
 */
import type { Route } from '../../../../sandbox/simulators/server.ts';
import { entityListRoute, type ListSpec } from './lists.ts';
import { api } from './pipeline.ts';
import {
  CLICK_MAINT_SIM_COMPLETED_STATUS,
  CLICK_MAINT_SIM_STATUSES,
  type SimEntity,
  type SimWorkOrder,
} from './records.ts';
import { one, type Row, SimulatorInputError, unprocessable } from './responses.ts';
import { type ClickMaintWorld, isoSeconds, nowStamp } from './state.ts';
import { checkWorkOrderExtra, wrapped } from './validation.ts';

const PRIORITIES = ['none', 'low', 'medium', 'high'];

const WO_EXTRA_FIELDS = [
  'work_order_request_id',
  'location_id',
  'categories_ids',
  'account_codes_ids',
  'procedure_template_ids',
  'technicians_ids',
  'vendors_ids',
  'notify_vendors_on_create',
  'notify_vendors_on_update',
  'checklist',
];

const WO_SPEC: ListSpec = {
  fields: [
    'id',
    'title',
    'description',
    'priority',
    'type',
    'status_id',
    'due_date',
    'completed_at',
    'created_at',
    'updated_at',
  ],
  defaultSort: 'created_at desc',
  searchFields: ['title', 'description'],
};

const renderWorkOrder = (world: ClickMaintWorld, wo: SimWorkOrder): Row => {
  const asset = wo.asset_id === null ? undefined : world.assets.find((a) => a.id === wo.asset_id);
  return {
    id: wo.id,
    title: wo.title,
    description: wo.description,
    priority: wo.priority,
    type: wo.type,
    pm_schedule_id: null,
    status: {
      id: wo.status_id,
      name: CLICK_MAINT_SIM_STATUSES[wo.status_id] ?? 'unknown',
      is_custom: false,
    },
    // Filterable scalar (Ransack filters on columns, `filter[status_id_eq]`).
    status_id: wo.status_id,
    asset: asset ? { id: asset.id, name: asset.name, status: asset.status } : null,
    location: null,
    categories: [],
    technicians: [],
    due_date: wo.due_date,
    completed_at: wo.completed_at,
    created_at: wo.created_at,
    updated_at: wo.updated_at,
    created_by: { id: 7, name: 'Millwright', surname: 'API' },
    updated_by: { id: 7, name: 'Millwright', surname: 'API' },
  };
};

function applyWorkOrder(
  world: ClickMaintWorld,
  wo: SimWorkOrder,
  body: Record<string, unknown>,
  creating: boolean,
): void {
  if ('title' in body || creating) {
    if (typeof body.title !== 'string' || body.title.trim() === '')
      throw unprocessable("Title can't be blank");
    wo.title = body.title;
  }
  if ('description' in body) {
    // A string in every doc sample ("description": "Water leakage ...", api-doc.txt:2868, 3310);
    // null clears it, as with the other work-order fields.
    if (body.description !== null && typeof body.description !== 'string')
      throw unprocessable('Description must be a string');
    wo.description = body.description;
  }
  if ('priority' in body) {
    if (typeof body.priority !== 'string' || !PRIORITIES.includes(body.priority)) {
      throw unprocessable('Priority is not included in the list');
    }
    wo.priority = body.priority;
  }
  if (creating && 'type' in body) {
    if (typeof body.type !== 'string' || body.type === '')
      throw unprocessable('Type is not included in the list');
    wo.type = body.type;
  }
  for (const field of ['due_date', 'completed_at'] as const) {
    if (!(field in body)) continue;
    const value = body[field];
    if (value !== null && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
      throw unprocessable(`${field} is not a valid date-time`);
    }
    wo[field] = value === null ? null : isoSeconds(new Date(value as string));
  }
  if ('asset_id' in body) {
    if (body.asset_id === null) wo.asset_id = null;
    else if (!world.assets.some((a) => a.id === body.asset_id && a.entityId === wo.entityId)) {
      throw unprocessable('Asset must exist');
    } else wo.asset_id = body.asset_id as number;
  }
  if ('status_id' in body) {
    const statusId = body.status_id;
    if (typeof statusId !== 'number' || !(statusId in CLICK_MAINT_SIM_STATUSES)) {
      throw unprocessable('Status must exist');
    }
    wo.status_id = statusId;
  }
  if (wo.status_id === CLICK_MAINT_SIM_COMPLETED_STATUS) {
    if (!('completed_at' in body) && wo.completed_at === null) wo.completed_at = nowStamp(world);
  } else if ('status_id' in body && !('completed_at' in body)) {
    wo.completed_at = null;
  }
  for (const field of WO_EXTRA_FIELDS) {
    if (!(field in body)) continue;
    checkWorkOrderExtra(field, body[field]);
    wo.extra[field] = body[field];
  }
}

const findWorkOrder = (world: ClickMaintWorld, entity: SimEntity, id: string): SimWorkOrder => {
  const wo = world.workOrders.find((w) => String(w.id) === id && w.entityId === entity.id);
  if (!wo) throw new SimulatorInputError(404, 'Work order not found');
  return wo;
};

export function workOrderRoutes(world: ClickMaintWorld): Route[] {
  const render = (wo: SimWorkOrder) => renderWorkOrder(world, wo);
  return [
    entityListRoute(world, '/work_orders', WO_SPEC, () => world.workOrders, render),
    api(world, 'GET', '/work_orders/:id', (req, entity) =>
      one(entity, render(findWorkOrder(world, entity, req.params.id ?? ''))),
    ),
    api(world, 'POST', '/work_orders', (req, entity) => {
      const body = wrapped(req, 'work_order');
      const stamp = nowStamp(world);
      const wo: SimWorkOrder = {
        id: ++world.woCounter,
        entityId: entity.id,
        title: '',
        description: null,
        priority: 'none',
        type: 'reactive',
        status_id: 1,
        asset_id: null,
        due_date: null,
        completed_at: null,
        extra: {},
        created_at: stamp,
        updated_at: stamp,
      };
      applyWorkOrder(world, wo, body, true);
      world.workOrders.push(wo);
      return one(entity, render(wo), 201);
    }),
    api(world, 'PATCH', '/work_orders/:id', (req, entity) => {
      const wo = findWorkOrder(world, entity, req.params.id ?? '');
      const body = wrapped(req, 'work_order');
      const draft: SimWorkOrder = structuredClone(wo);
      applyWorkOrder(world, draft, body, false);
      draft.updated_at = nowStamp(world);
      Object.assign(wo, draft);
      return one(entity, render(wo));
    }),
  ];
}
