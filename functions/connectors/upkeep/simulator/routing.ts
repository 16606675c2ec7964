/**
 * How the UpKeep simulator's routes are wrapped: API routes live under `/api/v2`, need a live
 * `Session-Token` and are recorded in the call log; control routes need neither. In both, an ApiError
 * becomes UpKeep's `{success: false, message}` envelope.
 */
import {
  answeringInputErrors,
  appendBounded,
  controlRoute,
  type ErrorBody,
  json,
  type Route,
  type SimRequest,
  type SyncHandler,
} from '../../../../sandbox/simulators/server.ts';
import { ApiError, bad } from './errors.ts';
import { logLimit, type UpKeepWorld } from './state.ts';
import { isObject } from './validation.ts';

export const UPKEEP_SIM_API_PREFIX = '/api/v2';

export function recordCall(world: UpKeepWorld, req: SimRequest, authorized: boolean): void {
  const query: Record<string, string[]> = {};
  for (const [k, v] of req.query) query[k] = [...(query[k] ?? []), v];
  const version = req.headers['upkeep-version'];
  const call = {
    line: `${req.method} ${req.path.slice(UPKEEP_SIM_API_PREFIX.length).replace(/\/+$/, '') || '/'}`,
    query,
    version: Array.isArray(version) ? version[0] : version,
    authorized,
  };
  appendBounded(world.calls, call, logLimit(world));
}

/** UpKeep's error envelope. */
const failure: ErrorBody = (error) => ({ success: false, message: error.message });

/** A control route (no auth, not recorded); ApiErrors become `{success: false, message}`. */
export const control = (method: string, pattern: string, handler: SyncHandler): Route =>
  controlRoute(method, pattern, handler, failure);

/** The `Session-Token` header, if sent. */
export function sessionToken(req: SimRequest): string | undefined {
  const header = req.headers['session-token'];
  return Array.isArray(header) ? header[0] : header;
}

/** An authenticated API route. */
export const api = (world: UpKeepWorld, method: string, path: string, handler: SyncHandler): Route => {
  const checked = answeringInputErrors(handler, failure);
  return {
    method,
    pattern: `${UPKEEP_SIM_API_PREFIX}${path}`,
    handler: (req) => {
      const token = sessionToken(req);
      const expiresAt = token ? world.tokens.get(token) : undefined;
      const authorized = expiresAt !== undefined && world.clock.now().getTime() < expiresAt;
      recordCall(world, req, authorized);
      if (!authorized) return json(401, { success: false, message: 'Unauthorized' });
      return checked(req);
    },
  };
};

/** The methods a 405 is answered for (HEAD and OPTIONS are left to the generic 404). */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * "405 Method Not Allowed -- You tried to access a object with an invalid method." (api-doc.txt
 * Errors): for every API path served, the methods it does not serve answer 405 with UpKeep's
 * envelope, after the token check. The doc gives no message text for a 405; its meaning is used.
 * Appended after every route, so a path another route serves with that method still reaches it.
 */
export function methodNotAllowedRoutes(world: UpKeepWorld, routes: readonly Route[]): Route[] {
  const served = new Map<string, Set<string>>();
  for (const route of routes) {
    if (!route.pattern.startsWith(`${UPKEEP_SIM_API_PREFIX}/`)) continue;
    const path = route.pattern.slice(UPKEEP_SIM_API_PREFIX.length);
    served.set(path, (served.get(path) ?? new Set()).add(route.method));
  }
  return [...served].flatMap(([path, methods]) =>
    METHODS.filter((m) => !methods.has(m)).map((method) =>
      api(world, method, path, () => {
        throw new ApiError(405, 'You tried to access a object with an invalid method.');
      }),
    ),
  );
}

/** The doc's curl sends a form (`-d title=...`); JSON is accepted too. Form numbers are coerced. */
export function requestBody(req: SimRequest): Record<string, unknown> {
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const form: Record<string, unknown> = Object.fromEntries(new URLSearchParams(req.rawBody));
    for (const key of ['priority', 'dueDate']) {
      const v = form[key];
      if (typeof v === 'string' && /^\d+$/.test(v)) form[key] = Number(v);
    }
    return form;
  }
  if (!isObject(req.json)) throw bad('Request body must be a JSON object');
  return req.json;
}

/** The JSON object body of a create or PATCH. */
export function jsonObjectBody(req: SimRequest): Record<string, unknown> {
  if (!isObject(req.json)) throw bad('Request body must be a JSON object');
  return req.json;
}
