/**
 * One MachineMetrics poll feeds every downtime flow (runtime/shared-poll.ts): flows with the same
 * detector settings form one group; each window is read once and its events go to every member's
 * queue, filtered to the machines that member tracks, with the same ids; all queues are enqueued
 * before the state is saved; the first shared run merges the members' earlier per-flow states.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import type {
  DowntimeReport,
  DowntimeReportQuery,
  MachineMetricsClient,
} from '../../../functions/connectors/machinemetrics/client.ts';
import { DOWNTIME_STARTED } from '../../../functions/connectors/machinemetrics/events.ts';
import {
  type DowntimePollState,
  downtimePollSource,
} from '../../../functions/connectors/machinemetrics/poll-source.ts';
import { type AnyFlow, defineFlow, type FlowEvent } from '../../../functions/core/flow.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { pollGapsNeedAttention } from '../../../functions/runtime/lambda/metrics.ts';
import { NEEDS_ATTENTION_METRIC } from '../../../functions/runtime/metrics.ts';
import { loadSourceState } from '../../../functions/runtime/poll-state.ts';
import { pollStateKey, runPoll } from '../../../functions/runtime/poller.ts';
import { type PollGroup, planPollGroups, runSharedPoll } from '../../../functions/runtime/shared-poll.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-11-02T08:00:00.000Z');
const M1 = '00000000-0000-4000-8000-000000000001';
const M2 = '00000000-0000-4000-8000-000000000002';
const M3 = '00000000-0000-4000-8000-000000000003';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

/** A vendor whose machines are down from `start` (until `end`); every report request is kept. */
function fakeVendor() {
  const records: { id: string; start: number; end?: number }[] = [];
  const reads: DowntimeReportQuery[] = [];
  const client = {
    async downtimeReport(query: DowntimeReportQuery): Promise<DowntimeReport> {
      reads.push(query);
      const wanted = query.machines && query.machines.length > 0 ? new Set(query.machines) : undefined;
      const [start, end] = [query.start.getTime(), query.end.getTime()];
      const machines: DowntimeReport['machines'] = {};
      for (const r of records) {
        if (wanted && !wanted.has(r.id)) continue;
        const ms = Math.min(r.end ?? end, end) - Math.max(r.start, start);
        if (ms <= 0) continue;
        const m = machines[r.id] ?? { name: `M ${r.id.slice(-1)}`, downtimeMs: 0, reasons: {} };
        m.downtimeMs += ms;
        if (query.groupBy.includes('reason')) {
          m.reasons.uncategorized = { name: 'Uncategorized', downtimeMs: m.downtimeMs, virtual: true };
        }
        machines[r.id] = m;
      }
      return { range: { start: query.start.toISOString(), end: query.end.toISOString() }, machines };
    },
  };
  return {
    reads,
    client: client as unknown as MachineMetricsClient,
    down: (id: string, at: number) => records.push({ id, start: at }),
  };
}

/** A downtime flow tracking `machines` (undefined: every machine), with its own minimum. */
function downtimeFlow(
  id: string,
  machines: string[] | undefined,
  minimumMinutes = 10,
  maxCatchUpMinutes?: number,
): AnyFlow {
  return defineFlow({
    id,
    description: 'test',
    vendors: ['machinemetrics'],
    config: z.object({}),
    triggers: [
      {
        kind: 'schedule',
        source: downtimePollSource,
        everyMinutes: () => 5,
        options: () => ({
          minimumMinutes,
          stepMinutes: 5,
          settleMinutes: 0,
          ...(machines ? { machines } : {}),
          ...(maxCatchUpMinutes ? { maxCatchUpMinutes } : {}),
        }),
      },
    ],
    setup: () => undefined,
    on: {},
  });
}

// One table per file and the shared state is keyed by settings: each test uses its own minimum.
const enabled = (...flows: AnyFlow[]) => flows.map((flow) => ({ flow, config: {} }));
const queueUrls = (...ids: string[]) => Object.fromEntries(ids.map((id) => [id, `q:${id}`]));
const startedFor = (sent: { queueUrl: string; event: FlowEvent }[], queueUrl: string) =>
  sent
    .filter((s) => s.queueUrl === queueUrl && s.event.type === DOWNTIME_STARTED)
    .map((s) => s.event.subject)
    .sort();

async function sharedRun(
  store: StateStore,
  group: PollGroup,
  vendor: ReturnType<typeof fakeVendor>,
  at: number,
) {
  const queue = recordingQueue();
  const summary = await runSharedPoll({
    group,
    env: testEnv(store, { now: () => new Date(at) }),
    queue,
    queueUrls: queueUrls(...group.members.map((m) => m.flow.id)),
    deps: { client: vendor.client },
  });
  return { summary, sent: queue.sent };
}

