/**
 * The CLI's actions against the real sandbox, as an operator types them: a failed event is listed,
 * replayed and done; a paused flow loses nothing; a backfill over a window already handled creates
 * nothing; test-event, examples, discover and webhooks answer from the same sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID as MM_FLOW } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as DM_FLOW } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { listExamples } from '../../operator/examples.ts';
import { MACHINES, postJson, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { sandboxCli } from '../support/cli.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;

const { cli, json } = sandboxCli(() => sandbox);

const deepomatic = () => sandbox.simulators.deepomatic as NonNullable<Sandbox['simulators']['deepomatic']>;
const upkeep = () => sandbox.simulators.upkeep as NonNullable<Sandbox['simulators']['upkeep']>;
const deepomaticFor = (workOrderId: string) =>
  deepomatic()
    .workOrders()
    .filter((w) => w.name === `upkeep-${workOrderId}`);

/** An UpKeep work order needing photo validation: its webhook reaches the Deepomatic flow. */
const photoWorkOrder = (title: string): Promise<string> =>
  sandboxControl(sandbox).upkeepWorkOrder({ title, category: 'Photo validation' });

beforeAll(async () => {
  sandbox = await startTestSandbox();
  await sandboxControl(sandbox).advance(0);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('millwright dlq', () => {
  it('lists a failed event with its reason, replays it to done, and a second replay does nothing', async () => {
    await postJson(`${deepomatic().url}/_sandbox/faults`, { match: 'POST /v0.2/work-orders', status: 400 });
    const workOrder = await photoWorkOrder('Replace filter');
    await sandbox.settle();
    const list = await cli('dlq', 'list', DM_FLOW);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^EVENT\s+TYPE\s+SUBJECT\s+AGE$/m);
    expect(list.out).toMatch(/^ {4}reason: DeepomaticApiError: .*-> 400/m);
    expect(list.out).toContain(workOrder);
    expect(list.out).toMatch(/400/);

    // Without --yes and no terminal to ask on, nothing happens.
    const refused = await cli('dlq', 'replay', DM_FLOW, '--all');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('add --yes');
    expect(await json<unknown[]>('dlq', 'list', DM_FLOW)).toHaveLength(1);

    const replay = await cli('dlq', 'replay', DM_FLOW, '--all', '--rate', '50/s', '--yes');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('Replayed 1 of 1 event(s)');
    expect(replay.err).toContain('replay: 1/1 done');
    await sandbox.settle();
    expect(deepomaticFor(workOrder)).toHaveLength(1);
    const story = await json<{ entries: { outcome: string; via?: string }[] }>(
      'runs',
      '--subject',
      workOrder,
      '--flow',
      DM_FLOW,
    );
    expect(story.entries.map((e) => e.outcome).reverse()).toEqual(
      expect.arrayContaining(['dead-lettered', 'replayed', 'done']),
    );
    expect(story.entries.find((e) => e.outcome === 'done')?.via).toBe('replay');

    const again = await cli('dlq', 'replay', DM_FLOW, '--id', 'no-such-event', '--yes');
    expect(again.code).toBe(4);
    expect(again.out).toContain('Not in the dead-letter queue: no-such-event');
    expect(deepomaticFor(workOrder)).toHaveLength(1);
  });
});

describe('millwright parked', () => {
  it('lists parked events with their check, replays one through the flow and discards another with a reason', async () => {
    const [example] = listExamples(DM_FLOW);
    if (!example) throw new Error(`no example event for ${DM_FLOW}`);
    const park = (id: string) =>
      sandbox.state.parkEvent({
        flowId: DM_FLOW,
        eventId: id,
        eventType: example.event.type,
        reason: 'no answer to the create',
        check: 'look for the work order in Deepomatic',
        body: JSON.stringify({ ...example.event, id }),
        at: sandbox.clock.now().toISOString(),
      });
    await park('parked-replay');
    await park('parked-discard');
    const list = await cli('parked', 'list');
    expect(list.out).toContain('check: look for the work order in Deepomatic');
    expect(list.out).toContain('parked-replay');

    expect((await cli('parked', 'replay', DM_FLOW, '--id', 'parked-replay', '--yes')).out).toContain(
      'Replayed 1 parked event(s)',
    );
    await sandbox.settle();
    const replayed = await json<{ entries: { outcome: string; via?: string }[] }>(
      'runs',
      '--flow',
      DM_FLOW,
      '--limit',
      '500',
    );
    const story = (await json<{ attempts: { outcome: string; via?: string }[] }>('show', 'parked-replay'))
      .attempts;
    // The sandbox clock stands still here: the replay and the flow's run share a timestamp.
    expect(story.map((a) => a.outcome)).toContain('replayed');
    expect(story.length).toBeGreaterThanOrEqual(2);
    expect(story.every((a) => a.via === 'parked-replay')).toBe(true);
    expect(replayed.entries.length).toBeGreaterThan(0);

    const noReason = await cli('parked', 'discard', DM_FLOW, '--id', 'parked-discard', '--yes');
    expect(noReason.code).toBe(2);
    const discard = await cli(
      'parked',
      'discard',
      DM_FLOW,
      '--id',
      'parked-discard',
      '--reason',
      'found it in Deepomatic',
      '--yes',
    );
    expect(discard.out).toContain('Discarded 1 parked event(s)');
    expect(
      (await json<{ attempts: { message: string }[] }>('show', 'parked-discard')).attempts[0]?.message,
    ).toContain('found it in Deepomatic');
    expect(await json<unknown[]>('parked', 'list')).toEqual([]);
  });
});

describe('millwright pause / resume', () => {
  it('a paused flow keeps its events on its queue and handles each once after resume', async () => {
    const pause = await cli('pause', DM_FLOW);
    expect(pause.code).toBe(0);
    expect(pause.out).toContain(`${DM_FLOW}: paused`);
    const workOrder = await photoWorkOrder('Check guard');
    await sandbox.settle();
    expect(deepomaticFor(workOrder)).toHaveLength(0);
    const status = await json<{
      flows: { flowId: string; paused: boolean; queue: { visible: number; delayed: number } }[];
    }>('status', '--flow', DM_FLOW);
    expect(status.flows[0]).toMatchObject({ flowId: DM_FLOW, paused: true });
    expect((status.flows[0]?.queue.visible ?? 0) + (status.flows[0]?.queue.delayed ?? 0)).toBe(1);
    expect((await cli('status')).out).toMatch(new RegExp(`${DM_FLOW}\\s+PAUSED`));

    const resume = await cli('resume', DM_FLOW);
    expect(resume.code).toBe(0);
    expect(resume.out).toContain('resumed (1 message(s) on its queue');
    await sandbox.settle();
    expect(deepomaticFor(workOrder)).toHaveLength(1);
  });
});

describe('millwright backfill', () => {
  it('over a window already handled creates nothing, and says which sources can backfill', async () => {
    const control = sandboxControl(sandbox);
    const from = sandbox.clock.now().toISOString();
    await control.machine(MACHINES.one, 'down');
    await control.advance(20);
    await control.machine(MACHINES.one, 'up');
    await control.advance(15);
    expect(await control.workOrdersFor('AssetMill01')).toHaveLength(1);

    const dry = await cli('backfill', MM_FLOW, '--from', from, '--to', 'now', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/Dry run: found .* 2 event\(s\) found, 0 enqueued/);
    const run = await cli('backfill', MM_FLOW, '--from', from, '--to', 'now', '--rate', '100', '--yes');
    expect(run.code).toBe(0);
    expect(run.out).toContain('2 enqueued');
    await sandbox.settle();
    expect(await control.workOrdersFor('AssetMill01')).toHaveLength(1);
    const runs = await json<{ entries: { outcome: string; via?: string }[] }>(
      'runs',
      '--flow',
      MM_FLOW,
      '--since',
      '5m',
    );
    expect(runs.entries.filter((e) => e.via === 'backfill').map((e) => e.outcome)).toEqual([
      'duplicate',
      'duplicate',
    ]);

    const list = await cli('backfill', '--list');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(
      /deepomatic-validation-to-upkeep-work-order\s+deepomatic\.open-work-orders\s+no/,
    );
    const bad = await cli('backfill', MM_FLOW, '--from', 'now', '--to', '1h', '--yes');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/from/);
  });
});

