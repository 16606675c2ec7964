/**
 * The per-deployment config file (config/*.json): which flows run, vendor accounts (secret *names*),
 * mappings and thresholds. Validated with zod at synth (lib/), at sandbox start, and again at cold
 * start (each Lambda validates its own part). A bad file fails naming the path of every bad field.
 */
import * as z from 'zod/mini';
import { type Connector, connectors } from '../connectors/index.ts';
import { DEFAULT_BREAKER_POLICY } from '../core/breaker.ts';
import { ConfigError } from '../core/errors.ts';
import type { AnyFlow } from '../core/flow.ts';
import { checkStrict, closestKey, lazySchema, type SchemaProblem } from '../core/schema.ts';
import {
  DEFAULT_RETRY,
  MAX_DELAY_SECONDS,
  MAX_HORIZON_SECONDS,
  type RetrySettings,
} from '../runtime/retry.ts';
import { readJsonFile } from './json-file.ts';

/** `vendors`: one optional block per registered connector, validated by the connector's own schema. */
const vendorsSchema = lazySchema(() =>
  z.strictObject(
    Object.fromEntries(connectors.map((c) => [c.id, z.optional(c.config)])) as {
      [C in Connector as C['id']]: z.ZodMiniOptional<C['config']>;
    },
  ),
);

const seconds = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));

const retrySchema = lazySchema(() =>
  z.strictObject({
    baseDelaySeconds: z._default(seconds(1, 3600), DEFAULT_RETRY.baseDelaySeconds),
    maxDelaySeconds: z._default(seconds(1, MAX_DELAY_SECONDS), DEFAULT_RETRY.maxDelaySeconds),
    horizonSeconds: z._default(seconds(60, MAX_HORIZON_SECONDS), DEFAULT_RETRY.horizonSeconds),
    waitBudgetSeconds: z._default(seconds(1, MAX_HORIZON_SECONDS), DEFAULT_RETRY.waitBudgetSeconds),
  }),
);

/**
 * The circuit breaker of every vendor account (functions/core/breaker.ts). The open period is at
 * most 12 h: SQS cannot hold a message longer than that (ChangeMessageVisibility's cap).
 */
const circuitBreakerSchema = lazySchema(() =>
  z.strictObject({
    failureThreshold: z._default(
      z.number().check(z.int(), z.minimum(1), z.maximum(1000)),
      DEFAULT_BREAKER_POLICY.failureThreshold,
    ),
    windowSeconds: z._default(seconds(1, 3600), DEFAULT_BREAKER_POLICY.windowSeconds),
    openSeconds: z._default(seconds(1, 43_200), DEFAULT_BREAKER_POLICY.openSeconds),
    maxOpenSeconds: z._default(seconds(1, 43_200), DEFAULT_BREAKER_POLICY.maxOpenSeconds),
  }),
);

/** An SNS topic alarms can publish to (standard only: CloudWatch alarms cannot publish to FIFO topics). */
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** How vendors reach the webhook ingress (`runtime.webhookEndpoint`, lib/constructs/ingress.ts). */
export const WEBHOOK_ENDPOINTS = ['http-api', 'function-url'] as const;
export type WebhookEndpoint = (typeof WEBHOOK_ENDPOINTS)[number];

export const DEFAULT_ALARMS = {
  pollerMissedIntervals: 3,
  oldestMessageMinutes: 30,
  circuitOpenMinutes: 15,
} as const;

/** Where alarms go (lib/constructs/alarms.ts) and two thresholds. */
const alarmsSchema = lazySchema(() =>
  z.strictObject({
    /** An existing SNS topic to notify; without it the stack creates one. */
    topicArn: z.optional(
      z
        .string()
        .check(
          z.regex(SNS_TOPIC_ARN, 'expected a standard SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)'),
        ),
    ),
    /** E-mail addresses subscribed to the topic (each confirms the subscription once). */
    emails: z.optional(z.array(z.email())),
    /** A poller alarms when it has not completed a run in this many of its intervals. */
    pollerMissedIntervals: z._default(
      z.number().check(z.int(), z.minimum(1), z.maximum(100)),
      DEFAULT_ALARMS.pollerMissedIntervals,
    ),
    /** A flow queue alarms when its oldest message is older than this. */
    oldestMessageMinutes: z._default(
      z.number().check(z.int(), z.minimum(1), z.maximum(20_160)),
      DEFAULT_ALARMS.oldestMessageMinutes,
    ),
    /** A vendor account's circuit breaker alarms when it has stayed open longer than this. */
    circuitOpenMinutes: z._default(
      z.number().check(z.int(), z.minimum(1), z.maximum(1440)),
      DEFAULT_ALARMS.circuitOpenMinutes,
    ),
  }),
);

