/**
 * MachineMetrics downtime -> UpKeep work order: the per-machine episode state machine
 * (functions/flows/shared/downtime.ts), against the real UpKeep simulator and a real state store.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { UpKeepClient } from '../../../functions/connectors/upkeep/client.ts';
import { AmbiguousWriteError, NeedsAttentionError, NotReadyError } from '../../../functions/core/errors.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import {
  type DowntimeFlowConfig,
  FLOW_ID,
  flow,
} from '../../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { EPISODE_WORK_ORDER_MAPPING } from '../../../functions/flows/shared/downtime.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { EMAIL, type Harness, PASSWORD, startHarness } from '../upkeep/support.ts';
import { crashingStore, WorkerCrash } from './crash-support.ts';
import {
  deliver,
  flowRunner,
  forSeeds,
  interleave,
  MINUTE,
  pollCategorized,
  pollEnded,
  pollStarted,
  prng,
  REASONS,
  randomHistory,
  seedsFromEnv,
  T0,
  webhookCategorized,
  webhookEnded,
  webhookStarted,
  withFaults,
} from './downtime-support.ts';

// Later than every history (records are made after the downtime they are about).
const clock = manualClock(new Date(T0 + 12 * 60 * MINUTE));
let t: TestState;
let h: Harness;
let store: StateStore;
let client: UpKeepClient;

beforeAll(async () => {
  t = await startTestState();
  h = await startHarness({ clock });
  store = t.store(() => clock.now());
  client = h.client();
});
afterAll(async () => {
  await h?.sim.close();
  await t?.close();
});

/** shared/downtime.ts KEPT_EPISODES (not imported, so this file also runs against older code). */
const KEPT_EPISODES = 20;
const ASSETS = ['AssetMill01', 'AssetLathe2'] as const;
let machineCounter = 0;
/** Fresh machines per test, so tests share the simulator and the store without seeing each other. */
const machines = (n: number) => Array.from({ length: n }, () => `m-uk-${++machineCounter}`);

function configFor(ids: readonly string[], extra: Record<string, unknown> = {}): DowntimeFlowConfig {
  return flow.config.parse({
    machines: Object.fromEntries(ids.map((id, i) => [id, { assetId: ASSETS[i % ASSETS.length] }])),
    minimumMinutes: 10,
    ...extra,
  });
}

const runner = (config: DowntimeFlowConfig, upkeep: UpKeepClient = client) =>
  flowRunner(flow, config, { upkeep }, store, clock);

const marker = (key: string) => `[millwright:${FLOW_ID}:${key}]`;
const workOrdersOf = (machineId: string) =>
  h.sim
    .workOrders()
    .filter(
      (wo) =>
        wo.description?.includes(`[millwright:${FLOW_ID}:`) &&
        wo.description.includes(`(MachineMetrics ${machineId})`),
    );
const recovered = (wo: { description: string | null }) =>
  wo.description?.includes('Running again since') ?? false;
const downtimeRecords = () => h.sim.downtime();

/** A downtime seen by the poller: its events, from a start minute. */
function pollDowntime(
  machineId: string,
  startMinute: number,
  minutes = 20,
  reason: { id: string; name: string } = REASONS[0],
) {
  const startedAt = T0 + startMinute * MINUTE;
  const detectedAt = startedAt + 10 * MINUTE;
  return {
    started: pollStarted({ machineId, detectedAt, startedAt, reason }),
    ended: pollEnded({ machineId, detectedAt, startedAt, endedAt: startedAt + minutes * MINUTE }),
    key: `${machineId}/${new Date(detectedAt).toISOString()}`,
    startedAt,
    detectedAt,
  };
}

