/**
 * MachineMetrics Workflow webhooks (route `POST /webhooks/machinemetrics`).
 *
 * ASSUMPTIONS. MachineMetrics documents neither the payload nor the signing of Workflow webhooks
 * (reference §4.1, EXT-10: a Workflow has a URL and a "Secret"). Everything below is a named,
 * configurable assumption to check against a real delivery before go-live (reference §8 #4):
 *
 * A1 Authentication, `vendors.machinemetrics.webhook.scheme` (default `shared-secret-header`):
 *    - `shared-secret-header`: the Workflow "Secret" arrives verbatim in header `secretHeader`
 *      (default `x-mm-webhook-secret`). No replay window is possible with this scheme.
 *    - `hmac-sha256`: header `signatureHeader` (default `x-mm-signature`) is the lower- or
 *      upper-case hex HMAC-SHA256 keyed with the secret over `${timestamp}.${rawBody}`, where
 *      `timestamp` is header `timestampHeader` (default `x-mm-timestamp`) in unix seconds and
 *      must be within `toleranceSeconds` (default 300) of our receive time. A `sha256=` prefix is
 *      accepted. Each signature is remembered as a nonce for 2 × tolerance; an exact redelivery
 *      (same signature and body) is acknowledged and enqueues nothing (delivery marks).
 *    The secret is `webhookSecret` in the vendor secret (`vendors.machinemetrics.secretName`).
 * A2 Payload (JSON object), see `machineMetricsWebhookPayloadSchema`:
 *    `{ event, id?, machineId, machineName?, timestamp, reasonId?, reasonName?, status?,
 *       downtimeStartedAt?, durationMs? }` with `event` one of MM_WEBHOOK_EVENTS.
 *    - `downtime.categorized` ⇒ DOWNTIME_CATEGORIZED (reasonId required).
 *    - `machine.status.changed` with a RUNNING_STATUSES status ⇒ DOWNTIME_ENDED (endedAt =
 *      timestamp); with a DOWN_STATUSES status ⇒ DOWNTIME_STARTED, episodeKey
 *      `wh:${machineId}:${downtimeStartedAt ?? timestamp}`; other statuses are ignored.
 *    - Any other `event` is acknowledged and ignored; so is one whose event types no flow
 *      subscribes to, unvalidated.
 * A3 Identity: `id` is a delivery id that stays the same on redelivery; without it the event id is
 *    derived from the raw body (sha256, first 16 hex), so a byte-identical redelivery dedups too.
 *
 * The simulator (functions/connectors/machinemetrics/simulator/) sends exactly this, so the sandbox
 * and the tests exercise the same assumptions; change them here and the simulator follows.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod/mini';
import { bodyFingerprint, constantTimeEqual } from '../../core/digest.ts';
import { WebhookError } from '../../core/errors.ts';
import type {
  FlowEvent,
  WebhookParseContext,
  WebhookReceiver,
  WebhookRequest,
  WebhookVerifyContext,
} from '../../core/flow.ts';
import { boundedId } from '../../core/limits.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';
import { webhookCredential } from '../../core/webhook-secret.ts';
import {
  type MachineMetricsWebhookConfig,
  machineMetricsSecretSchema,
  parseMachineMetricsConfig,
  webhookSettings,
} from './config.ts';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  type DowntimeCategorized,
  type DowntimeEnded,
  type DowntimeStarted,
  machineMetricsEvents,
} from './events.ts';

export const MM_WEBHOOK_ROUTE = 'POST /webhooks/machinemetrics';
export const WEBHOOK_EVENT_SOURCE = 'machinemetrics.webhook';
/** Namespace of the replay nonces in the state store. */
export const WEBHOOK_NONCE_NAMESPACE = 'machinemetrics';

export const MM_WEBHOOK_EVENTS = {
  downtimeCategorized: 'downtime.categorized',
  machineStatusChanged: 'machine.status.changed',
} as const;

/** `machine.status.changed` statuses (compared upper-cased) meaning "runs again". */
export const RUNNING_STATUSES: readonly string[] = ['ACTIVE', 'RUNNING', 'UP', 'IN_CYCLE'];
/** `machine.status.changed` statuses (compared upper-cased) meaning "stopped". */
export const DOWN_STATUSES: readonly string[] = ['DOWN', 'STOPPED', 'IDLE'];

const isoDateTime = lazySchema(() => z.iso.datetime({ offset: true }));

