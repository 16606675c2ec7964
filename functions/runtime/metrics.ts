/**
 * Worker and poller metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout: Lambda ships
 * stdout to CloudWatch Logs, which extracts the metric, so no SDK call (and no IAM) is needed. The
 * needs-attention alarm of each flow (lib/constructs/flow-worker.ts) watches NeedsAttention; the
 * business metrics (one count per event and outcome) and PollCompleted go through Powertools Metrics
 * (lambda/worker.ts, lambda/poller.ts); the names and dimensions here are what lib/ graphs and alarms on.
 */

export const METRIC_NAMESPACE = 'Millwright';
export const NEEDS_ATTENTION_METRIC = 'NeedsAttention';
/** The dimension naming the flow (the alarm filters on it). */
export const FLOW_DIMENSION = 'flow';
/**
 * The dimension naming the deployment (config `name`) on every metric of a deployed function: two
 * plants in one account and region share the namespace and the flow ids, and each plant's alarms
 * must watch its own metrics only. Absent where no deployment name is known (the sandbox counts nothing).
 */
export const DEPLOYMENT_DIMENSION = 'deployment';
const deploymentDimension = (deployment: string | undefined): Record<string, string> =>
  deployment === undefined ? {} : { [DEPLOYMENT_DIMENSION]: deployment };

/** Powertools Metrics adds a `service` dimension to every metric; ours is this one. */
export const METRIC_SERVICE = 'millwright';
/** The dimension naming a poll source (PollCompleted). */
export const SOURCE_DIMENSION = 'source';
/** A poller completed a tick (count 1, per flow and source); a missing count raises its alarm. */
export const POLL_COMPLETED_METRIC = 'PollCompleted';

/**
 * A vendor account's circuit breaker refused a request or changed state (opened, probing, re-opened):
 * count 1 per refusal or transition, per vendor (core/breaker.ts, emitted by lambda/common.ts).
 */
export const CIRCUIT_OPEN_METRIC = 'CircuitOpen';
/**
 * With every CircuitOpen: how long (seconds) the breaker has been open without closing in between.
 * The "open too long" alarm watches its maximum (lib/constructs/alarms.ts).
 */
export const CIRCUIT_OPEN_SECONDS_METRIC = 'CircuitOpenSeconds';
/** The dimension naming the vendor of a circuit breaker. */
export const VENDOR_DIMENSION = 'vendor';

/** One EMF document: CircuitOpen = 1 and CircuitOpenSeconds, per vendor (and deployment). */
export function breakerEmfLine(vendor: string, openForMs: number, now: Date, deployment?: string): string {
  const dimensions = { [VENDOR_DIMENSION]: vendor, ...deploymentDimension(deployment) };
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: [
            { Name: CIRCUIT_OPEN_METRIC, Unit: 'Count' },
            { Name: CIRCUIT_OPEN_SECONDS_METRIC, Unit: 'Seconds' },
          ],
        },
      ],
    },
    ...dimensions,
    [CIRCUIT_OPEN_METRIC]: 1,
    [CIRCUIT_OPEN_SECONDS_METRIC]: Math.max(0, Math.round(openForMs / 1000)),
  });
}

/** Every outcome of an event in the worker: the flow's own, and the worker's for failures. */
export const EVENT_OUTCOMES = [
  'done',
  'skipped',
  'duplicate',
  'echo',
  'stale',
  'failed',
  'dead-lettered',
  'needs-attention',
  'retrying',
  'waiting',
  'held',
] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

/**
 * One metric per outcome (`Events.done`, ...), all with the dimensions of `outcomeDimensions`: one
 * Powertools flush can then carry every outcome of a batch (its dimensions are shared by the flush).
 */
export const outcomeMetricName = (outcome: EventOutcome): string => `Events.${outcome}`;
export const outcomeDimensions = (flowId: string, deployment?: string): Record<string, string> => ({
  service: METRIC_SERVICE,
  [FLOW_DIMENSION]: flowId,
  ...deploymentDimension(deployment),
});
export const pollDimensions = (
  flowId: string,
  sourceId: string,
  deployment?: string,
): Record<string, string> => ({
  service: METRIC_SERVICE,
  [FLOW_DIMENSION]: flowId,
  [SOURCE_DIMENSION]: sourceId,
  ...deploymentDimension(deployment),
});
/** The needs-attention metric's dimensions: the flow (and deployment). */
export const needsAttentionDimensions = (flowId: string, deployment?: string): Record<string, string> => ({
  [FLOW_DIMENSION]: flowId,
  ...deploymentDimension(deployment),
});

export interface WorkerMetrics {
  /** An event of `flowId` was parked as needs-attention. */
  needsAttention(flowId: string): void;
  /** One event of `flowId` ended this delivery with `outcome` (called once per record). */
  outcome(flowId: string, outcome: EventOutcome): void;
}

/** One EMF document: a count of 1 for `metric`, per flow (and deployment). */
export function emfLine(metric: string, flowId: string, now: Date, deployment?: string): string {
  const dimensions = needsAttentionDimensions(flowId, deployment);
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: [{ Name: metric, Unit: 'Count' }],
        },
      ],
    },
    ...dimensions,
    [metric]: 1,
  });
}

/** The needs-attention count as an EMF line at once (Lambda: `process.stdout.write`); outcomes go to `outcome`. */
export function emfMetrics(
  write: (line: string) => void,
  now: () => Date = () => new Date(),
  outcome: WorkerMetrics['outcome'] = () => undefined,
  deployment?: string,
): WorkerMetrics {
  return {
    needsAttention: (flowId) => write(`${emfLine(NEEDS_ATTENTION_METRIC, flowId, now(), deployment)}\n`),
    outcome,
  };
}
