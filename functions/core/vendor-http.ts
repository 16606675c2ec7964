/**
 * The one client every connector talks to its vendor through: the core HttpClient (timeouts,
 * retries with backoff and jitter, Retry-After, no blind re-POST, redaction) plus pluggable auth
 * (core/auth.ts: API key header, bearer, session login) and the vendor's typed errors.
 *
 * - Auth headers go on every attempt; a refused credential is renewed once and the call sent once
 *   more (HttpAuth), logged as a warning.
 * - An error answer is HttpClient's VendorHttpError, whose fields (`status`, `body`, `detail`,
 *   `headers`, `retryAfterMs`) `toError` turns into the vendor's typed error. Without `toError` the
 *   VendorHttpError itself is raised.
 * - Every credential the auth holds or sent is a secret of the HttpClient, so it never appears in its
 *   error text or retry logs; `toError` gets them in `secrets` to redact its own messages.
 */
import type * as z from 'zod/mini';
import type { HttpAuth } from './auth.ts';
import { AmbiguousWriteError, VendorHttpError } from './errors.ts';
import { HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse } from './http.ts';
import { type Log, silentLog } from './log.ts';

/** A request of any response schema, as `toError` sees it. */
export type AnyHttpRequest = HttpRequest<z.ZodMiniType | undefined>;

/** What `toError` gets: an answered error (`headers` set) or HttpClient's final 429/5xx (`cause` set). */
export interface VendorErrorInfo {
  /** The request as the client's caller passed it. */
  request: AnyHttpRequest;
  status: number;
  /**
   * The answer's body (parsed JSON or text). After HttpClient gave up retrying a 429/5xx, its redacted
   * detail text instead (an excerpt: such answers are often long HTML pages).
   */
  body: unknown;
  /** The answer's headers; absent when HttpClient gave up after its retries. */
  headers?: Headers;
  retryAfterMs?: number;
  /** HttpClient's VendorHttpError after its retries (429/5xx); absent for an answered 4xx. */
  cause?: VendorHttpError;
  /** Every credential the client sent (the key in use, earlier keys), to redact from messages. */
  secrets: (string | undefined)[];
}

export interface VendorHttpClientOptions {
  vendor: string;
  baseUrl: string;
  /** The vendor config's timeout; `http.timeoutMs` wins over it. */
  timeoutMs?: number;
  /** Headers on every request (besides the auth headers). */
  headers?: Record<string, string>;
  /** HttpClient settings for tests and tuning; explicit undefineds are dropped (they would erase defaults). */
  http?: Partial<HttpClientOptions>;
  /** HttpClient hooks the client owns (e.g. a shared rate limiter's); they win over `http`. */
  hooks?: Pick<HttpClientOptions, 'beforeAttempt' | 'afterResponse'>;
  /** The auth strategy, or a factory for one that needs the HttpClient (a session's login call). */
  auth: HttpAuth | ((http: HttpClient) => HttpAuth);
  /** The vendor's typed error for an error answer (returning `cause` rethrows it). */
  toError?: (info: VendorErrorInfo) => Error;
  /**
   * One info line `<vendor> call` per answered call with `{operation, status, ...fields}`; `false`
   * logs none. Default: no extra fields.
   */
  callLog?: false | ((response: HttpResponse<unknown>) => Record<string, unknown>);
  log?: Log;
}

type Data<S> = S extends z.ZodMiniType ? z.infer<S> : unknown;

/** Its state lives in constructor locals, which minify (every Lambda bundle carries this class). */
export class VendorHttpClient {
  readonly vendor: string;
  readonly http: HttpClient;
  readonly auth: HttpAuth;
  /** The values to redact from any message the client builds itself: every credential it sent. */
  readonly secrets: () => (string | undefined)[];
  /** Sends with the auth headers; a status outside 2xx and `acceptStatus` raises (see `toError`). */
  readonly send: <S extends z.ZodMiniType | undefined = undefined>(
    request: HttpRequest<S>,
  ) => Promise<HttpResponse<Data<S>>>;

  constructor(options: VendorHttpClientOptions) {
    const { vendor, http = {}, log = silentLog, toError, callLog } = options;
    this.vendor = vendor;
    this.http = new HttpClient({
      ...http,
      // HttpClient's own defaults fill what is still undefined.
      timeoutMs: http.timeoutMs ?? options.timeoutMs,
      ...options.hooks,
      vendor,
      baseUrl: options.baseUrl,
      ...(options.headers && { headers: options.headers }),
      secrets: () => this.auth.secrets(),
      onRetry: (info) => {
        log.warn(`${vendor} request retried`, info);
        http.onRetry?.(info);
      },
    });
    const auth = typeof options.auth === 'function' ? options.auth(this.http) : options.auth;
    this.auth = auth;
    this.secrets = () => [...new Set([...auth.secrets(), ...this.http.credentials()])];
    this.send = async <S extends z.ZodMiniType | undefined>(request: HttpRequest<S>) => {
      const { operation } = request;
      let response: HttpResponse<Data<S>>;
      try {
        response = await auth.send(
          (headers) => this.http.request({ ...request, headers: { ...request.headers, ...headers } }),
          (refused) =>
            log.warn(`${vendor} answered ${refused.status}; retrying once with ${auth.renewal}`, {
              operation,
            }),
        );
      } catch (error) {
        if (!toError) throw error;
        const vendorError = (e: VendorHttpError) =>
          toError({
            request,
            status: e.status,
            retryAfterMs: e.retryAfterMs,
            secrets: this.secrets(),
            // 429/5xx after HttpClient's retries: its redacted detail; an answered 4xx: the whole body.
            ...(e.retryable ? { body: e.detail, cause: e } : { body: e.body, headers: e.headers }),
          });
        // A write answered 5xx stays ambiguous; its cause is the vendor's own error.
        if (error instanceof AmbiguousWriteError && error.cause instanceof VendorHttpError) {
          throw new AmbiguousWriteError(error.vendor, error.operation, {
            cause: vendorError(error.cause),
            why: `HTTP ${error.cause.status}`,
          });
        }
        if (!(error instanceof VendorHttpError)) throw error;
        throw vendorError(error);
      }
      if (callLog !== false) {
        log.info(`${vendor} call`, { operation, status: response.status, ...callLog?.(response) });
      }
      return response;
    };
  }

  /** The full URL a path resolves to (for logs and tests). */
  url(path: string): string {
    return this.http.url(path);
  }
}
