/**
 * UpKeep webhooks (reference §4). UpKeep signs nothing and documents no payload, so:
 * - verify: the webhook URL carries a random token (`POST /webhooks/upkeep/{token}`), compared in
 *   constant time with the secret's `webhookToken`, before the body is looked at;
 * - parse: the event name and object id are read defensively from the shapes one could expect
 *   (envelope `{event, data}`, a flat record, or `?event=` on a per-event registration URL);
 * - the body is a trigger only: `fetchWebhookSubject` re-reads the object from the API.
 */
import * as z from 'zod/mini';
import { bodyFingerprint, constantTimeEqual } from '../../core/digest.ts';
import { MillwrightError, WebhookError } from '../../core/errors.ts';
import type { EventDefinition } from '../../core/events.ts';
import type {
  FlowEvent,
  WebhookParseContext,
  WebhookReceiver,
  WebhookRequest,
  WebhookVerifyContext,
} from '../../core/flow.ts';
import { boundedId, MAX_EVENT_NAME_BYTES } from '../../core/limits.ts';
import { lazySchema } from '../../core/schema.ts';
import { webhookCredential } from '../../core/webhook-secret.ts';
import type { UpKeepClient } from './client.ts';
import { parseUpKeepConfig, upkeepSecretSchema } from './config.ts';
import { upkeepTimestampMs, type WorkOrder } from './schemas.ts';

/** The 20 documented event names (reference §4), exactly as UpKeep spells them. */
export const UPKEEP_WEBHOOK_EVENTS = [
  'WORK_ORDER_CREATED',
  'WORK_ORDER_UPDATED',
  'WORK_ORDER_STATUS_UPDATED',
  'WORK_ORDER_DELETED',
  'PM_WORK_ORDER_CREATED',
  'PM_WORK_ORDER_UPDATED',
  'PM_WORK_ORDER_DELETED',
  'WORK_ORDER_SCHEDULE_CREATED',
  'WORK_ORDER_SCHEDULE_UPDATED',
  'WORK_ORDER_SCHEDULE_STATUS_UPDATED',
  'WORK_ORDER_SCHEDULE_DELETED',
  'PURCHASE_ORDER_UPDATED',
  'PURCHASE_ORDER_CREATED',
  'PURCHASE_ORDER_DELETED',
  'PURCHASE_ORDER_APPROVED',
  'PURCHASE_ORDER_DECLINED',
  'REQUEST_CREATED',
  'REQUEST_UPDATED',
  'REQUEST_APPROVED',
  'REQUEST_REJECTED',
] as const;
export type UpKeepWebhookEvent = (typeof UPKEEP_WEBHOOK_EVENTS)[number];

export const UPKEEP_OBJECT_TYPES = [
  'workOrder',
  'pmWorkOrder',
  'workOrderSchedule',
  'purchaseOrder',
  'request',
] as const;
export type UpKeepObjectType = (typeof UPKEEP_OBJECT_TYPES)[number];

export const UPKEEP_WEBHOOK_SOURCE = 'upkeep.webhook';
/**
 * Echo namespace of UpKeep work-order writes: every flow that writes a work order marks the version
 * it made (id + `updatedAt`) here (flows/shared/echo.ts), and the webhook of that version is ours.
 */
export const UPKEEP_WORK_ORDER_ECHO = 'upkeep-work-order';
export const UPKEEP_WEBHOOK_ROUTE = 'POST /webhooks/upkeep/{token}';
/** Minimum token length (matches `upkeepSecretSchema.webhookToken`). */
export const UPKEEP_WEBHOOK_TOKEN_MIN_LENGTH = 32;

/** `data` of the FlowEvents this receiver emits. */
export const upkeepWebhookDataSchema = lazySchema(() =>
  z.object({
    event: z.enum(UPKEEP_WEBHOOK_EVENTS),
    objectId: z.string().check(z.minLength(1)),
    objectType: z.enum(UPKEEP_OBJECT_TYPES),
    /** The object's `updatedAt` when the body carried it: then the event id names one version. */
    updatedAt: z.optional(z.string()),
  }),
);
export type UpKeepWebhookData = z.output<typeof upkeepWebhookDataSchema>;

/** Every documented event, each with the normalised `data` above (the object is re-read by id). */
export const upkeepWebhookEvents = Object.fromEntries(
  UPKEEP_WEBHOOK_EVENTS.map((name) => [
    `upkeep.${name}`,
    { schema: upkeepWebhookDataSchema, description: `${name}; the object is re-read by id` },
  ]),
) as unknown as { readonly [K in UpKeepWebhookEvent as `upkeep.${K}`]: EventDefinition<UpKeepWebhookData> };

