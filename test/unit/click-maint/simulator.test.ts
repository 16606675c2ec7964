/** The Click Maint simulator over raw HTTP: auth, entity scope, rate limit, lists, writes, control API. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type ClickMaintSimulator,
  startClickMaintSimulator,
} from '../../../functions/connectors/click-maint/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { API_KEY, T0, virtualTime } from './support.ts';

const clock = manualClock();
const time = virtualTime();
let sim: ClickMaintSimulator;

beforeAll(async () => {
  sim = await startClickMaintSimulator({ clock, apiKey: API_KEY, wallClock: time.now });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  clock.advance(T0 - clock.now().getTime());
  sim.setRateLimit({ limit: 300, windowSeconds: 300 });
  sim.setAcceptsUpdatedAtFilter(true);
  sim.reset();
});

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely.
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { entity?: number | string | null; key?: string | null; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.key !== null) headers.authorization = `Bearer ${options.key ?? API_KEY}`;
  const entity = options.entity === undefined ? 1 : options.entity;
  if (entity !== null) headers['x-entity-id'] = String(entity);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function control(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('click-maint simulator: auth and entity scope', () => {
  it('answers 401 with the documented error envelope without a valid Bearer key', async () => {
    for (const key of [null, 'wrong-key']) {
      const answer = await call('GET', '/parts', { key });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ status: 'error', message: 'Invalid API key' });
    }
    // Unauthenticated requests do not count against the rate limit.
    expect(sim.stats()).toMatchObject({ requests: 2, unauthorized: 2, window: { counted: 0 } });
  });

  it('requires X-Entity-Id on entity-scoped calls (400), refuses unknown entities (404), not on /entities', async () => {
    expect(await call('GET', '/parts', { entity: null })).toMatchObject({
      status: 400,
      body: { status: 'error', message: 'X-Entity-Id header is required' },
    });
    expect((await call('GET', '/parts', { entity: 'abc' })).status).toBe(400);
    expect(await call('GET', '/parts', { entity: 99 })).toMatchObject({
      status: 404,
      body: { status: 'error', message: 'Entity not found' },
    });
    const entities = await call('GET', '/entities', { entity: null });
    expect(entities.status).toBe(200);
    expect(entities.body.data.map((e: { id: number; name: string }) => [e.id, e.name])).toEqual([
      [1, 'Main Facility'],
      [2, 'North Plant'],
    ]);
    expect(entities.body.meta.entity).toEqual({
      id: null,
      name: null,
      currency: null,
      currency_symbol: null,
      datetime_format: null,
      timezone: null,
    });
  });

  it("sorts entities by created_at as the doc's example does (sort=created_at desc)", async () => {
    const sorted = await call('GET', '/entities?sort=created_at%20desc', { entity: null });
    expect(sorted.status).toBe(200);
    expect(sorted.body.meta.sort).toEqual(['created_at desc']);
    const byUpdate = await call('GET', '/entities?sort=updated_at%20asc', { entity: null });
    expect(byUpdate.body.meta.sort).toEqual(['updated_at asc']);
  });

  it('scopes data to the entity: entity 2 sees none of entity 1 parts or work orders', async () => {
    expect((await call('GET', '/parts', { entity: 2 })).body.data).toEqual([]);
    expect((await call('GET', '/parts/101', { entity: 2 })).status).toBe(404);
    const one = await call('GET', '/parts/101');
    expect(one.body.meta).toMatchObject({
      entity: { id: 1, name: 'Main Facility', currency: 'USD' },
      customer: { id: 84, name: 'Acme Corporation' },
    });
  });
});

describe('click-maint simulator: rate limit (fixed window of wall-clock time)', () => {
  it('sends the headers, answers 429 with retry-after past the limit, and counts stats', async () => {
    sim.setRateLimit({ limit: 3, windowSeconds: 10 });
    // T0 is a multiple of 10 s: the window is [T0, T0 + 10 s).
    time.advance(T0 + 4_000 - time.now());
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await call('GET', '/parts');
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
      expect(answer.headers.get('x-ratelimit-reset')).toBe(String((T0 + 10_000) / 1000));
      remaining.push(answer.headers.get('x-ratelimit-remaining') ?? '');
    }
    expect(remaining).toEqual(['2', '1', '0']);

    time.advance(1_500); // 5.5 s into the window
    const limited = await call('GET', '/parts');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ status: 'error', message: 'Rate limit exceeded. Try again later.' });
    expect(limited.headers.get('retry-after')).toBe('5');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    // Rejected requests count too; an unauthenticated one does not reach the limiter.
    expect((await call('GET', '/entities', { entity: null })).status).toBe(429);
    expect((await call('GET', '/parts', { key: 'nope' })).status).toBe(401);

    time.advance(5_000); // the next window
    const fresh = await call('GET', '/parts');
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(fresh.headers.get('x-ratelimit-reset')).toBe(String((T0 + 20_000) / 1000));
    expect(sim.stats()).toMatchObject({
      requests: 7,
      unauthorized: 1,
      rateLimited: 2,
      maxAcceptedInWindow: 3,
      window: { startMs: T0 + 10_000, counted: 1, accepted: 1 },
      rateLimit: { limit: 3, windowSeconds: 10 },
    });
  });

  it('compresses the window for the demo (300 per 5 s) and reports the busiest window', async () => {
    sim.setRateLimit({ limit: 5, windowSeconds: 5 });
    time.advance(Math.ceil(time.now() / 5_000) * 5_000 - time.now());
    for (let i = 0; i < 4; i++) await call('GET', '/assets');
    time.advance(5_000);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call('GET', '/assets')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(sim.stats()).toMatchObject({ rateLimited: 2, maxAcceptedInWindow: 5 });
  });
});

describe('click-maint simulator: lists', () => {
  it('pages with meta.pagination, caps per_page at maxPerPage and echoes sort and filter', async () => {
    sim.addParts(
      1,
      Array.from({ length: 5 }, (_, i) => ({ name: `Bolt M${i + 6}`, on_hand_qty: i, min_qty: 1 })),
    );
    const page2 = await call('GET', '/parts?per_page=4&page=2&sort=name%20asc');
    expect(page2.body.meta.pagination).toEqual({ total: 9, page: 2, per_page: 4, total_pages: 3 });
    expect(page2.body.meta.sort).toEqual(['name asc']);
    // Air Filter, Bolt M10, Bolt M6, Bolt M7 | Bolt M8, Bolt M9, Grease cartridge, Shop towels | V-Belt B52
    expect(page2.body.data.map((p: { name: string }) => p.name)).toEqual([
      'Bolt M8',
      'Bolt M9',
      'Grease cartridge',
      'Shop towels',
    ]);
    const capped = await call('GET', '/parts?per_page=500');
    expect(capped.body.meta.pagination).toMatchObject({ per_page: 100, total_pages: 1 });
    // Default: 50 per page, name asc.
    expect((await call('GET', '/parts')).body.meta).toMatchObject({
      pagination: { per_page: 50, page: 1 },
      sort: ['name asc'],
      filter: {},
    });
  });

  it('renders list parts without reserved and the single part with it', async () => {
    const list = await call('GET', '/parts?filter[name_cont]=air');
    expect(list.body.meta.filter).toEqual({ name_cont: 'air' });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({
      id: 101,
      name: 'Air Filter',
      number: 'FL_A',
      on_hand_qty: 6,
      min_qty: 5,
      desired_qty: 8,
      available: 5,
      is_non_stock: false,
      unit_cost: 26.15,
      updated_at: '2026-11-02T08:00:00Z',
    });
    expect(list.body.data[0]).not.toHaveProperty('reserved');
    expect((await call('GET', '/parts/101')).body.data).toMatchObject({ reserved: 1, available: 5 });
    const towels = (await call('GET', '/parts/104')).body.data;
    expect(towels).toMatchObject({ name: 'Shop towels', is_non_stock: true, available: null });
  });

  it('filters updated_at_gteq with second precision, and sorts by updated_at both ways', async () => {
    clock.advance(2_400);
    sim.consume(102, 1); // updated_at 08:00:02
    clock.advance(1_000);
    sim.restock(103, 5); // updated_at 08:00:03
    const since = await call(
      'GET',
      '/parts?filter[updated_at_gteq]=2026-11-02T08:00:02Z&sort=updated_at%20asc',
    );
    expect(since.body.meta.filter).toEqual({ updated_at_gteq: '2026-11-02T08:00:02Z' });
    expect(since.body.data.map((p: { id: number; updated_at: string }) => [p.id, p.updated_at])).toEqual([
      [102, '2026-11-02T08:00:02Z'],
      [103, '2026-11-02T08:00:03Z'],
    ]);
    const desc = await call('GET', '/parts?sort=updated_at%20desc');
    expect(desc.body.meta.sort).toEqual(['updated_at desc']);
    // Ties (the seeded second) come in id order.
    expect(desc.body.data.map((p: { id: number }) => p.id)).toEqual([103, 102, 101, 104]);
  });

  it('echoes an _eq filter without its predicate and a _cont one with it (api-doc.txt:2566/2629, 2686/2771; 1010-1011)', async () => {
    const answer = await call('GET', '/parts?filter[is_non_stock_eq]=true&filter[name_cont]=towel');
    expect(answer.body.meta.filter).toEqual({ is_non_stock: 'true', name_cont: 'towel' });
    expect(answer.body.data.map((p: { id: number }) => p.id)).toEqual([104]);
  });

  it('ignores updated_at filters (and leaves them out of meta.filter) when it does not accept them', async () => {
    sim.setAcceptsUpdatedAtFilter(false);
    const answer = await call(
      'GET',
      '/parts?filter[updated_at_gteq]=2030-01-01T00:00:00Z&filter[name_cont]=belt&filter[colour_eq]=red&filter[name_matches]=x',
    );
    expect(answer.body.meta.filter).toEqual({ name_cont: 'belt' });
    expect(answer.body.data.map((p: { id: number }) => p.id)).toEqual([102]);
  });

  it('lists assets and work orders (title_cont, default sort created_at desc, search)', async () => {
    expect(
      (await call('GET', '/assets')).body.data.map((a: { id: number; name: string }) => [a.id, a.name]),
    ).toEqual([
      [46, 'Lathe 02'],
      [45, 'Mill 01'],
    ]);
    await call('POST', '/work_orders', { body: { work_order: { title: 'Mill 01 down [mw-aaaa]' } } });
    clock.advance(1_000);
    await call('POST', '/work_orders', { body: { work_order: { title: 'Lathe check [mw-bbbb]' } } });
    const all = await call('GET', '/work_orders');
    expect(all.body.meta.sort).toEqual(['created_at desc']);
    expect(all.body.data.map((w: { title: string }) => w.title)).toEqual([
      'Lathe check [mw-bbbb]',
      'Mill 01 down [mw-aaaa]',
    ]);
    const tagged = await call('GET', '/work_orders?filter[title_cont]=MW-AAAA');
    expect(tagged.body.data.map((w: { title: string }) => w.title)).toEqual(['Mill 01 down [mw-aaaa]']);
    expect((await call('GET', '/work_orders?search=lathe')).body.data).toHaveLength(1);
  });
});

describe('click-maint simulator: writes', () => {
  it('creates work orders from a wrapped body (201) and refuses an unwrapped one (400)', async () => {
    const created = await call('POST', '/work_orders', {
      body: { work_order: { title: 'Fix spindle', asset_id: 45, priority: 'high', categories_ids: [10] } },
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      title: 'Fix spindle',
      priority: 'high',
      type: 'reactive',
      status: { id: 1, name: 'open', is_custom: false },
      asset: { id: 45, name: 'Mill 01', status: 'online' },
      completed_at: null,
      created_at: '2026-11-02T08:00:00Z',
    });
    expect(sim.workOrders(1)[0]?.extra).toEqual({ categories_ids: [10] });
    expect(await call('POST', '/work_orders', { body: { title: 'Unwrapped' } })).toMatchObject({
      status: 400,
      body: { status: 'error', message: 'param is missing or the value is empty: work_order' },
    });
  });

  it('validates work orders with 422 error envelopes', async () => {
    const bad = async (wo: Record<string, unknown>) =>
      (await call('POST', '/work_orders', { body: { work_order: wo } })).body;
    expect(await bad({ title: ' ' })).toEqual({ status: 'error', message: "Title can't be blank" });
    expect(await bad({ title: 'x', status_id: 4 })).toEqual({
      status: 'error',
      message: 'Status must exist',
    });
    expect(await bad({ title: 'x', asset_id: 999 })).toEqual({
      status: 'error',
      message: 'Asset must exist',
    });
    expect(await bad({ title: 'x', priority: 'urgent' })).toMatchObject({ status: 'error' });
    expect(sim.workOrders()).toEqual([]);
  });

  it('sets completed_at when a work order reaches status 5 and clears it when it leaves', async () => {
    const { body } = await call('POST', '/work_orders', { body: { work_order: { title: 'Belt' } } });
    const id = body.data.id as number;
    clock.advance(60_000);
    const done = await call('PATCH', `/work_orders/${id}`, { body: { work_order: { status_id: 5 } } });
    expect(done.body.data).toMatchObject({
      status: { id: 5, name: 'completed' },
      completed_at: '2026-11-02T08:01:00Z',
      updated_at: '2026-11-02T08:01:00Z',
    });
    const reopened = await call('PATCH', `/work_orders/${id}`, { body: { work_order: { status_id: 3 } } });
    expect(reopened.body.data).toMatchObject({ status: { id: 3, name: 'in_progress' }, completed_at: null });
    expect((await call('GET', `/work_orders/${id}`, { entity: 2 })).status).toBe(404);
    expect((await call('PATCH', `/work_orders/${id}`, { body: { status_id: 5 } })).status).toBe(400);
  });

  it('restocks (unwrapped quantity + cost) and reconciles by a delta, bumping updated_at', async () => {
    clock.advance(5_000);
    const restocked = await call('PATCH', '/parts/102/restock', {
      body: { quantity: 4, cost: 20.5, note: 'PO-12345 received' },
    });
    expect(restocked.status).toBe(200);
    expect(restocked.body.data).toMatchObject({
      on_hand_qty: 6,
      unit_cost: 20.5,
      updated_at: '2026-11-02T08:00:05Z',
    });
    const reconciled = await call('PATCH', '/parts/102/reconcile', {
      body: { quantity: -2.5, note: '2.5 units damaged' },
    });
    expect(reconciled.body.data).toMatchObject({ on_hand_qty: 3.5 });
    expect(sim.transactions(102).map((t) => [t.type, t.quantity, t.note])).toEqual([
      ['restock', 4, 'PO-12345 received'],
      ['reconcile', -2.5, '2.5 units damaged'],
    ]);
  });

  it('refuses bad stock actions with 422 (wrapped body, missing note, negative result, non-stock)', async () => {
    const message = async (path: string, body: unknown, entity = 1) =>
      (await call('PATCH', path, { body, entity })).body.message;
    expect(await message('/parts/102/restock', { part: { quantity: 4, cost: 1 } })).toBe(
      "Quantity can't be blank",
    );
    expect(await message('/parts/102/restock', { quantity: 4 })).toBe("Cost can't be blank");
    expect(await message('/parts/102/restock', { quantity: 1.2345, cost: 1 })).toBe(
      'Quantity must have at most 3 decimal places',
    );
    expect(await message('/parts/102/restock', { quantity: 1, cost: 1.234 })).toBe(
      'Cost must have at most 2 decimal places',
    );
    expect(await message('/parts/102/reconcile', { quantity: -1 })).toBe("Note can't be blank");
    expect(await message('/parts/102/reconcile', { quantity: -5, note: 'count' })).toBe(
      'Quantity would make the on-hand quantity negative',
    );
    expect(await message('/parts/104/restock', { quantity: 1, cost: 1 })).toBe('Part is non-stock');
    expect(await message('/parts/102/restock', { quantity: 1, cost: 1 }, 2)).toBe('Part not found');
    expect(sim.parts(1).find((p) => p.id === 102)?.on_hand_qty).toBe(2);
  });
});

describe('click-maint simulator: control API', () => {
  it('bulk-creates parts, consumes and restocks them, and reports state and stats', async () => {
    const created = await control('POST', '/_sandbox/parts', {
      entityId: 2,
      parts: [{ name: 'Hydraulic oil 5L', number: 'HO-5', on_hand_qty: 3, min_qty: 2 }],
    });
    expect(created.status).toBe(201);
    const id = created.body.parts[0].id as number;
    expect(id).toBe(105);
    clock.advance(1_000);
    expect((await control('POST', `/_sandbox/parts/${id}/consume`, { quantity: 2 })).body.part).toMatchObject(
      {
        on_hand_qty: 1,
        updated_at: '2026-11-02T08:00:01Z',
      },
    );
    expect(
      (await control('POST', `/_sandbox/parts/${id}/restock`, { quantity: 10 })).body.part,
    ).toMatchObject({
      on_hand_qty: 11,
    });
    expect((await control('POST', `/_sandbox/parts/${id}/consume`, { quantity: 99 })).status).toBe(409);
    expect((await control('POST', '/_sandbox/parts/9999/consume', { quantity: 1 })).status).toBe(404);
    expect((await control('POST', '/_sandbox/parts', { parts: [] })).status).toBe(400);

    await call('GET', '/parts', { entity: 2 });
    const state = await control('GET', '/_sandbox/state');
    expect(state.body.parts.map((p: { id: number }) => p.id)).toEqual([101, 102, 103, 104, 105]);
    expect(state.body.assets).toHaveLength(2);
    expect(state.body.stats).toMatchObject({ requests: 1, rateLimited: 0, maxAcceptedInWindow: 1 });
    expect((await control('GET', '/_sandbox/stats')).body).toMatchObject({ requests: 1 });
    expect(sim.parts(2).map((p) => p.name)).toEqual(['Hydraulic oil 5L']);
  });

  it('changes settings and resets', async () => {
    const settings = await control('POST', '/_sandbox/settings', {
      rateLimit: { limit: 300, windowSeconds: 5 },
      acceptsUpdatedAtFilter: false,
    });
    expect(settings.body).toEqual({
      rateLimit: { limit: 300, windowSeconds: 5 },
      acceptsUpdatedAtFilter: false,
    });
    expect((await control('POST', '/_sandbox/settings', { rateLimit: { limit: 0 } })).status).toBe(400);
    sim.addParts(1, [{ name: 'Temp' }]);
    await call('GET', '/parts');
    await control('POST', '/_sandbox/reset');
    expect(sim.parts().map((p) => p.id)).toEqual([101, 102, 103, 104]);
    expect(sim.calls()).toEqual([]);
    expect(sim.stats()).toMatchObject({ requests: 0, rateLimited: 0, maxAcceptedInWindow: 0 });
  });
});

describe('call log bounds (a sandbox polling for weeks)', () => {
  it('keeps only the newest requestLogLimit calls, while stats count every request', async () => {
    const bounded = await startClickMaintSimulator({
      clock,
      apiKey: API_KEY,
      wallClock: time.now,
      requestLogLimit: 2,
    });
    try {
      for (const page of ['1', '2', '3']) {
        await fetch(`${bounded.baseUrl}/parts?page=${page}`, {
          headers: { authorization: `Bearer ${API_KEY}`, 'x-entity-id': '1' },
        }).then((r) => r.text());
      }
      expect(bounded.calls().map((c) => c.query.page)).toEqual([['2'], ['3']]);
      expect(bounded.requests).toHaveLength(2);
      expect(bounded.stats().requests).toBe(3);
    } finally {
      await bounded.close();
    }
  });
});
