/**
 * The downtime detector's state at plant scale, through the real poller and a StateStore on dynalite:
 * one item per tracked machine plus the watermark, so more machines down at once than one 400 KB
 * item can hold still complete their windows; a crash between shard writes replays the same window;
 * the old single-item state is read and migrated.
 */

import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import type {
  DowntimeReport,
  DowntimeReportQuery,
  MachineMetricsClient,
} from '../../../functions/connectors/machinemetrics/client.ts';
import { DOWNTIME_ENDED, DOWNTIME_STARTED } from '../../../functions/connectors/machinemetrics/events.ts';
import {
  type DowntimePollState,
  downtimePollSource,
} from '../../../functions/connectors/machinemetrics/poll-source.ts';
import { defineFlow, type ScheduleTrigger } from '../../../functions/core/flow.ts';
import { ConcurrentUpdateError, type StateStore } from '../../../functions/core/state.ts';
import { loadSourceState } from '../../../functions/runtime/poll-state.ts';
import { pollStateKey, runPoll } from '../../../functions/runtime/poller.ts';
import { recordingQueue, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { crashingStore } from '../flows/crash-support.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-11-02T08:00:00.000Z');
const MAX_ITEM_BYTES = 64 * 1024;

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const machineId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A vendor with `size` machines; `downSince` holds the machines down now (ms), `history` past records. */
function fakeFleet(size: number) {
  const records: { id: string; start: number; end?: number }[] = [];
  const reads: DowntimeReportQuery[] = [];
  const all = Array.from({ length: size }, (_, i) => machineId(i + 1));
  const client = {
    async downtimeReport(query: DowntimeReportQuery): Promise<DowntimeReport> {
      reads.push(query);
      const wanted = query.machines && query.machines.length > 0 ? new Set(query.machines) : undefined;
      const start = query.start.getTime();
      const end = query.end.getTime();
      const machines: DowntimeReport['machines'] = {};
      for (const r of records) {
        if (wanted && !wanted.has(r.id)) continue;
        const ms = Math.min(r.end ?? end, end) - Math.max(r.start, start);
        if (ms <= 0) continue;
        const m = machines[r.id] ?? { name: `M ${r.id.slice(-4)}`, downtimeMs: 0, reasons: {} };
        m.downtimeMs += ms;
        if (query.groupBy.includes('reason')) {
          const reason = m.reasons.uncategorized ?? { name: 'Uncategorized', downtimeMs: 0, virtual: true };
          reason.downtimeMs += ms;
          m.reasons.uncategorized = reason;
        }
        machines[r.id] = m;
      }
      return { range: { start: query.start.toISOString(), end: query.end.toISOString() }, machines };
    },
  };
  return {
    all,
    reads,
    client: client as unknown as MachineMetricsClient,
    down: (ids: string[], at: number) => {
      for (const id of ids) records.push({ id, start: at });
    },
    up: (ids: string[], at: number) => {
      const set = new Set(ids);
      for (const r of records) if (set.has(r.id) && r.end === undefined) r.end = at;
    },
  };
}

function downtimeFlow(id: string) {
  const flow = defineFlow({
    id,
    description: 'test',
    vendors: ['machinemetrics'],
    config: z.object({}),
    triggers: [
      {
        kind: 'schedule',
        source: downtimePollSource,
        everyMinutes: () => 5,
        options: () => ({ minimumMinutes: 10, stepMinutes: 5, settleMinutes: 0 }),
      },
    ],
    setup: () => undefined,
    on: {},
  });
  return { flow, trigger: flow.triggers[0] as ScheduleTrigger, key: pollStateKey(id, downtimePollSource.id) };
}

async function poll(
  setup: ReturnType<typeof downtimeFlow>,
  store: StateStore,
  fleet: ReturnType<typeof fakeFleet>,
  at: number,
) {
  const env = testEnv(store, { now: () => new Date(at) });
  const queue = recordingQueue();
  const summary = await runPoll({
    flow: setup.flow,
    trigger: setup.trigger,
    config: {},
    env,
    queue,
    queueUrl: 'q',
    deps: { client: fleet.client },
  });
  return { summary, events: queue.sent.map((s) => s.event) };
}

