/**
 * `tsx bench/scale-downtime.ts [--machines 5000] [--down 500] [--json]`: the MachineMetrics downtime
 * poll at plant scale. The real flow (machinemetrics-downtime-to-upkeep-work-order, its config
 * mapping every machine), the real poll source and poller runtime, a StateStore on an in-process
 * dynalite, and the MachineMetrics simulator over HTTP with a manual clock. `down` machines stop at
 * once, get categorised, and run again; one poll per 5-minute tick. Prints the largest state item
 * (by scanning the table), report requests per poll, time per poll, peak memory and events enqueued.
 *
 * It drives only interfaces the baseline also has, so the same file runs in an older checkout; a
 * poll that throws there (e.g. DynamoDB's item size limit) is reported as `ok: false` with its error.
 */
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startMachineMetricsSimulator } from '../functions/connectors/machinemetrics/simulator/index.ts';
import type { FlowEvent, RuntimeEnv, ScheduleTrigger } from '../functions/core/flow.ts';
import { silentLog } from '../functions/core/log.ts';
import { staticSecretSource } from '../functions/core/secrets.ts';
import { StateStore } from '../functions/core/state.ts';
import * as upkeepFlow from '../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { runPoll } from '../functions/runtime/poller.ts';
import { manualClock } from '../sandbox/clock.ts';
import { ensureStateTable, startLocalDynamo } from '../sandbox/dynamo.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const MACHINES = arg('machines', 5000);
const DOWN = arg('down', 500);
const JSON_OUT = process.argv.includes('--json');
const MIN = 60_000;
const TABLE = 'bench-scale-downtime';
const API_KEY = 'bench-mm-key';
const SECRET = 'millwright/machinemetrics';
const MAX_ITEM_BYTES = 64 * 1024;

/** The simulator's seeded fleet ids (kept here so the bench also runs where `fleet` does not exist). */
const machineId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** DynamoDB's item size rule: attribute names + values (numbers ~ digits/2 + 1, maps/lists + 3 + 1 each). */
function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.B !== undefined) return v.B.length;
  if (v.M)
    return 3 + Object.entries(v.M).reduce((s, [k, x]) => s + Buffer.byteLength(k) + valueBytes(x) + 1, 0);
  if (v.L) return 3 + v.L.reduce((s, x) => s + valueBytes(x) + 1, 0);
  return JSON.stringify(v).length;
}
const itemBytes = (item: Record<string, AttributeValue>) =>
  Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k) + valueBytes(v), 0);

