/**
 * The sandbox: the same flows and runtime handlers as in AWS, on this machine, with no AWS account.
 * - local ingress  = API Gateway HTTP API (same routes, same handler)
 * - local SQS      = queues + DLQs with redrive (journaled in the data folder by `npm start`, so a
 *                    kill loses no message); an event-source-mapping loop = Lambda's SQS trigger
 * - scheduler      = EventBridge Scheduler running the pollers
 * - dynalite       = DynamoDB (persisted in the data folder by `npm start`, in memory in tests)
 * - local secrets  = Secrets Manager GetSecretValue backed by sandbox/secrets.local.json
 * - simulators     = MachineMetrics, UpKeep, Mobility Work, Click Maint and Deepomatic APIs built
 *                    from their docs; with a data folder their state is saved beside DynamoDB's
 *                    (see data-dir.ts), so a restart keeps both sides of every id mapping
 * Pointing vendors at real accounts (`vendors: 'real'`) keeps everything else the same.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod/mini';
import {
  type Deployment,
  loadDeployment,
  retryOf,
  validateDeployment,
} from '../functions/config/deployment.ts';
import {
  type Connector,
  type ConnectorId,
  connectors,
  type SimulatorOf,
  type SimulatorOptionsOf,
} from '../functions/connectors/index.ts';
import { type BreakerPolicy, breakerTransport, probeLeaseFor } from '../functions/core/breaker.ts';
import { type RunningSimulator, webhookUrl } from '../functions/core/connector.ts';
import { ConfigError } from '../functions/core/errors.ts';
import {
  type AnyFlow,
  type FlowEvent,
  type RuntimeEnv,
  type ScheduleTrigger,
  type WebhookReceiver,
  webhookEventsOf,
} from '../functions/core/flow.ts';
import { type Log, redactingLog } from '../functions/core/log.ts';
import { checkStrict } from '../functions/core/schema.ts';
import { secretsManagerSource } from '../functions/core/secrets.ts';
import { StateStore } from '../functions/core/state.ts';
import { flows as registry } from '../functions/flows/index.ts';
import { sqsDeadLetter, sqsDelay, sqsRemove } from '../functions/runtime/dead-letter.ts';
import { buildRouting } from '../functions/runtime/ingress.ts';
import { type PollRunSummary, runPoll } from '../functions/runtime/poller.ts';
import { type EventQueue, sqsQueue } from '../functions/runtime/queue.ts';
import { REDRIVE_BACKSTOP_RECEIVES, type RetrySettings } from '../functions/runtime/retry.ts';
import { planPollGroups, runSharedPoll } from '../functions/runtime/shared-poll.ts';
import { createWorker, type Worker } from '../functions/runtime/worker.ts';
import { type Clock, realClock } from './clock.ts';
import {
  checkDataDirPairs,
  type DataDirLayout,
  dataDirLayout,
  lockDataDir,
  resetDataDir,
} from './data-dir.ts';
import {
  ensureStateTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalDynamo,
  startLocalDynamo,
} from './dynamo.ts';
import { createEventSourceMapping } from './event-source.ts';
import { listenIngress, startIngress } from './ingress.ts';
import { consoleLog } from './log.ts';
import { pauseFlags } from './pause-flags.ts';
import { createScheduler } from './scheduler.ts';
import { type LocalSecrets, startLocalSecrets } from './secrets.ts';
import { fileStateStore, type SimulatorStateStore } from './simulators/persistence.ts';
import { appendBounded, REQUEST_LOG_LIMIT } from './simulators/server.ts';
import { type FlowQueues, type LocalSqs, startLocalSqs } from './sqs.ts';
import { startTtlSweeper, type TtlSweepResult } from './ttl-sweeper.ts';

export interface SandboxOptions {
  /** Deployment config file (default config/default.json) or an already-parsed object. */
  config?: string | Record<string, unknown>;
  secrets: Record<string, unknown>;
  /** The file `secrets` came from, named in errors (default "the sandbox secrets"). */
  secretsFile?: string;
  clock?: Clock;
  /** First port; services take consecutive ports. 0 = random ports (tests, demo). */
  basePort?: number;
  /**
   * The sandbox's data folder (`npm start`: .sandbox): DynamoDB in `<dataDir>/dynamodb`, the
   * simulators' state in `<dataDir>/simulators`, and a lock (`<dataDir>/sandbox.lock`) so only one
   * sandbox uses it. Omit for everything in memory (tests, the demo).
   */
  dataDir?: string;
  /** With `dataDir`: delete its DynamoDB data and simulator state, together, before starting. */
  reset?: boolean;
  /** `simulated` (default): vendor base URLs point at the local simulators. */
  vendors?: 'simulated' | 'real';
  /**
   * The flow queues' visibility timeout: how soon the deliveries of a crashed invocation come back
   * (default: the worker's timeout, as AWS requires; tests shorten it to meet crashes sooner).
   */
  visibilityTimeoutSeconds?: number;
  /** Run pollers every N ms (0 = only on `tick()`). */
  pollIntervalMs?: number;
  /**
   * Run the event-source mapping in the background (default false: only on `drain()`). Its pollers
   * wake when a message can be received; nothing polls on an interval.
   */
  runWorkers?: boolean;
  /** Older name of `runWorkers`: any value > 0 runs the pollers (the value is no longer used). */
  workerIntervalMs?: number;
  /**
   * Options per simulator, e.g. `{ 'mobility-work': { applyDelayMs: 0 } }` (real milliseconds
   * before Mobility Work applies a 202 write; default 300) or `{ 'click-maint': { windowSeconds: 10 } }`
   * (Click Maint's rate window in real seconds, default the configured one: the demo compresses it,
   * and the simulator and the shared limiter then use the same window).
   */
  simulatorOptions?: { [Id in ConnectorId]?: SimulatorOptionsOf<Id> };
  /** Per-request timeout of the vendor clients (short in the sandbox so fault scenarios are quick). */
  httpTimeoutMs?: number;
  /**
   * A worker invocation's timeout (Lambda's function timeout; default `runtime.workerTimeoutSeconds`).
   * Past it the whole batch fails and comes back after the visibility timeout, as in Lambda.
   */
  workerTimeoutMs?: number;
  /**
   * Concurrent worker invocations per flow (default: the flow's `worker.maxConcurrency`, else 1).
   * Lambda runs many; tests raise it to meet real contention between workers.
   */
  workerConcurrency?: number;
  /**
   * Worker retry delays and budgets instead of the config's `runtime.retry` (tests and the demo
   * compress time: seconds instead of minutes and hours).
   */
  retry?: Partial<RetrySettings>;
  /**
   * The vendor accounts' circuit breaker policy instead of the config's `runtime.circuitBreaker`
   * (tests and the chaos benchmark compress time: an open period of a second instead of 30).
   */
  breaker?: Partial<BreakerPolicy>;
  /**
   * Wraps each flow before its worker is built: tests inject worker faults here (e.g. a worker that
   * dies mid-record, after its vendor write and before recording it).
   */
  wrapFlow?: (flow: AnyFlow) => AnyFlow;
  /**
   * How long the background loops trust a read of a flow's pause flag (default 1000 ms). An explicit
   * `drain()`, `settle()` or `tick()` always reads it afresh.
   */
  pauseFlagMaxAgeMs?: number;
  /**
   * The state table's notion of time (claim leases, TTLs) follows the sandbox clock instead of the
   * real one, so a test can expire a dead worker's claim lease by moving the clock.
   */
  stateOnSandboxClock?: boolean;
  /** How many events `Sandbox.enqueued` keeps, newest (default REQUEST_LOG_LIMIT). */
  enqueuedLogLimit?: number;
  /** How often expired items (`ttl` past) are deleted from the state table (default 10 minutes). */
  ttlSweepIntervalMs?: number;
  log?: Log;
}

