/**
 * The chaos run: the real sandbox in this process (ingress over HTTP, local SQS, the Lambda worker,
 * dynalite, the vendor simulators and their fault injection), driven by a seeded plan (plan.ts)
 * while vendors fail and workers crash, then checked at the simulators: every expected effect
 * exactly once, and only the deliberate poison in the DLQs.
 *
 * Time is compressed: one simulated minute lasts `scaleMs` real milliseconds (default 1,000), the
 * sandbox clock runs that much faster than real time, and the worker's retry delays and budgets
 * (real seconds: they are SQS delays) are the configured ones divided by the same factor.
 *
 * Faults (rates per vendor API request unless said):
 * - 5xx: 503 from MachineMetrics, UpKeep and Mobility Work
 * - 429 with Retry-After of one simulated minute
 * - timeout after a successful create (POSTs to UpKeep and Mobility Work: the write happens, the
 *   answer never comes)
 * - worker crash between effect and ack: per record of a batch; the whole invocation then dies
 *   after its effects were made and before the event source mapping deletes the batch (as a Lambda
 *   killed at that moment), so every record of it comes back after the visibility timeout
 * - one UpKeep outage (every request 503) of `outageMinutes`, ending 10 simulated minutes after the
 *   last planned event, so the drain time after it is the time to process its backlog
 * - duplicates: a share of every flow event enqueued is sent to its queue a second time (the same
 *   webhook delivered twice, a re-poll emitting it again)
 * - poison: `plan.poison` messages the flows must refuse (unreadable, no type, invalid data), sent
 *   straight to the flows' queues; their bodies carry `chaos-poison` so the DLQ check can tell them
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mwSimNewSparePart } from '../../functions/connectors/mobility-work/simulator/index.ts';
import { type BreakerPolicy, DEFAULT_BREAKER_POLICY } from '../../functions/core/breaker.ts';
import type { FlowEvent } from '../../functions/core/flow.ts';
import type { Log } from '../../functions/core/log.ts';
import { FLOW_ID as DOWNTIME_FLOW } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as ALERT_FLOW } from '../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import { FLOW_ID as PART_FLOW } from '../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { DEFAULT_RETRY, type RetrySettings } from '../../functions/runtime/retry.ts';
import { manualClock } from '../../sandbox/clock.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/runtime.ts';
import { sandboxSecrets } from '../../sandbox/secrets.ts';
import { type Fault, seededRandom } from '../../sandbox/simulators/server.ts';
import { queueDepth } from '../../sandbox/sqs.ts';
import { type Action, makePlan, PART_STOCK, type Plan } from './plan.ts';

export interface ChaosRates {
  duplicate: number;
  serverError: number;
  throttle: number;
  timeoutAfterWrite: number;
  crash: number;
}

export const DEFAULT_RATES: ChaosRates = {
  duplicate: 0.1,
  serverError: 0.05,
  throttle: 0.02,
  timeoutAfterWrite: 0.01,
  crash: 0.01,
};

export interface ChaosOptions {
  events: number;
  seed: number;
  /** Real milliseconds per simulated minute (default 1,000: 60x). */
  scaleMs?: number;
  outageMinutes?: number;
  rates?: Partial<ChaosRates>;
  cycles?: number;
  poison?: number;
  /** Entities start within this many simulated minutes (default 30). */
  staggerMinutes?: number;
  /** Concurrent worker invocations per flow (default 4). */
  workerConcurrency?: number;
  /** How long the final drain may take before the run gives up (real ms, default 20 min). */
  drainTimeoutMs?: number;
  /** Progress lines (stderr in the bench). */
  progress?: (line: string) => void;
  log?: Log;
  /** Called with the figures before the sandbox closes (tests and investigations look inside). */
  inspect?: (sandbox: Sandbox, figures: ChaosFigures) => Promise<void>;
}

export interface FlowFigures {
  flow: string;
  effect: string;
  expected: number;
  observed: number;
  lost: number;
  duplicated: number;
  /** A few of the lost and duplicated keys, to start an investigation from. */
  examples: string[];
}

export interface DeadLetter {
  flow: string;
  poison: boolean;
  reason: string | undefined;
  body: string;
}

