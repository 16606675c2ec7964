/**
 * Webhook ingress: size check, verify (over the raw body, before parsing), parse, drop the echoes
 * of our own writes the receiver can prove, mark each delivery (one conditional write per routed
 * event: the delivery mark, holding the signature's nonce and the body's fingerprint), enqueue, and
 * only then acknowledge. Errors map to HTTP in this one place: 413 too large, 401 not authentic
 * (a bad signature, a replayed nonce, a late signature that is no redelivery), 400 malformed, 404
 * unknown route, 503 when enqueueing failed (the vendor retries; the marks are undone).
 * A vendor whose webhook credential is not configured yet gets 503 (secret unreadable) or 401
 * (secret without the field): see core/webhook-secret.ts.
 * A rejected request leaves nothing behind: marks are undone, and so is what a verified request's
 * `verify` wrote (the receiver's `release`: a signature's nonce).
 *
 * Limits (core/limits.ts), checked before anything is enqueued so that AWS never refuses what we
 * acknowledged and a request it would refuse never becomes a 503 retry loop:
 * - the body is at most MAX_WEBHOOK_BODY_BYTES (below SQS's 262,144-byte message limit, since a
 *   queued event may carry the whole body), whatever `maxBytes` the config allows;
 * - JSON nesting deeper than MAX_JSON_DEPTH is refused (400) before any JSON.parse;
 * - every event's identifiers fit DynamoDB's key limits (400 naming the field), and every event fits
 *   one SQS message (413).
 */
import { WebhookError } from '../core/errors.ts';
import type { FlowEvent, ReplayGuard, RuntimeEnv, WebhookReceiver, WebhookRequest } from '../core/flow.ts';
import {
  jsonDepthExceeds,
  MAX_EVENT_ID_BYTES,
  MAX_EVENT_NAME_BYTES,
  MAX_JSON_DEPTH,
  MAX_WEBHOOK_BODY_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  tooLong,
} from '../core/limits.ts';
import { RECHECK_SECONDS, WebhookNotConfiguredError } from '../core/webhook-secret.ts';
import { type EventQueue, MessageTooLargeError, messageBytes, toMessage } from './queue.ts';
import type { RouteMiss } from './routes.ts';

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

/** A JSON response; a string is a refusal's `{ message }`. */
const reply = (statusCode: number, body: string | Record<string, unknown>): IngressResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(typeof body === 'string' ? { message: body } : body),
});

/** What a step passes on, or the response that ends the request there. */
type Step<T> = T | IngressResponse;

const answered = <T extends object>(step: Step<T>): step is IngressResponse => 'statusCode' in step;

export async function handleWebhook(
  options: IngressOptions,
  routeKey: string,
  req: WebhookRequest,
): Promise<IngressResponse> {
  const { receivers, env, maxBytes } = options;
  const receiver = receivers.find((r) => r.route === routeKey);
  if (!receiver) return reply(404, `no webhook route ${routeKey}`);
  const limit = Math.min(maxBytes, MAX_WEBHOOK_BODY_BYTES);
  const size = Buffer.byteLength(req.rawBody); // UTF-8
  if (size > limit) {
    env.log.warn('webhook body too large', { vendor: receiver.vendor, bytes: size, maxBytes: limit });
    return reply(413, `body is ${size} bytes; the limit is ${limit}`);
  }
  const guard = await verifyRequest(receiver, req, env);
  if (answered(guard)) return guard;
  // Verified: what verify wrote (a signature's nonce) is undone if the request is refused after all.
  const refused = async (response: IngressResponse): Promise<IngressResponse> => {
    await releaseRequest(receiver, req, env);
    return response;
  };
  const parsed = readEvents(receiver, req, env, guard.guard, options.routing);
  if (answered(parsed)) return refused(parsed);
  const duplicates: string[] = [];
  const marked: string[] = [];
  const redelivered: string[] = [];
  const echoes = await dropEchoes(receiver, env, parsed.events, options.routing);
  const fresh = parsed.events.filter((e) => !echoes.has(e.id));
  const events = await markDeliveries(receiver, env, { ...parsed, events: fresh }, options.routing, {
    duplicates,
    marked,
    redelivered,
  });
  if (answered(events)) return refused(events);
  return enqueue(options, receiver, req, events, {
    duplicates,
    marked,
    redelivered,
    ignored: parsed.ignored,
    echoes,
  });
}