export interface SandboxFlow {
  flow: AnyFlow;
  config: unknown;
  queues: FlowQueues;
  worker: Worker;
  /** Its schedule triggers (those in a poll group are run by the group's schedule). */
  pollers: { trigger: ScheduleTrigger; triggerIndex: number; deps: unknown }[];
}

export interface Sandbox {
  deployment: Deployment;
  clock: Clock;
  env: RuntimeEnv;
  state: StateStore;
  sqs: LocalSqs;
  dynamo: LocalDynamo;
  secrets: LocalSecrets;
  /** The running simulator of each configured vendor (none with `vendors: 'real'`). */
  simulators: { [Id in ConnectorId]?: SimulatorOf<Id> };
  ingressUrl: string;
  flows: Map<string, SandboxFlow>;
  /**
   * The events enqueued, oldest first (for the demo and tests; a replay re-sends one of these): the
   * newest `enqueuedLogLimit` only, as a sandbox left running for weeks must not keep every event.
   */
  enqueued: { queueUrl: string; event: FlowEvent }[];
  /** Put events on a flow's queue, as a replay from the DLQ or a duplicate delivery would. */
  send(flowId: string, events: FlowEvent[]): Promise<void>;
  /** Every service's URL, as written to .sandbox/endpoints.json. */
  endpoints: Record<string, string>;
  /** Run every poller once, independently (what one tick of every schedule does); paused flows' skip. */
  tick(): Promise<PollRunSummary[]>;
  /**
   * Run the event-source-mapping loop until every queue is empty and nothing is in flight. A paused
   * flow's queue counts as empty: its messages wait there until the flow is resumed.
   */
  drain(options?: { timeoutMs?: number }): Promise<{ received: number; failed: number }>;
  /**
   * Drain, then let the simulators finish their asynchronous work (Mobility Work applies 202 writes
   * later and sends webhooks), and repeat until nothing new is enqueued: the whole system is quiet.
   */
  settle(options?: {
    timeoutMs?: number;
    maxRounds?: number;
  }): Promise<{ received: number; failed: number; rounds: number }>;
  /** One bounded sweep of the state table's expired items now (the timer's work, ttl-sweeper.ts). */
  sweepExpired(): Promise<TtlSweepResult>;
  close(): Promise<void>;
}