export const machineMetricsWebhookPayloadSchema = lazySchema(() =>
  z.object({
    event: z.string().check(z.minLength(1)),
    /** Delivery id, stable across redeliveries (assumed). */
    id: z.optional(z.string().check(z.minLength(1))),
    machineId: z.string().check(z.minLength(1)),
    machineName: z.optional(z.string()),
    timestamp: isoDateTime,
    reasonId: z.optional(z.union([z.string().check(z.minLength(1)), z.number()])),
    reasonName: z.optional(z.string()),
    status: z.optional(z.string().check(z.minLength(1))),
    downtimeStartedAt: z.optional(isoDateTime),
    durationMs: z.optional(z.number().check(z.minimum(0))),
  }),
);
export type MachineMetricsWebhookPayload = z.infer<typeof machineMetricsWebhookPayloadSchema>;

/** Hex HMAC-SHA256 over `${timestamp}.${rawBody}` (assumption A1); the simulator signs with it. */
export const signMachineMetricsWebhook = (
  secret: string,
  timestamp: string | number,
  rawBody: string,
): string => createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');

const unauthorized = (message: string) => new WebhookError(401, `machinemetrics webhook: ${message}`);

async function verify(req: WebhookRequest, { env }: WebhookVerifyContext): Promise<void> {
  const config = parseMachineMetricsConfig(env.vendors.machinemetrics);
  const settings: MachineMetricsWebhookConfig = webhookSettings(config);
  // 503 until the secret exists, 401 until it has a webhookSecret (core/webhook-secret.ts).
  const credential = await webhookCredential(env, {
    vendor: 'machinemetrics',
    secretName: config.secretName,
    schema: machineMetricsSecretSchema,
    field: 'webhookSecret',
    pick: (secret) => secret.webhookSecret,
    generable: true,
  });
  // A mismatch against the cached secret is checked again against a fresh read (it may be new).
  const matchesEither = async (matches: (secret: string) => boolean): Promise<boolean> => {
    if (matches(credential.value)) return true;
    const fresh = await credential.reread();
    return fresh !== undefined && matches(fresh);
  };
  const header = (name: string) => req.headers[name.toLowerCase()];

  if (settings.scheme === 'shared-secret-header') {
    const provided = header(settings.secretHeader);
    if (!provided) throw unauthorized(`missing header ${settings.secretHeader}`);
    if (!(await matchesEither((secret) => constantTimeEqual(provided, secret)))) {
      throw unauthorized('secret does not match');
    }
    return;
  }

  const signature = header(settings.signatureHeader)
    ?.trim()
    .replace(/^sha256=/i, '');
  const timestamp = header(settings.timestampHeader)?.trim();
  if (!signature) throw unauthorized(`missing header ${settings.signatureHeader}`);
  if (!timestamp) throw unauthorized(`missing header ${settings.timestampHeader}`);
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized(`${settings.timestampHeader} is not unix seconds`);
  const ageSeconds = Math.abs(req.receivedAt.getTime() / 1000 - Number(timestamp));
  if (ageSeconds > settings.toleranceSeconds) {
    throw unauthorized(`timestamp outside the ${settings.toleranceSeconds} s tolerance`);
  }
  if (!/^[0-9a-f]{64}$/i.test(signature)) throw unauthorized('signature is not a hex sha256 digest');
  const given = Buffer.from(signature, 'hex');
  const signedWith = (secret: string) =>
    timingSafeEqual(given, Buffer.from(signMachineMetricsWebhook(secret, timestamp, req.rawBody), 'hex'));
  if (!(await matchesEither(signedWith))) throw unauthorized('signature does not match');
  // The same signature means the same timestamp and body (HMAC): MachineMetrics resending a
  // delivery whose answer it did not get. Accepted; the ingress's delivery marks enqueue nothing.
  const seen = await env.state.rememberNonce(WEBHOOK_NONCE_NAMESPACE, signature.toLowerCase(), {
    ttlSeconds: settings.toleranceSeconds * 2,
    fingerprint: bodyFingerprint(req.rawBody),
  });
  if (seen === 'replay') throw unauthorized('replayed delivery (signature already seen with another body)');
}

const badRequest = (message: string) => new WebhookError(400, `machinemetrics webhook: ${message}`);

/** The FlowEvent types each payload `event` can become (A2). */
const TYPES_OF: Record<string, readonly string[]> = {
  [MM_WEBHOOK_EVENTS.downtimeCategorized]: [DOWNTIME_CATEGORIZED],
  [MM_WEBHOOK_EVENTS.machineStatusChanged]: [DOWNTIME_STARTED, DOWNTIME_ENDED],
};
const canonical = (iso: string) => new Date(iso).toISOString();

