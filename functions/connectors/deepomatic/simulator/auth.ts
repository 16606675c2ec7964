/** `Authorization: Token <key>` (E4 `{detail}` bodies) and the API's trailing-slash rule. */
import { json, type SimRequest, type SimResponse } from '../../../../sandbox/simulators/server.ts';
import { DM_AUTH_INVALID, DM_AUTH_MISSING } from './catalogue.ts';
import type { DeepomaticSimState } from './state.ts';

const authError = (state: DeepomaticSimState, req: SimRequest): SimResponse | undefined => {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^Token\s+\S/.test(header)) return json(401, DM_AUTH_MISSING);
  if (header.replace(/^Token\s+/, '') !== state.apiKey) return json(401, DM_AUTH_INVALID);
  return undefined;
};

/** Auth, then the trailing-slash rule, then the handler. */
export const authenticated =
  (state: DeepomaticSimState, handler: (req: SimRequest) => SimResponse) =>
  (req: SimRequest): SimResponse =>
    authError(state, req) ?? (req.path.endsWith('/') ? handler(req) : json(404, { detail: 'Not found.' }));