export { PollTickError } from './scheduler.ts';

/**
 * Take the data folder (refusing if another sandbox runs on it), reset it if asked, and warn if
 * only one of DynamoDB and the simulators has data. The lock is released by `closers`.
 */
function openDataDir(
  dataDir: string,
  options: SandboxOptions,
  log: Log,
  closers: (() => Promise<void>)[],
): DataDirLayout {
  const lock = lockDataDir(dataDir, log);
  closers.push(async () => lock.release());
  if (options.reset) {
    const removed = resetDataDir(dataDir);
    log.info(
      removed.length > 0
        ? `reset: removed ${removed.join(' and ')}`
        : `reset: nothing to remove in ${dataDir} (no DynamoDB data or simulator state yet)`,
    );
  }
  checkDataDirPairs(dataDir, log, { simulated: options.vendors !== 'real' });
  return dataDirLayout(dataDir);
}

/** Say which simulators continue from saved state and which start from their seed data. */
function logSavedSimulators(layout: DataDirLayout, vendors: string[], log: Log): void {
  const restored = vendors.filter((v) => existsSync(layout.simulator(v)));
  const fresh = vendors.filter((v) => !restored.includes(v));
  if (restored.length > 0) log.info(`simulators: restoring ${restored.join(', ')} from ${layout.simulators}`);
  if (fresh.length > 0) {
    log.info(`simulators: ${fresh.join(', ')} start from seed data (saved to ${layout.simulators})`);
  }
}

/**
 * Start a configured connector's simulator with its sandbox secret (checked like the config,
 * unknown keys too) and return it with the vendor settings pointed at it.
 */
async function startSimulatorOf(
  connector: Connector,
  input: {
    settings: Record<string, unknown>;
    secrets: Record<string, unknown>;
    secretsFile: string | undefined;
    port: number;
    clock: Clock;
    store: SimulatorStateStore | undefined;
    ingressUrl: string;
    log: Log;
    options: unknown;
  },
): Promise<{ simulator: RunningSimulator; settings: unknown; apiUrl: string }> {
  const settings = input.settings as { secretName: string };
  const { data: secret, problems } = checkStrict(
    connector.secret as z.ZodMiniType,
    input.secrets[settings.secretName],
    settings.secretName,
  );
  const [first] = problems;
  if (secret === undefined || first) {
    throw new ConfigError(first?.path ?? settings.secretName, first?.message ?? 'invalid', {
      what: 'secrets',
      source: input.secretsFile ?? 'the sandbox secrets',
      problems,
    });
  }
  // Each manifest's start takes its own settings, secret and options; the registry guarantees they match.
  const start = connector.simulator.start as (i: unknown) => Promise<{
    simulator: RunningSimulator;
    settings: unknown;
    apiUrl: string;
  }>;
  return start({ ...input, settings, secret, options: input.options ?? {} });
}

