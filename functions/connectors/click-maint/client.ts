/**
 * The Click Maint API client (reference §2, §3), over the core HttpClient.
 *
 * - Every call sends `Authorization: Bearer <key>`; every call but `GET /entities` sends
 *   `X-Entity-Id` (one entity per request, reference §1).
 * - Every attempt (retries too) takes a token from the account's SharedRateLimiter (one DynamoDB
 *   bucket per host: the limit is per IP), and every response feeds its `X-RateLimit-*` /
 *   `retry-after` headers back (rateLimitHooks). A 429 pauses the whole bucket; HttpClient retries it
 *   after `retry-after` when that fits in `maxDelayMs`, else (or after the last attempt) the client
 *   throws a retryable RateLimitedError whose `retryAfterMs` says when to come back.
 * - 4xx answers (but 429) carry `{status: 'error', message}`: raised as ClickMaintApiError with the
 *   vendor's message, not retried. A 401 re-reads the key once (rotation) and retries once.
 * - `createWorkOrder`, `restockPart` and `reconcilePart` are not idempotent (no idempotency key; stock
 *   actions add): a timeout after sending is an AmbiguousWriteError, never a blind re-send. Look for
 *   a created work order with `findWorkOrderByTitleTag` first. `updateWorkOrder` sends absolute
 *   values and is retried.
 * - Paths other than `/entities`, `/assets`, `/parts` and `/parts/{id}/reconcile` are guessed from
 *   Rails conventions (reference §3.0); they are listed once in CLICK_MAINT_PATHS.
 * - Nothing is read or fetched in the constructor: the key is read on the first call.
 * - The key, 401 and retry plumbing is core/vendor-http.ts with a bearer key (core/auth.ts); this
 *   file adds what is Click Maint's: `X-Entity-Id`, the limiter hooks, the 429 -> RateLimitedError.
 */
import * as z from 'zod/mini';
import { bearer } from '../../core/auth.ts';
import { MillwrightError, redact, VendorHttpError, VendorResponseError } from '../../core/errors.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { HttpClientOptions, HttpRequest } from '../../core/http.ts';
import { type Log, silentLog } from '../../core/log.ts';
import { RateLimitedError, rateLimitHooks, SharedRateLimiter } from '../../core/rate-limit.ts';
import { parseRecords } from '../../core/records.ts';
import { parseWith } from '../../core/schema.ts';
import { readSecret } from '../../core/secrets.ts';
import { VendorHttpClient } from '../../core/vendor-http.ts';
import { type ClickMaintConfig, clickMaintSecretSchema, parseClickMaintConfig } from './config.ts';
import {
  assetSchema,
  type ClickMaintAsset,
  type ClickMaintEntity,
  type ClickMaintListQuery,
  type ClickMaintPage,
  type ClickMaintPart,
  type ClickMaintWorkOrder,
  type CreateWorkOrderInput,
  createWorkOrderInputSchema,
  entitySchema,
  errorEnvelopeSchema,
  listEnvelope,
  listQuerySchema,
  partSchema,
  type ReconcilePartInput,
  type RestockPartInput,
  reconcileInputSchema,
  recordPlaceSchema,
  restockInputSchema,
  roundTo,
  successEnvelope,
  type UpdateWorkOrderInput,
  updateWorkOrderInputSchema,
  workOrderSchema,
} from './schemas.ts';

export type {
  ClickMaintAsset,
  ClickMaintEntity,
  ClickMaintListQuery,
  ClickMaintPage,
  ClickMaintPart,
  ClickMaintWorkOrder,
  CreateWorkOrderInput,
  ReconcilePartInput,
  RestockPartInput,
  UpdateWorkOrderInput,
};

export const CLICK_MAINT_VENDOR = 'click-maint';

export const CLICK_MAINT_PATHS = {
  entities: '/entities',
  workOrders: '/work_orders',
  workOrder: (id: number) => `/work_orders/${id}`,
  parts: '/parts',
  part: (id: number) => `/parts/${id}`,
  restock: (id: number) => `/parts/${id}/restock`,
  reconcile: (id: number) => `/parts/${id}/reconcile`,
  assets: '/assets',
} as const;

