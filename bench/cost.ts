/**
 * `npm run bench:cost`: the AWS cost of 1M webhook events, from requests counted in the sandbox.
 *
 * Sends N signed Mobility Work webhooks through the sandbox (the same ingress and worker handlers
 * as in Lambda) for three event types (one flow that records only, one flow that acts, two flows),
 * counts every billable request they cause (HTTP API requests, Lambda invocations and their
 * duration, SQS requests, DynamoDB read/write units by item size, Secrets Manager calls, log
 * bytes), and prices them per 1M events. Under each scenario: the DynamoDB requests per event, at
 * the ingress and in the worker, by command and item kind (`CLAIM`, `RUN`, `DELIVERY`, ...).
 * `--json`: the figures as one `BENCH_JSON {...}` line at the end (for `npm run bench`). Fixed costs that do not grow with events
 * (pollers on their schedule, Lambda's idle SQS long polls, alarms, the dashboard) are left out and
 * listed. Durations are measured on this machine against local engines, so they are an estimate.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { signMobilityWorkWebhook } from '../functions/connectors/mobility-work/signature.ts';
import type { Log } from '../functions/core/log.ts';
import { type Clock, manualClock } from '../sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../sandbox/runtime.ts';
import { sandboxSecrets } from '../sandbox/secrets.ts';
import { ACCESS_LOG_BYTES, appLogLineBytes, PLATFORM_LOG_BYTES } from './log-bytes.ts';

const N = Number(process.env.MILLWRIGHT_COST_EVENTS ?? 200);
const JSON_OUT = process.argv.includes('--json');
/** The target this bench reports against (issue 14): one-flow cost per 1M events. */
const TARGET_USD = 2.5;
/** us-east-1 on-demand list prices (USD), as published in 2026 (DynamoDB after its Nov 2024 cut). */
const PRICES = {
  httpApiPerMillion: 1.0,
  /** Provisioned capacity, per unit-hour (a WCU is one 1 KB write a second, an RCU one 4 KB read). */
  dynamoWcuHour: 0.00065,
  dynamoRcuHour: 0.00013,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  sqsRequestsPerMillion: 0.4,
  dynamoWriteUnitsPerMillion: 0.625,
  dynamoReadUnitsPerMillion: 0.125,
  secretsManagerPer10k: 0.05,
  logsIngestPerGb: 0.5,
};
const LAMBDA_MEMORY_GB = 256 / 1024; // MillwrightFunction's memory size

/**
 * The deployment choices that change the price of the same requests (README "Cost"): the webhook
 * endpoint (`runtime.webhookEndpoint`), the state table's billing (`runtime.stateTable`) and
 * Lambda's own log lines (`runtime.systemLogLevel`).
 */
interface Profile {
  label: string;
  endpoint: 'http-api' | 'function-url';
  /** On-demand, or provisioned capacity used at this fraction on average (auto scaling's target). */
  provisionedUtilization?: number;
  /** Lambda's START/END/REPORT lines: kept (Lambda's default) or dropped (`systemLogLevel` WARN). */
  platformLogs: boolean;
}
const DEFAULT_PROFILE: Profile = { label: 'default', endpoint: 'http-api', platformLogs: true };
const LEAN_PROFILE: Profile = {
  label: 'lean',
  endpoint: 'function-url',
  provisionedUtilization: 0.7,
  platformLogs: false,
};
const FUNCTION_URL_PROFILE: Profile = { label: 'function URL', endpoint: 'function-url', platformLogs: true };
const PROFILES: Profile[] = [
  DEFAULT_PROFILE,
  FUNCTION_URL_PROFILE,
  { label: 'provisioned 70%', endpoint: 'http-api', provisionedUtilization: 0.7, platformLogs: true },
  { label: 'system logs WARN', endpoint: 'http-api', platformLogs: false },
  LEAN_PROFILE,
];

interface Counters {
  dynamoWrites: number;
  dynamoReads: number;
  /** DynamoDB requests (a BatchWriteItem of 3 items is 1 request, 3 units), by phase. */
  ingressCalls: number;
  workerCalls: number;
  sqsRequests: number;
  lambdaInvocations: number;
  lambdaMs: number;
  /** Our own log lines, as Lambda ships them (bench/log-bytes.ts). */
  logBytes: number;
}

