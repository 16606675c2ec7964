/**
 * Every simulator's saved state: what a simulator exports, another one started from it serves
 * unchanged (same `/_sandbox/state`), and the sequences ids come from carry on instead of restarting.
 * Plus the file store: it writes before the answer, atomically, and refuses what it cannot read.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startClickMaintSimulator } from '../../../functions/connectors/click-maint/simulator/index.ts';
import { startDeepomaticSimulator } from '../../../functions/connectors/deepomatic/simulator/index.ts';
import { startMachineMetricsSimulator } from '../../../functions/connectors/machinemetrics/simulator/index.ts';
import { startMobilityWorkSimulator } from '../../../functions/connectors/mobility-work/simulator/index.ts';
import { startUpKeepSimulator } from '../../../functions/connectors/upkeep/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import {
  fileStateStore,
  memoryStateStore,
  SimulatorStateError,
  type SimulatorStateStore,
} from '../../../sandbox/simulators/persistence.ts';
import type { Simulator } from '../../../sandbox/simulators/server.ts';

const START = '2026-11-02T08:00:00.000Z';
const MACHINE = '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c';
const MW_KEY = 'mw-key';
const MW_PART = 'PartBeltA42';

const open: Simulator[] = [];
const track = <S extends Simulator>(sim: S): S => {
  open.push(sim);
  return sim;
};
afterEach(async () => {
  for (const sim of open.splice(0)) await sim.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
type Json = any;

async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const stateOf = async (sim: Simulator) => (await call(`${sim.url}/_sandbox/state`, 'GET')).body;

/** A webhook receiver that records the bodies it gets (the MachineMetrics Workflow ids). */
let receiver: Server;
let receiverUrl: string;
const received: { id?: string }[] = [];
beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

describe('MachineMetrics simulator state', () => {
  const start = (store = memoryStateStore()) =>
    startMachineMetricsSimulator({
      clock: manualClock(START),
      apiKey: 'k',
      workflowWebhook: { url: receiverUrl, secret: 's', scheme: 'shared-secret-header' },
      store,
    }).then(track);

  it('restores the up/down history and continues the webhook ids', async () => {
    const store = memoryStateStore();
    const first = await start(store);
    await call(`${first.url}/_sandbox/machines/${MACHINE}/down`, 'POST', { at: '2026-11-02T07:00:00Z' });
    await call(`${first.url}/_sandbox/machines/${MACHINE}/up`, 'POST', { at: '2026-11-02T07:30:00Z' });
    first.down(MACHINE, { at: new Date('2026-11-02T07:45:00Z') });
    await first.flushWebhooks();
    const saved = first.exportState();
    expect(saved).toMatchObject({ simulator: 'machinemetrics', version: 1, webhookSequence: 3 });
    expect(store.saved).toEqual(saved);

    const second = await start(memoryStateStore(saved));
    expect(await stateOf(second)).toEqual(await stateOf(first));
    // The machine is still down: it can come back up, and the webhook id does not restart at 1 (the
    // ingress would drop `mmsim-1` as a duplicate of the first life's first event).
    second.up(MACHINE, { at: new Date('2026-11-02T07:50:00Z') });
    await second.flushWebhooks();
    expect(received.at(-1)?.id).toBe('mmsim-4');
  });
});

