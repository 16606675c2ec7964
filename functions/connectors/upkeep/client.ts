/**
 * The UpKeep API client (reference §3.1 work orders, §3.2 parts, §3.3 asset downtime, §3.7 requests,
 * §3.8 purchase orders), over the core HttpClient.
 *
 * - Every call sends `Session-Token` and `upkeep-version`.
 * - A 401 invalidates the session, logs in again once and retries the call once; a second 401 is a
 *   VendorHttpError (no refresh loop). The session is an auth strategy (auth.ts, core/auth.ts) of the
 *   core VendorHttpClient.
 * - `createWorkOrder`, `createPurchaseOrder` and `createRequest` are not idempotent (UpKeep has no
 *   idempotency key): a timeout after sending is an AmbiguousWriteError, and the caller must look
 *   for the record before trying again.
 * - List calls send only documented query names (UpKeep answers 400 `invalid filter key` to any
 *   other, reference §7.39); dates in filters are unix ms.
 * - Nothing is read or fetched in the constructor: credentials are read on the first call.
 */
import type * as z from 'zod/mini';
import {
  AmbiguousWriteError,
  MillwrightError,
  redact,
  VendorHttpError,
  VendorResponseError,
} from '../../core/errors.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { HttpClientOptions } from '../../core/http.ts';
import type { Log } from '../../core/log.ts';
import { silentLog } from '../../core/log.ts';
import { parseRecords, type RecordProblem } from '../../core/records.ts';
import { parseWith } from '../../core/schema.ts';
import { readSecret } from '../../core/secrets.ts';
import { VendorHttpClient } from '../../core/vendor-http.ts';
import { type CredentialsLoader, UpKeepSessionProvider } from './auth.ts';
import { parseUpKeepConfig, type UpKeepConfig, upkeepSecretSchema } from './config.ts';
import {
  type Asset,
  type AssetListFilter,
  assetListFilterSchema,
  assetListResponseSchema,
  assetSchema,
  type CreatePurchaseOrderInput,
  type CreateRequestInput,
  type CreateWebhookInput,
  type CreateWorkOrderInput,
  createPurchaseOrderInputSchema,
  createRequestInputSchema,
  createWebhookInputSchema,
  createWorkOrderInputSchema,
  type DowntimeEntry,
  type DowntimeRowError,
  type DowntimeRowResult,
  downtimeInputSchema,
  downtimeResponseSchema,
  type Part,
  type PartListFilter,
  type PurchaseOrder,
  type PurchaseOrderListFilter,
  partListFilterSchema,
  partListResponseSchema,
  partPlaceSchema,
  partResponseSchema,
  partSchema,
  purchaseOrderListFilterSchema,
  purchaseOrderListResponseSchema,
  purchaseOrderResponseSchema,
  purchaseOrderSchema,
  type RequestListFilter,
  recordedOnForUpKeep,
  requestListFilterSchema,
  rowsResponseSchema,
  type UpdatePartInput,
  type UpdateWebhookInput,
  type UpdateWorkOrderInput,
  type UpKeepWebhook,
  updatePartInputSchema,
  updateWebhookInputSchema,
  updateWorkOrderInputSchema,
  upkeepTimestampMs,
  type WorkOrder,
  type WorkOrderListFilter,
  type WorkRequest,
  webhookListResponseSchema,
  webhookResponseSchema,
  workOrderListFilterSchema,
  workOrderListResponseSchema,
  workOrderResponseSchema,
  workOrderSchema,
  workRequestListResponseSchema,
  workRequestResponseSchema,
} from './schemas.ts';

export type {
  Asset,
  AssetListFilter,
  CreatePurchaseOrderInput,
  CreateRequestInput,
  CreateWebhookInput,
  CreateWorkOrderInput,
  DowntimeEntry,
  Part,
  PartListFilter,
  PurchaseOrder,
  PurchaseOrderListFilter,
  RequestListFilter,
  UpdatePartInput,
  UpdateWebhookInput,
  UpdateWorkOrderInput,
  UpKeepWebhook,
  WorkOrder,
  WorkOrderListFilter,
  WorkRequest,
};

const VENDOR = 'upkeep';

/**
 * NAMED ASSUMPTION (UPKEEP_UPDATE_ITEMS; the doc lists `arrayOfUpdateItems` among the `includes` of
 * `GET /work-orders/<ID>` and shows it unexpanded as an array of ids, but never shows an expanded
 * item, reference §2.5, §7.23): expanded, each update item is an object whose message text is in one
 * of `textKeys`. Shared with the simulator, which renders `{id, text, createdAt}`. Anything else
 * makes `findWorkOrderMessage` answer `unknown`, which parks the write instead of repeating it.
 */
export const UPKEEP_UPDATE_ITEMS = { include: 'arrayOfUpdateItems', textKeys: ['text', 'message'] } as const;

/** What `findWorkOrderMessage` found (the `Lookup` shape of core/claims.ts). */
export type MessageLookup =
  | { status: 'found'; value: true }
  | { status: 'absent' }
  | { status: 'unknown'; why: string };

