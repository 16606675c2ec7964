/**
 * The Mobility Work Public API client (reference §3), over the core HttpClient.
 *
 * - Every call sends `Api-Key` and the configured `User-Agent` (MW recommends one with the network name); MW's `Request-Id` answer
 *   header is logged and carried by errors (support asks for it).
 * - 4xx answers are read in full and raised as MobilityWorkApiError naming MW's JSON Pointers.
 *   A 401 re-reads the key once (rotation) and retries once; MW did not act on a 401.
 * - `scheduleTask` and `triggerMaintenancePlan` are not idempotent (MW returns no id and has no
 *   idempotency key): a timeout after sending is an AmbiguousWriteError, never a blind re-send.
 * - Bulk writes answer 202 = *accepted, not applied*: MW processes them in the background (minutes)
 *   and reports no per-item outcome. Inputs above `bulkLimit` are split into sequential requests.
 * - Nothing is read or fetched in the constructor: the key is read on the first call.
 * - The key, 401 and retry plumbing is core/vendor-http.ts with an `Api-Key` header (core/auth.ts);
 *   this file says only what is Mobility Work's: the headers, MobilityWorkApiError, the Request-Id.
 */
import * as z from 'zod/mini';
import { apiKeyHeader } from '../../core/auth.ts';
import { AmbiguousWriteError, VendorResponseError } from '../../core/errors.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { HttpClientOptions } from '../../core/http.ts';
import type { Log } from '../../core/log.ts';

import { lazySchema, parseWith } from '../../core/schema.ts';
import { readSecret } from '../../core/secrets.ts';
import { VendorHttpClient } from '../../core/vendor-http.ts';
import {
  type MobilityWorkConfig,
  MW_STOCK_MOVEMENT,
  mobilityWorkSecretSchema,
  parseMobilityWorkConfig,
} from './config.ts';
import { MobilityWorkApiError, MobilityWorkBulkError, MobilityWorkInputError, MW_VENDOR } from './errors.ts';

export const MW_PATHS = {
  tasks: '/partners/v1/tasks',
  /** No `/v1` in this one (reference §1). */
  maintenancePlanTrigger: (planId: string) =>
    `/partners/maintenance-plans/trigger/${encodeURIComponent(planId)}`,
  spareParts: '/partners/v1/spare-parts',
  sparePartAttributes: '/partners/v1/spare-parts/attributes',
  stockMovements: '/partners/v1/spare-parts/movements/bulk',
  networkSettings: '/partners/v1/network/settings',
} as const;

// ---- inputs -----------------------------------------------------------------------------------

const nonEmpty = lazySchema(() => z.string().check(z.minLength(1)));

/**
 * The value each typed id carries: a native id is an integer ("NativeIntegerIdentifier (integer)",
 * api-doc.txt:1072, 1076), or for equipment also a UUID ("Native IDs ... can be numbers or UUIDS",
 * api-doc.txt:117); an e-mail, a code or an external reference is a string. Another pairing is a
 * 400 at MW, so it is refused before sending. The type names are MW_TYPED_ID_TYPES (config.ts).
 */
const nativeInt = lazySchema(() => z.int());
const nativeEquipment = lazySchema(() => z.union([z.int(), z.guid()]));
const typed = <T extends string>(type: T, value: z.ZodMiniType) => z.object({ type: z.literal(type), value });
const typedAssignee = lazySchema(() =>
  z.discriminatedUnion('type', [typed('native', nativeInt), typed('email', nonEmpty)]),
);
const typedTag = lazySchema(() =>
  z.discriminatedUnion('type', [typed('native', nativeInt), typed('code', nonEmpty)]),
);
/** `{type, value}` equipment: the flows' config takes it too, so a bad one is refused at start. */
export const typedEquipmentSchema = lazySchema(() =>
  z.discriminatedUnion('type', [
    typed('native', nativeEquipment),
    typed('external', nonEmpty),
    typed('externalReference', nonEmpty),
  ]),
);
/** `gtin`: "string^[0-9]{8,18}$" (api-doc.txt:390-391 on create, 588-589 on attributes). */
const gtin = lazySchema(() => z.string().check(z.regex(/^[0-9]{8,18}$/)));