describe('UpKeep simulator state', () => {
  const start = (store: SimulatorStateStore = memoryStateStore()) =>
    startUpKeepSimulator({ clock: manualClock(START), email: 'e@x', password: 'p', store }).then(track);
  const session = async (url: string) => {
    const auth = await call(`${url}/api/v2/auth`, 'POST', { email: 'e@x', password: 'p' });
    return { 'session-token': auth.body.result.sessionToken as string };
  };

  it('restores every record and continues the work-order and purchase-order numbers', async () => {
    const first = await start();
    const api = `${first.url}/api/v2`;
    const auth = await session(first.url);
    const wo = await call(`${api}/work-orders`, 'POST', { title: 'Mill down', asset: 'AssetMill01' }, auth);
    await call(`${api}/work-orders/${wo.body.result.id}`, 'PATCH', { status: 'inProgress' }, auth);
    await call(`${api}/work-orders/${wo.body.result.id}/update-messages`, 'POST', { text: 'on it' }, auth);
    await call(
      `${api}/purchase-orders`,
      'POST',
      { title: 'Belts', parts: [{ id: MW_PART, quantity: 4 }] },
      auth,
    );
    await call(`${api}/requests`, 'POST', { title: 'Noise on press' }, auth);
    await call(
      `${api}/assets/downtime`,
      'POST',
      [{ assetId: 'AssetMill01', status: 'not-available', recordedOn: START }],
      auth,
    );
    first.consumePart('PartBearing6204', 2);

    const second = await start(memoryStateStore(first.exportState()));
    expect(await stateOf(second)).toEqual(await stateOf(first));
    // Sessions are not state: the client logs in again, as after a real session expiry.
    const again = await session(second.url);
    const next = await call(`${second.url}/api/v2/work-orders`, 'POST', { title: 'Next' }, again);
    expect(next.body.result.workOrderNo).toBe('002');
    const po = await call(`${second.url}/api/v2/purchase-orders`, 'POST', { title: 'More' }, again);
    expect(po.body.result.purchaseOrderNumber).toBe(2);
  });

  it('a read saves nothing (a save writes the whole world); a write saves before it answers', async () => {
    const inner = memoryStateStore();
    let calls = 0;
    const counting = {
      location: inner.location,
      restore: (apply: (saved: unknown) => void) => inner.restore(apply),
      save: (state: unknown) => {
        calls++;
        inner.save(state);
      },
    };
    const sim = await start(counting);
    const api = `${sim.url}/api/v2`;
    const auth = await session(sim.url);
    const before = calls;
    await call(`${api}/work-orders`, 'GET', undefined, auth);
    await call(`${api}/assets/AssetMill01`, 'GET', undefined, auth);
    await call(`${api}/parts`, 'GET', undefined, auth);
    expect(calls).toBe(before);
    await call(`${api}/work-orders`, 'POST', { title: 'Mill down', asset: 'AssetMill01' }, auth);
    expect(calls).toBe(before + 1);
    expect(JSON.stringify(inner.saved)).toContain('Mill down');
  });
  it('a commit hands the store the live records, not a deep copy of a world that grows with each write', async () => {
    const inner = memoryStateStore();
    const handed: { workOrders: unknown[] }[] = [];
    const capturing = {
      location: inner.location,
      restore: (apply: (saved: unknown) => void) => inner.restore(apply),
      save: (state: unknown) => {
        handed.push(state as { workOrders: unknown[] });
        inner.save(state);
      },
    };
    const sim = await start(capturing);
    const auth = await session(sim.url);
    await call(`${sim.url}/api/v2/work-orders`, 'POST', { title: 'One' }, auth);
    await call(`${sim.url}/api/v2/work-orders`, 'POST', { title: 'Two' }, auth);
    const [first, last] = [handed.at(-2), handed.at(-1)];
    // One live list, handed twice (a copy per commit would be two lists)...
    expect(last?.workOrders).toBe(first?.workOrders);
    // ...saved as exportState (a deep copy, for everyone else) reads it.
    expect(inner.saved).toEqual(sim.exportState());
  });
});

