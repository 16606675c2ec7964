/**
 * Named errors. Every error says whether a retry can help (`retryable`), so the worker can let SQS
 * retry it (and finally dead-letter it) and the ingress can map it to one HTTP status in one place.
 */
export class MillwrightError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** `error` and the errors it was caused by, outermost first (at most five deep). */
export function* causeChain(error: unknown): Generator<Error> {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    yield current;
    current = current.cause;
  }
}

/** A config value failed validation; `path` is the dotted path of the (first) bad field. */
export class ConfigError extends MillwrightError {
  /** Every problem found (one line each in the message), or just this one. */
  readonly problems: readonly { path: string; message: string }[];
  constructor(
    readonly path: string,
    message: string,
    options: {
      cause?: unknown;
      /** What kind of file or value this is ("config", "secrets"); default "config". */
      what?: string;
      /** The file it came from, when there is one. */
      source?: string;
      problems?: readonly { path: string; message: string }[];
    } = {},
  ) {
    const what = options.what ?? 'config';
    const where = options.source ? ` in ${options.source}` : '';
    const problems = options.problems?.length ? options.problems : undefined;
    const text = problems
      ? `invalid ${what}${where}${problems.length > 1 ? ` (${problems.length} problems)` : ''}:\n${problems
          .map((p) => `  - ${p.path || '(root)'}: ${p.message}`)
          .join('\n')}`
      : path
        ? `invalid ${what}${where} at ${path}: ${message}`
        : `invalid ${what}${where}: ${message}`;
    super(text, { cause: options.cause });
    this.problems = problems ?? [{ path, message }];
  }
}

/** What a vendor's error answer carried, as fields (never recovered from a message string). */
export interface VendorHttpErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
  /** The answer's body: parsed JSON, or text; credentials removed. */
  body?: unknown;
  /** A short excerpt of the body (credentials removed, then cut); defaults to `message`. */
  detail?: string;
  /** The answer's headers (e.g. a vendor's request id). */
  headers?: Headers;
}

/** A vendor answered with a non-success HTTP status. */
export class VendorHttpError extends MillwrightError {
  readonly retryAfterMs: number | undefined;
  readonly body: unknown;
  /** The vendor's error text (redacted, short); undefined when the answer had none. */
  readonly detail: string | undefined;
  readonly headers: Headers | undefined;
  constructor(
    readonly vendor: string,
    readonly operation: string,
    readonly status: number,
    message: string,
    options: VendorHttpErrorOptions = {},
  ) {
    super(`${vendor} ${operation} failed with HTTP ${status}: ${message}`, {
      cause: options.cause,
      retryable: options.retryable ?? (status === 429 || status >= 500),
    });
    this.retryAfterMs = options.retryAfterMs;
    this.body = options.body;
    this.detail = 'detail' in options ? options.detail : message;
    this.headers = options.headers;
  }
}

/**
 * The vendor refused a credential (401, or a status the auth strategy names) that had just been
 * re-read from its secret: rotating the key elsewhere did not help, so the secret itself is wrong.
 * Carries the refused answer's fields; the message names the secret.
 */
export class CredentialRejectedError extends VendorHttpError {
  constructor(
    refused: VendorHttpError,
    readonly secretName: string | undefined,
  ) {
    // The refused answer's own fields (retryAfterMs, body, detail, headers) carry over as they are.
    super(refused.vendor, refused.operation, refused.status, refused.detail ?? '', {
      ...refused,
      cause: refused,
      retryable: false,
    });
    const secret = secretName ? `secret ${secretName}` : 'its secret';
    this.message = `${refused.message} (the credential from ${secret} was refused, also after one re-read: fix or rotate the secret)`;
  }
}

