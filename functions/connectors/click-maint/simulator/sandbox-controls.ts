/**
 * The control API (no auth, not rate limited): state, stats, reset, parts and their stock, settings.
 * The stats and reset also read and clear the server's request log and fault queue.
 */
import { json, type Route, type Simulator } from '../../../../sandbox/simulators/server.ts';
import { addParts, adjust } from './parts.ts';
import { setRateLimit } from './rate-limit.ts';
import type { ClickMaintSimState, ClickMaintSimStats, SimPartInput } from './records.ts';
import { control, SimulatorInputError } from './responses.ts';
import { seedWorld } from './seed.ts';
import type { ClickMaintWorld } from './state.ts';
import { isNumber, isObject } from './validation.ts';

export interface ClickMaintControls {
  stats(): ClickMaintSimStats;
  state(): ClickMaintSimState;
  /** Data, stats, calls and the request log back to the start (settings stay). */
  reset(): void;
}

/** `server` is the running simulator (its request log and faults), known once it has started. */
export function clickMaintControls(world: ClickMaintWorld, server: () => Simulator): ClickMaintControls {
  const stats = (): ClickMaintSimStats => ({
    requests: server().requestCount,
    ...world.stats,
    window: { ...world.window },
    rateLimit: { ...world.rateLimit },
  });
  const state = (): ClickMaintSimState => {
    const { entities, parts, assets, workOrders, transactions } = world;
    return structuredClone({ entities, parts, assets, workOrders, transactions, stats: stats() });
  };
  const reset = (): void => {
    world.parts = [];
    world.assets = [];
    world.workOrders = [];
    world.transactions = [];
    world.calls = [];
    world.woCounter = 1000;
    world.txCounter = 0;
    Object.assign(world.stats, { unauthorized: 0, rateLimited: 0, maxAcceptedInWindow: 0 });
    world.window = { startMs: 0, counted: 0, accepted: 0 };
    server().faults.length = 0;
    server().requests.length = 0;
    server().requestCount = 0;
    seedWorld(world);
  };
  return { stats, state, reset };
}

export function sandboxControlRoutes(world: ClickMaintWorld, controls: ClickMaintControls): Route[] {
  return [
    control('GET', '/_sandbox/state', () => json(200, controls.state())),
    control('GET', '/_sandbox/stats', () => json(200, controls.stats())),
    control('POST', '/_sandbox/reset', () => {
      controls.reset();
      return json(200, { reset: true });
    }),
    control('POST', '/_sandbox/parts', (req) => {
      const body = req.json;
      if (!isObject(body) || !isNumber(body.entityId) || !Array.isArray(body.parts)) {
        throw new SimulatorInputError(400, 'body must be {"entityId": <id>, "parts": [...]}');
      }
      const created = addParts(world, body.entityId, body.parts as SimPartInput[]);
      return json(201, { created: created.length, parts: structuredClone(created) });
    }),
    control('POST', '/_sandbox/parts/:id/consume', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: structuredClone(adjust(world, Number(req.params.id), -1, quantity)) });
    }),
    control('POST', '/_sandbox/parts/:id/restock', (req) => {
      const quantity = isObject(req.json) ? req.json.quantity : undefined;
      return json(200, { part: structuredClone(adjust(world, Number(req.params.id), 1, quantity)) });
    }),
    control('POST', '/_sandbox/settings', (req) => {
      const body = isObject(req.json) ? req.json : {};
      if (body.rateLimit !== undefined)
        setRateLimit(world, body.rateLimit as { limit: number; windowSeconds: number });
      if (body.acceptsUpdatedAtFilter !== undefined) {
        if (typeof body.acceptsUpdatedAtFilter !== 'boolean') {
          throw new SimulatorInputError(400, 'acceptsUpdatedAtFilter must be a boolean');
        }
        world.acceptsUpdatedAtFilter = body.acceptsUpdatedAtFilter;
      }
      return json(200, { rateLimit: world.rateLimit, acceptsUpdatedAtFilter: world.acceptsUpdatedAtFilter });
    }),
  ];
}
