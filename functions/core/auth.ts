/**
 * How vendor clients authenticate: one credential cache and a few strategies over it.
 *
 * - CredentialCache: a credential read lazily (never in a constructor), kept, and shared by
 *   concurrent callers (one read in flight at a time). When the vendor refuses it, `renew` re-reads it
 *   with `refresh: true` (the secret may have rotated); callers refused with the same value share that
 *   one re-read, and a caller whose value was already replaced gets the newer one without a read.
 * - CredentialAuth: sends with the credential's headers; a refused status renews the credential once
 *   and sends once more, only when it changed (an unchanged credential would be refused again) unless
 *   `retryUnchanged`. The vendor did not act on a refused call, so this holds for writes too. A final
 *   refusal is a CredentialRejectedError naming the secret.
 * - Strategies: `apiKeyHeader` (a key as is in a header: `Api-Key: <key>`, `Authorization: Token
 *   <key>`), `bearer` (`Authorization: Bearer <key>`), and SessionAuth (log in with credentials from a
 *   secret, send the session token, log in again before expiry or after a refusal).
 */
import { CredentialRejectedError, VendorHttpError } from './errors.ts';
import { type Log, silentLog } from './log.ts';

/** Reads a credential; `refresh: true` bypasses any cache (it was refused; it may have rotated). */
export type CredentialLoader<T> = (options: { refresh: boolean }) => Promise<T>;

export interface CredentialCacheOptions<T> {
  load: CredentialLoader<T>;
  /** Whether two values are the same credential (default `===`). */
  same?: (a: T, b: T) => boolean;
  /** A cached value that may no longer be used (e.g. a session token close to expiry) is loaded again. */
  stale?: (value: T) => boolean;
}

export class CredentialCache<T> {
  private value: T | undefined;
  private inflight: { promise: Promise<T>; refresh: boolean } | undefined;
  private readonly options: CredentialCacheOptions<T>;

  constructor(options: CredentialCacheOptions<T>) {
    this.options = options;
  }

  /** The cached value, if any (no I/O). */
  peek(): T | undefined {
    return this.value;
  }

  same(a: T, b: T): boolean {
    return this.options.same ? this.options.same(a, b) : a === b;
  }

  /** The cached value, loading it when there is none or it is stale. */
  async get(): Promise<T> {
    const value = this.value;
    if (value !== undefined && !this.options.stale?.(value)) return value;
    return this.load(false);
  }

  /**
   * `rejected` was refused: the value to retry with. A newer value another caller already loaded is
   * returned as is; otherwise one re-read with `refresh: true`, shared by every caller refused meanwhile.
   */
  async renew(rejected: T): Promise<T> {
    const running = this.inflight;
    if (running) {
      const value = await running.promise;
      if (running.refresh || !this.same(value, rejected)) return value;
    }
    const value = this.value;
    if (value !== undefined && !this.same(value, rejected) && !this.options.stale?.(value)) return value;
    return this.load(true);
  }

  /** Forget the cached value (all of it, or only when `match` says it is the one to forget). */
  forget(match?: (value: T) => boolean): void {
    if (this.value !== undefined && (match === undefined || match(this.value))) this.value = undefined;
  }

