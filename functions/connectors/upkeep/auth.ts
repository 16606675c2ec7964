/**
 * UpKeep session tokens (reference §1.3): `POST /auth` with email + password returns
 * `{sessionToken, expiresAt}`; there is no refresh endpoint, so we log in again when
 * `now >= expiresAt - margin`, or after a 401 (the client calls `invalidate`).
 *
 * The provider is meant to live at module scope (one per Lambda container): the token is cached in
 * memory and concurrent callers share one login (single flight).
 */
import { VendorHttpError, VendorResponseError } from '../../core/errors.ts';
import type { HttpClient } from '../../core/http.ts';
import type { Log } from '../../core/log.ts';
import { silentLog } from '../../core/log.ts';
import { authResponseSchema } from './schemas.ts';

export interface UpKeepCredentials {
  email: string;
  password: string;
}

/** Reads the credentials; `refresh: true` bypasses any cache (the password may have been rotated). */
export type CredentialsLoader = (options: { refresh: boolean }) => Promise<UpKeepCredentials>;

export interface UpKeepSession {
  sessionToken: string;
  /** From the login response. */
  expiresAt: Date;
  /** When we log in again: `expiresAt - margin`, the margin capped at half the token's lifetime. */
  refreshAt: Date;
}

export interface UpKeepSessionProviderOptions {
  /** Client for `POST /auth` (the same one the API calls use, so redaction covers both). */
  http: HttpClient;
  loadCredentials: CredentialsLoader;
  refreshMarginMs: number;
  now?: () => Date;
  log?: Log;
}

const KEEP_SECRETS = 3;

export class UpKeepSessionProvider {
  private readonly http: HttpClient;
  private readonly loadCredentials: CredentialsLoader;
  private readonly refreshMarginMs: number;
  private readonly now: () => Date;
  private readonly log: Log;
  private current: UpKeepSession | undefined;
  private inflight: Promise<UpKeepSession> | undefined;
  /** Recent passwords and tokens, for redaction only (a stale one may still be echoed somewhere). */
  private readonly recent: string[] = [];
  /** Successful logins so far (for logs and tests). */
  logins = 0;

  constructor(options: UpKeepSessionProviderOptions) {
    this.http = options.http;
    this.loadCredentials = options.loadCredentials;
    this.refreshMarginMs = options.refreshMarginMs;
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? silentLog;
  }

  /** The cached session, if any (no I/O). */
  get session(): UpKeepSession | undefined {
    return this.current;
  }

  /** A valid session token, logging in when there is none or it is close to expiry. */
  async getToken(): Promise<string> {
    const session = this.current;
    if (session && this.now().getTime() < session.refreshAt.getTime()) return session.sessionToken;
    if (!this.inflight) {
      this.inflight = this.login()
        .then((fresh) => {
          this.current = fresh;
          return fresh;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return (await this.inflight).sessionToken;
  }

  /**
   * Drop the cached token. Pass the token that was rejected: if another caller has already replaced
   * it, the newer token is kept (so concurrent 401s cause one login, not one each).
   */
  invalidate(token?: string): void {
    if (token === undefined || this.current?.sessionToken === token) this.current = undefined;
  }

  /** Values that must never appear in an error or log: recent passwords and session tokens. */
  sensitiveValues(): string[] {
    return [...this.recent];
  }

  private remember(value: string): void {
    if (this.recent.includes(value)) return;
    this.recent.push(value);
    // Passwords and tokens interleave; keep a few of each.
    if (this.recent.length > KEEP_SECRETS * 2) this.recent.shift();
  }

  private async login(): Promise<UpKeepSession> {
    const credentials = await this.loadCredentials({ refresh: false });
    try {
      return await this.postAuth(credentials);
    } catch (error) {
      // Wrong credentials: the cached secret may predate a password rotation. Re-read it once.
      if (!(error instanceof VendorHttpError) || (error.status !== 401 && error.status !== 400)) throw error;
      const fresh = await this.loadCredentials({ refresh: true });
      if (fresh.email === credentials.email && fresh.password === credentials.password) throw error;
      this.log.info('upkeep login rejected; retrying once with the refreshed secret', {
        status: error.status,
      });
      return await this.postAuth(fresh);
    }
  }

  private async postAuth(credentials: UpKeepCredentials): Promise<UpKeepSession> {
    this.remember(credentials.password);
    const issuedAt = this.now().getTime();
    const { data } = await this.http.request({
      operation: 'login',
      method: 'POST',
      path: '/auth/',
      body: { email: credentials.email, password: credentials.password },
      // A second login is harmless (it only opens another session), so timeouts may be retried.
      idempotent: true,
      schema: authResponseSchema,
    });
    const { sessionToken, expiresAt } = data.result;
    this.remember(sessionToken);
    const expiresMs = Date.parse(expiresAt);
    if (Number.isNaN(expiresMs)) {
      throw new VendorResponseError(this.http.vendor, 'login', 'result.expiresAt', 'not a valid date');
    }
    // A token that lives shorter than the margin would otherwise be refreshed on every call.
    const lifetime = Math.max(0, expiresMs - issuedAt);
    const margin = Math.min(this.refreshMarginMs, lifetime / 2);
    this.logins++;
    this.log.info('upkeep session opened', { expiresAt });
    return { sessionToken, expiresAt: new Date(expiresMs), refreshAt: new Date(expiresMs - margin) };
  }
}
