/**
 * The Mobility Work simulator left running for weeks: its webhook events and deliveries, and the
 * activities and rejected items it saves with the world at every write, keep the newest
 * `requestLogLimit` entries instead of one more per event for as long as a sandbox runs.
 */
import { afterEach, expect, it } from '@jest/globals';
import {
  type MobilityWorkSimulator,
  startMobilityWorkSimulator,
} from '../../../functions/connectors/mobility-work/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';

const API_KEY = '913a8f7cef6ff084f1635511b9c7d07c3bab2816';
let sim: MobilityWorkSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const post = async (s: MobilityWorkSimulator, path: string, body: unknown) => {
  const res = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': API_KEY },
    body: JSON.stringify(body),
  });
  return res.status;
};

async function started(limit: number): Promise<MobilityWorkSimulator> {
  return startMobilityWorkSimulator({
    clock: manualClock(),
    apiKey: API_KEY,
    requestLogLimit: limit,
    applyDelayMs: 0,
    webhook: { url: 'http://127.0.0.1:9/h', secret: 'whsec-mw', scheme: 't.nonce.body', retryDelayMs: 0 },
    fetch: async () => new Response('{}', { status: 200 }),
  });
}

it('keeps the newest webhook events, deliveries, activities and rejected items only', async () => {
  sim = await started(2);
  for (let i = 0; i < 4; i++) sim.recount('PartSeal2210', 5 + i);
  const task = await post(sim, '/partners/v1/tasks', {
    equipment: 2507,
    description: 'Spindle vibration on Mill 01',
    startDateTime: '2026-11-02T09:00:00+01:00',
    endDateTime: '2026-11-02T10:00:00+01:00',
    allDay: false,
    assignees: [3],
    metadata: { millwrightKey: 'ep-1' },
  });
  expect(task).toBe(201); // MW answers no id: the task is found by its metadata
  const taskId = sim.findTaskByMetadata('millwrightKey', 'ep-1')?.id ?? '';
  const activities: string[] = [];
  for (let i = 0; i < 3; i++) activities.push(sim.addActivity(taskId, { comment: `a${i}` }).id);
  for (let i = 0; i < 3; i++) {
    const write = await post(sim, '/partners/v1/spare-parts/movements/bulk', [
      { id: `NoSuchPart${i}`, movement: { type: 'inventory', quantity: 1 } },
    ]);
    expect(write).toBe(202);
  }
  await sim.settle();
  const state = sim.state();
  expect(state.activities.map((a) => a.id)).toEqual(activities.slice(-2));
  expect(state.rejectedItems.map((r) => r.identifier)).toEqual(['NoSuchPart1', 'NoSuchPart2']);
  expect(sim.events()).toHaveLength(2);
  expect(sim.deliveries()).toHaveLength(2);
  // The saved world holds the bounded lists too.
  const saved = sim.exportState();
  expect(saved.activities).toHaveLength(2);
  expect(saved.rejectedItems).toHaveLength(2);
});

it('keeps only the newest activities and rejected items of a world saved before they were bounded', async () => {
  const big = await started(10);
  sim = big;
  for (let i = 0; i < 3; i++) {
    await post(big, '/partners/v1/spare-parts/movements/bulk', [
      { id: `NoSuchPart${i}`, movement: { type: 'inventory', quantity: 1 } },
    ]);
  }
  await big.settle();
  const saved = big.exportState();
  await big.close();
  sim = await started(2);
  sim.importState(saved);
  expect(sim.state().rejectedItems.map((r) => r.identifier)).toEqual(['NoSuchPart1', 'NoSuchPart2']);
});
