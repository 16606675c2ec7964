/**
 * One MachineMetrics poll feeds every downtime flow (runtime/shared-poll.ts), on the sandbox: with
 * the three downtime flows enabled, each window is read once (counted at the simulator), and one
 * machine going down makes a work order in UpKeep, a task in Mobility Work and a work order in Click
 * Maint. A paused flow's queue still receives the poll's events (they wait); the others go on.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DOWNTIME_STARTED } from '../../functions/connectors/machinemetrics/events.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import { status } from '../../operator/status.ts';
import { MACHINES, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { queueDepth } from '../../sandbox/sqs.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const UPKEEP_FLOW = 'machinemetrics-downtime-to-upkeep-work-order';
const MW_FLOW = 'machinemetrics-downtime-to-mobility-work-task';
const CM_FLOW = 'machinemetrics-downtime-to-click-maint-work-order';
const DOWNTIME_FLOWS = [UPKEEP_FLOW, MW_FLOW, CM_FLOW];

type Json = Record<string, Record<string, Record<string, unknown>>>;
/** The default config, with machine one also mapped in Click Maint: one machine, three targets. */
function config(): Json {
  const c = JSON.parse(readFileSync('config/default.json', 'utf8')) as Json;
  const cm = c.flows?.[CM_FLOW] as { machines: Record<string, unknown> };
  cm.machines[MACHINES.one] = { entityId: 1, assetId: 46 };
  return c;
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox({ config: config() as never });
  await sandboxControl(sandbox).advance(0);
});
afterAll(async () => {
  await sandbox?.close();
});

const reportRequests = () =>
  (sandbox.simulators.machinemetrics?.requests ?? []).filter((r) => r.startsWith('POST /reports/downtime'))
    .length;
/** Report requests the poll says it made ("..., 3 reports" per window). */
const reportsIn = (summaries: readonly string[]) =>
  summaries.reduce((n, s) => n + Number(/(\d+) reports?\b/.exec(s)?.[1] ?? 0), 0);
const downtimePolls = (polls: Awaited<ReturnType<Sandbox['tick']>>) =>
  polls.filter((p) => p.source === 'machinemetrics.downtime');

describe('one MachineMetrics poll for the three downtime flows', () => {
  it('reads each window once, and one machine down makes a record in each of the three targets', async () => {
    const c = sandboxControl(sandbox);
    // A quiet window: one report request in all (three flows polling on their own made three).
    let before = reportRequests();
    let polls = downtimePolls(await c.advance(5));
    expect(polls).toHaveLength(1);
    expect(polls[0]?.steps).toBe(1);
    expect(reportRequests() - before).toBe(1);

    await c.machine(MACHINES.one, 'down');
    before = reportRequests();
    polls = downtimePolls(await c.advance(20));
    expect(polls).toHaveLength(1);
    const summaries = polls[0]?.summaries ?? [];
    expect(summaries.length).toBeGreaterThanOrEqual(4);
    // Every request the simulator saw is one the single poll made: one set per window.
    expect(reportRequests() - before).toBe(reportsIn(summaries));
    expect(reportsIn(summaries)).toBeLessThanOrEqual(3 * summaries.length);

    // The same started event (same id) on each flow's queue, and a record in each target.
    const started = sandbox.enqueued.filter(
      (e) =>
        e.event.type === DOWNTIME_STARTED &&
        e.event.source === 'machinemetrics.poll' &&
        e.event.subject === MACHINES.one,
    );
    expect(started).toHaveLength(3);
    expect(new Set(started.map((e) => e.event.id)).size).toBe(1);
    expect(await c.workOrdersFor('AssetMill01')).toHaveLength(1);
    expect(
      (sandbox.simulators['mobility-work']?.tasks() ?? []).filter(
        (t) => t.metadata.machineId === MACHINES.one,
      ),
    ).toHaveLength(1);
    expect(
      (sandbox.simulators['click-maint']?.workOrders(1) ?? []).filter((w) => w.asset_id === 46),
    ).toHaveLength(1);
    for (const flowId of DOWNTIME_FLOWS) {
      const runs = await sandbox.state.listRuns(flowId, 50);
      expect(
        runs.filter((r) => r.eventType === DOWNTIME_STARTED && r.outcome === 'done').map((r) => r.flowId),
      ).toEqual([flowId]);
    }
    // `millwright status` shows each flow's last poll and the shared watermark.
    const report = await status(sandboxTarget(sandbox), { now: sandbox.clock.now() });
    for (const flowId of DOWNTIME_FLOWS) {
      const poll = report.flows.find((f) => f.flowId === flowId)?.polls[0];
      expect(poll?.lastRun?.summary).toMatch(/shared poll machinemetrics-downtime-poller/);
      expect(poll?.watermark).toMatch(/lastEvaluatedEnd/);
    }
    await c.machine(MACHINES.one, 'up');
    await c.advance(10);
  });

  it('a paused flow still receives the poll’s events on its queue (they wait); the other flows go on', async () => {
    const c = sandboxControl(sandbox);
    await sandbox.state.setFlowControl(MW_FLOW, { paused: true, at: sandbox.clock.now().toISOString() });
    const queueOf = (flowId: string) => sandbox.flows.get(flowId)?.queues.queueUrl ?? '';
    const tasksBefore = (sandbox.simulators['mobility-work']?.tasks() ?? []).length;
    const enqueuedBefore = sandbox.enqueued.length;
    await c.machine(MACHINES.one, 'down');
    await c.advance(20);

    const startedOn = (flowId: string) =>
      sandbox.enqueued
        .slice(enqueuedBefore)
        .filter(
          (e) =>
            e.queueUrl === queueOf(flowId) &&
            e.event.type === DOWNTIME_STARTED &&
            e.event.source === 'machinemetrics.poll',
        );
    // The poll ran for the others and enqueued for the paused flow too; its message waits.
    expect(startedOn(MW_FLOW)).toHaveLength(1);
    const depth = await queueDepth(sandbox.sqs.client, queueOf(MW_FLOW));
    expect(depth.visible + depth.inFlight + depth.delayed).toBeGreaterThanOrEqual(1);
    expect((sandbox.simulators['mobility-work']?.tasks() ?? []).length).toBe(tasksBefore);
    expect(startedOn(UPKEEP_FLOW)).toHaveLength(1);
    expect(startedOn(CM_FLOW)).toHaveLength(1);
    expect(await c.workOrdersFor('AssetMill01')).toHaveLength(2);

    // Resumed: the waiting event makes its task once.
    await sandbox.state.setFlowControl(MW_FLOW, { paused: false, at: sandbox.clock.now().toISOString() });
    await c.advance(0);
    expect((sandbox.simulators['mobility-work']?.tasks() ?? []).length).toBe(tasksBefore + 1);
  });

  it('stops polling only when every downtime flow is paused', async () => {
    const c = sandboxControl(sandbox);
    for (const flowId of DOWNTIME_FLOWS) {
      await sandbox.state.setFlowControl(flowId, { paused: true, at: sandbox.clock.now().toISOString() });
    }
    const before = reportRequests();
    expect(downtimePolls(await c.advance(10))).toEqual([]);
    expect(reportRequests()).toBe(before);
    for (const flowId of DOWNTIME_FLOWS) {
      await sandbox.state.setFlowControl(flowId, { paused: false, at: sandbox.clock.now().toISOString() });
    }
    expect(downtimePolls(await c.advance(0))).toHaveLength(1);
  });
});