/**
 * NAMED ASSUMPTION UPKEEP_PAST_END_404. The doc has no end-of-list marker (a short page is the end)
 * and gives 404 only as "The specified object could not be found"; one third-party client reports
 * a 404 past the end of a list (reference §2.4 EXT, §8), without saying what its body is. A 404 on a
 * later page (which `listAll` asks for only after a full page) is the end only when UpKeep itself
 * answered it: its error envelope `{"success": false, "message": "..."}` (any message, e.g. the
 * simulator's "No work orders found"). A 404 without it (an empty or HTML body: a proxy, a gateway,
 * a wrong base URL) is an UpKeepPagingError (retryable): a list cut short would make a
 * look-before-write create twice.
 */
export const UPKEEP_PAST_END_404 = (body: unknown): boolean =>
  typeof body === 'object' &&
  body !== null &&
  (body as { success?: unknown }).success === false &&
  typeof (body as { message?: unknown }).message === 'string';

/** What `getAssetDowntimeStatus` read: no such asset (404), or its status, `null` when it shows none. */
export type AssetDowntimeStatus = { found: false } | { found: true; status: string | null };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A call was refused before sending because its input would be rejected by UpKeep. Not retryable. */
export class UpKeepInputError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly field: string,
    message: string,
  ) {
    super(`${VENDOR} ${operation}: invalid input at ${field || '(root)'}: ${message}`);
  }
}

export interface DowntimeFailure {
  assetId: string;
  recordedOn: string | number | undefined;
  /** UpKeep's row number (not the array index, reference §7.33). */
  row: number | undefined;
  slug: string | undefined;
  message: string;
}

/**
 * `POST /assets/downtime` answered `success: false`. Rows without errors *were* recorded (see
 * `recorded`), so re-sending the whole batch would record them twice: not retryable.
 */
export class UpKeepDowntimeError extends VendorResponseError {
  constructor(
    readonly failures: DowntimeFailure[],
    readonly recorded: DowntimeRowResult[],
    field: string,
    summary: string,
  ) {
    // Good rows were recorded; re-sending the batch would record them twice: not retryable.
    super(VENDOR, 'recordAssetDowntime', field, summary, { retryable: false });
  }
}

/** A part `listParts` could not parse; `updatedAtMs` when its place in `updatedAt` order is known. */
export interface SkippedPart extends RecordProblem {
  updatedAtMs?: number;
}

/** One page of `GET /parts`: the parts that parsed, and the ones that did not. */
export interface PartsPage {
  items: Part[];
  skipped: SkippedPart[];
}

/** A record a `list*Records` call could not parse, with its raw `description` (looks for a marker). */
export interface SkippedRecord extends RecordProblem {
  description?: unknown;
}

/** Records read one by one: the ones that parsed, and the ones that did not. */
export interface RecordsPage<T> {
  items: T[];
  skipped: SkippedRecord[];
}

/**
 * The id of the record whose description carries `marker` (the look before a write again after a
 * lost answer), among records read one by one: an unreadable one is ours when its raw description
 * carries the marker (its id is all the look needs); one whose description is not text cannot be
 * told apart, so the look fails (typed, retryable) rather than guess "not made" and write twice.
 */
export function markedRecordId(
  page: RecordsPage<{ id: string; description?: string | null }>,
  marker: string,
  operation: string,
): string | undefined {
  const found = page.items.find((r) => r.description?.includes(marker));
  if (found) return found.id;
  for (const bad of page.skipped) {
    const text = bad.description;
    // No description, or one without the marker: not ours (ours always carries it).
    if (text == null || (typeof text === 'string' && !text.includes(marker))) continue;
    if (typeof text === 'string' && !bad.record.startsWith('[')) return bad.record;
    throw new VendorResponseError(
      VENDOR,
      operation,
      bad.field,
      `record ${bad.record} cannot be read, so whether it is ours cannot be told: ${bad.message}`,
    );
  }
  return undefined;
}

/** `parseRecords` over raw rows, keeping each unreadable row's raw description. */
function recordsOf<S extends z.ZodMiniType>(rows: readonly unknown[], schema: S): RecordsPage<z.output<S>> {
  const { records, failures } = parseRecords(rows, schema);
  return {
    items: records,
    skipped: failures.map(({ record, field, message, raw }) => ({
      record,
      field,
      message,
      ...(raw !== null && typeof raw === 'object' && 'description' in raw
        ? { description: (raw as { description: unknown }).description }
        : {}),
    })),
  };
}

/** One page of `GET /assets` (or all of them): the assets that parsed, and the ones that did not. */
export interface AssetsPage {
  items: Asset[];
  skipped: RecordProblem[];
}

export interface ListAllOptions {
  pageSize?: number;
  maxPages?: number;
  /** When `maxPages` full pages were read and more may follow: throw (default) or return what was read. */
  onLimit?: 'throw' | 'return';
}

/** `maxPages` full pages were read and the list may go on; raise maxPages or narrow the filter. */
export class UpKeepPageLimitError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly pages: number,
  ) {
    super(`${VENDOR} ${operation}: stopped after ${pages} full pages; more results may follow`);
  }
}