describe('poll groups', () => {
  it('groups flows with the same detector settings; a flow with another minimum, or alone, polls on its own', () => {
    const a = downtimeFlow('a', [M1]);
    const b = downtimeFlow('b', [M2]);
    const c = downtimeFlow('c', undefined);
    const other = downtimeFlow('other', [M1], 20);
    const { groups, ownPoll } = planPollGroups(enabled(a, b, c, other));
    expect(groups.map((g) => [g.id, g.members.map((m) => m.flow.id)])).toEqual([
      ['machinemetrics-downtime-poller', ['a', 'b', 'c']],
    ]);
    expect([ownPoll('a', 0), ownPoll('other', 0)]).toEqual([false, true]);
    expect(planPollGroups(enabled(a)).groups).toEqual([]);
  });
});

describe('one shared poll', () => {
  it('reads each window once for three flows and gives each the events of its own machines, with the same ids', async () => {
    const store = t.store();
    const [a, b, c] = [
      downtimeFlow('sa', [M1], 10),
      downtimeFlow('sb', [M2, M3], 10),
      downtimeFlow('sc', [M1, M3], 10),
    ];
    const group = planPollGroups(enabled(a, b, c)).groups[0] as PollGroup;
    const vendor = fakeVendor();
    await sharedRun(store, group, vendor, T0);
    vendor.down(M1, T0 + 1 * MIN);
    vendor.down(M3, T0 + 1 * MIN);
    vendor.reads.length = 0;
    const { sent, summary } = await sharedRun(store, group, vendor, T0 + 20 * MIN);
    expect(summary.steps).toBe(4);

    // The same requests as ONE flow tracking the union of the machines makes (not three times as many).
    const solo = fakeVendor();
    const alone = downtimeFlow('solo', [M1, M2, M3], 10);
    const soloRun = (at: number) =>
      runPoll({
        flow: alone,
        trigger: alone.triggers[0] as never,
        config: {},
        env: testEnv(store, { now: () => new Date(at) }),
        queue: recordingQueue(),
        queueUrl: 'q:solo',
        deps: { client: solo.client },
      });
    await soloRun(T0);
    solo.down(M1, T0 + 1 * MIN);
    solo.down(M3, T0 + 1 * MIN);
    solo.reads.length = 0;
    await soloRun(T0 + 20 * MIN);
    const shape = (reads: DowntimeReportQuery[]) =>
      reads.map((r) => `${r.start.toISOString()} ${r.groupBy.join('/')} ${(r.machines ?? []).join(',')}`);
    expect(vendor.reads.length).toBeGreaterThanOrEqual(4);
    expect(shape(vendor.reads)).toEqual(shape(solo.reads));
    expect(startedFor(sent, 'q:sa')).toEqual([M1]);
    expect(startedFor(sent, 'q:sb')).toEqual([M3]);
    expect(startedFor(sent, 'q:sc')).toEqual([M1, M3]);
    const idsOf = (url: string, machine: string) =>
      sent.filter((s) => s.queueUrl === url && s.event.subject === machine).map((s) => s.event.id);
    expect(idsOf('q:sa', M1)).toEqual(idsOf('q:sc', M1));
    expect(idsOf('q:sb', M3)).toEqual(idsOf('q:sc', M3));
    expect(summary.perFlow).toEqual({ sa: 1, sb: 1, sc: 2 });
    // Each flow's last poll run is recorded under its own key (`millwright status`).
    for (const id of ['sa', 'sb', 'sc']) {
      const run = await store.lastPollRun(pollStateKey(id, downtimePollSource.id));
      expect(run?.summary).toMatch(/shared poll machinemetrics-downtime-poller/);
    }
    expect((await store.lastPollRun(pollStateKey('sb', downtimePollSource.id)))?.events).toBe(1);
  });

  it('saves nothing when a member queue cannot take its events: the window is read again next run', async () => {
    const store = t.store();
    const [a, b] = [downtimeFlow('fa', [M1], 15), downtimeFlow('fb', [M2], 15)];
    const group = planPollGroups(enabled(a, b)).groups[0] as PollGroup;
    const vendor = fakeVendor();
    const failing = recordingQueue();
    const queue = {
      async send(url: string, events: readonly FlowEvent[]) {
        if (url === 'q:fb') throw new Error('queue unavailable');
        await failing.send(url, events);
      },
    };
    await expect(
      runSharedPoll({
        group,
        env: testEnv(store, { now: () => new Date(T0) }),
        queue,
        queueUrls: queueUrls('fa', 'fb'),
        deps: { client: vendor.client },
      }),
    ).rejects.toThrow(/queue unavailable/);
    expect(await store.loadPollState(group.stateKey)).toBeUndefined();
  });
});

