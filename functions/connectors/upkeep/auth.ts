/**
 * UpKeep session tokens (reference §1.3): `POST /auth` with email + password returns
 * `{sessionToken, expiresAt}`; there is no refresh endpoint, so we log in again when
 * `now >= expiresAt - margin`, or after a 401 (core/auth.ts SessionAuth does the caching, the single
 * flight and the renewal; this file says only how UpKeep logs in).
 *
 * The provider is meant to live at module scope (one per Lambda container): the token is cached in
 * memory and concurrent callers share one login (single flight).
 */
import { type CredentialLoader, type Session, SessionAuth } from '../../core/auth.ts';
import { VendorResponseError } from '../../core/errors.ts';
import type { HttpClient } from '../../core/http.ts';
import type { Log } from '../../core/log.ts';
import { authResponseSchema } from './schemas.ts';

export interface UpKeepCredentials {
  email: string;
  password: string;
}

/** Reads the credentials; `refresh: true` bypasses any cache (the password may have been rotated). */
export type CredentialsLoader = CredentialLoader<UpKeepCredentials>;

export type UpKeepSession = Session;

export interface UpKeepSessionProviderOptions {
  /** Client for `POST /auth` (the same one the API calls use, so redaction covers both). */
  http: HttpClient;
  loadCredentials: CredentialsLoader;
  refreshMarginMs: number;
  /** The secret the credentials come from, named when UpKeep refuses them after a re-read. */
  secretName?: string;
  now?: () => Date;
  log?: Log;
}

/** `POST /auth`: the session token and its expiry. */
async function login(http: HttpClient, credentials: UpKeepCredentials) {
  const { data } = await http.request({
    operation: 'login',
    method: 'POST',
    path: '/auth/',
    body: { email: credentials.email, password: credentials.password },
    // A second login is harmless (it only opens another session), so timeouts may be retried.
    idempotent: true,
    schema: authResponseSchema,
  });
  const { sessionToken, expiresAt } = data.result;
  const expiresMs = Date.parse(expiresAt);
  if (Number.isNaN(expiresMs)) {
    throw new VendorResponseError(http.vendor, 'login', 'result.expiresAt', 'not a valid date');
  }
  return { sessionToken, expiresAt: new Date(expiresMs) };
}

/** UpKeep's session: the `Session-Token` header; a login refused with 401 or 400 re-reads the secret. */
export class UpKeepSessionProvider extends SessionAuth<UpKeepCredentials> {
  constructor(options: UpKeepSessionProviderOptions) {
    super({
      vendor: options.http.vendor,
      loadCredentials: options.loadCredentials,
      sameCredentials: (a, b) => a.email === b.email && a.password === b.password,
      sensitive: (credentials) => [credentials.password],
      login: (credentials) => login(options.http, credentials),
      loginRefusedStatuses: [401, 400],
      headers: (sessionToken) => ({ 'session-token': sessionToken }),
      refreshMarginMs: options.refreshMarginMs,
      secretName: options.secretName,
      now: options.now,
      log: options.log,
    });
  }
}
