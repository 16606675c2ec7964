/** The UpKeep simulator's parts, purchase orders, requests and their control API, over raw HTTP. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  startUpKeepSimulator,
  type UpKeepSimulator,
} from '../../../functions/connectors/upkeep/simulator/index.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';
import { EMAIL, PASSWORD } from './support.ts';

const T0 = Date.parse('2026-11-02T08:00:00.000Z');
let clock: Clock;
let sim: UpKeepSimulator;
let token: string;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test reads arbitrary JSON answers.
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; form?: Record<string, string>; auth?: boolean; target?: UpKeepSimulator } = {},
): Promise<Answer> {
  const target = options.target ?? sim;
  const headers: Record<string, string> = {};
  if (options.auth !== false && !path.startsWith('/_sandbox')) headers['session-token'] = token;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const base = path.startsWith('/_sandbox') ? target.url : target.baseUrl;
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function login(target: UpKeepSimulator = sim): Promise<string> {
  const res = await fetch(`${target.baseUrl}/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  return ((await res.json()) as { result: { sessionToken: string } }).result.sessionToken;
}

const idsOf = (answer: Answer) => (answer.body.results as { id: string }[]).map((r) => r.id);

beforeAll(async () => {
  clock = manualClock('2026-11-02T08:00:00.000Z');
  sim = await startUpKeepSimulator({ clock, email: EMAIL, password: PASSWORD });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  clock.advance(T0 - clock.now().getTime());
  sim.reset();
  token = await login();
});

describe('UpKeep simulator: parts', () => {
  it('seeds four parts and returns quantity, minimum and cost as strings, the number as partName', async () => {
    const res = await call('GET', '/parts/PartBeltA42');
    expect(res.body).toEqual({
      success: true,
      result: {
        id: 'PartBeltA42',
        name: 'Classic V-belt A42',
        description: null,
        cost: '14.50',
        quantity: '3',
        minimumQuantity: '2',
        partId: null,
        partName: 'A42',
        serial: null,
        area: null,
        details: null,
        category: 'Belts',
        location: 'LocShopA01',
        createdByUser: 'UserAdmin1',
        createdAt: '2026-11-02T08:00:00.000Z',
        updatedAt: '2026-11-02T08:00:00.000Z',
      },
    });
    expect(idsOf(await call('GET', '/parts'))).toEqual([
      'PartBearing6204',
      'PartBeltA42',
      'PartFilterHF35',
      'PartSeal2210',
    ]);
    expect((await call('GET', '/parts/NoSuchPart')).status).toBe(404);
    expect((await call('GET', '/parts', { auth: false })).status).toBe(401);
  });

  it('validates a create as documented and accepts partName or partNumber', async () => {
    const post = (body: unknown) => call('POST', '/parts', { body });
    expect((await post({ quantity: 1 })).body).toEqual({ success: false, message: 'name cannot be null' });
    expect((await post({ name: 'x', colour: 'red' })).body.message).toBe('colour not in schema');
    expect((await post({ name: 'x', quantity: '5' })).body.message).toBe('quantity must be a Number');
    expect((await post({ name: 'x', id: 'Mine' })).body.message).toBe('id not in schema');
    const created = await post({
      name: 'Coupling insert',
      partName: 'CI-38',
      quantity: 15,
      minimumQuantity: 1,
      cost: 88,
    });
    expect(created.body.result).toMatchObject({
      id: expect.stringMatching(/^[A-Za-z0-9]{10}$/),
      partName: 'CI-38',
      quantity: '15',
      minimumQuantity: '1',
      cost: '88.00',
    });
    // quantity is optional ("quantity Number false"): the part holds none rather than an invented 0.
    expect((await post({ name: 'Spacer', partNumber: 'SP-1' })).body.result).toMatchObject({
      partName: 'SP-1',
      quantity: null,
      minimumQuantity: null,
      cost: null,
    });
  });

  it('sets absolute values with PATCH, bumps updatedAt, and leaves the part untouched on a bad field', async () => {
    const patch = (body: unknown) => call('PATCH', '/parts/PartSeal2210', { body });
    expect((await patch({ quantity: 1, id: 'x' })).body.message).toBe('id is not allowed to be set!');
    expect((await patch({ quantity: 1, name: null })).body.message).toBe('name cannot be null');
    expect((await patch({ quantity: 'many' })).body.message).toBe('quantity must be a Number');
    expect(sim.parts().find((p) => p.id === 'PartSeal2210')?.quantity).toBe(8);
    clock.advance(5_000);
    const ok = await patch({ quantity: 100, minimumQuantity: null });
    expect(ok.body.result).toMatchObject({
      quantity: '100',
      minimumQuantity: null,
      updatedAt: '2026-11-02T08:00:05.000Z',
    });
    expect((await call('DELETE', '/parts/PartSeal2210')).body).toEqual({
      success: true,
      message: '1 part deleted',
    });
    expect(sim.parts().map((p) => p.id)).not.toContain('PartSeal2210');
  });

  it('filters by updatedAt in unix ms, orders by the field then by id, and pages', async () => {
    clock.advance(1_000);
    sim.consumePart('PartSeal2210', 1);
    clock.advance(1_000);
    sim.consumePart('PartBearing6204', 1);
    const ids = async (query: string) => idsOf(await call('GET', `/parts?${query}`));
    const t1 = T0 + 1_000;
    expect(await ids(`updatedAtGreaterThanOrEqualTo=${t1}&orderBy=updatedAt%20ASC`)).toEqual([
      'PartSeal2210',
      'PartBearing6204',
    ]);
    expect(await ids(`updatedAtGreaterThan=${t1}`)).toEqual(['PartBearing6204']);
    expect(await ids(`updatedAtLessThan=${t1}&orderBy=updatedAt%20ASC`)).toEqual([
      'PartBeltA42',
      'PartFilterHF35',
    ]);
    // Ties (same millisecond) are ordered by id, whatever the direction of the field.
    expect(await ids('orderBy=updatedAt%20ASC&limit=2')).toEqual(['PartBeltA42', 'PartFilterHF35']);
    expect(await ids('orderBy=updatedAt%20ASC&limit=2&offset=2')).toEqual([
      'PartSeal2210',
      'PartBearing6204',
    ]);
    expect(await ids('orderBy=createdAt%20DESC')).toEqual([
      'PartBearing6204',
      'PartBeltA42',
      'PartFilterHF35',
      'PartSeal2210',
    ]);
    expect(await ids('name=Classic%20V-belt%20A42')).toEqual(['PartBeltA42']);
    expect(await ids('partNumber=HF35-10&category=Filters')).toEqual(['PartFilterHF35']);
    expect(await ids('createdAtGreaterThan=9999999999999')).toEqual([]);
  });

  it('rejects unknown query keys, bad dates and bad orderBy with 400 like the work-order routes', async () => {
    expect(await call('GET', '/parts?quantityLessThan=3')).toEqual({
      status: 400,
      body: { success: false, message: 'invalid filter key: quantityLessThan' },
    });
    expect((await call('GET', '/parts?updatedAtGreaterThanOrEqualTo=2026-11-02')).status).toBe(400);
    expect((await call('GET', '/parts?orderBy=quantity%20ASC')).status).toBe(400);
    expect((await call('GET', '/parts?customFieldsPart[name]=inventor')).status).toBe(200);
  });

  it('answers 404 past the end when configured to', async () => {
    const s404 = await startUpKeepSimulator({ clock, email: EMAIL, password: PASSWORD, pastEndStatus: 404 });
    try {
      const t = await login(s404);
      const get = (q: string) =>
        fetch(`${s404.baseUrl}/parts?${q}`, { headers: { 'session-token': t } }).then((r) => r.status);
      expect(await get('offset=2&limit=2')).toBe(200);
      expect(await get('offset=4&limit=2')).toBe(404);
    } finally {
      await s404.close();
    }
  });
});

describe('UpKeep simulator: parts control API', () => {
  it('consumes and restocks through /_sandbox/parts/:id/{consume,restock}, moving updatedAt', async () => {
    clock.advance(60_000);
    const consumed = await call('POST', '/_sandbox/parts/PartBeltA42/consume', { body: { quantity: 2 } });
    expect(consumed.body.part).toMatchObject({ quantity: '1', updatedAt: '2026-11-02T08:01:00.000Z' });
    const restocked = await call('POST', '/_sandbox/parts/PartBeltA42/restock', { body: { quantity: 10 } });
    expect(restocked.body.part).toMatchObject({ quantity: '11' });
    expect(await call('POST', '/_sandbox/parts/PartBeltA42/consume', { body: { quantity: 12 } })).toEqual({
      status: 400,
      body: { success: false, message: 'not enough stock: part PartBeltA42 has 11, cannot consume 12' },
    });
    expect(
      (await call('POST', '/_sandbox/parts/PartBeltA42/consume', { body: { quantity: 0 } })).status,
    ).toBe(400);
    expect((await call('POST', '/_sandbox/parts/Nope/restock', { body: { quantity: 1 } })).status).toBe(404);
    // Control routes are not API calls.
    expect(sim.calls().filter((c) => c.line.includes('_sandbox'))).toEqual([]);
  });

  it('bulk-creates parts in one millisecond, all or nothing', async () => {
    const parts = Array.from({ length: 1_000 }, (_, i) => ({
      id: `Bulk${String(i).padStart(4, '0')}`,
      name: `Backlog part ${i}`,
      quantity: i % 7,
      minimumQuantity: 3,
    }));
    const res = await call('POST', '/_sandbox/parts', { body: { parts } });
    expect(res.body).toMatchObject({ created: 1_000 });
    expect(res.body.ids.slice(0, 2)).toEqual(['Bulk0000', 'Bulk0001']);
    const all = sim.parts();
    expect(all).toHaveLength(1_004);
    expect(new Set(all.map((p) => p.updatedAt))).toEqual(new Set(['2026-11-02T08:00:00.000Z']));

    const dup = await call('POST', '/_sandbox/parts', {
      body: {
        parts: [
          { id: 'Fresh01', name: 'ok' },
          { id: 'Bulk0001', name: 'again' },
        ],
      },
    });
    expect(dup).toEqual({
      status: 400,
      body: { success: false, message: 'parts[1]: part Bulk0001 already exists' },
    });
    expect(
      (await call('POST', '/_sandbox/parts', { body: { parts: [{ name: 'x', qty: 1 }] } })).body.message,
    ).toBe('parts[0]: qty not in schema');
    expect((await call('POST', '/_sandbox/parts', { body: [] })).status).toBe(400);
    expect(sim.parts()).toHaveLength(1_004);
  });

  it('offers the same through methods, and lists parts and purchase orders in /_sandbox/state', async () => {
    const [added] = sim.addParts([{ name: 'Grease cartridge', quantity: 4, minimumQuantity: 6, cost: 9.9 }]);
    expect(added).toMatchObject({ name: 'Grease cartridge', quantity: 4, cost: 9.9 });
    expect(sim.consumePart('PartSeal2210', 3).quantity).toBe(5);
    expect(sim.restockPart('PartSeal2210', 1).quantity).toBe(6);
    expect(() => sim.consumePart('PartSeal2210', 7)).toThrow(/not enough stock/);
    expect(() => sim.restockPart('Nope', 1)).toThrow(/Part not found/);
    expect(() => sim.addParts([{ name: '' }])).toThrow(/name cannot be null/);
    await call('POST', '/purchase-orders', {
      body: { title: 'x', parts: [{ id: 'PartSeal2210', quantity: 1 }] },
    });
    const state = (await call('GET', '/_sandbox/state')).body;
    expect(state.parts).toHaveLength(5);
    expect(state.purchaseOrders).toHaveLength(1);
    expect(state.requests).toEqual([]);
  });

  it('seeds the parts given in options instead of the defaults', async () => {
    const bare = await startUpKeepSimulator({
      clock,
      email: EMAIL,
      password: PASSWORD,
      parts: [{ id: 'OnlyOne', name: 'Only one', quantity: 1 }],
    });
    try {
      expect(bare.parts().map((p) => p.id)).toEqual(['OnlyOne']);
      bare.addParts([{ name: 'extra' }]);
      bare.reset();
      expect(bare.parts().map((p) => p.id)).toEqual(['OnlyOne']);
    } finally {
      await bare.close();
    }
  });
});

describe('UpKeep simulator: purchase orders', () => {
  it('validates a create: title, known parts listed once with a positive quantity, dates, fields', async () => {
    const post = (body: unknown) => call('POST', '/purchase-orders/', { body });
    expect((await post({ parts: [] })).body).toEqual({ success: false, message: 'title cannot be null' });
    expect((await post({ title: 'x', parts: [{ id: 'NoSuchPart', quantity: 1 }] })).body.message).toBe(
      'parts[0].id: part NoSuchPart not found',
    );
    expect(
      (
        await post({
          title: 'x',
          parts: [
            { id: 'PartSeal2210', quantity: 1 },
            { id: 'PartSeal2210', quantity: 1 },
          ],
        })
      ).body.message,
    ).toBe('parts[1].id: part PartSeal2210 is listed twice');
    expect((await post({ title: 'x', parts: [{ id: 'PartSeal2210', quantity: 0 }] })).status).toBe(400);
    expect((await post({ title: 'x', parts: [{ id: 'PartSeal2210', quantity: 1, price: 2 }] })).status).toBe(
      400,
    );
    expect((await post({ title: 'x', status: 'approved' })).body.message).toBe('status not in schema');
    expect((await post({ title: 'x', dueDate: 'next week' })).status).toBe(400);
    expect((await post({ title: 'x', tax: '12' })).status).toBe(400);
    expect(sim.purchaseOrders()).toEqual([]);
  });

  it('creates awaiting purchase orders with an incrementing number and the doc’s response shape', async () => {
    const first = await call('POST', '/purchase-orders', {
      body: {
        title: 'Belt shortage',
        parts: [{ id: 'PartBeltA42', quantity: 4 }],
        dueDate: '2026-11-09',
        tax: 12,
        companyName: 'Plant A',
      },
    });
    expect(first.body.result).toMatchObject({
      title: 'Belt shortage',
      status: 'awaiting',
      purchaseOrderNumber: 1,
      parts: ['PartBeltA42'],
      partQuantities: [4],
      partsPendingQuantities: { PartBeltA42: 4 },
      partialFulfillHistory: [],
      totalQuantity: 4,
      totalCost: 58,
      tax: 12,
      companyName: 'Plant A',
      dueDate: '2026-11-09T00:00:00.000Z',
      createdByUser: 'UserAdmin1',
    });
    clock.advance(1_000);
    const custom = await call('POST', '/purchase-orders', {
      body: { title: 'Custom', purchaseOrderNumber: 100 },
    });
    clock.advance(1_000);
    const second = await call('POST', '/purchase-orders', { body: { title: 'Second' } });
    expect([custom.body.result.purchaseOrderNumber, second.body.result.purchaseOrderNumber]).toEqual([
      100, 2,
    ]);

    const listed = await call('GET', '/purchase-orders?status=awaiting&orderBy=createdAt%20ASC');
    expect(listed.body.results.map((p: { title: string }) => p.title)).toEqual([
      'Belt shortage',
      'Custom',
      'Second',
    ]);
    expect(listed.body.results[0].parts).toBeUndefined();
    expect(listed.body.results[0].partsPendingQuantities).toEqual({ PartBeltA42: 4 });
    expect(idsOf(await call('GET', '/purchase-orders?title=Custom'))).toEqual([custom.body.result.id]);
    expect((await call('GET', '/purchase-orders?team=x')).body.message).toBe('invalid filter key: team');
    expect((await call('GET', `/purchase-orders/${first.body.result.id}`)).body.result.parts).toEqual([
      'PartBeltA42',
    ]);
    expect((await call('GET', '/purchase-orders/Nope')).status).toBe(404);
  });

  it('changes status with PATCH, stamps approvedAt, and partially fulfils with the documented messages', async () => {
    const { id } = (
      await call('POST', '/purchase-orders', {
        body: { title: 'Seals', parts: [{ id: 'PartSeal2210', quantity: 5 }] },
      })
    ).body.result;
    const patch = (body: unknown) => call('PATCH', `/purchase-orders/${id}`, { body });
    const receive = (n: unknown) =>
      patch({ statusAction: 'partially-fulfilled', partsReceived: { PartSeal2210: n } });

    expect((await receive(2)).body.message).toBe(
      'Can partially-fulfill only if status is approved or partially-fulfilled.',
    );
    expect((await patch({ status: 'closed' })).body.message).toBe(
      'status must be one of awaiting, approved, declined, fulfilled',
    );
    expect((await patch({ totalCost: 1 })).body.message).toBe('totalCost is not allowed to be set!');
    clock.advance(1_000);
    expect((await patch({ status: 'approved' })).body.result).toMatchObject({
      status: 'approved',
      approvedAt: '2026-11-02T08:00:01.000Z',
    });
    expect((await receive(-1)).body.message).toBe(
      'Invalid partial-fulfill values; should be valid positive numbers',
    );
    expect((await receive(6)).body.message).toBe(
      'Invalid partial-fulfillment values - should not be more than pending quantities',
    );
    const partial = await receive(2);
    expect(partial.body.result).toMatchObject({
      status: 'partially-fulfilled',
      partsPendingQuantities: { PartSeal2210: 3 },
      partialFulfillHistory: [{ user: 'UserAdmin1', received: { PartSeal2210: 2 } }],
    });
    const done = await receive(3);
    expect(done.body.result).toMatchObject({
      status: 'fulfilled',
      partsPendingQuantities: { PartSeal2210: 0 },
    });
    // Fulfilment does not restock the part (undocumented at UpKeep, reference §7.45).
    expect(sim.parts().find((p) => p.id === 'PartSeal2210')?.quantity).toBe(8);
    expect((await call('DELETE', `/purchase-orders/${id}`)).body.message).toBe('1 Purchase Order deleted');
    expect(sim.purchaseOrders()).toEqual([]);
  });
});

describe('UpKeep simulator: requests', () => {
  it('creates requests from a form body (as the doc’s curl does) or JSON, and lists them', async () => {
    const form = await call('POST', '/requests/', {
      form: { title: 'Repair sink', priority: '1', asset: 'AssetMill01', dueDate: '1515482422310' },
    });
    expect(form.body.result).toMatchObject({
      title: 'Repair sink',
      status: 'open',
      priority: 1,
      asset: 'AssetMill01',
      dueDate: '2018-01-09T07:20:22.310Z',
      requestedByUser: 'UserAdmin1',
    });
    clock.advance(1_000);
    const json = await call('POST', '/requests', { body: { title: 'Order belts', category: 'Stock' } });
    expect(json.status).toBe(200);
    expect((await call('POST', '/requests', { body: { description: 'x' } })).body.message).toBe(
      'title cannot be null',
    );
    expect((await call('POST', '/requests', { body: { title: 'x', parts: [] } })).body.message).toBe(
      'parts not in schema',
    );
    expect((await call('POST', '/requests', { body: { title: 'x', priority: 5 } })).status).toBe(400);
    expect(idsOf(await call('GET', '/requests?orderBy=createdAt%20ASC'))).toEqual([
      form.body.result.id,
      json.body.result.id,
    ]);
    expect(idsOf(await call('GET', '/requests?category=Stock'))).toEqual([json.body.result.id]);
    // No status filter is documented for requests (reference §7.41).
    expect((await call('GET', '/requests?status=open')).body.message).toBe('invalid filter key: status');
    expect((await call('GET', `/requests/${json.body.result.id}`)).body.result.title).toBe('Order belts');
    expect(sim.workRequests().map((r) => r.title)).toEqual(['Repair sink', 'Order belts']);
  });
});

describe('UpKeep simulator: purchase-order and request webhooks', () => {
  let target: Server;
  let hook: UpKeepSimulator;
  const bodies: { event: string; data: { id: string } }[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as AddressInfo;
    hook = await startUpKeepSimulator({
      clock,
      email: EMAIL,
      password: PASSWORD,
      webhook: { url: `http://127.0.0.1:${port}/h` },
    });
  });
  afterAll(async () => {
    await hook.close();
    await new Promise((resolve) => target.close(resolve));
  });

  it('posts PURCHASE_ORDER_CREATED/UPDATED/APPROVED and REQUEST_CREATED, and nothing for part changes', async () => {
    token = await login(hook);
    const po = await call('POST', '/purchase-orders', {
      target: hook,
      body: { title: 'Belts', parts: [{ id: 'PartBeltA42', quantity: 2 }] },
    });
    const poId = po.body.result.id as string;
    await call('PATCH', `/purchase-orders/${poId}`, { target: hook, body: { status: 'approved' } });
    const request = await call('POST', '/requests', { target: hook, body: { title: 'Check belts' } });
    await call('PATCH', '/parts/PartBeltA42', { target: hook, body: { quantity: 1 } });
    hook.consumePart('PartSeal2210', 1);
    await hook.flushWebhooks();
    expect(bodies.map((b) => [b.event, b.data.id]).sort()).toEqual(
      [
        ['PURCHASE_ORDER_CREATED', poId],
        ['PURCHASE_ORDER_UPDATED', poId],
        ['PURCHASE_ORDER_APPROVED', poId],
        ['REQUEST_CREATED', request.body.result.id],
      ].sort(),
    );
    expect(hook.webhookDeliveries().find((d) => d.event === 'PURCHASE_ORDER_CREATED')).toMatchObject({
      objectId: poId,
      attempt: 1,
      status: 200,
    });
    expect(hook.webhookDeliveries().every((d) => d.workOrderId === undefined)).toBe(true);
  });
});
