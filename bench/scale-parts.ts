/**
 * `npx tsx bench/scale-parts.ts [--json]`: a 100,000-part UpKeep poll at plant scale.
 *
 * The UpKeep simulator (over HTTP on 127.0.0.1) is seeded with MILLWRIGHT_SCALE_PARTS parts (default
 * 100,000): groups of 1-200 parts that share a millisecond, then a bulk import of 40% of them in one
 * millisecond (the newest change); every 10th part is below its minimum. One poll of the real UpKeep parts poll
 * source runs through the real poller runtime and a StateStore on dynalite, from the beginning, then
 * a second (steady-state) poll. Printed: whether the poll completed, the largest state item (the
 * larger of DynamoDB's item size, names plus values, of every item in the table at the end, and the
 * JSON of every poll state saved on the way, failed saves included), requests per poll, poll time, peak memory
 * of this whole process (simulator included) and events enqueued.
 *
 * Only stable interfaces are used (the simulator, runPoll, StateStore, the flow's trigger), so the
 * same file runs against an older checkout; a poll that fails (e.g. a state item over DynamoDB's
 * 400 KB) is reported as `ok: false` with its error, not a crash.
 */
import { type DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { connectClickMaint } from '../functions/connectors/click-maint/client.ts';
import { startClickMaintSimulator } from '../functions/connectors/click-maint/simulator/index.ts';
import { UpKeepClient } from '../functions/connectors/upkeep/client.ts';
import { parseUpKeepConfig } from '../functions/connectors/upkeep/config.ts';
import { startUpKeepSimulator } from '../functions/connectors/upkeep/simulator/index.ts';
import type { RuntimeEnv } from '../functions/core/flow.ts';
import { silentLog } from '../functions/core/log.ts';
import { StateStore } from '../functions/core/state.ts';
import { flow as clickMaintFlow } from '../functions/flows/click-maint-part-low-to-mobility-work-stock.ts';
import { flow as upkeepFlow } from '../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { runPoll } from '../functions/runtime/poller.ts';
import type { EventQueue } from '../functions/runtime/queue.ts';
import { manualClock } from '../sandbox/clock.ts';
import { ensureStateTable, startLocalDynamo } from '../sandbox/dynamo.ts';

const PARTS = Number(process.env.MILLWRIGHT_SCALE_PARTS ?? 100_000);
/** Click Maint pages hold at most 100 parts: 20,000 parts are already 200+ requests. */
const CM_PARTS = Number(process.env.MILLWRIGHT_SCALE_CM_PARTS ?? 20_000);
/** Click Maint's documented plan: 300 requests per 5 minutes. */
const CM_REQUESTS_PER_MINUTE = 60;
const BULK_SHARE = 0.4;
const EMAIL = 'bench@plant.example';
const PASSWORD = 'bench-password-not-secret';
const TABLE = 'millwright-bench-parts';
const json = process.argv.includes('--json');

/** Records the JSON size of every poll state the store is asked to save (the failed ones too). */
function measureSaves(state: StateStore) {
  const sizes = { largest: 0 };
  const save = state.savePollState.bind(state);
  state.savePollState = (key, data, version) => {
    sizes.largest = Math.max(sizes.largest, Buffer.byteLength(JSON.stringify(data), 'utf8'));
    return save(key, data, version);
  };
  return sizes;
}

/** Peak RSS and heap of this process, sampled every 20 ms. */
function memoryPeaks() {
  const peak = { rss: 0, heap: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
  };
  sample();
  const timer = setInterval(sample, 20);
  timer.unref();
  return {
    peak,
    stop: () => {
      clearInterval(timer);
      sample();
    },
  };
}

/**
 * Groups of part counts that share one millisecond: 1-200 each (fixed seed), then one bulk import,
 * the newest change (so the steady-state poll starts at its millisecond).
 */
function groups(total: number): number[] {
  const bulk = Math.round(total * BULK_SHARE);
  const out: number[] = [];
  let left = total - bulk;
  let seed = 14;
  while (left > 0) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const n = Math.min(left, 1 + (seed % 200));
    out.push(n);
    left -= n;
  }
  out.push(bulk);
  return out;
}

