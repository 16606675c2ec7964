/**
 * Mobility Work webhooks (route `POST /webhooks/mobility-work`, reference §4).
 *
 * - verify: `X-MW-Signature: t=..,nonce=..,signature=..` over the raw body with any of the secret's
 *   `webhookSecrets` (one per event subscription), for the configured signed-string scheme (a named
 *   assumption, see signature.ts); `t` within `toleranceSeconds`. Nonce and body fingerprint go to
 *   the ingress (ReplayGuard), which keeps them on the delivery's mark: one conditional write per
 *   delivery. The same nonce with another body of the same delivery is a replay (401); the same
 *   nonce with the same body is MW resending a delivery whose 200 was lost: 200, enqueued once
 *   (even when it arrives after the tolerance). The ingress deletes the mark when it could not
 *   accept the delivery. (Before issue 14 the nonce was a separate `NONCE#` item: such items
 *   left in a table are no longer read and expire by TTL.)
 * - parse: discriminates on `_event` (schemas in events.ts); unknown events, and documented ones no
 *   flow subscribes to (unvalidated), are acknowledged and ignored. The event id is `mobility-work:<networkId>:<_idempotencyKey>`, so MW's retry of one
 *   delivery (new t and nonce, same key) gives the same id.
 * - MW counts anything but 200 as a failure: `ackStatus: 200`.
 * - networkId routing: `parse(req, { env })` drops other networks' events (`ignored: ['network <id>']`).
 * - MW retries a failed delivery twice with the same `_idempotencyKey`: the ingress acknowledges a
 *   redelivery of an event it already enqueued without enqueueing it again (`dedupeSeconds`).
 */
import { bodyFingerprint } from '../../core/digest.ts';
import { WebhookError } from '../../core/errors.ts';
import type {
  FlowEvent,
  ReplayGuard,
  WebhookParseContext,
  WebhookReceiver,
  WebhookRequest,
  WebhookVerifyContext,
} from '../../core/flow.ts';
import { boundedId } from '../../core/limits.ts';
import { parseWith } from '../../core/schema.ts';
import { readSecret } from '../../core/secrets.ts';
import { webhookCredential } from '../../core/webhook-secret.ts';
import { mobilityWorkSecretSchema, parseMobilityWorkConfig } from './config.ts';
import {
  fieldAt,
  isMwEventName,
  MW_EVENT,
  MW_EVENT_SCHEMAS,
  MW_TASK_EVENTS,
  type MwEventName,
  mobilityWorkEvents,
  networkMatches,
  sparePartRefOf,
  taskIdOf,
} from './events.ts';
import {
  computeMwSignature,
  MW_SIGNATURE_HEADER,
  type MwSignatureParts,
  mwSignatureMatches,
  parseMwSignatureHeader,
} from './signature.ts';

export const MW_WEBHOOK_ROUTE = 'POST /webhooks/mobility-work';
export const MW_WEBHOOK_SOURCE = 'mobility-work.webhook';
/** Namespace of the replay nonces in the state store. */
export const MW_NONCE_NAMESPACE = 'mobility-work';
/** MW marks any other status as failed and retries (reference §4.3). */
export const MW_ACK_STATUS = 200;
/** How long a delivery is remembered, so MW's redeliveries of it enqueue nothing. */
export const MW_DEDUPE_SECONDS = 24 * 3600;

/** `t` is unix seconds (10 digits today); allow a digit either way. */
const UNIX_SECONDS = /^\d{9,11}$/;
/** The doc shows 40 hex; accept any short token, it becomes a state-store key. */
const NONCE = /^[A-Za-z0-9_-]{8,128}$/;

const unauthorized = (message: string) => new WebhookError(401, `mobility-work webhook: ${message}`);
const badRequest = (message: string) => new WebhookError(400, `mobility-work webhook: ${message}`);

