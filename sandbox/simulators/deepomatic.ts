/**
 * Deepomatic Engage simulator: the work-order API of api-doc.txt (POST/PATCH/DELETE under `/v0.2`)
 * plus the [EXT] `GET /v0.2/work-orders/{id}/` of the "Data retrieval" page, over an in-memory list.
 * Point `vendors.deepomatic.baseUrl` at `${sim.url}/v0.2`.
 *
 * As documented (reference §1-§3): `Authorization: Token <key>` (E4 `{detail}` bodies), the name rule
 * (letters, digits, `_`, `-`, at most 128), metadata must be a key-value object (400), engineers must
 * be Deepomatic users, work-order types must be configured and select the tasks at creation, PATCH
 * overrides each field sent (tags/metadata replaced, not merged) and does not re-filter tasks, the
 * four error shapes (E1 field lists on create, E2 `{detail: {field}}` for an unknown engineer on
 * create, E3 `{error: 'Serialization error', detail: {field}}` on update, E4 `{detail}` for auth and
 * `WorkOrder not found!`), ISO dates with microseconds, `types` sorted by name (not request order).
 *
 * Simulator choices where the doc is silent (named so nobody mistakes them for Deepomatic facts):
 * - Statuses: 201 create, 200 get/patch, 204 delete (empty body), 400 validation, 401 auth, 404 not
 *   found. A path without its trailing slash answers 404 `{detail: 'Not found.'}` (the API's paths all
 *   end with one), so a client that drops it is caught.
 * - `metadata` may be omitted on create, as the doc's table and text say ("When a metadata is not
 *   available, it is not necessary to include the field in the request"); `requireMetadata: true`
 *   (opt-in) refuses a create without it, as the doc's listed error "Field 'metadata' is missing.
 *   This field is required." would (reference §7.1 #1). The connector always sends it, so it passes
 *   both ways. Sent, it must be a key-value object (400).
 * - Duplicate names are accepted (uniqueness is only recommended). `include_inputs` is ignored.
 * - Progress: `progress_score` advances with the sandbox clock from creation, `progressPerMinute`
 *   points per minute (integer steps) until 100; `update_date` moves when it changes. Task states
 *   stay null (not analysed) until set through the control API; `review_date` stays null until set
 *   through the control API (a back-office review).
 * - An outcome (control API) sets every task state to `true` (passed) or `false` (failed; only the
 *   `failedTasks` when given, the others `true`), progress 100, and `review_date` = now if `review`.
 * - Tasks per type: 'photo-validation' -> `equipment_after_intervention`, `nameplate_visible`;
 *   'maintenance' -> `work_area_clean` (all Boolean); any other configured type -> `<type>_done`
 *   (Boolean). No types on create = every configured type's tasks. Ids are stable hashes of names.
 *
 * Control routes (no auth): `GET /_sandbox/state`, `POST /_sandbox/reset`,
 * `POST /_sandbox/work-orders/:id/outcome` and `POST /_sandbox/work-orders/by-name/:name/outcome`
 * (`{outcome: 'passed'|'failed', review?: boolean, failedTasks?: string[]}`),
 * `POST /_sandbox/work-orders/:id/review` (`{at?: ISO}`), `POST /_sandbox/work-orders/:id/task-states`
 * (`{states: {taskName: state}}`, any JSON state), plus the shared ones from server.ts (faults).
 * By name = the most recently created work order of that name.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { readSavedState, type SimulatorStateStore, simulatorPersistence } from './persistence.ts';
import {
  json,
  type Route,
  type SimRequest,
  type SimResponse,
  type Simulator,
  startSimulator,
} from './server.ts';

// ---------------------------------------------------------------------------------------------
// Catalogue.

export interface DeepomaticSimTaskDefinition {
  name: string;
  label: string;
  type: 'Boolean' | 'Number';
  group: string;
}

export const DEEPOMATIC_SIM_TASKS: Readonly<Record<string, readonly DeepomaticSimTaskDefinition[]>> = {
  'photo-validation': [
    {
      name: 'equipment_after_intervention',
      label: 'Is it a photo of the equipment after intervention?',
      type: 'Boolean',
      group: 'equipment-after-intervention',
    },
    {
      name: 'nameplate_visible',
      label: 'Is the equipment nameplate visible?',
      type: 'Boolean',
      group: 'nameplate',
    },
  ],
  maintenance: [
    { name: 'work_area_clean', label: 'Is the work area clean?', type: 'Boolean', group: 'work-area' },
  ],
};

export const DEEPOMATIC_SIM_DEFAULT_ENGINEERS = ['tech@plant.example'] as const;
export const DEEPOMATIC_SIM_DEFAULT_TYPES = ['photo-validation', 'maintenance'] as const;
export const DEEPOMATIC_SIM_SITE_ID = '39c9d63f-a517-4f9d-ae45-415d80931226';
export const DEEPOMATIC_SIM_APP_VERSION_ID = 'c14d3664-b69f-4357-a443-866111a65fb8';

export const DM_AUTH_MISSING = { detail: 'Authentication credentials not provided.' } as const;
export const DM_AUTH_INVALID = { detail: 'No user found for such apiKey.' } as const;
export const DM_NOT_FOUND = { detail: 'WorkOrder not found!' } as const;
export const DM_UNKNOWN_ENGINEER = 'There is no user with this email.';

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const NAME_MAX = 128;

/** A stable UUID-shaped id from a seed (ids of types, tasks and groups never change here). */
export function simUuid(seed: string): string {
  const h = createHash('sha256').update(seed, 'utf8').digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `2026-11-02T08:00:00.000000Z`: Deepomatic's microsecond format. */
export const isoMicro = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

const tasksOfType = (type: string): readonly DeepomaticSimTaskDefinition[] =>
  DEEPOMATIC_SIM_TASKS[type] ?? [
    {
      name: `${type.replace(/[^A-Za-z0-9]+/g, '_').toLowerCase()}_done`,
      label: `Is the ${type} step done?`,
      type: 'Boolean',
      group: type,
    },
  ];

// ---------------------------------------------------------------------------------------------
// State.

export interface DeepomaticSimTask extends DeepomaticSimTaskDefinition {
  state: unknown;
}

export interface DeepomaticSimWorkOrder {
  id: string;
  name: string;
  createdAtMs: number;
  /** Last write (create, PATCH, control); `update_date` is the later of this and the last progress step. */
  writtenAtMs: number;
  reviewDate: string | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  types: string[];
  fieldEngineerEmail: string | null;
  userGroupIds: (string | number)[];
  tasks: DeepomaticSimTask[];
  /** Set by an outcome: progress no longer follows the clock. */
  progressOverride: number | null;
}

/** The API's JSON for a work order (reference §3.2). */
export interface DeepomaticSimWorkOrderView {
  id: string;
  name: string;
  site_id: string;
  progress_score: number;
  review_date: string | null;
  create_date: string;
  update_date: string;
  tags: string[];
  app_version_id: string;
  parameters: null;
  metadata: Record<string, unknown> | null;
  types: { id: string; name: string }[];
  field_engineer_email: string | null;
  field_engineer_name: string | null;
  user_group_ids: (string | number)[];
  tasks: {
    id: string;
    name: string;
    label: string;
    type: string;
    group_id: string;
    group_name: string;
    state: unknown;
  }[];
  task_groups: { id: string; name: string; display_name: string; order: number }[];
}

export type DeepomaticSimOutcome = 'passed' | 'failed';

export interface DeepomaticSimulatorOptions {
  port?: number;
  clock: Clock;
  apiKey: string;
  /** E-mails of the Deepomatic users (default ['tech@plant.example']). */
  engineers?: string[];
  /** Work-order types configured in the application (default ['photo-validation', 'maintenance']). */
  workOrderTypes?: string[];
  /** Progress points per sandbox-clock minute from creation until 100 (default 20; 0 = never moves). */
  progressPerMinute?: number;
  /** Refuse a create without `metadata` (default false: the doc marks it optional; see the header). */
  requireMetadata?: boolean;
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
}

export interface DeepomaticSimulator extends Simulator {
  /** Every work order as the API would answer now, in creation order. */
  workOrders(): DeepomaticSimWorkOrderView[];
  /** By id, else the most recently created of that name. */
  workOrder(idOrName: string): DeepomaticSimWorkOrderView | undefined;
  setOutcome(
    idOrName: string,
    outcome: DeepomaticSimOutcome,
    options?: { review?: boolean; failedTasks?: string[] },
  ): DeepomaticSimWorkOrderView;
  /** A back-office review: `review_date` = `at` (default now). */
  review(idOrName: string, at?: Date): DeepomaticSimWorkOrderView;
  /** Set task states to any JSON (e.g. `{conform: false}`); progress is untouched. */
  setTaskStates(idOrName: string, states: Record<string, unknown>): DeepomaticSimWorkOrderView;
  /** Forget every work order (ids are never reused). */
  reset(): void;
  /** Rotate the accepted API key (the old one gets 401). */
  setApiKey(apiKey: string): void;
  /** The state that survives a restart (a deep copy). */
  exportState(): DeepomaticSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}

export const DEEPOMATIC_SIM_STATE_VERSION = 1;

/**
 * What survives a restart: the work orders (progress is derived from their creation time and the
 * clock, so it keeps advancing) and the sequence their ids come from. Engineers, types and the API
 * key come from the options.
 */
export interface DeepomaticSavedState {
  simulator: 'deepomatic';
  version: typeof DEEPOMATIC_SIM_STATE_VERSION;
  workOrders: DeepomaticSimWorkOrder[];
  /** The last work-order number (ids are derived from it and never reused, even after reset). */
  workOrderSequence: number;
}

/** A control action that cannot be applied; `status` is what the control API answers. */
export class DeepomaticSimInputError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'DeepomaticSimInputError';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);

