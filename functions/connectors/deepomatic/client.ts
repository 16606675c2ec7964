/**
 * The Deepomatic Engage work-order client (reference §3), over the core HttpClient.
 *
 * - Every call sends `Authorization: Token <key>` (the scheme word is `Token`, not `Bearer`). The key
 *   is read from Secrets Manager on the first call, never in the constructor; a 401/403 re-reads it
 *   once and retries once if it changed (rotation). Deepomatic did not act on a refused call.
 * - Every path ends with a slash (`/work-orders/`, `/work-orders/{id}/`), as the doc's paths do.
 * - `createWorkOrder` is a non-idempotent POST (no idempotency key, no lookup by name, duplicate
 *   names accepted): a timeout after sending is an AmbiguousWriteError, never a blind re-send. Its
 *   `name` is checked against `^[A-Za-z0-9_-]{1,128}$` before sending (`toWorkOrderName` builds one),
 *   and `metadata` is ALWAYS sent (`{}` when there is none): the doc says it may be omitted but also
 *   lists the error `Field 'metadata' is missing. This field is required.` (reference §7.1 #1).
 * - `updateWorkOrder` is a PATCH with override semantics (each field sent replaces the stored one;
 *   `tags`/`metadata` are not merged), so it is safe to repeat and marked idempotent.
 * - `deleteWorkOrder` treats the documented not-found (404 `{"detail": "WorkOrder not found!"}`) as
 *   already done; `getWorkOrder` ([EXT] Data retrieval, `GET /work-orders/{id}/?include_inputs=false`)
 *   answers undefined on it. Any other 404 (e.g. a baseUrl without `/v0.2`) raises a non-retryable
 *   DeepomaticRouteNotFoundError: read as "gone", it would stop following every work order.
 * - Errors: every 4xx body (E1..E4, errors.ts) becomes a DeepomaticApiError naming the fields; 429 and
 *   5xx are retried by HttpClient (GET/PATCH/DELETE) and then raised the same way.
 * - The key, 401/403 and retry plumbing is core/vendor-http.ts with a `Token` key header (core/auth.ts);
 *   this file says only what is Deepomatic's: the `Token` header, 403, DeepomaticApiError.
 *
 * NAMED ASSUMPTION (validation outcome; the doc leaves task `state` undocumented, reference §7.1 #8):
 * a task whose `state` is `false`, or an object with `conform: false` / `is_conform: false`, or the
 * string 'non_conform', is a failed checkpoint; `true` / `{conform: true}` / `{is_conform: true}` /
 * 'conform' passes; `null` (or absent, or an object whose conform flag is null) = not analysed yet.
 * Strings are compared case-insensitively, with `-` and spaces read as `_` ('Non-Conform' fails).
 * Any other non-null value (e.g. the count of a `Number` task) = analysed without a verdict: it
 * neither passes nor fails, it only stops the task from being pending.
 * `validationOutcome(wo, {requiredTasks})` judges the required task names (all the work order's tasks
 * when the list is absent or empty):
 * - 'failed'  if any of them failed, or a required name is not a task of the work order (types filter
 *   the tasks at creation, so a missing task never appears and could never pass);
 * - 'pending' else if any of them is not analysed yet, or there is no task to judge;
 * - 'passed'  otherwise (each passed, or was analysed without a verdict).
 * A failure wins over pending tasks, so a flow can react as soon as one checkpoint fails.
 * `progress_score` and `review_date` are not part of the rule; a flow may add them (the poll events
 * carry both).
 */
import { createHash } from 'node:crypto';
import { apiKeyHeader } from '../../core/auth.ts';
import { VendorResponseError } from '../../core/errors.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { HttpClientOptions } from '../../core/http.ts';
import { type Log, silentLog } from '../../core/log.ts';
import { firstProblem } from '../../core/records.ts';
import { parseWith } from '../../core/schema.ts';
import { readSecret } from '../../core/secrets.ts';
import { VendorHttpClient } from '../../core/vendor-http.ts';
import { type DeepomaticConfig, deepomaticSecretSchema, parseDeepomaticConfig } from './config.ts';
import {
  DEEPOMATIC_VENDOR,
  DeepomaticApiError,
  DeepomaticInputError,
  DeepomaticRouteNotFoundError,
  isWorkOrderNotFoundBody,
} from './errors.ts';
import {
  type CreateWorkOrderInput,
  createWorkOrderInputSchema,
  type DeepomaticWorkOrder,
  deepomaticWorkOrderSchema,
  type UpdateWorkOrderInput,
  updateWorkOrderInputSchema,
  WORK_ORDER_NAME_MAX_LENGTH,
  workOrderNameProblem,
} from './schemas.ts';