async function verify(req: WebhookRequest, { env }: WebhookVerifyContext): Promise<ReplayGuard | undefined> {
  const config = parseMobilityWorkConfig(env.vendors['mobility-work']);
  const { signatureScheme, toleranceSeconds, requireSignature } = config.webhook;
  const header = req.headers[MW_SIGNATURE_HEADER];

  if (!header && !requireSignature) {
    env.log.warn('mobility-work webhook accepted without X-MW-Signature (requireSignature is false)');
    return;
  }
  if (!requireSignature) {
    const secret = await readSecret(env.secrets, config.secretName, mobilityWorkSecretSchema);
    if ((secret.webhookSecrets ?? []).length === 0) {
      env.log.warn(`mobility-work webhook signature not checked: no webhookSecrets in ${config.secretName}`);
      return;
    }
  }
  // 503 until the secret exists, 401 until it has webhookSecrets (core/webhook-secret.ts).
  const keys = await webhookCredential(env, {
    vendor: 'mobility-work',
    secretName: config.secretName,
    schema: mobilityWorkSecretSchema,
    field: 'webhookSecrets',
    pick: (secret) => secret.webhookSecrets,
  });
  if (!header) throw unauthorized('missing X-MW-Signature header');
  const parts = parseMwSignatureHeader(header);
  if (!parts) throw unauthorized('malformed X-MW-Signature (expected t=..,nonce=..,signature=..)');
  if (!UNIX_SECONDS.test(parts.t)) throw unauthorized('X-MW-Signature t is not unix seconds');
  if (!NONCE.test(parts.nonce)) throw unauthorized('X-MW-Signature nonce is malformed');
  // Try every secret, so the time taken does not tell which one matched.
  const signedWithAny = (secrets: readonly string[]) => {
    let matched = false;
    for (const key of secrets) {
      const expected = computeMwSignature(key, signatureScheme, parts.t, parts.nonce, req.rawBody);
      matched = mwSignatureMatches(parts.signature, expected) || matched;
    }
    return matched;
  };
  let matched = signedWithAny(keys.value);
  if (!matched) {
    // A subscription's secret added since the secret was cached is found by reading it again.
    const fresh = await keys.reread();
    matched = fresh !== undefined && signedWithAny(fresh);
  }
  if (!matched) throw unauthorized(`signature does not match (scheme ${signatureScheme})`);

  // Replay protection is left to the ingress's delivery mark (one item per delivery, keyed by the
  // idempotency key, holding nonce and fingerprint): an exact redelivery (same body) is answered 200
  // and enqueued once; the same nonce with another body is a replay (401); a late signature passes
  // only as an exact redelivery of a delivery already marked.
  const fingerprint = bodyFingerprint(req.rawBody);
  const skew = Math.abs(req.receivedAt.getTime() / 1000 - Number(parts.t));
  return {
    nonce: nonceKey(parts),
    fingerprint,
    ...(skew > toleranceSeconds
      ? {
          late: `mobility-work webhook: stale X-MW-Signature: t is ${Math.round(skew)} s off (tolerance ${toleranceSeconds} s)`,
        }
      : {}),
  };
}

const nonceKey = (parts: MwSignatureParts) => parts.nonce.toLowerCase();

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Where each event keeps its own time; the first that parses wins (README, Assumptions). The doc
 * says nothing of delivery order or of what `_sentAt` is; we read it as the time of the delivery
 * (it may be a retry's), so the event's own times come first and `_sentAt` only before the receive
 * time. Flows order a subject's events by this time: a started retried after its canceled must stay
 * older than the canceled.
 */
export const MW_EVENT_TIME_FIELDS = [
  'doneAt',
  '_date',
  'emittedAt',
  'scheduled.at',
  'started.at',
  'canceled.at',
  '_sentAt',
] as const;

/** The fields that are the event's own time (`_sentAt` is the delivery's: a retry changes it). */
const MW_EVENT_OWN_TIME_FIELDS = MW_EVENT_TIME_FIELDS.filter((path) => path !== '_sentAt');

function firstTimeOf(body: unknown, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const value = fieldAt(body, path);
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  }
  return undefined;
}

