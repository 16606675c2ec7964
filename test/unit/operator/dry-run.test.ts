/**
 * The dry run's vendor transport (operator/dry-run.ts) and each connector's dry-run answers: reads
 * reach the vendor, writes are recorded (credentials redacted) and answered so that the connector's
 * own client parses the answer, and writes that only read (UpKeep's login) are sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ClickMaintClient } from '../../../functions/connectors/click-maint/client.ts';
import { parseClickMaintConfig } from '../../../functions/connectors/click-maint/config.ts';
import { connectDeepomatic } from '../../../functions/connectors/deepomatic/client.ts';
import { connectors } from '../../../functions/connectors/index.ts';
import { connectMachineMetrics } from '../../../functions/connectors/machinemetrics/client.ts';
import { connectMobilityWork } from '../../../functions/connectors/mobility-work/client.ts';
import { connectUpKeep } from '../../../functions/connectors/upkeep/client.ts';
import { rememberCredential } from '../../../functions/core/errors.ts';
import type { RuntimeEnv } from '../../../functions/core/flow.ts';
import { silentLog } from '../../../functions/core/log.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { DryRunAnswerError, dryRunTransport, type RecordedWrite } from '../../../operator/dry-run.ts';
import { type Harness, SECRET_NAME, startHarness } from '../upkeep/support.ts';

const dryRuns = new Map(connectors.map((c) => [c.id, c.dryRun]));

/** A fetch that answers GETs from `records` (by path) and counts every call it got. */
function stubVendor(records: Record<string, unknown> = {}) {
  const calls: string[] = [];
  const fetch: typeof globalThis.fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    calls.push(`${init.method ?? 'GET'} ${url.pathname}`);
    const record = records[url.pathname];
    return record === undefined
      ? new Response('{"message":"not found"}', { status: 404 })
      : new Response(JSON.stringify(record), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
  }) as typeof fetch;
  return { calls, fetch };
}

function transportFor(fetch: typeof globalThis.fetch) {
  const writes: RecordedWrite[] = [];
  const transport = dryRunTransport({ connectors: dryRuns, record: (w) => writes.push(w), fetch });
  return { writes, transport };
}

const secrets = (values: Record<string, unknown>) => ({
  getJson: async (name: string) => structuredClone(values[name]),
});

const envWith = (
  vendors: RuntimeEnv['vendors'],
  values: Record<string, unknown>,
  transport: RuntimeEnv['transport'],
): RuntimeEnv => ({
  vendors,
  secrets: secrets(values),
  state: {} as StateStore,
  log: silentLog,
  now: () => new Date('2026-03-02T08:00:00.000Z'),
  transport,
});

