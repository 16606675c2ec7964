/**
 * Deepomatic's error answers as one typed error (reference §1.4). api-doc.txt shows four body shapes,
 * with no status codes next to them:
 *
 * - E1 `{ <field>: [msg, ...] }` (Django REST Framework field errors; create)
 * - E2 `{ detail: { <field>: msg } }` (unknown engineer on create)
 * - E3 `{ error: 'Serialization error', detail: { <field>: msg } }` (unknown engineer on update)
 * - E4 `{ detail: msg }` (auth, `WorkOrder not found!`)
 *
 * All four become a DeepomaticApiError whose `fieldErrors` list `{field, message}` and whose message
 * names the fields, e.g. `deepomatic POST /work-orders/ -> 400: field_engineer_email: There is no
 * user with this email.`. Nested field errors (DRF nested serializers) get dotted paths.
 */
import { MillwrightError, redact, VendorHttpError } from '../../core/errors.ts';

export const DEEPOMATIC_VENDOR = 'deepomatic';

/**
 * The `detail` Deepomatic answers for a work-order id it does not know (api-doc.txt, PATCH and DELETE:
 * `{"detail": "WorkOrder not found!"}`). Only a 404 with exactly this body means "gone"; any other 404
 * is a wrong route (e.g. a baseUrl without `/v0.2`), see DeepomaticRouteNotFoundError.
 */
export const DEEPOMATIC_WORK_ORDER_NOT_FOUND_DETAIL = 'WorkOrder not found!';

/** True when a 404's body is the documented work-order not-found (E4 with that exact detail). */
export const isWorkOrderNotFoundBody = (body: unknown): boolean =>
  parseDeepomaticErrorBody(body).detail === DEEPOMATIC_WORK_ORDER_NOT_FOUND_DETAIL;

export interface DeepomaticFieldError {
  /** The request field, e.g. `name`, `metadata`, `field_engineer_email` (dotted when nested). */
  field: string;
  message: string;
}

export type DeepomaticErrorShape = 'E1' | 'E2' | 'E3' | 'E4' | 'unknown';

export interface DeepomaticErrorBody {
  shape: DeepomaticErrorShape;
  /** E3's `error` (e.g. `Serialization error`). */
  error: string | undefined;
  /** E4's `detail` (e.g. `No user found for such apiKey.`). */
  detail: string | undefined;
  fieldErrors: DeepomaticFieldError[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_FIELDS = 10;

const text = (value: unknown): string =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));

/** `{field: [msg]}`, `{field: msg}` and nested `{field: {sub: [msg]}}` flattened to field errors. */
function flatten(value: unknown, path: string, out: DeepomaticFieldError[]): void {
  if (Array.isArray(value)) {
    // A list of messages, or (DRF list serializers) a list of per-item error objects.
    if (value.every((v) => !isObject(v))) {
      if (value.length > 0) out.push({ field: path, message: value.map(text).join(' ') });
      return;
    }
    value.forEach((item, i) => {
      flatten(item, `${path}[${i}]`, out);
    });
    return;
  }
  if (isObject(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, path ? `${path}.${key}` : key, out);
    return;
  }
  if (value !== undefined && value !== null) out.push({ field: path, message: text(value) });
}

/** Which of E1..E4 a body is (parsed JSON or text), or `unknown` (HTML, empty, other JSON). */
export function parseDeepomaticErrorBody(body: unknown): DeepomaticErrorBody {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { shape: 'unknown', error: undefined, detail: undefined, fieldErrors: [] };
    }
  }
  const none: DeepomaticErrorBody = {
    shape: 'unknown',
    error: undefined,
    detail: undefined,
    fieldErrors: [],
  };
  if (!isObject(value)) return none;
  const error = typeof value.error === 'string' ? value.error : undefined;
  if (typeof value.detail === 'string') {
    return { shape: 'E4', error, detail: value.detail, fieldErrors: [] };
  }
  if (isObject(value.detail)) {
    const fieldErrors: DeepomaticFieldError[] = [];
    flatten(value.detail, '', fieldErrors);
    return { shape: error !== undefined ? 'E3' : 'E2', error, detail: undefined, fieldErrors };
  }
  const fieldErrors: DeepomaticFieldError[] = [];
  flatten(value, '', fieldErrors);
  return fieldErrors.length > 0 ? { shape: 'E1', error, detail: undefined, fieldErrors } : none;
}