async function upkeepRun() {
  const clock = manualClock(new Date('2026-11-02T06:00:00.000Z'));
  const sim = await startUpKeepSimulator({ clock, email: EMAIL, password: PASSWORD, port: 0, parts: [] });
  const dynamo = await startLocalDynamo();
  await ensureStateTable(dynamo.client, TABLE);
  const doc = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const state = new StateStore({ tableName: TABLE, client: doc, now: () => clock.now() });
  const saves = measureSaves(state);

  const seedStart = Date.now();
  let n = 0;
  let low = 0;
  for (const size of groups(PARTS)) {
    const batch = Array.from({ length: size }, () => {
      const i = n++;
      const isLow = i % 10 === 0;
      if (isLow) low++;
      return {
        id: `P${String(i).padStart(6, '0')}`,
        name: `Part ${i}`,
        quantity: isLow ? 1 : 20,
        minimumQuantity: 5,
      };
    });
    sim.addParts(batch);
    clock.advance(1);
  }
  const seedMs = Date.now() - seedStart;
  // Every import is settled (older than any tie-settle window) when the poll runs.
  clock.advance(10 * 60_000);

  const client = new UpKeepClient({
    config: parseUpKeepConfig({ baseUrl: sim.baseUrl, secretName: 'bench/upkeep' }),
    loadCredentials: async () => ({ email: EMAIL, password: PASSWORD }),
    now: () => clock.now(),
  });
  const flow = { ...upkeepFlow, id: 'bench-scale-parts' };
  const config = flow.config.parse({ mode: 'mirror', alignMinimum: false, poll: { pageSize: 1000 } });
  const trigger = flow.triggers[0];
  if (trigger?.kind !== 'schedule') throw new Error('the UpKeep part flow polls');
  let events = 0;
  let partsEnqueued = 0;
  const queue: EventQueue = {
    send: async (_url, batch) => {
      events += batch.length;
      for (const e of batch) partsEnqueued += (e.data as { parts: unknown[] }).parts.length;
    },
  };
  const env = {
    vendors: { upkeep: { secretName: 'bench/upkeep' } },
    secrets: { getJson: async () => ({}) },
    state,
    log: silentLog,
    now: () => clock.now(),
  } as unknown as RuntimeEnv;

  const poll = async () => {
    const before = sim.calls().length;
    const started = performance.now();
    let error: string | undefined;
    try {
      await runPoll({ flow, trigger, config, env, queue, queueUrl: 'bench', deps: { client } });
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    return {
      ms: Math.round(performance.now() - started),
      requests: sim.calls().length - before,
      ...(error ? { error } : {}),
    };
  };

  const memory = memoryPeaks();
  const first = await poll();
  memory.stop();
  const eventsFirst = events;
  const partsFirst = partsEnqueued;
  clock.advance(5 * 60_000);
  const second = await poll();

  // The largest of what the table holds at the end and of every poll state saved along the way.
  const largestItemBytes = Math.max(await largestItem(dynamo.client), saves.largest);
  const ok = !first.error && !second.error && partsFirst === PARTS && largestItemBytes <= 64 * 1024;
  const figures = {
    parts: PARTS,
    ok,
    largestItemBytes,
    requestsPerPoll: first.requests,
    steadyRequestsPerPoll: second.requests,
    pollMs: first.ms,
    peakRssMb: Math.round(memory.peak.rss / 1024 / 1024),
    peakHeapMb: Math.round(memory.peak.heap / 1024 / 1024),
    events: eventsFirst,
    partsEnqueued: partsFirst,
    lowParts: low,
    bulkImportParts: groups(PARTS).at(-1),
    seedMs,
    ...(first.error ? { error: first.error } : second.error ? { error: second.error } : {}),
  };
  console.log(`UpKeep parts poll at scale (${PARTS} parts, ${figures.bulkImportParts} in one millisecond)`);
  const rows: [string, string][] = [
    ['completed', ok ? 'yes' : `NO${figures.error ? ` (${figures.error})` : ''}`],
    ['parts enqueued (first poll)', `${partsFirst} of ${PARTS} in ${eventsFirst} events`],
    ['largest state item', `${largestItemBytes} bytes (at the end or saved on the way; bound 65536)`],
    ['requests per poll', `${first.requests} (first), ${second.requests} (steady state)`],
    ['poll time', `${first.ms} ms (first), ${second.ms} ms (steady state)`],
    ['peak memory (whole process)', `RSS ${figures.peakRssMb} MB, heap ${figures.peakHeapMb} MB`],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v}`);
  await Promise.all([sim.close(), dynamo.close()]);
  return figures;
}

/**
 * The same for Click Maint (ransack mode, one entity): CM_PARTS parts in groups of 1-200 per second,
 * then a bulk import of 40% in one second. The client's limiter runs on virtual time with a generous
 * budget (the bench would otherwise wait for Click Maint's 300 requests / 5 min); `budgetMinutes` says
 * how long the documented plan needs for that many requests.
 */
async function clickMaintRun() {
  const clock = manualClock(new Date('2026-11-02T06:00:00.000Z'));
  let wall = Date.parse('2026-11-02T06:00:00.000Z');
  const sim = await startClickMaintSimulator({
    clock,
    apiKey: 'bench-click-maint-key',
    rateLimit: { limit: 1_000_000, windowSeconds: 300 },
    wallClock: () => wall,
    seed: false,
    port: 0,
  });
  const dynamo = await startLocalDynamo();
  await ensureStateTable(dynamo.client, TABLE);
  const doc = DynamoDBDocumentClient.from(dynamo.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const state = new StateStore({ tableName: TABLE, client: doc, now: () => clock.now() });
  const saves = measureSaves(state);
  let n = 0;
  for (const size of groups(CM_PARTS)) {
    sim.addParts(
      1,
      Array.from({ length: size }, () => {
        const i = n++;
        return { name: `Part ${i}`, number: `CM-${i}`, on_hand_qty: i % 10 === 0 ? 1 : 20, min_qty: 5 };
      }),
    );
    clock.advance(1000);
  }
  clock.advance(10 * 60_000);
  const env = {
    vendors: {
      'click-maint': {
        baseUrl: sim.baseUrl,
        secretName: 'bench/click-maint',
        entities: [1],
        updatedAtFilter: 'ransack',
        rateLimit: { limit: 1_000_000, windowSeconds: 1, burst: 100_000, reserve: 0 },
      },
    },
    secrets: { getJson: async () => ({ apiKey: 'bench-click-maint-key' }) },
    state,
    log: silentLog,
    now: () => clock.now(),
  } as unknown as RuntimeEnv;
  const client = connectClickMaint(env, {
    now: () => wall,
    sleep: async (ms: number) => {
      wall += Math.max(0, ms);
    },
  });
  const flow = { ...clickMaintFlow, id: 'bench-scale-click-maint' };
  const config = flow.config.parse({ poll: { partsPerEvent: 500 } });
  const trigger = flow.triggers[0];
  if (trigger?.kind !== 'schedule') throw new Error('the Click Maint part flow polls');
  let events = 0;
  let parts = 0;
  const queue: EventQueue = {
    send: async (_url, batch) => {
      events += batch.length;
      for (const e of batch) parts += (e.data as { parts: unknown[] }).parts.length;
    },
  };
  const poll = async () => {
    const before = sim.calls().length;
    const started = performance.now();
    let error: string | undefined;
    try {
      await runPoll({ flow, trigger, config, env, queue, queueUrl: 'bench', deps: { client } });
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    return { ms: Math.round(performance.now() - started), requests: sim.calls().length - before, error };
  };
  const memory = memoryPeaks();
  const first = await poll();
  memory.stop();
  const eventsFirst = events;
  const partsFirst = parts;
  // A first poll stops at its page limit (maxPagesPerRun); the next ones, 5 min apart, carry on from
  // its watermark until one reads nothing new (steady state: one request).
  const runs = [first];
  while (runs.length < 6 && (runs.at(-1) as typeof first).requests > 1 && !runs.at(-1)?.error) {
    clock.advance(5 * 60_000);
    runs.push(await poll());
  }
  const steady = runs.at(-1) as typeof first;
  const catchingUp = steady.requests === 1 ? runs.slice(0, -1) : runs;
  const largestItemBytes = Math.max(await largestItem(dynamo.client), saves.largest);
  await Promise.all([sim.close(), dynamo.close()]);
  const error = runs.find((x) => x.error)?.error;
  return {
    parts: CM_PARTS,
    // Every part enqueued exactly once by the polls before the steady state, no item over 64 KB.
    ok: !error && parts === CM_PARTS && steady.requests === 1 && largestItemBytes <= 64 * 1024,
    largestItemBytes,
    requestsPerPoll: first.requests,
    pollsToCatchUp: catchingUp.length,
    requestsToCatchUp: catchingUp.reduce((n, x) => n + x.requests, 0),
    steadyRequestsPerPoll: steady.requests,
    budgetMinutes: Math.round((first.requests / CM_REQUESTS_PER_MINUTE) * 10) / 10,
    pollMs: first.ms,
    peakRssMb: Math.round(memory.peak.rss / 1024 / 1024),
    events: eventsFirst,
    partsFirst,
    partsEnqueued: parts,
    ...(error ? { error } : {}),
  };
}

async function main() {
  const upkeep = await upkeepRun();
  let clickMaint: Awaited<ReturnType<typeof clickMaintRun>> | { ok: false; error: string };
  try {
    clickMaint = await clickMaintRun();
  } catch (e) {
    clickMaint = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  console.log(`Click Maint parts poll at scale (${CM_PARTS} parts, ransack mode, one entity)`);
  if ('parts' in clickMaint) {
    const c = clickMaint;
    const rows: [string, string][] = [
      ['completed', c.ok ? 'yes' : `NO${c.error ? ` (${c.error})` : ''}`],
      [
        'parts enqueued',
        `${c.partsEnqueued} of ${c.parts} in ${c.pollsToCatchUp} poll(s) (${c.partsFirst} in the first, ${c.events} events)`,
      ],
      ['largest state item', `${c.largestItemBytes} bytes`],
      [
        'requests per poll',
        `${c.requestsPerPoll} (first; ${c.budgetMinutes} min of the 300 / 5 min plan), ${c.requestsToCatchUp} to catch up, ${c.steadyRequestsPerPoll} (steady state)`,
      ],
      ['poll time', `${c.pollMs} ms (rate-limit waits on virtual time)`],
      ['peak memory (whole process)', `RSS ${c.peakRssMb} MB`],
    ];
    for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v}`);
  } else {
    console.log(`  failed: ${clickMaint.error}`);
  }
  if (json) console.log(`BENCH_JSON ${JSON.stringify({ ...upkeep, clickMaint })}`);
}