export {
  DEEPOMATIC_WORK_ORDER_NOT_FOUND_DETAIL,
  DeepomaticApiError,
  DeepomaticInputError,
  DeepomaticRouteNotFoundError,
} from './errors.ts';
export { WORK_ORDER_NAME_MAX_LENGTH, WORK_ORDER_NAME_PATTERN, workOrderNameProblem } from './schemas.ts';
export type { CreateWorkOrderInput, DeepomaticWorkOrder, UpdateWorkOrderInput };

export const DEEPOMATIC_PATHS = {
  workOrders: '/work-orders/',
  workOrder: (id: string) => `/work-orders/${encodeURIComponent(id)}/`,
} as const;

// ---- names ------------------------------------------------------------------------------------

const NAME_HASH_LENGTH = 8;
const cleanName = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_');

/**
 * A valid work-order name for a CMMS id: `prefix + id` (the prefix carries its own separator, e.g.
 * `upkeep-`), every run of other characters replaced by `_`. When that changed the id, or the name
 * would pass 128 characters, it is cut to fit and ends with `-` + 8 hex of the id's SHA-256, so
 * distinct ids keep distinct names. Deterministic. Store the original id in `metadata` too (names
 * are only recommended unique, reference §5.3).
 */
export function toWorkOrderName(prefix: string, id: string | number): string {
  const raw = String(id);
  if (raw.length === 0) throw new DeepomaticInputError('toWorkOrderName', 'id', 'must not be empty');
  const head = cleanName(prefix);
  const body = cleanName(raw);
  const name = head + body;
  if (body === raw && name.length <= WORK_ORDER_NAME_MAX_LENGTH) return name;
  const suffix = `-${createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, NAME_HASH_LENGTH)}`;
  return name.slice(0, WORK_ORDER_NAME_MAX_LENGTH - suffix.length) + suffix;
}

// ---- client -----------------------------------------------------------------------------------

export type DeepomaticHttpOptions = Partial<
  Omit<HttpClientOptions, 'vendor' | 'baseUrl' | 'headers' | 'secrets'>
>;

export interface DeepomaticClientOptions {
  config: DeepomaticConfig;
  /** Reads the API key; called lazily, with `refresh: true` after a 401/403 (the key may have rotated). */
  loadApiKey: (options: { refresh: boolean }) => Promise<string>;
  /** HttpClient settings for tests and tuning (fetch, sleep, random, timeoutMs, retries). */
  http?: DeepomaticHttpOptions;
  log?: Log;
}

const inputError = (operation: string) => (p: { path: string; message: string }) =>
  new DeepomaticInputError(operation, p.path, p.message);

function checkId(operation: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0)
    throw new DeepomaticInputError(operation, 'id', 'must be a non-empty string');
  return id;
}

function checkName(operation: string, name: unknown): void {
  const problem = workOrderNameProblem(name);
  if (problem) throw new DeepomaticInputError(operation, 'name', problem);
}

export type DeleteWorkOrderResult = 'deleted' | 'already-gone';

export class DeepomaticClient {
  readonly config: DeepomaticConfig;
  /** Key handling, 401/403 re-read, retries and error fields live in VendorHttpClient (core/vendor-http.ts). */
  private readonly http: VendorHttpClient;
  private readonly log: Log;

