/**
 * Deepomatic Engage simulator: the work-order API of api-doc.txt (POST/PATCH/DELETE under `/v0.2`)
 * plus the [EXT] `GET /v0.2/work-orders/{id}/` of the "Data retrieval" page, over an in-memory list.
 * Point `vendors.deepomatic.baseUrl` at `${sim.url}/v0.2`.
 *
 * As documented (reference §1-§3): `Authorization: Token <key>` (E4 `{detail}` bodies), the name rule
 * (letters, digits, `_`, `-`, at most 128), metadata must be a key-value object (400), engineers must
 * be Deepomatic users, work-order types select the tasks at creation, PATCH overrides each field sent
 * ("Override"; tags/metadata replaced, not merged), the four error shapes (E1 field lists on create,
 * E2 `{detail: {field}}` for an unknown engineer on create, E3 `{error: 'Serialization error',
 * detail: {field}}` on update, E4 `{detail}` for auth and `WorkOrder not found!`), ISO dates with
 * microseconds, `types` sorted by name (not request order).
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
 * - DEEPOMATIC_SIM_UNKNOWN_TYPES_REFUSED: a `work_order_types` entry that is not a configured type is
 *   refused, 400 `{work_order_types: ['Unknown work order type(s): <names>.']}` (E1 on create, E3 on
 *   PATCH). The doc only warns that types must "have been configured beforehand" and shows no error
 *   for one that was not.
 * - DEEPOMATIC_SIM_PATCH_KEEPS_TASKS: a PATCH of `work_order_types` changes `types` but keeps the
 *   tasks filtered at creation. The doc says "Override work order types" and that types filter tasks
 *   "at the time of its creation", not what a later change does to them.
 * - DEEPOMATIC_NAME_ASCII_ONLY (schemas.ts): "letters" in the name rule are ASCII letters.
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
import {
  type SimulatorStateStore,
  simulatorPersistence,
} from '../../../../sandbox/simulators/persistence.ts';
import { type Simulator, startSimulator } from '../../../../sandbox/simulators/server.ts';
import { type DeepomaticControls, deepomaticControls, sandboxControlRoutes } from './sandbox-controls.ts';
import {
  createDeepomaticSimState,
  type DeepomaticSavedState,
  type DeepomaticSimSettings,
  deepomaticSavedState,
  findWorkOrder,
} from './state.ts';
import { type DeepomaticSimWorkOrderView, viewOf } from './view.ts';
import { workOrderRoutes } from './work-orders.ts';

export {
  DEEPOMATIC_SIM_APP_VERSION_ID,
  DEEPOMATIC_SIM_DEFAULT_ENGINEERS,
  DEEPOMATIC_SIM_DEFAULT_TYPES,
  DEEPOMATIC_SIM_SITE_ID,
  DEEPOMATIC_SIM_TASKS,
  type DeepomaticSimTaskDefinition,
  DM_AUTH_INVALID,
  DM_AUTH_MISSING,
  DM_NOT_FOUND,
  DM_UNKNOWN_ENGINEER,
  isoMicro,
  simUuid,
} from './catalogue.ts';
export {
  DEEPOMATIC_SIM_STATE_VERSION,
  type DeepomaticSavedState,
  DeepomaticSimInputError,
  type DeepomaticSimOutcome,
  type DeepomaticSimTask,
  type DeepomaticSimWorkOrder,
} from './state.ts';
export type { DeepomaticSimWorkOrderView } from './view.ts';

export interface DeepomaticSimulatorOptions extends DeepomaticSimSettings {
  port?: number;
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
}

export interface DeepomaticSimulator extends Simulator, DeepomaticControls {
  /** Every work order as the API would answer now, in creation order. */
  workOrders(): DeepomaticSimWorkOrderView[];
  /** By id, else the most recently created of that name. */
  workOrder(idOrName: string): DeepomaticSimWorkOrderView | undefined;
  /** Rotate the accepted API key (the old one gets 401). */
  setApiKey(apiKey: string): void;
  /** The state that survives a restart (a deep copy). */
  exportState(): DeepomaticSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}

export async function startDeepomaticSimulator(
  options: DeepomaticSimulatorOptions,
): Promise<DeepomaticSimulator> {
  const state = createDeepomaticSimState(options);
  const controls = deepomaticControls(state);
  const saved = deepomaticSavedState(state);
  const persistence = simulatorPersistence(options.store, saved);
  persistence.restore();

  const simulator = await startSimulator({
    name: 'deepomatic',
    routes: [...workOrderRoutes(state), ...sandboxControlRoutes(state, controls)],
    port: options.port,
    commit: persistence.commit,
  });
  return Object.assign(simulator, {
    workOrders: () => state.workOrders.map((wo) => viewOf(state, wo)),
    workOrder: (idOrName: string) => {
      const wo = findWorkOrder(state, idOrName);
      return wo ? viewOf(state, wo) : undefined;
    },
    setOutcome: persistence.committing(controls.setOutcome),
    review: persistence.committing(controls.review),
    setTaskStates: persistence.committing(controls.setTaskStates),
    reset: persistence.committing(controls.reset),
    exportState: saved.exportState,
    importState: persistence.committing(saved.importState),
    setApiKey: (key: string) => {
      state.apiKey = key;
    },
  });
}
