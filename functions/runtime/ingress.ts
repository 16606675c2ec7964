/**
 * Webhook ingress: size check, verify (over the raw body, before parsing), parse, route, enqueue,
 * and only then acknowledge. Errors map to HTTP in this one place: 413 too large, 401 not
 * authentic, 400 malformed, 404 unknown route, 503 when enqueueing failed (the vendor retries).
 * A rejected request touches nothing.
 */
import { WebhookError } from '../core/errors.ts';
import type { FlowEvent, RuntimeEnv, WebhookReceiver, WebhookRequest } from '../core/flow.ts';
import type { EventQueue } from './queue.ts';

export interface IngressOptions {
  receivers: readonly WebhookReceiver[];
  /** Event type -> queue URLs of the flows subscribed to it. */
  routing: Record<string, readonly string[]>;
  env: RuntimeEnv;
  queue: EventQueue;
  maxBytes: number;
}

export interface IngressResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const reply = (statusCode: number, body: Record<string, unknown>): IngressResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export async function handleWebhook(
  options: IngressOptions,
  routeKey: string,
  req: WebhookRequest,
): Promise<IngressResponse> {
  const { receivers, routing, env, queue, maxBytes } = options;
  const receiver = receivers.find((r) => r.route === routeKey);
  if (!receiver) return reply(404, { message: `no webhook route ${routeKey}` });
  const size = Buffer.byteLength(req.rawBody, 'utf8');
  if (size > maxBytes) {
    env.log.warn('webhook body too large', { vendor: receiver.vendor, bytes: size, maxBytes });
    return reply(413, { message: `body is ${size} bytes; the limit is ${maxBytes}` });
  }

  let events: FlowEvent[];
  let ignored: string[];
  try {
    await receiver.verify(req, { env });
    ({ events, ignored } = receiver.parse(req, { env }));
  } catch (error) {
    if (error instanceof WebhookError) {
      env.log.warn(`webhook rejected: ${error.message}`, {
        vendor: receiver.vendor,
        status: error.statusCode,
      });
      return reply(error.statusCode, { message: error.message });
    }
    env.log.error('webhook verification failed unexpectedly', {
      vendor: receiver.vendor,
      error: String(error),
    });
    return reply(503, { message: 'temporarily unable to verify; retry later' });
  }

  // Redeliveries of an event already acknowledged (same vendor idempotency key) are answered, not
  // re-enqueued. A lookup failure is not fatal: the flows are idempotent anyway.
  const duplicates: string[] = [];
  if (receiver.dedupeSeconds) {
    const seen = await Promise.all(
      events.map((e) => env.state.isDelivered(receiver.vendor, e.id).catch(() => false)),
    );
    events = events.filter((e, i) => {
      if (seen[i]) duplicates.push(e.id);
      return !seen[i];
    });
  }

  const byQueue = new Map<string, FlowEvent[]>();
  const unrouted: string[] = [];
  for (const event of events) {
    const targets = routing[event.type] ?? [];
    if (targets.length === 0) unrouted.push(event.type);
    for (const url of targets) byQueue.set(url, [...(byQueue.get(url) ?? []), event]);
  }
  try {
    await Promise.all([...byQueue].map(([url, list]) => queue.send(url, list)));
  } catch (error) {
    env.log.error('webhook events could not be enqueued', { vendor: receiver.vendor, error: String(error) });
    // Nothing was acknowledged: let the vendor's retry of this very delivery through.
    await receiver
      .release?.(req, { env })
      .catch((e) => env.log.warn('webhook release failed', { error: String(e) }));
    return reply(503, { message: 'could not enqueue; retry later' });
  }
  if (receiver.dedupeSeconds) {
    const ttl = receiver.dedupeSeconds;
    await Promise.all(
      events.map((e) =>
        env.state
          .markDelivered(receiver.vendor, e.id, ttl)
          .catch((error) => env.log.warn('could not record webhook delivery', { error: String(error) })),
      ),
    );
  }
  if (duplicates.length > 0) {
    env.log.info('webhook redelivery acknowledged without enqueueing', {
      vendor: receiver.vendor,
      duplicates,
    });
  }
  if (ignored.length > 0 || unrouted.length > 0) {
    env.log.info('webhook events acknowledged without a subscriber', {
      vendor: receiver.vendor,
      ignored,
      unrouted,
    });
  }
  const enqueued = [...byQueue.values()].reduce((n, list) => n + list.length, 0);
  return reply(receiver.ackStatus ?? 202, {
    accepted: events.length,
    enqueued,
    duplicates: duplicates.length,
    ignored: [...ignored, ...unrouted],
  });
}

/** API Gateway HTTP API (payload v2) -> WebhookRequest. */
export function fromApiGateway(event: {
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string | undefined>;
  pathParameters?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
}): WebhookRequest {
  const clean = (o?: Record<string, string | undefined>) =>
    Object.fromEntries(Object.entries(o ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
  const headers = Object.fromEntries(
    Object.entries(clean(event.headers)).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    rawBody: event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
      : (event.body ?? ''),
    headers,
    pathParameters: clean(event.pathParameters),
    query: clean(event.queryStringParameters),
    receivedAt: new Date(),
  };
}

/**
 * Which event types go to which flow queues, from the flows' webhook triggers. `queue` is a URL (the
 * sandbox) or a queue name (bundled into the ingress in AWS, joined with `QUEUE_URL_PREFIX`).
 */
export function buildRouting(
  flows: readonly { queue: string; events: readonly string[] }[],
): Record<string, string[]> {
  const routing: Record<string, string[]> = {};
  for (const { queue, events } of flows) {
    for (const type of events) routing[type] = [...new Set([...(routing[type] ?? []), queue])];
  }
  return routing;
}