  constructor(options: DeepomaticClientOptions) {
    this.config = options.config;
    this.log = options.log ?? silentLog;
    this.http = new VendorHttpClient({
      vendor: DEEPOMATIC_VENDOR,
      baseUrl: options.config.baseUrl,
      timeoutMs: options.config.timeoutMs,
      http: options.http,
      auth: apiKeyHeader('authorization', {
        scheme: 'Token',
        load: options.loadApiKey,
        secretName: options.config.secretName,
        refusedStatuses: [401, 403],
      }),
      toError: ({ request: { operation, method, path }, status, body, retryAfterMs, cause, secrets }) =>
        new DeepomaticApiError({ operation, method, path, status, body, retryAfterMs, cause, secrets }),
      log: this.log,
    });
  }

  /** The full URL a path resolves to (for logs and tests). */
  url(path: string): string {
    return this.http.url(path);
  }

  /** A VendorResponseError names the field and shows the value received (`(got "abc")`). */
  private workOrder(operation: string, data: unknown): DeepomaticWorkOrder {
    const result = deepomaticWorkOrderSchema.safeParse(data);
    if (result.success) return result.data;
    const { field, message } = firstProblem(result.error, data);
    throw new VendorResponseError(DEEPOMATIC_VENDOR, operation, field, message);
  }

  /**
   * `POST /work-orders/`. Not idempotent: a timeout after sending raises AmbiguousWriteError (the
   * work order may exist; there is no lookup by name, so reconcile before creating again). So does
   * a 503: Deepomatic documents none (5xx is "a server error"), and re-sent in process after a 503
   * that came after the commit it made a second work order. Only a 429 proves a refusal.
   */
  async createWorkOrder(input: CreateWorkOrderInput): Promise<DeepomaticWorkOrder> {
    const operation = 'createWorkOrder';
    checkName(operation, (input as { name?: unknown } | undefined)?.name);
    const parsed = parseWith(createWorkOrderInputSchema, input, inputError(operation));
    const body = { ...parsed, metadata: parsed.metadata ?? {} };
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: DEEPOMATIC_PATHS.workOrders,
      body,
      refusedStatuses: [429],
    });
    return this.workOrder(operation, data);
  }

  /** `PATCH /work-orders/{id}/`: each field sent replaces the stored one. Safe to repeat. */
  async updateWorkOrder(id: string, patch: UpdateWorkOrderInput): Promise<DeepomaticWorkOrder> {
    const operation = 'updateWorkOrder';
    checkId(operation, id);
    const body = parseWith(updateWorkOrderInputSchema, patch, inputError(operation));
    if (body.name !== undefined) checkName(operation, body.name);
    if (Object.keys(body).length === 0) throw new DeepomaticInputError(operation, '', 'nothing to update');
    const { data } = await this.http.send({
      operation,
      method: 'PATCH',
      path: DEEPOMATIC_PATHS.workOrder(id),
      body,
      idempotent: true,
    });
    return this.workOrder(operation, data);
  }

  /**
   * A 404 accepted by a call: true for the documented not-found body; any other 404 body raises
   * DeepomaticRouteNotFoundError (the route was wrong, the work order may well exist).
   */
  private workOrderNotFound(operation: string, method: string, path: string, status: number, body: unknown) {
    if (status !== 404) return false;
    if (isWorkOrderNotFoundBody(body)) return true;
    const secrets = this.http.secrets();
    throw new DeepomaticRouteNotFoundError(
      { operation, method, path, status, body, secrets },
      this.url(path),
    );
  }

  /** `DELETE /work-orders/{id}/`; the documented 404 means it is already gone, which is what we wanted. */
  async deleteWorkOrder(id: string): Promise<DeleteWorkOrderResult> {
    const operation = 'deleteWorkOrder';
    checkId(operation, id);
    const path = DEEPOMATIC_PATHS.workOrder(id);
    const response = await this.http.send({ operation, method: 'DELETE', path, acceptStatus: [404] });
    if (this.workOrderNotFound(operation, 'DELETE', path, response.status, response.data)) {
      this.log.info('deepomatic work order already gone (404 on delete)', { id });
      return 'already-gone';
    }
    return 'deleted';
  }

  /** [EXT] `GET /work-orders/{id}/?include_inputs=false`; undefined on the documented not-found 404. */
  async getWorkOrder(id: string): Promise<DeepomaticWorkOrder | undefined> {
    const operation = 'getWorkOrder';
    checkId(operation, id);
    const path = DEEPOMATIC_PATHS.workOrder(id);
    const response = await this.http.send({
      operation,
      method: 'GET',
      path,
      query: { include_inputs: false },
      acceptStatus: [404],
    });
    if (this.workOrderNotFound(operation, 'GET', path, response.status, response.data)) return undefined;
    return this.workOrder(operation, response.data);
  }
}