/** DynamoDB's size of an attribute value (strings and binaries by length, numbers about 1 byte per 2 digits). */
function valueSize(v: Record<string, unknown>): number {
  if (typeof v.S === 'string') return Buffer.byteLength(v.S, 'utf8');
  if (typeof v.N === 'string') return Math.ceil(v.N.replace(/[-.]/g, '').length / 2) + 1;
  if (v.B instanceof Uint8Array) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (Array.isArray(v.L)) return 3 + v.L.reduce((n: number, x) => n + 1 + valueSize(x), 0);
  if (v.M && typeof v.M === 'object') return 3 + itemSize(v.M as Record<string, Record<string, unknown>>);
  for (const set of ['SS', 'NS', 'BS'] as const) {
    if (Array.isArray(v[set])) return (v[set] as string[]).reduce((n, x) => n + String(x).length, 0);
  }
  return 0;
}

/** An item's size as DynamoDB counts it against its 400 KB limit: attribute names plus values. */
const itemSize = (item: Record<string, Record<string, unknown>>): number =>
  Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name, 'utf8') + valueSize(v), 0);

/** The largest item of every table (DynamoDB's item size). */
async function largestItem(client: DynamoDBClient): Promise<number> {
  const { TableNames = [] } = await client.send(new ListTablesCommand({}));
  let largest = 0;
  for (const TableName of TableNames) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName, ...(start ? { ExclusiveStartKey: start as never } : {}) }),
      );
      for (const item of page.Items ?? []) {
        largest = Math.max(largest, itemSize(item as unknown as Record<string, Record<string, unknown>>));
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return largest;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