describe('dryRunTransport', () => {
  it('passes reads through and records writes with credentials redacted, answering 200', async () => {
    const vendor = stubVendor({ '/things/1': { id: 1 } });
    const { writes, transport } = transportFor(vendor.fetch);
    const send = transport('throwaway');
    rememberCredential('tok-9f8e7d6c5b4a');
    expect(await (await send('https://api.example/things/1')).json()).toEqual({ id: 1 });
    const answer = await send('https://api.example/things', {
      method: 'POST',
      body: JSON.stringify({ name: 'x', note: 'key tok-9f8e7d6c5b4a' }),
    });
    expect(answer.status).toBe(200);
    expect(vendor.calls).toEqual(['GET /things/1']);
    expect(writes).toEqual([
      {
        kind: 'vendor',
        vendor: 'throwaway',
        method: 'POST',
        url: 'https://api.example/things',
        body: { name: 'x', note: 'key [REDACTED]' },
        answered: 200,
      },
    ]);
  });

  it('records a write whose answer could not be built, and fails it', async () => {
    const { writes, transport } = transportFor(stubVendor().fetch);
    const error = await transport('upkeep')('https://api.example/api/v2/work-orders/gone000001', {
      method: 'PATCH',
      body: JSON.stringify({ status: 'complete' }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DryRunAnswerError);
    expect(writes[0]).toMatchObject({ method: 'PATCH', error: expect.stringContaining('HTTP 404') });
  });
});

describe('UpKeep in a dry run (simulator)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.close());
  beforeEach(() => h.sim.reset());

  const dryClient = () => {
    const { writes, transport } = transportFor(fetch);
    const env = envWith(
      { upkeep: { baseUrl: h.sim.baseUrl, secretName: SECRET_NAME } },
      { [SECRET_NAME]: { email: 'integration@plant.example', password: 'Pw-7f3c9a1e-never-log-me' } },
      transport,
    );
    return { writes, client: connectUpKeep(env, { http: { sleep: async () => {} } }) };
  };

  it('logs in for real, reads for real, and records the create without sending it', async () => {
    const { writes, client } = dryClient();
    const created = await client.createWorkOrder({ title: 'Machine down: Mill 01', asset: 'AssetMill01' });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^dry-run-\d+$/),
      title: 'Machine down: Mill 01',
    });
    expect(created.status).toBe('open');
    expect(await client.listWorkOrders()).toEqual([]);
    expect(h.sim.workOrders()).toEqual([]);
    expect(h.sim.authAttempts()).toBe(1);
    expect(writes).toEqual([
      expect.objectContaining({
        vendor: 'upkeep',
        method: 'POST',
        url: `${h.sim.baseUrl}/work-orders/`,
        body: { title: 'Machine down: Mill 01', asset: 'AssetMill01' },
      }),
    ]);
  });

  it('answers a PATCH with the record read from UpKeep, the change applied, and leaves UpKeep as it was', async () => {
    const real = connectUpKeep(
      envWith(
        { upkeep: { baseUrl: h.sim.baseUrl, secretName: SECRET_NAME } },
        { [SECRET_NAME]: { email: 'integration@plant.example', password: 'Pw-7f3c9a1e-never-log-me' } },
        undefined,
      ),
    );
    const wo = await real.createWorkOrder({ title: 'Check spindle' });
    const { client } = dryClient();
    const updated = await client.updateWorkOrder(wo.id, { status: 'complete' });
    expect(updated).toMatchObject({ id: wo.id, title: 'Check spindle', status: 'complete' });
    expect((await real.getWorkOrder(wo.id))?.status).toBe('open');
    const part = await client.updatePart('PartBeltA42', { quantity: 9 });
    expect(part).toMatchObject({ id: 'PartBeltA42', quantity: 9 });
    expect((await real.getPart('PartBeltA42'))?.quantity).toBe(3);
  });

  it('answers purchase orders and downtime records in the shapes the client reads', async () => {
    const { client } = dryClient();
    const po = await client.createPurchaseOrder({
      title: 'Restock belts',
      parts: [{ id: 'PartBeltA42', quantity: 4 }],
    });
    expect(po).toMatchObject({
      title: 'Restock belts',
      status: 'awaiting',
      parts: [{ id: 'PartBeltA42', quantity: 4 }],
    });
    const rows = await client.recordAssetDowntime([
      { assetId: 'AssetMill01', status: 'not-available', recordedOn: '2026-03-02T06:25:00.000Z' },
    ]);
    expect(rows).toEqual([expect.objectContaining({ assetId: 'AssetMill01', row: 1 })]);
    expect(h.sim.calls().map((c) => c.line)).toEqual(['POST /auth']);
  });
});

