/**
 * UpKeep API simulator, built from the vendor doc (shared/vendors/upkeep/reference.md). It serves
 * the API under `/api/v2` like the real host, so a client's `baseUrl` is `sim.baseUrl`.
 *
 * Behaviour as documented: session tokens from `POST /auth` (JSON or form body) with `expiresAt`,
 * `Session-Token` required everywhere else, `{success, result|results|message}` envelopes, 400
 * messages `title cannot be null`, `<field> not in schema`, `invalid filter key: <key>`,
 * `<field> is not allowed to be set!`, numbers as strings in GET responses (priority, time, cost)
 * and in the work-order PATCH answer (its example has `"priority": "1"`, the create's `1`), 405 for
 * a served path with a method it does not serve,
 * asset timestamps without `Z`, and the bulk downtime endpoint with per-row errors and
 * `success: false`. Parts return `cost`, `quantity` and `minimumQuantity` as strings and the part
 * number as `partName` (reference §7.9, §7.20); list them with the documented filters, sorted by the
 * order field then by id, so parts that share an updatedAt millisecond (a manual clock makes that
 * common) page stably. Purchase orders (status, partial fulfilment with the documented messages)
 * and requests (JSON or form body) are served too, and webhooks can be registered through the API
 * (webhooks.ts: events then also go to each enabled registered endpoint). Where the doc is silent
 * the choice is noted in place (e.g. `row` numbering, the HTTP status of a partial downtime failure, webhook payload shape,
 * fulfilling a purchase order does not restock its parts).
 *
 * Request contract (api-doc.txt): the required fields (`title`, part `name`, `email`/`password`,
 * update-message `text`, downtime `assetId`/`status`/`recordedOn`, additional-cost `amount`/`info`/
 * `category`/`assignedToUser`, form-item `name`/`type`) are required, documented fields have their
 * documented types, unknown ones are `not in schema`. Optional fields are not filled in: a part
 * created without `quantity` holds none (`quantity: null`), and PATCH `null` erases a field ("Null
 * values are allowed to erase the value unless otherwise stated") except `title` / part `name`.
 * Update messages take a form body like the doc's curl, or JSON.
 *
 * Control routes (no auth): `GET /_sandbox/state`, `POST /_sandbox/tokens/expire`,
 * `POST /_sandbox/work-orders` (a user creates one in the app: same checks and webhook as the API),
 * `POST /_sandbox/reset`, `POST /_sandbox/parts` (`{parts: [...]}`, bulk create),
 * `POST /_sandbox/parts/:id/consume` and `/restock` (`{quantity}`), `POST
 * /_sandbox/assets/:id/downtime-status` (`{downtimeStatus}`, null removes it), plus the shared ones from
 * server.ts (`/_sandbox/faults`, `/_sandbox/requests`).
 *
 * One module per resource group (work-orders, parts, purchase-orders, requests, assets + downtime,
 * auth, sandbox-controls), each a function from the world (state.ts) to its routes; this file
 * assembles them and owns the lifecycle.
 */
import { simulatorPersistence } from '../../../../sandbox/simulators/persistence.ts';
import { startSimulator } from '../../../../sandbox/simulators/server.ts';
import { assetRoutes, setDowntimeStatus } from './assets.ts';
import { authRoutes, expireTokens } from './auth.ts';
import { addParts, adjustStock, partRoutes } from './parts.ts';
import { purchaseOrderRoutes } from './purchase-orders.ts';
import { requestRoutes } from './requests.ts';
import { methodNotAllowedRoutes, UPKEEP_SIM_API_PREFIX } from './routing.ts';
import { sandboxControlRoutes } from './sandbox-controls.ts';
import {
  createWorld,
  resetWorld,
  snapshot,
  UPKEEP_SIM_SEED_PARTS,
  type UpKeepWorld,
  upkeepSavedState,
} from './state.ts';
import type { SimPartInput, UpKeepSimulator, UpKeepSimulatorOptions } from './types.ts';
import { flushWebhooks, webhookRoutes } from './webhooks.ts';
import { workOrderRoutes } from './work-orders.ts';

export { UPKEEP_SIM_API_PREFIX } from './routing.ts';
export {
  UPKEEP_SIM_ASSET_IDS,
  UPKEEP_SIM_SEED_PARTS,
  UPKEEP_SIM_STATE_VERSION,
  type UpKeepSavedState,
  type UpKeepSimState,
  upkeepId,
} from './state.ts';
export type * from './types.ts';

/** The parts the account starts with (and gets back on reset). */
const seedParts = (world: UpKeepWorld) => addParts(world, world.options.parts ?? UPKEEP_SIM_SEED_PARTS);

export async function startUpKeepSimulator(options: UpKeepSimulatorOptions): Promise<UpKeepSimulator> {
  const world = createWorld(options);
  const reset = (): void => {
    resetWorld(world);
    seedParts(world);
    sim.faults.length = 0;
    sim.requests.length = 0;
  };
  const routes = [
    ...authRoutes(world),
    ...workOrderRoutes(world),
    ...assetRoutes(world),
    ...partRoutes(world),
    ...purchaseOrderRoutes(world),
    ...requestRoutes(world),
    ...webhookRoutes(world),
    ...sandboxControlRoutes(world, { reset }),
  ];
  routes.push(...methodNotAllowedRoutes(world, routes));

  seedParts(world);
  const saved = upkeepSavedState(world);
  const persistence = simulatorPersistence(options.store, saved);
  persistence.restore();
  const sim = await startSimulator({
    name: 'upkeep',
    routes,
    port: options.port,
    requestLogLimit: options.requestLogLimit,
    commit: persistence.commit,
  });
  return Object.assign(sim, {
    baseUrl: `${sim.url}${UPKEEP_SIM_API_PREFIX}`,
    state: () => snapshot(world),
    workOrders: () => structuredClone(world.workOrders),
    assets: () => structuredClone(world.assets),
    downtime: () => structuredClone(world.downtime),
    parts: () => structuredClone(world.parts),
    purchaseOrders: () => structuredClone(world.purchaseOrders),
    workRequests: () => structuredClone(world.requests),
    workOrderMessages: (workOrderId?: string) =>
      structuredClone(world.updateMessages.filter((m) => !workOrderId || m.workOrderId === workOrderId)),
    consumePart: persistence.committing((id: string, quantity: number) =>
      structuredClone(adjustStock(world, id, -1, quantity)),
    ),
    restockPart: persistence.committing((id: string, quantity: number) =>
      structuredClone(adjustStock(world, id, 1, quantity)),
    ),
    setAssetDowntimeStatus: persistence.committing((id: string, status: string | null) =>
      setDowntimeStatus(world, id, status),
    ),
    addParts: persistence.committing((list: readonly SimPartInput[]) =>
      structuredClone(addParts(world, list)),
    ),
    calls: () => structuredClone(world.calls),
    authAttempts: () => world.authAttempts,
    logins: () => world.logins,
    issuedTokens: () => [...world.issued],
    expireTokens: () => expireTokens(world),
    reset: persistence.committing(reset),
    exportState: saved.exportState,
    importState: persistence.committing(saved.importState),
    webhookDeliveries: () => structuredClone(world.deliveries),
    registeredWebhooks: () => structuredClone(world.webhooks),
    flushWebhooks: () => flushWebhooks(world),
  });
}
