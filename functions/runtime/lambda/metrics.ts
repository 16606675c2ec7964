/**
 * Powertools Metrics for the worker and poller Lambdas: one EMF document per invocation, flushed by
 * the middy `logMetrics` middleware, with the names and dimensions lib/ graphs and alarms on
 * (functions/runtime/metrics.ts).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  DEPLOYMENT_DIMENSION,
  emfLine,
  emfMetrics,
  FLOW_DIMENSION,
  METRIC_NAMESPACE,
  METRIC_SERVICE,
  NEEDS_ATTENTION_METRIC,
  outcomeMetricName,
  POLL_COMPLETED_METRIC,
  SOURCE_DIMENSION,
  type WorkerMetrics,
} from '../metrics.ts';

/** The deployment's dimension (functions/runtime/metrics.ts), when the bundle names its deployment. */
const ofDeployment = (deployment: string | undefined): Record<string, string> =>
  deployment === undefined ? {} : { [DEPLOYMENT_DIMENSION]: deployment };

/** A flow's worker metrics: every outcome of the invocation in one flush (per flow: a default dimension). */
export const flowMetrics = (flowId: string, deployment?: string): Metrics =>
  new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: METRIC_SERVICE,
    defaultDimensions: { [FLOW_DIMENSION]: flowId, ...ofDeployment(deployment) },
  });

/** A poller's metrics: PollCompleted per flow and source. */
export const pollMetrics = (flowId: string, sourceId: string, deployment?: string): Metrics =>
  new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: METRIC_SERVICE,
    defaultDimensions: {
      [FLOW_DIMENSION]: flowId,
      [SOURCE_DIMENSION]: sourceId,
      ...ofDeployment(deployment),
    },
  });

/**
 * The worker's metrics: needs-attention as its own EMF line at once (the alarm's metric has the flow
 * as its only dimension), each outcome added to `metrics` (the worker's flow is its default dimension).
 */
export function powertoolsWorkerMetrics(
  metrics: Metrics,
  write: (line: string) => void,
  deployment?: string,
): WorkerMetrics {
  return emfMetrics(
    write,
    undefined,
    (_flowId, outcome) => metrics.addMetric(outcomeMetricName(outcome), MetricUnit.Count, 1),
    deployment,
  );
}

/** Count one completed poll tick. */
export const pollCompleted = (metrics: Metrics): void => {
  metrics.addMetric(POLL_COMPLETED_METRIC, MetricUnit.Count, 1);
};

/**
 * A poll that left vendor data unread (PollRunSummary `gaps`): one NeedsAttention line per flow it
 * feeds, the metric of each flow's needs-attention alarm (the run log says what to backfill).
 */
export function pollGapsNeedAttention(
  flowIds: readonly string[],
  gaps: number | undefined,
  write: (line: string) => void = (line) => process.stdout.write(line),
  now: Date = new Date(),
  deployment?: string,
): void {
  if (!gaps) return;
  for (const flowId of flowIds) write(`${emfLine(NEEDS_ATTENTION_METRIC, flowId, now, deployment)}\n`);
}