/**
 * The events the receiver proves to be echoes of our own writes (event id -> writer), logged in one
 * line: acknowledged, never enqueued. A check that fails counts as "cannot tell": the event goes
 * on to the flows, whose own checks recognise it.
 */
async function dropEchoes(
  receiver: WebhookReceiver,
  env: RuntimeEnv,
  events: readonly FlowEvent[],
  routing: IngressOptions['routing'],
): Promise<Map<string, string>> {
  const echoes = new Map<string, string>();
  const { ownWrite } = receiver;
  if (!ownWrite) return echoes;
  // An event no flow subscribes to is acknowledged anyway: no need to look.
  for (const event of events.filter((e) => (routing[e.type] ?? []).length > 0)) {
    const by = await ownWrite(event, { env }).catch((error: unknown) => {
      env.log.warn('webhook echo check failed; the flows check it', {
        vendor: receiver.vendor,
        eventId: event.id,
        error: String(error),
      });
      return undefined;
    });
    if (by !== undefined) echoes.set(event.id, by);
  }
  if (echoes.size > 0) {
    env.log.info('webhook echoes of our own writes acknowledged without enqueueing', {
      vendor: receiver.vendor,
      echoes: Object.fromEntries(echoes),
    });
  }
  return echoes;
}

/**
 * A refusal: a WebhookError is the sender's (its 4xx, logged as a warning); anything else is ours,
 * answered `status` with `message` and logged as `text` (the message unless told) with the error.
 */
function refuse(
  receiver: WebhookReceiver,
  env: RuntimeEnv,
  error: unknown,
  status: number,
  message: string,
  text = message,
): IngressResponse {
  if (error instanceof WebhookNotConfiguredError) {
    // Expected until the operator adds the credential: a warning naming secret and field, no value.
    env.log.warn(error.message, {
      vendor: receiver.vendor,
      status: error.statusCode,
      secretName: error.secretName,
      field: error.field,
      reason: error.reason,
      ...(error.cause ? { cause: errorName(error.cause) } : {}),
    });
    const response = reply(error.statusCode, error.publicMessage);
    if (error.statusCode === 503) response.headers['retry-after'] = String(RECHECK_SECONDS);
    return response;
  }
  if (error instanceof WebhookError) {
    env.log.warn(`webhook rejected: ${error.message}`, { vendor: receiver.vendor, status: error.statusCode });
    return reply(error.statusCode, error.message);
  }
  env.log.error(text, { vendor: receiver.vendor, error: String(error) });
  return reply(status, message);
}

/** Verify over the raw body, before anything parses it: the replay guard, or the refusal. */
async function verifyRequest(
  receiver: WebhookReceiver,
  req: WebhookRequest,
  env: RuntimeEnv,
): Promise<Step<{ guard?: ReplayGuard }>> {
  try {
    const guard = (await receiver.verify(req, { env })) ?? undefined;
    return guard ? { guard } : {};
  } catch (error) {
    return refuse(
      receiver,
      env,
      error,
      503,
      'temporarily unable to verify; retry later',
      'webhook verification failed unexpectedly',
    );
  }
}

/** Undo what a verified request's `verify` wrote (its nonce): the request was not accepted. */
async function releaseRequest(receiver: WebhookReceiver, req: WebhookRequest, env: RuntimeEnv) {
  await receiver
    .release?.(req, { env })
    .catch((e) => env.log.warn('webhook release failed', { error: String(e) }));
}

