/** Lambda entry glue for a flow worker (SQS batch, partial failures). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import { withInvocationDeadline } from '../../core/deadline.ts';
import type { AnyFlow } from '../../core/flow.ts';
import { sqsDeadLetter, sqsDelay, sqsRemove } from '../dead-letter.ts';
import { createWorker } from '../worker.ts';
import { type LambdaSettings, newLogger, requireEnv, validateFlowConfig } from './common.ts';
import { flowMetrics, powertoolsWorkerMetrics } from './metrics.ts';
import { vendorEnv } from './vendor-env.ts';

export function workerLambda(flow: AnyFlow, settings: LambdaSettings) {
  const logger = newLogger(settings, flow.id);
  const metrics = flowMetrics(flow.id, settings.deployment);
  const worker = createWorker({
    flow,
    config: validateFlowConfig(flow, settings.flowConfig),
    env: vendorEnv(settings, logger, flow.id),
    maxReceiveCount: settings.runtime.maxReceiveCount,
    deadLetter: sqsDeadLetter(requireEnv('DLQ_URL')),
    // Waits, holds and transient failures stay on the worker's own queue for a delay.
    delay: sqsDelay(requireEnv('QUEUE_URL')),
    // A dead-lettered delivery leaves the queue at once (not dead-lettered again if the batch then dies).
    remove: sqsRemove(requireEnv('QUEUE_URL')),
    retry: settings.runtime.retry,
    // EMF on stdout: CloudWatch turns it into the metrics the needs-attention alarm watches and the
    // dashboard graphs (one count per record and outcome, flushed by logMetrics per invocation).
    metrics: powertoolsWorkerMetrics(metrics, (line) => process.stdout.write(line), settings.deployment),
  });
  // Vendor calls give up in time for the worker to record and delay what failed (core/deadline.ts).
  return middy((event: SQSEvent, context: Context) =>
    withInvocationDeadline(Date.now() + context.getRemainingTimeInMillis(), () => worker.handler(event)),
  )
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