/** A bare string is an external reference (article code); the typed form says so explicitly. */
export const sparePartIdentifierSchema = lazySchema(() =>
  z.union([nonEmpty, z.object({ type: z.literal('externalReference'), value: nonEmpty })]),
);
export type SparePartIdentifier = z.output<typeof sparePartIdentifierSchema>;

/** Integer = native id, string = item code, or `{type, value}` (reference §2.7). */
const equipmentIdentifier = lazySchema(() => z.union([z.int(), nonEmpty, typedEquipmentSchema]));
const isoWithOffset = lazySchema(() => z.iso.datetime({ offset: true }));

/**
 * MW_DATE_TIME_FORM, a NAMED ASSUMPTION: the doc types task dates `string <date-time>` but every
 * example is `2022-01-11T09:00:00+00:00` (api-doc.txt:42-43, 1109-1110), seconds and a `+hh:mm`
 * offset, no fraction, never `Z`; a PHP `Y-m-d\TH:i:sP` reader takes only that form. So a valid
 * ISO date-time is sent in it: `Z` as `+00:00`, a fraction dropped (the same instant to the
 * second), seconds added if a caller gave none; the offset given is kept.
 */
export function mwDateTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i.exec(iso);
  if (!m) return iso;
  const [, minutes, seconds = ':00', zone = 'Z'] = m;
  const offset =
    zone.toUpperCase() === 'Z'
      ? '+00:00'
      : zone.includes(':')
        ? zone
        : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return `${minutes}${seconds}${offset}`;
}

/**
 * MW_TASK_MIN_ASSIGNEES: the doc marks `assignees` required but gives no minimum (the simulator
 * accepts `[]`). Ours: at least one, so a downtime task never lands with nobody assigned to it.
 */
export const MW_TASK_MIN_ASSIGNEES = 1;

export const scheduleTaskInputSchema = lazySchema(() =>
  z.object({
    equipment: equipmentIdentifier,
    description: z.string().check(z.minLength(3), z.maxLength(3000)),
    startDateTime: isoWithOffset,
    endDateTime: isoWithOffset,
    /** Required although documented with a default (reference §7 #20): always sent. */
    allDay: z.boolean(),
    /** Native ids and/or e-mails of network members; at least MW_TASK_MIN_ASSIGNEES (ours, not the doc's). */
    assignees: z.array(z.union([z.int(), nonEmpty, typedAssignee])).check(z.minLength(MW_TASK_MIN_ASSIGNEES)),
    tags: z.optional(z.array(z.union([z.int(), nonEmpty, typedTag]))),
    checklist: z.optional(z.nullable(z.guid())),
    sendEmailToAssignees: z.optional(z.boolean()),
    inheritEquipmentTags: z.optional(z.boolean()),
    /** Comes back in the task webhooks: the only way to correlate (no task id is returned). */
    metadata: z.optional(z.record(z.string(), z.unknown())),
  }),
);
export type ScheduleTaskInput = z.input<typeof scheduleTaskInputSchema>;

const triggerPlanInputSchema = lazySchema(() =>
  z.object({
    planId: z.guid(),
    /** Comes back in the task webhooks. */
    metadata: z.optional(z.record(z.string(), z.unknown())),
  }),
);

/**
 * "Unit price amount must be passed as an integer in the lowest unit of the currency" (api-doc): the
 * amount's only documented rule. `currency` is part of the assumed object (MW_SPARE_PART_REQUIRED_OBJECTS):
 * any non-empty string, as in the simulator; no sign or ISO-code rule is assumed.
 */
const money = lazySchema(() => z.looseObject({ amount: z.int(), currency: nonEmpty }));
/** Attributes' minimum/maximum stock and replenishment lot: "number >= 0" (api-doc). */
const stockValue = lazySchema(() => z.number().check(z.gte(0)));
/** A stock level: "quantity / required / integer >= 0 / The new stock value" (api-doc, stock write). */
const stockQuantity = lazySchema(() => z.int().check(z.gte(0)));

/**
 * Extra (undocumented or unnamed) fields pass through unchanged. The two objects the doc marks
 * required but lost the names of are a named assumption (MW_SPARE_PART_REQUIRED_OBJECTS, config.ts):
 * `unitPrice` and `location` are required here so a create MW would refuse is never sent.
 */
