/**
 * `backfillFlow` against the real sandbox (local SQS, DynamoDB, simulators, manual clock): a window
 * the live poll handled comes back as the same event ids, which the worker absorbs; a window the live
 * poll missed gets its work order, once. The live poll state is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DOWNTIME_POLL_SOURCE_ID } from '../../functions/connectors/machinemetrics/poll-source.ts';
import { UPKEEP_PARTS_POLL_SOURCE_ID } from '../../functions/connectors/upkeep/parts-poll-source.ts';
import { memoryLog } from '../../functions/core/log.ts';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { livePollStateKey } from '../../functions/runtime/shared-poll.ts';
import {
  BackfillNotSupportedError,
  BackfillStoppedError,
  backfillFlow,
  InvalidBackfillError,
  listBackfillSupport,
} from '../../operator/backfill.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import { MACHINES, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const MINUTE = 60_000;
/** The live poll's state: the downtime flows share one poll (runtime/shared-poll.ts), so its group's. */
const pollKey = () => livePollStateKey(sandbox.deployment.enabled, FLOW_ID, 0);
let sandbox: Sandbox;
let target: Target;
const sleeps: number[] = [];

const control = () => sandboxControl(sandbox);
const now = () => sandbox.clock.now();
const pollState = async () => JSON.stringify(await sandbox.state.loadPollState(pollKey()));
const backfill = (from: Date, to: Date, more: { dryRun?: boolean; lookbackMinutes?: number } = {}) =>
  backfillFlow(target, FLOW_ID, {
    from,
    to,
    now,
    ratePerSecond: 4,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    log: memoryLog(),
    ...more,
  });
/** Run-log entries of the flow that came by backfill. */
const backfillRuns = async () =>
  (await sandbox.state.queryRuns({ flowId: FLOW_ID, limit: 200 })).entries.filter(
    (r) => r.via === 'backfill',
  );

beforeAll(async () => {
  sandbox = await startTestSandbox();
  target = sandboxTarget(sandbox);
  await control().advance(0);
});
afterAll(async () => {
  target?.close();
  await sandbox?.close();
});

