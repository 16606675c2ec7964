/** The Click Maint client against the simulator, with the shared rate limiter on a real StateStore. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ClickMaintApiError,
  ClickMaintInputError,
  clickMaintRateLimitKey,
  connectClickMaint,
  resolveEntities,
} from '../../../functions/connectors/click-maint/client.ts';
import { parseClickMaintConfig } from '../../../functions/connectors/click-maint/config.ts';
import {
  AmbiguousWriteError,
  ConfigError,
  VendorHttpError,
  VendorResponseError,
} from '../../../functions/core/errors.ts';
import { RateLimitedError } from '../../../functions/core/rate-limit.ts';
import type { SecretSource } from '../../../functions/core/secrets.ts';
import { API_KEY, callsTo, type Harness, SECRET_NAME, startHarness, T0, virtualTime } from './support.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.sim.reset();
  h.clock.advance(T0 - h.clock.now().getTime());
});

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const pagination = { total: 1, page: 1, per_page: 100, total_pages: 1 };

describe('click-maint config', () => {
  it('applies the defaults', () => {
    expect(parseClickMaintConfig({ secretName: 'cm' })).toEqual({
      baseUrl: 'https://app.clickmaint.com/api/v1',
      secretName: 'cm',
      perPage: 100,
      rateLimit: { limit: 300, windowSeconds: 300, burst: 5, reserve: 2 },
      updatedAtFilter: 'auto',
    });
  });

  it('names the bad field in a ConfigError', () => {
    const path = (value: unknown) => {
      try {
        parseClickMaintConfig(value);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).path;
      }
      return undefined;
    };
    expect(path(undefined)).toBe('vendors.click-maint');
    expect(path({})).toBe('vendors.click-maint.secretName');
    expect(path({ secretName: 'cm', perPage: 101 })).toBe('vendors.click-maint.perPage');
    expect(path({ secretName: 'cm', entities: [1, 0] })).toBe('vendors.click-maint.entities[1]');
    expect(path({ secretName: 'cm', updatedAtFilter: 'maybe' })).toBe('vendors.click-maint.updatedAtFilter');
    expect(path({ secretName: 'cm', rateLimit: { limit: 5 } })).toBe('vendors.click-maint.rateLimit.burst');
    expect(path({ secretName: 'cm', baseUrl: 'ftp://x' })).toBe('vendors.click-maint.baseUrl');
  });

  it('keys the rate-limit bucket by host (the limit is per IP, i.e. per account egress)', () => {
    expect(clickMaintRateLimitKey('https://app.clickmaint.com/api/v1')).toBe(
      'click-maint:app.clickmaint.com',
    );
    expect(clickMaintRateLimitKey('https://app.clickmaint.ca/api/v1')).toBe('click-maint:app.clickmaint.ca');
    expect(h.client().limiter?.key).toBe(`click-maint:127.0.0.1:${h.sim.port}`);
  });
});

describe('click-maint client: auth, entity header, envelope', () => {
  it('sends Bearer on every call and X-Entity-Id on every call but GET /entities', async () => {
    const readsBefore = h.secrets.reads.length;
    const seen: Record<string, string | null>[] = [];
    const client = h.client(
      {},
      {
        fetch: async (input, init) => {
          const headers = new Headers(init?.headers);
          seen.push({
            url: String(input),
            auth: headers.get('authorization'),
            entity: headers.get('x-entity-id'),
          });
          return fetch(input, init);
        },
      },
    );
    await client.listEntities();
    await client.listParts(2);
    await client.getPart(1, 101);
    expect(seen.map((s) => [new URL(s.url ?? '').pathname, s.auth, s.entity])).toEqual([
      ['/api/v1/entities', `Bearer ${API_KEY}`, null],
      ['/api/v1/parts', `Bearer ${API_KEY}`, '2'],
      ['/api/v1/parts/101', `Bearer ${API_KEY}`, '1'],
    ]);
    // The key was read once, lazily.
    expect(h.secrets.reads.length - readsBefore).toBe(1);
  });

  it('reads the envelope: normalised parts, pagination, echoed sort and filter; reserved only on GET', async () => {
    const client = h.client();
    const page = await client.listParts(1, {
      filter: { name_cont: 'filter' },
      sort: 'name asc',
      perPage: 10,
    });
    expect(page.pagination).toEqual({ total: 1, page: 1, per_page: 10, total_pages: 1 });
    expect(page.filter).toEqual({ name_cont: 'filter' });
    expect(page.sort).toEqual(['name asc']);
    expect(page.items).toEqual([
      {
        id: 101,
        name: 'Air Filter',
        description: 'Fiberglass panel filter',
        number: 'FL_A',
        onHandQty: 6,
        minQty: 5,
        desiredQty: 8,
        available: 5,
        reserved: null,
        isNonStock: false,
        unitCost: 26.15,
        createdAt: '2026-11-02T08:00:00Z',
        updatedAt: '2026-11-02T08:00:00Z',
        updatedAtMs: T0,
      },
    ]);
    expect(await client.getPart(1, 101)).toMatchObject({ reserved: 1 });
    expect(await client.getPart(1, 104)).toMatchObject({ isNonStock: true, onHandQty: 0, minQty: null });
    expect(await client.getPart(1, 999)).toBeUndefined();
    expect(await client.getPart(2, 101)).toBeUndefined();
    expect(await client.getWorkOrder(1, 999)).toBeUndefined();
    const assets = await client.listAssets(1);
    expect(assets.items.map((a) => [a.id, a.name, a.status])).toEqual([
      [46, 'Lathe 02', 'online'],
      [45, 'Mill 01', 'online'],
    ]);
  });

  it('accepts decimals and numeric strings, and canonicalises updated_at', async () => {
    const client = h.client(
      {},
      {
        fetch: async () =>
          json({
            status: 'success',
            data: [
              {
                id: 7,
                name: 'Grease',
                on_hand_qty: '8.5',
                min_qty: 2.25,
                available: '8.5',
                unit_cost: '26.15',
                is_non_stock: false,
                updated_at: '2026-11-02T09:00:00.000+01:00',
                surplus: { ignored: true },
              },
            ],
            meta: { pagination },
          }),
      },
    );
    const [part] = (await client.listParts(1)).items;
    expect(part).toMatchObject({
      onHandQty: 8.5,
      minQty: 2.25,
      available: 8.5,
      unitCost: 26.15,
      number: null,
      updatedAt: '2026-11-02T08:00:00Z',
    });
    expect(part).not.toHaveProperty('surplus');
  });

  it('names the record and field of a part that does not parse, and still returns the others', async () => {
    const answer = (body: unknown) => h.client({}, { fetch: async () => json(body) });
    const good = { id: 8, name: 'Belt', on_hand_qty: 3, updated_at: '2026-11-02T08:00:01Z' };
    const badQty = await answer({
      status: 'success',
      data: [{ id: 7, name: 'Grease', on_hand_qty: 'lots', updated_at: '2026-11-02T08:00:00Z' }, good],
      meta: { pagination },
    }).listParts(1);
    expect(badQty.items.map((p) => p.id)).toEqual([8]);
    expect(badQty.skipped).toEqual([
      {
        record: '7',
        field: 'on_hand_qty',
        message: 'expected a number or a numeric string (got "lots")',
        updatedAtMs: T0,
      },
    ]);
    const zoneless = await answer({
      status: 'success',
      data: [{ id: 7, name: 'Grease', on_hand_qty: 1, updated_at: '2026-11-02 08:00:00' }],
      meta: { pagination },
    }).listParts(1);
    expect(zoneless.skipped).toEqual([
      {
        record: '7',
        field: 'updated_at',
        message: 'must be a valid datetime (got "2026-11-02 08:00:00")',
      },
    ]);
    // listAll cannot return a partial list: a skipped record fails it, naming the field.
    const all = await answer({
      status: 'success',
      data: [{ id: 7, name: 'Grease', on_hand_qty: 'lots', updated_at: '2026-11-02T08:00:00Z' }],
      meta: { pagination },
    });
    const partial = (await all.listAll((q) => all.listParts(1, q)).catch((e: unknown) => e)) as Error;
    expect(partial).toBeInstanceOf(VendorResponseError);
    expect((partial as VendorResponseError).field).toBe('on_hand_qty');
  });

  it('raises VendorResponseError naming the field for an unexpected envelope', async () => {
    const answer = (body: unknown) => h.client({}, { fetch: async () => json(body) });
    const failure = async (body: unknown) =>
      (await answer(body)
        .listParts(1)
        .catch((e: unknown) => e)) as Error;
    const notAList = await failure({ status: 'success', data: { id: 7 }, meta: { pagination } });
    expect((notAList as VendorResponseError).field).toBe('data');
    const noPaging = await failure({ status: 'success', data: [], meta: {} });
    expect((noPaging as VendorResponseError).field).toBe('meta.pagination');
    const ok200Error = await failure({ status: 'error', message: 'Something went wrong' });
    expect(ok200Error).toBeInstanceOf(ClickMaintApiError);
    expect((ok200Error as ClickMaintApiError).vendorMessage).toBe('Something went wrong');
  });

  it('turns the error envelope into ClickMaintApiError with the vendor message (not retried)', async () => {
    const client = h.client();
    const error = (await client
      .createWorkOrder(1, { title: 'Bad status', status_id: 4 })
      .catch((e: unknown) => e)) as ClickMaintApiError;
    expect(error).toBeInstanceOf(ClickMaintApiError);
    expect(error).toBeInstanceOf(VendorHttpError);
    expect(error).toMatchObject({ status: 422, vendorMessage: 'Status must exist', retryable: false });
    expect(error.message).toBe('click-maint createWorkOrder failed with HTTP 422: Status must exist');
    expect(callsTo(h.sim, 'POST /work_orders')).toHaveLength(1);
    const unknownEntity = (await client.listParts(99).catch((e: unknown) => e)) as ClickMaintApiError;
    expect(unknownEntity).toMatchObject({ status: 404, vendorMessage: 'Entity not found' });
  });

  it('re-reads a rotated key once after a 401, and throws the second 401', async () => {
    let reads = 0;
    const rotating: SecretSource = {
      async getJson(_name, options) {
        reads++;
        return { apiKey: options?.refresh ? API_KEY : 'cm-old-key-revoked' };
      },
    };
    const client = connectClickMaint(
      { ...h.env(), secrets: rotating },
      { now: h.time.now, sleep: h.time.sleep },
    );
    expect((await client.listParts(1)).items).toHaveLength(4);
    expect(reads).toBe(2);
    expect(callsTo(h.sim, 'GET /parts').map((c) => c.status)).toEqual([401, 200]);

    h.secrets.values[SECRET_NAME] = { apiKey: 'cm-wrong-key' };
    const denied = h.client();
    const error = (await denied.listParts(1).catch((e: unknown) => e)) as ClickMaintApiError;
    expect(error).toMatchObject({ status: 401, vendorMessage: 'Invalid API key', retryable: false });
    expect(
      callsTo(h.sim, 'GET /parts')
        .slice(2)
        .map((c) => c.status),
    ).toEqual([401]);
    h.secrets.values[SECRET_NAME] = { apiKey: API_KEY };
  });

  it('redacts the key from error messages', async () => {
    h.sim.faults.push({
      match: 'GET /api/v1/parts',
      status: 500,
      body: { status: 'error', message: `boom for ${API_KEY}` },
      times: 4,
    });
    const error = (await h
      .client()
      .listParts(1)
      .catch((e: unknown) => e)) as VendorHttpError;
    expect(error).toBeInstanceOf(VendorHttpError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('[REDACTED]');
    expect(error.message).not.toContain(API_KEY);
  });
});

describe('click-maint client: lists and entities', () => {
  it('pages to the end with listAll (page/per_page until page >= total_pages)', async () => {
    h.sim.addParts(1, [{ name: 'Bolt' }, { name: 'Nut' }, { name: 'Washer' }]);
    const client = h.client({ perPage: 2 });
    const all = await client.listAll((q) => client.listParts(1, q), { sort: 'name asc' });
    expect(all.map((p) => p.name)).toEqual([
      'Air Filter',
      'Bolt',
      'Grease cartridge',
      'Nut',
      'Shop towels',
      'V-Belt B52',
      'Washer',
    ]);
    expect(callsTo(h.sim, 'GET /parts').map((c) => [c.query.page?.[0], c.query.per_page?.[0]])).toEqual([
      ['1', '2'],
      ['2', '2'],
      ['3', '2'],
      ['4', '2'],
    ]);
    // An empty list is one page (total_pages 0).
    expect(await client.listAll((q) => client.listParts(2, q))).toEqual([]);
    expect(callsTo(h.sim, 'GET /parts')).toHaveLength(5);
  });

  it('resolves entities from config, else from GET /entities once per client', async () => {
    const pinned = h.client({ entities: [2] });
    expect(await resolveEntities(pinned)).toEqual([2]);
    expect(callsTo(h.sim, 'GET /entities')).toEqual([]);
    const discovering = h.client({ entities: undefined });
    expect(await discovering.resolveEntities()).toEqual([1, 2]);
    expect(await discovering.resolveEntities()).toEqual([1, 2]);
    expect(callsTo(h.sim, 'GET /entities')).toHaveLength(1);
    expect((await discovering.listEntities()).map((e) => e.name)).toEqual(['Main Facility', 'North Plant']);
  });

  it('refuses bad input before sending', async () => {
    const client = h.client();
    const err = async (p: Promise<unknown>) => (await p.catch((e: unknown) => e)) as ClickMaintInputError;
    expect(await err(client.listParts(0))).toMatchObject({ field: 'entityId' });
    expect(await err(client.listParts(1, { sort: 'name' }))).toMatchObject({ field: 'sort' });
    expect(await err(client.listParts(1, { filter: { 'name cont': 'x' } }))).toMatchObject({
      field: 'filter',
    });
    expect(
      await err(client.createWorkOrder(1, { title: 'x', colour: 'red' } as unknown as { title: string })),
    ).toBeInstanceOf(ClickMaintInputError);
    expect(await err(client.updateWorkOrder(1, 5, {}))).toBeInstanceOf(ClickMaintInputError);
    expect(await err(client.reconcilePart(1, 102, { quantity: 0.0001, note: 'x' }))).toMatchObject({
      field: 'quantity',
    });
    expect(await err(client.restockPart(1, 102, { quantity: -1, cost: 1 }))).toMatchObject({
      field: 'quantity',
    });
    // "decimal places <= 3": 0.0004 rounds to 0, refused here instead of a 422 from the vendor.
    expect(await err(client.restockPart(1, 102, { quantity: 0.0004, cost: 1 }))).toMatchObject({
      field: 'quantity',
      message: expect.stringContaining('rounds to 0'),
    });
    expect(await err(client.findWorkOrderByTitleTag(1, 'ab'))).toMatchObject({ field: 'tag' });
    expect(h.sim.calls()).toEqual([]);
  });
});

describe('click-maint client: writes', () => {
  it('creates work orders with a wrapped body and updates them with absolute values', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder(1, {
      title: 'Machine down: Mill 01 [mw-1a2b3c4d5e]',
      type: 'reactive',
      priority: 'high',
      asset_id: 45,
      description: 'Spindle stopped',
    });
    expect(wo).toMatchObject({
      title: 'Machine down: Mill 01 [mw-1a2b3c4d5e]',
      status: { id: 1, name: 'open' },
      asset: { id: 45, name: 'Mill 01' },
      priority: 'high',
    });
    expect(callsTo(h.sim, 'POST /work_orders')[0]?.body).toEqual({
      work_order: {
        title: 'Machine down: Mill 01 [mw-1a2b3c4d5e]',
        type: 'reactive',
        priority: 'high',
        asset_id: 45,
        description: 'Spindle stopped',
      },
    });
    h.clock.advance(90_000);
    const done = await client.updateWorkOrder(1, wo.id, {
      status_id: 5,
      completed_at: '2026-11-02T08:01:00Z',
    });
    expect(done).toMatchObject({
      status: { id: 5, name: 'completed' },
      completed_at: '2026-11-02T08:01:00Z',
    });
    expect(callsTo(h.sim, `PATCH /work_orders/${wo.id}`)[0]?.body).toEqual({
      work_order: { status_id: 5, completed_at: '2026-11-02T08:01:00Z' },
    });
    expect(await client.getWorkOrder(1, wo.id)).toMatchObject({
      id: wo.id,
      updated_at: '2026-11-02T08:01:30Z',
    });
  });

  it('restocks and reconciles with unwrapped bodies, rounding quantity (3 dp) and cost (2 dp)', async () => {
    const client = h.client();
    const restocked = await client.restockPart(1, 102, { quantity: 4.00049, cost: 18.404, note: 'PO-1' });
    expect(restocked).toMatchObject({ id: 102, onHandQty: 6 });
    const reconciled = await client.reconcilePart(1, 102, { quantity: -1.5, note: 'cycle count' });
    expect(reconciled.onHandQty).toBe(4.5);
    expect(callsTo(h.sim, 'PATCH /parts/102/restock')[0]?.body).toEqual({
      quantity: 4,
      cost: 18.4,
      note: 'PO-1',
    });
    expect(callsTo(h.sim, 'PATCH /parts/102/reconcile')[0]?.body).toEqual({
      quantity: -1.5,
      note: 'cycle count',
    });
    const nonStock = (await client
      .restockPart(1, 104, { quantity: 1, cost: 1 })
      .catch((e: unknown) => e)) as ClickMaintApiError;
    expect(nonStock).toMatchObject({ status: 422, vendorMessage: 'Part is non-stock' });
  });

  it('raises AmbiguousWriteError when a create times out after sending, and finds it by its title tag', async () => {
    const client = h.client({ timeoutMs: 150 });
    h.sim.faults.push({ match: 'POST /api/v1/work_orders', timeoutAfterWrite: true, delayMs: 2_000 });
    const error = await client
      .createWorkOrder(1, { title: 'Machine down: Lathe 02 [mw-0badc0ffee]' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect((error as AmbiguousWriteError).retryable).toBe(true);
    // Sent once, never re-sent blindly; the work order exists.
    expect(h.sim.requests.filter((r) => r === 'POST /api/v1/work_orders')).toHaveLength(1);
    expect(h.sim.workOrders(1)).toHaveLength(1);

    const found = await client.findWorkOrderByTitleTag(1, 'mw-0badc0ffee');
    expect(found?.title).toBe('Machine down: Lathe 02 [mw-0badc0ffee]');
    expect(callsTo(h.sim, 'GET /work_orders').at(-1)?.query).toMatchObject({
      'filter[title_cont]': ['mw-0badc0ffee'],
      sort: ['created_at asc'],
    });
    expect(await client.findWorkOrderByTitleTag(1, 'mw-ffffffffff')).toBeUndefined();
    expect(await client.findWorkOrderByTitleTag(2, 'mw-0badc0ffee')).toBeUndefined();
  });

  it('finds the oldest of several tagged work orders, matching the tag exactly (case-sensitive)', async () => {
    const client = h.client({ perPage: 1 });
    await client.createWorkOrder(1, { title: 'Down [MW-ABCDEF]' });
    const first = await client.createWorkOrder(1, { title: 'Down [mw-abcdef]' });
    await client.createWorkOrder(1, { title: 'Down again [mw-abcdef]' });
    const found = await client.findWorkOrderByTitleTag(1, 'mw-abcdef');
    expect(found?.id).toBe(first.id);
    // Every page was read (per_page 1: three pages of `_cont` matches).
    expect(callsTo(h.sim, 'GET /work_orders').map((c) => c.query.page?.[0])).toEqual(['1', '2', '3']);
  });
});

describe('click-maint client: shared rate limiter', () => {
  let rl: Harness;
  const time = virtualTime();
  beforeAll(async () => {
    rl = await startHarness({ rateLimit: { limit: 3, windowSeconds: 10 } }, { state: h.state, time });
  });
  afterAll(async () => {
    await rl.sim.close();
  });
  beforeEach(() => {
    rl.sim.reset();
    time.sleeps.length = 0;
  });
  /** Start of the next 10 s window, plus `offsetMs`. */
  const nextWindow = (offsetMs: number) => {
    time.advance(Math.ceil((time.now() + 1) / 10_000) * 10_000 + offsetMs - time.now());
  };
  /** Requests from another worker behind the same IP that bypass our bucket. */
  const exhaustWindow = async () => {
    for (let i = 0; i < 3; i++) {
      await fetch(`${rl.sim.baseUrl}/parts`, {
        headers: { authorization: `Bearer ${API_KEY}`, 'x-entity-id': '1' },
      });
    }
  };
  const policy = { limit: 1_000, windowSeconds: 10, burst: 100, reserve: 0 };

  it('feeds a 429 to the limiter (bucket paused) and retries after retry-after', async () => {
    nextWindow(4_000);
    await exhaustWindow();
    const client = rl.client({ rateLimit: policy });
    const page = await client.listParts(1);
    expect(page.items).toHaveLength(4);
    expect(callsTo(rl.sim, 'GET /parts').map((c) => c.status)).toEqual([200, 200, 200, 429, 200]);
    // retry-after was 6 s (to the window's end); the retry went out after it, in the next window.
    expect(time.sleeps).toContain(6_000);
    expect(rl.sim.stats()).toMatchObject({ rateLimited: 1, maxAcceptedInWindow: 3 });
    const bucket = await client.limiter?.snapshot();
    expect(bucket?.pausedUntilMs).toBe(time.now() - (time.now() % 10_000));
  });

  it('hands a long retry-after to the queue as a retryable RateLimitedError, pausing every worker', async () => {
    rl.sim.setRateLimit({ limit: 3, windowSeconds: 60 });
    try {
      time.advance(Math.ceil((time.now() + 1) / 60_000) * 60_000 + 1_000 - time.now());
      await exhaustWindow();
      const slow = { ...policy, windowSeconds: 60 };
      const worker1 = rl.client({ rateLimit: slow });
      const error = (await worker1.listParts(1).catch((e: unknown) => e)) as RateLimitedError;
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error.retryable).toBe(true);
      expect(error.retryAfterMs).toBe(59_000);
      expect(rl.sim.stats().rateLimited).toBe(1);

      // Another worker of the same account waits on the shared pause instead of calling (and is
      // told to come back later, since the pause is longer than it may wait).
      const worker2 = rl.client({ rateLimit: slow });
      const requestsBefore = rl.sim.requests.length;
      const queued = (await worker2.getPart(1, 101).catch((e: unknown) => e)) as RateLimitedError;
      expect(queued).toBeInstanceOf(RateLimitedError);
      expect(queued.retryAfterMs).toBeGreaterThan(20_000);
      expect(rl.sim.requests.length).toBe(requestsBefore);
    } finally {
      rl.sim.setRateLimit({ limit: 3, windowSeconds: 10 });
    }
  });

  it('stops at the reserve until the reset instead of running into a 429', async () => {
    rl.sim.setRateLimit({ limit: 5, windowSeconds: 10 });
    try {
      time.advance(120_000); // past any pause an earlier test left in the shared bucket
      nextWindow(2_000);
      const client = rl.client({ rateLimit: { ...policy, reserve: 2 } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        await client.getPart(1, 101);
        statuses.push(callsTo(rl.sim, 'GET /parts/101').at(-1)?.status ?? 0);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(rl.sim.stats()).toMatchObject({ rateLimited: 0, maxAcceptedInWindow: 3 });
      // After the third answer (remaining 2 <= reserve) the bucket waited ~8 s for the reset.
      expect(time.sleeps.some((ms) => ms >= 8_000 && ms < 8_100)).toBe(true);
    } finally {
      rl.sim.setRateLimit({ limit: 3, windowSeconds: 10 });
    }
  });
});
