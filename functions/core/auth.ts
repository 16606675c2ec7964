/**
 * How vendor clients authenticate: one credential cache and a few strategies over it.
 *
 * - credentialCache: a credential read lazily (never in a constructor), kept, and shared by
 *   concurrent callers (one read in flight at a time). When the vendor refuses it, `renew` re-reads it
 *   with `refresh: true` (the secret may have rotated); callers refused with the same value share that
 *   one re-read, and a caller whose value was already replaced gets the newer one without a read.
 * - withRenewal: sends with the credential; a refused status renews the credential once and sends
 *   once more, only when it changed (an unchanged credential would be refused again) unless
 *   `retryUnchanged`. The vendor did not act on a refused call, so this holds for writes too. A final
 *   refusal is a CredentialRejectedError naming the secret.
 * - Strategies: `apiKeyHeader` (a key as is in a header: `Api-Key: <key>`, `Authorization: Token
 *   <key>`), `bearer` (`Authorization: Bearer <key>`), and SessionAuth (log in with credentials from a
 *   secret, send the session token, log in again before expiry or after a refusal).
 *
 * Closures rather than classes where nothing outside needs a class: locals minify, properties do not
 * (every Lambda bundle carries this file).
 */
import { CredentialRejectedError, rememberRecent, VendorHttpError } from './errors.ts';
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

export interface CredentialCache<T> {
  /** The cached value, if any (no I/O). */
  peek(): T | undefined;
  same(a: T, b: T): boolean;
  /** The cached value, loading it when there is none or it is stale. */
  get(): Promise<T>;
  /**
   * `rejected` was refused: the value to retry with. A newer value another caller already loaded is
   * returned as is; otherwise one re-read with `refresh: true`, shared by every caller refused meanwhile.
   */
  renew(rejected: T): Promise<T>;
  /** Forget the cached value (all of it, or only when `match` says it is the one to forget). */
  forget(match?: (value: T) => boolean): void;
}

