/**
 * The `Api-Key` gate every Public API route goes through: 401 `401001` for a wrong key, 403 `403001`
 * for a Premium+ route on a Starter network, 400 for a body that is not JSON, and a `Request-Id`
 * header on every answer.
 */
import { randomUUID } from 'node:crypto';
import type { Route, SimRequest, SimResponse } from '../../../../sandbox/simulators/server.ts';
import type { MwPlan } from './types.ts';
import { hasLoneSurrogate, invalidPayload, mwError, Problems } from './validation.ts';
import type { MobilityWorkWorld } from './world.ts';

function authError(): SimResponse {
  const problems = new Problems();
  problems.global.push({ messageKey: 'Invalid Api Key.', parameters: {} });
  return mwError(401, '401001', 'Authentication error', problems);
}

function planError(plan: MwPlan): SimResponse {
  const problems = new Problems();
  problems.global.push({
    messageKey: 'Subscription plan does not allow to use that API',
    parameters: { plan },
  });
  return mwError(403, '403001', 'Subscription plan does not allow to use that API', problems);
}

/** An `Api-Key` route answering in MW's format, with a `Request-Id` header. */
export const apiRoute = (
  world: MobilityWorkWorld,
  method: string,
  pattern: string,
  handler: (req: SimRequest) => SimResponse,
  premiumOnly = false,
): Route => ({
  method,
  pattern,
  handler: (req) => {
    const { apiKey, plan } = world.config;
    const header = req.headers['api-key'];
    const key = Array.isArray(header) ? header[0] : header;
    let response: SimResponse;
    if (key !== apiKey) response = authError();
    else if (premiumOnly && plan === 'starter') response = planError(plan);
    else if (req.rawBody.trim() !== '' && (req.json === undefined || hasLoneSurrogate(req.json))) {
      const p = new Problems();
      p.global.push({ messageKey: 'error.payload.malformed_json', parameters: {} });
      response = invalidPayload(p);
    } else response = handler(req);
    return { ...response, headers: { ...response.headers, 'request-id': randomUUID() } };
  },
});