export interface ChaosFigures {
  seed: number;
  plan: Omit<Plan, 'actions' | 'downtime'>;
  scaleMs: number;
  eventsSent: number;
  enqueued: number;
  duplicatesSent: number;
  crashes: number;
  faultsHit: Record<string, number>;
  flows: FlowFigures[];
  expected: number;
  observed: number;
  lost: number;
  duplicated: number;
  deadLetters: DeadLetter[];
  parked: number;
  outage: { vendor: string; minutes: number; drainRealMs: number; drainSimMinutes: number };
  wallMs: number;
  eventsPerSecond: number;
  /** Lost > 0, duplicated > 0, or something other than the deliberate poison in a DLQ. */
  failed: boolean;
}

const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const START = '2026-11-02T06:00:00.000Z';
const FLOWS = [DOWNTIME_FLOW, ALERT_FLOW, PART_FLOW];

export const machineId = (m: number) => `00000000-0000-4000-8000-${m.toString(16).padStart(12, '0')}`;
export const assetOf = (m: number) => `AssetChaos${m}`;
export const mwPartOf = (p: number) => `PartChaosMw${p}`;
export const upkeepPartOf = (p: number) => `PartChaosUk${p}`;

/** The retry settings with every delay and budget compressed by `factor` (at least SQS's 1 s). */
export function compressedRetry(factor: number, base: RetrySettings = DEFAULT_RETRY): RetrySettings {
  const scale = (s: number) => Math.max(1, Math.round(s / factor));
  return {
    baseDelaySeconds: scale(base.baseDelaySeconds),
    maxDelaySeconds: scale(base.maxDelaySeconds),
    horizonSeconds: scale(base.horizonSeconds),
    waitBudgetSeconds: scale(base.waitBudgetSeconds),
  };
}

/** The circuit breaker's default policy, its times compressed like the retries. */
export function compressedBreaker(
  factor: number,
  base: BreakerPolicy = DEFAULT_BREAKER_POLICY,
): BreakerPolicy {
  const scale = (s: number) => Math.max(1, Math.round(s / factor));
  return {
    failureThreshold: base.failureThreshold,
    windowSeconds: scale(base.windowSeconds),
    openSeconds: scale(base.openSeconds),
    maxOpenSeconds: scale(base.maxOpenSeconds),
  };
}

/** Only the three flows the workload feeds, each machine mapped to its own UpKeep asset. */
function chaosConfig(plan: Plan): Record<string, unknown> {
  const raw = JSON.parse(readFileSync('config/default.json', 'utf8')) as {
    flows: Record<string, Record<string, unknown>>;
  };
  for (const [id, flow] of Object.entries(raw.flows)) flow.enabled = FLOWS.includes(id);
  raw.flows[DOWNTIME_FLOW] = {
    ...raw.flows[DOWNTIME_FLOW],
    machines: Object.fromEntries(
      Array.from({ length: plan.machines }, (_, m) => [machineId(m), { assetId: assetOf(m) }]),
    ),
  };
  return raw;
}

/** Machines, assets and parts of the plan, in each simulator (in-process: seed data, not events). */
async function seedSimulators(sandbox: Sandbox, plan: Plan): Promise<void> {
  const { machinemetrics: mm, upkeep } = sandbox.simulators;
  const mw = sandbox.simulators['mobility-work'];
  if (!mm || !upkeep || !mw)
    throw new Error('the chaos run needs the MachineMetrics, UpKeep and Mobility Work simulators');
  for (let m = 0; m < plan.machines; m++) mm.world.machines.push({ id: machineId(m), name: `CHAOS ${m}` });
  const saved = upkeep.exportState();
  const [template] = saved.assets;
  if (!template) throw new Error('the UpKeep simulator has no seeded asset');
  for (let m = 0; m < plan.machines; m++)
    saved.assets.push({ ...template, id: assetOf(m), name: `Asset of CHAOS ${m}` });
  upkeep.importState(saved);
  const partRefs = [
    ...Array.from({ length: plan.mwParts }, (_, p) => mwPartOf(p)),
    ...Array.from({ length: plan.upkeepParts }, (_, p) => upkeepPartOf(p)),
  ];
  upkeep.addParts(
    partRefs.map((id) => ({
      id,
      name: `Chaos part ${id}`,
      quantity: PART_STOCK.quantity,
      minimumQuantity: PART_STOCK.minimum,
    })),
  );
  const mwSaved = mw.exportState();
  const template2 = mwSimNewSparePart('x', 'x');
  mwSaved.spareParts.push(
    ...partRefs.map((ref, i) => ({
      id: `sp-chaos-${i}`,
      externalReference: ref,
      name: `Chaos part ${ref}`,
      description: null,
      stock: PART_STOCK.quantity,
      minimumStock: PART_STOCK.minimum,
      maximumStock: null,
      replenishmentLot: null,
      unitPrice: template2.unitPrice as { amount: number; currency: string },
      gtin: null,
      costCenter: null,
      location: (mwSaved.spareParts[0]?.location ?? 'Main store') as string,
    })),
  );
  mw.importState(mwSaved);
}