/** The local engines: DynamoDB and SQS (in the data folder, if any) and Secrets Manager. */
async function startEngines(
  options: SandboxOptions,
  tableName: string,
  port: (offset: number) => number,
  layout: DataDirLayout | undefined,
  closers: (() => Promise<void>)[],
) {
  const dynamo = await startLocalDynamo({ port: port(1), path: layout?.dynamodb });
  closers.push(() => dynamo.close());
  await ensureStateTable(dynamo.client, tableName);
  const sqs = await startLocalSqs({ port: port(2), ...(layout ? { dir: layout.sqs } : {}) });
  closers.push(() => sqs.close());
  const secrets = await startLocalSecrets(options.secrets, {
    port: port(3),
    ...(options.secretsFile ? { file: options.secretsFile } : {}),
  });
  closers.push(() => secrets.close());
  return { dynamo, sqs, secrets };
}

/**
 * Say which journaled messages outlived their queue's retention while the sandbox was stopped: SQS
 * drops them, but here no worker ever had a chance at them, so the events they carried go unsaid
 * otherwise.
 */
function warnExpired(sqs: LocalSqs, log: Log): void {
  for (const { queue, messages } of sqs.expiredAtStart) {
    log.warn(
      `${messages} message${messages > 1 ? 's' : ''} on the queue ${queue} passed the queue's retention period while the sandbox was stopped and ${messages > 1 ? 'are' : 'is'} dropped, as SQS drops them, never processed; backfill the period, or replay the events from their source`,
    );
  }
}

/**
 * Say which journaled queues hold messages no enabled flow reads (a flow disabled, or the deployment
 * renamed, while its events waited): nothing consumes them, so without this they wait unsaid.
 */
function warnStranded(sqs: LocalSqs, flows: Map<string, SandboxFlow>, log: Log): void {
  const name = (url: string) => url.split('/').at(-1) ?? url;
  const read = new Set([...flows.values()].flatMap((f) => [name(f.queues.queueUrl), name(f.queues.dlqUrl)]));
  for (const queue of sqs.engine.queues.values()) {
    const messages = queue.messages.size;
    if (messages === 0 || read.has(queue.name)) continue;
    log.warn(
      `${messages} message${messages > 1 ? 's' : ''} wait${messages > 1 ? '' : 's'} on the queue ${queue.name}, which no enabled flow reads: enable its flow again (same deployment name) to process them, or \`npm start -- --reset\` to drop everything`,
    );
  }
}

/**
 * The simulator of every configured vendor (none with `vendors: 'real'`), and the vendor settings
 * pointed at them.
 */
async function startSimulators(
  deployment: Deployment,
  options: SandboxOptions,
  context: {
    port: (offset: number) => number;
    layout: DataDirLayout | undefined;
    clock: Clock;
    ingressUrl: string;
    log: Log;
    closers: (() => Promise<void>)[];
  },
) {
  const { layout, log } = context;
  const vendors = structuredClone(deployment.vendors) as Record<string, Record<string, unknown>>;
  const simulators: Sandbox['simulators'] = {};
  const apiUrls: Record<string, string> = {};
  if (options.vendors !== 'real') {
    // In the config's order (the start-up log follows it); ports by registry order.
    const configured = Object.keys(vendors).flatMap((id) => connectors.filter((c) => c.id === id));
    if (layout)
      logSavedSimulators(
        layout,
        configured.map((c) => c.id),
        log,
      );
    for (const connector of configured) {
      const started = await startSimulatorOf(connector, {
        settings: vendors[connector.id] as Record<string, unknown>,
        secrets: options.secrets,
        secretsFile: options.secretsFile,
        // Consecutive ports after the engines, in registry order.
        port: context.port(4 + connectors.indexOf(connector)),
        clock: context.clock,
        store: layout ? fileStateStore(layout.simulator(connector.id)) : undefined,
        ingressUrl: context.ingressUrl,
        log,
        options: options.simulatorOptions?.[connector.id] ?? {},
      });
      (simulators as Record<string, RunningSimulator>)[connector.id] = started.simulator;
      context.closers.push(() => started.simulator.close());
      vendors[connector.id] = started.settings as Record<string, unknown>;
      apiUrls[connector.id] = started.apiUrl;
    }
  }
  if (options.httpTimeoutMs) {
    for (const v of Object.values(vendors)) v.timeoutMs = options.httpTimeoutMs;
  }
  return { vendors, simulators, apiUrls };
}