describe('Mobility Work simulator state', () => {
  const start = (store = memoryStateStore(), applyDelayMs = 60_000) =>
    startMobilityWorkSimulator({ clock: manualClock(START), apiKey: MW_KEY, applyDelayMs, store }).then(
      track,
    );
  const key = { 'api-key': MW_KEY };

  it('restores tasks, stock and the 202 writes not yet applied, and applies them after the restart', async () => {
    const first = await start();
    const task = {
      equipment: 2507,
      description: 'Spindle vibration',
      startDateTime: '2026-11-02T09:00:00+01:00',
      endDateTime: '2026-11-02T10:00:00+01:00',
      allDay: false,
      assignees: [3],
      metadata: { millwrightKey: 'ep-1' },
    };
    expect((await call(`${first.url}/partners/v1/tasks`, 'POST', task, key)).status).toBe(201);
    const [created] = first.tasks();
    first.addActivity(created?.id ?? '', {
      comment: 'bearing swapped',
      consume: [{ externalReference: MW_PART, quantity: 1 }],
    });
    first.startTask(created?.id ?? '');
    const move = [
      { id: { type: 'externalReference', value: MW_PART }, movement: { type: 'inventory', quantity: 9 } },
    ];
    expect(
      (await call(`${first.url}/partners/v1/spare-parts/movements/bulk`, 'POST', move, key)).status,
    ).toBe(202);
    const saved = first.exportState();
    expect(saved.pendingWrites).toHaveLength(1);

    const second = await start(memoryStateStore(saved));
    expect(await stateOf(second)).toEqual(await stateOf(first));
    await second.settle();
    expect(second.spareParts().find((p) => p.externalReference === MW_PART)?.stock).toBe(9);
    expect(second.exportState()).toMatchObject({ pendingWrites: [], writeSequence: 1 });
  });

  it('applies a restored 202 write on its own timer and saves the result', async () => {
    const first = await start();
    const move = [
      { id: { type: 'externalReference', value: MW_PART }, movement: { type: 'inventory', quantity: 7 } },
    ];
    await call(`${first.url}/partners/v1/spare-parts/movements/bulk`, 'POST', move, key);
    const store = memoryStateStore(first.exportState());
    const second = await start(store, 5);
    for (let i = 0; i < 100 && second.exportState().pendingWrites.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(second.spareParts().find((p) => p.externalReference === MW_PART)?.stock).toBe(7);
    expect(store.saved).toMatchObject({ pendingWrites: [] });
  });
});

describe('Click Maint simulator state', () => {
  const start = (store = memoryStateStore()) =>
    startClickMaintSimulator({ clock: manualClock(START), apiKey: 'cm', store }).then(track);
  const headers = { authorization: 'Bearer cm', 'x-entity-id': '1' };

  it('restores records and continues work-order and transaction ids (not the rate window or stats)', async () => {
    const first = await start();
    const api = `${first.url}/api/v1`;
    await call(`${api}/work_orders`, 'POST', { work_order: { title: 'Fix spindle', asset_id: 45 } }, headers);
    await call(`${api}/parts/102/restock`, 'PATCH', { quantity: 4, cost: 18.4 }, headers);
    first.consume(101, 1);

    const second = await start(memoryStateStore(first.exportState()));
    const { stats: _a, ...before } = await stateOf(first);
    const { stats: _b, ...after } = await stateOf(second);
    expect(after).toEqual(before);
    expect(second.stats()).toMatchObject({ unauthorized: 0, rateLimited: 0 });
    const next = await call(
      `${second.url}/api/v1/work_orders`,
      'POST',
      { work_order: { title: 'Next' } },
      headers,
    );
    expect(next.body.data.id).toBe(1002);
    second.restock(103, 1);
    expect(second.transactions().map((t) => t.id)).toEqual([1, 2, 3]);
  });
});

describe('Deepomatic simulator state', () => {
  const clock = manualClock(START);
  const start = (store = memoryStateStore()) =>
    startDeepomaticSimulator({ clock, apiKey: 'dm', store }).then(track);
  const auth = { authorization: 'Token dm' };

  it('restores work orders (progress keeps following the clock) and never reuses an id', async () => {
    const first = await start();
    const a = await call(
      `${first.url}/v0.2/work-orders/`,
      'POST',
      { name: 'wo-a', metadata: { k: 1 } },
      auth,
    );
    await call(`${first.url}/v0.2/work-orders/`, 'POST', { name: 'wo-b', metadata: {} }, auth);
    first.setOutcome('wo-b', 'failed', { review: true });
    first.reset(); // forgets the work orders, not the sequence
    const c = await call(`${first.url}/v0.2/work-orders/`, 'POST', { name: 'wo-c', metadata: {} }, auth);
    clock.advance(2 * 60_000);

    const second = await start(memoryStateStore(first.exportState()));
    expect(await stateOf(second)).toEqual(await stateOf(first));
    expect(second.workOrder('wo-c')?.progress_score).toBe(40);
    const d = await call(`${second.url}/v0.2/work-orders/`, 'POST', { name: 'wo-d', metadata: {} }, auth);
    expect(new Set([a.body.id, c.body.id, d.body.id]).size).toBe(3);
  });
});

describe('the file store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'millwright-sim-state-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the change before the simulator answers, with no temporary file left behind', async () => {
    const file = join(dir, 'deepomatic.json');
    const sim = await startDeepomaticSimulator({
      clock: manualClock(START),
      apiKey: 'dm',
      store: fileStateStore(file),
    });
    track(sim);
    // Written at start, so the data folder always has the simulators' side.
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ simulator: 'deepomatic', workOrders: [] });
    const created = await call(
      `${sim.url}/v0.2/work-orders/`,
      'POST',
      { name: 'wo-a' },
      { authorization: 'Token dm' },
    );
    // Read as soon as the answer arrives: the write happened before it was sent.
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.workOrders.map((w: { id: string }) => w.id)).toEqual([created.body.id]);
    expect(readdirSync(dir)).toEqual(['deepomatic.json']);
  });

  it('refuses a file that is not JSON, naming it and the way out', async () => {
    const file = join(dir, 'upkeep.json');
    writeFileSync(file, '{"simulator": "upkeep", "version": 1, "workOrd');
    const starting = startUpKeepSimulator({
      clock: manualClock(START),
      email: 'e',
      password: 'p',
      store: fileStateStore(file),
    });
    await expect(starting).rejects.toThrow(SimulatorStateError);
    await expect(starting).rejects.toThrow(
      new RegExp(`${file}: it is not valid JSON .*npm start -- --reset`),
    );
  });

  it('refuses a state of another version or another simulator instead of reseeding', async () => {
    const file = join(dir, 'click-maint.json');
    const start = () =>
      startClickMaintSimulator({ clock: manualClock(START), apiKey: 'cm', store: fileStateStore(file) });
    writeFileSync(file, JSON.stringify({ simulator: 'click-maint', version: 99 }));
    await expect(start()).rejects.toThrow('it has state version 99; this sandbox reads version 1');
    writeFileSync(file, JSON.stringify({ simulator: 'upkeep', version: 1 }));
    await expect(start()).rejects.toThrow('it holds the state of simulator "upkeep", not click-maint');
    writeFileSync(file, JSON.stringify({ simulator: 'click-maint', version: 1, parts: {} }));
    await expect(start()).rejects.toThrow('parts (array), assets (array)');
    // Nothing was overwritten by the refused starts.
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      simulator: 'click-maint',
      version: 1,
      parts: {},
    });
  });
});