function parse(req: WebhookRequest, ctx?: WebhookParseContext): { events: FlowEvent[]; ignored: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody);
  } catch (error) {
    throw new WebhookError(400, 'machinemetrics webhook: body is not valid JSON', { cause: error });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('body must be a JSON object');
  }
  const name = (body as { event?: unknown }).event;
  if (typeof name !== 'string' || name.length === 0)
    throw badRequest('invalid payload at event: expected string');
  const known: readonly string[] = Object.values(MM_WEBHOOK_EVENTS);
  if (!known.includes(name)) return { events: [], ignored: [name] };
  // An event no flow takes (e.g. polling-only deployments) is acknowledged unvalidated: a 4xx only
  // makes the Workflow retry something we would drop anyway.
  const { subscribed } = ctx ?? {};
  if (subscribed && !(TYPES_OF[name] ?? []).some((type) => subscribed(type)))
    return { events: [], ignored: [name] };

  const p = parseWith(machineMetricsWebhookPayloadSchema, body, (problem) =>
    badRequest(`invalid payload at ${problem.path || '(root)'}: ${problem.message}`),
  );
  // Bounded before they become part of an event id or a state key (core/limits.ts).
  boundedId('machinemetrics webhook', 'machineId', p.machineId);
  const id = `mm:webhook:${boundedId('machinemetrics webhook', 'id', p.id) ?? bodyFingerprint(req.rawBody)}`;
  const timestamp = canonical(p.timestamp);
  const startedAt = p.downtimeStartedAt ? canonical(p.downtimeStartedAt) : undefined;
  const episodeKey = (start: string) => `wh:${p.machineId}:${start}`;
  const envelope = (type: string, data: Record<string, unknown>): FlowEvent => ({
    id,
    type,
    source: WEBHOOK_EVENT_SOURCE,
    occurredAt: timestamp,
    subject: p.machineId,
    data,
  });

  if (name === MM_WEBHOOK_EVENTS.downtimeCategorized) {
    if (p.reasonId === undefined)
      throw badRequest('invalid payload at reasonId: required for downtime.categorized');
    const reasonId = String(p.reasonId);
    const data: DowntimeCategorized = {
      machineId: p.machineId,
      ...(p.machineName !== undefined ? { machineName: p.machineName } : {}),
      ...(startedAt ? { episodeKey: episodeKey(startedAt) } : {}),
      reasonId,
      reasonName: p.reasonName ?? reasonId,
      categorizedAt: timestamp,
    };
    return { events: [envelope(DOWNTIME_CATEGORIZED, data)], ignored: [] };
  }

  if (!p.status) throw badRequest('invalid payload at status: required for machine.status.changed');
  const status = p.status.toUpperCase();
  if (RUNNING_STATUSES.includes(status)) {
    const data: DowntimeEnded = {
      machineId: p.machineId,
      ...(p.machineName !== undefined ? { machineName: p.machineName } : {}),
      ...(startedAt ? { episodeKey: episodeKey(startedAt), startedAt } : {}),
      endedAt: timestamp,
      ...(p.durationMs !== undefined ? { downtimeMs: p.durationMs } : {}),
    };
    return { events: [envelope(DOWNTIME_ENDED, data)], ignored: [] };
  }
  if (DOWN_STATUSES.includes(status)) {
    const start = startedAt ?? timestamp;
    const reasonId = p.reasonId === undefined ? 'uncategorized' : String(p.reasonId);
    const data: DowntimeStarted = {
      machineId: p.machineId,
      machineName: p.machineName ?? p.machineId,
      episodeKey: episodeKey(start),
      startedAt: start,
      detectedAt: timestamp,
      reasonId,
      reasonName: p.reasonName ?? (reasonId === 'uncategorized' ? 'Uncategorized' : reasonId),
      downtimeMs: p.durationMs ?? 0,
    };
    return { events: [envelope(DOWNTIME_STARTED, data)], ignored: [] };
  }
  return { events: [], ignored: [`${name}:${p.status}`] };
}

/** The ingress could not accept a verified delivery: forget its nonce so the retry is not a replay. */
async function release(req: WebhookRequest, { env }: WebhookVerifyContext): Promise<void> {
  const settings = webhookSettings(parseMachineMetricsConfig(env.vendors.machinemetrics));
  if (settings.scheme !== 'hmac-sha256') return;
  const signature = req.headers[settings.signatureHeader.toLowerCase()]?.trim().replace(/^sha256=/i, '');
  if (signature) await env.state.forgetNonce(WEBHOOK_NONCE_NAMESPACE, signature.toLowerCase());
}

export const machineMetricsWebhook: WebhookReceiver<typeof machineMetricsEvents> = {
  vendor: 'machinemetrics',
  events: machineMetricsEvents,
  route: MM_WEBHOOK_ROUTE,
  // A redelivery (same delivery id, or the same bytes) is acknowledged without being enqueued again.
  dedupeSeconds: 24 * 3600,
  verify,
  parse,
  release,
};

/** Default export: lib/entries.ts imports each vendor receiver as `<vendor>/webhook.ts` default. */
export default machineMetricsWebhook;