export function credentialCache<T>({
  load,
  same = (a, b) => a === b,
  stale,
}: CredentialCacheOptions<T>): CredentialCache<T> {
  let value: T | undefined;
  let inflight: { promise: Promise<T>; refresh: boolean } | undefined;
  /** The cached value when it may still be used and is not `rejected`. */
  const usable = (rejected?: T): T | undefined =>
    value !== undefined && !stale?.(value) && !(rejected !== undefined && same(value, rejected))
      ? value
      : undefined;
  const read = (refresh: boolean): Promise<T> => {
    if (!inflight) {
      const promise = load({ refresh })
        .then((loaded) => {
          value = loaded;
          return loaded;
        })
        .finally(() => {
          inflight = undefined;
        });
      inflight = { promise, refresh };
    }
    return inflight.promise;
  };
  return {
    peek: () => value,
    same,
    get: async () => usable() ?? read(false),
    async renew(rejected) {
      const running = inflight;
      if (running) {
        const loaded = await running.promise;
        if (running.refresh || !same(loaded, rejected)) return loaded;
      }
      return usable(rejected) ?? read(true);
    },
    forget(match) {
      if (value !== undefined && (!match || match(value))) value = undefined;
    },
  };
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

/** When a credential counts as refused, and what a final refusal names. */
export interface RenewalOptions {
  /** Statuses meaning "credential refused" (default [401]). */
  refusedStatuses?: readonly number[];
  /** Send again even when the re-read credential is unchanged (default false). */
  retryUnchanged?: boolean;
  /** The secret the credential comes from, named in a final refusal. */
  secretName?: string;
}

/**
 * Runs `use` with the cached credential; when the vendor refuses it, renews it once and runs `use` once
 * more, only with a changed credential unless `retryUnchanged`. A final refusal is a
 * CredentialRejectedError naming `secretName`. Shared by the request path and a session's login.
 */
export async function withRenewal<T, R>(
  cache: CredentialCache<T>,
  use: (credential: T) => Promise<R>,
  options: RenewalOptions & { onRenew?: (refused: VendorHttpError) => void },
): Promise<R> {
  const refused = (error: unknown): error is VendorHttpError =>
    error instanceof VendorHttpError && (options.refusedStatuses ?? [401]).includes(error.status);
  const rejected = (error: unknown) =>
    refused(error) && !(error instanceof CredentialRejectedError)
      ? new CredentialRejectedError(error, options.secretName)
      : error;
  const used = await cache.get();
  try {
    return await use(used);
  } catch (error) {
    if (!refused(error)) throw error;
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

export interface ApiKeyOptions extends RenewalOptions {
  /** Reads the key; called lazily, with `refresh: true` after a refusal. */
  load: CredentialLoader<string>;
}

/** An API key sent as `<header>: <scheme> <key>` (`scheme` omitted: the key alone). */
export function apiKeyHeader(
  header: string,
  { load, scheme, ...renewal }: ApiKeyOptions & { scheme?: string },
): HttpAuth {
  const cache = credentialCache({ load });
  return {
    renewal: 'the re-read API key',
    send: (attempt, onRenew) =>
      withRenewal(cache, (key) => attempt({ [header]: scheme ? `${scheme} ${key}` : key }), {
        ...renewal,
        onRenew,
      }),
    secrets() {
      const key = cache.peek();
      return key === undefined ? [] : [key];
    },
  };
}

/** An API key sent as `Authorization: Bearer <key>`. */
export const bearer = (options: ApiKeyOptions): HttpAuth =>
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

/** Passwords and tokens interleave; keep a few of each. */
const KEEP_SECRETS = 3 * 2;

/**
 * A session token from a login: cached until `expiresAt - margin`, one login shared by concurrent
 * callers, and a refused token (401) replaced by one new login. A refused login re-reads the
 * credentials once (they may have rotated) and tries once more if they changed. A class so that a
 * vendor can name its own session (UpKeepSessionProvider); its state lives in constructor locals.
 */
export class SessionAuth<C> implements HttpAuth {
  /** Successful logins so far (for logs and tests). */
  logins = 0;
  readonly renewal = 'a new session';
  readonly cache: CredentialCache<Session>;
  readonly send: HttpAuth['send'];
  /** Values that must never appear in an error or log: recent passwords and session tokens. */
  readonly sensitiveValues: () => string[];
  readonly secrets: () => string[];

  constructor(options: SessionAuthOptions<C>) {
    const { vendor, secretName, now = () => new Date(), log = silentLog } = options;
    /** Recent passwords and tokens, for redaction only (a stale one may still be echoed somewhere). */
    const recent = new Set<string>();
    const remember = (value: string) => rememberRecent(recent, value, KEEP_SECRETS);
    const credentials = credentialCache({ load: options.loadCredentials, same: options.sameCredentials });
    const loginWith = async (given: C): Promise<Session> => {
      for (const value of options.sensitive(given)) remember(value);
      const issuedAt = now().getTime();
      const { sessionToken, expiresAt } = await options.login(given);
      remember(sessionToken);
      // A token that lives shorter than the margin would otherwise be refreshed on every call.
      const lifetime = Math.max(0, expiresAt.getTime() - issuedAt);
      const margin = Math.min(options.refreshMarginMs, lifetime / 2);
      this.logins++;
      log.info(`${vendor} session opened`, { expiresAt: expiresAt.toISOString() });
      return { sessionToken, expiresAt, refreshAt: new Date(expiresAt.getTime() - margin) };
    };
    this.cache = credentialCache<Session>({
      // A login always opens a new session: `refresh` only matters for the credentials.
      load: () =>
        withRenewal(credentials, loginWith, {
          refusedStatuses: options.loginRefusedStatuses,
          secretName,
          onRenew: (refused) =>
            log.info(`${vendor} login rejected; retrying once with the refreshed secret`, {
              status: refused.status,
            }),
        }),
      same: (a, b) => a.sessionToken === b.sessionToken,
      stale: (s) => now().getTime() >= s.refreshAt.getTime(),
    });
    this.send = (attempt, onRenew) =>
      withRenewal(this.cache, (s) => attempt(options.headers(s.sessionToken)), { secretName, onRenew });
    this.secrets = this.sensitiveValues = () => [...recent];
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
}