/** DynamoDB's default per-table throughput quota, for reads and for writes alike. */
export const MAX_TABLE_CAPACITY_UNITS = 40_000;

/** `runtime.stateTable`'s provisioned settings when the file leaves them out. */
export const DEFAULT_PROVISIONED_CAPACITY = {
  writeCapacity: { min: 5, max: 200 },
  readCapacity: { min: 5, max: 100 },
  targetUtilizationPercent: 70,
} as const;

const capacityUnits = (fallback: number) =>
  z._default(z.number().check(z.int(), z.minimum(1), z.maximum(MAX_TABLE_CAPACITY_UNITS)), fallback);

/** Auto scaling keeps the table's capacity between `min` (also the initial capacity) and `max`. */
const capacityRange = (fallback: { readonly min: number; readonly max: number }) =>
  z._default(z.strictObject({ min: capacityUnits(fallback.min), max: capacityUnits(fallback.max) }), {
    ...fallback,
  });

/**
 * How the state table is billed (lib/constructs/state-table.ts). On demand (the default) costs
 * nothing idle and takes any burst; provisioned capacity with auto scaling costs less per write at
 * a steady load, but charges its minimum every hour and throttles bursts until scaling catches up.
 */
const stateTableSchema = lazySchema(() =>
  z.discriminatedUnion('billing', [
    z.strictObject({ billing: z.literal('on-demand') }),
    z.strictObject({
      billing: z.literal('provisioned'),
      writeCapacity: capacityRange(DEFAULT_PROVISIONED_CAPACITY.writeCapacity),
      readCapacity: capacityRange(DEFAULT_PROVISIONED_CAPACITY.readCapacity),
      /** The consumed/provisioned ratio auto scaling aims for. */
      targetUtilizationPercent: z._default(
        z.number().check(z.int(), z.minimum(20), z.maximum(90)),
        DEFAULT_PROVISIONED_CAPACITY.targetUtilizationPercent,
      ),
    }),
  ]),
);
export type StateTableSettings = z.infer<typeof stateTableSchema>;

export const deploymentSchema = lazySchema(() =>
  z.strictObject({
    $schema: z.optional(z.string()),
    /** Prefix for stack and resource names. */
    name: z._default(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,30}$/)), 'Millwright'),
    vendors: z._default(vendorsSchema, {}),
    alarms: z._default(alarmsSchema, { ...DEFAULT_ALARMS }),
    /** Flow id -> its config (validated by the flow's own schema) plus `enabled`. */
    flows: z._default(z.record(z.string(), z.record(z.string(), z.unknown())), {}),
    runtime: z._default(
      z.strictObject({
        logLevel: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
        /**
         * Lambda's own lines (START, END, REPORT). Unset: Lambda's plain-text default. Set: JSON log
         * format at this system level; WARN drops all three (lib/constructs/function-logging.ts).
         */
        systemLogLevel: z.optional(z.enum(['DEBUG', 'INFO', 'WARN'])),
        logRetentionDays: z._default(z.number().check(z.int(), z.minimum(1)), 30),
        /** Days the run log keeps each entry (`millwright runs`, `show`); DynamoDB TTL removes it after. */
        runLogRetentionDays: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(3650)), 30),
        /** Failed attempts with an unexpected error (a bug, an SDK error) before the DLQ. */
        maxReceiveCount: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(10)), 3),
        workerTimeoutSeconds: z._default(z.number().check(z.int(), z.minimum(5), z.maximum(900)), 30),
        /**
         * How long a worker's event source waits to fill a batch before invoking (Lambda's
         * MaximumBatchingWindowInSeconds; 0: at once). Fewer invocations and SQS receives per event
         * at a moderate load, at up to this much latency (README "Cost"). The sandbox ignores it.
         */
        workerBatchingWindowSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(300)), 0),
        /** Largest webhook body the ingress accepts, in bytes. */
        maxWebhookBytes: z._default(
          z.number().check(z.int(), z.minimum(1024), z.maximum(1_000_000)),
          262_144,
        ),
        /**
         * How vendors reach the webhook ingress: `http-api` (an API Gateway HTTP API: stage throttling,
         * access log, $1.00 per million requests) or `function-url` (the ingress function's own URL:
         * no per-request charge, no throttling, no access log). The function verifies every request
         * either way. Switching changes the webhook URLs (`millwright webhooks register <vendor>`).
         */
        webhookEndpoint: z._default(z.enum(WEBHOOK_ENDPOINTS), 'http-api'),
        /**
         * HTTP API stage throttling for webhook routes (`webhookEndpoint: "http-api"` only: a function
         * URL has no stage to throttle, and reserved concurrency is not used as a substitute since new
         * accounts have only 10 to share).
         */
        webhookRateLimit: z._default(z.number().check(z.minimum(1)), 50),
        webhookBurstLimit: z._default(z.number().check(z.int(), z.minimum(1)), 100),
        /**
         * Worker retries (functions/runtime/retry.ts): backoff delays, the retry horizon (then the DLQ;
         * per flow: `flows.<id>.retryHorizonSeconds`) and the wait budget (then needs-attention).
         */
        retry: z._default(retrySchema, DEFAULT_RETRY),
        /** When a vendor account's circuit breaker opens, how long it stays open (core/breaker.ts). */
        circuitBreaker: z._default(circuitBreakerSchema, { ...DEFAULT_BREAKER_POLICY }),
        /** The state table's billing mode: `on-demand`, or `provisioned` with auto scaling. */
        stateTable: z._default(stateTableSchema, { billing: 'on-demand' }),
      }),
      {
        logLevel: 'INFO',
        logRetentionDays: 30,
        runLogRetentionDays: 30,
        maxReceiveCount: 3,
        workerTimeoutSeconds: 30,
        workerBatchingWindowSeconds: 0,
        maxWebhookBytes: 262_144,
        webhookEndpoint: 'http-api',
        webhookRateLimit: 50,
        webhookBurstLimit: 100,
        retry: DEFAULT_RETRY,
        circuitBreaker: { ...DEFAULT_BREAKER_POLICY },
        stateTable: { billing: 'on-demand' },
      },
    ),
  }),
);
export type DeploymentInput = z.infer<typeof deploymentSchema>;

