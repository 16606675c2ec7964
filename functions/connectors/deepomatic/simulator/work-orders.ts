/** The work-order API (POST/GET/PATCH/DELETE under `/v0.2`, reference §1-§3). */
import {
  json,
  type Route,
  type SimRequest,
  type SimResponse,
} from '../../../../sandbox/simulators/server.ts';
import { authenticated } from './auth.ts';
import { DM_NOT_FOUND, DM_UNKNOWN_ENGINEER, simUuid, tasksOfType } from './catalogue.ts';
import type { DeepomaticSimState, DeepomaticSimTask, DeepomaticSimWorkOrder } from './state.ts';
import { isRecord, jsonType, unknownEngineer, validateWorkOrderBody } from './validation.ts';
import { viewOf } from './view.ts';

export function workOrderRoutes(state: DeepomaticSimState): Route[] {
  const { clock } = state;
  const view = (wo: DeepomaticSimWorkOrder) => viewOf(state, wo);

  const create = (req: SimRequest): SimResponse => {
    const body = req.json;
    if (!isRecord(body)) {
      return json(400, {
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${jsonType(body)}.`],
      });
    }
    const errors = validateWorkOrderBody(state, body, true);
    if (Object.keys(errors).length > 0) {
      return json(400, Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, [v]])));
    }
    if (unknownEngineer(state, body))
      return json(400, { detail: { field_engineer_email: DM_UNKNOWN_ENGINEER } });
    const nowMs = clock.now().getTime();
    const chosen = (body.work_order_types as string[] | undefined) ?? [];
    const active = chosen.length > 0 ? chosen : state.types;
    const seen = new Set<string>();
    const tasks: DeepomaticSimTask[] = [];
    for (const type of active) {
      for (const def of tasksOfType(type)) {
        if (seen.has(def.name)) continue;
        seen.add(def.name);
        tasks.push({ ...def, state: null });
      }
    }
    state.sequence += 1;
    const wo: DeepomaticSimWorkOrder = {
      id: simUuid(`work-order:${state.sequence}`),
      name: body.name as string,
      createdAtMs: nowMs,
      writtenAtMs: nowMs,
      reviewDate: null,
      tags: (body.tags as string[] | undefined) ?? [],
      metadata: (body.metadata as Record<string, unknown> | undefined) ?? null,
      types: [...new Set(chosen)],
      fieldEngineerEmail: (body.field_engineer_email as string | undefined) ?? null,
      userGroupIds: (body.user_group_ids as (string | number)[] | undefined) ?? [],
      tasks,
      progressOverride: null,
    };
    state.workOrders.push(wo);
    return json(201, view(wo));
  };

  const byId = (req: SimRequest) => state.workOrders.find((w) => w.id === req.params.id);

  const get = (req: SimRequest): SimResponse => {
    const wo = byId(req);
    return wo ? json(200, view(wo)) : json(404, DM_NOT_FOUND);
  };

  const patch = (req: SimRequest): SimResponse => {
    const wo = byId(req);
    if (!wo) return json(404, DM_NOT_FOUND);
    const body = req.json;
    if (!isRecord(body)) {
      return json(400, {
        error: 'Serialization error',
        detail: { non_field_errors: `Invalid data. Expected a dictionary, but got ${jsonType(body)}.` },
      });
    }
    const errors = validateWorkOrderBody(state, body, false);
    if (unknownEngineer(state, body) && !errors.field_engineer_email)
      errors.field_engineer_email = DM_UNKNOWN_ENGINEER;
    if (Object.keys(errors).length > 0) return json(400, { error: 'Serialization error', detail: errors });
    // Override semantics: each field sent replaces the stored one.
    if (body.name !== undefined) wo.name = body.name as string;
    if (body.metadata !== undefined) wo.metadata = structuredClone(body.metadata as Record<string, unknown>);
    if (body.tags !== undefined) wo.tags = [...(body.tags as string[])];
    if (body.field_engineer_email !== undefined) wo.fieldEngineerEmail = body.field_engineer_email as string;
    if (body.user_group_ids !== undefined)
      wo.userGroupIds = [...(body.user_group_ids as (string | number)[])];
    // DEEPOMATIC_SIM_PATCH_KEEPS_TASKS (index.ts): types change, the tasks filtered at creation stay.
    // A simulator choice: the doc says only "Override work order types" (reference §7.1 #10).
    if (body.work_order_types !== undefined) wo.types = [...new Set(body.work_order_types as string[])];
    wo.writtenAtMs = clock.now().getTime();
    return json(200, view(wo));
  };

  const remove = (req: SimRequest): SimResponse => {
    const wo = byId(req);
    if (!wo) return json(404, DM_NOT_FOUND);
    state.workOrders = state.workOrders.filter((w) => w !== wo);
    return { status: 204 };
  };

  return [
    { method: 'POST', pattern: '/v0.2/work-orders', handler: authenticated(state, create) },
    { method: 'GET', pattern: '/v0.2/work-orders/:id', handler: authenticated(state, get) },
    { method: 'PATCH', pattern: '/v0.2/work-orders/:id', handler: authenticated(state, patch) },
    { method: 'DELETE', pattern: '/v0.2/work-orders/:id', handler: authenticated(state, remove) },
  ];
}