/**
 * A later list page answered 404 without UpKeep's error envelope (UPKEEP_PAST_END_404): UpKeep may
 * not have answered at all, the list may be cut short, so the caller retries rather than act on it.
 */
export class UpKeepPagingError extends MillwrightError {
  constructor(
    readonly operation: string,
    readonly offset: number,
    options: { cause: VendorHttpError },
  ) {
    super(
      `${VENDOR} ${operation}: HTTP 404 on the page at offset ${offset} without UpKeep's {success: false, message} body; the list may be cut short (UPKEEP_PAST_END_404)`,
      { cause: options.cause, retryable: true },
    );
  }
}

/** Whether a 404 on a later page reads as the list's end (UPKEEP_PAST_END_404). */
const isPastEnd = (error: VendorHttpError): boolean => UPKEEP_PAST_END_404(error.body);

export interface UpKeepClientOptions {
  config: UpKeepConfig;
  /** Reads `{email, password}`; called lazily, `refresh: true` after a rejected login. */
  loadCredentials: CredentialsLoader;
  /** HttpClient settings for tests and tuning (fetch, sleep, random, timeoutMs, retries). */
  http?: Partial<Omit<HttpClientOptions, 'vendor' | 'baseUrl' | 'headers' | 'secrets'>>;
  now?: () => Date;
  log?: Log;
}

type ConnectOverrides = Omit<UpKeepClientOptions, 'config' | 'loadCredentials'>;

function inputError(operation: string) {
  return (p: { path: string; message: string }) => new UpKeepInputError(operation, p.path, p.message);
}

const encodeId = (operation: string, id: string): string => {
  if (typeof id !== 'string' || id.length === 0)
    throw new UpKeepInputError(operation, 'id', 'must be a non-empty string');
  return encodeURIComponent(id);
};

/**
 * UPKEEP_WEBHOOK_ITEM_PATH, a NAMED ASSUMPTION: the doc contradicts itself on one webhook's path.
 * Its curls use `/webhooks/<ID>` (api-doc.txt:7812 get, 7864 update, 7952 delete) and so does the
 * DELETE's HTTP line (7969), while the GET's and PATCH's HTTP lines say `/webhook/<ID>` (7855,
 * 7912). We use the plural (the curls, the delete, and every other resource's path); the simulator
 * answers both. A wrong guess is loud: the PATCH that enables a new webhook fails with a 404.
 */
export const UPKEEP_WEBHOOK_ITEM_PATH = (encodedId: string): string => `/webhooks/${encodedId}`;

export class UpKeepClient {
  readonly config: UpKeepConfig;
  readonly session: UpKeepSessionProvider;
  /** Sends with the session token; on a 401, logs in again once and retries once. */
  private readonly http: VendorHttpClient;

  constructor(options: UpKeepClientOptions) {
    this.config = options.config;
    const log = options.log ?? silentLog;
    let session: UpKeepSessionProvider | undefined;
    this.http = new VendorHttpClient({
      vendor: VENDOR,
      baseUrl: options.config.baseUrl,
      timeoutMs: options.config.timeoutMs,
      headers: { 'upkeep-version': options.config.apiVersion },
      http: options.http,
      // The login goes through the same HttpClient, so redaction covers both.
      auth: (http) => {
        session = new UpKeepSessionProvider({
          http,
          loadCredentials: options.loadCredentials,
          refreshMarginMs: options.config.tokenRefreshMarginSeconds * 1000,
          secretName: options.config.secretName,
          now: options.now,
          log,
        });
        return session;
      },
      callLog: false,
      log,
    });
    if (!session) throw new Error('upkeep: the session provider was not built');
    this.session = session;
  }