export interface EnabledFlow {
  flow: AnyFlow;
  /** The flow's validated config. */
  config: unknown;
  /** `flows.<id>.retryHorizonSeconds`: this flow's retry horizon instead of `runtime.retry`'s. */
  retryHorizonSeconds?: number;
}

/** The retry settings of one enabled flow: the runtime's, with the flow's own horizon if it has one. */
export const retryOf = (deployment: Pick<Deployment, 'runtime'>, flow: EnabledFlow): RetrySettings => ({
  ...deployment.runtime.retry,
  ...(flow.retryHorizonSeconds !== undefined ? { horizonSeconds: flow.retryHorizonSeconds } : {}),
});

export interface Deployment extends DeploymentInput {
  enabled: EnabledFlow[];
}

/**
 * Validate a parsed config against the registry: every field at every depth (unknown keys too,
 * with the closest known key), every flow's own config, and the vendors enabled flows need. All
 * problems are reported at once, each on one line.
 */
export function validateDeployment(
  raw: unknown,
  registry: readonly AnyFlow[],
  source = 'config',
): Deployment {
  const { data: input, problems } = checkStrict(deploymentSchema, raw);
  // With a broken top level, the flows are still checked, so every problem shows at once.
  const rawFlows =
    (typeof raw === 'object' && raw !== null ? (raw as { flows?: unknown }).flows : undefined) ?? {};
  const enabled: EnabledFlow[] = [];
  for (const [id, value] of Object.entries(
    input?.flows ?? (rawFlows as Record<string, Record<string, unknown>>),
  )) {
    const flow = registry.find((f) => f.id === id);
    if (!flow) {
      const known = registry.map((f) => f.id);
      const suggestion = closestKey(id, known);
      problems.push({
        path: `flows.${id}`,
        message: suggestion
          ? `unknown flow (did you mean "${suggestion}"?)`
          : `unknown flow (known: ${known.join(', ')})`,
      });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const {
      enabled: on = true,
      retryHorizonSeconds: horizon,
      ...rest
    } = value as {
      enabled?: unknown;
      retryHorizonSeconds?: unknown;
    };
    if (typeof on !== 'boolean') problems.push({ path: `flows.${id}.enabled`, message: 'expected boolean' });
    const horizonOk =
      horizon === undefined ||
      (typeof horizon === 'number' &&
        Number.isInteger(horizon) &&
        horizon >= 60 &&
        horizon <= MAX_HORIZON_SECONDS);
    if (!horizonOk) {
      problems.push({
        path: `flows.${id}.retryHorizonSeconds`,
        message: `expected whole seconds from 60 to ${MAX_HORIZON_SECONDS} (13 days: the queue keeps messages 14)`,
      });
    }
    const parsed = checkStrict(flow.config, rest, `flows.${id}`);
    problems.push(...parsed.problems);
    if (parsed.data === undefined) continue;
    if (on === false || !input) continue;
    for (const vendor of flow.vendors) {
      if (!(input.vendors as Record<string, unknown>)[vendor]) {
        problems.push({ path: `vendors.${vendor}`, message: `required by flow ${id}` });
      }
    }
    const waitProblem = longestWaitProblem(flow, parsed.data, input.runtime.retry, horizon);
    if (waitProblem) problems.push({ path: `flows.${id}.${waitProblem.path}`, message: waitProblem.message });
    enabled.push({
      flow,
      config: parsed.data,
      ...(typeof horizon === 'number' ? { retryHorizonSeconds: horizon } : {}),
    });
  }
  const breaker = input?.runtime.circuitBreaker;
  if (breaker && breaker.maxOpenSeconds < breaker.openSeconds) {
    problems.push({
      path: 'runtime.circuitBreaker.maxOpenSeconds',
      message: `must be >= openSeconds (${breaker.openSeconds})`,
    });
  }
  // One subscription per address: a repeat would be a second construct of the same id (a crash at
  // synth naming no field) or, in another case, a second confirmation mail and every alarm twice.
  const firstOf = new Map<string, number>();
  for (const [i, email] of (input?.alarms.emails ?? []).entries()) {
    const first = firstOf.get(email.toLowerCase());
    if (first === undefined) firstOf.set(email.toLowerCase(), i);
    else
      problems.push({ path: `alarms.emails[${i}]`, message: `repeats alarms.emails[${first}] (${email})` });
  }
  const runtime = input?.runtime;
  if (runtime?.systemLogLevel && (runtime.logLevel === 'WARN' || runtime.logLevel === 'ERROR')) {
    // Lambda's JSON log format filters lines by their "level"; our metric lines (EMF) have none, so
    // Lambda counts them as INFO and would drop them, and the alarms read those metrics.
    problems.push({
      path: 'runtime.systemLogLevel',
      message: `needs runtime.logLevel DEBUG or INFO (it is ${runtime.logLevel}): in Lambda's JSON log format a ${runtime.logLevel} application level would drop the metric lines the alarms read`,
    });
  }
  const stateTable = input?.runtime.stateTable;
  if (stateTable?.billing === 'provisioned') {
    for (const key of ['writeCapacity', 'readCapacity'] as const) {
      const { min, max } = stateTable[key];
      if (max < min) {
        problems.push({
          path: `runtime.stateTable.${key}.max`,
          message: `must be >= ${key}.min (${min}): auto scaling keeps the capacity between min and max`,
        });
      }
    }
  }
  if (problems.length > 0 || !input) {
    const [first] = problems;
    throw new ConfigError(first?.path ?? '', first?.message ?? 'invalid', { source, problems });
  }
  // Flows in registry order, whatever the order of the config's keys: the stack and the sandbox
  // build the same thing from the same registry. Vendors as the operator wrote them (logs follow it).
  enabled.sort((a, b) => registry.indexOf(a.flow) - registry.indexOf(b.flow));
  return { ...input, vendors: inWrittenOrder(input.vendors, raw), enabled };
}

/**
 * A flow's own wait must end before the worker gives up on a waiting event: past
 * `waitBudgetSeconds` since its first delivery it is parked, past the retry horizon dead-lettered,
 * so what the flow would do after its wait (e.g. resend once) would never happen.
 */
function longestWaitProblem(
  flow: AnyFlow,
  config: unknown,
  retry: RetrySettings,
  flowHorizon: unknown,
): SchemaProblem | undefined {
  const wait = flow.longestWait?.(config);
  if (!wait) return undefined;
  const horizon = typeof flowHorizon === 'number' ? flowHorizon : retry.horizonSeconds;
  const [limit, name] =
    retry.waitBudgetSeconds <= horizon
      ? [retry.waitBudgetSeconds, 'runtime.retry.waitBudgetSeconds']
      : [
          horizon,
          typeof flowHorizon === 'number'
            ? `flows.${flow.id}.retryHorizonSeconds`
            : 'runtime.retry.horizonSeconds',
        ];
  if (wait.seconds < limit) return undefined;
  return {
    path: wait.path,
    message: `must be shorter than ${name} (${limit} s): the worker stops waiting first, so what follows the wait never happens`,
  };
}

/** `vendors` with its keys in the order the config file lists them (zod's output follows the schema). */
function inWrittenOrder<V extends object>(vendors: V, raw: unknown): V {
  const written = (raw as { vendors?: unknown } | null)?.vendors;
  if (typeof written !== 'object' || written === null) return vendors;
  const keys = [...Object.keys(written), ...Object.keys(vendors)].filter((k) => k in vendors);
  return Object.fromEntries([...new Set(keys)].map((k) => [k, vendors[k as keyof V]])) as V;
}

export function loadDeployment(path: string, registry: readonly AnyFlow[]): Deployment {
  return validateDeployment(readJsonFile(path, 'config'), registry, path);
}