describe('the other connectors in a dry run (their clients parse the answers)', () => {
  it('Click Maint: a created work order, and a restock answered from the part read', async () => {
    const base = 'https://cm.example/api/v1';
    const vendor = stubVendor({
      '/api/v1/parts/102': {
        status: 'success',
        data: { id: 102, name: 'V-Belt B52', on_hand_qty: 2, min_qty: 3, updated_at: '2026-03-02T08:05:00Z' },
      },
    });
    const { writes, transport } = transportFor(vendor.fetch);
    const client = new ClickMaintClient({
      config: parseClickMaintConfig({ baseUrl: base, secretName: 'cm', entities: [1] }),
      loadApiKey: async () => 'cm-key-0123456789',
      http: { fetch: transport('click-maint') },
    });
    const wo = await client.createWorkOrder(1, {
      title: 'Machine down: Lathe 02',
      priority: 'high',
      asset_id: 46,
    });
    expect(wo).toMatchObject({ title: 'Machine down: Lathe 02', priority: 'high' });
    expect(wo.id).toBeGreaterThan(900_000_000);
    const part = await client.restockPart(1, 102, { quantity: 4, cost: 18.4 });
    expect(part).toMatchObject({ id: 102, onHandQty: 6 });
    expect(vendor.calls).toEqual(['GET /api/v1/parts/102']);
    expect(writes.map((w) => (w.kind === 'vendor' ? `${w.method} ${new URL(w.url).pathname}` : ''))).toEqual([
      'POST /api/v1/work_orders',
      'PATCH /api/v1/parts/102/restock',
    ]);
  });

  it('Deepomatic: a created work order and a delete', async () => {
    const { writes, transport } = transportFor(stubVendor().fetch);
    const client = connectDeepomatic(
      envWith(
        { deepomatic: { baseUrl: 'https://dp.example/api/v1', secretName: 'dp' } },
        { dp: { apiKey: 'dp-key-0123456789abcdef' } },
        transport,
      ),
    );
    const wo = await client.createWorkOrder({
      name: 'upkeep-WoMill0001',
      metadata: { cmms: 'upkeep' },
      work_order_types: ['photo-validation'],
    });
    expect(wo).toMatchObject({
      name: 'upkeep-WoMill0001',
      progress_score: 0,
      types: [{ name: 'photo-validation' }],
    });
    expect(await client.deleteWorkOrder(wo.id)).toBe('deleted');
    expect(writes.map((w) => (w.kind === 'vendor' ? w.method : ''))).toEqual(['POST', 'DELETE']);
  });

  it('Mobility Work: a scheduled task is recorded, answered 201', async () => {
    const { writes, transport } = transportFor(stubVendor().fetch);
    const client = connectMobilityWork(
      envWith(
        {
          'mobility-work': {
            baseUrl: 'https://mw.example',
            secretName: 'mw',
            networkId: '17df9a0f-5c04-43c8-b010-b48e1237e6ff',
          },
        },
        { mw: { apiKey: '913a8f7cef6ff084f1635511b9c7d07c3bab2816' } },
        transport,
      ),
    );
    expect(
      await client.scheduleTask({
        equipment: 'EQ-MILL-01',
        description: 'Machine down: Mill 01',
        startDateTime: '2026-03-02T06:41:00+00:00',
        endDateTime: '2026-03-02T07:41:00+00:00',
        allDay: false,
        assignees: ['tech@plant.example'],
      }),
    ).toEqual({ accepted: true });
    expect(writes).toEqual([
      expect.objectContaining({ vendor: 'mobility-work', method: 'POST', answered: 201 }),
    ]);
  });

  it('MachineMetrics: a report query is a read, sent to the vendor', async () => {
    const vendor = stubVendor();
    const { writes, transport } = transportFor(vendor.fetch);
    const client = connectMachineMetrics(
      envWith(
        { machinemetrics: { baseUrl: 'https://mm.example', secretName: 'mm' } },
        { mm: { apiKey: 'mm-key-0123456789abcdef' } },
        transport,
      ),
      { http: { maxAttempts: 1 } },
    );
    await client
      .downtimeReport({
        start: new Date('2026-03-02T06:00:00.000Z'),
        end: new Date('2026-03-02T07:00:00.000Z'),
        groupBy: ['machine'],
      })
      .catch(() => undefined);
    expect(vendor.calls).toEqual(['POST /reports/downtime']);
    expect(writes).toEqual([]);
  });
});