describe('backfillFlow on the sandbox', () => {
  it('re-enqueues a handled window under the same event ids; the worker absorbs them', async () => {
    const from = now();
    await control().machine(MACHINES.one, 'down');
    await control().advance(20);
    await control().machine(MACHINES.one, 'up');
    await control().advance(15);
    expect(await control().workOrdersFor('AssetMill01')).toHaveLength(1);
    const queueUrl = sandbox.flows.get(FLOW_ID)?.queues.queueUrl;
    const liveIds = sandbox.enqueued
      .filter((e) => e.queueUrl === queueUrl && e.event.source === 'machinemetrics.poll')
      .map((e) => e.event.id);
    expect(liveIds).toHaveLength(2); // started, ended
    const before = await pollState();

    const dry = await backfill(from, now(), { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, events: 2, enqueued: 0 });
    expect(sleeps).toEqual([]);

    const result = await backfill(from, now());
    expect(result).toMatchObject({
      flowId: FLOW_ID,
      sourceId: DOWNTIME_POLL_SOURCE_ID,
      events: 2,
      enqueued: 2,
    });
    expect(result.eventIds).toEqual(liveIds);
    expect(result.note).toMatch(/warm-up/);
    // 2 events (one per window) at 4 per second: 250 ms after each.
    expect(sleeps).toEqual([250, 250]);
    await sandbox.drain();

    const runs = await backfillRuns();
    expect(runs.map((r) => r.eventId).sort()).toEqual([...liveIds].sort());
    expect(runs.every((r) => r.outcome === 'duplicate')).toBe(true);
    expect(await control().workOrdersFor('AssetMill01')).toHaveLength(1);
    expect(await pollState()).toBe(before);
  });

  it('creates the work order of a window the live poll missed, once', async () => {
    const from = now();
    await control().machine(MACHINES.two, 'down');
    sandbox.clock.advance(20 * MINUTE);
    await control().machine(MACHINES.two, 'up');
    sandbox.clock.advance(15 * MINUTE);
    // The live poll skips the episode: its watermark is moved past it (as after a long outage).
    const stored = await sandbox.state.loadPollState<{ lastEvaluatedEnd: string }>(pollKey());
    if (!stored) throw new Error('no live poll state');
    const skipTo = new Date(Math.floor((now().getTime() - 5 * MINUTE) / (5 * MINUTE)) * 5 * MINUTE);
    await sandbox.state.savePollState(
      pollKey(),
      { ...stored.data, lastEvaluatedEnd: skipTo.toISOString() },
      stored.version,
    );
    await control().advance(0);
    expect(await control().workOrdersFor('AssetLathe2')).toHaveLength(0);
    const before = await pollState();

    const first = await backfill(from, now());
    expect(first.eventIds).toEqual([
      expect.stringMatching(new RegExp(`^mm:downtime:${MACHINES.two}/.*:started$`)),
      expect.stringMatching(new RegExp(`^mm:downtime:${MACHINES.two}/.*:ended$`)),
    ]);
    await sandbox.drain();
    expect(await control().workOrdersFor('AssetLathe2')).toHaveLength(1);

    const again = await backfill(from, now());
    expect(again.eventIds).toEqual(first.eventIds);
    await sandbox.drain();
    expect(await control().workOrdersFor('AssetLathe2')).toHaveLength(1);
    const runs = await backfillRuns();
    const startedRuns = runs.filter((r) => r.eventId === first.eventIds[0]).map((r) => r.outcome);
    expect(startedRuns.sort()).toEqual(['done', 'duplicate']);
    expect(await pollState()).toBe(before);
  });

  it('a vendor outage mid-backfill stops at a window boundary; resuming from where it says misses and doubles nothing', async () => {
    const from = now();
    // Three episodes over two hours, handled by the live poll (machine three is not mapped: no events).
    for (const machine of [MACHINES.one, MACHINES.two, MACHINES.three]) {
      await control().machine(machine, 'down');
      await control().advance(30);
      await control().machine(machine, 'up');
      await control().advance(10);
    }
    await control().advance(10);
    const to = now();
    // A short warm-up: the second episode is under way where the run stops, longer than it before.
    const lookbackMinutes = 10;
    const full = await backfill(from, to, { dryRun: true, lookbackMinutes });
    expect(full.events).toBe(4);
    const workOrders = async () =>
      (await control().workOrdersFor('AssetMill01')).length +
      (await control().workOrdersFor('AssetLathe2')).length;
    const before = await workOrders();

    // MachineMetrics goes down after the window ending 09:00, 20 minutes into the second episode.
    const mm = sandbox.simulators.machinemetrics;
    if (!mm) throw new Error('no MachineMetrics simulator');
    let windows = 0;
    const error = await backfillFlow(target, FLOW_ID, {
      from,
      to,
      now,
      lookbackMinutes,
      ratePerSecond: 1000,
      sleep: async () => undefined,
      onProgress: () => {
        if (++windows === 12)
          mm.faults.push({ match: 'POST /reports/downtime', status: 503, probability: 1, name: 'outage' });
      },
    }).catch((e: unknown) => e);
    mm.faults.length = 0;
    expect(error).toBeInstanceOf(BackfillStoppedError);
    const stopped = (error as BackfillStoppedError).result;
    expect(stopped.eventIds).toEqual(full.eventIds.slice(0, stopped.eventIds.length));
    expect(stopped.eventIds).toHaveLength(3);
    expect(stopped.enqueued).toBe(3);
    const resume = /--from (\S+) --lookback (\d+) \(same --to\)/.exec((error as Error).message);
    expect(resume).not.toBeNull();

    const rest = await backfill(new Date(resume?.[1] ?? ''), to, { lookbackMinutes: Number(resume?.[2]) });
    // Together exactly the full run's events: no window skipped, none read twice.
    expect([...stopped.eventIds, ...rest.eventIds]).toEqual(full.eventIds);
    await sandbox.drain();
    expect(await workOrders()).toBe(before);
  });

  it('refuses a bad window and a source that cannot backfill, saying why', async () => {
    await expect(backfill(now(), new Date(now().getTime() - MINUTE))).rejects.toThrow(InvalidBackfillError);
    await expect(
      backfill(new Date(now().getTime() - MINUTE), new Date(now().getTime() + MINUTE)),
    ).rejects.toThrow(/in the future/);
    await expect(backfill(new Date(now().getTime() - 40 * 86_400_000), now())).rejects.toThrow(
      /needs --force/,
    );
    // Older than the state table keeps claims and episodes (90 days less the horizon): refused.
    const old = new Date(now().getTime() - 80 * 86_400_000);
    await expect(backfill(old, new Date(old.getTime() + 3_600_000))).rejects.toThrow(/--past-retention/);
    await expect(
      backfillFlow(target, 'mobility-work-stock-alert-to-upkeep', {
        from: new Date(0),
        to: new Date(1),
        now,
      }),
    ).rejects.toThrow(BackfillNotSupportedError);
    await expect(
      backfillFlow(target, FLOW_ID, { from: new Date(0), to: new Date(1), now, sourceId: 'nope' }),
    ).rejects.toThrow(/no poll source "nope"; its sources: machinemetrics.downtime/);
  });

  it('lists which flows can backfill, with the reason for those that cannot', () => {
    const rows = listBackfillSupport(target);
    expect(rows).toContainEqual(
      expect.objectContaining({ flowId: FLOW_ID, sourceId: DOWNTIME_POLL_SOURCE_ID, supported: true }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ sourceId: UPKEEP_PARTS_POLL_SOURCE_ID, supported: true }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({
        flowId: 'mobility-work-stock-alert-to-upkeep',
        supported: false,
        note: expect.stringMatching(/Webhook flow/),
      }),
    );
    const deepomatic = rows.find((r) => r.sourceId === 'deepomatic.open-work-orders');
    if (deepomatic)
      expect(deepomatic).toMatchObject({ supported: false, note: expect.stringMatching(/^Cannot backfill/) });
  });
});