/** The rate-limit bucket of an account: `click-maint:<host of baseUrl>` (the limit is per IP). */
export const clickMaintRateLimitKey = (baseUrl: string): string => `click-maint:${new URL(baseUrl).host}`;

/** Click Maint answered `{status: 'error', message}` (or a 4xx/5xx); `vendorMessage` is its message. */
export class ClickMaintApiError extends VendorHttpError {
  constructor(
    operation: string,
    status: number,
    readonly vendorMessage: string,
    options: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(CLICK_MAINT_VENDOR, operation, status, vendorMessage, options);
  }
}

/** A call refused before sending because its input would be rejected. Not retryable. */
export class ClickMaintInputError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly field: string,
    message: string,
  ) {
    super(`${CLICK_MAINT_VENDOR} ${operation}: invalid input at ${field || '(root)'}: ${message}`);
  }
}

/** `listAll` read `maxPages` pages and the list goes on. */
export class ClickMaintPageLimitError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly pages: number,
  ) {
    super(`${CLICK_MAINT_VENDOR} ${operation}: stopped after ${pages} pages; more results follow`);
  }
}

export type ClickMaintHttpOptions = Partial<
  Omit<HttpClientOptions, 'vendor' | 'baseUrl' | 'headers' | 'secrets' | 'beforeAttempt' | 'afterResponse'>
>;

export interface ClickMaintClientOptions {
  config: ClickMaintConfig;
  /** Reads the API key; called lazily, with `refresh: true` after a 401 (the key may have rotated). */
  loadApiKey: (options: { refresh: boolean }) => Promise<string>;
  /** The account's shared bucket; every attempt takes a token. Absent = no limiting (tests only). */
  limiter?: SharedRateLimiter;
  /** HttpClient settings for tests and tuning (fetch, sleep, random, timeoutMs, retries). */
  http?: ClickMaintHttpOptions;
  log?: Log;
}

export interface ListAllOptions {
  /** Stop with ClickMaintPageLimitError after this many pages (default 1000). */
  maxPages?: number;
}

interface CmRequest extends HttpRequest {
  /** Sent as `X-Entity-Id`; undefined only for `GET /entities`. */
  entityId: number | undefined;
}

/**
 * Only a 429 proves Click Maint refused a write: its doc documents 429 (rate limit) and nothing for
 * 503, which may come after the write committed. A write answered 503 is therefore ambiguous (the
 * retry looks for it, e.g. by its title tag), never re-sent in process: that made a second work order.
 */
const CLICK_MAINT_REFUSED_STATUSES: readonly number[] = [429];

/** The request as sent: the entity as the `X-Entity-Id` header. */
const withEntity = ({ entityId, ...request }: CmRequest): HttpRequest => ({
  refusedStatuses: CLICK_MAINT_REFUSED_STATUSES,
  ...request,
  ...(entityId !== undefined ? { headers: { ...request.headers, 'x-entity-id': String(entityId) } } : {}),
});

const inputError = (operation: string) => (p: { path: string; message: string }) =>
  new ClickMaintInputError(operation, p.path, p.message);

function checkId(operation: string, field: string, id: number): number {
  if (!Number.isInteger(id) || id < 1)
    throw new ClickMaintInputError(operation, field, 'must be an integer >= 1');
  return id;
}

/** The vendor's message from an error body, or a short excerpt of the body. */
/** The vendor's error text, whole: callers redact it before anything is cut (the message is one line). */
function errorMessage(data: unknown, fallback: string): string {
  const parsed = errorEnvelopeSchema.safeParse(data);
  if (parsed.success) return parsed.data.message;
  if (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { message?: unknown }).message === 'string'
  ) {
    return (data as { message: string }).message;
  }
  if (typeof data === 'string' && data.trim()) return data.trim();
  return fallback;
}

export class ClickMaintClient {
  readonly config: ClickMaintConfig;
  readonly limiter: SharedRateLimiter | undefined;
  /** Key handling, 401 re-read, retries and error fields live in VendorHttpClient (core/vendor-http.ts). */
  private readonly http: VendorHttpClient;
  private readonly log: Log;
  private entityIds: Promise<number[]> | undefined;