/** A person deletes a work order in UpKeep (the client has no delete: Millwright never deletes one). */
async function deleteWorkOrder(id: string): Promise<void> {
  const auth = await fetch(`${h.sim.url}/api/v2/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  const { result } = (await auth.json()) as { result: { sessionToken: string } };
  const res = await fetch(`${h.sim.url}/api/v2/work-orders/${id}`, {
    method: 'DELETE',
    headers: { 'session-token': result.sessionToken },
  });
  expect(res.status).toBe(200);
}

async function rejects(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('issue 9 scenarios (UpKeep work orders)', () => {
  it('scenario 1: a work-order create fails, the machine runs again before the retry, then two more downtimes: 3 work orders + 3 recovery updates', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const before = downtimeRecords().length;
    const first = pollDowntime(m, 0);
    // UpKeep refuses the create (503 on every one of the client's attempts): retryable failure.
    h.sim.faults.push({ match: 'POST /api/v2/work-orders', status: 503, times: 4 });
    const failure = await rejects(run(first.started));
    expect(failure.name).toBe('VendorHttpError');
    h.sim.faults.length = 0;
    await run(first.ended); // the machine runs again before the retry
    const retried = await run(first.started);
    expect(retried.outcome).toBe('done');
    for (const start of [40, 80]) {
      const next = pollDowntime(m, start);
      await run(next.started);
      await run(next.ended);
    }
    const wos = workOrdersOf(m);
    expect(wos).toHaveLength(3);
    expect(wos.every(recovered)).toBe(true);
    const records = downtimeRecords().slice(before);
    expect(records.filter((r) => r.status === 'available')).toHaveLength(3);
    expect(records.filter((r) => r.status === 'not-available')).toHaveLength(3);
    // The first work order has its own end, not another episode's.
    const firstWo = wos.find((wo) => wo.description?.includes(marker(first.key)));
    expect(firstWo?.description).toContain(
      `Running again since: ${new Date(first.startedAt + 20 * MINUTE).toISOString()}`,
    );
  });

  it('scenario 2: two downtimes of one machine in one catch-up poll run (one batch, run in any order): 2 work orders + 2 recoveries', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const a = pollDowntime(m, 0, 20);
    const b = pollDowntime(m, 30, 25);
    // The order a parallel batch may run them in: the second episode first, the ends last.
    for (const event of [b.started, a.started, a.ended, b.ended]) await run(event);
    const wos = workOrdersOf(m);
    expect(wos).toHaveLength(2);
    expect(wos.every(recovered)).toBe(true);
    const woA = wos.find((wo) => wo.description?.includes(marker(a.key)));
    const woB = wos.find((wo) => wo.description?.includes(marker(b.key)));
    expect(woA?.description).toContain('Total downtime: 20 min');
    expect(woB?.description).toContain('Total downtime: 25 min');
  });

  it('scenario 2 (parallel): the four events of one batch processed concurrently, failures redelivered: 2 work orders + 2 recoveries', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const a = pollDowntime(m, 0, 20);
    const b = pollDowntime(m, 30, 25);
    let batch = [a.started, a.ended, b.started, b.ended];
    for (let round = 0; batch.length > 0 && round < 10; round++) {
      const settled = await Promise.allSettled(batch.map((e) => run(e)));
      batch = batch.filter((_, i) => settled[i]?.status === 'rejected');
    }
    expect(batch).toHaveLength(0);
    const wos = workOrdersOf(m);
    expect(wos).toHaveLength(2);
    expect(wos.every(recovered)).toBe(true);
  });

  it("scenario 3: a downtime categorised (Workflow webhook) before the poller has seen it: the reason goes to the new episode's work order, the previous one keeps its own", async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const first = pollDowntime(m, 0, 20, REASONS[1]);
    await run(first.started);
    await run(first.ended);
    const second = pollDowntime(m, 40, 20, { id: 'uncategorized', name: 'Uncategorized' });
    const categorized = await run(
      webhookCategorized({
        machineId: m,
        startedAt: second.startedAt,
        at: second.startedAt + 2 * MINUTE,
        reason: REASONS[2],
      }),
    );
    expect(categorized.outcome).toBe('skipped');
    await run(second.started);
    const wos = workOrdersOf(m);
    const firstWo = wos.find((wo) => wo.description?.includes(marker(first.key)));
    const secondWo = wos.filter((wo) => !wo.description?.includes(marker(first.key)));
    expect(firstWo?.title).toContain(`(${REASONS[1].name})`);
    expect(secondWo).toHaveLength(1);
    expect(secondWo[0]?.title).toContain(`(${REASONS[2].name})`);
  });

  it("scenario 5: a replay of an old episode's started event, then a third downtime: 3 work orders", async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const first = pollDowntime(m, 0);
    const second = pollDowntime(m, 40);
    const third = pollDowntime(m, 80);
    for (const e of [first.started, first.ended, second.started, second.ended]) await run(e);
    const replay = await run(first.started);
    expect(replay.outcome).toBe('duplicate');
    expect(replay.message).toContain('already ended');
    await run(third.started);
    await run(third.ended);
    const wos = workOrdersOf(m);
    expect(wos).toHaveLength(3);
    expect(wos.every(recovered)).toBe(true);
  });
});

describe('order per machine across retries (issue 13)', () => {
  it('a started that failed with an UpKeep 5xx, retried after its ended: one work order, completed; replays of the started (both sources) and the ended change nothing, the completed work order stays complete', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m], { workOrder: { onRecovery: 'complete' } }));
    const before = downtimeRecords().length;
    const d = pollDowntime(m, 200); // before the asset records of the scenario 10 tests below
    h.sim.faults.push({ match: 'POST /api/v2/work-orders', status: 503, times: 4 });
    expect((await rejects(run(d.started))).name).toBe('VendorHttpError');
    h.sim.faults.length = 0;
    expect((await run(d.ended)).outcome).toBe('skipped'); // kept: the retried started makes the work order
    expect((await run(d.started)).outcome).toBe('done');
    const [wo, ...more] = workOrdersOf(m);
    expect(more).toHaveLength(0);
    expect(wo?.status).toBe('complete');
    const writes = h.sim.calls().filter((c) => c.line.startsWith('PATCH ')).length;
    // Replayed (DLQ replay, backfill) and redelivered by the other source, after the episode closed.
    const webhookReplay = webhookStarted({ machineId: m, startedAt: d.startedAt, downtimeMs: 12 * MINUTE });
    for (const late of [d.started, webhookReplay, d.ended, d.started]) {
      expect((await run(late)).outcome).toBe('duplicate');
    }
    expect(workOrdersOf(m)).toHaveLength(1);
    expect(workOrdersOf(m)[0]?.status).toBe('complete');
    expect(h.sim.calls().filter((c) => c.line.startsWith('PATCH '))).toHaveLength(writes);
    expect(
      downtimeRecords()
        .slice(before)
        .map((r) => r.status),
    ).toEqual(['not-available', 'available']);
  });
});

/**
 * The client, except that the next `recordAssetDowntime` reaches UpKeep and then loses its answer
 * (`landed` runs in between, e.g. to change what the asset shows).
 */
function losingNextAssetAnswer(landed: () => void = () => undefined): UpKeepClient {
  let armed = true;
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'recordAssetDowntime') return value.bind(target);
      return async (...args: unknown[]) => {
        const out = await value.apply(target, args);
        if (!armed) return out;
        armed = false;
        landed();
        throw new AmbiguousWriteError('upkeep', 'recordAssetDowntime', { cause: new Error('timeout') });
      };
    },
  });
}

describe('asset downtime records (POST /assets/downtime has no key): look before write', () => {
  it('scenario 10 (timeout after write): a not-available record whose answer was lost is found on the asset, not recorded twice', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]), losingNextAssetAnswer());
    const before = downtimeRecords().length;
    const d = pollDowntime(m, 600);
    const lost = await rejects(run(d.started));
    expect(lost.name).toBe('AmbiguousWriteError');
    expect((await run(d.started)).outcome).toBe('duplicate');
    await run(d.ended);
    const records = downtimeRecords().slice(before);
    expect(records.map((r) => r.status)).toEqual(['not-available', 'available']);
  });

  it('a lost answer of a record older than a later one of ours cannot be told from the asset: parked with what to check, not recorded twice', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]), losingNextAssetAnswer());
    const before = downtimeRecords().length;
    const d = pollDowntime(m, 500); // before the records of the previous test on the same asset
    const lost = await rejects(run(d.started));
    expect(lost.name).toBe('AmbiguousWriteError');
    const parked = await rejects(run(d.started));
    expect(parked).toBeInstanceOf(NeedsAttentionError);
    expect((parked as NeedsAttentionError).check).toContain(
      `"not-available" record at ${new Date(d.startedAt).toISOString()}`,
    );
    expect(downtimeRecords().slice(before)).toHaveLength(1);
  });
});

describe('an asset that shows no downtimeStatus (optional in the doc)', () => {
  it('a record whose answer was lost cannot be read from such an asset: parked with what to check, not recorded twice', async () => {
    const [m] = machines(1) as [string];
    const config = flow.config.parse({ machines: { [m]: { assetId: 'AssetPress3' } }, minimumMinutes: 10 });
    // The record lands, the asset shows no status (as one whose downtimeStatus is unset), the answer is lost.
    const upkeep = losingNextAssetAnswer(() => h.sim.setAssetDowntimeStatus('AssetPress3', null));
    const run = runner(config, upkeep);
    const d = pollDowntime(m, 600);
    expect((await rejects(run(d.started))).name).toBe('AmbiguousWriteError');
    expect(h.sim.assets().find((a) => a.id === 'AssetPress3')?.downtimeStatus).toBeUndefined();
    const parked = await rejects(run(d.started));
    expect(parked).toBeInstanceOf(NeedsAttentionError);
    expect(parked.message).toContain('shows no downtimeStatus');
    expect((parked as NeedsAttentionError).check).toContain(
      `"not-available" record at ${new Date(d.startedAt).toISOString()}`,
    );
    expect(downtimeRecords().filter((r) => r.assetId === 'AssetPress3')).toHaveLength(1);
  });
});

describe('asset downtime records of one asset are sent one at a time', () => {
  it("the next downtime's record waits while the previous one's answer is unconfirmed: that one is then found on the asset (not parked), and neither is recorded twice", async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const losing = runner(configFor([m]), losingNextAssetAnswer());
    const before = downtimeRecords().length;
    const iso = (ms: number) => new Date(ms).toISOString();
    const first = pollDowntime(m, 700, 5); // later than every record the tests above made on the asset
    const next = pollDowntime(m, 720);
    // The first downtime's recovery record (available) loses its answer.
    await run(first.started);
    expect((await rejects(losing(first.ended))).name).toBe('AmbiguousWriteError');
    // Sent now, the next down record would hide whether the lost one landed (the asset shows only
    // its latest status): it waits instead.
    const waiting = await rejects(run(next.started));
    expect(waiting).toBeInstanceOf(NotReadyError);
    expect(waiting.message).toContain(`earlier record (${iso(first.startedAt + 5 * MINUTE)}`);
    await run(first.ended);
    await run(next.started);
    expect(
      downtimeRecords()
        .slice(before)
        .map((r) => `${r.status}@${r.recordedOn}`),
    ).toEqual([
      `not-available@${iso(first.startedAt)}`,
      `available@${iso(first.startedAt + 5 * MINUTE)}`,
      `not-available@${iso(next.startedAt)}`,
    ]);
  });

  it('a record of another episode of the same asset also waits for the unconfirmed one, then goes', async () => {
    const [m, other] = machines(2) as [string, string];
    // Both machines on one asset.
    const config = flow.config.parse({
      machines: { [m]: { assetId: ASSETS[1] }, [other]: { assetId: ASSETS[1] } },
      minimumMinutes: 10,
    });
    const run = runner(config, losingNextAssetAnswer());
    const before = downtimeRecords().length;
    const first = pollDowntime(m, 800);
    const second = pollDowntime(other, 805);
    expect((await rejects(run(first.started))).name).toBe('AmbiguousWriteError');
    expect(await rejects(run(second.started))).toBeInstanceOf(NotReadyError);
    await run(first.started);
    await run(second.started);
    expect(
      downtimeRecords()
        .slice(before)
        .map((r) => `${r.status}@${r.recordedOn}`),
    ).toEqual([
      `not-available@${new Date(first.startedAt).toISOString()}`,
      `not-available@${new Date(second.startedAt).toISOString()}`,
    ]);
  });

  it('a not-available record UpKeep applied but answered 500 is found on the asset on the retry, not recorded twice', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const before = downtimeRecords().length;
    const d = pollDowntime(m, 900); // later than every record the tests above made on the asset
    h.sim.faults.push({ match: 'POST /api/v2/assets/downtime', status: 500, afterWrite: true });
    expect((await rejects(run(d.started))).message).toContain('HTTP 500');
    await run(d.started);
    await run(d.ended);
    const records = downtimeRecords().slice(before);
    expect(records.map((r) => r.status)).toEqual(['not-available', 'available']);
  });
});

describe('look before write among unreadable work orders', () => {
  it('a create UpKeep applied but answered 200 with a body that is no work order (a proxy page): the retry finds ours by its marker, not created twice', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 710);
    h.sim.faults.push({
      match: 'POST /api/v2/work-orders',
      status: 200,
      afterWrite: true,
      body: { message: 'We are performing scheduled maintenance' },
    });
    expect((await rejects(run(d.started))).message).toContain('unexpected response');
    expect(workOrdersOf(m)).toHaveLength(1);
    expect((await run(d.started)).message).toContain('made by an earlier attempt');
    expect(workOrdersOf(m)).toHaveLength(1);
  });
  it('a lost create answer, then more than a page of other work orders on the asset (newest first): the retry pages on and finds ours on page 2, not created twice', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 700);
    h.sim.faults.push({ match: 'POST /api/v2/work-orders', status: 500, afterWrite: true });
    expect((await rejects(run(d.started))).name).toBe('AmbiguousWriteError');
    // People's work orders on the same asset, made after ours: UpKeep lists newest first (orderBy
    // createdAt DESC), 100 a page, so ours is on the second page.
    clock.advance(MINUTE);
    for (let i = 0; i < 105; i++) {
      await client.createWorkOrder({ title: `Inspection ${i}`, asset: ASSETS[0], priority: 1 });
    }
    const looked = h.sim.calls().length;
    expect((await run(d.started)).message).toContain('made by an earlier attempt');
    // Two list reads: the look went past the first (full) page.
    expect(
      h.sim
        .calls()
        .slice(looked)
        .filter((c) => c.line === 'GET /work-orders'),
    ).toHaveLength(2);
    expect(workOrdersOf(m)).toHaveLength(1);
  });
  it('bad input: a work order of someone else on the asset that does not parse does not stall the look for ours after a lost create answer: found, not created twice', async () => {
    const [m] = machines(1) as [string];
    // Every list of work orders also carries a person's work order UpKeep answers without a title.
    const withBrokenRow = (async (url: string | URL, init?: RequestInit) => {
      const res = await fetch(url, init);
      if ((init?.method ?? 'GET') !== 'GET' || !/\/work-orders\?/.test(String(url))) return res;
      const body = (await res.json()) as { results: Record<string, unknown>[] };
      const at = clock.now().toISOString();
      body.results.unshift({ id: 'WoByAPerson', title: null, status: 'open', createdAt: at, updatedAt: at });
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    }) as typeof fetch;
    const run = runner(configFor([m]), h.client({ http: { fetch: withBrokenRow } }));
    const d = pollDowntime(m, 680);
    h.sim.faults.push({ match: 'POST /api/v2/work-orders', status: 500, afterWrite: true });
    expect((await rejects(run(d.started))).name).toBe('AmbiguousWriteError');
    expect((await run(d.started)).outcome).not.toBe('failed');
    expect(workOrdersOf(m)).toHaveLength(1);
  });
  it('bad input: our own work order answered without a title after a lost create answer is still found by its marker, not created twice', async () => {
    const [m] = machines(1) as [string];
    const titleless = (async (url: string | URL, init?: RequestInit) => {
      const res = await fetch(url, init);
      if ((init?.method ?? 'GET') !== 'GET' || !/\/work-orders\?/.test(String(url))) return res;
      const body = (await res.json()) as { results: Record<string, unknown>[] };
      for (const row of body.results) row.title = null;
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    }) as typeof fetch;
    const run = runner(configFor([m]), h.client({ http: { fetch: titleless } }));
    const d = pollDowntime(m, 690);
    h.sim.faults.push({ match: 'POST /api/v2/work-orders', status: 500, afterWrite: true });
    expect((await rejects(run(d.started))).name).toBe('AmbiguousWriteError');
    expect((await run(d.started)).outcome).not.toBe('failed');
    expect(workOrdersOf(m)).toHaveLength(1);
  });
});

describe('episode transitions (shared/downtime.ts table), UpKeep', () => {
  it('(none) + started, qualifies -> OPEN: one work order, asset not available', async () => {
    const [m] = machines(1) as [string];
    const d = pollDowntime(m, 0);
    const result = await runner(configFor([m]))(d.started);
    expect(result.outcome).toBe('done');
    expect(workOrdersOf(m)).toHaveLength(1);
  });

  it('(none) + started below the minimum -> NOTED: skipped, nothing created', async () => {
    const [m] = machines(1) as [string];
    const result = await runner(configFor([m]))(
      webhookStarted({ machineId: m, startedAt: T0, downtimeMs: 0 }),
    );
    expect(result.outcome).toBe('skipped');
    expect(result.message).toContain('below the 10 min minimum');
    expect(workOrdersOf(m)).toHaveLength(0);
  });

  it('(none) + an event of an episode older than the kept ones -> stale', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const all = Array.from({ length: KEPT_EPISODES + 2 }, (_, i) => pollDowntime(m, i * 40));
    for (const d of all.slice(1)) {
      await run(d.started);
      await run(d.ended);
    }
    const oldest = all[0];
    if (!oldest) throw new Error('no episode');
    const result = await run(oldest.started);
    expect(result.outcome).toBe('stale');
    expect(workOrdersOf(m)).toHaveLength(KEPT_EPISODES + 1);
  }, 60_000);

  it('(none)/NOTED + ended -> NOTED: the end is kept; the started then creates and recovers', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 0);
    const ended = await run(d.ended);
    expect(ended.outcome).toBe('skipped');
    expect(ended.message).toContain('kept');
    const started = await run(d.started);
    expect(started.outcome).toBe('done');
    expect(started.message).toContain('recovery recorded');
    const [wo] = workOrdersOf(m);
    expect(wo && recovered(wo)).toBe(true);
  });

  it('OPEN + started of the same downtime from the other source -> duplicate, no second work order', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 0);
    await run(d.started);
    const echo = await run(
      webhookStarted({ machineId: m, startedAt: d.startedAt + MINUTE, downtimeMs: 11 * MINUTE }),
    );
    expect(echo.outcome).toBe('duplicate');
    expect(echo.message).toContain('same downtime');
    const end = await run(
      webhookEnded({ machineId: m, startedAt: d.startedAt + MINUTE, endedAt: d.startedAt + 20 * MINUTE }),
    );
    expect(end.outcome).toBe('done');
    expect((await run(d.ended)).outcome).toBe('duplicate');
    expect(workOrdersOf(m)).toHaveLength(1);
  });

  it('OPEN + a newer categorisation -> reason updated; an older one -> stale; the same again -> duplicate', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 0);
    await run(d.started);
    const newer = pollCategorized({
      machineId: m,
      detectedAt: d.detectedAt,
      at: d.detectedAt + 10 * MINUTE,
      reason: REASONS[2],
    });
    const older = pollCategorized({
      machineId: m,
      detectedAt: d.detectedAt,
      at: d.detectedAt + 5 * MINUTE,
      reason: REASONS[3],
    });
    expect((await run(newer)).outcome).toBe('done');
    const stale = await run(older);
    expect(stale.outcome).toBe('stale');
    expect(stale.message).toContain('older');
    expect((await run(newer)).outcome).toBe('duplicate');
    expect(workOrdersOf(m)[0]?.title).toContain(`(${REASONS[2].name})`);
  });

  it('two workers at once: an older categorisation whose work-order write is sent late, after the newer one was shown, does not leave the older reason on the work order', async () => {
    const [m] = machines(1) as [string];
    const config = configFor([m]);
    const d = pollDowntime(m, 0);
    await runner(config)(d.started);
    const categorized = (minutes: number, reason: { id: string; name: string }) =>
      pollCategorized({
        machineId: m,
        detectedAt: d.detectedAt,
        at: d.detectedAt + minutes * MINUTE,
        reason,
      });
    // The older categorisation's worker has read the episode and is about to write the work order
    // when it stalls; meanwhile another worker applies the newer one in full.
    let writing!: () => void;
    const isWriting = new Promise<void>((resolve) => {
      writing = resolve;
    });
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = Object.create(client) as UpKeepClient;
    let stalls = 1;
    slow.updateWorkOrder = async (id, patch) => {
      if (stalls-- > 0) {
        writing();
        await stalled;
      }
      return client.updateWorkOrder(id, patch);
    };
    const older = runner(config, slow)(categorized(5, REASONS[3]));
    await isWriting;
    expect((await runner(config)(categorized(10, REASONS[2]))).outcome).toBe('done');
    expect(workOrdersOf(m)[0]?.title).toContain(`(${REASONS[2].name})`);
    release();
    await older;
    expect(workOrdersOf(m)[0]?.title).toContain(`(${REASONS[2].name})`);
  });

  it('OPEN + ended -> CLOSED: recovery once; CLOSED + ended again -> duplicate', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 0);
    await run(d.started);
    expect((await run(d.ended)).outcome).toBe('done');
    expect((await run(d.ended)).outcome).toBe('duplicate');
    expect(workOrdersOf(m).filter(recovered)).toHaveLength(1);
  });

  it('OPEN + ended after a person deleted its work order: nothing written to it, said so, and the asset is still recorded available again', async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 0);
    const before = downtimeRecords().length;
    expect((await run(d.started)).outcome).toBe('done');
    const [wo] = workOrdersOf(m);
    await deleteWorkOrder((wo as { id: string }).id);
    const ended = await run(d.ended);
    expect(ended).toMatchObject({ outcome: 'done', message: expect.stringContaining('no longer exists') });
    expect(workOrdersOf(m)).toHaveLength(0);
    const records = downtimeRecords().slice(before);
    expect(records.map((r) => r.status)).toEqual(['not-available', 'available']);
    // A redelivery or replay of the end changes nothing more.
    expect((await run(d.ended)).outcome).toBe('duplicate');
    expect(downtimeRecords().slice(before)).toHaveLength(2);
  });

  it("CLOSED + categorized later (within grace) -> the closed episode's work order gets the reason", async () => {
    const [m] = machines(1) as [string];
    const run = runner(configFor([m]));
    const d = pollDowntime(m, 0);
    await run(d.started);
    await run(d.ended);
    const late = await run(
      pollCategorized({
        machineId: m,
        detectedAt: d.detectedAt,
        at: d.detectedAt + 30 * MINUTE,
        reason: REASONS[3],
      }),
    );
    expect(late.outcome).toBe('done');
    expect(workOrdersOf(m)[0]?.title).toContain(`(${REASONS[3].name})`);
  });
});

describe('property: any order, duplicates, replays and vendor faults give exactly the expected work orders', () => {
  it('random histories of 2 machines, 20 seeds (SEEDS=n replays one)', async () => {
    await forSeeds(seedsFromEnv(20), async (seed) => {
      const rand = prng(seed);
      const ids = machines(2);
      const config = configFor(ids);
      const { events, episodes } = randomHistory(rand, ids);
      const faulty = withFaults(client, prng(seed * 7919), 'upkeep', {
        createWorkOrder: 'after',
        updateWorkOrder: 'before',
        recordAssetDowntime: 'before',
      });
      const before = downtimeRecords().length;
      const run = runner(config, faulty);
      await deliver(rand, interleave(rand, events), run, { clock });

      const wos = ids.flatMap(workOrdersOf);
      expect(wos).toHaveLength(episodes.length);
      for (const ep of episodes) {
        const mine = wos.filter((wo) => ep.keys.some((k) => wo.description?.includes(marker(k))));
        expect(mine).toHaveLength(1);
        const wo = mine[0];
        expect(wo?.title).toContain(`(${ep.reasonName})`);
        expect(wo && recovered(wo)).toBe(ep.ended);
      }
      const records = downtimeRecords().slice(before);
      expect(records.filter((r) => r.status === 'not-available')).toHaveLength(episodes.length);
      expect(records.filter((r) => r.status === 'available')).toHaveLength(
        episodes.filter((e) => e.ended).length,
      );
    });
  }, 120_000);
});

describe('a worker that dies at any write (crash-support sweep)', () => {
  it('started, categorized, ended: a crash at each write k of each event (lost, or landed with its answer lost), then SQS redelivery: one work order with the reason, recovered once, the same downtime records as a clean run, or parked with a reason', async () => {
    // Each case later than the one before: all share the asset, whose status shows its latest record.
    let startMinute = 0;
    const history = (m: string) => {
      startMinute += 40;
      clock.advance(40 * MINUTE);
      const d = pollDowntime(m, startMinute, 30);
      const cat = pollCategorized({
        machineId: m,
        detectedAt: d.detectedAt,
        at: d.startedAt + 15 * MINUTE,
        reason: REASONS[2],
      });
      return [d.started, cat, d.ended];
    };
    const recordsOf = (asset: string) => downtimeRecords().filter((r) => r.assetId === asset).length;
    // A clean run: its write count per event and its downtime records.
    const [c] = machines(1) as [string];
    const counts: number[] = [];
    const cleanAsset = configFor([c]).machines[c]?.assetId as string;
    const before = recordsOf(cleanAsset);
    for (const event of history(c)) {
      const counting = crashingStore(store, Number.POSITIVE_INFINITY);
      await flowRunner(flow, configFor([c]), { upkeep: client }, counting.store, clock)(event);
      counts.push(counting.writes());
    }
    const cleanRecords = recordsOf(cleanAsset) - before;
    expect(workOrdersOf(c)).toHaveLength(1);
    for (const [e, n] of counts.entries()) {
      for (let k = 1; k <= n; k++) {
        for (const when of ['before', 'after'] as const) {
          const [m] = machines(1) as [string];
          const config = configFor([m]);
          const asset = config.machines[m]?.assetId as string;
          const start = recordsOf(asset);
          const events = history(m);
          const healthy = runner(config);
          const crash = crashingStore(store, k, when);
          const where = `event ${e} k=${k} ${when}`;
          let parked: unknown;
          for (const [i, event] of events.entries()) {
            if (i === e) {
              const died = await flowRunner(
                flow,
                config,
                { upkeep: client },
                crash.store,
                clock,
              )(event).catch((error: unknown) => error);
              // A crash must fail the attempt (SQS redelivers), never end as a result. (This run may
              // make fewer writes than the first clean one, which also set up the asset: no crash.)
              if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
              clock.advance(2 * MINUTE); // past the claim's lease: the redelivery
            }
            const out = await healthy(event).catch((error: unknown) => error);
            if (out instanceof NeedsAttentionError) parked = out;
            else
              expect({ where, i, out }).toEqual({
                where,
                i,
                out: expect.objectContaining({ outcome: expect.any(String) }),
              });
          }
          expect({ where, wos: workOrdersOf(m).length }).toEqual({ where, wos: 1 });
          if (parked) continue;
          const wo = workOrdersOf(m)[0];
          expect({
            where,
            recovered: recovered(wo as never),
            reason: wo?.description?.includes(REASONS[2].name),
          }).toEqual({ where, recovered: true, reason: true });
          expect({ where, records: recordsOf(asset) - start }).toEqual({ where, records: cleanRecords });
          // The task-status flow finds the work order by the episode's key.
          const key = `${m}/${new Date(T0 + (startMinute + 10) * MINUTE).toISOString()}`;
          expect({ where, mapped: await store.getMapping(EPISODE_WORK_ORDER_MAPPING, key) }).toEqual({
            where,
            mapped: wo?.id,
          });
        }
      }
    }
    // A sweep of every write of every event: about 10 s on a quiet machine, more on a busy one.
  }, 120_000);
});