const zero = (): Counters => ({
  dynamoWrites: 0,
  dynamoReads: 0,
  ingressCalls: 0,
  workerCalls: 0,
  sqsRequests: 0,
  lambdaInvocations: 0,
  lambdaMs: 0,
  logBytes: 0,
});

/** The sandbox's own line per webhook request: in AWS the HTTP API's access log (priced apart). */
const SANDBOX_INGRESS_LINE = /^ingress \S+ \S+ -> \d+$/;

/** What Lambda would ship to CloudWatch at the default INFO level, each line formatted as deployed. */
function countingLog(counters: Counters): Log {
  const count = (message: string, extra?: unknown) => {
    if (SANDBOX_INGRESS_LINE.test(message)) return;
    counters.logBytes += appLogLineBytes('millwright', message, extra);
  };
  return { debug: () => undefined, info: count, warn: count, error: count };
}

/** Which handler a DynamoDB request comes from: set around worker invocations, else the ingress. */
const phase = new AsyncLocalStorage<'worker'>();

/** `<phase> <Command> <key prefix>` -> requests and units, for the breakdown under the totals. */
type Breakdown = Map<string, { calls: number; units: number }>;

/** A key attribute as a string, marshalled (`{ S: 'x' }`) or not. */
const keyText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null && 'S' in v ? String(v.S) : '';

/** The item kind a key names: the pk up to its first `#` (`CLAIM`, `RUN`, `NONCE`, ...), or pk/sk for singletons. */
function prefixOf(key: { pk?: unknown; sk?: unknown } | undefined): string {
  const pk = keyText(key?.pk);
  const head = pk.split('#')[0] ?? pk;
  if (head === 'FLOW' || head === 'POLL') return `${head}#/${keyText(key?.sk)}`;
  return head || '?';
}

/** Every key one request touches (batch requests name several). */
function keysOf(input: Record<string, unknown>): { pk?: unknown; sk?: unknown }[] {
  const direct = (input.Key ?? input.Item) as { pk?: unknown; sk?: unknown } | undefined;
  if (direct) return [direct];
  const keys: { pk?: unknown; sk?: unknown }[] = [];
  for (const table of Object.values((input.RequestItems ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(table)) {
      for (const r of table as { PutRequest?: { Item?: never }; DeleteRequest?: { Key?: never } }[]) {
        keys.push(r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {});
      }
    } else keys.push(...(((table as { Keys?: never[] }).Keys ?? []) as { pk?: unknown }[]));
  }
  if (input.KeyConditionExpression) {
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
    keys.push({ pk: values[':pk'] });
  }
  return keys;
}

/**
 * An item's size as DynamoDB bills it (attribute names + values, UTF-8), marshalled (`{ S: 'x' }`)
 * or not: strings their bytes, numbers about 1 byte per 2 digits + 1, maps and lists 3 + members.
 */
function itemBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + itemBytes(v), 0);
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const [tag, inner] = entries[0] ?? [];
    if (
      entries.length === 1 &&
      tag !== undefined &&
      ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L'].includes(tag)
    ) {
      return tag === 'N' ? itemBytes(Number(inner)) : itemBytes(inner);
    }
    return 3 + entries.reduce((n, [k, v]) => n + Buffer.byteLength(k) + itemBytes(v), 0);
  }
  return 1;
}

/** Write units of one item (1 KB each, at least 1). */
const writeUnits = (item: unknown) => Math.max(1, Math.ceil((itemBytes(item) - 3) / 1024));
/** Read units of items read together (4 KB each; eventually consistent reads cost half). */
const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