/** Parse a verified request: the events, or the refusal. */
function readEvents(
  receiver: WebhookReceiver,
  req: WebhookRequest,
  env: RuntimeEnv,
  guard: ReplayGuard | undefined,
  routing: IngressOptions['routing'],
): Step<{ events: FlowEvent[]; ignored: string[]; guard?: ReplayGuard }> {
  try {
    // A JSON bomb (deep nesting) is refused in one linear scan, before any parser recurses into it.
    if (jsonDepthExceeds(req.rawBody, MAX_JSON_DEPTH)) {
      throw new WebhookError(400, `body nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const parsed = receiver.parse(req, { env, subscribed: (type) => (routing[type] ?? []).length > 0 });
    parsed.events.forEach(checkEvent);
    return { ...parsed, ...(guard ? { guard } : {}) };
  } catch (error) {
    // Parsing is pure: the same body fails the same way on every retry, so no 503.
    return refuse(receiver, env, error, 400, 'webhook body could not be parsed');
  }
}

/**
 * Seconds after which a delivery mark with no run-log entry behind it may be one whose enqueue
 * never happened (the ingress died between the mark and the send): longer than the ingress
 * function's timeout (15 s), so the first delivery is certainly over by then.
 */
export const DELIVERY_GRACE_SECONDS = 60;

/**
 * One conditional write per event before enqueueing: the delivery mark, which also keeps the
 * signature's nonce and the body's fingerprint (the replay guard). A redelivery of an event already
 * accepted (same vendor idempotency key) is answered, not re-enqueued, and its id noted in
 * `duplicates`; except (flows absorb a duplicate; a lost event they could not):
 * - a new signature within DELIVERY_GRACE_SECONDS of the mark, before any worker has recorded the
 *   event: the first delivery may still be enqueueing, and if that enqueue fails after this
 *   redelivery got its 200, the vendor never sends it again. Enqueued again, once per mark (its
 *   `redeliveredAt` flag, so replays cannot multiply it); an exact resend (same nonce) is not.
 * - a mark older than DELIVERY_GRACE_SECONDS that no worker has recorded (a crash between mark and
 *   send): enqueued again.
 * The same nonce with another body is a replay: 401. A lookup failure is not fatal (the flows are
 * idempotent anyway), except one that says the key itself is invalid: that delivery could never be
 * marked, so it is refused. The ids marked go in `marked`, and the redelivery flags taken in
 * `redelivered`, to undo when the request is not accepted after all.
 */
async function markDeliveries(
  receiver: WebhookReceiver,
  env: RuntimeEnv,
  parsed: { events: FlowEvent[]; guard?: ReplayGuard },
  routing: IngressOptions['routing'],
  { duplicates, marked, redelivered }: { duplicates: string[]; marked: string[]; redelivered: string[] },
): Promise<Step<FlowEvent[]>> {
  const { events, guard } = parsed;
  const ttlSeconds = receiver.dedupeSeconds;
  // Without delivery marks a late signature cannot be shown to be a redelivery.
  if (!ttlSeconds && guard?.late !== undefined) {
    return refuse(receiver, env, new WebhookError(401, guard.late), 401, guard.late);
  }
  if (!ttlSeconds) return events;
  const keep: boolean[] = [];
  try {
    for (const e of events) {
      // An event no flow subscribes to is not enqueued: nothing to deduplicate or replay, no write
      // (a late signature of one is acknowledged like any: it changes nothing).
      const routed = (routing[e.type] ?? []).length > 0;
      const dedupes = receiver.dedupes?.(e) ?? true;
      if (routed && !dedupes && guard?.late !== undefined) throw new WebhookError(401, guard.late);
      if (!routed || !dedupes) {
        keep.push(true);
        continue;
      }
      const verdict = await markOne(receiver, env, e, ttlSeconds, guard);
      if (verdict === 'fresh') marked.push(e.id);
      if (verdict === 'redelivered') redelivered.push(e.id);
      if (verdict === 'duplicate') duplicates.push(e.id);
      keep.push(verdict !== 'duplicate');
    }
  } catch (error) {
    await forgetMarks(receiver, env, marked, redelivered);
    if (error instanceof WebhookError) return refuse(receiver, env, error, error.statusCode, error.message);
    if (!isValidationError(error)) {
      return refuse(
        receiver,
        env,
        error,
        503,
        'temporarily unable to check the delivery; retry later',
        'webhook delivery check failed',
      );
    }
    // A ValidationException: the event id cannot be a key; a 400 naming it.
    return refuse(
      receiver,
      env,
      error,
      400,
      `event id cannot be stored: ${(error as Error).message}`,
      'webhook event id cannot be stored',
    );
  }
  return events.filter((_, i) => keep[i]);
}

/**
 * One event's mark: `fresh` (marked now), `duplicate`, `redelivered` (enqueue it again: the mark's
 * one early redelivery) or `again` (enqueue it again, unmarked).
 */
async function markOne(
  receiver: WebhookReceiver,
  env: RuntimeEnv,
  event: FlowEvent,
  ttlSeconds: number,
  guard: ReplayGuard | undefined,
): Promise<'fresh' | 'duplicate' | 'redelivered' | 'again'> {
  const { vendor } = receiver;
  if (guard?.late !== undefined) {
    // Late, but the very request we accepted (same nonce, same body): our 200 was lost, not an
    // attack. A failed read propagates: 503, the vendor retries (400 if the key itself is invalid).
    const mark = await env.state.deliveryOf(vendor, event.id);
    const same = mark?.fingerprint !== undefined && mark.fingerprint === guard.fingerprint;
    if (same && mark?.nonce === guard.nonce) return 'duplicate';
    // A mark from before issue 14 holds no fingerprint: the nonce item of that time does.
    const legacy =
      mark !== undefined &&
      mark.fingerprint === undefined &&
      (await env.state.nonceSeenWith(vendor, guard.nonce, guard.fingerprint));
    if (legacy) return 'duplicate';
    throw new WebhookError(401, guard.late);
  }
  let mark: Awaited<ReturnType<typeof env.state.markDelivery>>;
  try {
    mark = await env.state.markDelivery(vendor, event.id, {
      ttlSeconds,
      ...(guard ? { nonce: guard.nonce, fingerprint: guard.fingerprint } : {}),
    });
  } catch (error) {
    rethrowValidation(error);
    env.log.error('could not mark webhook delivery; enqueued unmarked', { vendor, error: String(error) });
    return 'again';
  }
  if (mark.status === 'fresh') return 'fresh';
  if (guard && mark.nonce === guard.nonce && mark.fingerprint !== guard.fingerprint) {
    throw new WebhookError(401, `${vendor} webhook: replayed nonce (a different body was signed with it)`);
  }
  // Marks from before issue 14 (no `at`) were written after enqueueing: confirmed.
  const age = mark.ageSeconds ?? 0;
  const resigned = guard !== undefined && mark.nonce !== undefined && mark.nonce !== guard.nonce;
  if (resigned && mark.ageSeconds !== undefined && age <= DELIVERY_GRACE_SECONDS) {
    return earlyRedelivery(receiver, env, event, ttlSeconds, guard, age);
  }
  if (age > DELIVERY_GRACE_SECONDS) {
    const seen = await env.state.hasRunEntries(event.id).catch(() => false);
    if (!seen) {
      env.log.warn('webhook redelivery of an event no worker has recorded; enqueued again', {
        vendor,
        eventId: event.id,
        markedSecondsAgo: Math.round(age),
      });
      return 'again';
    }
  }
  return 'duplicate';
}

/**
 * A new signature of a delivery marked moments ago, the event not yet recorded by any worker: the
 * first delivery may still be enqueueing (and may yet fail, after this one's 200). Enqueued again
 * once per mark; a mark gone meanwhile (that enqueue failed and undid it) is taken afresh.
 */
async function earlyRedelivery(
  receiver: WebhookReceiver,
  env: RuntimeEnv,
  event: FlowEvent,
  ttlSeconds: number,
  guard: ReplayGuard,
  age: number,
): Promise<'fresh' | 'duplicate' | 'redelivered' | 'again'> {
  const { vendor } = receiver;
  if (await env.state.hasRunEntries(event.id).catch(() => false)) return 'duplicate';
  let taken: Awaited<ReturnType<typeof env.state.takeRedelivery>>;
  try {
    taken = await env.state.takeRedelivery(vendor, event.id);
  } catch (error) {
    rethrowValidation(error);
    env.log.warn('could not flag an early webhook redelivery; enqueued again', {
      vendor,
      eventId: event.id,
      error: String(error),
    });
    return 'again';
  }
  if (taken === 'taken-before') return 'duplicate';
  if (taken === 'gone') {
    const again = await env.state.markDelivery(vendor, event.id, {
      ttlSeconds,
      nonce: guard.nonce,
      fingerprint: guard.fingerprint,
    });
    return again.status === 'fresh' ? 'fresh' : 'duplicate';
  }
  env.log.info('webhook redelivery while the first delivery may still be enqueueing; enqueued again once', {
    vendor,
    eventId: event.id,
    markedSecondsAgo: Math.round(age * 10) / 10,
  });
  return 'redelivered';
}

function rethrowValidation(error: unknown): undefined {
  if (isValidationError(error)) throw error;
  return undefined;
}

/**
 * Undo the marks of a request we did not accept, so the vendor's retry of it goes through, and give
 * back the early-redelivery flags it took (the marks are another delivery's: kept).
 */
async function forgetMarks(
  receiver: WebhookReceiver,
  env: RuntimeEnv,
  ids: readonly string[],
  redelivered: readonly string[] = [],
) {
  await Promise.all([
    ...ids.map((id) =>
      env.state
        .forgetDelivery(receiver.vendor, id)
        .catch((e) => env.log.warn('webhook delivery mark could not be removed', { error: String(e) })),
    ),
    ...redelivered.map((id) =>
      env.state
        .giveBackRedelivery(receiver.vendor, id)
        .catch((e) => env.log.warn('webhook redelivery flag could not be removed', { error: String(e) })),
    ),
  ]);
}

/**
 * Each event onto the queues of the flows subscribed to its type (413 or 503 when that fails),
 * then the deliveries marked and the request acknowledged.
 */
async function enqueue(
  { routing, env, queue }: IngressOptions,
  receiver: WebhookReceiver,
  req: WebhookRequest,
  events: FlowEvent[],
  {
    duplicates,
    marked,
    redelivered,
    ignored,
    echoes,
  }: {
    duplicates: string[];
    marked: string[];
    redelivered: string[];
    ignored: string[];
    echoes: Map<string, string>;
  },
): Promise<IngressResponse> {
  const byQueue = new Map<string, FlowEvent[]>();
  const unrouted: string[] = [];
  let enqueued = 0;
  for (const event of events) {
    const targets = routing[event.type] ?? [];
    if (targets.length === 0) unrouted.push(event.type);
    for (const url of targets) byQueue.set(url, [...(byQueue.get(url) ?? []), event]);
    enqueued += targets.length;
  }
  try {
    await Promise.all([...byQueue].map(([url, list]) => queue.send(url, list)));
  } catch (error) {
    // Nothing was acknowledged: let the vendor's retry of this very delivery through.
    await forgetMarks(receiver, env, marked, redelivered);
    await releaseRequest(receiver, req, env);
    if (error instanceof MessageTooLargeError) return reply(413, error.message);
    env.log.error('webhook events could not be enqueued', { vendor: receiver.vendor, error: String(error) });
    return reply(503, 'could not enqueue; retry later');
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
  return reply(receiver.ackStatus ?? 202, {
    accepted: events.length,
    enqueued,
    duplicates: duplicates.length,
    ...(echoes.size > 0 ? { echoes: echoes.size } : {}),
    ignored: [...ignored, ...unrouted],
  });
}

/**
 * The innermost error's name (ResourceNotFoundException, AccessDeniedException under Powertools'
 * GetParameterError), never its details.
 */
function errorName(error: unknown): string {
  let name = 'unknown';
  for (let e = error as { name?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.name === 'string') name = e.name;
    e = e.cause as typeof e;
  }
  return name;
}

const isValidationError = (error: unknown) =>
  (error as { name?: string } | undefined)?.name === 'ValidationException';

/** An event whose keys or message AWS would refuse: 400 naming the field, 413 when too big. */
function checkEvent(event: FlowEvent): void {
  const problem =
    tooLong('event id', event.id, MAX_EVENT_ID_BYTES) ??
    tooLong('event subject', event.subject, MAX_EVENT_ID_BYTES) ??
    tooLong('event type', event.type, MAX_EVENT_NAME_BYTES) ??
    tooLong('event source', event.source, MAX_EVENT_NAME_BYTES);
  if (problem) throw new WebhookError(400, problem);
  const bytes = messageBytes(toMessage(event));
  if (bytes > SQS_MAX_MESSAGE_BYTES) {
    throw new WebhookError(
      413,
      `event ${event.type} would be a ${bytes}-byte queue message; the limit is ${SQS_MAX_MESSAGE_BYTES}`,
    );
  }
}

/**
 * A request no webhook route matched (a Lambda function URL passes every path to the function,
 * see routes.ts): 404, 405 with `allow` when the path is a route's under another method, 400 for a
 * malformed percent-encoding (as API Gateway). Neither the answer nor the log names the path: an
 * UpKeep path carries the URL token that authenticates it.
 */
export function refuseUnrouted(env: RuntimeEnv, method: string, miss: RouteMiss): IngressResponse {
  env.log.warn('webhook request matched no route', { method, reason: miss.reason });
  if (miss.reason === 'method-not-allowed') {
    const response = reply(
      405,
      `method ${method} not allowed on this webhook route (use ${miss.allow.join(', ')})`,
    );
    response.headers.allow = miss.allow.join(', ');
    return response;
  }
  if (miss.reason === 'malformed') return reply(400, 'malformed percent-encoding in the path');
  return reply(404, 'no webhook route for this path');
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