export const createSparePartSchema = lazySchema(() =>
  z.looseObject({
    externalReference: nonEmpty,
    name: z.string().check(z.minLength(3), z.maxLength(255)),
    description: z.optional(z.string().check(z.minLength(3), z.maxLength(3000))),
    minimumStock: z.optional(z.int().check(z.gte(0))),
    maximumStock: z.optional(z.int().check(z.gte(0))),
    gtin: z.optional(gtin),
    costCenter: z.optional(z.string()),
    /** Integer in minor units: 3500 = EUR 35.00. */
    unitPrice: money,
    /** Where the part is stocked; its fields are unknown (`locationName` assumed, passed as given). */
    location: z.looseObject({}),
  }),
);
export type CreateSparePartInput = z.input<typeof createSparePartSchema>;

/** Omit a field to leave it unchanged; `null` unsets it (reference §3.3). */
export const sparePartAttributesSchema = lazySchema(() =>
  z.looseObject({
    id: sparePartIdentifierSchema,
    name: z.optional(z.string().check(z.minLength(3), z.maxLength(255))),
    description: z.optional(z.nullable(z.string().check(z.minLength(3), z.maxLength(3000)))),
    externalReference: z.optional(nonEmpty),
    minimumStock: z.optional(z.nullable(stockValue)),
    maximumStock: z.optional(z.nullable(stockValue)),
    replenishmentLot: z.optional(z.nullable(stockValue)),
    unitPrice: z.optional(z.nullable(money)),
    gtin: z.optional(z.nullable(gtin)),
    costCenter: z.optional(z.nullable(z.string())),
  }),
);
export type SparePartAttributesInput = z.input<typeof sparePartAttributesSchema>;

export const stockLevelInputSchema = lazySchema(() =>
  z.object({ id: sparePartIdentifierSchema, quantity: stockQuantity }),
);
/** An absolute stock level (MW's "movement" replaces the stock; it is not a delta). */
export type StockLevelInput = z.input<typeof stockLevelInputSchema>;

/** The documented shape: identifier + the required movement object (names: MW_STOCK_MOVEMENT). */
export const nestedStockItem = ({ id, quantity }: StockLevelInput) => ({
  id,
  [MW_STOCK_MOVEMENT.key]: { type: MW_STOCK_MOVEMENT.type, quantity },
});
/** The deprecated `PUT /spare-parts/stock` shape; opt-in (`stockMovementFormat: 'flat'`). */
export const flatStockItem = ({ id, quantity }: StockLevelInput) => ({ id, quantity });

// ---- outputs ----------------------------------------------------------------------------------

export const networkSettingsSchema = lazySchema(() =>
  z.looseObject({
    /** The UUID webhooks carry; key the tenant on it. */
    networkId: z.guid(),
    legacyNetworkId: z.optional(z.nullable(z.int())),
    name: z.string(),
    timezone: nonEmpty,
    currency: nonEmpty,
  }),
);
export type NetworkSettings = z.output<typeof networkSettingsSchema>;

/**
 * Result of a bulk write. `status: 'accepted'` means MW queued it (202), NOT that it was applied:
 * processing takes up to minutes and per-item failures are not reported anywhere.
 */
export interface MwBulkResult {
  requests: number;
  items: number;
  status: 'accepted';
}

// ---- client -----------------------------------------------------------------------------------

export type MobilityWorkHttpOptions = Partial<Omit<HttpClientOptions, 'vendor' | 'baseUrl' | 'headers'>>;

export interface MobilityWorkClientOptions {
  config: MobilityWorkConfig;
  /** Reads the API key; called lazily, with `refresh: true` after a 401 (the key may have rotated). */
  loadApiKey: (options: { refresh: boolean }) => Promise<string>;
  /** HttpClient settings for tests and tuning (fetch, sleep, random, timeoutMs, retries). */
  http?: MobilityWorkHttpOptions;
  log?: Log;
}

const inputError = (operation: string) => (p: { path: string; message: string }) =>
  new MobilityWorkInputError(operation, p.path, p.message);