/** Each enabled flow's queues, worker (the same as in Lambda) and pollers. */
async function startFlows(
  deployment: Deployment,
  options: SandboxOptions,
  env: RuntimeEnv,
  sqs: LocalSqs,
): Promise<Map<string, SandboxFlow>> {
  const flows = new Map<string, SandboxFlow>();
  for (const enabled of deployment.enabled) {
    const { flow, config } = enabled;
    // As AWS requires of a Lambda's queue: no shorter than the function's timeout, so a slow
    // invocation still holds its deliveries when the worker delays a failed one on them.
    const timeoutSeconds =
      options.workerTimeoutMs !== undefined
        ? Math.ceil(options.workerTimeoutMs / 1000)
        : Math.max(deployment.runtime.workerTimeoutSeconds, flow.worker?.timeoutSeconds ?? 0);
    const queues = await sqs.createQueue(`${deployment.name}-${flow.id}`.slice(0, 76), {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? timeoutSeconds,
      maxReceiveCount: REDRIVE_BACKSTOP_RECEIVES,
    });
    // The same worker as in Lambda: delays on its own queue, dead-letters poison at once.
    const worker = createWorker({
      flow: options.wrapFlow ? options.wrapFlow(flow) : flow,
      config,
      env,
      maxReceiveCount: deployment.runtime.maxReceiveCount,
      deadLetter: sqsDeadLetter(queues.dlqUrl, sqs.client),
      delay: sqsDelay(queues.queueUrl, sqs.client),
      remove: sqsRemove(queues.queueUrl, sqs.client),
      retry: { ...retryOf(deployment, enabled), ...options.retry },
      // No CloudWatch here: the alarm the metric would raise is a log line.
      metrics: {
        needsAttention: (flowId) =>
          env.log.warn(`alarm: ${flowId}: an event needs attention (metric Millwright/NeedsAttention)`),
        // The run log already holds every outcome; no metric store here.
        outcome: () => undefined,
      },
    });
    const pollers = flow.triggers.flatMap((trigger, triggerIndex) =>
      trigger.kind === 'schedule' ? [{ trigger, triggerIndex, deps: trigger.source.connect(env) }] : [],
    );
    flows.set(flow.id, { flow, config, queues, worker, pollers });
  }
  return flows;
}

/** The local HTTP API: every enabled flow's webhook receivers, routed by the flows' handlers. */
function startFlowIngress(
  deployment: Deployment,
  flows: Map<string, SandboxFlow>,
  context: { env: RuntimeEnv; queue: EventQueue; server: Server; clock: Clock },
): void {
  const receivers = new Map<string, WebhookReceiver>();
  for (const { flow } of flows.values()) {
    for (const t of flow.triggers) if (t.kind === 'webhook') receivers.set(t.receiver.route, t.receiver);
  }
  const routing = buildRouting(
    [...flows.values()].map(({ flow, queues }) => ({
      queue: queues.queueUrl,
      events: webhookEventsOf(flow),
    })),
  );
  startIngress(
    {
      receivers: [...receivers.values()],
      routing,
      env: context.env,
      queue: context.queue,
      maxBytes: deployment.runtime.maxWebhookBytes,
    },
    context.server,
    context.env.log,
    context.clock,
  );
}