const postJson = async (url: string, body: unknown) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
};

/** The probabilistic faults of a vendor (conditional rates, so each is hit at its own rate). */
function vendorFaults(rates: ChaosRates, seed: number, creates: string | undefined): Fault[] {
  const faults: Fault[] = [
    { name: 'chaos', status: 503, probability: rates.serverError, seed },
    {
      name: 'chaos',
      status: 429,
      retryAfterSeconds: 1,
      probability: rates.throttle / (1 - rates.serverError),
      seed: seed + 1,
    },
  ];
  if (creates) {
    faults.push({
      name: 'chaos',
      match: creates,
      timeoutAfterWrite: true,
      delayMs: 2500,
      probability: rates.timeoutAfterWrite / (1 - rates.serverError - rates.throttle),
      seed: seed + 2,
    });
  }
  return faults;
}

const poisonKind = (index: number) => index % 3;
/** Unreadable and typeless poison goes to every flow in turn; invalid data to the flow of its type. */
const poisonFlow = (index: number) =>
  poisonKind(index) === 2 ? DOWNTIME_FLOW : (FLOWS[Math.floor(index / 3) % FLOWS.length] as string);

/** Poison the flows must refuse: unreadable, without a type, with invalid data. */
function poisonBody(index: number, when: string): string {
  const tag = `chaos-poison-${index}`;
  switch (poisonKind(index)) {
    case 0:
      return `${tag}: not json at all`;
    case 1:
      return JSON.stringify({ id: tag, source: 'chaos', occurredAt: when, data: {} });
    default:
      return JSON.stringify({
        id: tag,
        type: 'machinemetrics.downtime.started',
        source: 'machinemetrics.poll',
        occurredAt: when,
        subject: tag,
        data: { machineId: 7 },
      });
  }
}

/** Every message on a DLQ (received with a long visibility, so each is read once). */
async function readDeadLetters(sandbox: Sandbox, flow: string, dlqUrl: string): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (;;) {
    const got = await sandbox.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 3600,
      }),
    );
    if (!got.Messages?.length) return out;
    for (const m of got.Messages) {
      const body = m.Body ?? '';
      out.push({
        flow,
        body,
        poison: body.includes('chaos-poison-'),
        reason: m.MessageAttributes?.deadLetterReason?.StringValue,
      });
    }
  }
}

