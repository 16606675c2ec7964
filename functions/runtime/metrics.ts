/**
 * Worker metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout: Lambda ships stdout to
 * CloudWatch Logs, which extracts the metric, so no SDK call (and no IAM) is needed. The
 * needs-attention alarm of each flow (lib/constructs/flow-worker.ts) watches this metric.
 */

export const METRIC_NAMESPACE = 'Millwright';
export const NEEDS_ATTENTION_METRIC = 'NeedsAttention';
/** The dimension naming the flow (the alarm filters on it). */
export const FLOW_DIMENSION = 'flow';

export interface WorkerMetrics {
  /** An event of `flowId` was parked as needs-attention. */
  needsAttention(flowId: string): void;
}

/** One EMF document: a count of 1 for `metric`, with the flow as its only dimension. */
export function emfLine(metric: string, flowId: string, now: Date): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [[FLOW_DIMENSION]],
          Metrics: [{ Name: metric, Unit: 'Count' }],
        },
      ],
    },
    [FLOW_DIMENSION]: flowId,
    [metric]: 1,
  });
}

/** Metrics written as EMF lines (Lambda: `process.stdout.write`). */
export function emfMetrics(write: (line: string) => void, now: () => Date = () => new Date()): WorkerMetrics {
  return {
    needsAttention: (flowId) => write(`${emfLine(NEEDS_ATTENTION_METRIC, flowId, now())}\n`),
  };
}
