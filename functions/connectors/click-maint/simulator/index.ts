/**
 * Click Maint API simulator, built from the vendor doc (shared/vendors/click-maint/reference.md). It
 * serves the API under `/api/v1` like the real host, so a client's `baseUrl` is `sim.baseUrl`.
 *
 * As documented: `Authorization: Bearer <key>` (401 `{status: 'error', message: 'Invalid API key'}`),
 * `X-Entity-Id` on every call but `GET /entities`, the `{status: 'success', data, meta}` envelope with
 * `meta.entity` / `meta.customer` and, on lists, `meta.pagination {total, page, per_page,
 * total_pages}`, `meta.sort` (array), `meta.search` and `meta.filter` (the echo of the filters
 * applied, an `_eq` one without its predicate: CLICK_MAINT_FILTER_ECHO in lists.ts);
 * `page` / `per_page` (default 50), `sort=<field> <asc|desc>`, Ransack
 * `filter[<field>_<cont|eq|gteq|lteq|gt|lt>]`; wrapped create/update bodies (`{work_order: {...}}`)
 * and unwrapped part actions (`restock {quantity, cost, note}`, `reconcile {quantity (delta), note}`);
 * timestamps in whole seconds (`2026-11-02T08:00:00Z`); rate-limit headers
 * `X-RateLimit-Limit / -Remaining / -Reset` (unix seconds) and `retry-after` (seconds).
 *
 * Where the doc is silent (reference §2.2, §6), the choice is made here and noted:
 * - Rate limit: a FIXED window aligned to the epoch, in REAL wall-clock time (`wallClock`, default
 *   Date.now; not the sandbox clock), per simulator (= per IP). Every request that passes auth counts,
 *   429-rejected ones too; the 429 carries `retry-after` = seconds to the window's end.
 * - Order of checks: auth (401, not counted), rate limit (429), then `X-Entity-Id` (400 when missing
 *   or not an integer, 404 when unknown to the key).
 * - `filter[updated_at_*]` is honoured only with `acceptsUpdatedAtFilter` (default true); otherwise it
 *   is ignored and NOT echoed in `meta.filter`, as Ransack does with an unpermitted predicate. Unknown
 *   fields and predicates are ignored the same way.
 * - Ties of the sort field are ordered by id ascending; `per_page` is capped at `maxPerPage`.
 * - Statuses for work orders: 1 open, 2 on_hold, 3 in_progress, 5 completed (`status_id` writes);
 *   `completed_at` is set when the status becomes 5 (unless given) and cleared when it leaves 5.
 * - Validation failures answer 422 `{status: 'error', message}`; a missing wrapper answers 400 like
 *   Rails (`param is missing or the value is empty: work_order`); created work orders answer 201.
 * - Request contract: what api-doc.txt marks required is required (the `X-Entity-Id` header, the
 *   wrapper object, restock `quantity` + `cost`, reconcile `quantity` + `note`) and every field
 *   sent must have its documented type (decimals, integers and integer arrays, `"yes"` strings,
 *   checklist items; null clears a work-order field); optional fields (restock `note`, every
 *   work-order field but the title) may be omitted. Beyond the doc, named here: a work order needs a
 *   `title` (the doc marks only the wrapper required; "Title can't be blank" is Rails' message), a
 *   restock `quantity` is > 0 (the doc gives no sign), and `type` is accepted on create only.
 *   Further rejections the doc does not state (simulator choices, kept): `priority` must be one of
 *   none / low / medium / high (the doc's samples show only "high"; 422 "Priority is not included in
 *   the list"); restock and reconcile of an `is_non_stock` part answer 422 "Part is non-stock"; a
 *   reconcile that would make the on-hand count negative answers 422; a reconcile `quantity` of 0
 *   answers 422 "Quantity must not be 0"; a whitespace-only reconcile `note` counts as blank
 *   ("Note can't be blank"). A work-order `description` must be a string or null (every doc sample
 *   is a string).
 *
 * Control routes (no auth, not rate limited): `GET /_sandbox/state`, `GET /_sandbox/stats`,
 * `POST /_sandbox/reset`, `POST /_sandbox/parts` (`{entityId, parts: [...]}`),
 * `POST /_sandbox/parts/:id/consume` and `/restock` (`{quantity}`), `POST /_sandbox/settings`
 * (`{rateLimit?: {limit, windowSeconds}, acceptsUpdatedAtFilter?}`), plus the shared ones of server.ts
 * (`/_sandbox/faults`, `/_sandbox/requests`).
 */
import {
  type SimulatorStateStore,
  simulatorPersistence,
} from '../../../../sandbox/simulators/persistence.ts';
import { type Simulator, startSimulator } from '../../../../sandbox/simulators/server.ts';
import { assetRoutes } from './assets.ts';
import { entityRoutes } from './entities.ts';
import { addParts, adjust, partRoutes } from './parts.ts';
import { setRateLimit } from './rate-limit.ts';
import {
  CLICK_MAINT_SIM_API_PREFIX,
  type SimAsset,
  type SimCall,
  type SimPart,
  type SimPartInput,
  type SimPartTransaction,
  type SimWorkOrder,
} from './records.ts';
import { type ClickMaintControls, clickMaintControls, sandboxControlRoutes } from './sandbox-controls.ts';
import { seedWorld } from './seed.ts';
import {
  type ClickMaintSavedState,
  type ClickMaintSimSettings,
  clickMaintSavedState,
  createClickMaintWorld,
} from './state.ts';
import { workOrderRoutes } from './work-orders.ts';