/** Expected vs observed effects, read from the simulators' state. */
function observe(sandbox: Sandbox, plan: Plan): FlowFigures[] {
  const upkeep = sandbox.simulators.upkeep;
  const mw = sandbox.simulators['mobility-work'];
  if (!upkeep || !mw) throw new Error('simulators gone');
  const figures: FlowFigures[] = [];
  const tally = (
    flow: string,
    effect: string,
    expectedKeys: string[],
    seen: Map<string, number>,
    spurious = 0,
  ) => {
    let lost = 0;
    let duplicated = spurious;
    const examples: string[] = [];
    const note = (s: string) => {
      if (examples.length < 5) examples.push(s);
    };
    for (const key of expectedKeys) {
      const n = seen.get(key) ?? 0;
      if (n === 0) {
        lost++;
        note(`lost ${key}`);
      } else if (n > 1) {
        duplicated += n - 1;
        note(`${key} x${n}`);
      }
    }
    const expected = new Set(expectedKeys);
    for (const [key, n] of seen) {
      if (expected.has(key)) continue;
      duplicated += n;
      note(`unexpected ${key} x${n}`);
    }
    figures.push({
      flow,
      effect,
      expected: expectedKeys.length,
      observed: expectedKeys.length - lost,
      lost,
      duplicated,
      examples,
    });
  };
  const iso = (minutes: number) => new Date(Date.parse(START) + minutes * 60_000).toISOString();
  const machineOfAsset = new Map(Array.from({ length: plan.machines }, (_, m) => [assetOf(m), m]));

  // Work orders: one per downtime episode, told apart by the episode's start in the description.
  const workOrders = new Map<string, number>();
  const annotated = new Map<string, number>();
  for (const wo of upkeep.workOrders()) {
    const m = wo.asset ? machineOfAsset.get(wo.asset) : undefined;
    if (m === undefined) continue;
    const started = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.exec(wo.description ?? '')?.[0] ?? '?';
    const key = `${m}@${started}`;
    workOrders.set(key, (workOrders.get(key) ?? 0) + 1);
    if (wo.description?.includes('Running again since')) annotated.set(key, (annotated.get(key) ?? 0) + 1);
  }
  const episodeKeys = plan.downtime.map((d) => `${d.machine}@${iso(d.down).slice(0, 19)}`);
  tally(DOWNTIME_FLOW, 'UpKeep work order per episode', episodeKeys, workOrders);
  // Annotation is an update of that work order: counted once per work order that has it.
  tally(
    DOWNTIME_FLOW,
    'work order annotated on recovery',
    episodeKeys,
    new Map([...annotated].map(([k]) => [k, 1])),
  );
  const rows = new Map<string, number>();
  for (const d of upkeep.downtime()) {
    if (!machineOfAsset.has(d.assetId)) continue;
    const key = `${d.assetId}:${d.status}@${new Date(d.recordedOn).toISOString()}`;
    rows.set(key, (rows.get(key) ?? 0) + 1);
  }
  tally(
    DOWNTIME_FLOW,
    'UpKeep asset downtime record',
    plan.downtime.flatMap((d) => [
      `${assetOf(d.machine)}:not-available@${iso(d.down)}`,
      `${assetOf(d.machine)}:available@${iso(d.up)}`,
    ]),
    rows,
  );

  // Purchase orders: one per Mobility Work low episode (one per consume cycle of the part).
  const pos = new Map<string, number>();
  let spuriousPos = 0;
  const mwRefs = new Set(Array.from({ length: plan.mwParts }, (_, p) => mwPartOf(p)));
  const ukRefs = new Set(Array.from({ length: plan.upkeepParts }, (_, p) => upkeepPartOf(p)));
  for (const po of upkeep.purchaseOrders()) {
    for (const line of po.parts) {
      if (mwRefs.has(line.id)) pos.set(line.id, (pos.get(line.id) ?? 0) + 1);
      // A purchase order for a part whose only change was our own stock write: an echo not recognised.
      if (ukRefs.has(line.id)) spuriousPos++;
    }
  }
  const poKeys: string[] = [];
  const poSeen = new Map<string, number>();
  for (const ref of mwRefs) {
    const n = pos.get(ref) ?? 0;
    for (let c = 0; c < plan.cycles; c++) {
      poKeys.push(`${ref}#${c}`);
      if (c < n) poSeen.set(`${ref}#${c}`, 1);
    }
    // Counted per part: more purchase orders than low episodes are duplicates.
    if (n > plan.cycles) poSeen.set(`${ref}#${plan.cycles - 1}`, 1 + n - plan.cycles);
  }
  tally(ALERT_FLOW, 'UpKeep purchase order per low episode', poKeys, poSeen);

  // Stock sync: Mobility Work's stock ends equal to UpKeep's (writes are absolute: a repeat is harmless).
  const mwStock = new Map(mw.spareParts().map((p) => [p.externalReference, p.stock]));
  const ukStock = new Map(upkeep.parts().map((p) => [p.id, p.quantity]));
  const syncSeen = new Map<string, number>();
  for (const ref of ukRefs) if (mwStock.get(ref) === ukStock.get(ref)) syncSeen.set(ref, 1);
  tally(PART_FLOW, 'Mobility Work stock = UpKeep stock (per part)', [...ukRefs], syncSeen);
  tally(ALERT_FLOW, 'no purchase order for our own stock writes (echo)', [], new Map(), spuriousPos);
  return figures;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const wallStart = performance.now();
  const progress = options.progress ?? (() => undefined);
  const rates = { ...DEFAULT_RATES, ...options.rates };
  const scaleMs = options.scaleMs ?? 1000;
  // Simulated ms per real ms.
  const speed = 60_000 / scaleMs;
  const outageMinutes = options.outageMinutes ?? 30;
  const plan = makePlan({
    events: options.events,
    seed: options.seed,
    ...(options.cycles !== undefined ? { cycles: options.cycles } : {}),
    ...(options.poison !== undefined ? { poison: options.poison } : {}),
    ...(options.staggerMinutes !== undefined ? { staggerMinutes: options.staggerMinutes } : {}),
  });
  const random = seededRandom(options.seed ^ 0x5eed);
  const clock = manualClock(START);
  const sandboxOptions: SandboxOptions = {
    config: chaosConfig(plan),
    secrets: sandboxSecrets() as Record<string, unknown>,
    clock,
    basePort: 0,
    log: options.log ?? quiet,
    retry: compressedRetry(speed),
    breaker: compressedBreaker(speed),
    // Longer than an invocation may run (as AWS requires); a crashed batch comes back after it.
    visibilityTimeoutSeconds: 20,
    workerTimeoutMs: 15_000,
    httpTimeoutMs: 2000,
    workerConcurrency: options.workerConcurrency ?? 4,
    workerIntervalMs: 20,
    // The pollers every 5 simulated minutes, as configured.
    pollIntervalMs: 5 * scaleMs,
    simulatorOptions: { 'mobility-work': { applyDelayMs: 50 } },
  };
  const sandbox = await startSandbox(sandboxOptions);
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const faultsHit: Record<string, number> = { crash: 0 };
  let duplicatesSent = 0;
  let eventsSent = 0;
  try {
    await seedSimulators(sandbox, plan);
    const sims = {
      machinemetrics: sandbox.simulators.machinemetrics?.url ?? '',
      upkeep: sandbox.simulators.upkeep?.url ?? '',
      'mobility-work': sandbox.simulators['mobility-work']?.url ?? '',
    };
    const creates: Record<string, string | undefined> = {
      machinemetrics: undefined,
      upkeep: 'POST /api/v2/',
      'mobility-work': 'POST /partners/',
    };
    for (const [i, [vendor, url]] of Object.entries(sims).entries()) {
      await postJson(`${url}/_sandbox/faults`, vendorFaults(rates, options.seed + 10 * i, creates[vendor]));
    }

    // Worker crashes: the real invocation runs (its effects are made), then it dies before the ack.
    for (const sf of sandbox.flows.values()) {
      const real = sf.worker.handler.bind(sf.worker);
      sf.worker.handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
        const out = await real(event);
        if (event.Records.some(() => random() < rates.crash)) {
          faultsHit.crash = (faultsHit.crash ?? 0) + 1;
          throw new Error('chaos: the invocation died after its effects, before the ack');
        }
        return out;
      };
    }

    // Duplicates: a share of each flow event enqueued is sent again.
    const duplicated = new Set<FlowEvent>();
    let seenEnqueued = 0;
    const duplicateSome = async () => {
      const fresh = sandbox.enqueued.slice(seenEnqueued);
      seenEnqueued = sandbox.enqueued.length;
      for (const { queueUrl, event } of fresh) {
        if (duplicated.has(event) || random() >= rates.duplicate) continue;
        duplicated.add(event);
        const flow = [...sandbox.flows.values()].find((f) => f.queues.queueUrl === queueUrl);
        if (!flow) continue;
        await sandbox.send(flow.flow.id, [event]);
        duplicatesSent++;
      }
    };

    const nowIso = () => clock.now().toISOString();
    const perform = async (a: Action) => {
      const at = new Date(Date.parse(START) + a.at * 60_000).toISOString();
      switch (a.kind) {
        case 'machine-down':
          return postJson(`${sims.machinemetrics}/_sandbox/machines/${machineId(a.machine)}/down`, { at });
        case 'machine-up':
          return postJson(`${sims.machinemetrics}/_sandbox/machines/${machineId(a.machine)}/up`, { at });
        case 'mw-consume':
          return postJson(`${sims['mobility-work']}/_sandbox/spare-parts/${mwPartOf(a.part)}/consume`, {
            quantity: PART_STOCK.consume,
          });
        case 'mw-restock':
          return postJson(`${sims['mobility-work']}/_sandbox/spare-parts/${mwPartOf(a.part)}/restock`, {
            quantity: PART_STOCK.consume,
          });
        case 'upkeep-consume':
          return postJson(`${sims.upkeep}/_sandbox/parts/${upkeepPartOf(a.part)}/consume`, {
            quantity: PART_STOCK.consume,
          });
        case 'upkeep-restock':
          return postJson(`${sims.upkeep}/_sandbox/parts/${upkeepPartOf(a.part)}/restock`, {
            quantity: PART_STOCK.consume,
          });
        case 'poison': {
          const flow = sandbox.flows.get(poisonFlow(a.index));
          await sandbox.sqs.client.send(
            new SendMessageCommand({
              QueueUrl: flow?.queues.queueUrl ?? '',
              MessageBody: poisonBody(a.index, nowIso()),
            }),
          );
          return 200;
        }
      }
    };

    // The outage: UpKeep answers 503 to everything from its start until it is lifted.
    const outageEnd = plan.spanMinutes + 10;
    const outageStart = outageEnd - outageMinutes;
    let outage: 'before' | 'on' | 'lifted' = 'before';
    let liftedAt = 0;
    let liftedAtSim = 0;
    const simMinutes = () => (clock.now().getTime() - Date.parse(START)) / 60_000;

    progress(
      `chaos: ${plan.events} events (seed ${plan.seed}), ${plan.machines} machines, ${plan.mwParts} + ${plan.upkeepParts} parts, ${plan.spanMinutes.toFixed(0)} simulated minutes; UpKeep outage ${outageStart.toFixed(0)}-${outageEnd.toFixed(0)} min`,
    );
    let next = 0;
    let realPrev = performance.now();
    let lastReport = 0;
    let outageRealStart = 0;
    // The simulated clock follows real time at `speed`, but never jumps: when this process lags
    // (a busy machine), simulated time slows down with it instead of skipping past actions.
    const MAX_STEP_MS = 100;
    const advanceClock = () => {
      const realNow = performance.now();
      clock.advance(Math.round(Math.min(realNow - realPrev, MAX_STEP_MS) * speed));
      realPrev = realNow;
      return realNow;
    };
    const inFlight = new Set<Promise<unknown>>();
    let slowest = { ms: 0, what: '' };
    while (outage !== 'lifted') {
      const realNow = advanceClock();
      const t = simMinutes();
      if (outage === 'before' && t >= outageStart) {
        await postJson(`${sims.upkeep}/_sandbox/faults`, { name: 'outage', status: 503, probability: 1 });
        // Ahead of the other faults: during the outage every request meets it first.
        const upkeep = sandbox.simulators.upkeep;
        if (upkeep) upkeep.faults.unshift(upkeep.faults.pop() as Fault);
        outage = 'on';
        outageRealStart = realNow;
        progress(`chaos: UpKeep outage begins at ${t.toFixed(0)} simulated minutes`);
      } else if (
        outage === 'on' &&
        t >= outageEnd &&
        realNow - outageRealStart >= outageMinutes * scaleMs &&
        inFlight.size === 0
      ) {
        const outageFault = sandbox.simulators.upkeep?.faults.find((f) => f.name === 'outage');
        faultsHit['upkeep: outage 503'] = outageFault?.hits ?? 0;
        await fetch(`${sims.upkeep}/_sandbox/faults?name=outage`, { method: 'DELETE' });
        outage = 'lifted';
        liftedAt = performance.now();
        liftedAtSim = clock.now().getTime();
        progress(`chaos: UpKeep outage lifted at ${t.toFixed(0)} simulated minutes`);
      }
      // Due actions run concurrently (a few at a time): one entity's actions are minutes apart.
      while (next < plan.actions.length && (plan.actions[next] as Action).at <= t && inFlight.size < 16) {
        const action = plan.actions[next] as Action;
        next++;
        const t0 = performance.now();
        const p: Promise<unknown> = perform(action)
          .then(() => {
            eventsSent++;
            const ms = performance.now() - t0;
            if (ms > slowest.ms) slowest = { ms, what: action.kind };
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await duplicateSome();
      if (realNow - lastReport > 10_000) {
        lastReport = realNow;
        progress(
          `chaos: ${t.toFixed(0)} min, ${eventsSent}/${plan.events} events sent, ${sandbox.enqueued.length} enqueued, slowest action ${slowest.ms.toFixed(0)} ms (${slowest.what}), event loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms`,
        );
        slowest = { ms: 0, what: '' };
        loopDelay.reset();
      }
      await sleep(20);
    }

    // Drain: keep the clock and the pollers running until nothing new is enqueued and every queue is empty.
    const ticker = setInterval(advanceClock, 20);
    const depthReport = setInterval(() => {
      void (async () => {
        let pending = 0;
        for (const sf of sandbox.flows.values()) {
          const d = await queueDepth(sandbox.sqs.client, sf.queues.queueUrl);
          pending += d.visible + d.inFlight + d.delayed;
        }
        progress(
          `chaos: draining, ${pending} messages on the flow queues, ${sandbox.enqueued.length} enqueued so far`,
        );
      })().catch(() => undefined);
    }, 15_000);
    const drainDeadline = Date.now() + (options.drainTimeoutMs ?? 20 * 60_000);
    try {
      let quietRounds = 0;
      while (quietRounds < 2) {
        const before = sandbox.enqueued.length;
        // A poll that meets an injected 5xx fails as a scheduled one would; the next round polls again.
        const polled = await sandbox.tick().then(
          () => true,
          () => false,
        );
        if (!polled) {
          faultsHit['failed polls while draining'] = (faultsHit['failed polls while draining'] ?? 0) + 1;
          quietRounds = 0;
          // A poll that fails every time would spin here forever: end at the deadline instead.
          if (Date.now() > drainDeadline)
            throw new Error('chaos: polls kept failing until the drain deadline');
          continue;
        }
        await duplicateSome();
        await sandbox.settle({ timeoutMs: Math.max(1000, drainDeadline - Date.now()) });
        await duplicateSome();
        quietRounds = sandbox.enqueued.length === before ? quietRounds + 1 : 0;
        progress(`chaos: draining, ${sandbox.enqueued.length} enqueued so far`);
      }
    } finally {
      clearInterval(ticker);
      clearInterval(depthReport);
    }
    const drainRealMs = performance.now() - liftedAt;
    const drainSimEnd = clock.now().getTime();

    for (const vendor of Object.keys(sims) as (keyof typeof sims)[]) {
      const sim = sandbox.simulators[vendor];
      if (!sim) continue;
      faultsHit[`${vendor}: API requests`] = sim.requests.length;
      for (const f of sim.faults) {
        const what = f.timeoutAfterWrite ? 'timeout after write' : `${f.status}`;
        faultsHit[`${vendor}: ${what}`] = (faultsHit[`${vendor}: ${what}`] ?? 0) + (f.hits ?? 0);
      }
    }
    const flows = observe(sandbox, plan);
    const deadLetters: DeadLetter[] = [];
    let parked = 0;
    for (const sf of sandbox.flows.values()) {
      deadLetters.push(...(await readDeadLetters(sandbox, sf.flow.id, sf.queues.dlqUrl)));
      parked += (await sandbox.state.listParked(sf.flow.id, 1000)).length;
      const d = await queueDepth(sandbox.sqs.client, sf.queues.queueUrl);
      if (d.visible + d.inFlight + d.delayed > 0)
        progress(`chaos: ${sf.flow.id} still holds ${JSON.stringify(d)}`);
    }
    const sum = (k: 'expected' | 'observed' | 'lost' | 'duplicated') => flows.reduce((n, f) => n + f[k], 0);
    const wallMs = performance.now() - wallStart;
    const { actions: _a, downtime: _d, ...planFigures } = plan;
    const lost = sum('lost');
    const dup = sum('duplicated');
    const figures: ChaosFigures = {
      seed: plan.seed,
      plan: planFigures,
      scaleMs,
      eventsSent,
      enqueued: sandbox.enqueued.length,
      duplicatesSent,
      crashes: faultsHit.crash ?? 0,
      faultsHit,
      flows,
      expected: sum('expected'),
      observed: sum('observed'),
      lost,
      duplicated: dup,
      deadLetters,
      parked,
      outage: {
        vendor: 'upkeep',
        minutes: outageMinutes,
        drainRealMs,
        // From the sandbox clock: it slows down with the process when the machine is busy.
        drainSimMinutes: (drainSimEnd - liftedAtSim) / 60_000,
      },
      wallMs,
      eventsPerSecond: eventsSent / (wallMs / 1000),
      failed: lost > 0 || dup > 0 || deadLetters.some((d) => !d.poison),
    };
    await options.inspect?.(sandbox, figures);
    return figures;
  } finally {
    loopDelay.disable();
    await sandbox.close();
  }
}
