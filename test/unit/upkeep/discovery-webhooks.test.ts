/**
 * What `millwright discover upkeep` and `webhooks register upkeep` use: every page of assets and
 * parts, and the webhook endpoints, against the simulator (which must answer as the doc does).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UpKeepInputError } from '../../../functions/connectors/upkeep/client.ts';
import { discoverUpKeep } from '../../../functions/connectors/upkeep/discover.ts';
import { UPKEEP_WEBHOOK_EVENTS } from '../../../functions/connectors/upkeep/webhook.ts';
import { upkeepWebhookSetup } from '../../../functions/connectors/upkeep/webhook-setup.ts';
import { VendorHttpError } from '../../../functions/core/errors.ts';
import { upkeepWorkOrderToDeepomaticValidation } from '../../../functions/flows/registry.ts';
import type { Target } from '../../../operator/target.ts';
import { registerWebhook } from '../../../operator/webhooks.ts';
import { callsTo, type Harness, makeEnv, SECRET_NAME, startHarness, WEBHOOK_TOKEN } from './support.ts';

let h: Harness;
const delivered: { url: string; body: string }[] = [];
const CONFIGURED = 'http://ingress.test/webhooks/upkeep/configured-token-0123456789abcdef0123';

beforeAll(async () => {
  h = await startHarness({
    webhook: { url: CONFIGURED },
    fetch: (async (url: string | URL, init?: RequestInit) => {
      delivered.push({ url: String(url), body: String(init?.body) });
      return new Response('{}', { status: 202 });
    }) as typeof fetch,
  });
});
afterAll(async () => {
  await h.sim.close();
});
beforeEach(() => {
  h.sim.reset();
  delivered.length = 0;
});

/** An authenticated request straight at the simulator (contract checks). */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary answer fields.
async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const auth = await fetch(`${h.sim.baseUrl}/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'integration@plant.example', password: 'Pw-7f3c9a1e-never-log-me' }),
  });
  const token = ((await auth.json()) as { result: { sessionToken: string } }).result.sessionToken;
  const res = await fetch(`${h.sim.baseUrl}${path}`, {
    method,
    headers: {
      'session-token': token,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

describe('assets and parts, every page', () => {
  it('lists every asset over several pages, in createdAt order', async () => {
    const { items, skipped } = await h.client().listAllAssets({}, { pageSize: 2 });
    expect(items.map((a) => a.id)).toEqual(['AssetMill01', 'AssetLathe2', 'AssetPress3']);
    expect(items[0]).toMatchObject({ name: 'CNC Mill 01', serial: 'BC-MILL-01', location: 'LocShopA01' });
    expect(skipped).toEqual([]);
    const pages = callsTo(h.sim, 'GET /assets').map((c) => c.query);
    expect(pages).toEqual([
      { orderBy: ['createdAt ASC'], limit: ['2'], offset: ['0'] },
      { orderBy: ['createdAt ASC'], limit: ['2'], offset: ['2'] },
    ]);
  });

  it('lists every part; a part that does not parse is skipped, and its page still counts as full', async () => {
    h.sim.addParts([{ id: 'PartGasket01', name: 'Gasket', quantity: 1 }]);
    // The first part UpKeep answers comes back without a name (a record we cannot read).
    const corrupting = (async (url: string | URL, init?: RequestInit) => {
      const res = await fetch(url, init);
      if (!String(url).includes('/parts?') || !String(url).includes('offset=0')) return res;
      const body = (await res.json()) as { results: Record<string, unknown>[] };
      if (body.results[0]) body.results[0].name = 42;
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    }) as typeof fetch;
    const all = await h.client({ http: { fetch: corrupting } }).listAllParts({}, { pageSize: 2 });
    expect(all.items).toHaveLength(4);
    expect(all.skipped).toEqual([expect.objectContaining({ record: 'PartBearing6204', field: 'name' })]);
    expect(callsTo(h.sim, 'GET /parts')).toHaveLength(3);
  });

  it('refuses an unknown orderBy field before sending', async () => {
    await expect(h.client().listAssets({ orderBy: 'name ASC' })).rejects.toThrow(UpKeepInputError);
  });

  it('discover lists the seeded assets and parts with their config paths', async () => {
    const { env } = makeEnv({ vendors: { upkeep: { secretName: SECRET_NAME, baseUrl: h.sim.baseUrl } } });
    const lists = await discoverUpKeep(env);
    expect(lists.map((l) => l.kind)).toEqual(['assets', 'parts']);
    const [assets, parts] = lists;
    expect(assets?.rows.map((r) => r.id)).toEqual(['AssetMill01', 'AssetLathe2', 'AssetPress3']);
    expect(assets?.configPath).toContain('machinemetrics-downtime-to-upkeep-work-order');
    expect(parts?.rows.find((r) => r.id === 'PartBeltA42')).toEqual({
      id: 'PartBeltA42',
      name: 'Classic V-belt A42',
      partNumber: 'A42',
      quantity: '3',
      minimumQuantity: '2',
      category: 'Belts',
    });
    for (const list of lists) {
      for (const row of list.rows) expect(Object.keys(row)).toEqual(list.columns);
    }
  });
});

describe('webhook endpoints (simulator contract)', () => {
  it('creates a disabled webhook with "*" expanded, enables it, lists and reads it on both paths', async () => {
    const client = h.client();
    const created = await client.createWebhook({
      title: 'Millwright',
      endpoint: 'https://example.test/hook',
      events: ['*'],
    });
    expect(created).toMatchObject({ id: '110', enabled: false, endpoint: 'https://example.test/hook' });
    expect(created.events).toEqual([...UPKEEP_WEBHOOK_EVENTS]);
    const enabled = await client.updateWebhook(created.id, { enabled: true });
    expect(enabled.enabled).toBe(true);
    expect(await client.listWebhooks()).toEqual([enabled]);
    expect(await client.getWebhook(created.id)).toEqual(enabled);
    const singular = await raw('GET', `/webhook/${created.id}`);
    expect(singular).toEqual({ status: 200, json: { success: true, result: enabled } });
    expect(await client.getWebhook('999')).toBeUndefined();
  });

  it('answers 400 to what the doc does not accept', async () => {
    expect(await raw('POST', '/webhooks', { endpoint: 'https://example.test/a' })).toEqual({
      status: 400,
      json: { success: false, message: 'title cannot be null' },
    });
    expect((await raw('POST', '/webhooks', { title: 't' })).json.message).toBe('endpoint cannot be null');
    expect((await raw('POST', '/webhooks', { title: 't', endpoint: 'x', secret: 's' })).json.message).toBe(
      'secret not in schema',
    );
    expect(
      (await raw('POST', '/webhooks', { title: 't', endpoint: 'https://e.test', events: ['PART_UPDATED'] }))
        .json.message,
    ).toBe('PART_UPDATED is not a valid event');
    expect(
      (await raw('POST', '/webhooks', { title: 't', endpoint: 'https://e.test', enabled: true })).json
        .message,
    ).toBe('enabled not in schema');
    expect((await raw('GET', '/webhooks?limit=5')).json.message).toBe('invalid filter key: limit');
    const made = await raw('POST', '/webhooks', { title: 't', endpoint: 'https://e.test' });
    expect(made.json.result.events).toEqual([]);
    expect((await raw('PATCH', `/webhooks/${made.json.result.id}`, { enabled: 'yes' })).json.message).toBe(
      'enabled must be a Boolean',
    );
    expect((await raw('PATCH', `/webhook/${made.json.result.id}`, { title: null })).json.message).toBe(
      'title cannot be null',
    );
    expect(await raw('DELETE', `/webhooks/${made.json.result.id}`)).toEqual({
      status: 200,
      json: { success: true, message: '1 webhook deleted' },
    });
    expect((await raw('GET', `/webhooks/${made.json.result.id}`)).status).toBe(404);
  });

  it('refuses a create without an http(s) endpoint before sending', async () => {
    await expect(h.client().createWebhook({ title: 't', endpoint: 'not a url' })).rejects.toThrow(
      UpKeepInputError,
    );
    expect(callsTo(h.sim, 'POST /webhooks')).toHaveLength(0);
  });

  it('delivers to enabled registered endpoints subscribed to the event, once per URL', async () => {
    const client = h.client();
    const other = await client.createWebhook({
      title: 'other',
      endpoint: 'https://other.test/hook',
      events: ['WORK_ORDER_CREATED'],
    });
    const same = await client.createWebhook({ title: 'same', endpoint: CONFIGURED, events: ['*'] });
    const off = await client.createWebhook({
      title: 'off',
      endpoint: 'https://off.test/hook',
      events: ['*'],
    });
    await client.updateWebhook(other.id, { enabled: true });
    await client.updateWebhook(same.id, { enabled: true });
    await client.createWorkOrder({ title: 'Check spindle' });
    await h.sim.flushWebhooks();
    // `off` is still disabled: nothing goes to it.
    expect(delivered.map((d) => d.url).sort()).toEqual([CONFIGURED, 'https://other.test/hook']);
    expect(off.enabled).toBe(false);
    delivered.length = 0;
    const [wo] = await client.listWorkOrders();
    await client.updateWorkOrder(wo?.id ?? '', { status: 'inProgress' });
    await h.sim.flushWebhooks();
    // other.test subscribed to WORK_ORDER_CREATED only.
    expect(new Set(delivered.map((d) => d.url))).toEqual(new Set([CONFIGURED]));
  });
});

describe('upkeepWebhookSetup.register', () => {
  const env = () => makeEnv({ vendors: { upkeep: { secretName: SECRET_NAME, baseUrl: h.sim.baseUrl } } }).env;
  const input = {
    title: 'Millwright (test)',
    url: 'https://ingress.test/webhooks/upkeep/tok-0123456789abcdef0123456789abcdef',
    events: ['WORK_ORDER_UPDATED', 'WORK_ORDER_STATUS_UPDATED'],
  };

  it('creates and enables the webhook once; a second run changes nothing', async () => {
    const first = await upkeepWebhookSetup.register?.(env(), { ...input, dryRun: false });
    expect(first).toMatchObject({ action: 'created', id: '110' });
    const second = await upkeepWebhookSetup.register?.(env(), { ...input, dryRun: false });
    expect(second).toMatchObject({ action: 'unchanged', id: '110' });
    expect(h.sim.registeredWebhooks()).toEqual([
      {
        id: '110',
        title: 'Millwright (test)',
        endpoint: input.url,
        events: input.events,
        enabled: true,
      },
    ]);
    expect(callsTo(h.sim, 'POST /webhooks')).toHaveLength(1);
  });

  it('enables a disabled one with the same URL and adds the missing events, instead of a second', async () => {
    await h.client().createWebhook({ title: 'by hand', endpoint: input.url, events: ['WORK_ORDER_UPDATED'] });
    const result = await upkeepWebhookSetup.register?.(env(), { ...input, dryRun: false });
    expect(result?.action).toBe('updated');
    expect(h.sim.registeredWebhooks()).toEqual([
      expect.objectContaining({ title: 'by hand', enabled: true, events: input.events }),
    ]);
  });

  it('a dry run reads but writes nothing', async () => {
    const result = await upkeepWebhookSetup.register?.(env(), { ...input, dryRun: true });
    expect(result?.action).toBe('created');
    expect(result?.details.join('\n')).toContain('would POST /webhooks');
    expect(h.sim.registeredWebhooks()).toEqual([]);
    expect(callsTo(h.sim, 'GET /webhooks')).toHaveLength(1);
  });

  it('names the failing call when UpKeep refuses', async () => {
    h.sim.faults.push({ status: 500, match: 'GET /api/v2/webhooks', times: 5 });
    await expect(upkeepWebhookSetup.register?.(env(), { ...input, dryRun: false })).rejects.toThrow(
      VendorHttpError,
    );
  });
});

describe('registerWebhook (operator) when UpKeep echoes the endpoint', () => {
  // A Target with just what `webhooks register` reads: the flow that takes UpKeep webhooks, the
  // vendor settings, the ingress URL, and an env whose secret holds the webhook token.
  const target = () =>
    ({
      kind: 'sandbox',
      label: 'test target',
      deployment: { name: 'test', vendors: { upkeep: { secretName: SECRET_NAME, baseUrl: h.sim.baseUrl } } },
      flows: new Map([
        [upkeepWorkOrderToDeepomaticValidation.id, { flow: upkeepWorkOrderToDeepomaticValidation }],
      ]),
      ingressUrl: 'https://ingress.test',
      env: () => makeEnv({ vendors: { upkeep: { secretName: SECRET_NAME, baseUrl: h.sim.baseUrl } } }).env,
    }) as unknown as Target;
  const echo = {
    success: false,
    message: `endpoint https://ingress.test/webhooks/upkeep/${WEBHOOK_TOKEN} is not reachable`,
  };

  it.each([400, 500])(
    'secrets in the logs: an UpKeep %i on POST /webhooks repeating the endpoint leaves the webhook token out of the error, its causes and body',
    async (status) => {
      h.sim.faults.push({ status, match: 'POST /api/v2/webhooks', body: echo });
      const error = await registerWebhook(target(), 'upkeep').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const seen: string[] = [];
      for (let e: unknown = error; e instanceof Error; e = e.cause) {
        seen.push(e.message, JSON.stringify((e as { body?: unknown }).body ?? null));
      }
      expect(seen.join('\n')).toContain('is not reachable');
      expect(seen.join('\n')).not.toContain(WEBHOOK_TOKEN);
    },
  );
});