  constructor(options: ClickMaintClientOptions) {
    this.config = options.config;
    this.limiter = options.limiter;
    this.log = options.log ?? silentLog;
    this.http = new VendorHttpClient({
      vendor: CLICK_MAINT_VENDOR,
      baseUrl: options.config.baseUrl,
      timeoutMs: options.config.timeoutMs,
      http: options.http,
      hooks: options.limiter ? rateLimitHooks(options.limiter) : undefined,
      auth: bearer({ load: options.loadApiKey, secretName: options.config.secretName }),
      toError: ({ request, status, body, cause, secrets }) => {
        if (!cause)
          return new ClickMaintApiError(
            request.operation,
            status,
            redact(errorMessage(body, `HTTP ${status}`), secrets).slice(0, 300),
          );
        // Only a 429 is Click Maint's own: HttpClient gave up (retry-after longer than it may wait,
        // or the last attempt); the limiter has paused the bucket; hand the wait to the queue. A
        // final 5xx stays HttpClient's VendorHttpError.
        if (status !== 429) return cause;
        const retryAfterMs =
          cause.retryAfterMs ?? Math.ceil((this.config.rateLimit.windowSeconds * 1000) / 10);
        return new RateLimitedError(
          this.limiter?.key ?? clickMaintRateLimitKey(this.config.baseUrl),
          retryAfterMs,
          `click-maint ${request.operation}: rate limited (HTTP 429); retry in ${retryAfterMs} ms`,
        );
      },
      callLog: false,
      log: this.log,
    });
  }

  /** Send and parse a `{status: 'success', data}` answer with `schema` for `data`. */
  private async call<T>(req: CmRequest, parse: (data: unknown) => T): Promise<T> {
    const response = await this.http.send(withEntity(req));
    return parse(response.data);
  }

  /** `GET` one record of an entity: its `data`, or undefined when Click Maint answers 404. */
  private async getOne<T>(
    operation: string,
    entityId: number,
    path: string,
    schema: z.ZodMiniType<T>,
  ): Promise<T | undefined> {
    const request = { operation, method: 'GET' as const, path, entityId, acceptStatus: [404] };
    const response = await this.http.send(withEntity(request));
    if (response.status === 404) return undefined;
    return this.parser(operation, successEnvelope(schema))(response.data).data;
  }

  private parser<S extends z.ZodMiniType>(operation: string, schema: S) {
    return (data: unknown) => {
      if (errorEnvelopeSchema.safeParse(data).success) {
        throw new ClickMaintApiError(
          operation,
          200,
          redact(errorMessage(data, 'status: error'), this.http.secrets()),
          {
            retryable: false,
          },
        );
      }
      return parseWith(
        schema,
        data,
        (p) => new VendorResponseError(CLICK_MAINT_VENDOR, operation, p.path, p.message),
      );
    };
  }

  /**
   * One page. `byRecord`: the envelope is checked, then each record on its own (parseRecords): a
   * record that does not parse is returned in `skipped` instead of failing the page. Otherwise any
   * bad record fails the call (lists whose callers must see every record, e.g. a lookup before a
   * create).
   */
  private async list<T>(
    operation: string,
    path: string,
    entityId: number | undefined,
    query: ClickMaintListQuery,
    item: z.ZodMiniType<T>,
    byRecord = false,
  ): Promise<ClickMaintPage<T>> {
    const q = parseWith(listQuerySchema, query, inputError(operation));
    const wire: Record<string, string | number> = {
      page: q.page ?? 1,
      per_page: q.perPage ?? this.config.perPage,
    };
    if (q.sort) wire.sort = q.sort;
    if (q.search) wire.search = q.search;
    for (const [k, v] of Object.entries(q.filter ?? {})) wire[`filter[${k}]`] = String(v);
    const data = await this.call(
      { operation, method: 'GET', path, entityId, query: wire },
      this.parser(operation, listEnvelope(byRecord ? z.unknown() : item)),
    );
    const { records, failures } = byRecord
      ? parseRecords(data.data, item)
      : { records: data.data as T[], failures: [] };
    return {
      items: records,
      skipped: failures.map(({ record, field, message, raw }) => {
        const place = recordPlaceSchema.safeParse(raw);
        return {
          record,
          field,
          message,
          ...(place.success ? { updatedAtMs: Date.parse(place.data.updated_at) } : {}),
        };
      }),
      pagination: data.meta.pagination,
      sort: data.meta.sort ?? [],
      filter: data.meta.filter ?? {},
    };
  }

