/**
 * Sessions: `POST /auth` (JSON or form body) issues a token with `expiresAt`; `DELETE /auth` ends
 * one. Every other API route checks the token (routing.ts).
 */
import { randomBytes } from 'node:crypto';
import { appendBounded, json, type Route } from '../../../../sandbox/simulators/server.ts';
import { api, recordCall, sessionToken, UPKEEP_SIM_API_PREFIX } from './routing.ts';
import { logLimit, type UpKeepWorld } from './state.ts';
import { isObject } from './validation.ts';

/** Every session token issued so far stops working (as after a real session expiry). */
export function expireTokens(world: UpKeepWorld): void {
  for (const token of world.tokens.keys()) world.tokens.set(token, 0);
}

/**
 * Drop the sessions past their `expiresAt` (one is added per login, for as long as a sandbox runs):
 * an expired token and an unknown one get the same 401, so no answer changes; a live one stays.
 */
function forgetExpiredTokens(world: UpKeepWorld, now: number): void {
  for (const [token, expiresAt] of world.tokens) if (now >= expiresAt) world.tokens.delete(token);
}

export function authRoutes(world: UpKeepWorld): Route[] {
  const tokenTtlMs = world.options.tokenTtlMs ?? 30 * 86_400_000;
  const login: Route = {
    method: 'POST',
    pattern: `${UPKEEP_SIM_API_PREFIX}/auth`,
    handler: (req) => {
      recordCall(world, req, false);
      world.authAttempts++;
      const contentType = String(req.headers['content-type'] ?? '');
      let fields: Record<string, unknown> = {};
      if (contentType.includes('application/x-www-form-urlencoded')) {
        fields = Object.fromEntries(new URLSearchParams(req.rawBody));
      } else if (isObject(req.json)) {
        fields = req.json;
      }
      for (const field of ['email', 'password']) {
        if (typeof fields[field] !== 'string' || fields[field] === '') {
          return json(400, { success: false, message: `${field} cannot be null` });
        }
      }
      if (fields.email !== world.options.email || fields.password !== world.options.password) {
        return json(401, { success: false, message: 'Invalid username/password.' });
      }
      const sessionToken = `r:${randomBytes(16).toString('hex')}`;
      const now = world.clock.now().getTime();
      forgetExpiredTokens(world, now);
      const expiresAt = now + tokenTtlMs;
      world.tokens.set(sessionToken, expiresAt);
      appendBounded(world.issued, sessionToken, logLimit(world));
      world.logins++;
      return json(200, {
        success: true,
        result: { sessionToken, expiresAt: new Date(expiresAt).toISOString() },
      });
    },
  };
  return [
    login,
    api(world, 'DELETE', '/auth', (req) => {
      world.tokens.delete(String(sessionToken(req)));
      return json(200, { success: true, message: 'session deleted' });
    }),
  ];
}
