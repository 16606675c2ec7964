/**
 * Mobility Work Public API simulator, built from the vendor doc (shared/vendors/mobility-work/reference.md)
 * and the connector contract (/tmp/contracts/mw.md). Webhook payloads use exactly the contract's field
 * names, including the (A) ones the doc collapsed.
 *
 * Behaviour as documented: `Api-Key` auth (401 `401001`), MW's error format with JSON-pointer
 * `property_errors`, 201/`null` for `POST /partners/v1/tasks` (no task id), 204 for the
 * maintenance-plan trigger, 202/`null` for every bulk endpoint (bodies of 1..10000 items, applied
 * later, per-item failures reported nowhere), plan restrictions (403 `403001` on Premium+ routes for a
 * Starter network, and no webhooks at all on Starter), `X-MW-Signature` + `User-Agent: Mobility Work -
 * Webhook Service v1`, two retries then give up ("an e-mail is sent").
 *
 * The doc contradicts itself on what fails a delivery: "must respond with the HTTP code 200, otherwise
 * ... retried" (Webhooks) and "If the webhook fails (http code bigger than 399) ... retried twice"
 * (the event pages). The simulator takes the first, stricter reading (MW_SIM_WEBHOOK_SUCCESS_200:
 * anything but 200, a 204 or 3xx too, is retried); Millwright's receiver answers 200 either way.
 *
 * Simulator choices where the doc is silent (named so nobody mistakes them for MW facts):
 * - 202 writes are applied `applyDelayMs` (real time) after acceptance, in order; `settle()` applies
 *   them at once. Items naming an unknown spare part are dropped into `rejectedItems` (state only).
 * - Validation messageKeys other than `error.payload.min_length`, `error.payload.equipment.unknown` and
 *   `error.payload.assignees.unknown` (documented) are invented in the same style.
 * - The equipment typed identifier accepts `native`, `external` and `externalReference` (reference §7.17).
 * - Request contract: every field api-doc.txt marks required is required (400 `error.payload.required`
 *   at its JSON pointer), with the documented types and constraints (lengths, `>= 0`, patterns,
 *   1..10000 items); optional fields may be omitted, and `null` unsets an attribute on the two
 *   `/attributes` endpoints ("To unset an attribute, set it to null") except a `name` or spare-part
 *   `externalReference` (a record cannot be without one). Unknown extra properties are ignored.
 * - Objects the doc marks required but whose names it lost are the connector's named assumptions
 *   (functions/connectors/mobility-work/config.ts): `movements/bulk` items need the movement object
 *   `{id, movement: {type: 'inventory', quantity}}` (MW_STOCK_MOVEMENT; a flat `{id, quantity}` item,
 *   the deprecated PUT's shape, is a 400 at `/<i>/movement`), an absolute set (a recount); a
 *   `POST /spare-parts` item needs `unitPrice` `{amount, currency}` (amount: an integer, the doc's one
 *   rule, any sign; currency: a non-empty string, as the client requires) and `location` (optionally
 *   `{locationName}`; MW_SPARE_PART_REQUIRED_OBJECTS). Relocation uses the [EXT] `sparePartId`,
 *   `source` / `target` `{locationName}` names.
 * - Lengths are counted in characters (code points: an emoji is one), as the doc states them. A body
 *   holding half a surrogate pair is malformed_json (MW_LONE_SURROGATE_MALFORMED, validation.ts).
 * - Lengths the doc does not give are not invented: identifiers and `costCenter` take any length
 *   (identifiers must not be empty). A task's `assignees` is required but may be empty (the doc gives
 *   no minimum; reference §9 q7 asks MW); the connector's own rule, at least one, is its assumption
 *   MW_TASK_MIN_ASSIGNEES. A task's `endDateTime` may precede its `startDateTime` (the doc sets no order).
 * - Stock webhook triggers (see `afterStockChange`):
 *   - an absolute set (API movement/stock write when `emitOnApiWrites`, or a user recount) emits
 *     `SparePartWasManuallyRecounted` with `recounted: {quantity: <new stock>, previousStock}`;
 *   - a consumption emits `SparePartWasConsumed`, a restock `SparePartWasRestocked`;
 *   - then, for any decrease: `SparePartStockWasUnderMinThreshold` when the stock CROSSES the minimum,
 *     i.e. goes from > minimumStock to <= minimumStock (never while it stays under, never when the
 *     minimum is null; `<=` and crossing-only are assumptions), and `SparePartWasOutOfStock` when it
 *     goes from > 0 to 0. Their `movement` is `{type, quantity}` where quantity is the amount consumed
 *     or, for `inventory`, the new absolute stock.
 *   - A change of minimumStock through `/spare-parts/attributes` emits nothing (no stock movement).
 * - Deliveries go through one sequential queue (so per-part order holds), 3 attempts `retryDelayMs`
 *   apart; `_idempotencyKey` and the body are the same on every attempt, the nonce is new each time.
 *
 * Control routes (no auth): `GET /_sandbox/state`, `GET /_sandbox/deliveries`, `GET /_sandbox/events`,
 * `POST /_sandbox/settle`, `POST /_sandbox/reset`,
 * `POST /_sandbox/spare-parts/:externalReference/{consume|restock|recount}`,
 * `POST /_sandbox/tasks/:taskId/{start|complete|cancel|activities}`,
 * `POST /_sandbox/tasks/by-metadata/{start|complete|cancel|activities}` (body `{key, value, ...}`),
 * `POST /_sandbox/activities/:activityId/cancel-consumption`, plus the shared ones from server.ts.
 */