/** Every item of the table with its size as DynamoDB counts it, roughly (names + values, JSON). */
async function itemSizes(): Promise<{ pk: string; sk: string; bytes: number }[]> {
  const items: { pk: string; sk: string; bytes: number }[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await t.dynamo.client.send(
      new ScanCommand({ TableName: t.store().tableName, ExclusiveStartKey: start }),
    );
    for (const item of out.Items ?? []) {
      items.push({ pk: String(item.pk?.S), sk: String(item.sk?.S), bytes: JSON.stringify(item).length });
    }
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return items;
}

const loadState = async (store: StateStore, key: string) =>
  (await loadSourceState<DowntimePollState>(store, key, downtimePollSource)).state;

describe('downtime poll state at plant scale', () => {
  it('completes windows with 2,000 machines down at once and keeps every item under 64 KB', async () => {
    const setup = downtimeFlow('scale-2000');
    const fleet = fakeFleet(2000);
    const store = t.store();
    await poll(setup, store, fleet, T0); // first run: one window, nothing down
    fleet.down(fleet.all, T0);

    const down = await poll(setup, store, fleet, T0 + 10 * MIN);
    expect(down.summary.steps).toBe(2);
    expect(down.events.filter((e) => e.type === DOWNTIME_STARTED)).toHaveLength(2000);
    const state = await loadState(store, setup.key);
    expect(state?.lastEvaluatedEnd).toBe(new Date(T0 + 10 * MIN).toISOString());
    expect(Object.keys(state?.machines ?? {})).toHaveLength(2000);

    fleet.up(fleet.all, T0 + 12 * MIN);
    const upAgain = await poll(setup, store, fleet, T0 + 15 * MIN);
    expect(upAgain.summary.steps).toBe(1);
    expect(upAgain.events.filter((e) => e.type === DOWNTIME_ENDED)).toHaveLength(2000);
    expect(Object.values((await loadState(store, setup.key))?.machines ?? {})).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: 'ENDED' })]),
    );

    const sizes = (await itemSizes()).filter((i) => i.pk === `POLL#${setup.key}`);
    expect(sizes.length).toBeGreaterThan(2000);
    expect(Math.max(...sizes.map((i) => i.bytes))).toBeLessThan(MAX_ITEM_BYTES);
  }, 60_000);

  it('replays the same window after a crash between shard writes, with the same event ids', async () => {
    const setup = downtimeFlow('scale-crash');
    const fleet = fakeFleet(300);
    const store = t.store();
    await poll(setup, store, fleet, T0);
    fleet.down(fleet.all.slice(0, 200), T0);
    await poll(setup, store, fleet, T0 + 10 * MIN);
    const before = await loadState(store, setup.key);
    fleet.up(fleet.all.slice(0, 100), T0 + 12 * MIN);
    fleet.down(fleet.all.slice(200), T0 + 5 * MIN);

    // The next save dies after 60 shard writes: the cursor is not committed.
    const crashing = Object.assign(Object.create(Object.getPrototypeOf(store)), store) as StateStore;
    let writes = 0;
    crashing.putPollShard = async (key, shard) => {
      if (++writes > 60) throw new Error('process killed');
      return store.putPollShard(key, shard);
    };
    await expect(poll(setup, crashing, fleet, T0 + 15 * MIN)).rejects.toThrow('process killed');
    expect(await loadState(store, setup.key)).toEqual(before);

    const replay = await poll(setup, store, fleet, T0 + 15 * MIN);
    const twin = downtimeFlow('scale-crash-twin');
    const clean = t.store();
    // The same history without a crash gives the same events and the same state.
    await poll(twin, clean, fleet, T0);
    await poll(twin, clean, fleet, T0 + 10 * MIN);
    const straight = await poll(twin, clean, fleet, T0 + 15 * MIN);
    expect(replay.events.map((e) => e.id)).toEqual(straight.events.map((e) => e.id));
    expect(replay.events.filter((e) => e.type === DOWNTIME_ENDED)).toHaveLength(100);
    expect(await loadState(store, setup.key)).toEqual(await loadState(clean, twin.key));
  }, 60_000);

  it('reads the old single-item state and migrates it to shards on the next save', async () => {
    const setup = downtimeFlow('scale-legacy');
    const fleet = fakeFleet(3);
    const [m1, m2] = fleet.all as [string, string];
    const store = t.store();
    const episode = {
      status: 'DOWN' as const,
      episodeKey: `${m1}/2026-11-02T07:50:00.000Z`,
      machineName: 'M 0001',
      startedAt: '2026-11-02T07:40:00.000Z',
      detectedAt: '2026-11-02T07:50:00.000Z',
      reasonId: 'uncategorized',
      reasonName: 'Uncategorized',
    };
    fleet.down([m1], Date.parse(episode.startedAt));
    fleet.up([m1], T0 + 2 * MIN);
    fleet.down([m2], T0 - 20 * MIN);
    await store.savePollState(
      setup.key,
      {
        lastEvaluatedEnd: '2026-11-02T07:55:00.000Z',
        machines: { [m1]: episode, [m2]: { ...episode, episodeKey: `${m2}/2026-11-02T07:50:00.000Z` } },
      },
      undefined,
    );

    const { events } = await poll(setup, store, fleet, T0 + 5 * MIN);
    // The legacy episodes go on: m1 ends under its old key, m2 stays down (no new "started").
    expect(events.map((e) => e.id)).toEqual([`mm:downtime:${episode.episodeKey}:ended`]);
    const stored = await store.loadPollState<Record<string, unknown>>(setup.key);
    expect(stored?.data).not.toHaveProperty('machines');
    expect(stored?.data).toMatchObject({ lastEvaluatedEnd: '2026-11-02T08:05:00.000Z' });
    expect((await store.loadPollShards(setup.key)).map((s) => s.id).sort()).toEqual([m1, m2].sort());
    const state = await loadState(store, setup.key);
    expect(state?.machines[m1]?.status).toBe('ENDED');
    expect(state?.machines[m2]?.status).toBe('DOWN');
  });

  it('rewrites only the shards of machines whose episode changed in the window', async () => {
    const setup = downtimeFlow('scale-writes');
    const fleet = fakeFleet(50);
    const store = t.store();
    const counting = Object.assign(Object.create(Object.getPrototypeOf(store)), store) as StateStore;
    const written: string[] = [];
    counting.putPollShard = async (key, shard) => {
      written.push(shard.id);
      return store.putPollShard(key, shard);
    };
    await poll(setup, counting, fleet, T0);
    fleet.down(fleet.all.slice(0, 10), T0);
    await poll(setup, counting, fleet, T0 + 10 * MIN);
    expect(written).toHaveLength(10);
    written.length = 0;
    await poll(setup, counting, fleet, T0 + 15 * MIN); // all still down: nothing changed
    expect(written).toEqual([]);
    fleet.up(fleet.all.slice(0, 2), T0 + 17 * MIN);
    await poll(setup, counting, fleet, T0 + 20 * MIN);
    expect(written.sort()).toEqual(fleet.all.slice(0, 2).sort());
  });

  it("never lets a late writer overwrite a later or concurrent shard; a crashed run's may be replaced", async () => {
    const store = t.store();
    await store.putPollShard('late', { id: 'm', gen: 'g', at: 3, run: 'a', doc: { v: 3 } });
    // An older step, or the same step by a run that did not see this shard when it loaded: refused.
    await expect(store.putPollShard('late', { id: 'm', gen: 'g', at: 2, run: 'b', doc: {} })).rejects.toThrow(
      ConcurrentUpdateError,
    );
    await expect(store.putPollShard('late', { id: 'm', gen: 'g', at: 3, run: 'b', doc: {} })).rejects.toThrow(
      ConcurrentUpdateError,
    );
    await expect(
      store.putPollShard('late', { id: 'm', gen: 'g', at: 3, run: 'b', doc: {} }, 'someone-else'),
    ).rejects.toThrow(ConcurrentUpdateError);
    // The same step replacing the uncommitted shard it saw (run a's, left by a crash): allowed.
    await store.putPollShard('late', { id: 'm', gen: 'g', at: 3, run: 'c', doc: { v: 33 } }, 'a');
    await store.putPollShard('late', { id: 'm', gen: 'g', at: 4, run: 'd', doc: { v: 4 } });
    // Another generation (a reset cursor) may take the slot.
    await store.putPollShard('late', { id: 'm', gen: 'h', at: 1, run: 'e', doc: { v: 1 } });
    expect(await store.loadPollShards('late')).toEqual([
      { id: 'm', gen: 'h', at: 1, run: 'e', doc: { v: 1 } },
    ]);
  });

  it("stops a run whose window a concurrent run is saving, without touching that run's shards", async () => {
    const setup = downtimeFlow('scale-concurrent');
    const fleet = fakeFleet(20);
    const store = t.store();
    await poll(setup, store, fleet, T0);
    fleet.down(fleet.all.slice(0, 5), T0 - 10 * MIN);
    // Run B saves the same window (shards written, cursor not yet) right after run A loaded its state.
    const racing = Object.assign(Object.create(Object.getPrototypeOf(store)), store) as StateStore;
    racing.loadPollShards = async (key) => {
      const loaded = await store.loadPollShards(key);
      const twin = Object.assign(Object.create(Object.getPrototypeOf(store)), store) as StateStore;
      twin.savePollState = async () => {
        throw new Error('B is slow to commit');
      };
      await expect(poll(setup, twin, fleet, T0 + 5 * MIN)).rejects.toThrow('B is slow to commit');
      fleet.down(fleet.all.slice(5, 10), T0 - 10 * MIN); // A reads one more thing than B did
      return loaded;
    };
    const a = await poll(setup, racing, fleet, T0 + 5 * MIN);
    expect(a.summary.stoppedBy).toBe('a concurrent poll run');
    // B's shards stay B's. (A's shards of machines B did not write stay too: A enqueued their events
    // before writing them, and each machine's shard stands alone.)
    const shards = await store.loadPollShards(setup.key);
    const first = new Set(fleet.all.slice(0, 5));
    const ofB = shards.filter((s) => first.has(s.id));
    expect(ofB).toHaveLength(5);
    expect(new Set(ofB.map((s) => s.run)).size).toBe(1);
    expect(
      ofB.every((s) => s.at === 2 && (s.doc as { episodeKey: string }).episodeKey.endsWith('08:05:00.000Z')),
    ).toBe(true);
  });
});

