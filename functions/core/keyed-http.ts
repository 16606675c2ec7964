/**
 * An HttpClient for a vendor that authenticates every call with one API key kept in a secret.
 *
 * Why: the Mobility Work, Deepomatic and Click Maint clients each repeated the same plumbing (build the
 * HttpClient, hold a lazily read key, retry once after a refused key, pass 4xx bodies back, turn a
 * final 429/5xx into the vendor's typed error, log). It lives here once; each client keeps only what
 * is its own: the auth header, which statuses mean "key refused", and its typed error (`toError`).
 *
 * - The key is read on the first call (never in the constructor) and cached. A status in
 *   `rejectedKeyStatuses` (default 401) re-reads it once (`refresh: true`: it may have rotated) and
 *   retries once, only when the key changed: the vendor did not act on a refused call, and an unchanged
 *   key would only be refused again.
 * - `clientErrorStatuses` (default: every 4xx but 429) come back from HttpClient unretried with their
 *   full body; a status >= 400 not in the request's `accept` list becomes `toError({... body})`.
 * - 429 and 5xx go through HttpClient's retries; when it gives up, its VendorHttpError becomes
 *   `toError({... cause})` (the body is HttpClient's already redacted detail text).
 * - The key is a secret of the HttpClient, so it never appears in its error text or retry logs;
 *   `toError` gets it in `secrets` to redact its own messages.
 */
import { VendorHttpError } from './errors.ts';
import {
  HttpClient,
  type HttpClientOptions,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
} from './http.ts';
import { type Log, silentLog } from './log.ts';

/** One call; vendor clients extend it with their own fields (handed back to `toError` and `authHeaders`). */
export interface KeyedRequest {
  operation: string;
  method: HttpMethod;
  path: string;
  query?: HttpRequest['query'];
  body?: unknown;
  idempotent?: boolean;
  /** Statuses handed back to the caller instead of raised (e.g. 404 on a lookup). */
  accept?: readonly number[];
}

/** What `toError` gets: a refused answer (`headers` set) or HttpClient's final error (`cause` set). */
export interface KeyedErrorInfo<R extends KeyedRequest> {
  request: R;
  status: number;
  /** The answer's body (parsed JSON or text); after HttpClient gave up, its redacted detail text. */
  body: unknown;
  /** The answer's headers; absent when HttpClient gave up after its retries. */
  headers?: Headers;
  retryAfterMs?: number;
  /** HttpClient's VendorHttpError after its retries (429/5xx); absent for an answered 4xx. */
  cause?: VendorHttpError;
  /** Every credential the client sent (the key in use, earlier keys), to redact from messages. */
  secrets: (string | undefined)[];
}

export interface KeyedHttpClientOptions<R extends KeyedRequest> {
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
  /** Reads the API key; called lazily, with `refresh: true` after a refused key. */
  loadApiKey: (options: { refresh: boolean }) => Promise<string>;
  /** The headers carrying the key (and any other per-request header the request implies). */
  authHeaders: (apiKey: string, request: R) => Record<string, string>;
  /** Statuses meaning "key refused": re-read the key once. Default [401]. */
  rejectedKeyStatuses?: readonly number[];
  /** Statuses HttpClient hands back unretried. Default: every 4xx but 429. */
  clientErrorStatuses?: readonly number[];
  /** The vendor's typed error for a refused answer or a final 429/5xx (returning `cause` rethrows it). */
  toError: (info: KeyedErrorInfo<R>) => Error;
  /**
   * One info line `<vendor> call` per answered call with `{operation, status, ...fields}`; `false`
   * logs none. Default: no extra fields.
   */
  callLog?: false | ((response: HttpResponse<unknown>) => Record<string, unknown>);
  log?: Log;
}

/** Every 4xx but 429 comes back to us (full body, no retry); 429 and 5xx go through HttpClient's retries. */
export const CLIENT_ERROR_STATUSES: readonly number[] = Array.from({ length: 100 }, (_, i) => 400 + i).filter(
  (s) => s !== 429,
);

export class KeyedHttpClient<R extends KeyedRequest = KeyedRequest> {
  readonly vendor: string;
  private readonly http: HttpClient;
  private readonly options: KeyedHttpClientOptions<R>;
  private readonly log: Log;
  private apiKey: string | undefined;

  constructor(options: KeyedHttpClientOptions<R>) {
    this.vendor = options.vendor;
    this.options = options;
    const log = options.log ?? silentLog;
    this.log = log;
    const userOnRetry = options.http?.onRetry;
    // Drop explicit undefineds: they would erase HttpClient's defaults.
    const overrides = Object.fromEntries(
      Object.entries(options.http ?? {}).filter(([, v]) => v !== undefined),
    );
    this.http = new HttpClient({
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...overrides,
      ...options.hooks,
      vendor: options.vendor,
      baseUrl: options.baseUrl,
      ...(options.headers ? { headers: options.headers } : {}),
      secrets: () => [this.apiKey],
      onRetry: (info) => {
        log.warn(`${options.vendor} request retried`, { ...info });
        userOnRetry?.(info);
      },
    });
  }

  /** The full URL a path resolves to (for logs and tests). */
  url(path: string): string {
    return this.http.url(path);
  }

  /** The values to redact from any message the client builds itself: every credential it sent. */
  secrets(): (string | undefined)[] {
    return [...new Set([this.apiKey, ...this.http.credentials()])];
  }

  private async key(refresh: boolean): Promise<string> {
    if (this.apiKey === undefined || refresh) this.apiKey = await this.options.loadApiKey({ refresh });
    return this.apiKey;
  }

  /** Sends with the key; a refused key is re-read once and the call retried once if it changed. */
  async send(request: R): Promise<HttpResponse<unknown>> {
    const used = await this.key(false);
    let response = await this.attempt(request, used);
    if ((this.options.rejectedKeyStatuses ?? [401]).includes(response.status)) {
      const fresh = await this.key(true);
      if (fresh !== used) {
        this.log.warn(`${this.vendor} answered ${response.status}; retrying once with the re-read API key`, {
          operation: request.operation,
        });
        response = await this.attempt(request, fresh);
      }
    }
    const { status } = response;
    if (status >= 400 && !request.accept?.includes(status)) {
      throw this.options.toError({
        request,
        status,
        body: response.data,
        headers: response.headers,
        secrets: this.secrets(),
      });
    }
    const callLog = this.options.callLog;
    if (callLog !== false) {
      this.log.info(`${this.vendor} call`, {
        operation: request.operation,
        status,
        ...callLog?.(response),
      });
    }
    return response;
  }

  private async attempt(request: R, apiKey: string): Promise<HttpResponse<unknown>> {
    try {
      return await this.http.request({
        operation: request.operation,
        method: request.method,
        path: request.path,
        query: request.query,
        body: request.body,
        idempotent: request.idempotent,
        headers: this.options.authHeaders(apiKey, request),
        acceptStatus: this.options.clientErrorStatuses ?? CLIENT_ERROR_STATUSES,
      });
    } catch (error) {
      // 429/5xx after HttpClient's retries: the vendor's typed error (the text is already redacted).
      if (!(error instanceof VendorHttpError)) throw error;
      const prefix = `${this.vendor} ${request.operation} failed with HTTP ${error.status}: `;
      const body = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      throw this.options.toError({
        request,
        status: error.status,
        body,
        retryAfterMs: error.retryAfterMs,
        cause: error,
        secrets: this.secrets(),
      });
    }
  }
}