import { simulatorPersistence } from '../../../../sandbox/simulators/persistence.ts';
import { json, startSimulator } from '../../../../sandbox/simulators/server.ts';
import { apiRoute } from './auth.ts';
import { equipmentRoutes } from './equipment.ts';
import { sandboxControlRoutes } from './sandbox-controls.ts';
import { MW_SIM_NETWORK_SETTINGS } from './seed.ts';
import { locationRoutes, sparePartRoutes } from './spare-parts.ts';
import { mobilityWorkSavedState, resetWorld, snapshot } from './state.ts';
import { taskRoutes } from './tasks.ts';
import type { MobilityWorkSimulator, MobilityWorkSimulatorOptions } from './types.ts';
import {
  addActivity,
  cancelConsumption,
  cancelTask,
  completeTask,
  consume,
  findTaskByMetadata,
  recount,
  restock,
  startTask,
} from './user-actions.ts';
import { createWorld, type MobilityWorkWorld } from './world.ts';
import { settle, stopPendingTimers } from './writes.ts';

export { MobilityWorkSimError } from './errors.ts';
export {
  MW_SIM_API_USER,
  MW_SIM_DEFAULT_NETWORK_ID,
  MW_SIM_MAINTENANCE_PLAN_ID,
  MW_SIM_NETWORK_SETTINGS,
  MW_SIM_USERS,
  mwSimNewSparePart,
} from './seed.ts';
export * from './types.ts';
export { MW_SIM_BULK_LIMIT } from './validation.ts';
export { MW_SIM_WEBHOOK_USER_AGENT, mwIdempotencyKey } from './webhooks.ts';

/** Binds a world-first function to one world. */
const bound =
  <A extends unknown[], R>(world: MobilityWorkWorld, fn: (world: MobilityWorkWorld, ...args: A) => R) =>
  (...args: A): R =>
    fn(world, ...args);

export async function startMobilityWorkSimulator(
  options: MobilityWorkSimulatorOptions,
): Promise<MobilityWorkSimulator> {
  const world = createWorld(options);
  const { networkId, plan } = world.config;
  const reset = () => {
    resetWorld(world);
    sim.faults.length = 0;
    sim.requests.length = 0;
  };
  const routes = [
    apiRoute(world, 'GET', '/partners/v1/network/settings', () =>
      json(200, { networkId, ...MW_SIM_NETWORK_SETTINGS }),
    ),
    ...taskRoutes(world),
    ...sparePartRoutes(world),
    ...equipmentRoutes(world),
    ...locationRoutes(world),
    ...sandboxControlRoutes(world, { reset }),
  ];
  const saved = mobilityWorkSavedState(world);
  const persistence = simulatorPersistence(options.store, saved);
  world.commit = persistence.commit;
  persistence.restore();
  const sim = await startSimulator({
    name: 'mobility-work',
    routes,
    port: options.port,
    requestLogLimit: options.requestLogLimit,
    commit: persistence.commit,
  });
  const closeServer = sim.close;
  const action = <A extends unknown[], R>(fn: (world: MobilityWorkWorld, ...args: A) => R) =>
    persistence.committing(bound(world, fn));
  return Object.assign(sim, {
    networkId,
    plan,
    state: bound(world, snapshot),
    spareParts: () => structuredClone(world.spareParts),
    tasks: () => structuredClone(world.tasks),
    deliveries: () => structuredClone(world.deliveries),
    events: () => structuredClone(world.events),
    settle: bound(world, settle),
    consume: action(consume),
    restock: action(restock),
    recount: action(recount),
    startTask: action(startTask),
    completeTask: action(completeTask),
    cancelTask: action(cancelTask),
    findTaskByMetadata: bound(world, findTaskByMetadata),
    addActivity: action(addActivity),
    cancelConsumption: action(cancelConsumption),
    reset: persistence.committing(reset),
    exportState: saved.exportState,
    importState: persistence.committing(saved.importState),
    close: async () => {
      world.closed = true;
      // Pending writes stay in the saved state (they were committed when accepted) and are applied
      // after a restart; here they only stop being applied by this instance.
      stopPendingTimers(world);
      await world.queue;
      await closeServer();
    },
  });
}