const engineerName = (email: string) => {
  const local = email.split('@')[0] ?? email;
  return local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join(' ');
};

// ---------------------------------------------------------------------------------------------
// The simulator.

export async function startDeepomaticSimulator(
  options: DeepomaticSimulatorOptions,
): Promise<DeepomaticSimulator> {
  const { clock } = options;
  const engineers = new Set(
    (options.engineers ?? [...DEEPOMATIC_SIM_DEFAULT_ENGINEERS]).map((e) => e.toLowerCase()),
  );
  const types = [...(options.workOrderTypes ?? DEEPOMATIC_SIM_DEFAULT_TYPES)];
  const rate = options.progressPerMinute ?? 20;
  const requireMetadata = options.requireMetadata ?? false;
  let apiKey = options.apiKey;
  let sequence = 0;
  let store: DeepomaticSimWorkOrder[] = [];

  // ---- derived values ------------------------------------------------------------------------

  const clockProgress = (wo: DeepomaticSimWorkOrder, nowMs: number): number =>
    rate <= 0 ? 0 : Math.min(100, Math.max(0, Math.floor(((nowMs - wo.createdAtMs) * rate) / 60_000)));

  const progressOf = (wo: DeepomaticSimWorkOrder, nowMs: number) =>
    wo.progressOverride ?? clockProgress(wo, nowMs);

  const updateDateOf = (wo: DeepomaticSimWorkOrder, nowMs: number): number => {
    if (wo.progressOverride !== null || rate <= 0) return wo.writtenAtMs;
    const p = clockProgress(wo, nowMs);
    const reachedAt = p === 0 ? wo.createdAtMs : wo.createdAtMs + Math.ceil((p * 60_000) / rate);
    return Math.max(wo.writtenAtMs, reachedAt);
  };

  const view = (wo: DeepomaticSimWorkOrder): DeepomaticSimWorkOrderView => {
    const nowMs = clock.now().getTime();
    const groups = [...new Set(wo.tasks.map((t) => t.group))];
    return {
      id: wo.id,
      name: wo.name,
      site_id: DEEPOMATIC_SIM_SITE_ID,
      progress_score: progressOf(wo, nowMs),
      review_date: wo.reviewDate,
      create_date: isoMicro(wo.createdAtMs),
      update_date: isoMicro(updateDateOf(wo, nowMs)),
      tags: [...wo.tags],
      app_version_id: DEEPOMATIC_SIM_APP_VERSION_ID,
      parameters: null,
      metadata: wo.metadata === null ? null : structuredClone(wo.metadata),
      types: [...wo.types].sort().map((name) => ({ id: simUuid(`type:${name}`), name })),
      field_engineer_email: wo.fieldEngineerEmail,
      field_engineer_name: wo.fieldEngineerEmail ? engineerName(wo.fieldEngineerEmail) : null,
      user_group_ids: [...wo.userGroupIds],
      tasks: wo.tasks.map((t) => ({
        id: simUuid(`task:${t.name}`),
        name: t.name,
        label: t.label,
        type: t.type,
        group_id: simUuid(`group:${t.group}`),
        group_name: t.group,
        state: structuredClone(t.state),
      })),
      task_groups: groups.map((name, order) => ({
        id: simUuid(`group:${name}`),
        name,
        display_name: name.replace(/[-_]+/g, ' ').replace(/^./, (c) => c.toUpperCase()),
        order,
      })),
    };
  };

  const find = (idOrName: string): DeepomaticSimWorkOrder | undefined =>
    store.find((w) => w.id === idOrName) ?? store.filter((w) => w.name === idOrName).at(-1);

  const mustFind = (idOrName: string): DeepomaticSimWorkOrder => {
    const wo = find(idOrName);
    if (!wo) throw new DeepomaticSimInputError(404, `no work order with id or name ${idOrName}`);
    return wo;
  };

  // ---- validation (messages: E1 lists, E3 strings) ---------------------------------------------

  /** Field errors for the fields present in `body` (and the required ones on create). */
  const validate = (body: Record<string, unknown>, create: boolean): Record<string, string> => {
    const errors: Record<string, string> = {};
    if (create && body.name === undefined) errors.name = "Field 'name' is missing. This field is required.";
    else if (body.name !== undefined) {
      if (typeof body.name !== 'string') errors.name = 'Not a valid string.';
      else if (body.name.length > NAME_MAX) errors.name = 'The name is limited to 128 characters maximum.';
      else if (!NAME_PATTERN.test(body.name))
        errors.name = 'Only letters, numbers, underscores and hyphens are accepted for the name.';
    }
    if (create && body.metadata === undefined && requireMetadata)
      errors.metadata = "Field 'metadata' is missing. This field is required.";
    else if (body.metadata !== undefined && !isRecord(body.metadata))
      errors.metadata = `The metadata must be sent as a key-value object, got ${jsonType(body.metadata)}.`;
    if (body.tags !== undefined && !isStringList(body.tags)) errors.tags = 'Expected a list of strings.';
    if (body.user_group_ids !== undefined && !Array.isArray(body.user_group_ids))
      errors.user_group_ids = 'Expected a list of items.';
    if (body.work_order_types !== undefined) {
      if (!isStringList(body.work_order_types)) errors.work_order_types = 'Expected a list of strings.';
      else {
        const unknown = body.work_order_types.filter((t) => !types.includes(t));
        if (unknown.length > 0)
          errors.work_order_types = `Unknown work order type(s): ${unknown.join(', ')}.`;
      }
    }
    if (body.field_engineer_email !== undefined && body.field_engineer_email !== null) {
      if (typeof body.field_engineer_email !== 'string') errors.field_engineer_email = 'Not a valid string.';
    }
    return errors;
  };

  const unknownEngineer = (body: Record<string, unknown>) =>
    typeof body.field_engineer_email === 'string' && !engineers.has(body.field_engineer_email.toLowerCase());

  // ---- API handlers ----------------------------------------------------------------------------

  const authError = (req: SimRequest): SimResponse | undefined => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !/^Token\s+\S/.test(header)) return json(401, DM_AUTH_MISSING);
    if (header.replace(/^Token\s+/, '') !== apiKey) return json(401, DM_AUTH_INVALID);
    return undefined;
  };

  /** Auth, then the trailing-slash rule, then the handler. */
  const api =
    (handler: (req: SimRequest) => SimResponse) =>
    (req: SimRequest): SimResponse =>
      authError(req) ?? (req.path.endsWith('/') ? handler(req) : json(404, { detail: 'Not found.' }));

  const create = (req: SimRequest): SimResponse => {
    const body = req.json;
    if (!isRecord(body)) {
      return json(400, {
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${jsonType(body)}.`],
      });
    }
    const errors = validate(body, true);
    if (Object.keys(errors).length > 0) {
      return json(400, Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, [v]])));
    }
    if (unknownEngineer(body)) return json(400, { detail: { field_engineer_email: DM_UNKNOWN_ENGINEER } });
    const nowMs = clock.now().getTime();
    const chosen = (body.work_order_types as string[] | undefined) ?? [];
    const active = chosen.length > 0 ? chosen : types;
    const seen = new Set<string>();
    const tasks: DeepomaticSimTask[] = [];
    for (const type of active) {
      for (const def of tasksOfType(type)) {
        if (seen.has(def.name)) continue;
        seen.add(def.name);
        tasks.push({ ...def, state: null });
      }
    }
    sequence += 1;
    const wo: DeepomaticSimWorkOrder = {
      id: simUuid(`work-order:${sequence}`),
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
    store.push(wo);
    return json(201, view(wo));
  };

  const byId = (req: SimRequest) => store.find((w) => w.id === req.params.id);

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
    const errors = validate(body, false);
    if (unknownEngineer(body) && !errors.field_engineer_email)
      errors.field_engineer_email = DM_UNKNOWN_ENGINEER;
    if (Object.keys(errors).length > 0) return json(400, { error: 'Serialization error', detail: errors });
    // Override semantics: each field sent replaces the stored one.
    if (body.name !== undefined) wo.name = body.name as string;
    if (body.metadata !== undefined) wo.metadata = structuredClone(body.metadata as Record<string, unknown>);
    if (body.tags !== undefined) wo.tags = [...(body.tags as string[])];
    if (body.field_engineer_email !== undefined)
      wo.fieldEngineerEmail = (body.field_engineer_email as string | null) ?? null;
    if (body.user_group_ids !== undefined)
      wo.userGroupIds = [...(body.user_group_ids as (string | number)[])];
    // Types change; the tasks were filtered at creation and stay (reference §7.1 #10).
    if (body.work_order_types !== undefined) wo.types = [...new Set(body.work_order_types as string[])];
    wo.writtenAtMs = clock.now().getTime();
    return json(200, view(wo));
  };

  const remove = (req: SimRequest): SimResponse => {
    const wo = byId(req);
    if (!wo) return json(404, DM_NOT_FOUND);
    store = store.filter((w) => w !== wo);
    return { status: 204 };
  };

  // ---- control ---------------------------------------------------------------------------------

  const setOutcome: DeepomaticSimulator['setOutcome'] = (idOrName, outcome, opts = {}) => {
    if (outcome !== 'passed' && outcome !== 'failed')
      throw new DeepomaticSimInputError(400, "outcome must be 'passed' or 'failed'");
    const wo = mustFind(idOrName);
    const failedTasks = opts.failedTasks ?? [];
    if (outcome === 'passed' && failedTasks.length > 0)
      throw new DeepomaticSimInputError(400, 'failedTasks only go with outcome failed');
    const unknown = failedTasks.filter((n) => !wo.tasks.some((t) => t.name === n));
    if (unknown.length > 0)
      throw new DeepomaticSimInputError(400, `work order ${wo.id} has no task(s) ${unknown.join(', ')}`);
    for (const task of wo.tasks) {
      task.state =
        outcome === 'passed' ? true : failedTasks.length > 0 ? !failedTasks.includes(task.name) : false;
    }
    const nowMs = clock.now().getTime();
    wo.progressOverride = 100;
    wo.writtenAtMs = nowMs;
    if (opts.review) wo.reviewDate = isoMicro(nowMs);
    return view(wo);
  };

  const review: DeepomaticSimulator['review'] = (idOrName, at) => {
    const wo = mustFind(idOrName);
    const ms = (at ?? clock.now()).getTime();
    wo.reviewDate = isoMicro(ms);
    wo.writtenAtMs = Math.max(wo.writtenAtMs, clock.now().getTime());
    return view(wo);
  };

  const setTaskStates: DeepomaticSimulator['setTaskStates'] = (idOrName, states) => {
    const wo = mustFind(idOrName);
    const unknown = Object.keys(states).filter((n) => !wo.tasks.some((t) => t.name === n));
    if (unknown.length > 0)
      throw new DeepomaticSimInputError(400, `work order ${wo.id} has no task(s) ${unknown.join(', ')}`);
    for (const task of wo.tasks) if (task.name in states) task.state = structuredClone(states[task.name]);
    wo.writtenAtMs = clock.now().getTime();
    return view(wo);
  };

  const reset = () => {
    store = [];
  };

  const control =
    (action: (req: SimRequest, body: Record<string, unknown>) => unknown) =>
    (req: SimRequest): SimResponse => {
      try {
        return json(200, action(req, isRecord(req.json) ? req.json : {}));
      } catch (error) {
        if (error instanceof DeepomaticSimInputError) return json(error.status, { message: error.message });
        throw error;
      }
    };

  const outcomeFrom = (key: string) => (req: SimRequest, body: Record<string, unknown>) => {
    if (body.failedTasks !== undefined && !isStringList(body.failedTasks))
      throw new DeepomaticSimInputError(400, 'failedTasks must be a list of task names');
    return setOutcome(req.params[key] ?? '', body.outcome as DeepomaticSimOutcome, {
      review: body.review === true,
      failedTasks: body.failedTasks as string[] | undefined,
    });
  };

  const routes: Route[] = [
    { method: 'POST', pattern: '/v0.2/work-orders', handler: api(create) },
    { method: 'GET', pattern: '/v0.2/work-orders/:id', handler: api(get) },
    { method: 'PATCH', pattern: '/v0.2/work-orders/:id', handler: api(patch) },
    { method: 'DELETE', pattern: '/v0.2/work-orders/:id', handler: api(remove) },
    { method: 'POST', pattern: '/_sandbox/work-orders/:id/outcome', handler: control(outcomeFrom('id')) },
    {
      method: 'POST',
      pattern: '/_sandbox/work-orders/by-name/:name/outcome',
      handler: control(outcomeFrom('name')),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/work-orders/:id/review',
      handler: control((req, body) => {
        if (body.at !== undefined && (typeof body.at !== 'string' || Number.isNaN(Date.parse(body.at))))
          throw new DeepomaticSimInputError(400, 'at must be an ISO date-time');
        return review(req.params.id ?? '', body.at === undefined ? undefined : new Date(body.at as string));
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/work-orders/:id/task-states',
      handler: control((req, body) => {
        if (!isRecord(body.states)) throw new DeepomaticSimInputError(400, 'states must be an object');
        return setTaskStates(req.params.id ?? '', body.states);
      }),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/reset',
      handler: control(() => {
        reset();
        return { reset: true };
      }),
    },
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () =>
        json(200, {
          now: clock.now().toISOString(),
          engineers: [...engineers],
          workOrderTypes: types,
          progressPerMinute: rate,
          workOrders: store.map(view),
        }),
    },
  ];

  const exportState = (): DeepomaticSavedState =>
    structuredClone({
      simulator: 'deepomatic',
      version: DEEPOMATIC_SIM_STATE_VERSION,
      workOrders: store,
      workOrderSequence: sequence,
    });
  const importState = (saved: unknown): void => {
    const state = readSavedState<DeepomaticSavedState>(saved, {
      simulator: 'deepomatic',
      version: DEEPOMATIC_SIM_STATE_VERSION,
      fields: { workOrders: 'array', workOrderSequence: 'integer' },
    });
    store = structuredClone(state.workOrders);
    sequence = state.workOrderSequence;
  };
  const persistence = simulatorPersistence(options.store, { exportState, importState });
  persistence.restore();

  const simulator = await startSimulator({
    name: 'deepomatic',
    routes,
    port: options.port,
    commit: persistence.commit,
  });
  return Object.assign(simulator, {
    workOrders: () => store.map(view),
    workOrder: (idOrName: string) => {
      const wo = find(idOrName);
      return wo ? view(wo) : undefined;
    },
    setOutcome: persistence.committing(setOutcome),
    review: persistence.committing(review),
    setTaskStates: persistence.committing(setTaskStates),
    reset: persistence.committing(reset),
    exportState,
    importState: persistence.committing(importState),
    setApiKey: (key: string) => {
      apiKey = key;
    },
  });
}