  /**
   * Every page from `query.page` (default 1) until `meta.pagination.page >= total_pages`. Offset
   * paging over a changing set can repeat a row across pages: each id is returned once (its last
   * version, at its first position).
   */
  async listAll<T extends { id: number }>(
    listPage: (query: ClickMaintListQuery) => Promise<ClickMaintPage<T>>,
    query: ClickMaintListQuery = {},
    options: ListAllOptions = {},
  ): Promise<T[]> {
    const maxPages = options.maxPages ?? 1000;
    const byId = new Map<number, T>();
    let page = query.page ?? 1;
    for (let read = 1; ; read++) {
      const result = await listPage({ ...query, page });
      const [bad] = result.skipped;
      // A partial "all" would look complete to its caller: refuse it, naming the record.
      if (bad) {
        throw new VendorResponseError(
          CLICK_MAINT_VENDOR,
          'listAll',
          bad.field,
          `${bad.message} (record ${bad.record}, page ${page})`,
        );
      }
      for (const item of result.items) byId.set(item.id, item);
      const { page: at, total_pages } = result.pagination;
      if (at >= total_pages || result.items.length === 0) break;
      if (read >= maxPages) throw new ClickMaintPageLimitError('listAll', read);
      page = at + 1;
    }
    return [...byId.values()];
  }

  // -------------------------------------------------------------------------------------------
  // Entities.

  /** Every entity the key can see (`GET /entities`, no `X-Entity-Id`; all pages). */
  async listEntities(): Promise<ClickMaintEntity[]> {
    return this.listAll((q) =>
      this.list('listEntities', CLICK_MAINT_PATHS.entities, undefined, q, entitySchema),
    );
  }

  /**
   * The entity ids to work in: `config.entities`, else the ids `GET /entities` lists (asked once per
   * client, i.e. per container; a failed discovery is asked again next time).
   */
  resolveEntities(): Promise<number[]> {
    if (this.config.entities) return Promise.resolve([...this.config.entities]);
    this.entityIds ??= this.listEntities().then(
      (entities) => entities.map((e) => e.id).sort((a, b) => a - b),
      (error: unknown) => {
        this.entityIds = undefined;
        throw error;
      },
    );
    return this.entityIds;
  }

  // -------------------------------------------------------------------------------------------
  // Work orders.

  /** One page (`GET /work_orders`; the API's default sort is `created_at desc`). */
  async listWorkOrders(
    entityId: number,
    query: ClickMaintListQuery = {},
  ): Promise<ClickMaintPage<ClickMaintWorkOrder>> {
    checkId('listWorkOrders', 'entityId', entityId);
    return this.list('listWorkOrders', CLICK_MAINT_PATHS.workOrders, entityId, query, workOrderSchema);
  }

  /** `undefined` when Click Maint answers 404 (unknown id, or a work order of another entity). */
  async getWorkOrder(entityId: number, id: number): Promise<ClickMaintWorkOrder | undefined> {
    const operation = 'getWorkOrder';
    checkId(operation, 'entityId', entityId);
    const path = CLICK_MAINT_PATHS.workOrder(checkId(operation, 'id', id));
    return this.getOne(operation, entityId, path, workOrderSchema);
  }

  /**
   * Creates a work order (body `{ work_order: {...} }`). Not idempotent: a timeout after sending is
   * an AmbiguousWriteError; put a short tag in the title and look for it with
   * `findWorkOrderByTitleTag` before creating again.
   */
  async createWorkOrder(entityId: number, input: CreateWorkOrderInput): Promise<ClickMaintWorkOrder> {
    const operation = 'createWorkOrder';
    checkId(operation, 'entityId', entityId);
    const body = parseWith(createWorkOrderInputSchema, input, inputError(operation));
    return this.call(
      { operation, method: 'POST', path: CLICK_MAINT_PATHS.workOrders, entityId, body: { work_order: body } },
      this.parser(operation, successEnvelope(workOrderSchema)),
    ).then((r) => r.data);
  }

