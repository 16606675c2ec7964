/**
 * Vendor HTTP client: timeouts, retries with exponential backoff and full jitter, Retry-After, typed
 * errors, response validation and secret redaction. Connectors wrap it; it knows nothing of Lambda.
 *
 * Retry policy:
 * - A request that is safe to repeat (GET/HEAD/PUT/DELETE, or `idempotent: true`) is retried on
 *   network errors, timeouts, 429 and 5xx.
 * - A non-idempotent write (POST/PATCH by default) is retried only when the vendor provably did not
 *   act on it: HTTP 429 or 503 (the request's `refusedStatuses`, for a vendor that does not say so of
 *   503), or a connection that was refused before anything was sent. A timeout
 *   or reset after sending, or any other 5xx (a 500 or a gateway's 502/504 may come after the vendor
 *   committed), raises AmbiguousWriteError (its cause the VendorHttpError): the caller must look for
 *   the effect first.
 *
 * A CircuitOpenError from the transport (core/breaker.ts: the vendor account's breaker is open), or a
 * BreakerStateError (the breaker could not read its state), is rethrown untouched: nothing was sent,
 * so even a POST is not an ambiguous write.
 *
 * Error answers raise VendorHttpError carrying `status`, `body` (the whole body, parsed when JSON)
 * and `detail` (a short excerpt) as fields, both redacted.
 *
 * Redaction: the client knows every credential it sends (the values of its auth headers: bearer
 * tokens, API keys, session tokens) besides those its owner lists in `secrets`. It removes all of
 * them, in any echoed form, from every error text it builds, before truncating that text, and
 * registers them (`rememberCredential`) so the logger and the run log redact them too.
 */
import type * as z from 'zod/mini';
import { invocationTimeLeftMs } from './deadline.ts';
import {
  AmbiguousWriteError,
  BreakerStateError,
  CircuitOpenError,
  redact,
  redactDeep,
  rememberCredential,
  rememberRecent,
  VendorHttpError,
  VendorResponseError,
  VendorUnavailableError,
} from './errors.ts';
import { parseWith } from './schema.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpClientOptions {
  vendor: string;
  baseUrl: string;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** Total attempts including the first. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Headers added to every request (auth goes through `authorize`). */
  headers?: Record<string, string>;
  /** Strings that must never appear in an error message or log line (keys, tokens, passwords). */
  secrets?: () => readonly (string | undefined)[];
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (info: { operation: string; attempt: number; delayMs: number; reason: string }) => void;
  /**
   * Called before every attempt (e.g. take a token from a shared rate limiter; it may wait or throw).
   * A retry after a 429 calls it again, so the limiter's pause applies to the retry too.
   */
  beforeAttempt?: (info: { operation: string; attempt: number }) => Promise<void>;
  /**
   * How long the caller may still spend (ms; undefined: no limit). Default: what the current
   * invocation has left (core/deadline.ts). No attempt starts, and no retry waits, past it.
   */
  timeLeftMs?: () => number | undefined;
  /** Called with every HTTP response, success or not (e.g. feed rate-limit headers to the limiter). */
  afterResponse?: (info: { operation: string; status: number; headers: Headers }) => Promise<void>;
}

export interface HttpRequest<S extends z.ZodMiniType | undefined = undefined> {
  /** Short name used in errors and logs, e.g. `createWorkOrder`. */
  operation: string;
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined | readonly (string | number)[]>;
  body?: unknown;
  /** Already-encoded body (e.g. form encoding); `body` is JSON-encoded otherwise. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Overrides the method's default; PATCH of absolute values is idempotent, for example. */
  idempotent?: boolean;
  schema?: S;
  /** Status codes that are not errors for this call (e.g. 404 on a lookup). */
  acceptStatus?: readonly number[];
  /**
   * Error statuses that prove a non-idempotent write was not acted on, so it is sent again in
   * process (default 429 and 503). A vendor whose doc does not say so for 503 passes `[429]`: its
   * 503 may come after it committed, so it is an AmbiguousWriteError the caller resolves by looking.
   */
  refusedStatuses?: readonly number[];
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  data: T;
}

