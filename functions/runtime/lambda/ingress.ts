/**
 * Lambda entry glue for the webhook ingress, behind the HTTP API or a function URL
 * (`runtime.webhookEndpoint`). Both send payload format 2.0; the HTTP API has matched a route
 * (`routeKey`, `pathParameters`), a function URL sends every request as `routeKey: "$default"`, so
 * its route is resolved here from method and path (routes.ts), and the rest is the same code.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { WebhookReceiver } from '../../core/flow.ts';
import { fromApiGateway, handleWebhook, refuseUnrouted } from '../ingress.ts';
import { sqsQueue } from '../queue.ts';
import { routeMatcher } from '../routes.ts';
import { type LambdaSettings, lambdaEnv, newLogger, requireEnv } from './common.ts';

/** The route key of every function URL request (the HTTP API's routes here are never `$default`). */
export const FUNCTION_URL_ROUTE_KEY = '$default';

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
  const match = routeMatcher(receivers.map((r) => r.route));
  // The middleware never logs the raw event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: its path
  // holds UpKeep's URL token, its headers a shared secret or a signature, and Powertools would log it
  // past our redaction.
  return middy(async (event: APIGatewayProxyEventV2) => {
    if (event.routeKey !== FUNCTION_URL_ROUTE_KEY) {
      return handleWebhook(options, event.routeKey, fromApiGateway(event));
    }
    const { method } = event.requestContext.http;
    const found = match(method, event.rawPath);
    if (!('routeKey' in found)) return refuseUnrouted(env, method, found);
    return handleWebhook(
      options,
      found.routeKey,
      fromApiGateway({ ...event, pathParameters: found.pathParameters }),
    );
  }).use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }));
}