  async createWorkOrder(input: CreateWorkOrderInput): Promise<WorkOrder> {
    const operation = 'createWorkOrder';
    const body = parseWith(createWorkOrderInputSchema, input, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: '/work-orders/',
      body,
      schema: workOrderResponseSchema,
    });
    return data.result;
  }

  /**
   * A work-order update message (a note in the WO's activity), `POST /work-orders/<ID>/update-messages/`.
   * Not idempotent: a retry after an unanswered call can add the note twice, so put a unique marker
   * in `text` and look for it with `findWorkOrderMessage` before sending again.
   */
  async addWorkOrderMessage(id: string, text: string): Promise<void> {
    const operation = 'addWorkOrderMessage';
    if (!id) throw new UpKeepInputError(operation, 'id', 'required');
    if (text.trim().length === 0) throw new UpKeepInputError(operation, 'text', 'required');
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: `/work-orders/${encodeURIComponent(id)}/update-messages/`,
      body: { text },
    });
    // The doc answers `{success: true, message}`. Anything else in a 200 (an outage's HTML page, an
    // error envelope) does not say the note was added, nor that it was not: the retry looks first.
    if (!isRecord(data) || data.success !== true) {
      throw new AmbiguousWriteError(VENDOR, operation, {
        cause: new VendorResponseError(VENDOR, operation, 'success', 'expected true in a 200 answer'),
      });
    }
  }

  /**
   * Look-before-write for notes: does a work-order update message containing `marker` exist?
   * Reads `GET /work-orders/<ID>?includes=arrayOfUpdateItems` (reference §2.5) by the NAMED
   * ASSUMPTION UPKEEP_UPDATE_ITEMS. `unknown` when the answer cannot tell (the items come back as ids,
   * not expanded, or not at all), so a caller never re-sends on a guess; `absent` also when the work
   * order is gone (404: nothing can be on it).
   */
  async findWorkOrderMessage(id: string, marker: string): Promise<MessageLookup> {
    const operation = 'findWorkOrderMessage';
    if (marker.length < 8) throw new UpKeepInputError(operation, 'marker', 'must be at least 8 characters');
    const response = await this.http.send({
      operation,
      method: 'GET',
      path: `/work-orders/${encodeId(operation, id)}`,
      query: { includes: UPKEEP_UPDATE_ITEMS.include },
      acceptStatus: [404],
    });
    if (response.status === 404) return { status: 'absent' };
    const result = (response.data as { result?: unknown } | undefined)?.result;
    // No work order at all (a maintenance page or an error envelope answered 200 in an outage): a
    // retryable error, not an `unknown` that would park the event for a person.
    if (!isRecord(result))
      throw new VendorResponseError(VENDOR, operation, 'result', 'expected a work order object');
    const items = result[UPKEEP_UPDATE_ITEMS.include];
    if (!Array.isArray(items)) {
      return {
        status: 'unknown',
        why: `UpKeep returned no ${UPKEEP_UPDATE_ITEMS.include} on work order ${id}`,
      };
    }
    if (items.some((item) => !isRecord(item))) {
      return {
        status: 'unknown',
        why: `UpKeep did not expand ${UPKEEP_UPDATE_ITEMS.include} on work order ${id} (ids only)`,
      };
    }
    return items.some((item) =>
      UPKEEP_UPDATE_ITEMS.textKeys.some((k) => String(item[k] ?? '').includes(marker)),
    )
      ? { status: 'found', value: true }
      : { status: 'absent' };
  }

  /**
   * The asset's current `downtimeStatus` (`available`, `not-available` or a custom status id; GET
   * /assets/<ID>, documented in the response example): `{found: false}` when UpKeep answers 404,
   * `status: null` when the asset shows none ("downtimeStatus String false", api-doc.txt: optional,
   * so absent or null). The look-before-write of `recordAssetDowntime`, whose POST has no key and no
   * read-back of its rows.
   */
  async getAssetDowntimeStatus(id: string): Promise<AssetDowntimeStatus> {
    const operation = 'getAssetDowntimeStatus';
    const response = await this.http.send({
      operation,
      method: 'GET',
      path: `/assets/${encodeId(operation, id)}`,
      acceptStatus: [404],
    });
    if (response.status === 404) return { found: false };
    const result = (response.data as { result?: unknown } | null)?.result;
    if (!isRecord(result)) throw new VendorResponseError(VENDOR, operation, 'result', 'expected an object');
    const status = result.downtimeStatus;
    if (status === undefined || status === null) return { found: true, status: null };
    // Any non-empty string: the doc allows "the ID of custom asset downtime status" besides the two.
    if (typeof status !== 'string' || status === '') {
      throw new VendorResponseError(
        VENDOR,
        operation,
        'result.downtimeStatus',
        'expected available, not-available or a custom status id',
      );
    }
    return { found: true, status };
  }

  /** `undefined` when UpKeep answers 404. */
  async getWorkOrder(id: string): Promise<WorkOrder | undefined> {
    const operation = 'getWorkOrder';
    const response = await this.http.send({
      operation,
      method: 'GET',
      path: `/work-orders/${encodeId(operation, id)}`,
      acceptStatus: [404],
    });
    if (response.status === 404) return undefined;
    return parseWith(
      workOrderResponseSchema,
      response.data,
      (p) => new VendorResponseError(VENDOR, operation, p.path, p.message),
    ).result;
  }

  /** PATCH of absolute values, so safe to repeat. */
  async updateWorkOrder(id: string, patch: UpdateWorkOrderInput): Promise<WorkOrder> {
    const operation = 'updateWorkOrder';
    const path = `/work-orders/${encodeId(operation, id)}`;
    const body = parseWith(updateWorkOrderInputSchema, patch, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'PATCH',
      path,
      body,
      idempotent: true,
      schema: workOrderResponseSchema,
    });
    return data.result;
  }

  /** One page. Only documented filters are sent; unknown keys in `filter` are dropped. */
  async listWorkOrders(filter: WorkOrderListFilter = {}): Promise<WorkOrder[]> {
    const { data } = await this.http.send({
      operation: 'listWorkOrders',
      method: 'GET',
      path: '/work-orders',
      query: workOrderQuery(filter),
      schema: workOrderListResponseSchema,
    });
    return data.results;
  }

  /**
   * One page, each work order parsed on its own: one that does not parse is returned in `skipped`
   * (its id, the field, the reason, its raw description), so it never hides the others.
   */
  async listWorkOrderRecords(filter: WorkOrderListFilter = {}): Promise<RecordsPage<WorkOrder>> {
    const { data } = await this.http.send({
      operation: 'listWorkOrderRecords',
      method: 'GET',
      path: '/work-orders',
      query: workOrderQuery(filter),
      schema: rowsResponseSchema,
    });
    return recordsOf(data.results, workOrderSchema);
  }

  /** Every page of `listWorkOrderRecords`, like `listAllWorkOrders`. */
  listAllWorkOrderRecords(
    filter: WorkOrderListFilter = {},
    options: ListAllOptions = {},
  ): Promise<RecordsPage<WorkOrder>> {
    return this.listAllRecords('listAllWorkOrderRecords', filter, options, (f) =>
      this.listWorkOrderRecords(f),
    );
  }

  /**
   * Every page from `filter.offset` (default 0) until a short page. A 404 on a later page means the
   * end only as UPKEEP_PAST_END_404 reads it (reference §2.4 EXT). Rows repeated across pages
   * (offset paging over a changing set) are returned once, with their latest version.
   */
  async listAllWorkOrders(
    filter: WorkOrderListFilter = {},
    options: ListAllOptions = {},
  ): Promise<WorkOrder[]> {
    return this.listAll('listAllWorkOrders', filter, options, (f) => this.listWorkOrders(f));
  }

  /**
   * The pager behind every `listAll*`: offset paging until a short page; a 404 past the first page
   * is the end only as UPKEEP_PAST_END_404 reads it, else UpKeepPagingError.
   */
  private async listAll<F extends { offset?: number; limit?: number }, T extends { id: string }>(
    operation: string,
    filter: F,
    options: ListAllOptions,
    listPage: (filter: F) => Promise<T[]>,
  ): Promise<T[]> {
    const pageSize = options.pageSize ?? 100;
    const maxPages = options.maxPages ?? 50;
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new UpKeepInputError(operation, 'pageSize', 'must be >= 1');
    if (!Number.isInteger(maxPages) || maxPages < 1)
      throw new UpKeepInputError(operation, 'maxPages', 'must be >= 1');
    const byId = new Map<string, T>();
    let offset = filter.offset ?? 0;
    for (let page = 1; page <= maxPages; page++) {
      let rows: T[];
      try {
        rows = await listPage({ ...filter, limit: pageSize, offset });
      } catch (error) {
        if (error instanceof VendorHttpError && error.status === 404 && offset > 0) {
          if (isPastEnd(error)) break;
          throw new UpKeepPagingError(operation, offset, { cause: error });
        }
        throw error;
      }
      for (const row of rows) {
        byId.delete(row.id);
        byId.set(row.id, row);
      }
      if (rows.length < pageSize) return [...byId.values()];
      offset += pageSize;
      if (page === maxPages) {
        if (options.onLimit === 'return') break;
        throw new UpKeepPageLimitError(operation, maxPages);
      }
    }
    return [...byId.values()];
  }

  /**
   * Every page of records parsed one by one (`listParts`, `listAssets`) from `filter.offset` until a
   * short page, the skipped records counted too (a page of 100 with one bad record is still full).
   * Limits and the 404 past the end as in `listAll`; each id once, its latest version.
   */
  private async listAllRecords<
    F extends { offset?: number; limit?: number },
    T extends { id: string },
    S extends RecordProblem,
  >(
    operation: string,
    filter: F,
    options: ListAllOptions,
    listPage: (filter: F) => Promise<{ items: T[]; skipped: S[] }>,
  ): Promise<{ items: T[]; skipped: S[] }> {
    const skipped: S[] = [];
    // listAll ends at a short page: it sees each record, parsed or not, as one row.
    type Row = { id: string; item?: T };
    const rows = await this.listAll<F, Row>(operation, filter, options, async (f) => {
      const page = await listPage(f);
      skipped.push(...page.skipped);
      return [
        ...page.items.map((item) => ({ id: item.id, item })),
        ...page.skipped.map((s, i) => ({ id: `\u0000skipped:${f.offset ?? 0}:${i}:${s.record}` })),
      ];
    });
    return { items: rows.flatMap((row) => (row.item ? [row.item] : [])), skipped };
  }

  // -------------------------------------------------------------------------------------------
  // Assets.

  /** One page of `GET /assets`; an asset that does not parse is returned in `skipped`, not thrown. */
  async listAssets(filter: AssetListFilter = {}): Promise<AssetsPage> {
    const f = parseWith(assetListFilterSchema, filter, inputError('listAssets'));
    const { data } = await this.http.send({
      operation: 'listAssets',
      method: 'GET',
      path: '/assets',
      query: compactQuery({ ...f }),
      schema: assetListResponseSchema,
    });
    const { records, failures } = parseRecords(data.results, assetSchema);
    return {
      items: records,
      skipped: failures.map(({ record, field, message }) => ({ record, field, message })),
    };
  }

  /** Every asset (offset paging in `createdAt ASC` order unless `filter.orderBy` says otherwise). */
  listAllAssets(filter: AssetListFilter = {}, options: ListAllOptions = {}): Promise<AssetsPage> {
    return this.listAllRecords('listAllAssets', { orderBy: 'createdAt ASC', ...filter }, options, (f) =>
      this.listAssets(f),
    );
  }

  /** Every part (offset paging in `createdAt ASC` order unless `filter.orderBy` says otherwise). */
  listAllParts(filter: PartListFilter = {}, options: ListAllOptions = {}): Promise<PartsPage> {
    return this.listAllRecords('listAllParts', { orderBy: 'createdAt ASC', ...filter }, options, (f) =>
      this.listParts(f),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Webhooks (reference §3.11, §4).

  /** `GET /webhooks` (no query parameters are documented; the list is not paged). */
  async listWebhooks(): Promise<UpKeepWebhook[]> {
    const { data } = await this.http.send({
      operation: 'listWebhooks',
      method: 'GET',
      path: '/webhooks',
      schema: webhookListResponseSchema,
    });
    return data.results;
  }

  /** `GET /webhooks/<ID>` (UPKEEP_WEBHOOK_ITEM_PATH); `undefined` when UpKeep answers 404. */
  async getWebhook(id: string): Promise<UpKeepWebhook | undefined> {
    const operation = 'getWebhook';
    const response = await this.http.send({
      operation,
      method: 'GET',
      path: UPKEEP_WEBHOOK_ITEM_PATH(encodeId(operation, id)),
      acceptStatus: [404],
    });
    if (response.status === 404) return undefined;
    return parseWith(
      webhookResponseSchema,
      response.data,
      (p) => new VendorResponseError(VENDOR, operation, p.path, p.message),
    ).result;
  }

  /**
   * `POST /webhooks`. The doc's answer shows the new webhook disabled: enable it with
   * `updateWebhook(id, {enabled: true})`. Not idempotent: look for one with the same endpoint first.
   */
  async createWebhook(input: CreateWebhookInput): Promise<UpKeepWebhook> {
    const operation = 'createWebhook';
    const body = parseWith(createWebhookInputSchema, input, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: '/webhooks',
      body,
      schema: webhookResponseSchema,
    });
    return data.result;
  }

  /** `PATCH /webhooks/<ID>` (UPKEEP_WEBHOOK_ITEM_PATH) of absolute values: safe to repeat. */
  async updateWebhook(id: string, patch: UpdateWebhookInput): Promise<UpKeepWebhook> {
    const operation = 'updateWebhook';
    const path = UPKEEP_WEBHOOK_ITEM_PATH(encodeId(operation, id));
    const body = parseWith(updateWebhookInputSchema, patch, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'PATCH',
      path,
      body,
      idempotent: true,
      schema: webhookResponseSchema,
    });
    return data.result;
  }

  // -------------------------------------------------------------------------------------------
  // Parts.

  /**
   * One page of parts. `quantity`, `minimumQuantity` and `cost` arrive as strings and are parsed
   * with `Number()` (absent, null or `""` = not set). A part that does not parse does not fail the
   * page: it is returned in `skipped` (its id, the field, the reason, and its updatedAt when that
   * much can be read), so one bad record never hides the others. A response that is not
   * `{success: true, results: [...]}` is still a VendorResponseError.
   */
  async listParts(filter: PartListFilter = {}): Promise<PartsPage> {
    const { data } = await this.http.send({
      operation: 'listParts',
      method: 'GET',
      path: '/parts',
      query: partQuery(filter),
      schema: partListResponseSchema,
    });
    const { records, failures } = parseRecords(data.results, partSchema);
    return {
      items: records,
      skipped: failures.map(({ record, field, message, raw }) => {
        const place = partPlaceSchema.safeParse(raw);
        return {
          record,
          field,
          message,
          ...(place.success ? { updatedAtMs: upkeepTimestampMs(place.data.updatedAt) } : {}),
        };
      }),
    };
  }

  /** `undefined` when UpKeep answers 404. */
  async getPart(id: string): Promise<Part | undefined> {
    const operation = 'getPart';
    const response = await this.http.send({
      operation,
      method: 'GET',
      path: `/parts/${encodeId(operation, id)}`,
      acceptStatus: [404],
    });
    if (response.status === 404) return undefined;
    const { result } = parseWith(
      partResponseSchema,
      response.data,
      (p) => new VendorResponseError(VENDOR, operation, p.path, p.message),
    );
    return parsePart(operation, result, 'result');
  }

  /**
   * PATCH of absolute values (`quantity` is set, never adjusted: UpKeep has no increment, so a
   * read-modify-write can race another writer, reference §7.45). Safe to repeat.
   */
  async updatePart(id: string, patch: UpdatePartInput): Promise<Part> {
    const operation = 'updatePart';
    const path = `/parts/${encodeId(operation, id)}`;
    const body = parseWith(updatePartInputSchema, patch, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'PATCH',
      path,
      body,
      idempotent: true,
      schema: partResponseSchema,
    });
    return parsePart(operation, data.result, 'result');
  }

  // -------------------------------------------------------------------------------------------
  // Purchase orders.

  /**
   * Creates a purchase order (status `awaiting`). Not idempotent: a timeout after sending is an
   * AmbiguousWriteError; look for it (`listAllPurchaseOrders({ createdAtGte, title })`) first.
   */
  async createPurchaseOrder(input: CreatePurchaseOrderInput): Promise<PurchaseOrder> {
    const operation = 'createPurchaseOrder';
    const body = parseWith(createPurchaseOrderInputSchema, input, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: '/purchase-orders/',
      body,
      schema: purchaseOrderResponseSchema,
    });
    return data.result;
  }

  /** `undefined` when UpKeep answers 404. */
  async getPurchaseOrder(id: string): Promise<PurchaseOrder | undefined> {
    const operation = 'getPurchaseOrder';
    const response = await this.http.send({
      operation,
      method: 'GET',
      path: `/purchase-orders/${encodeId(operation, id)}`,
      acceptStatus: [404],
    });
    if (response.status === 404) return undefined;
    return parseWith(
      purchaseOrderResponseSchema,
      response.data,
      (p) => new VendorResponseError(VENDOR, operation, p.path, p.message),
    ).result;
  }

  /** One page. The list response carries no `parts`/`partQuantities` (only `partsPendingQuantities`). */
  async listPurchaseOrders(filter: PurchaseOrderListFilter = {}): Promise<PurchaseOrder[]> {
    const { data } = await this.http.send({
      operation: 'listPurchaseOrders',
      method: 'GET',
      path: '/purchase-orders/',
      query: purchaseOrderQuery(filter),
      schema: purchaseOrderListResponseSchema,
    });
    return data.results;
  }

  /** One page of purchase orders, each parsed on its own (as `listWorkOrderRecords`). */
  async listPurchaseOrderRecords(filter: PurchaseOrderListFilter = {}): Promise<RecordsPage<PurchaseOrder>> {
    const { data } = await this.http.send({
      operation: 'listPurchaseOrderRecords',
      method: 'GET',
      path: '/purchase-orders/',
      query: purchaseOrderQuery(filter),
      schema: rowsResponseSchema,
    });
    return recordsOf(data.results, purchaseOrderSchema);
  }

  /** Every page of `listPurchaseOrderRecords`, like `listAllWorkOrders`. */
  listAllPurchaseOrderRecords(
    filter: PurchaseOrderListFilter = {},
    options: ListAllOptions = {},
  ): Promise<RecordsPage<PurchaseOrder>> {
    return this.listAllRecords('listAllPurchaseOrderRecords', filter, options, (f) =>
      this.listPurchaseOrderRecords(f),
    );
  }

  /** Every page, like `listAllWorkOrders`. */
  async listAllPurchaseOrders(
    filter: PurchaseOrderListFilter = {},
    options: ListAllOptions = {},
  ): Promise<PurchaseOrder[]> {
    return this.listAll('listAllPurchaseOrders', filter, options, (f) => this.listPurchaseOrders(f));
  }

  // -------------------------------------------------------------------------------------------
  // Requests (work requests).

  /** Creates a work request. Not idempotent, like `createWorkOrder`. */
  async createRequest(input: CreateRequestInput): Promise<WorkRequest> {
    const operation = 'createRequest';
    const body = parseWith(createRequestInputSchema, input, inputError(operation));
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: '/requests/',
      body,
      schema: workRequestResponseSchema,
    });
    return data.result;
  }

  /** One page. UpKeep documents no status filter for requests (reference §7.41). */
  async listRequests(filter: RequestListFilter = {}): Promise<WorkRequest[]> {
    const { data } = await this.http.send({
      operation: 'listRequests',
      method: 'GET',
      path: '/requests',
      query: requestQuery(filter),
      schema: workRequestListResponseSchema,
    });
    return data.results;
  }

  /**
   * Records downtime events in bulk. Returns the per-row results; `success: false` throws
   * UpKeepDowntimeError naming each failing asset. Not idempotent (each call records activity).
   */
  async recordAssetDowntime(entries: DowntimeEntry[]): Promise<DowntimeRowResult[]> {
    const operation = 'recordAssetDowntime';
    const body = parseWith(downtimeInputSchema, entries, inputError(operation)).map((entry) => ({
      ...entry,
      recordedOn: recordedOnForUpKeep(entry.recordedOn),
    }));
    // The HTTP status of a partial failure is undocumented: read a 400 body too.
    const response = await this.http.send({
      operation,
      method: 'POST',
      path: '/assets/downtime',
      body,
      acceptStatus: [400],
    });
    const data = parseWith(
      downtimeResponseSchema,
      response.data,
      (p) => new VendorResponseError(VENDOR, operation, p.path, p.message),
    );
    const results = data.results ?? [];
    if (data.success && response.status < 300) return results;

    const failures: DowntimeFailure[] = [];
    let firstField = '';
    results.forEach((row, index) => {
      const errors: DowntimeRowError[] = row.errors ?? [];
      if (errors.length === 0) return;
      if (!firstField) firstField = `results[${index}].errors`;
      for (const e of errors) {
        failures.push({
          assetId: row.assetId,
          recordedOn: row.recordedOn,
          row: row.row,
          slug: e.slug,
          message: e.message ?? 'no message',
        });
      }
    });
    if (failures.length === 0) {
      // No row-level detail: a plain error answer (e.g. a malformed batch).
      const message = redact(
        data.message ?? 'success: false without row errors',
        this.session.sensitiveValues(),
      );
      if (response.status >= 300) throw new VendorHttpError(VENDOR, operation, response.status, message);
      throw new VendorResponseError(VENDOR, operation, 'success', message);
    }
    const recorded = results.filter((row) => (row.errors ?? []).length === 0);
    const summary = failures
      .map(
        (f) =>
          `asset ${f.assetId}${f.row !== undefined ? ` (row ${f.row})` : ''}: ${f.slug ?? 'error'}: ${f.message}`,
      )
      .join('; ');
    const text = redact(`${failures.length} row error(s): ${summary}`, this.session.sensitiveValues());
    throw new UpKeepDowntimeError(failures, recorded, firstField, text);
  }
}