const SAFE_METHODS = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
/** Statuses that, by default, prove a write was refused without being acted on. */
const DEFAULT_REFUSED: readonly number[] = [429, 503];
/** Headers that carry credentials (X-Entity-Id, an account number, is not one). */
const CREDENTIAL_HEADER = /auth|token|key|secret|password|session|cookie/i;
/** How many credentials a client remembers for redaction (rotated keys, renewed session tokens). */
const KEEP_CREDENTIALS = 16;
/** The longest excerpt of a vendor's error body put in an error message. */
const DETAIL_CHARS = 300;
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Parse Retry-After (delta seconds or HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with full jitter: random in [0, min(max, base * 2^(attempt-1))]. */
export const backoffDelay = (attempt: number, baseMs: number, maxMs: number, random: () => number): number =>
  Math.round(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));

/** Errors where the request provably never reached the server. */
function notSent(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/** An error answer's whole body, parsed when it is JSON, with every credential removed. */
function errorBody(text: string, secrets: readonly (string | undefined)[]): unknown {
  if (text.length === 0) return undefined;
  try {
    return redactDeep(JSON.parse(text) as unknown, secrets);
  } catch {
    return redact(text, secrets);
  }
}

/** An error answer's headers with every credential removed (a vendor may echo one, e.g. in a cookie). */
function redactHeaders(headers: Headers, secrets: readonly (string | undefined)[]): Headers {
  const out = new Headers();
  for (const [name, value] of headers) out.append(name, redact(value, secrets));
  return out;
}

export class HttpClient {
  readonly vendor: string;
  readonly baseUrl: string;
  private readonly options: HttpClientOptions;
  /** Credentials this client has sent (header values; the token alone after `Bearer `/`Token `). */
  private readonly sent = new Set<string>();

  constructor(options: HttpClientOptions) {
    this.vendor = options.vendor;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.options = options;
  }

  url(path: string, query?: HttpRequest['query']): string {
    const url = new URL(this.baseUrl + (path.startsWith('/') ? path : `/${path}`));
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v));
      else url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Every credential this client holds or sent: its owner's `secrets` and its auth headers. */
  credentials(): (string | undefined)[] {
    const owned = this.options.secrets?.() ?? [];
    for (const secret of owned) rememberCredential(secret);
    return [...owned, ...this.sent];
  }

  async request<S extends z.ZodMiniType | undefined = undefined>(
    req: HttpRequest<S>,
  ): Promise<HttpResponse<S extends z.ZodMiniType ? z.infer<S> : unknown>> {
    // Defaults here, not in the constructor: an option given as undefined gets its default too.
    const {
      timeoutMs = 10_000,
      maxAttempts = 4,
      baseDelayMs = 200,
      maxDelayMs = 20_000,
      fetch: fetchFn = fetch,
      sleep = realSleep,
      random = Math.random,
      onRetry,
      timeLeftMs = invocationTimeLeftMs,
    } = this.options;
    const { vendor } = this;
    const { operation, schema } = req;
    const safe = req.idempotent ?? SAFE_METHODS.has(req.method);
    const url = this.url(req.path, req.query);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.options.headers,
      ...req.headers,
    };
    for (const [name, value] of Object.entries(headers)) {
      if (!CREDENTIAL_HEADER.test(name) || !value) continue;
      // `Bearer x`, `Token x`: the credential is `x` (redacting it redacts the whole value too).
      const credential = value.replace(/^[A-Za-z]+\s+(?=\S+$)/, '');
      rememberRecent(this.sent, credential, KEEP_CREDENTIALS);
      rememberCredential(credential);
    }
    let body: string | undefined = req.rawBody;
    if (body === undefined && req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const badResponse = (field: string, message: string, cause?: unknown) =>
      new VendorResponseError(vendor, operation, field, message, { cause });
    const retry = async (attempt: number, reason: string, delayMs: number) => {
      onRetry?.({ operation, attempt, delayMs, reason });
      await sleep(delayMs);
    };
    // The shortest attempt worth sending: a shorter one would mostly time out a healthy vendor.
    const minAttemptMs = Math.min(timeoutMs, 1000);
    /** Whether an attempt after `delayMs` could not end in the time the caller has left. */
    const noTimeFor = (delayMs: number) => {
      const left = timeLeftMs();
      return left !== undefined && delayMs + minAttemptMs > left;
    };
    /** The next retry's delay: undefined when there is none (attempts spent, or no time left). */
    const nextDelay = (attempt: number, delayMs?: number) => {
      if (attempt >= maxAttempts) return undefined;
      const delay = delayMs ?? backoffDelay(attempt, baseDelayMs, maxDelayMs, random);
      return noTimeFor(delay) ? undefined : delay;
    };

    for (let attempt = 1; ; attempt++) {
      await this.options.beforeAttempt?.({ operation, attempt });
      const left = timeLeftMs();
      if (left !== undefined && left < minAttemptMs) {
        // Nothing sent: retryable, and not ambiguous even for a write.
        throw new VendorUnavailableError(
          vendor,
          operation,
          `not sent: ${Math.max(0, Math.round(left))} ms left in this invocation (attempt ${attempt})`,
        );
      }
      let response: Response;
      try {
        response = await fetchFn(url, {
          method: req.method,
          headers,
          body,
          signal: AbortSignal.timeout(left === undefined ? timeoutMs : Math.min(timeoutMs, left)),
        });
      } catch (error) {
        // The breaker refused (or could not decide) before sending: not ambiguous, not worth an
        // in-process retry.
        if (error instanceof CircuitOpenError || error instanceof BreakerStateError) throw error;
        const reason =
          (error as Error)?.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : 'network error';
        const repeatable = safe || notSent(error);
        if (!repeatable) throw new AmbiguousWriteError(vendor, operation, { cause: error });
        const delay = nextDelay(attempt);
        if (delay === undefined) {
          throw new VendorUnavailableError(vendor, operation, `${reason} (${attempt} attempts)`, {
            cause: error,
          });
        }
        await retry(attempt, reason, delay);
        continue;
      }

      const { status } = response;
      await this.options.afterResponse?.({ operation, status, headers: response.headers });
      if ((status >= 200 && status < 300) || req.acceptStatus?.includes(status)) {
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          // The answer was cut off (timeout or reset while reading the body): a write it answered
          // happened, but what it returned is lost, so it is as ambiguous as a timeout before it.
          if (!safe) throw new AmbiguousWriteError(vendor, operation, { cause: error });
          const delay = nextDelay(attempt);
          if (delay === undefined) {
            throw new VendorUnavailableError(vendor, operation, `answer cut off (${attempt} attempts)`, {
              cause: error,
            });
          }
          await retry(attempt, 'answer cut off', delay);
          continue;
        }
        let parsed: unknown;
        try {
          parsed = text.length === 0 ? undefined : JSON.parse(text);
        } catch {
          // No cause: JSON.parse's SyntaxError quotes the text where it stopped, which may be an
          // echoed credential (util.inspect and loggers print causes unredacted).
          if (schema) throw badResponse('', 'body is not JSON');
          parsed = text;
        }
        const data = schema ? parseWith(schema, parsed, (p) => badResponse(p.path, p.message)) : parsed;
        return { status, headers: response.headers, data: data as never };
      }

      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const text = await response.text().catch(() => '');
      // Redact first: a cut through a credential would leave a prefix `redact` cannot recognise.
      const secrets = this.credentials();
      const detail = redact(text.slice(0, 64 * DETAIL_CHARS), secrets).slice(0, DETAIL_CHARS);
      const transient = status === 429 || status >= 500;
      // A 429 or 503 (or the request's own `refusedStatuses`) means the vendor did not act on it.
      const refused = (req.refusedStatuses ?? DEFAULT_REFUSED).includes(status);
      const repeatable = transient && (safe || refused);
      // A Retry-After longer than we may wait inside one invocation goes back to the queue instead.
      const tooLong = retryAfterMs !== undefined && retryAfterMs > maxDelayMs;
      const delay = repeatable && !tooLong ? nextDelay(attempt, retryAfterMs) : undefined;
      if (delay === undefined) {
        const error = new VendorHttpError(vendor, operation, status, detail || response.statusText, {
          retryAfterMs,
          body: errorBody(text, secrets),
          headers: redactHeaders(response.headers, secrets),
        });
        // Not provably refused (by default only 429 and 503 are): the write may have landed before the error.
        if (transient && !repeatable) {
          throw new AmbiguousWriteError(vendor, operation, { cause: error, why: `HTTP ${status}` });
        }
        throw error;
      }
      await retry(attempt, `HTTP ${status}`, delay);
    }
  }
}