async function main() {
  const t0 = Date.parse('2026-11-02T08:00:00.000Z');
  const clock = manualClock(new Date(t0));
  const dynamo = await startLocalDynamo();
  await ensureStateTable(dynamo.client, TABLE);
  const state = new StateStore({
    tableName: TABLE,
    client: DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } }),
    now: () => clock.now(),
  });
  const sim = await startMachineMetricsSimulator({ clock, apiKey: API_KEY, fleet: MACHINES } as Parameters<
    typeof startMachineMetricsSimulator
  >[0]);
  // An older simulator has no `fleet`: seed the same machines into its world.
  for (let n = sim.world.machines.length + 1; n <= MACHINES; n++) {
    sim.world.machines.push({ id: machineId(n), name: `MACHINE ${n}` });
  }
  const ids = sim.world.machines.slice(0, MACHINES).map((m) => m.id);

  const flow = upkeepFlow.flow;
  const trigger = flow.triggers.find((t) => t.kind === 'schedule') as ScheduleTrigger;
  const config = flow.config.parse({
    machines: Object.fromEntries(ids.map((id, i) => [id, { assetId: `Asset${i + 1}` }])),
    minimumMinutes: 10,
  });
  const env: RuntimeEnv = {
    vendors: { machinemetrics: { baseUrl: sim.url, secretName: SECRET } },
    secrets: staticSecretSource({ [SECRET]: { apiKey: API_KEY } }),
    state,
    log: silentLog,
    now: () => clock.now(),
  };
  const deps = trigger.source.connect(env);
  let events = 0;
  const byType: Record<string, number> = {};
  const queue = {
    async send(_url: string, sent: FlowEvent[]) {
      events += sent.length;
      for (const e of sent) byType[e.type] = (byType[e.type] ?? 0) + 1;
    },
  };

  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 25);

  const polls: { at: string; ms: number; requests: number; events: number; error?: string }[] = [];
  const tick = async (minutes: number) => {
    clock.advance(t0 + minutes * MIN - clock.now().getTime());
    sim.requests.length = 0;
    const before = events;
    const started = performance.now();
    let error: string | undefined;
    try {
      await runPoll({ flow, trigger, config, env, queue, queueUrl: 'bench', deps });
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    sample();
    polls.push({
      at: clock.now().toISOString(),
      ms: performance.now() - started,
      requests: sim.requests.filter((r) => r.startsWith('POST /reports/downtime')).length,
      events: events - before,
      ...(error ? { error } : {}),
    });
  };

  // Settle delay 5 min (the flow default): the tick at +m evaluates the window ending at +m-5.
  await tick(5); // first run: one window, nothing down
  for (const id of ids.slice(0, DOWN)) sim.down(id, { at: new Date(t0) });
  for (const m of [10, 15, 20]) await tick(m); // detected in the window ending +10 (tick +15)
  for (const id of ids.slice(0, DOWN)) sim.categorize(id, 33);
  for (const m of [25, 30]) await tick(m);
  for (const id of ids.slice(0, DOWN)) sim.up(id, { at: new Date(t0 + 27 * MIN) });
  for (const m of [35, 40, 45]) await tick(m);
  clearInterval(sampler);

  let largest = { bytes: 0, key: '' };
  let items = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await dynamo.client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: start }));
    for (const item of out.Items ?? []) {
      items++;
      const bytes = itemBytes(item);
      if (bytes > largest.bytes) largest = { bytes, key: `${item.pk?.S} / ${item.sk?.S}` };
    }
    start = out.LastEvaluatedKey;
  } while (start);

  await sim.close();
  await dynamo.close();

  const failures = polls.filter((p) => p.error);
  const result = {
    machines: MACHINES,
    down: DOWN,
    // The bar: every episode seen, no failed poll, no state item over 64 KB.
    ok:
      failures.length === 0 &&
      byType['machinemetrics.downtime.started'] === DOWN &&
      largest.bytes <= MAX_ITEM_BYTES,
    largestItemBytes: largest.bytes,
    requestsPerPoll: Math.max(...polls.map((p) => p.requests)),
    pollMs: Math.round(Math.max(...polls.map((p) => p.ms))),
    pollMsMean: Math.round(polls.reduce((s, p) => s + p.ms, 0) / polls.length),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    peakHeapMb: Math.round(peakHeap / 2 ** 20),
    events,
    eventsByType: byType,
    stateItems: items,
    ...(failures.length > 0 ? { failedPolls: failures.length, error: failures[0]?.error } : {}),
  };
  console.log(
    `downtime at scale: ${MACHINES} machines mapped, ${DOWN} down at once, then categorised, then up`,
  );
  console.log('tick (UTC)                  ms  requests  events  error');
  for (const p of polls) {
    console.log(
      `${p.at}  ${String(Math.round(p.ms)).padStart(6)}  ${String(p.requests).padStart(8)}  ${String(p.events).padStart(6)}  ${p.error ?? ''}`,
    );
  }
  console.log(`largest state item: ${largest.bytes} bytes (${largest.key}); ${items} items in the table`);
  console.log(
    `report requests per poll (max): ${result.requestsPerPoll}; poll time max ${result.pollMs} ms, mean ${result.pollMsMean} ms`,
  );
  console.log(
    `peak RSS ${result.peakRssMb} MB, peak heap ${result.peakHeapMb} MB; events enqueued ${events}`,
  );
  const why =
    result.error ??
    (largest.bytes > MAX_ITEM_BYTES
      ? `a state item of ${largest.bytes} bytes (over 64 KB)`
      : 'not every machine got its started event');
  console.log(result.ok ? 'OK' : `FAILED: ${why}`);
  if (JSON_OUT) console.log(`BENCH_JSON ${JSON.stringify(result)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  if (JSON_OUT) {
    console.log(
      `BENCH_JSON ${JSON.stringify({ machines: MACHINES, down: DOWN, ok: false, error: String(error) })}`,
    );
  }
  process.exitCode = 1;
});