export {
  CLICK_MAINT_SIM_API_PREFIX,
  CLICK_MAINT_SIM_COMPLETED_STATUS,
  CLICK_MAINT_SIM_ENTITIES,
  CLICK_MAINT_SIM_STATUSES,
  type ClickMaintSimState,
  type ClickMaintSimStats,
  type SimAsset,
  type SimCall,
  type SimEntity,
  type SimPart,
  type SimPartInput,
  type SimPartTransaction,
  type SimWorkOrder,
} from './records.ts';
export { SimulatorInputError } from './responses.ts';
export { CLICK_MAINT_SIM_STATE_VERSION, type ClickMaintSavedState, isoSeconds } from './state.ts';

export interface ClickMaintSimulatorOptions extends ClickMaintSimSettings {
  port?: number;
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
}

export interface ClickMaintSimulator extends Simulator, ClickMaintControls {
  /** `${url}/api/v1`: the client's base URL. */
  baseUrl: string;
  parts(entityId?: number): SimPart[];
  assets(entityId?: number): SimAsset[];
  workOrders(entityId?: number): SimWorkOrder[];
  transactions(partId?: number): SimPartTransaction[];
  /** Create parts in an entity, all stamped with the clock's current second; throws on bad input. */
  addParts(entityId: number, parts: readonly SimPartInput[]): SimPart[];
  /** Take stock out (work on the floor); bumps updated_at. Throws below zero. */
  consume(partId: number, quantity: number): SimPart;
  /** Put stock in; bumps updated_at. */
  restock(partId: number, quantity: number): SimPart;
  /**
   * A person deletes a work order in the Click Maint app (the API documents no delete): later
   * calls on it answer 404 `Work order not found`. False when there was none.
   */
  deleteWorkOrder(entityId: number, id: number): boolean;
  setRateLimit(rateLimit: { limit: number; windowSeconds: number }): void;
  setAcceptsUpdatedAtFilter(accepts: boolean): void;
  /** The API calls that reached the simulator's checks (not fault-answered ones), oldest first: the newest `requestLogLimit`. */
  calls(): SimCall[];
  /** The state that survives a restart (a deep copy). */
  exportState(): ClickMaintSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}

export async function startClickMaintSimulator(
  options: ClickMaintSimulatorOptions,
): Promise<ClickMaintSimulator> {
  const world = createClickMaintWorld(options);
  let sim: Simulator | undefined;
  const controls = clickMaintControls(world, () => sim as Simulator);
  const saved = clickMaintSavedState(world);

  seedWorld(world);
  const persistence = simulatorPersistence(options.store, saved);
  persistence.restore();
  sim = await startSimulator({
    name: 'click-maint',
    routes: [
      ...entityRoutes(world),
      ...partRoutes(world),
      ...assetRoutes(world),
      ...workOrderRoutes(world),
      ...sandboxControlRoutes(world, controls),
    ],
    port: options.port,
    requestLogLimit: options.requestLogLimit,
    commit: persistence.commit,
  });
  const byEntity = <T extends { entityId: number }>(rows: T[], entityId?: number): T[] =>
    structuredClone(rows.filter((r) => entityId === undefined || r.entityId === entityId));
  return Object.assign(sim, {
    baseUrl: `${sim.url}${CLICK_MAINT_SIM_API_PREFIX}`,
    state: controls.state,
    parts: (entityId?: number) => byEntity(world.parts, entityId),
    assets: (entityId?: number) => byEntity(world.assets, entityId),
    workOrders: (entityId?: number) => byEntity(world.workOrders, entityId),
    transactions: (partId?: number) =>
      structuredClone(world.transactions.filter((t) => partId === undefined || t.partId === partId)),
    addParts: persistence.committing((entityId: number, list: readonly SimPartInput[]) =>
      structuredClone(addParts(world, entityId, list)),
    ),
    consume: persistence.committing((partId: number, quantity: number) =>
      structuredClone(adjust(world, partId, -1, quantity)),
    ),
    restock: persistence.committing((partId: number, quantity: number) =>
      structuredClone(adjust(world, partId, 1, quantity)),
    ),
    deleteWorkOrder: persistence.committing((entityId: number, id: number) => {
      const before = world.workOrders.length;
      world.workOrders = world.workOrders.filter((w) => !(w.entityId === entityId && w.id === id));
      return world.workOrders.length < before;
    }),
    stats: controls.stats,
    setRateLimit: (rateLimit: { limit: number; windowSeconds: number }) => setRateLimit(world, rateLimit),
    setAcceptsUpdatedAtFilter: (accepts: boolean) => {
      world.acceptsUpdatedAtFilter = accepts;
    },
    calls: () => structuredClone(world.calls),
    reset: persistence.committing(controls.reset),
    exportState: saved.exportState,
    importState: persistence.committing(saved.importState),
  });
}