/** `z.array(schema)`, built once per item schema instead of on every bulk call. */
const arrays = new WeakMap<z.ZodMiniType, z.ZodMiniType>();
function arrayOf<S extends z.ZodMiniType>(schema: S): z.ZodMiniArray<S> {
  let array = arrays.get(schema);
  if (array === undefined) {
    array = z.array(schema);
    arrays.set(schema, array);
  }
  return array as z.ZodMiniArray<S>;
}

/**
 * A 2xx body that is no Mobility Work answer: the doc says every answer is JSON (a bulk write's is
 * `null`), so text (an outage's HTML page through a proxy) or an error object (`http_status_code` >= 400)
 * means the write was not accepted as such. Undefined when the body is an answer.
 */
function notAnAnswer(operation: string, data: unknown): VendorResponseError | undefined {
  // Whitespace alone is an empty answer (the doc shows `null`), not a page.
  if (typeof data === 'string' && data.trim() !== '') {
    return new VendorResponseError(
      MW_VENDOR,
      operation,
      '',
      'body is not JSON (a text or HTML page); not echoed, it may carry anything',
    );
  }
  const code = (data as { http_status_code?: unknown } | null | undefined)?.http_status_code;
  if (typeof code === 'number' && code >= 400) {
    return new VendorResponseError(
      MW_VENDOR,
      operation,
      'http_status_code',
      `an error (${code}) in a 2xx answer`,
    );
  }
  return undefined;
}

/** A create answered with no MW answer may or may not have been made: ambiguous (look or wait first). */
function unansweredCreate(operation: string, data: unknown): void {
  const problem = notAnAnswer(operation, data);
  if (problem) throw new AmbiguousWriteError(MW_VENDOR, operation, { cause: problem });
}

export class MobilityWorkClient {
  readonly config: MobilityWorkConfig;
  /** Key handling, 401 re-read, retries and error fields live in VendorHttpClient (core/vendor-http.ts). */
  private readonly http: VendorHttpClient;

  constructor(options: MobilityWorkClientOptions) {
    this.config = options.config;
    this.http = new VendorHttpClient({
      vendor: MW_VENDOR,
      baseUrl: options.config.baseUrl,
      timeoutMs: options.config.timeoutMs,
      headers: { 'user-agent': options.config.userAgent },
      http: options.http,
      auth: apiKeyHeader('api-key', { load: options.loadApiKey, secretName: options.config.secretName }),
      // A 4xx names MW's Request-Id; a final 429/5xx (its text already redacted) has no answer to read.
      toError: ({ request, status, body, headers, retryAfterMs, cause, secrets }) => {
        const { operation, method, path } = request;
        return cause
          ? new MobilityWorkApiError({ operation, method, path, status, body, retryAfterMs, cause, secrets })
          : new MobilityWorkApiError({
              operation,
              method,
              path,
              status,
              body,
              requestId: headers?.get('request-id') ?? undefined,
              secrets,
            });
      },
      callLog: (response) => ({ requestId: response.headers.get('request-id') ?? undefined }),
      log: options.log,
    });
  }

  /** `POST /partners/v1/tasks` (201, no body, no task id). Not idempotent. */
  async scheduleTask(input: ScheduleTaskInput): Promise<{ accepted: true }> {
    const operation = 'scheduleTask';
    const parsed = parseWith(scheduleTaskInputSchema, input, inputError(operation));
    const body = {
      ...parsed,
      startDateTime: mwDateTime(parsed.startDateTime),
      endDateTime: mwDateTime(parsed.endDateTime),
    };
    const { data } = await this.http.send({ operation, method: 'POST', path: MW_PATHS.tasks, body });
    unansweredCreate(operation, data);
    return { accepted: true };
  }

  /** `POST /partners/maintenance-plans/trigger/{uuid}` (204): one task per call. Not idempotent. */
  async triggerMaintenancePlan(
    planId: string,
    metadata?: Record<string, unknown>,
  ): Promise<{ accepted: true }> {
    const operation = 'triggerMaintenancePlan';
    const input = parseWith(triggerPlanInputSchema, { planId, metadata }, inputError(operation));
    const body = input.metadata === undefined ? {} : { metadata: input.metadata };
    const { data } = await this.http.send({
      operation,
      method: 'POST',
      path: MW_PATHS.maintenancePlanTrigger(input.planId),
      body,
    });
    unansweredCreate(operation, data);
    return { accepted: true };
  }

