/**
 * Webhooks: registration through the API (`POST /webhooks`, list, get, update, delete; reference
 * §3.11, §4) and outgoing delivery, one POST per event to every target, retried once.
 *
 * Targets: the sandbox's configured URL (`options.webhook.url`, a webhook set up "in the Settings
 * page" before the run), plus every enabled registered webhook subscribed to the event. A URL is
 * delivered to once per event even when both name it (registering the sandbox's own URL changes
 * nothing).
 *
 * Request contract (api-doc.txt, Webhooks): JSON bodies; `title` and `endpoint` are required Strings
 * on create, `events` an optional Array of the 20 documented names or `"*"` (stored expanded, as the
 * doc's answer shows it); PATCH takes the same fields and `enabled` (Boolean). Unknown fields are
 * `<field> not in schema`; the list documents no query parameters (any is `invalid filter key`).
 * Get and update answer on both the curl's `/webhooks/<ID>` and the HTTP line's `/webhook/<ID>`;
 * delete on `/webhooks/<ID>` only, as documented. A new webhook is disabled (the doc's answer shows
 * `"enabled": false`). Simulator choices where the doc is silent: `events` omitted on create
 * subscribes to nothing; `endpoint` must be an http(s) URL (UpKeep posts to it); 404 `Webhook not
 * found`.
 */
import { appendBounded, json, type Route } from '../../../../sandbox/simulators/server.ts';
import { UPKEEP_WEBHOOK_EVENTS } from '../webhook.ts';
import { ApiError, bad } from './errors.ts';
import { api, jsonObjectBody } from './routing.ts';
import { logLimit, type UpKeepWorld } from './state.ts';
import type { SimWebhook } from './types.ts';
import { checkKeys, type KeySchema, requiredString } from './validation.ts';

const WEBHOOK_KEYS: KeySchema = {
  fields: new Set(['title', 'endpoint', 'events']),
  required: 'title',
  patchOnly: new Set(['enabled']),
  readOnly: new Set(['id']),
};

const KNOWN_EVENTS = new Set<string>(UPKEEP_WEBHOOK_EVENTS);

function checkEvents(value: unknown): string[] {
  if (value === null) return [];
  if (!Array.isArray(value) || !value.every((e) => typeof e === 'string')) {
    throw bad('events must be an Array of Strings');
  }
  if (value.includes('*')) return [...UPKEEP_WEBHOOK_EVENTS];
  const unknown = value.find((e) => !KNOWN_EVENTS.has(e));
  if (unknown !== undefined) throw bad(`${unknown} is not a valid event`);
  return [...new Set(value as string[])];
}

function checkEndpoint(value: unknown): string {
  const endpoint = requiredString('endpoint', value);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw bad('endpoint must be a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('endpoint must be a valid URL');
  return endpoint;
}

const findWebhook = (world: UpKeepWorld, id: string | undefined): SimWebhook => {
  const webhook = world.webhooks.find((w) => w.id === id);
  if (!webhook) throw new ApiError(404, 'Webhook not found');
  return webhook;
};

const render = (w: SimWebhook) => structuredClone(w);

export function webhookRoutes(world: UpKeepWorld): Route[] {
  const getOne = api(world, 'GET', '/webhooks/:id', (req) =>
    json(200, { success: true, result: render(findWebhook(world, req.params.id)) }),
  );
  const patchOne = api(world, 'PATCH', '/webhooks/:id', (req) => {
    const webhook = findWebhook(world, req.params.id);
    const body = jsonObjectBody(req);
    checkKeys(body, 'patch', WEBHOOK_KEYS);
    // Checked on a copy: a bad field leaves the webhook as it was.
    const next = structuredClone(webhook);
    if (body.title !== undefined) next.title = requiredString('title', body.title);
    if (body.endpoint !== undefined) next.endpoint = checkEndpoint(body.endpoint);
    if (body.events !== undefined) next.events = checkEvents(body.events);
    if (body.enabled !== undefined) {
      if (typeof body.enabled !== 'boolean') throw bad('enabled must be a Boolean');
      next.enabled = body.enabled;
    }
    Object.assign(webhook, next);
    return json(200, { success: true, result: render(webhook) });
  });
  return [
    api(world, 'POST', '/webhooks', (req) => {
      const body = jsonObjectBody(req);
      checkKeys(body, 'create', WEBHOOK_KEYS);
      const title = requiredString('title', body.title);
      if (body.endpoint === undefined) throw bad('endpoint cannot be null');
      const webhook: SimWebhook = {
        id: String(++world.webhookCounter),
        title,
        endpoint: checkEndpoint(body.endpoint),
        events: body.events === undefined ? [] : checkEvents(body.events),
        enabled: false,
      };
      world.webhooks.push(webhook);
      return json(200, { success: true, result: render(webhook) });
    }),
    api(world, 'GET', '/webhooks', (req) => {
      const [key] = [...req.query.keys()];
      if (key !== undefined) throw bad(`invalid filter key: ${key}`);
      return json(200, { success: true, results: world.webhooks.map(render) });
    }),
    getOne,
    { ...getOne, pattern: getOne.pattern.replace('/webhooks/', '/webhook/') },
    patchOne,
    { ...patchOne, pattern: patchOne.pattern.replace('/webhooks/', '/webhook/') },
    api(world, 'DELETE', '/webhooks/:id', (req) => {
      const webhook = findWebhook(world, req.params.id);
      world.webhooks = world.webhooks.filter((w) => w !== webhook);
      return json(200, { success: true, message: '1 webhook deleted' });
    }),
  ];
}

/** Where an event goes: the configured URL and each enabled registered webhook subscribed to it. */
function targetsOf(world: UpKeepWorld, event: string): string[] {
  const urls = new Set<string>();
  if (world.options.webhook?.url) urls.add(world.options.webhook.url);
  for (const w of world.webhooks) if (w.enabled && w.events.includes(event)) urls.add(w.endpoint);
  return [...urls];
}

/** Work-order, purchase-order and request events (UpKeep has none for parts, reference §4). */
export function deliverWebhook(world: UpKeepWorld, event: string, objectId: string, record: unknown): void {
  const fetchFn = world.options.fetch ?? fetch;
  const ids = event.startsWith('WORK_ORDER_') ? { objectId, workOrderId: objectId } : { objectId };
  // Payload shape is undocumented (reference §4); an envelope with the record as GET returns it.
  const body = JSON.stringify({ event, data: record });
  for (const url of targetsOf(world, event)) {
    const run = async () => {
      for (let attempt = 1; attempt <= 2; attempt++) {
        try {
          const res = await fetchFn(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(5_000),
          });
          await res.arrayBuffer().catch(() => undefined);
          appendBounded(
            world.deliveries,
            { event, url, ...ids, attempt, status: res.status },
            logLimit(world),
          );
          if (res.ok) return;
        } catch (error) {
          appendBounded(
            world.deliveries,
            { event, url, ...ids, attempt, error: (error as Error)?.message ?? String(error) },
            logLimit(world),
          );
        }
      }
    };
    const p: Promise<void> = run()
      .catch(() => undefined)
      .finally(() => {
        world.pending.delete(p);
      });
    world.pending.add(p);
  }
}

/** Resolves when every webhook delivery started so far has finished (including its retry). */
export async function flushWebhooks(world: UpKeepWorld): Promise<void> {
  while (world.pending.size > 0) await Promise.all([...world.pending]);
}