const KNOWN = new Set<string>(UPKEEP_WEBHOOK_EVENTS);
const isKnownEvent = (name: string): name is UpKeepWebhookEvent => KNOWN.has(name);

/** Longest prefix first: `WORK_ORDER_SCHEDULE_` before `WORK_ORDER_`. */
export function objectTypeOf(event: UpKeepWebhookEvent): UpKeepObjectType {
  if (event.startsWith('WORK_ORDER_SCHEDULE_')) return 'workOrderSchedule';
  if (event.startsWith('PM_WORK_ORDER_')) return 'pmWorkOrder';
  if (event.startsWith('WORK_ORDER_')) return 'workOrder';
  if (event.startsWith('PURCHASE_ORDER_')) return 'purchaseOrder';
  return 'request';
}

async function verify(req: WebhookRequest, { env }: WebhookVerifyContext): Promise<void> {
  const config = parseUpKeepConfig(env.vendors.upkeep);
  // 503 until the secret exists, 401 until it has a webhookToken (core/webhook-secret.ts).
  const token = await webhookCredential(env, {
    vendor: 'upkeep',
    secretName: config.secretName,
    schema: upkeepSecretSchema,
    field: 'webhookToken',
    pick: (secret) => secret.webhookToken,
    generable: true,
  });
  const given = req.pathParameters.token ?? '';
  // Compare whatever we got (even an empty token) so every rejection costs the same.
  let equal = constantTimeEqual(given, token.value);
  if (given.length === 0) throw new WebhookError(401, 'missing UpKeep webhook token in the URL');
  if (given.length < UPKEEP_WEBHOOK_TOKEN_MIN_LENGTH)
    throw new WebhookError(401, 'invalid UpKeep webhook token');
  if (!equal) {
    // The cached secret may predate a new token (`secrets generate-webhook upkeep`).
    const fresh = await token.reread();
    equal = fresh !== undefined && constantTimeEqual(given, fresh);
  }
  if (!equal) throw new WebhookError(401, 'invalid UpKeep webhook token');
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
const idOf = (v: unknown): string | undefined =>
  str(v) ?? (typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** The records a delivery may carry its object in, most specific first. */
const containers = (body: Json): Json[] =>
  [body.data, body.object, body.result].filter(isObject).concat(body);

function eventNameOf(body: Json, query: Record<string, string>): string | undefined {
  const candidates = [body.event, body.eventType, body.type, body.webhookEvent, query.event]
    .map(str)
    .filter((c): c is string => c !== undefined);
  // A flat record may carry an unrelated `type`; prefer a candidate that is a documented event.
  return candidates.find((c) => isKnownEvent(c.toUpperCase()))?.toUpperCase() ?? candidates[0];
}

function objectIdOf(body: Json): string | undefined {
  const data = isObject(body.data) ? body.data : undefined;
  const object = isObject(body.object) ? body.object : undefined;
  const result = isObject(body.result) ? body.result : undefined;
  return idOf(data?.id) ?? idOf(object?.id) ?? idOf(result?.id) ?? idOf(body.objectId) ?? idOf(body.id);
}

/**
 * An UpKeep timestamp as one canonical string (ISO 8601, UTC, milliseconds), undefined when it is no
 * timestamp: the version key of a work order, so a write's echo mark (from our PATCH's answer) and
 * the webhook or re-read naming the same instant in another form (no millis, an offset, no zone)
 * meet. UpKeep asset timestamps come without a zone; they are UTC (reference §2.7).
 */
export function workOrderVersion(value: string): string | undefined {
  const ms = upkeepTimestampMs(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function updatedAtOf(body: Json): string | undefined {
  for (const record of containers(body)) {
    const value = str(record.updatedAt);
    const version = value ? workOrderVersion(value) : undefined;
    if (version) return version;
  }
  return undefined;
}

function parse(req: WebhookRequest, ctx?: WebhookParseContext): { events: FlowEvent[]; ignored: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody);
  } catch (error) {
    throw new WebhookError(400, 'UpKeep webhook body is not valid JSON', { cause: error });
  }
  if (!isObject(body)) throw new WebhookError(400, 'UpKeep webhook body must be a JSON object');

  // Bounded before either becomes part of an event id or a state key (see core/limits.ts).
  const event = boundedId('UpKeep webhook', 'event name', eventNameOf(body, req.query), MAX_EVENT_NAME_BYTES);
  const objectId = boundedId('UpKeep webhook', 'object id', objectIdOf(body));
  if (!event && !objectId) {
    throw new WebhookError(
      400,
      'UpKeep webhook has no event name (event|eventType|type|webhookEvent|?event=) and no object id',
    );
  }
  if (!event) {
    throw new WebhookError(
      400,
      'UpKeep webhook has no event name (body event|eventType|type|webhookEvent, or ?event=)',
    );
  }
  if (!isKnownEvent(event)) return { events: [], ignored: [event] };
  // UpKeep documents no payload: a documented event no flow takes is acknowledged however it looks.
  if (!objectId && ctx?.subscribed?.(`upkeep.${event}`) === false) return { events: [], ignored: [event] };
  if (!objectId) {
    throw new WebhookError(
      400,
      `UpKeep webhook ${event} has no object id (data.id|object.id|result.id|objectId|id)`,
    );
  }

  const updatedAt = updatedAtOf(body);
  const version = updatedAt ?? bodyFingerprint(req.rawBody);
  const data: UpKeepWebhookData = {
    event,
    objectId,
    objectType: objectTypeOf(event),
    ...(updatedAt ? { updatedAt } : {}),
  };
  return {
    events: [
      {
        id: `upkeep:${event}:${objectId}:${version}`,
        type: `upkeep.${event}`,
        source: UPKEEP_WEBHOOK_SOURCE,
        subject: objectId,
        occurredAt: updatedAt ?? req.receivedAt.toISOString(),
        data,
      },
    ],
    ignored: [],
  };
}

/**
 * A work-order webhook whose body names a version (id + `updatedAt`) that a Millwright flow wrote
 * (its echo mark): the flow that made it, else undefined. Every flow that watches work orders
 * answers that version `echo` (the writer) or `skipped` (changed by Millwright, not a person), so the
 * ingress need not enqueue it; a person's later change is a new version with its own webhook. One
 * read of our own mark (the body alone names the version but not who made it: UpKeep's work-order
 * record carries no "updated by"), and only for bodies that name a version.
 */
async function ownWrite(event: FlowEvent, { env }: WebhookVerifyContext): Promise<string | undefined> {
  const data = event.data as Partial<UpKeepWebhookData>;
  if (data.objectType !== 'workOrder' || data.event === 'WORK_ORDER_DELETED') return undefined;
  if (typeof data.updatedAt !== 'string' || typeof data.objectId !== 'string') return undefined;
  return env.state.ownWriteBy(UPKEEP_WORK_ORDER_ECHO, data.objectId, data.updatedAt);
}

export const upkeepWebhook: WebhookReceiver<typeof upkeepWebhookEvents> = {
  vendor: 'upkeep',
  events: upkeepWebhookEvents,
  route: UPKEEP_WEBHOOK_ROUTE,
  // A repeat of a body naming the object's version (`updatedAt`) is the same fact: acknowledged, not
  // enqueued again (UpKeep signs nothing, so anyone with the URL could replay it). A body without a
  // version may be a new change that looks the same: it goes to the flows, which re-read the object.
  dedupeSeconds: 24 * 3600,
  dedupes: (event) => typeof (event.data as Partial<UpKeepWebhookData>).updatedAt === 'string',
  verify,
  parse,
  ownWrite,
};

/**
 * Re-reads the object a webhook is about; the body itself is never trusted (anyone who learns the
 * URL can post anything). Work orders only for now: `undefined` for other object types (PM work
 * orders, schedules, purchase orders, requests have no client method yet) and for a work order that
 * no longer exists (e.g. after WORK_ORDER_DELETED).
 */
export async function fetchWebhookSubject(
  client: UpKeepClient,
  data: UpKeepWebhookData,
): Promise<WorkOrder | undefined> {
  // Flows pass the event's data already parsed; a cast or a plain-JS caller could still pass any
  // data (a replayed or hand-made event), and retrying cannot help with that.
  if (!upkeepWebhookDataSchema.safeParse(data).success) {
    throw new MillwrightError('not an UpKeep webhook event: data needs event, objectId and objectType');
  }
  if (data.objectType !== 'workOrder') return undefined;
  return client.getWorkOrder(data.objectId);
}

/** Default export: lib/entries.ts imports each vendor receiver as `<vendor>/webhook.ts` default. */
export default upkeepWebhook;