type Query = Record<string, string | number>;

const compactQuery = (query: Record<string, string | number | undefined>): Query =>
  Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as Query;

/** Maps our filter names to UpKeep's documented query names; nothing else is ever sent. */
export function workOrderQuery(filter: WorkOrderListFilter): Query {
  const f = parseWith(workOrderListFilterSchema, filter, inputError('listWorkOrders'));
  return compactQuery({
    asset: f.asset,
    title: f.title,
    status: f.status,
    createdAtGreaterThanOrEqualTo: f.createdAtGte,
    updatedAtGreaterThanOrEqualTo: f.updatedAtGte,
    orderBy: f.orderBy,
    limit: f.limit,
    offset: f.offset,
  });
}

/** `GET /parts` query from our filter names (documented names only). */
export function partQuery(filter: PartListFilter): Query {
  const f = parseWith(partListFilterSchema, filter, inputError('listParts'));
  return compactQuery({
    name: f.name,
    category: f.category,
    location: f.location,
    partNumber: f.partNumber,
    createdAtGreaterThanOrEqualTo: f.createdAtGte,
    createdAtLessThanOrEqualTo: f.createdAtLte,
    updatedAtGreaterThanOrEqualTo: f.updatedAtGte,
    updatedAtLessThanOrEqualTo: f.updatedAtLte,
    orderBy: f.orderBy,
    limit: f.limit,
    offset: f.offset,
  });
}