/**
 * The client for a runtime env: validates `env.vendors.deepomatic` now (ConfigError naming
 * `vendors.deepomatic.<field>`), reads the secret only when the first call needs it.
 */
export function connectDeepomatic(
  env: RuntimeEnv,
  overrides: { http?: DeepomaticHttpOptions; log?: Log } = {},
): DeepomaticClient {
  const config = parseDeepomaticConfig(env.vendors.deepomatic);
  return new DeepomaticClient({
    log: env.log,
    ...overrides,
    http: { ...(env.transport ? { fetch: env.transport(DEEPOMATIC_VENDOR) } : {}), ...overrides.http },
    config,
    loadApiKey: async ({ refresh }) =>
      (await readSecret(env.secrets, config.secretName, deepomaticSecretSchema, { refresh })).apiKey,
  });
}

// ---- validation outcome -----------------------------------------------------------------------

export type TaskVerdict = 'passed' | 'failed' | 'pending' | 'no-verdict';
export type ValidationOutcome = 'passed' | 'failed' | 'pending';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One task `state` read by the NAMED ASSUMPTION (file header). */
export function taskVerdict(state: unknown): TaskVerdict {
  if (state === null || state === undefined) return 'pending';
  if (state === true) return 'passed';
  if (state === false) return 'failed';
  if (typeof state === 'string') {
    const word = state
      .trim()
      .toLowerCase()
      .replace(/[-\s]+/g, '_');
    if (word === 'non_conform') return 'failed';
    if (word === 'conform') return 'passed';
    return 'no-verdict';
  }
  if (isObject(state)) {
    const flags = [state.conform, state.is_conform];
    if (flags.includes(false)) return 'failed';
    if (flags.includes(true)) return 'passed';
    if (
      ('conform' in state && state.conform === null) ||
      ('is_conform' in state && state.is_conform === null)
    )
      return 'pending';
  }
  return 'no-verdict';
}

/** Anything with named tasks: a work order from the API, or a poll event's `data`. */
export interface TasksLike {
  tasks: readonly { name: string; state?: unknown }[];
}

export interface ValidationReport {
  outcome: ValidationOutcome;
  /** Task names by verdict (required tasks only, when a list was given). */
  passed: string[];
  failed: string[];
  pending: string[];
  /** Analysed without a pass/fail verdict (e.g. a Number task). */
  noVerdict: string[];
  /** Required names that are not tasks of this work order. */
  missing: string[];
}

/** The outcome with the task names behind it (for a CMMS comment or a log line). */
export function validationReport(
  wo: TasksLike,
  options: { requiredTasks?: readonly string[] } = {},
): ValidationReport {
  const required =
    options.requiredTasks && options.requiredTasks.length > 0 ? options.requiredTasks : undefined;
  const byName = new Map(wo.tasks.map((t) => [t.name, t]));
  const names = required ? [...new Set(required)] : [...byName.keys()];
  const report: ValidationReport = {
    outcome: 'pending',
    passed: [],
    failed: [],
    pending: [],
    noVerdict: [],
    missing: [],
  };
  for (const name of names) {
    const task = byName.get(name);
    if (!task) {
      report.missing.push(name);
      continue;
    }
    const verdict = taskVerdict(task.state);
    if (verdict === 'no-verdict') report.noVerdict.push(name);
    else report[verdict].push(name);
  }
  if (report.failed.length > 0 || report.missing.length > 0) report.outcome = 'failed';
  else if (report.pending.length > 0 || names.length === 0) report.outcome = 'pending';
  else report.outcome = 'passed';
  return report;
}

/** 'passed' | 'failed' | 'pending' by the NAMED ASSUMPTION (file header). */
export const validationOutcome = (
  wo: TasksLike,
  options: { requiredTasks?: readonly string[] } = {},
): ValidationOutcome => validationReport(wo, options).outcome;