/** What one DynamoDB request costs in units: writes by item size, reads by the size returned. */
function unitsOf(name: string, input: Record<string, unknown>, output: Record<string, unknown>) {
  const consistent = input.ConsistentRead === true;
  if (name === 'PutItemCommand') return { writes: writeUnits(input.Item), reads: 0 };
  if (name === 'UpdateItemCommand') {
    // The stored item's size is not in the request: the key and the values set stand in for it.
    return {
      writes: writeUnits({ ...(input.Key as object), ...(input.ExpressionAttributeValues as object) }),
      reads: 0,
    };
  }
  if (name === 'DeleteItemCommand') return { writes: 1, reads: 0 };
  if (name === 'BatchWriteItemCommand') {
    let writes = 0;
    for (const table of Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>)) {
      for (const r of table as { PutRequest?: { Item?: unknown } }[])
        writes += writeUnits(r.PutRequest?.Item ?? {});
    }
    return { writes, reads: 0 };
  }
  if (name === 'GetItemCommand')
    return { writes: 0, reads: readUnits(itemBytes(output.Item ?? {}), consistent) };
  if (name === 'QueryCommand') {
    const items = (output.Items ?? []) as unknown[];
    return {
      writes: 0,
      reads: readUnits(
        items.reduce((n: number, i) => n + itemBytes(i), 0),
        consistent,
      ),
    };
  }
  if (name === 'BatchGetItemCommand') {
    const tables = Object.values((input.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>);
    const responses = Object.values((output.Responses ?? {}) as Record<string, unknown[]>).flat();
    const each = responses.reduce(
      (n: number, i) => n + readUnits(itemBytes(i), tables[0]?.ConsistentRead === true),
      0,
    );
    return { writes: 0, reads: each };
  }
  return { writes: 0, reads: 0 };
}

/** Count DynamoDB units and SQS requests at the SDK clients (one middleware each). */
function countRequests(sandbox: Sandbox, counters: Counters, breakdown: Breakdown): void {
  sandbox.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown> & { Key?: { sk?: string | { S?: string } } };
      const name = context.commandName ?? '';
      // The sandbox's event-source loop reads each flow's pause flag (a Lambda event source
      // mapping is switched off instead): not a per-event cost in AWS.
      const sk = input.Key?.sk;
      if (name === 'GetItemCommand' && (sk === 'CONTROL' || (typeof sk === 'object' && sk.S === 'CONTROL'))) {
        return next(args);
      }
      const where = phase.getStore() ?? 'ingress';
      const out = await next(args);
      if (where === 'worker') counters.workerCalls += 1;
      else counters.ingressCalls += 1;
      const units = unitsOf(name, input, (out.output ?? {}) as unknown as Record<string, unknown>);
      counters.dynamoWrites += units.writes;
      counters.dynamoReads += units.reads;
      const keys = keysOf(input);
      const prefixes = [...new Set(keys.map(prefixOf))].sort().join('+');
      const label = `${where.padEnd(7)} ${name.replace(/Command$/, '').padEnd(14)} ${prefixes}`;
      const row = breakdown.get(label) ?? { calls: 0, units: 0 };
      row.calls += 1;
      row.units += units.writes + units.reads;
      breakdown.set(label, row);
      return out;
    },
    { step: 'initialize', name: 'millwrightCostCounter' },
  );
  sandbox.sqs.client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const empty =
        context.commandName === 'ReceiveMessageCommand' &&
        ((out.output as { Messages?: unknown[] }).Messages ?? []).length === 0;
      // Empty receives are Lambda's idle long polling: a fixed cost, not one per event. Queue
      // attributes are read by the sandbox's drain and settle only (nothing in AWS reads them per event).
      if (!empty && context.commandName !== 'GetQueueAttributesCommand') counters.sqsRequests += 1;
      return out;
    },
    { step: 'initialize', name: 'millwrightCostCounter' },
  );
}

/** Count every worker invocation, its duration and Lambda's platform log lines. */
function timeWorkers(sandbox: Sandbox, counters: Counters): void {
  for (const f of sandbox.flows.values()) {
    const handler = f.worker.handler;
    f.worker.handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const started = performance.now();
      try {
        return await phase.run('worker', () => handler(event));
      } finally {
        counters.lambdaInvocations += 1;
        counters.lambdaMs += Math.ceil(performance.now() - started);
      }
    };
  }
}

interface Scenario {
  label: string;
  body: (i: number) => Record<string, unknown>;
  /** Vendor records the events need (made through the simulators' sandbox controls, not counted). */
  prepare?: (sandbox: Sandbox) => Promise<void>;
}