/** `GET /purchase-orders` query from our filter names (documented names only). */
export function purchaseOrderQuery(filter: PurchaseOrderListFilter): Query {
  const f = parseWith(purchaseOrderListFilterSchema, filter, inputError('listPurchaseOrders'));
  return compactQuery({
    title: f.title,
    status: f.status,
    vendor: f.vendor,
    category: f.category,
    createdAtGreaterThanOrEqualTo: f.createdAtGte,
    updatedAtGreaterThanOrEqualTo: f.updatedAtGte,
    orderBy: f.orderBy,
    limit: f.limit,
    offset: f.offset,
  });
}

/** `GET /requests` query from our filter names (documented names only). */
export function requestQuery(filter: RequestListFilter): Query {
  const f = parseWith(requestListFilterSchema, filter, inputError('listRequests'));
  return compactQuery({
    title: f.title,
    asset: f.asset,
    location: f.location,
    category: f.category,
    createdAtGreaterThanOrEqualTo: f.createdAtGte,
    updatedAtGreaterThanOrEqualTo: f.updatedAtGte,
    orderBy: f.orderBy,
    limit: f.limit,
    offset: f.offset,
  });
}

/**
 * One part record. Errors name the field as `part.<field>` (the same whether it came from a list or
 * a single GET) and say which record it was in the message.
 */
function parsePart(operation: string, raw: unknown, at: string): Part {
  return parseWith(partSchema, raw, (p) => {
    const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
    const where = typeof id === 'string' && id ? `${at}, part ${id}` : at;
    return new VendorResponseError(
      VENDOR,
      operation,
      p.path ? `part.${p.path}` : 'part',
      `${p.message} (${where})`,
    );
  });
}

/**
 * The client for a runtime env: validates `env.vendors.upkeep` now (ConfigError naming
 * `vendors.upkeep.<field>`), reads the secret only when the first call needs it.
 */
export function connectUpKeep(env: RuntimeEnv, overrides: ConnectOverrides = {}): UpKeepClient {
  const config = parseUpKeepConfig(env.vendors.upkeep);
  return new UpKeepClient({
    now: env.now,
    log: env.log,
    ...overrides,
    http: { ...(env.transport ? { fetch: env.transport(VENDOR) } : {}), ...overrides.http },
    config,
    loadCredentials: async ({ refresh }) => {
      const secret = await readSecret(env.secrets, config.secretName, upkeepSecretSchema, { refresh });
      return { email: secret.email, password: secret.password };
    },
  });
}

/** Re-exported for callers that validate stored work orders. */
export { workOrderSchema };