/**
 * The event's own time (ISO), or undefined when the payload has none. The doc shows none on
 * TaskWasStarted / Canceled / Scheduled (their objects are collapsed; `*.at` are our assumption):
 * such an event's occurredAt is then its delivery's time, which a retry hours later moves.
 */
export const mwEventOwnTimeOf = (body: unknown): string | undefined =>
  firstTimeOf(body, MW_EVENT_OWN_TIME_FIELDS);

const occurredAtOf = (body: Json, receivedAt: Date): string =>
  firstTimeOf(body, MW_EVENT_TIME_FIELDS) ?? receivedAt.toISOString();

function subjectOf(name: MwEventName, body: Json): string | undefined {
  if (MW_TASK_EVENTS.includes(name)) return taskIdOf(body);
  const ref = sparePartRefOf(body);
  return ref.externalReference ?? ref.id;
}

export interface ParsedDelivery {
  events: FlowEvent[];
  ignored: string[];
}

/**
 * Parse one delivery; with `networkId`, another network's event is acknowledged and ignored; with
 * `subscribed`, so is an event no flow takes, unvalidated (MW retries anything but 200).
 */
export function parseMobilityWorkWebhook(
  req: WebhookRequest,
  options: { networkId?: string; subscribed?: (type: string) => boolean } = {},
): ParsedDelivery {
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody);
  } catch (error) {
    throw new WebhookError(400, 'mobility-work webhook: body is not valid JSON', { cause: error });
  }
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  const name = body._event;
  if (typeof name !== 'string' || name === '') throw badRequest('invalid payload at _event: expected string');
  if (!isMwEventName(name)) return { events: [], ignored: [name] };
  if (options.subscribed?.(MW_EVENT[name]) === false) return { events: [], ignored: [MW_EVENT[name]] };

  parseWith(MW_EVENT_SCHEMAS[name], body, (p) =>
    badRequest(`${name}: invalid payload at ${p.path || '(root)'}: ${p.message}`),
  );
  // Every identifier is bounded before it becomes part of an event id or a state key (core/limits.ts).
  const bounded = <T extends string | undefined>(field: string, value: T) =>
    boundedId('mobility-work webhook', field, value);
  const networkId = bounded('networkId', body.networkId as string);
  if (!networkMatches(body, options.networkId)) return { events: [], ignored: [`network ${networkId}`] };

  const key = bounded(
    '_idempotencyKey',
    typeof body._idempotencyKey === 'string' ? body._idempotencyKey : undefined,
  );
  const subject = bounded('subject (task id or spare part reference)', subjectOf(name, body));
  const event: FlowEvent = {
    id: `mobility-work:${networkId}:${key ?? `body-${bodyFingerprint(req.rawBody)}`}`,
    type: MW_EVENT[name],
    source: MW_WEBHOOK_SOURCE,
    occurredAt: occurredAtOf(body, req.receivedAt),
    ...(subject !== undefined ? { subject } : {}),
    // As received: flows read it with the accessors in events.ts.
    data: body,
  };
  return { events: [event], ignored: [] };
}

function parse(req: WebhookRequest, ctx?: WebhookParseContext): ParsedDelivery {
  if (!ctx) return parseMobilityWorkWebhook(req);
  const { networkId } = parseMobilityWorkConfig(ctx.env.vendors['mobility-work']);
  return parseMobilityWorkWebhook(req, {
    networkId,
    ...(ctx.subscribed ? { subscribed: ctx.subscribed } : {}),
  });
}

export const mobilityWorkWebhook = {
  vendor: 'mobility-work',
  route: MW_WEBHOOK_ROUTE,
  events: mobilityWorkEvents,
  ackStatus: MW_ACK_STATUS,
  dedupeSeconds: MW_DEDUPE_SECONDS,
  verify,
  parse,
} satisfies WebhookReceiver<typeof mobilityWorkEvents>;

/** Default export: lib/entries.ts imports each vendor receiver as `<vendor>/webhook.ts` default. */
export default mobilityWorkWebhook;
