/**
 * `testEvent` (operator/test-event.ts) against the real sandbox: a real run acts and is logged
 * `via: test-event`; a dry run records the vendor writes and leaves the simulator and the state table
 * as they were, so the same event run for real afterwards still acts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import { TestEventInputError, testEvent } from '../../operator/test-event.ts';
import { sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let target: Target;
const workOrdersFor = (asset: string) => sandboxControl(sandbox).workOrdersFor(asset);

beforeAll(async () => {
  sandbox = await startTestSandbox();
  target = sandboxTarget(sandbox);
});
afterAll(async () => {
  target?.close();
  await sandbox?.close();
});

describe('testEvent on the sandbox', () => {
  it('runs an example for real: the work order exists in UpKeep and the run log says via test-event', async () => {
    const run = await testEvent(target, FLOW_ID, { exampleName: 'downtime-started' });
    expect(run.result.outcome).toBe('done');
    expect(run.event.id).toMatch(/^test-[0-9a-f-]{36}$/);
    expect(run.originalId).toMatch(/^mm:downtime:/);
    expect(run.writes).toEqual([]);
    const wos = await workOrdersFor('AssetMill01');
    expect(wos).toHaveLength(1);
    expect(wos[0]?.title).toContain('Mill 01');
    const { entries } = await target.state.queryRuns({ eventId: run.event.id });
    expect(entries).toEqual([
      expect.objectContaining({ flowId: FLOW_ID, outcome: 'done', via: 'test-event' }),
    ]);
    expect(run.logs.some((line) => line.includes(`${FLOW_ID}: done`))).toBe(true);
  });

  it('dry run: records the create-work-order POST, sends nothing, keeps no claim; a real run still acts', async () => {
    const dry = await testEvent(target, FLOW_ID, { exampleName: 'downtime-started-lathe', dryRun: true });
    expect(dry.result.outcome).toBe('done');
    const posts = dry.writes.filter((w) => w.kind === 'vendor' && w.method === 'POST');
    expect(posts).toContainEqual(
      expect.objectContaining({
        vendor: 'upkeep',
        url: expect.stringMatching(/\/api\/v2\/work-orders\/$/),
        body: expect.objectContaining({
          title: 'Machine down: Lathe 02 (Uncategorized)',
          asset: 'AssetLathe2',
        }),
        answered: 200,
      }),
    );
    // The login is a read: sent, not recorded.
    expect(dry.writes.some((w) => w.kind === 'vendor' && w.url.endsWith('/auth/'))).toBe(false);
    expect(await workOrdersFor('AssetLathe2')).toEqual([]);

    const claims = dry.writes.flatMap((w) =>
      w.kind === 'state' && w.key.startsWith('CLAIM#')
        ? [w.key.slice('CLAIM#'.length, -' / CLAIM'.length)]
        : [],
    );
    expect(claims.length).toBeGreaterThan(0);
    for (const key of claims) expect(await target.state.getClaim(key)).toBeUndefined();
    expect((await target.state.queryRuns({ eventId: dry.event.id })).entries).toEqual([]);

    const real = await testEvent(target, FLOW_ID, { exampleName: 'downtime-started-lathe' });
    expect(real.result.outcome).toBe('done');
    expect(await workOrdersFor('AssetLathe2')).toHaveLength(1);
    for (const key of claims) expect(await target.state.getClaim(key)).toMatchObject({ state: 'done' });
  });

  it('refuses an event the flow does not handle and an unknown example, naming what it accepts', async () => {
    await expect(testEvent(target, FLOW_ID, { exampleName: 'spare-part-restocked' })).rejects.toThrow(
      /no example "spare-part-restocked" for flow .*downtime-started/,
    );
    const { taskStarted } = await import('../../functions/connectors/mobility-work/examples.ts');
    await expect(testEvent(target, FLOW_ID, { event: taskStarted })).rejects.toThrow(TestEventInputError);
    await expect(testEvent(target, FLOW_ID, { event: { id: 'x' } })).rejects.toThrow(
      /not a flow event: type/,
    );
  });
});