  private load(refresh: boolean): Promise<T> {
    if (this.inflight) return this.inflight.promise;
    const promise = this.options
      .load({ refresh })
      .then((value) => {
        this.value = value;
        return value;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    this.inflight = { promise, refresh };
    return promise;
  }
}

/** What a vendor HTTP client asks of its auth. */
export interface HttpAuth {
  /**
   * Calls `attempt` with the auth headers; when the vendor refuses them, renews the credential once and
   * calls it once more (`onRenew` first, e.g. to log). A final refusal is a CredentialRejectedError.
   */
  send<R>(
    attempt: (headers: Record<string, string>) => Promise<R>,
    onRenew?: (refused: VendorHttpError) => void,
  ): Promise<R>;
  /** Values to redact besides the headers sent (e.g. a password used only to log in). */
  secrets(): (string | undefined)[];
  /** What a retry uses, for logs: "the re-read API key", "a new session". */
  readonly renewal: string;
}

export interface CredentialAuthOptions<T> {
  cache: CredentialCache<T>;
  headers: (credential: T) => Record<string, string>;
  /** Statuses meaning "credential refused" (default [401]). */
  refusedStatuses?: readonly number[];
  /** Send again even when the re-read credential is unchanged (default false). */
  retryUnchanged?: boolean;
  /** The secret the credential comes from, named in a final refusal. */
  secretName?: string;
  renewal: string;
}

/**
 * Runs `use` with the cached credential; when `refused(error)`, renews it once and runs `use` once
 * more, only with a changed credential unless `retryUnchanged`. A final refusal is a
 * CredentialRejectedError naming `secretName`. Shared by the request path and a session's login.
 */
export async function withRenewal<T, R>(
  cache: CredentialCache<T>,
  use: (credential: T) => Promise<R>,
  options: {
    refused: (error: unknown) => error is VendorHttpError;
    retryUnchanged?: boolean;
    secretName?: string;
    onRenew?: (refused: VendorHttpError) => void;
  },
): Promise<R> {
  const rejected = (error: unknown) =>
    options.refused(error) && !(error instanceof CredentialRejectedError)
      ? new CredentialRejectedError(error, options.secretName)
      : error;
  const used = await cache.get();
  try {
    return await use(used);
  } catch (error) {
    if (!options.refused(error)) throw error;
    const fresh = await cache.renew(used);
    if (!options.retryUnchanged && cache.same(fresh, used)) throw rejected(error);
    options.onRenew?.(error);
    try {
      return await use(fresh);
    } catch (second) {
      throw rejected(second);
    }
  }
}

const refusedBy =
  (statuses: readonly number[]) =>
  (error: unknown): error is VendorHttpError =>
    error instanceof VendorHttpError && statuses.includes(error.status);

export class CredentialAuth<T> implements HttpAuth {
  readonly cache: CredentialCache<T>;
  readonly renewal: string;
  private readonly options: CredentialAuthOptions<T>;

  constructor(options: CredentialAuthOptions<T>) {
    this.options = options;
    this.cache = options.cache;
    this.renewal = options.renewal;
  }

  send<R>(
    attempt: (headers: Record<string, string>) => Promise<R>,
    onRenew?: (refused: VendorHttpError) => void,
  ): Promise<R> {
    return withRenewal(this.cache, (credential) => attempt(this.options.headers(credential)), {
      refused: refusedBy(this.options.refusedStatuses ?? [401]),
      retryUnchanged: this.options.retryUnchanged,
      secretName: this.options.secretName,
      onRenew,
    });
  }

  secrets(): (string | undefined)[] {
    const value = this.cache.peek();
    return typeof value === 'string' ? [value] : [];
  }
}

export interface ApiKeyOptions {
  /** Reads the key; called lazily, with `refresh: true` after a refusal. */
  load: CredentialLoader<string>;
  secretName?: string;
  refusedStatuses?: readonly number[];
  retryUnchanged?: boolean;
}

/** An API key sent as `<header>: <scheme> <key>` (`scheme` omitted: the key alone). */
export function apiKeyHeader(
  header: string,
  options: ApiKeyOptions & { scheme?: string },
): CredentialAuth<string> {
  const { load, scheme, ...rest } = options;
  return new CredentialAuth({
    ...rest,
    cache: new CredentialCache({ load }),
    headers: (key) => ({ [header]: scheme ? `${scheme} ${key}` : key }),
    renewal: 'the re-read API key',
  });
}

/** An API key sent as `Authorization: Bearer <key>`. */
export const bearer = (options: ApiKeyOptions): CredentialAuth<string> =>
  apiKeyHeader('authorization', { ...options, scheme: 'Bearer' });

export interface Session {
  sessionToken: string;
  /** From the login response. */
  expiresAt: Date;
  /** When we log in again: `expiresAt - margin`, the margin capped at half the token's lifetime. */
  refreshAt: Date;
}

export interface SessionAuthOptions<C> {
  vendor: string;
  /** Reads the login credentials; `refresh: true` after a refused login (the password may have rotated). */
  loadCredentials: CredentialLoader<C>;
  /** Whether two credentials are the same (a re-read that changed nothing is not tried again). */
  sameCredentials: (a: C, b: C) => boolean;
  /** The values of `credentials` to redact (e.g. the password). */
  sensitive: (credentials: C) => string[];
  /** Logs in; answers the token and when it expires. */
  login: (credentials: C) => Promise<{ sessionToken: string; expiresAt: Date }>;
  /** Statuses of the login answer meaning "credentials refused" (default [401]). */
  loginRefusedStatuses?: readonly number[];
  /** The headers carrying the token. */
  headers: (sessionToken: string) => Record<string, string>;
  refreshMarginMs: number;
  secretName?: string;
  now?: () => Date;
  log?: Log;
}

const KEEP_SECRETS = 3;

/**
 * A session token from a login: cached until `expiresAt - margin`, one login shared by concurrent
 * callers, and a refused token (401) replaced by one new login. A refused login re-reads the
 * credentials once (they may have rotated) and tries once more if they changed.
 */
export class SessionAuth<C> extends CredentialAuth<Session> {
  /** Successful logins so far (for logs and tests). */
  logins = 0;
  private readonly credentials: CredentialCache<C>;
  private readonly settings: SessionAuthOptions<C>;
  private readonly now: () => Date;
  private readonly log: Log;
  /** Recent passwords and tokens, for redaction only (a stale one may still be echoed somewhere). */
  private readonly recent: string[] = [];

  constructor(options: SessionAuthOptions<C>) {
    const now = options.now ?? (() => new Date());
    // The cache is built before `this` exists; its loader calls the login once it does.
    const opener: { open?: () => Promise<Session> } = {};
    super({
      // A login always opens a new session: `refresh` only matters for the credentials.
      cache: new CredentialCache<Session>({
        load: () => opener.open?.() ?? Promise.reject(new Error('session auth used before construction')),
        same: (a, b) => a.sessionToken === b.sessionToken,
        stale: (s) => now().getTime() >= s.refreshAt.getTime(),
      }),
      headers: (s) => options.headers(s.sessionToken),
      secretName: options.secretName,
      renewal: 'a new session',
    });
    this.settings = options;
    opener.open = () => this.openSession();
    this.now = now;
    this.log = options.log ?? silentLog;
    this.credentials = new CredentialCache({
      load: options.loadCredentials,
      same: options.sameCredentials,
    });
  }

  /** The cached session, if any (no I/O). */
  get session(): Session | undefined {
    return this.cache.peek();
  }

  /** A valid session token, logging in when there is none or it is close to expiry. */
  async getToken(): Promise<string> {
    return (await this.cache.get()).sessionToken;
  }

  /**
   * Drop the cached token. Pass the token that was rejected: if another caller has already replaced
   * it, the newer token is kept (so concurrent 401s cause one login, not one each).
   */
  invalidate(token?: string): void {
    this.cache.forget(token === undefined ? undefined : (s) => s.sessionToken === token);
  }

  /** Values that must never appear in an error or log: recent passwords and session tokens. */
  sensitiveValues(): string[] {
    return [...this.recent];
  }

  override secrets(): string[] {
    return this.sensitiveValues();
  }

  private remember(value: string): void {
    if (this.recent.includes(value)) return;
    this.recent.push(value);
    // Passwords and tokens interleave; keep a few of each.
    if (this.recent.length > KEEP_SECRETS * 2) this.recent.shift();
  }

  private openSession(): Promise<Session> {
    const { vendor, secretName } = this.settings;
    return withRenewal(this.credentials, (credentials) => this.loginWith(credentials), {
      refused: refusedBy(this.settings.loginRefusedStatuses ?? [401]),
      secretName,
      onRenew: (refused) =>
        this.log.info(`${vendor} login rejected; retrying once with the refreshed secret`, {
          status: refused.status,
        }),
    });
  }

  private async loginWith(credentials: C): Promise<Session> {
    for (const value of this.settings.sensitive(credentials)) this.remember(value);
    const issuedAt = this.now().getTime();
    const { sessionToken, expiresAt } = await this.settings.login(credentials);
    this.remember(sessionToken);
    // A token that lives shorter than the margin would otherwise be refreshed on every call.
    const lifetime = Math.max(0, expiresAt.getTime() - issuedAt);
    const margin = Math.min(this.settings.refreshMarginMs, lifetime / 2);
    this.logins++;
    this.log.info(`${this.settings.vendor} session opened`, { expiresAt: expiresAt.toISOString() });
    return { sessionToken, expiresAt, refreshAt: new Date(expiresAt.getTime() - margin) };
  }
}
