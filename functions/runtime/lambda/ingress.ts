/** Lambda entry glue for the webhook ingress (HTTP API). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { WebhookReceiver } from '../../core/flow.ts';
import { fromApiGateway, handleWebhook } from '../ingress.ts';
import { sqsQueue } from '../queue.ts';
import { type LambdaSettings, lambdaEnv, newLogger, requireEnv } from './common.ts';

export function ingressLambda(receivers: readonly WebhookReceiver[], settings: LambdaSettings) {
  const logger = newLogger(settings, 'webhook-ingress');
  const env = lambdaEnv(settings, logger);
  // Queue names are bundled; only their common URL prefix comes from the environment, so the
  // environment stays small and constant however many flows subscribe (Lambda allows 4 KB).
  const prefix = requireEnv('QUEUE_URL_PREFIX');
  const routing = Object.fromEntries(
    Object.entries(settings.routing ?? {}).map(([type, names]) => [type, names.map((n) => prefix + n)]),
  );
  const queue = sqsQueue();
  const options = { receivers, routing, env, queue, maxBytes: settings.runtime.maxWebhookBytes };
  return middy((event: APIGatewayProxyEventV2) =>
    handleWebhook(options, event.routeKey, fromApiGateway(event)),
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}
