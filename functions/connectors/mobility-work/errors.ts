/**
 * Mobility Work's error answers as typed errors (reference §2.2). A 4xx body looks like
 * `{http_status_code, code: "400044", message, extended_message: {global_errors, property_errors}}`
 * where `property_errors` is keyed by JSON Pointers into *our* request (`/assignees/0`), so the
 * message names them: the caller can see which item of a 10,000-item batch was refused.
 */
import { isRetryable, MillwrightError, redact, VendorHttpError } from '../../core/errors.ts';

export const MW_VENDOR = 'mobility-work';

export interface MwGlobalError {
  messageKey: string;
  parameters: Record<string, unknown>;
}

export interface MwPropertyError extends MwGlobalError {
  /** JSON Pointer into the request body, e.g. `/assignees/0` or `/12/quantity`. */
  pointer: string;
}

export interface MwErrorBody {
  code: string | undefined;
  message: string | undefined;
  globalErrors: MwGlobalError[];
  propertyErrors: MwPropertyError[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_DETAILS = 10;

/** PHP serialises an empty map as `[]`; entries may be objects or bare strings. */
function entriesOf(value: unknown): MwGlobalError[] {
  const list = Array.isArray(value) ? value : isObject(value) ? [value] : [];
  return list.flatMap((entry): MwGlobalError[] => {
    if (typeof entry === 'string') return [{ messageKey: entry, parameters: {} }];
    if (!isObject(entry)) return [];
    const key = entry.messageKey ?? entry.message;
    return [
      {
        messageKey: typeof key === 'string' ? key : JSON.stringify(entry),
        parameters: isObject(entry.parameters) ? entry.parameters : {},
      },
    ];
  });
}

/** The MW error format, or undefined when the body is something else (HTML, text, empty). */
export function parseMwErrorBody(body: unknown): MwErrorBody | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!isObject(value)) return undefined;
  const { code, message } = value;
  const extended = isObject(value.extended_message) ? value.extended_message : {};
  const hasCode = typeof code === 'string' || typeof code === 'number';
  if (!hasCode && typeof message !== 'string' && !isObject(value.extended_message)) return undefined;
  const properties = isObject(extended.property_errors) ? extended.property_errors : {};
  return {
    code: hasCode ? String(code) : undefined,
    message: typeof message === 'string' ? message : undefined,
    globalErrors: entriesOf(extended.global_errors),
    propertyErrors: Object.entries(properties).flatMap(([pointer, list]) =>
      entriesOf(list).map((e) => ({ pointer, ...e })),
    ),
  };
}

const detail = (e: MwGlobalError & { pointer?: string }): string => {
  const params = Object.keys(e.parameters).length > 0 ? ` ${JSON.stringify(e.parameters)}` : '';
  return `${e.pointer ? `${e.pointer} ` : ''}${e.messageKey}${params}`;
};

function summaryOf(status: number, parsed: MwErrorBody): string {
  const text = parsed.message ? `: ${parsed.message}` : '';
  if (status === 401) return `API key rejected (${parsed.code ?? '401'})${text}`;
  if (status === 403) {
    // MW answers a plan refusal as "Subscription plan does not allow..." (403001) or "Access denied".
    const plan = parsed.code === '403001' || /plan/i.test(parsed.message ?? '');
    return `${plan ? 'plan does not allow this API' : 'access denied (the subscription plan may exclude this API)'} (403)${text}`;
  }
  return [parsed.code, parsed.message].filter(Boolean).join(' ') || 'error';
}

export interface MobilityWorkApiErrorInit {
  operation: string;
  method: string;
  path: string;
  status: number;
  /** The error body: parsed JSON, or text. */
  body?: unknown;
  requestId?: string;
  retryAfterMs?: number;
  cause?: unknown;
  /** Values to redact from the message (the API key). */
  secrets?: readonly (string | undefined)[];
}

/**
 * A non-2xx answer. Retryable like any VendorHttpError: 429 and 5xx yes, other 4xx no.
 * `message` is one line, e.g. `mobility-work POST /partners/v1/tasks -> 400 400044 The request
 * payload is not valid.: /assignees/0 error.payload.assignees.unknown {"type":"email","value":"x"}`.
 */
export class MobilityWorkApiError extends VendorHttpError {
  readonly method: string;
  readonly path: string;
  /** MW's error code, e.g. `400044`, `401001`; undefined when the body was not in MW's format. */
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly globalErrors: MwGlobalError[];
  readonly propertyErrors: MwPropertyError[];

  constructor(init: MobilityWorkApiErrorInit) {
    const parsed = parseMwErrorBody(init.body);
    const text = redact(describe(init, parsed), init.secrets ?? []);
    super(MW_VENDOR, init.operation, init.status, text, {
      cause: init.cause,
      retryAfterMs: init.retryAfterMs,
    });
    // VendorHttpError prefixes a generic line; this one already says it all.
    this.message = text;
    this.method = init.method;
    this.path = init.path;
    this.code = parsed?.code;
    this.requestId = init.requestId;
    this.globalErrors = parsed?.globalErrors ?? [];
    this.propertyErrors = parsed?.propertyErrors ?? [];
  }
}

function describe(init: MobilityWorkApiErrorInit, parsed: MwErrorBody | undefined): string {
  const head = `${MW_VENDOR} ${init.method} ${init.path} -> ${init.status}`;
  const tail = init.requestId ? ` [Request-Id ${init.requestId}]` : '';
  if (!parsed) {
    const raw = typeof init.body === 'string' ? init.body : (JSON.stringify(init.body) ?? '');
    // Redact before the cut, which could otherwise leave an unrecognisable prefix of a secret.
    const text = redact(raw.replace(/\s+/g, ' ').trim(), init.secrets ?? []).slice(0, 300);
    const shown = text && text !== 'null' ? text : undefined;
    // Auth and plan refusals keep their plain-words summary even without MW's error format.
    if (init.status === 401 || init.status === 403) {
      const bare = { code: undefined, message: shown, globalErrors: [], propertyErrors: [] };
      return `${head} ${summaryOf(init.status, bare)}${tail}`;
    }
    return `${head} ${shown ?? '(no error body)'}${tail}`;
  }
  const details = [...parsed.globalErrors, ...parsed.propertyErrors].map(detail);
  const shown = details.slice(0, MAX_DETAILS);
  if (details.length > MAX_DETAILS) shown.push(`(+${details.length - MAX_DETAILS} more)`);
  return `${head} ${summaryOf(init.status, parsed)}${shown.length > 0 ? `: ${shown.join('; ')}` : ''}${tail}`;
}

/** A call refused before sending because MW would reject its input. Not retryable. */
export class MobilityWorkInputError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly field: string,
    message: string,
  ) {
    super(`${MW_VENDOR} ${operation}: invalid input at ${field || '(root)'}: ${message}`);
  }
}

/**
 * A later request of a split bulk call failed after earlier ones were accepted (`accepted`). Items
 * `[from, to)` and everything after them were not sent. Retryable when the cause is.
 */
export class MobilityWorkBulkError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly accepted: { requests: number; items: number },
    readonly from: number,
    readonly to: number,
    cause: unknown,
  ) {
    super(
      `${MW_VENDOR} ${operation}: request ${accepted.requests + 1} (items ${from}..${to - 1}) failed after ` +
        `${accepted.requests} request(s) with ${accepted.items} item(s) were accepted: ${(cause as Error)?.message ?? String(cause)}`,
      { cause, retryable: isRetryable(cause) },
    );
  }
}