  /** PATCH of absolute values (body `{ work_order: {...} }`), so safe to repeat. */
  async updateWorkOrder(
    entityId: number,
    id: number,
    patch: UpdateWorkOrderInput,
  ): Promise<ClickMaintWorkOrder> {
    const operation = 'updateWorkOrder';
    checkId(operation, 'entityId', entityId);
    const body = parseWith(updateWorkOrderInputSchema, patch, inputError(operation));
    if (Object.keys(body).length === 0) throw new ClickMaintInputError(operation, '', 'nothing to update');
    return this.call(
      {
        operation,
        method: 'PATCH',
        path: CLICK_MAINT_PATHS.workOrder(checkId(operation, 'id', id)),
        entityId,
        body: { work_order: body },
        idempotent: true,
      },
      this.parser(operation, successEnvelope(workOrderSchema)),
    ).then((r) => r.data);
  }

  /**
   * The work order whose title contains `tag` (`filter[title_cont]=<tag>`, every page, then an exact
   * substring check, since `_cont` is case-insensitive). With several, the oldest (lowest id): the
   * one the first attempt made. Used to find a create whose answer was lost before creating again.
   */
  async findWorkOrderByTitleTag(entityId: number, tag: string): Promise<ClickMaintWorkOrder | undefined> {
    const operation = 'findWorkOrderByTitleTag';
    checkId(operation, 'entityId', entityId);
    if (tag.trim().length < 4)
      throw new ClickMaintInputError(operation, 'tag', 'must be at least 4 characters');
    const found = await this.listAll((q) => this.listWorkOrders(entityId, q), {
      filter: { title_cont: tag },
      sort: 'created_at asc',
    });
    const matching = found.filter((wo) => wo.title.includes(tag)).sort((a, b) => a.id - b.id);
    if (matching.length > 1) {
      this.log.warn('click-maint: several work orders carry the same title tag; using the oldest', {
        entityId,
        tag,
        ids: matching.map((wo) => wo.id),
      });
    }
    return matching[0];
  }

  // -------------------------------------------------------------------------------------------
  // Parts.

  /**
   * One page (`GET /parts`; the API's default sort is `name asc`). `reserved` is null in lists. A
   * part that does not parse is returned in `skipped` (id, field, reason, updated_at when readable),
   * so one bad record never hides the others; a bad envelope (no `data` list, no pagination) is
   * still a VendorResponseError.
   */
  async listParts(
    entityId: number,
    query: ClickMaintListQuery = {},
  ): Promise<ClickMaintPage<ClickMaintPart>> {
    checkId('listParts', 'entityId', entityId);
    return this.list('listParts', CLICK_MAINT_PATHS.parts, entityId, query, partSchema, true);
  }

  /** `undefined` when Click Maint answers 404. */
  async getPart(entityId: number, id: number): Promise<ClickMaintPart | undefined> {
    const operation = 'getPart';
    checkId(operation, 'entityId', entityId);
    return this.getOne(operation, entityId, CLICK_MAINT_PATHS.part(checkId(operation, 'id', id)), partSchema);
  }

  /**
   * Adds received stock (`PATCH /parts/{id}/restock`, unwrapped body `{quantity, cost, note}`;
   * quantity rounded to 3 decimals, cost to 2). Not idempotent: it adds.
   */
  async restockPart(entityId: number, id: number, input: RestockPartInput): Promise<ClickMaintPart> {
    const operation = 'restockPart';
    checkId(operation, 'entityId', entityId);
    const body = parseWith(restockInputSchema, input, inputError(operation));
    // "decimal places <= 3" (api-doc.txt:1240): a positive quantity that rounds to 0 would get a 422.
    const quantity = roundTo(body.quantity, 3);
    if (quantity <= 0) throw new ClickMaintInputError(operation, 'quantity', 'rounds to 0');
    return this.call(
      {
        operation,
        method: 'PATCH',
        path: CLICK_MAINT_PATHS.restock(checkId(operation, 'id', id)),
        entityId,
        body: {
          quantity,
          cost: roundTo(body.cost, 2),
          ...(body.note !== undefined ? { note: body.note } : {}),
        },
      },
      this.parser(operation, successEnvelope(partSchema)),
    ).then((r) => r.data);
  }