/** Every service's URL, as written to .sandbox/endpoints.json. */
function endpointsOf(
  urls: { ingress: string; dynamodb: string; sqs: string; secretsmanager: string },
  apiUrls: Record<string, string>,
  flows: Map<string, SandboxFlow>,
  operator: { table: string; config?: string },
): Record<string, string> {
  return {
    ingress: urls.ingress,
    ...Object.fromEntries(
      connectors.flatMap((c) =>
        c.webhook ? [[`ingress.${c.id}`, webhookUrl(urls.ingress, c.webhook.route)]] : [],
      ),
    ),
    dynamodb: urls.dynamodb,
    sqs: urls.sqs,
    secretsmanager: urls.secretsmanager,
    ...apiUrls,
    ...Object.fromEntries(
      [...flows.values()].flatMap(({ flow, queues }) => [
        [`queue.${flow.id}`, queues.queueUrl],
        [`dlq.${flow.id}`, queues.dlqUrl],
      ]),
    ),
    // What `millwright --sandbox` needs besides the URLs (operator/sandbox-target.ts).
    table: operator.table,
    ...(operator.config ? { config: operator.config } : {}),
  };
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  // Every line without a credential a client holds or was issued (see core/log.ts).
  const log = redactingLog(options.log ?? consoleLog());
  const clock = options.clock ?? realClock;
  const base = options.basePort ?? 0;
  const port = (offset: number) => (base === 0 ? 0 : base + offset);
  const deployment =
    typeof options.config === 'object'
      ? validateDeployment(options.config, registry, 'sandbox config')
      : loadDeployment(options.config ?? 'config/default.json', registry);

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const layout = options.dataDir ? openDataDir(options.dataDir, options, log, closers) : undefined;
    const tableName = `${deployment.name}-state`;
    const { dynamo, sqs, secrets } = await startEngines(options, tableName, port, layout, closers);
    warnExpired(sqs, log);
    const ingressServer = await listenIngress(port(0));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          ingressServer.closeAllConnections();
          ingressServer.close(() => resolve());
        }),
    );
    const ingressUrl = `http://127.0.0.1:${(ingressServer.address() as AddressInfo).port}`;
    const { vendors, simulators, apiUrls } = await startSimulators(deployment, options, {
      port,
      layout,
      clock,
      ingressUrl,
      log,
      closers,
    });

    const state = new StateStore({
      tableName,
      runRetentionDays: deployment.runtime.runLogRetentionDays,
      client: DynamoDBDocumentClient.from(dynamo.client, {
        marshallOptions: { removeUndefinedValues: true },
      }),
      ...(options.stateOnSandboxClock ? { now: () => clock.now() } : {}),
    });
    // dynalite has no TTL: without this the local table only grows (see ttl-sweeper.ts).
    const sweeper = startTtlSweeper(dynamo.client, tableName, {
      now: options.stateOnSandboxClock ? () => clock.now() : () => new Date(),
      ...(options.ttlSweepIntervalMs ? { intervalMs: options.ttlSweepIntervalMs } : {}),
      log,
    });
    closers.push(() => sweeper.stop());
    const env: RuntimeEnv = {
      vendors,
      secrets: secretsManagerSource({
        maxAgeSeconds: 300,
        clientConfig: { endpoint: secrets.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS },
      }),
      state,
      log,
      now: () => clock.now(),
      // Workers and pollers of every vendor go through its account's breaker, on the wall clock (never
      // the sandbox's manual clock); the lease outlasts one request's timeout.
      transport: breakerTransport({
        state,
        log,
        policy: { ...deployment.runtime.circuitBreaker, ...options.breaker },
        probeLeaseMs: Math.max(
          2 * (options.httpTimeoutMs ?? 10_000),
          probeLeaseFor(deployment.vendors as Record<string, unknown>),
        ),
      }),
    };
    const sqsSender = sqsQueue(sqs.client);
    const enqueued: Sandbox['enqueued'] = [];
    // `settle` counts every event enqueued, not the bounded log.
    let enqueuedCount = 0;
    const queue: EventQueue = {
      async send(queueUrl, events) {
        await sqsSender.send(queueUrl, events);
        enqueuedCount += events.length;
        for (const event of events) {
          appendBounded(enqueued, { queueUrl, event }, options.enqueuedLogLimit ?? REQUEST_LOG_LIMIT);
        }
      },
    };

    const sandboxFlows = await startFlows(deployment, options, env, sqs);
    warnStranded(sqs, sandboxFlows, log);
    startFlowIngress(deployment, sandboxFlows, { env, queue, server: ingressServer, clock });

    // `millwright pause` (another process) writes the flag; both loops obey it.
    const pauses = pauseFlags({
      read: async (flowId) => (await state.getFlowControl(flowId))?.paused === true,
      ...(options.pauseFlagMaxAgeMs !== undefined ? { maxAgeMs: options.pauseFlagMaxAgeMs } : {}),
    });
    // As in AWS (lib/entries.ts): a schedule per poll group (one poll feeding its flows), one per other trigger.
    const { groups, ownPoll } = planPollGroups(deployment.enabled);
    const queueUrls = Object.fromEntries(
      [...sandboxFlows.values()].map(({ flow, queues }) => [flow.id, queues.queueUrl]),
    );
    // No CloudWatch here: the NeedsAttention a poll's gap raises in AWS is a log line (as the worker's).
    const pollGapAlarm = <R extends PollRunSummary>(flowIds: string[], result: R): R => {
      if (result.gaps) {
        for (const flowId of flowIds) {
          log.warn(
            `alarm: ${flowId}: the poll left vendor data unread (metric Millwright/NeedsAttention); its run log names the backfill`,
          );
        }
      }
      return result;
    };
    const scheduler = createScheduler(
      [
        ...[...sandboxFlows.values()].flatMap(({ flow, config, queues, pollers }) =>
          pollers
            .filter(({ triggerIndex }) => ownPoll(flow.id, triggerIndex))
            .map(({ trigger, deps }) => ({
              what: `${flow.id} (${trigger.source.id})`,
              flowIds: [flow.id],
              run: async () =>
                pollGapAlarm(
                  [flow.id],
                  await runPoll({ flow, trigger, config, env, queue, queueUrl: queues.queueUrl, deps }),
                ),
            })),
        ),
        ...groups.map((group) => {
          const deps = group.source.connect(env);
          return {
            what: `${group.id} (${group.source.id}, for ${group.members.map((m) => m.flow.id).join(', ')})`,
            flowIds: group.members.map((m) => m.flow.id),
            run: async () =>
              pollGapAlarm(
                group.members.map((m) => m.flow.id),
                await runSharedPoll({ group, env, queue, queueUrls, deps }),
              ),
          };
        }),
      ],
      log,
      { pauses },
    );
    const mapping = createEventSourceMapping({
      sqs: sqs.client,
      waitForMessage: (queueUrl, signal) => sqs.waitForMessage(queueUrl, signal),
      flows: () => sandboxFlows.values(),
      ...(options.workerConcurrency !== undefined ? { concurrency: options.workerConcurrency } : {}),
      timeoutMs: (flow) =>
        options.workerTimeoutMs ??
        1000 * Math.max(deployment.runtime.workerTimeoutSeconds, flow.worker?.timeoutSeconds ?? 0),
      enqueuedCount: () => enqueuedCount,
      describeQueue: (queueUrl) => sqs.engine.describe(queueUrl),
      pauses,
      ...(options.pauseFlagMaxAgeMs !== undefined ? { pausedRecheckMs: options.pauseFlagMaxAgeMs } : {}),
      settleSimulators: async () => {
        // A webhook a simulator sends is in flight until the ingress answers: settle waits for it,
        // so an event its vendor change caused is on a queue before the next drain looks.
        for (const sim of Object.values(simulators) as RunningSimulator[]) {
          await sim.flushWebhooks?.();
          await sim.settle?.();
        }
      },
      log,
    });
    if (options.runWorkers || options.workerIntervalMs) mapping.start();
    if (options.pollIntervalMs) scheduler.start(options.pollIntervalMs);
    closers.push(async () => {
      await mapping.stop();
      await scheduler.stop();
    });

    return {
      deployment,
      clock,
      env,
      state,
      sqs,
      dynamo,
      secrets,
      simulators,
      ingressUrl,
      flows: sandboxFlows,
      enqueued,
      async send(flowId, events) {
        const target = sandboxFlows.get(flowId);
        if (!target) throw new Error(`no enabled flow ${flowId}`);
        await queue.send(target.queues.queueUrl, events);
      },
      endpoints: endpointsOf(
        {
          ingress: ingressUrl,
          dynamodb: dynamo.endpoint,
          sqs: sqs.endpoint,
          secretsmanager: secrets.endpoint,
        },
        apiUrls,
        sandboxFlows,
        {
          table: tableName,
          config:
            typeof options.config === 'object' ? undefined : resolve(options.config ?? 'config/default.json'),
        },
      ),
      tick: () => scheduler.tick(),
      sweepExpired: () => sweeper.sweep(),
      drain: (o) => mapping.drain(o),
      settle: (o) => mapping.settle(o),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
