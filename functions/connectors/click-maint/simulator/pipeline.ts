/**
 * The API pipeline every `/api/v1` route runs: log the call, auth (401, not counted), rate limit
 * (429), then `X-Entity-Id` (400 when missing or not an integer, 404 when unknown to the key).
 */
import {
  appendBounded,
  type Route,
  type SimRequest,
  type SimResponse,
} from '../../../../sandbox/simulators/server.ts';
import { rateHeaders, rollWindow } from './rate-limit.ts';
import { CLICK_MAINT_SIM_API_PREFIX, type SimCall, type SimEntity } from './records.ts';
import { errorResponse, SimulatorInputError } from './responses.ts';
import type { ClickMaintWorld } from './state.ts';

type Scope = 'entity' | 'account';
type ScopedHandler = (req: SimRequest, entity: SimEntity | undefined) => SimResponse;

/** An entity-scoped API route (`X-Entity-Id` required). */
export const api = (
  world: ClickMaintWorld,
  method: string,
  path: string,
  handler: (req: SimRequest, entity: SimEntity) => SimResponse,
): Route =>
  route(
    world,
    method,
    path,
    (req, entity) => (entity ? handler(req, entity) : errorResponse(500, 'no entity')),
    'entity',
  );

/** An account-scoped API route (`GET /entities`: no `X-Entity-Id`). */
export const accountApi = (
  world: ClickMaintWorld,
  method: string,
  path: string,
  handler: (req: SimRequest) => SimResponse,
): Route => route(world, method, path, (req) => handler(req), 'account');

function route(
  world: ClickMaintWorld,
  method: string,
  path: string,
  handler: ScopedHandler,
  scope: Scope,
): Route {
  return {
    method,
    pattern: `${CLICK_MAINT_SIM_API_PREFIX}${path}`,
    handler: (req) => {
      const call: SimCall = {
        line: `${method} ${req.path.slice(CLICK_MAINT_SIM_API_PREFIX.length).replace(/\/+$/, '')}`,
        query: {},
        entityId: headerOf(req, 'x-entity-id'),
        body: req.json,
        status: 0,
      };
      for (const [k, v] of req.query.entries()) call.query[k] = [...(call.query[k] ?? []), v];
      appendBounded(world.calls, call, world.callLogLimit);
      const response = run(world, req, handler, scope);
      call.status = response.status;
      return response;
    },
  };
}

function run(world: ClickMaintWorld, req: SimRequest, handler: ScopedHandler, scope: Scope): SimResponse {
  const auth = headerOf(req, 'authorization');
  if (auth !== `Bearer ${world.apiKey}`) {
    world.stats.unauthorized++;
    return errorResponse(401, 'Invalid API key');
  }
  const nowMs = world.wallClock();
  rollWindow(world, nowMs);
  world.window.counted++;
  if (world.window.counted > world.rateLimit.limit) {
    world.stats.rateLimited++;
    return {
      ...errorResponse(429, 'Rate limit exceeded. Try again later.'),
      headers: rateHeaders(world, nowMs),
    };
  }
  world.window.accepted++;
  world.stats.maxAcceptedInWindow = Math.max(world.stats.maxAcceptedInWindow, world.window.accepted);
  const headers = rateHeaders(world, nowMs);
  let response: SimResponse;
  try {
    if (scope === 'account') {
      response = handler(req, undefined);
    } else {
      const raw = headerOf(req, 'x-entity-id');
      if (raw === undefined || raw.trim() === '') {
        response = errorResponse(400, 'X-Entity-Id header is required');
      } else if (!/^\d+$/.test(raw.trim())) {
        response = errorResponse(400, 'X-Entity-Id must be an integer');
      } else {
        const entity = world.entities.find((e) => e.id === Number(raw.trim()));
        response = entity ? handler(req, entity) : errorResponse(404, 'Entity not found');
      }
    }
  } catch (e) {
    if (!(e instanceof SimulatorInputError)) throw e;
    response = errorResponse(e.status, e.message);
  }
  return { ...response, headers: { ...response.headers, ...headers } };
}

function headerOf(req: SimRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