  /** `POST /partners/v1/spare-parts` (202). Not marked idempotent: a re-sent create may duplicate. */
  createSpareParts(items: readonly CreateSparePartInput[]): Promise<MwBulkResult> {
    return this.bulk('createSpareParts', MW_PATHS.spareParts, items, createSparePartSchema, (i) => i, false);
  }

  /** `POST /partners/v1/spare-parts/attributes` (202). Absolute values, so safe to repeat. */
  updateSparePartAttributes(items: readonly SparePartAttributesInput[]): Promise<MwBulkResult> {
    const path = MW_PATHS.sparePartAttributes;
    return this.bulk('updateSparePartAttributes', path, items, sparePartAttributesSchema, (i) => i, true);
  }

  /**
   * `POST /partners/v1/spare-parts/movements/bulk` (202): sets absolute stock levels (a recount),
   * hence safe to repeat. Each item is the identifier plus the object the doc marks required
   * (`nested`, the default); `flat` is the deprecated PUT's shape, sent only when configured.
   */
  setStock(items: readonly StockLevelInput[]): Promise<MwBulkResult> {
    const toBody = this.config.stockMovementFormat === 'flat' ? flatStockItem : nestedStockItem;
    return this.bulk('setStock', MW_PATHS.stockMovements, items, stockLevelInputSchema, toBody, true);
  }

  /** `GET /partners/v1/network/settings`: the key's network UUID, timezone and currency. */
  async getNetworkSettings(): Promise<NetworkSettings> {
    const operation = 'getNetworkSettings';
    const { data } = await this.http.send({ operation, method: 'GET', path: MW_PATHS.networkSettings });
    return parseWith(
      networkSettingsSchema,
      data,
      (p) => new VendorResponseError(MW_VENDOR, operation, p.path, p.message),
    );
  }

  /** Validates every item first (nothing is sent if one is bad), then sends `bulkLimit` at a time, in order. */
  private async bulk<S extends z.ZodMiniType>(
    operation: string,
    path: string,
    items: readonly z.input<S>[],
    schema: S,
    toBody: (item: z.output<S>) => unknown,
    idempotent: boolean,
  ): Promise<MwBulkResult> {
    const checked: z.output<S>[] = parseWith(arrayOf(schema), items, inputError(operation));
    const limit = this.config.bulkLimit;
    const done = { requests: 0, items: 0 };
    for (let from = 0; from < checked.length; from += limit) {
      const chunk = checked.slice(from, from + limit);
      try {
        const { data } = await this.http.send({
          operation,
          method: 'POST',
          path,
          body: chunk.map(toBody),
          idempotent,
        });
        // A repeatable write is simply retried; a create may have been made behind the page.
        if (!idempotent) unansweredCreate(operation, data);
        const problem = notAnAnswer(operation, data);
        if (problem) throw problem;
      } catch (error) {
        if (done.requests === 0) throw error;
        throw new MobilityWorkBulkError(operation, { ...done }, from, from + chunk.length, error);
      }
      done.requests++;
      done.items += chunk.length;
    }
    return { ...done, status: 'accepted' };
  }
}

/**
 * The client for a runtime env: validates `env.vendors['mobility-work']` now (ConfigError naming
 * `vendors.mobility-work.<field>`), reads the secret only when the first call needs it.
 */
export function connectMobilityWork(
  env: RuntimeEnv,
  overrides: { http?: MobilityWorkHttpOptions; log?: Log } = {},
): MobilityWorkClient {
  const config = parseMobilityWorkConfig(env.vendors['mobility-work']);
  return new MobilityWorkClient({
    log: env.log,
    ...overrides,
    http: { ...(env.transport ? { fetch: env.transport(MW_VENDOR) } : {}), ...overrides.http },
    config,
    loadApiKey: async ({ refresh }) =>
      (await readSecret(env.secrets, config.secretName, mobilityWorkSecretSchema, { refresh })).apiKey,
  });
}