/** UpKeep parts for the acting scenario, one per event (each event opens its own low episode). */
async function addUpKeepParts(sandbox: Sandbox): Promise<void> {
  const base = sandbox.endpoints.upkeep?.replace(/\/api\/v2\/?$/, '');
  if (!base) throw new Error('the sandbox has no UpKeep simulator');
  const parts = Array.from({ length: N }, (_, i) => ({
    id: `BenchPart${i}`,
    name: `Bench part ${i}`,
    quantity: 1,
    minimumQuantity: 2,
    cost: 1,
  }));
  const res = await fetch(`${base}/_sandbox/parts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ parts }),
  });
  if (!res.ok) throw new Error(`UpKeep simulator refused the bench parts: ${res.status} ${await res.text()}`);
}

const NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';

/** The two Mobility Work events priced: one that one flow handles, one that two flows handle. */
function scenarios(clock: Clock): Scenario[] {
  return [
    {
      label: 'SparePartWasRestocked (1 flow)',
      body: (i) => ({
        _type: 'SparePartWasRestockedWebhook',
        _event: 'SparePartWasRestocked',
        _idempotencyKey: randomBytes(5).toString('hex'),
        _sentAt: clock.now().toISOString(),
        emittedAt: clock.now().toISOString(),
        _metadata: '',
        task: null,
        sparePart: { id: `sp-bench-${i}`, externalReference: `BENCH-${i}`, name: 'Bench part' },
        location: { name: 'Main store' },
        initiator: { id: 3, email: 'tech@plant.example', name: 'Tech' },
        restocked: { quantity: 5, previousStock: 1 },
        networkId: NETWORK_ID,
      }),
    },
    {
      label: 'SparePartStockWasUnderMinThreshold (1 flow, acts: an UpKeep purchase order)',
      prepare: addUpKeepParts,
      body: (i) => ({
        _event: 'SparePartStockWasUnderMinThreshold',
        _idempotencyKey: randomBytes(5).toString('hex'),
        _date: clock.now().toISOString(),
        _metadata: null,
        stock: { quantity: 1, minimumStock: 2 },
        sparePart: { id: `sp-act-${i}`, externalReference: `BenchPart${i}`, name: 'Bench part' },
        movement: { type: 'consumption', quantity: 1 },
        networkId: NETWORK_ID,
      }),
    },
    {
      label: 'TaskWasCompleted (2 flows)',
      body: (i) => ({
        _event: 'TaskWasCompleted',
        _idempotencyKey: randomBytes(5).toString('hex'),
        legacyId: `b${i}`,
        id: `b${i}`,
        doneAt: clock.now().toISOString(),
        initiator: { id: 3, email: 'tech@plant.example', name: 'Tech' },
        associatedTo: {},
        tags: [],
        requiredSpareParts: [],
        metadata: { source: 'bench' },
        networkId: NETWORK_ID,
      }),
    },
  ];
}

/** Sends N signed webhooks of `scenario` to the ingress; returns the ingress time in ms. */
async function sendWebhooks(
  sandbox: Sandbox,
  clock: Clock,
  secret: string,
  scenario: Scenario,
): Promise<number> {
  let ingressMs = 0;
  for (let i = 0; i < N; i++) {
    const rawBody = JSON.stringify(scenario.body(i));
    const header = signMobilityWorkWebhook({
      secret,
      scheme: 't.nonce.body',
      t: Math.floor(clock.now().getTime() / 1000),
      nonce: randomBytes(20).toString('hex'),
      rawBody,
    });
    const started = performance.now();
    const res = await fetch(`${sandbox.ingressUrl}/webhooks/mobility-work`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mw-signature': header },
      body: rawBody,
    });
    ingressMs += Math.ceil(performance.now() - started);
    if (res.status !== 200) throw new Error(`ingress answered ${res.status}: ${await res.text()}`);
  }
  return ingressMs;
}

interface PerEvent {
  apiRequests: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  sqsRequests: number;
  dynamoWrites: number;
  dynamoReads: number;
  /** DynamoDB requests per event, ingress and worker. */
  ingressCalls: number;
  workerCalls: number;
  workerMs: number;
  secretsCalls: number;
  /** Our own log lines. Lambda's lines (per invocation) and the access log depend on the profile. */
  appLogBytes: number;
}

/** Log bytes per event under a profile: ours, Lambda's lines per invocation, the access log. */
const logBytesOf = (perEvent: PerEvent, profile: Profile) =>
  perEvent.appLogBytes +
  (profile.platformLogs ? perEvent.lambdaInvocations * PLATFORM_LOG_BYTES : 0) +
  (profile.endpoint === 'http-api' ? perEvent.apiRequests * ACCESS_LOG_BYTES : 0);

/** USD per 1M events, by service, under a profile. */
function dollarsPerMillion(perEvent: PerEvent, profile: Profile = DEFAULT_PROFILE): Record<string, number> {
  const u = profile.provisionedUtilization;
  // Provisioned: one unit a second for an hour, used at `u` on average.
  const perWrite = u ? (PRICES.dynamoWcuHour / 3600 / u) * 1e6 : PRICES.dynamoWriteUnitsPerMillion;
  const perRead = u ? (PRICES.dynamoRcuHour / 3600 / u) * 1e6 : PRICES.dynamoReadUnitsPerMillion;
  return {
    [profile.endpoint === 'http-api' ? 'HTTP API' : 'function URL']:
      profile.endpoint === 'http-api' ? perEvent.apiRequests * PRICES.httpApiPerMillion : 0,
    'Lambda requests': perEvent.lambdaInvocations * PRICES.lambdaRequestsPerMillion,
    'Lambda duration': perEvent.lambdaGbSeconds * 1e6 * PRICES.lambdaArmGbSecond,
    SQS: perEvent.sqsRequests * PRICES.sqsRequestsPerMillion,
    'DynamoDB writes': perEvent.dynamoWrites * perWrite,
    'DynamoDB reads': perEvent.dynamoReads * perRead,
    'Secrets Manager': perEvent.secretsCalls * 100 * PRICES.secretsManagerPer10k,
    'CloudWatch Logs': (logBytesOf(perEvent, profile) / 1e9) * 1e6 * PRICES.logsIngestPerGb,
  };
}

const totalOf = (dollars: Record<string, number>) => Object.values(dollars).reduce((a, b) => a + b, 0);

/** A scenario's lines of the report: usage per event, then the price of each service and the total. */
function scenarioRows(
  label: string,
  perEvent: PerEvent,
  dollars: Record<string, number>,
  total: number,
  breakdown: Breakdown,
): string[] {
  const calls = perEvent.ingressCalls + perEvent.workerCalls;
  return [
    `\n${label}: ${N} signed webhooks, per event: ${perEvent.lambdaInvocations.toFixed(2)} Lambda invocations ` +
      `(${((perEvent.lambdaGbSeconds / LAMBDA_MEMORY_GB) * 1000).toFixed(1)} ms), ${perEvent.sqsRequests.toFixed(2)} SQS requests, ` +
      `${perEvent.dynamoWrites.toFixed(2)} DynamoDB WRU, ${perEvent.dynamoReads.toFixed(2)} RRU, ` +
      `${perEvent.secretsCalls.toFixed(3)} Secrets Manager calls, ${Math.round(logBytesOf(perEvent, DEFAULT_PROFILE))} log bytes`,
    ...Object.entries(dollars).map(
      ([service, usd]) => `  ${service.padEnd(16)} $${usd.toFixed(3)} per 1M events`,
    ),
    `  ${'total'.padEnd(16)} $${total.toFixed(2)} per 1M events (target <= $${TARGET_USD.toFixed(2)} for one flow)`,
    `  DynamoDB requests per event: ${calls.toFixed(2)} (ingress ${perEvent.ingressCalls.toFixed(2)}, worker ${perEvent.workerCalls.toFixed(2)}; target <= 4 for one flow)`,
    '  by phase, command and item kind (per event: requests, units by size):',
    ...[...breakdown]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([label, r]) => `    ${label.padEnd(52)} ${(r.calls / N).toFixed(2)}  ${(r.units / N).toFixed(2)}`,
      ),
  ];
}

const SCENARIO_SHORT = ['1 flow, records', '1 flow, acts', '2 flows'];
/** How many flows take each scenario's event (each has its own queue and worker). */
const SCENARIO_FLOWS = [1, 1, 2];

/**
 * The same event when each worker invocation gets one event: a trickle, as at a few events a minute
 * (the event source mapping has no batching window). Here the webhooks are sent back to back, so a
 * worker takes about 10 at once; one at a time, each flow adds a worker invocation (and Lambda's
 * lines for it) and an SQS receive and delete per event. DynamoDB and our own lines do not change.
 */
function oneEventPerInvocation(perEvent: PerEvent, flows: number): PerEvent {
  return { ...perEvent, lambdaInvocations: 1 + flows, sqsRequests: 3 * flows };
}

/** The total per 1M events of each scenario under each profile, as a small table. */
function profileRows(scenarios: { label: string; perEvent: PerEvent; flows: number }[]): string[] {
  const width = 18;
  const describe = (p: Profile) =>
    `${p.endpoint}, ${p.provisionedUtilization ? `provisioned at ${p.provisionedUtilization * 100}%` : 'on-demand'}, ` +
    `${p.platformLogs ? "Lambda's START/END/REPORT lines" : 'systemLogLevel WARN'}`;
  return [
    'Per 1M events by deployment profile (same requests, priced per README "Cost"); the last column',
    'is the first scenario with one event per worker invocation (a trickle) instead of batches of ~10:',
    `  ${'profile'.padEnd(width)}${scenarios.map((s) => s.label.padStart(18)).join('')}${'1 flow, trickle'.padStart(18)}  what`,
    ...PROFILES.map((p) => {
      const [first] = scenarios;
      const trickle = first
        ? totalOf(dollarsPerMillion(oneEventPerInvocation(first.perEvent, first.flows), p))
        : 0;
      return `  ${p.label.padEnd(width)}${scenarios
        .map((s) => `$${totalOf(dollarsPerMillion(s.perEvent, p)).toFixed(2)}`.padStart(18))
        .join('')}${`$${trickle.toFixed(2)}`.padStart(18)}  ${describe(p)}`;
    }),
  ];
}

/** Runs one scenario and prices what it counted: its report lines and its total per 1M events. */
async function runScenario(
  run: { sandbox: Sandbox; clock: Clock; secret: string; counters: Counters; breakdown: Breakdown },
  scenario: Scenario,
): Promise<{ rows: string[]; total: number; perEvent: PerEvent }> {
  const { sandbox, counters } = run;
  await scenario.prepare?.(sandbox);
  const c0 = { ...counters };
  run.breakdown.clear();
  const secrets0 = sandbox.secrets.requests();
  const ingressMs = await sendWebhooks(sandbox, run.clock, run.secret, scenario);
  await sandbox.drain();
  const d = (k: keyof Counters) => (counters[k] - c0[k]) / N;
  const perEvent: PerEvent = {
    apiRequests: 1,
    lambdaInvocations: 1 + d('lambdaInvocations'),
    lambdaGbSeconds: ((ingressMs / N + d('lambdaMs')) / 1000) * LAMBDA_MEMORY_GB,
    sqsRequests: d('sqsRequests'),
    dynamoWrites: d('dynamoWrites'),
    dynamoReads: d('dynamoReads'),
    ingressCalls: d('ingressCalls'),
    workerCalls: d('workerCalls'),
    workerMs: d('lambdaMs'),
    secretsCalls: (sandbox.secrets.requests() - secrets0) / N,
    appLogBytes: d('logBytes'),
  };
  const dollars = dollarsPerMillion(perEvent);
  const total = totalOf(dollars);
  return {
    rows: scenarioRows(scenario.label, perEvent, dollars, total, run.breakdown),
    total,
    perEvent,
  };
}

async function main(): Promise<void> {
  const counters = zero();
  const secrets = sandboxSecrets() as Record<string, Record<string, unknown>>;
  const clock = manualClock('2026-11-02T08:00:00.000Z');
  const sandbox = await startSandbox({
    config: 'config/default.json',
    secrets,
    clock,
    log: countingLog(counters),
    httpTimeoutMs: 2000,
  });
  try {
    await sandbox.tick();
    await sandbox.settle();
    const breakdown: Breakdown = new Map();
    countRequests(sandbox, counters, breakdown);
    timeWorkers(sandbox, counters);

    const webhookSecrets = secrets['millwright/mobility-work']?.webhookSecrets as string[] | undefined;
    const secret = webhookSecrets?.[0];
    if (!secret) throw new Error('the sandbox secrets have no millwright/mobility-work webhookSecrets');
    const rows: string[] = [];
    const results: { total: number; perEvent: PerEvent }[] = [];
    for (const scenario of scenarios(clock)) {
      const result = await runScenario({ sandbox, clock, secret, counters, breakdown }, scenario);
      rows.push(...result.rows);
      results.push(result);
    }
    const [one, acting, two] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
    const oneCalls = one.perEvent.ingressCalls + one.perEvent.workerCalls;
    const lean = totalOf(dollarsPerMillion(one.perEvent, LEAN_PROFILE));
    const twoLean = totalOf(dollarsPerMillion(two.perEvent, LEAN_PROFILE));
    process.stdout.write(
      `Millwright cost per 1M webhook events (us-east-1 list prices, Lambda arm64 256 MB; counted in the sandbox)${rows.join('\n')}\n` +
        `\n${profileRows(results.map((r, i) => ({ label: SCENARIO_SHORT[i] ?? '', perEvent: r.perEvent, flows: SCENARIO_FLOWS[i] ?? 1 }))).join('\n')}\n` +
        "\nNot included (fixed, not per event): pollers on their schedules, Lambda's idle SQS long polling,\n" +
        'alarms, the dashboard, Secrets Manager storage ($0.40/secret/month), DynamoDB storage, and in\n' +
        "the provisioned profiles the capacity auto scaling keeps when idle and its alarms (README 'Cost').\n" +
        `One flow: $${one.total.toFixed(2)} per 1M events by default, $${lean.toFixed(2)} lean -> ` +
        `${lean <= TARGET_USD ? 'within' : 'OVER'} the $${TARGET_USD.toFixed(2)} target (default ${one.total <= TARGET_USD ? 'within' : 'OVER'}); ` +
        `${oneCalls.toFixed(2)} DynamoDB requests per event -> ${oneCalls <= 4 ? 'within' : 'OVER'} the 4 target.\n`,
    );
    if (JSON_OUT) {
      const figures = {
        events: N,
        oneFlowUsd: round(one.total),
        oneFlowLeanUsd: round(lean),
        oneFlowLeanTrickleUsd: round(
          totalOf(dollarsPerMillion(oneEventPerInvocation(one.perEvent, 1), LEAN_PROFILE)),
        ),
        oneFlowFunctionUrlUsd: round(totalOf(dollarsPerMillion(one.perEvent, FUNCTION_URL_PROFILE))),
        twoFlowLeanUsd: round(twoLean),
        twoFlowUsd: round(two.total),
        dynamoCallsPerEvent: round(oneCalls),
        dynamoCallsPerEventTwoFlows: round(two.perEvent.ingressCalls + two.perEvent.workerCalls),
        actingFlowUsd: round(acting.total),
        dynamoCallsPerEventActing: round(acting.perEvent.ingressCalls + acting.perEvent.workerCalls),
        dynamoUnitsPerEventActing: round(acting.perEvent.dynamoWrites + acting.perEvent.dynamoReads),
        dynamoIngressCallsPerEvent: round(one.perEvent.ingressCalls),
        dynamoWorkerCallsPerEvent: round(one.perEvent.workerCalls),
        dynamoWriteUnitsPerEvent: round(one.perEvent.dynamoWrites),
        dynamoReadUnitsPerEvent: round(one.perEvent.dynamoReads),
        dynamoWriteUnitsPerEventTwoFlows: round(two.perEvent.dynamoWrites),
        dynamoReadUnitsPerEventTwoFlows: round(two.perEvent.dynamoReads),
        workerMsPerEvent: round(one.perEvent.workerMs),
        workerMsPerEventTwoFlows: round(two.perEvent.workerMs),
        sqsRequestsPerEvent: round(one.perEvent.sqsRequests),
      };
      process.stdout.write(`BENCH_JSON ${JSON.stringify(figures)}\n`);
    }
  } finally {
    await sandbox.close();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

main().catch((error: unknown) => {
  process.stderr.write(`cost benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
