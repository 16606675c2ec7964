/**
 * The console's sandbox page API against a real in-process sandbox: the simulators' records and
 * the controls. A machine taken down from the console becomes runs its subject search finds, and an
 * UpKeep work order the page lists; consuming a part changes the stock it shows. A stack has none.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startConsole } from '../../../console/server.ts';
import type { Target } from '../../../operator/target.ts';
import { MACHINES, PARTS, sandboxControl } from '../../../sandbox/control.ts';
import type { Sandbox } from '../../../sandbox/runtime.ts';
import { apiClient, startTestConsole, type TestConsole } from '../../support/console.ts';

let sandbox: Sandbox;
let target: Target;
let api: TestConsole['api'];
let running: TestConsole;

beforeAll(async () => {
  running = await startTestConsole();
  ({ sandbox, target, api } = running);
});
afterAll(() => running?.close());

type Machine = { id: string; mapped: boolean; down: boolean; downSince?: string };
const machine = async (id: string): Promise<Machine> =>
  (await api.get('/api/sandbox')).json.machines.find((m: Machine) => m.id === id);

describe('sandbox view', () => {
  it('lists the machines (mapped or not), the parts in both stores, and no records yet', async () => {
    const { status, json } = await api.get('/api/sandbox');
    expect(status).toBe(200);
    expect(json.machines.map((m: Machine) => m.id).sort()).toEqual(Object.values(MACHINES).sort());
    expect(json.machines.every((m: Machine) => m.mapped && !m.down)).toBe(true);
    const bearing = json.parts.find((p: { id: string }) => p.id === PARTS.bearing);
    expect(bearing).toMatchObject({
      upkeepQuantity: expect.any(Number),
      mobilityWorkStock: expect.any(Number),
    });
    expect(bearing.minimum).toEqual(expect.any(Number));
    expect(json).toMatchObject({ workOrders: [], purchaseOrders: [], tasks: [] });
  });
});

describe('controls', () => {
  it('a machine taken down from the console becomes runs found by its subject, and a work order', async () => {
    const down = await api.post(`/api/sandbox/machines/${MACHINES.one}/down`, {});
    expect(down.status).toBe(200);
    expect(down.json.message).toMatch(
      new RegExp(`Machine ${MACHINES.one} is down since 2026-11-02T08:00:00.000Z`),
    );
    expect(await machine(MACHINES.one)).toMatchObject({ down: true, downSince: '2026-11-02T08:00:00.000Z' });

    await sandboxControl(sandbox).advance(20);
    const runs = (await api.get(`/api/runs?subject=${MACHINES.one}`)).json.entries;
    expect(runs.some((r: { outcome: string }) => r.outcome === 'done')).toBe(true);
    const view = (await api.get('/api/sandbox')).json;
    const workOrder = view.workOrders.find((w: { vendor: string; asset?: string }) => w.vendor === 'upkeep');
    expect(workOrder).toMatchObject({ asset: 'AssetMill01', status: 'open' });
    expect(workOrder.title).toMatch(/^Machine down/);
    expect(view.tasks.find((t: { vendor: string }) => t.vendor === 'mobility-work')).toBeDefined();

    const up = await api.post(`/api/sandbox/machines/${MACHINES.one}/up`, {});
    expect(up.json.message).toMatch(/runs again/);
    expect((await machine(MACHINES.one)).down).toBe(false);
    await sandboxControl(sandbox).advance(10);
  });

  it('consuming a part lowers its UpKeep stock and says what happens next', async () => {
    const before = (await api.get('/api/sandbox')).json.parts.find(
      (p: { id: string }) => p.id === PARTS.belt,
    );
    const answer = await api.post(`/api/sandbox/parts/${PARTS.belt}/consume`, { quantity: 2 });
    expect(answer.status).toBe(200);
    expect(answer.json.message).toMatch(/^Took 2 of PartBeltA42 from UpKeep's store room/);
    const after = (await api.get('/api/sandbox')).json.parts.find((p: { id: string }) => p.id === PARTS.belt);
    expect(after.upkeepQuantity).toBe(before.upkeepQuantity - 2);
  });

  it('refuses unknown machines and parts, and a bad quantity', async () => {
    expect((await api.post('/api/sandbox/machines/no-such-machine/down', {})).status).toBe(404);
    expect((await api.post('/api/sandbox/parts/NoSuchPart/consume', {})).status).toBe(404);
    expect((await api.post(`/api/sandbox/parts/${PARTS.belt}/consume`, { quantity: -1 })).status).toBe(400);
  });
});

describe('on a stack', () => {
  it('there is no sandbox page', async () => {
    const stackLike: Target = { ...target, kind: 'stack', label: 'stack (test)', endpoints: undefined };
    const other = await startConsole({ target: stackLike });
    try {
      const answer = await apiClient(other).get('/api/sandbox');
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ error: 'not a sandbox' });
    } finally {
      await other.close();
    }
  });
});
