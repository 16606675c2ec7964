/**
 * Lambda glue: thin handlers = middy + Powertools logger + one call into the plain runtime
 * functions. Clients and config live at module scope and are validated at cold start. Settings are
 * bundled into each function by lib/ (never secret values); resources come as names in env vars.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, ScheduledEvent, SQSEvent } from 'aws-lambda';
import { ConfigError } from '../core/errors.ts';
import type { AnyFlow, RuntimeEnv, WebhookReceiver } from '../core/flow.ts';
import type { Log } from '../core/log.ts';
import { parseWith } from '../core/schema.ts';
import { secretsManagerSource } from '../core/secrets.ts';
import { StateStore } from '../core/state.ts';
import { fromApiGateway, handleWebhook } from './ingress.ts';
import { runPoll } from './poller.ts';
import { sqsQueue } from './queue.ts';
import { createWorker } from './worker.ts';

export interface LambdaSettings {
  vendors: Record<string, unknown>;
  runtime: {
    logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
    maxReceiveCount: number;
    maxWebhookBytes: number;
  };
  /** Worker and poller: the flow's config (validated again here, at cold start). */
  flowConfig?: unknown;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError(`env.${name}`, 'missing environment variable');
  return value;
}

/** Powertools' Logger behind our small Log interface. */
export const asLog = (logger: Logger): Log => ({
  debug: (m, extra) => (extra ? logger.debug(m, extra) : logger.debug(m)),
  info: (m, extra) => (extra ? logger.info(m, extra) : logger.info(m)),
  warn: (m, extra) => (extra ? logger.warn(m, extra) : logger.warn(m)),
  error: (m, extra) => (extra ? logger.error(m, extra) : logger.error(m)),
});

export function lambdaEnv(settings: LambdaSettings, logger: Logger): RuntimeEnv {
  return {
    vendors: settings.vendors,
    secrets: secretsManagerSource({ maxAgeSeconds: 300 }),
    state: new StateStore({ tableName: requireEnv('TABLE_NAME') }),
    log: asLog(logger),
    now: () => new Date(),
  };
}

const newLogger = (settings: LambdaSettings, service: string) =>
  new Logger({ serviceName: service, logLevel: settings.runtime.logLevel });

export function validateFlowConfig(flow: AnyFlow, raw: unknown): unknown {
  return parseWith(flow.config, raw, (p) => new ConfigError(`flows.${flow.id}.${p.path}`, p.message));
}

export function workerLambda(flow: AnyFlow, settings: LambdaSettings) {
  const logger = newLogger(settings, flow.id);
  const worker = createWorker({
    flow,
    config: validateFlowConfig(flow, settings.flowConfig),
    env: lambdaEnv(settings, logger),
    maxReceiveCount: settings.runtime.maxReceiveCount,
  });
  return middy((event: SQSEvent) => worker.handler(event)).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}

export function pollerLambda(flow: AnyFlow, triggerIndex: number, settings: LambdaSettings) {
  const trigger = flow.triggers[triggerIndex];
  if (trigger?.kind !== 'schedule')
    throw new ConfigError(`flows.${flow.id}.triggers[${triggerIndex}]`, 'not a schedule');
  const logger = newLogger(settings, `${flow.id}-poller`);
  const env = lambdaEnv(settings, logger);
  const config = validateFlowConfig(flow, settings.flowConfig);
  const deps = trigger.source.connect(env);
  const queueUrl = requireEnv('QUEUE_URL');
  const queue = sqsQueue();
  return middy((_event: ScheduledEvent) =>
    runPoll({ flow, trigger, config, env, queue, queueUrl, deps }),
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}

export function ingressLambda(receivers: readonly WebhookReceiver[], settings: LambdaSettings) {
  const logger = newLogger(settings, 'webhook-ingress');
  const env = lambdaEnv(settings, logger);
  const routing = JSON.parse(requireEnv('ROUTING')) as Record<string, string[]>;
  const queue = sqsQueue();
  const options = { receivers, routing, env, queue, maxBytes: settings.runtime.maxWebhookBytes };
  return middy((event: APIGatewayProxyEventV2) =>
    handleWebhook(options, event.routeKey, fromApiGateway(event)),
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}
