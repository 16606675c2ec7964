/** UpKeepClient parts, purchase orders and requests, against the simulator over HTTP. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UpKeepInputError, UpKeepPageLimitError } from '../../../functions/connectors/upkeep/client.ts';
import { AmbiguousWriteError, VendorHttpError, VendorResponseError } from '../../../functions/core/errors.ts';
import { callsTo, type Harness, startHarness } from './support.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sim.close();
});
beforeEach(() => {
  h.sim.reset();
  h.delays.length = 0;
});

const partsPath = '/api/v2/parts';
const poPath = '/api/v2/purchase-orders';
const T0 = Date.parse('2026-11-02T08:00:00.000Z');

/** A part record as UpKeep sends it, for fault-injected bodies. */
const wirePart = (overrides: Record<string, unknown> = {}) => ({
  id: 'PartWire001',
  name: 'Wire part',
  quantity: '5',
  minimumQuantity: '1',
  cost: '88.00',
  partName: 'PT-1',
  createdAt: '2026-11-02T08:00:00.000Z',
  updatedAt: '2026-11-02T08:00:00.000Z',
  ...overrides,
});

describe('UpKeepClient parts', () => {
  it('parses the string quantity, minimum and cost UpKeep returns into numbers', async () => {
    const part = await h.client().getPart('PartBearing6204');
    expect(part).toEqual({
      id: 'PartBearing6204',
      name: 'Deep groove ball bearing 6204-2RS',
      description: null,
      quantity: 12,
      minimumQuantity: 4,
      cost: 6.4,
      partNumber: '6204-2RS',
      partId: null,
      serial: null,
      category: 'Bearings',
      location: 'LocShopA01',
      createdAt: '2026-11-02T08:00:00.000Z',
      updatedAt: '2026-11-02T08:00:00.000Z',
      createdAtMs: T0,
      updatedAtMs: T0,
    });
    // The simulator sends strings, like UpKeep.
    expect(callsTo(h.sim, 'GET /parts/PartBearing6204')).toHaveLength(1);
  });

  it('reads a minimum that is absent, null or empty as null', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${partsPath}`,
      status: 200,
      body: {
        success: true,
        results: [
          wirePart({ id: 'A', minimumQuantity: undefined, cost: undefined }),
          wirePart({ id: 'B', minimumQuantity: null, cost: null }),
          wirePart({ id: 'C', minimumQuantity: '', cost: '' }),
          wirePart({ id: 'D', minimumQuantity: ' 2 ', quantity: 7, cost: '1.5' }),
        ],
      },
    });
    const { items: parts } = await client.listParts();
    expect(parts.map((p) => [p.id, p.quantity, p.minimumQuantity, p.cost])).toEqual([
      ['A', 5, null, null],
      ['B', 5, null, null],
      ['C', 5, null, null],
      ['D', 7, 2, 1.5],
    ]);
  });

  it('returns the other parts of a page and names a non-numeric quantity, its field and its record', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${partsPath}`,
      status: 200,
      body: {
        success: true,
        results: [
          wirePart(),
          wirePart({ id: 'PartBad0002', quantity: 'five' }),
          wirePart({ id: 'PartWire003' }),
        ],
      },
    });
    const page = await client.listParts();
    expect(page.items.map((p) => p.id)).toEqual(['PartWire001', 'PartWire003']);
    expect(page.skipped).toEqual([
      {
        record: 'PartBad0002',
        field: 'quantity',
        message: 'expected a number or a numeric string, got "five"',
        updatedAtMs: T0,
      },
    ]);
  });

  it('names a record without a readable id by its position, and gives no place without updatedAt', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${partsPath}`,
      status: 200,
      body: { success: true, results: [wirePart({ id: 7, updatedAt: undefined }), wirePart()] },
    });
    const page = await client.listParts();
    expect(page.items.map((p) => p.id)).toEqual(['PartWire001']);
    expect(page.skipped).toEqual([{ record: '7', field: 'id', message: 'expected string (got 7)' }]);
  });

  it('still fails the whole call when the envelope is wrong (results not a list)', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${partsPath}`,
      status: 200,
      body: { success: true, results: { id: 'PartWire001' } },
    });
    const error = (await client.listParts().catch((e: unknown) => e)) as VendorResponseError;
    expect(error).toBeInstanceOf(VendorResponseError);
    expect(error.field).toBe('results');
    expect(error.operation).toBe('listParts');
  });

  it('reads a quantity that is absent, null or empty as unknown (null), never as 0', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${partsPath}`,
      status: 200,
      body: {
        success: true,
        results: [
          wirePart({ id: 'A', quantity: undefined }),
          wirePart({ id: 'B', quantity: null }),
          wirePart({ id: 'C', quantity: '' }),
          wirePart({ id: 'D', quantity: '0' }),
        ],
      },
    });
    const page = await client.listParts();
    expect(page.skipped).toEqual([]);
    expect(page.items.map((p) => [p.id, p.quantity])).toEqual([
      ['A', null],
      ['B', null],
      ['C', null],
      ['D', 0],
    ]);
  });

  it('names each part field that does not parse: bad quantity, bad minimum, bad cost, bad timestamp', async () => {
    const client = h.client();
    const fieldOf = async (part: Record<string, unknown>) => {
      h.sim.faults.push({ match: `GET ${partsPath}/`, status: 200, body: { success: true, result: part } });
      const error = (await client.getPart('PartWire001').catch((e: unknown) => e)) as VendorResponseError;
      expect(error).toBeInstanceOf(VendorResponseError);
      return error.field;
    };
    expect(await fieldOf(wirePart({ quantity: 'five' }))).toBe('part.quantity');
    expect(await fieldOf(wirePart({ quantity: {} }))).toBe('part.quantity');
    expect(await fieldOf(wirePart({ minimumQuantity: 'n/a' }))).toBe('part.minimumQuantity');
    expect(await fieldOf(wirePart({ cost: '$4' }))).toBe('part.cost');
    expect(await fieldOf(wirePart({ updatedAt: 'yesterday' }))).toBe('part.updatedAt');
    expect(await fieldOf(wirePart({ id: undefined }))).toBe('part.id');
  });

  it('reads partNumber from partName (responses) or partNumber, and treats zone-less timestamps as UTC', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${partsPath}`,
      status: 200,
      body: {
        success: true,
        results: [
          wirePart({ id: 'A', partName: undefined, partNumber: 'PN-9' }),
          wirePart({ id: 'B', partName: null, updatedAt: '2026-11-02T08:00:01' }),
        ],
      },
    });
    const [a, b] = (await client.listParts()).items;
    expect(a?.partNumber).toBe('PN-9');
    expect(b?.partNumber).toBeUndefined();
    expect(b?.updatedAtMs).toBe(T0 + 1000);
  });

  it('maps part filters to the documented query names and never sends unknown keys', async () => {
    await h.client().listParts({
      name: 'Classic V-belt A42',
      updatedAtGte: 1_700_000_000_000,
      createdAtLte: 1_800_000_000_000,
      orderBy: 'updatedAt ASC',
      limit: 50,
      offset: 0,
      quantityLessThan: 3,
    } as never);
    expect(callsTo(h.sim, 'GET /parts')[0]?.query).toEqual({
      name: ['Classic V-belt A42'],
      updatedAtGreaterThanOrEqualTo: ['1700000000000'],
      createdAtLessThanOrEqualTo: ['1800000000000'],
      orderBy: ['updatedAt ASC'],
      limit: ['50'],
      offset: ['0'],
    });
  });

  it('returns undefined for a part UpKeep does not have', async () => {
    await expect(h.client().getPart('NoSuchPart')).resolves.toBeUndefined();
  });

  it('sets an absolute quantity and minimum with PATCH, and retries it after a timeout (safe to repeat)', async () => {
    const client = h.client({ http: { timeoutMs: 150 } });
    h.clock.advance(5_000);
    h.sim.faults.push({ match: `PATCH ${partsPath}/`, timeoutAfterWrite: true, delayMs: 5_000 });
    const part = await client.updatePart('PartBeltA42', { quantity: 10, minimumQuantity: null });
    expect(part).toMatchObject({ quantity: 10, minimumQuantity: null, updatedAtMs: T0 + 5_000 });
    expect(callsTo(h.sim, 'PATCH /parts/PartBeltA42')).toHaveLength(2);
    expect(h.sim.parts().find((p) => p.id === 'PartBeltA42')).toMatchObject({ quantity: 10 });
  });

  it('refuses part input UpKeep would reject, before sending anything', async () => {
    const client = h.client();
    await expect(client.updatePart('PartBeltA42', { quantity: -1 })).rejects.toThrow(UpKeepInputError);
    await expect(client.updatePart('PartBeltA42', { qty: 1 } as never)).rejects.toThrow(/unknown key/);
    await expect(client.updatePart('', { quantity: 1 })).rejects.toThrow(/id/);
    await expect(client.listParts({ orderBy: 'quantity ASC' })).rejects.toThrow(/orderBy/);
    expect(h.sim.calls()).toEqual([]);
  });
});