/** The vendor could not be reached or did not answer in time, and the request was safe to repeat. */
export class VendorUnavailableError extends MillwrightError {
  constructor(
    readonly vendor: string,
    readonly operation: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${vendor} ${operation} unavailable: ${message}`, { cause: options.cause, retryable: true });
  }
}

/**
 * A non-idempotent write was sent but its outcome is unknown (timeout or reset after sending, or a
 * 5xx other than 503, which the vendor may send after committing). The caller must look for the
 * effect before trying again; never re-send blindly.
 */
export class AmbiguousWriteError extends MillwrightError {
  constructor(
    readonly vendor: string,
    readonly operation: string,
    options: { cause?: unknown; why?: string } = {},
  ) {
    super(
      `${vendor} ${operation}: outcome unknown after sending (${options.why ?? 'timeout or connection reset'})`,
      {
        cause: options.cause,
        retryable: true,
      },
    );
  }
}

/** The vendor answered 2xx but the body does not have the shape we rely on; `field` names it. */
export class VendorResponseError extends MillwrightError {
  /** What was wrong at `field`, without the vendor/operation prefix (for per-record reports). */
  readonly detail: string;
  constructor(
    readonly vendor: string,
    readonly operation: string,
    readonly field: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(`${vendor} ${operation}: unexpected response at ${field || '(root)'}: ${message}`, {
      cause: options.cause,
      retryable: options.retryable ?? true,
    });
    this.detail = message;
  }
}

/** Another worker holds the claim for this side effect; retry later. */
export class ClaimBusyError extends MillwrightError {
  constructor(readonly key: string) {
    super(`side effect ${key} is being performed by another worker`, { retryable: true });
  }
}

/**
 * The event depends on something that is not there yet: another flow's result (the UpKeep work order
 * a task event refers to), or a vendor's asynchronous apply. The worker retries it later without
 * spending the event's failure attempts, for a bounded wait; past that it is parked (needs
 * attention), never skipped for being early. `waitingFor` says what, for the run log.
 */
export class NotReadyError extends MillwrightError {
  constructor(
    readonly waitingFor: string,
    options: { cause?: unknown } = {},
  ) {
    super(`waiting for ${waitingFor}`, { cause: options.cause, retryable: true });
  }
}

/**
 * The event cannot be completed automatically without risking a duplicate or a loss, e.g. a create
 * whose answer was lost at a vendor that offers no lookup. The worker parks it ("needs attention"):
 * it is kept with its body, shown in the run log, raises the needs-attention alarm, and is never
 * retried or dropped silently. `check` tells the operator what to look at before replaying it.
 */
export class NeedsAttentionError extends MillwrightError {
  constructor(
    message: string,
    readonly check: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause, retryable: false });
  }
}

/**
 * A vendor account's circuit breaker is open (core/breaker.ts): the request was not sent. Not a
 * failed attempt: the worker holds the event on its queue until `retryAfterMs` (the breaker's next
 * probe), without spending its retries, and never dead-letters it for this.
 */
export class CircuitOpenError extends MillwrightError {
  constructor(
    /** The breaker's key: `<vendor>:<host>`, one per vendor account. */
    readonly key: string,
    /** Until the breaker lets a probe through (ms from now). */
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message, { retryable: true });
  }
}

/**
 * A vendor account's circuit breaker could not read or take its state (the state table failed or
 * throttled): the request was not sent. Retryable, and never an ambiguous write, even for a POST.
 */
export class BreakerStateError extends MillwrightError {
  constructor(
    readonly key: string,
    options: { cause?: unknown } = {},
  ) {
    super(`circuit breaker ${key}: its state could not be read; request not sent`, {
      cause: options.cause,
      retryable: true,
    });
  }
}
/** Webhook errors carry the HTTP status the ingress answers with. */
export class WebhookError extends MillwrightError {
  constructor(
    readonly statusCode: 400 | 401 | 404 | 413,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

export const isRetryable = (error: unknown): boolean => error instanceof MillwrightError && error.retryable;

/** The forms a secret may be echoed in: as is, URL-encoded (query, form body), JSON-escaped. */
function echoedForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  forms.add(encodeURIComponent(secret).replace(/%20/g, '+'));
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Replace every occurrence of each secret (and of its URL-encoded and JSON-escaped forms) with a
 * marker. Used on anything that may reach a log, an error or the state table. Redact before you
 * truncate: a cut through a secret would leave a prefix no longer recognisable as the secret.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  // Only text with a backslash can hold a secret JSON-escaped beyond `echoedForms`.
  const escaped = out.includes('\\');
  for (const secret of [...secrets, ...issuedCredentials]) {
    if (!secret || secret.length < 4) continue;
    for (const form of echoedForms(secret)) out = out.split(form).join('[REDACTED]');
    if (escaped) out = out.replace(jsonEscapedPattern(secret), '[REDACTED]');
  }
  return out;
}

/** Patterns of `jsonEscapedPattern`, by secret (the same few credentials are redacted again and again). */
const escapedPatterns = new Map<string, RegExp>();

/**
 * The secret as any JSON encoder may write it: each character as is, as `\uXXXX` (either case of
 * hex), `/` as `\/` (PHP's json_encode), `"` and `\` escaped. A vendor's error body echoing a
 * base64-ish key (`mw/Key+...`) this way is neither the key nor JSON.stringify of it.
 */
function jsonEscapedPattern(secret: string): RegExp {
  let pattern = escapedPatterns.get(secret);
  if (!pattern) {
    const char = (c: string) => {
      // Either case of hex digit, spelt out (no inline `(?i:)` before Node 23).
      const hex = [...c.charCodeAt(0).toString(16).padStart(4, '0')]
        .map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d))
        .join('');
      const literal = c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const named = c === '/' ? '|\\\\/' : c === '"' ? '|\\\\"' : c === '\\' ? '|\\\\\\\\' : '';
      return `(?:${literal}|\\\\u${hex}${named})`;
    };
    pattern = new RegExp([...secret].map(char).join(''), 'g');
    if (escapedPatterns.size >= MAX_CREDENTIALS * 2) escapedPatterns.clear();
    escapedPatterns.set(secret, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/**
 * Credentials this process holds or was issued (API keys, bearer and session tokens, passwords),
 * registered by the HTTP clients that send them. `redact` always removes them too: a second line
 * of defence for text built where the client's own list was not at hand (logs, the run log).
 */
const issuedCredentials = new Set<string>();
/** Enough for every vendor's key and recent tokens; the oldest are forgotten first. */
const MAX_CREDENTIALS = 64;

export function rememberCredential(value: string | undefined): void {
  if (value && value.length >= 4) rememberRecent(issuedCredentials, value, MAX_CREDENTIALS);
}

/**
 * Adds `value` to a bounded memory of credentials; beyond `max`, the least recently remembered is
 * forgotten first (a key sent on every call moves to the back, so newer tokens never push it out).
 */
export function rememberRecent(recent: Set<string>, value: string, max: number): void {
  recent.delete(value);
  recent.add(value);
  const [oldest] = recent;
  if (recent.size > max && oldest !== undefined) recent.delete(oldest);
}

/** `redact` over every string inside a JSON-like value (log extras, run-log fields). */
export function redactDeep<T>(value: T, secrets: readonly (string | undefined)[] = []): T {
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T;
  if (value instanceof Error) return redact(String(value), secrets) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, secrets)])) as T;
  }
  return value;
}