export interface DeepomaticApiErrorInit {
  operation: string;
  method: string;
  path: string;
  status: number;
  /** The error body: parsed JSON, or text. */
  body?: unknown;
  retryAfterMs?: number;
  cause?: unknown;
  /** Values to redact from the message (the API key). */
  secrets?: readonly (string | undefined)[];
}

function describe(init: DeepomaticApiErrorInit, parsed: DeepomaticErrorBody): string {
  const head = `${DEEPOMATIC_VENDOR} ${init.method} ${init.path} -> ${init.status}`;
  const auth = init.status === 401 || init.status === 403 ? ' (API key rejected)' : '';
  if (parsed.shape === 'unknown') {
    const raw = typeof init.body === 'string' ? init.body : (JSON.stringify(init.body) ?? '');
    // Redact before the cut, which could otherwise leave an unrecognisable prefix of a secret.
    const shown = redact(raw.replace(/\s+/g, ' ').trim(), init.secrets ?? []).slice(0, 300);
    return `${head}${auth}: ${shown && shown !== 'null' ? shown : '(no error body)'}`;
  }
  if (parsed.shape === 'E4') return `${head}${auth}: ${parsed.detail}`;
  const fields = parsed.fieldErrors.slice(0, MAX_FIELDS).map((f) => `${f.field || '(body)'}: ${f.message}`);
  if (parsed.fieldErrors.length > MAX_FIELDS)
    fields.push(`(+${parsed.fieldErrors.length - MAX_FIELDS} more)`);
  return `${head}${auth}: ${parsed.error ? `${parsed.error}: ` : ''}${fields.join('; ')}`;
}

/**
 * A non-2xx answer. Retryable like any VendorHttpError: 429 and 5xx yes, other 4xx no.
 * `fieldErrors` is empty for E4 and unknown bodies; `fields` lists the field names.
 */
export class DeepomaticApiError extends VendorHttpError {
  readonly method: string;
  readonly path: string;
  readonly shape: DeepomaticErrorShape;
  readonly fieldErrors: DeepomaticFieldError[];
  /** E3's `error` title. */
  readonly errorTitle: string | undefined;
  /** E4's `detail` text. */
  override readonly detail: string | undefined;

  constructor(init: DeepomaticApiErrorInit) {
    const parsed = parseDeepomaticErrorBody(init.body);
    const message = redact(describe(init, parsed), init.secrets ?? []);
    super(DEEPOMATIC_VENDOR, init.operation, init.status, message, {
      cause: init.cause,
      retryAfterMs: init.retryAfterMs,
    });
    // VendorHttpError prefixes a generic line; this one already says it all.
    this.message = message;
    this.method = init.method;
    this.path = init.path;
    this.shape = parsed.shape;
    this.fieldErrors = parsed.fieldErrors;
    this.errorTitle = parsed.error;
    this.detail = parsed.detail;
  }

  get fields(): string[] {
    return this.fieldErrors.map((f) => f.field);
  }
}

/**
 * A 404 whose body is not the documented `WorkOrder not found!`: the request reached no work-order
 * route (a baseUrl without `/v0.2`, a path without its trailing slash), so it says nothing about the
 * work order. Not retryable, and fatal to a poll run: every other call would miss the same way, and
 * reading it as "gone" would stop following every work order.
 */
export class DeepomaticRouteNotFoundError extends DeepomaticApiError {
  constructor(
    init: DeepomaticApiErrorInit,
    /** The full URL requested (no credential in it), so the wrong base shows. */
    readonly url: string,
  ) {
    super(init);
    this.message = `${this.message} (not Deepomatic's "${DEEPOMATIC_WORK_ORDER_NOT_FOUND_DETAIL}", so no work-order route answered ${url}: check vendors.deepomatic.baseUrl, which must end in /v0.2)`;
  }
}

/** A call refused before sending because Deepomatic would reject its input. Not retryable. */
export class DeepomaticInputError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly field: string,
    message: string,
  ) {
    super(`${DEEPOMATIC_VENDOR} ${operation}: invalid input at ${field || '(root)'}: ${message}`);
  }
}