describe('a poller that dies at any write (crash-support sweep)', () => {
  /** 6 machines: some go down, some come back, across four runs of one or more steps each. */
  const history = (fleet: ReturnType<typeof fakeFleet>) => [
    () => undefined,
    () => fleet.down(fleet.all.slice(0, 4), T0),
    () => {
      fleet.up(fleet.all.slice(0, 2), T0 + 12 * MIN);
      fleet.down(fleet.all.slice(4), T0 + 5 * MIN);
    },
    () => fleet.up(fleet.all.slice(2), T0 + 22 * MIN),
  ];
  const at = [T0, T0 + 10 * MIN, T0 + 15 * MIN, T0 + 30 * MIN];

  it('a crash at each write k of each run (lost, or landed with its answer lost), then the next tick: the same event ids enqueued as a clean run (none lost, none new) and the same state', async () => {
    let n = 0;
    const clean = downtimeFlow('sweep-clean');
    const cleanFleet = fakeFleet(6);
    const cleanStore = crashingStore(t.store(), Number.POSITIVE_INFINITY);
    const cleanIds = new Set<string>();
    const counts: number[] = [];
    for (const [run, change] of history(cleanFleet).entries()) {
      const before = cleanStore.writes();
      change();
      for (const e of (await poll(clean, cleanStore.store, cleanFleet, at[run] as number)).events)
        cleanIds.add(e.id);
      counts.push(cleanStore.writes() - before);
    }
    const cleanState = await loadState(cleanStore.store, clean.key);
    const ids = (state: unknown) => JSON.stringify(state).replaceAll(/sweep-\d+/g, '');
    for (const [r, writes] of counts.entries()) {
      for (let k = 1; k <= writes; k++) {
        for (const when of ['before', 'after'] as const) {
          const where = `run ${r} k=${k} ${when}`;
          const setup = downtimeFlow(`sweep-${++n}`);
          const fleet = fakeFleet(6);
          const store = t.store();
          const seen = new Set<string>();
          for (const [run, change] of history(fleet).entries()) {
            change();
            const now = at[run] as number;
            if (run === r) {
              const crash = crashingStore(store, k, when);
              const env = testEnv(crash.store, { now: () => new Date(now) });
              const queue = recordingQueue();
              await runPoll({
                flow: setup.flow,
                trigger: setup.trigger,
                config: {},
                env,
                queue,
                queueUrl: 'q',
                deps: { client: fleet.client },
              }).catch(() => undefined);
              for (const s of queue.sent) seen.add(s.event.id);
            }
            for (const e of (await poll(setup, store, fleet, now)).events) seen.add(e.id);
          }
          expect({ where, ids: [...seen].sort() }).toEqual({ where, ids: [...cleanIds].sort() });
          expect({ where, state: ids(await loadState(store, setup.key)) }).toEqual({
            where,
            state: ids(cleanState),
          });
        }
      }
    }
  }, 60_000);
});