describe('UpKeepClient purchase orders', () => {
  it('creates a purchase order with part lines and returns it parsed', async () => {
    const po = await h.client().createPurchaseOrder({
      title: 'Restock: Classic V-belt A42',
      description: 'stock under the minimum',
      parts: [{ id: 'PartBeltA42', quantity: 4 }],
      dueDate: '2026-11-09',
    });
    expect(po).toMatchObject({
      title: 'Restock: Classic V-belt A42',
      status: 'awaiting',
      purchaseOrderNumber: 1,
      parts: [{ id: 'PartBeltA42', quantity: 4 }],
      partsPendingQuantities: { PartBeltA42: 4 },
      dueDate: '2026-11-09T00:00:00.000Z',
    });
    expect(h.sim.purchaseOrders().map((p) => p.id)).toEqual([po.id]);
  });

  it('turns a create that timed out after the write into AmbiguousWriteError without re-sending it', async () => {
    const client = h.client({ http: { timeoutMs: 150 } });
    await client.listPurchaseOrders();
    h.sim.faults.push({ match: `POST ${poPath}`, timeoutAfterWrite: true, delayMs: 5_000 });
    const error = await client
      .createPurchaseOrder({ title: 'Restock', parts: [{ id: 'PartSeal2210', quantity: 2 }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousWriteError);
    expect(h.sim.purchaseOrders()).toHaveLength(1);
    expect(callsTo(h.sim, 'POST /purchase-orders')).toHaveLength(1);
    // The caller looks for the effect before acting again.
    const found = await client.listAllPurchaseOrders({ title: 'Restock', createdAtGte: T0 });
    expect(found.map((p) => p.id)).toEqual([h.sim.purchaseOrders()[0]?.id]);
  });

  it('reads a single purchase order with its lines, and the list without them', async () => {
    const client = h.client();
    const created = await client.createPurchaseOrder({
      title: 'Filters',
      parts: [
        { id: 'PartFilterHF35', quantity: 10 },
        { id: 'PartSeal2210', quantity: 4 },
      ],
    });
    const one = await client.getPurchaseOrder(created.id);
    expect(one?.parts).toEqual([
      { id: 'PartFilterHF35', quantity: 10 },
      { id: 'PartSeal2210', quantity: 4 },
    ]);
    const [listed] = await client.listPurchaseOrders();
    expect(listed?.parts).toBeUndefined();
    expect(listed?.partsPendingQuantities).toEqual({ PartFilterHF35: 10, PartSeal2210: 4 });
    await expect(client.getPurchaseOrder('NoSuchPo00')).resolves.toBeUndefined();
  });

  it('names a response field that breaks the shape (parts and partQuantities must pair up)', async () => {
    const client = h.client();
    h.sim.faults.push({
      match: `GET ${poPath}/`,
      status: 200,
      body: {
        success: true,
        result: {
          id: 'Po1',
          title: 't',
          status: 'awaiting',
          parts: ['A', 'B'],
          partQuantities: [1],
          createdAt: 'x',
          updatedAt: 'y',
        },
      },
    });
    const error = (await client.getPurchaseOrder('Po1').catch((e: unknown) => e)) as VendorResponseError;
    expect(error).toBeInstanceOf(VendorResponseError);
    expect(error.field).toBe('result.partQuantities');
  });

  it('pages every purchase order with offset until a short page', async () => {
    const client = h.client();
    for (let i = 0; i < 5; i++) {
      await client.createPurchaseOrder({ title: `po ${i}` });
      h.clock.advance(1_000);
    }
    const all = await client.listAllPurchaseOrders({ orderBy: 'createdAt ASC' }, { pageSize: 2 });
    expect(all.map((p) => p.title)).toEqual(['po 0', 'po 1', 'po 2', 'po 3', 'po 4']);
    expect(
      callsTo(h.sim, 'GET /purchase-orders').map((c) => [c.query.offset?.[0], c.query.limit?.[0]]),
    ).toEqual([
      ['0', '2'],
      ['2', '2'],
      ['4', '2'],
    ]);
    await expect(client.listAllPurchaseOrders({}, { pageSize: 2, maxPages: 2 })).rejects.toThrow(
      UpKeepPageLimitError,
    );
  });

  it('sends only documented purchase-order filters and refuses bad input before sending', async () => {
    const client = h.client();
    await client.listPurchaseOrders({ status: 'awaiting', createdAtGte: T0, team: 'x' } as never);
    expect(callsTo(h.sim, 'GET /purchase-orders')[0]?.query).toEqual({
      status: ['awaiting'],
      createdAtGreaterThanOrEqualTo: [String(T0)],
    });
    const before = h.sim.calls().length;
    await expect(client.listPurchaseOrders({ status: 'open' })).rejects.toThrow(/status/);
    await expect(client.createPurchaseOrder({ title: '' })).rejects.toThrow(UpKeepInputError);
    await expect(client.createPurchaseOrder({ title: 'x', dueDate: '09/11/2026' })).rejects.toThrow(
      /dueDate/,
    );
    await expect(
      client.createPurchaseOrder({
        title: 'x',
        parts: [
          { id: 'PartSeal2210', quantity: 1 },
          { id: 'PartSeal2210', quantity: 2 },
        ],
      }),
    ).rejects.toThrow(/only once/);
    await expect(
      client.createPurchaseOrder({ title: 'x', parts: [{ id: 'PartSeal2210', quantity: 0 }] }),
    ).rejects.toThrow(/quantity/);
    expect(h.sim.calls()).toHaveLength(before);
  });

  describe('when UpKeep answers 404 past the end', () => {
    let h404: Harness;
    beforeAll(async () => {
      h404 = await startHarness({ pastEndStatus: 404 });
    });
    afterAll(async () => {
      await h404.sim.close();
    });

    it('treats a 404 on a later page as the end of the list', async () => {
      const client = h404.client();
      for (let i = 0; i < 4; i++) await client.createPurchaseOrder({ title: `po ${i}` });
      await expect(client.listAllPurchaseOrders({}, { pageSize: 2 })).resolves.toHaveLength(4);
      expect(h404.sim.requests.filter((r) => r === `GET ${poPath}/`)).toHaveLength(3);
      h404.sim.faults.push({ match: `GET ${poPath}`, status: 404 });
      await expect(client.listAllPurchaseOrders({}, { pageSize: 2 })).rejects.toThrow(VendorHttpError);
    });
  });
});

describe('UpKeepClient requests', () => {
  it('creates a work request and lists it with documented filters only', async () => {
    const client = h.client();
    const created = await client.createRequest({
      title: 'Belt A42 stock low',
      description: 'Mobility Work says out of stock',
      priority: 2,
      asset: 'AssetMill01',
      dueDate: T0 + 86_400_000,
    });
    expect(created).toMatchObject({
      title: 'Belt A42 stock low',
      status: 'open',
      priority: 2,
      asset: 'AssetMill01',
      dueDate: '2026-11-03T08:00:00.000Z',
    });
    const rows = await client.listRequests({ asset: 'AssetMill01', status: 'open' } as never);
    expect(rows.map((r) => r.id)).toEqual([created.id]);
    expect(callsTo(h.sim, 'GET /requests')[0]?.query).toEqual({ asset: ['AssetMill01'] });
    await expect(client.createRequest({ title: 'x', priority: 9 as never })).rejects.toThrow(
      UpKeepInputError,
    );
  });
});