describe('millwright backfill with MachineMetrics down', () => {
  it('fails with exit 1, saying nothing was enqueued, why, and how to finish', async () => {
    const mm = sandbox.simulators.machinemetrics;
    if (!mm) throw new Error('no MachineMetrics simulator');
    mm.faults.push({ match: 'POST /reports/downtime', status: 503, probability: 1, name: 'outage' });
    try {
      const run = await cli('backfill', MM_FLOW, '--from', '30m', '--to', 'now', '--yes');
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/stopped after 0 step\(s\): 0 of 0 event\(s\) found enqueued/);
      expect(run.err).toMatch(/run the same command again/);
      expect(run.err).toMatch(/503/);
    } finally {
      mm.faults.length = 0;
    }
  });
});

describe('millwright test-event and examples', () => {
  it('a dry run prints the vendor writes and sends none', async () => {
    const examples = await cli('examples', MM_FLOW);
    expect(examples.out).toContain('downtime-started');
    const workOrders = async () =>
      ((await (await fetch(`${upkeep().url}/_sandbox/state`)).json()) as { workOrders: unknown[] }).workOrders
        .length;
    const before = await workOrders();
    const dry = await cli('test-event', MM_FLOW, '--example', 'downtime-started', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('Writes recorded, not sent:');
    expect(dry.out).toMatch(/upkeep POST \S+\/work-orders/);
    expect(await workOrders()).toBe(before);
    expect((await cli('test-event', MM_FLOW)).code).toBe(2);
  });
});

describe('millwright discover and webhooks', () => {
  it('lists the UpKeep assets and parts, and the webhook URL of every vendor the flows receive from', async () => {
    const found = await cli('discover', 'upkeep');
    expect(found.code).toBe(0);
    expect(found.out).toContain('AssetMill01');
    const urls = await cli('webhooks', 'urls');
    expect(urls.code).toBe(0);
    expect(urls.out).toContain(`${sandbox.ingressUrl}/webhooks/upkeep/{token}`);
    expect(urls.out).toContain(`${sandbox.ingressUrl}/webhooks/mobility-work`);
    const register = await cli('webhooks', 'register', 'upkeep', '--dry-run');
    expect(register.code).toBe(0);
    expect((await cli('discover', 'nope')).code).not.toBe(0);
  });
});
