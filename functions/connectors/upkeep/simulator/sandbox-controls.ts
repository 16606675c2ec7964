/**
 * Control routes (no auth): `GET /_sandbox/state`, `POST /_sandbox/tokens/expire`,
 * `POST /_sandbox/work-orders` (a user creates one in the app), `POST /_sandbox/reset`,
 * `POST /_sandbox/parts` (`{parts: [...]}`, bulk create), `POST /_sandbox/parts/:id/consume` and
 * `/restock` (`{quantity}`), `POST /_sandbox/assets/:id/downtime-status` (`{downtimeStatus}`, null
 * removes it).
 */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { setDowntimeStatus } from './assets.ts';
import { expireTokens } from './auth.ts';
import { bad } from './errors.ts';
import { addParts, adjustStock, renderPart } from './parts.ts';
import { control } from './routing.ts';
import { snapshot, type UpKeepWorld } from './state.ts';
import type { SimPartInput } from './types.ts';
import { isObject } from './validation.ts';
import { createWorkOrder } from './work-orders.ts';

export function sandboxControlRoutes(world: UpKeepWorld, deps: { reset(): void }): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () => json(200, snapshot(world)),
    },
    // A technician creates a work order in UpKeep's app: same checks and webhook as the API.
    control('POST', '/_sandbox/work-orders', (req) =>
      json(200, { workOrder: createWorkOrder(world, req.json) }),
    ),
    control('POST', '/_sandbox/parts', (req) => {
      const body = req.json;
      if (!isObject(body) || !Array.isArray(body.parts)) throw bad('body must be {"parts": [...]}');
      const created = addParts(world, body.parts as SimPartInput[]);
      return json(200, { created: created.length, ids: created.map((p) => p.id) });
    }),
    // An asset whose downtimeStatus is set in the app, or that shows none (`{"downtimeStatus": null}`).
    control('POST', '/_sandbox/assets/:id/downtime-status', (req) => {
      const status = isObject(req.json) ? req.json.downtimeStatus : undefined;
      return json(200, { asset: setDowntimeStatus(world, req.params.id ?? '', status) });
    }),
    control('POST', '/_sandbox/parts/:id/consume', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: renderPart(adjustStock(world, req.params.id, -1, quantity)) });
    }),
    control('POST', '/_sandbox/parts/:id/restock', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: renderPart(adjustStock(world, req.params.id, 1, quantity)) });
    }),
    {
      method: 'POST',
      pattern: '/_sandbox/tokens/expire',
      handler: () => {
        expireTokens(world);
        return json(200, { expired: world.tokens.size });
      },
    },
    {
      method: 'POST',
      pattern: '/_sandbox/reset',
      handler: () => {
        deps.reset();
        return json(200, { reset: true });
      },
    },
  ];
}
