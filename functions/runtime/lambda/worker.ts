/** Lambda entry glue for a flow worker (SQS batch, partial failures). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSEvent } from 'aws-lambda';
import type { AnyFlow } from '../../core/flow.ts';
import { sqsDeadLetter } from '../dead-letter.ts';
import { createWorker } from '../worker.ts';
import { type LambdaSettings, lambdaEnv, newLogger, requireEnv, validateFlowConfig } from './common.ts';

export function workerLambda(flow: AnyFlow, settings: LambdaSettings) {
  const logger = newLogger(settings, flow.id);
  const worker = createWorker({
    flow,
    config: validateFlowConfig(flow, settings.flowConfig),
    env: lambdaEnv(settings, logger),
    maxReceiveCount: settings.runtime.maxReceiveCount,
    deadLetter: sqsDeadLetter(requireEnv('DLQ_URL')),
  });
  return middy((event: SQSEvent) => worker.handler(event)).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