  /**
   * Adjusts stock by a DELTA (`PATCH /parts/{id}/reconcile`, unwrapped `{quantity, note}`; to set a
   * count, send target - current `onHandQty`). Not idempotent.
   */
  async reconcilePart(entityId: number, id: number, input: ReconcilePartInput): Promise<ClickMaintPart> {
    const operation = 'reconcilePart';
    checkId(operation, 'entityId', entityId);
    const body = parseWith(reconcileInputSchema, input, inputError(operation));
    const quantity = roundTo(body.quantity, 3);
    if (quantity === 0) throw new ClickMaintInputError(operation, 'quantity', 'rounds to 0');
    return this.call(
      {
        operation,
        method: 'PATCH',
        path: CLICK_MAINT_PATHS.reconcile(checkId(operation, 'id', id)),
        entityId,
        body: { quantity, note: body.note },
      },
      this.parser(operation, successEnvelope(partSchema)),
    ).then((r) => r.data);
  }

  // -------------------------------------------------------------------------------------------
  // Assets.

  /** One page (`GET /assets`; the API's default sort is `name asc`). */
  async listAssets(
    entityId: number,
    query: ClickMaintListQuery = {},
  ): Promise<ClickMaintPage<ClickMaintAsset>> {
    checkId('listAssets', 'entityId', entityId);
    return this.list('listAssets', CLICK_MAINT_PATHS.assets, entityId, query, assetSchema);
  }
}

/** What `connectClickMaint` lets tests and the sandbox replace. */
export interface ClickMaintConnectOverrides {
  /** A ready limiter (else one is built over `env.state` with `config.rateLimit`). */
  limiter?: SharedRateLimiter;
  fetch?: typeof fetch;
  /** Used by HttpClient's retries and by the limiter's waits. */
  sleep?: (ms: number) => Promise<void>;
  /** Wall-clock ms for the limiter (default Date.now), never the sandbox's manual clock. */
  now?: () => number;
  /** The limiter's longest wait inside one call (default 20 s). */
  maxWaitMs?: number;
  http?: ClickMaintHttpOptions;
  log?: Log;
}

/**
 * The client for a runtime env: validates `env.vendors['click-maint']` now (ConfigError naming
 * `vendors.click-maint.<field>`), builds the account's shared limiter (key
 * `click-maint:<host of baseUrl>`), and reads the secret only when the first call needs it.
 */
export function connectClickMaint(
  env: RuntimeEnv,
  overrides: ClickMaintConnectOverrides = {},
): ClickMaintClient {
  const config = parseClickMaintConfig(env.vendors['click-maint']);
  const log = overrides.log ?? env.log;
  const limiter =
    overrides.limiter ??
    new SharedRateLimiter({
      state: env.state,
      key: clickMaintRateLimitKey(config.baseUrl),
      policy: config.rateLimit,
      log,
      ...(overrides.now ? { now: overrides.now } : {}),
      ...(overrides.sleep ? { sleep: overrides.sleep } : {}),
      ...(overrides.maxWaitMs !== undefined ? { maxWaitMs: overrides.maxWaitMs } : {}),
    });
  return new ClickMaintClient({
    config,
    limiter,
    log,
    http: {
      ...(env.transport ? { fetch: env.transport(CLICK_MAINT_VENDOR) } : {}),
      ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
      ...(overrides.sleep ? { sleep: overrides.sleep } : {}),
      ...overrides.http,
    },
    loadApiKey: async ({ refresh }) =>
      (await readSecret(env.secrets, config.secretName, clickMaintSecretSchema, { refresh })).apiKey,
  });
}

/** `config.entities`, else the ids `GET /entities` lists (cached by the client). */
export const resolveEntities = (client: ClickMaintClient): Promise<number[]> => client.resolveEntities();