describe('a polling gap beyond the catch-up cap', () => {
  it("reaches every member flow's run log with the backfill to run, and raises each one's needs-attention alarm", async () => {
    const store = t.store();
    // Each member tracks its own machines: the gap is no machine's, so it concerns them all.
    const [a, b] = [downtimeFlow('ga', [M1], 25, 15), downtimeFlow('gb', [M2], 25, 15)];
    const group = planPollGroups(enabled(a, b)).groups[0] as PollGroup;
    const vendor = fakeVendor();
    await sharedRun(store, group, vendor, T0);
    // Down for 2 hours (a stopped schedule, an outage): 24 windows due, 3 within the cap.
    const { summary } = await sharedRun(store, group, vendor, T0 + 120 * MIN);
    expect(summary.steps).toBe(3);
    expect(summary.gaps).toBe(1);
    for (const flowId of ['ga', 'gb']) {
      const runs = await store.listRuns(flowId);
      const gap = runs.filter((r) => r.outcome === 'skipped');
      expect(gap).toHaveLength(1);
      expect(gap[0]?.message).toContain(
        `needs attention: backfill it with \`npx millwright backfill ${flowId} --from 2026-11-02T08:00:00.000Z --to 2026-11-02T09:45:00.000Z\``,
      );
      expect(gap[0]?.message).toMatch(/21 windows \(105 minutes\) not evaluated/);
    }
    const lines: string[] = [];
    pollGapsNeedAttention(['ga', 'gb'], summary.gaps, (line) => lines.push(line), new Date(T0));
    expect(lines.map((l) => JSON.parse(l))).toEqual(
      ['ga', 'gb'].map((flow) => expect.objectContaining({ flow, [NEEDS_ATTENTION_METRIC]: 1 })),
    );
    // A run without a gap raises nothing.
    const next = await sharedRun(store, group, vendor, T0 + 125 * MIN);
    expect(next.summary.gaps).toBeUndefined();
    pollGapsNeedAttention(['ga', 'gb'], next.summary.gaps, (line) => lines.push(line));
    expect(lines).toHaveLength(2);
  });
});

describe('first shared run', () => {
  it("merges the flows' earlier states: a lagging flow is caught up on its own, no episode starts twice", async () => {
    const store = t.store();
    const [a, b] = [downtimeFlow('ma', [M1], 20), downtimeFlow('mb', [M2], 20)];
    const vendor = fakeVendor();
    const ownRun = async (flow: AnyFlow, at: number) => {
      const queue = recordingQueue();
      await runPoll({
        flow,
        trigger: flow.triggers[0] as never,
        config: {},
        env: testEnv(store, { now: () => new Date(at) }),
        queue,
        queueUrl: `q:${flow.id}`,
        deps: { client: vendor.client },
      });
      return queue.sent;
    };
    // Before: each flow polled on its own. M1 went down and `ma` reported it; `mb` stopped earlier.
    await ownRun(a, T0);
    await ownRun(b, T0);
    vendor.down(M1, T0 + 1 * MIN);
    vendor.down(M2, T0 + 6 * MIN);
    expect(startedFor(await ownRun(a, T0 + 30 * MIN), 'q:ma')).toEqual([M1]);
    expect(startedFor(await ownRun(b, T0 + 10 * MIN), 'q:mb')).toEqual([]);

    const group = planPollGroups(enabled(a, b)).groups[0] as PollGroup;
    const { sent } = await sharedRun(store, group, vendor, T0 + 30 * MIN);
    // `mb` was caught up to `ma`'s watermark on its own: M2's episode started once, for `mb` only.
    expect(startedFor(sent, 'q:mb')).toEqual([M2]);
    // M1's episode came from `ma`'s state: not started again.
    expect(startedFor(sent, 'q:ma')).toEqual([]);
    const merged = (await loadSourceState<DowntimePollState>(store, group.stateKey, downtimePollSource))
      .state;
    expect(merged?.lastEvaluatedEnd).toBe(new Date(T0 + 30 * MIN).toISOString());
    expect(Object.keys(merged?.machines ?? {}).sort()).toEqual([M1, M2]);

    // Next runs poll the shared state only; nothing starts twice.
    const later = await sharedRun(store, group, vendor, T0 + 40 * MIN);
    expect(later.sent.filter((s) => s.event.type === DOWNTIME_STARTED)).toEqual([]);
  });
});
