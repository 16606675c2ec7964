/**
 * Lambda glue shared by the three handler kinds (worker.ts, poller.ts, ingress.ts in this folder):
 * thin handlers = middy + Powertools logger + one call into the plain runtime functions. Clients
 * and config live at module scope and are validated at cold start. Settings are bundled into each
 * function by lib/ (never secret values); resources come as names in env vars. One module per kind
 * so that each bundle imports only the AWS SDK clients it uses (each costs tens of ms of init).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { BreakerPolicy } from '../../core/breaker.ts';
import { ConfigError } from '../../core/errors.ts';
import type { AnyFlow, RuntimeEnv } from '../../core/flow.ts';
import { type Log, redactingLog } from '../../core/log.ts';
import { parseWith } from '../../core/schema.ts';
import { secretsManagerSource } from '../../core/secrets.ts';
import { StateStore } from '../../core/state.ts';
import type { RetrySettings } from '../retry.ts';
import { CompactLogFormatter } from './log-format.ts';

export interface LambdaSettings {
  /** The deployment's `name`: a dimension of every metric, so two plants' alarms stay apart. */
  deployment?: string;
  vendors: Record<string, unknown>;
  runtime: {
    logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
    maxReceiveCount: number;
    maxWebhookBytes: number;
    /** Days a run-log entry is kept (absent in bundles built before it existed: 30). */
    runLogRetentionDays?: number;
    /** Worker retry delays and budgets (absent in bundles built before they existed: defaults). */
    retry?: RetrySettings;
    /** Every vendor account's circuit breaker (absent in bundles built before it existed: defaults). */
    circuitBreaker?: BreakerPolicy;
  };
  /** Worker and poller: the flow's config (validated again here, at cold start). */
  flowConfig?: unknown;
  /** Ingress: event type -> names of the subscribed flows' queues (URL = `QUEUE_URL_PREFIX` + name). */
  routing?: Record<string, string[]>;
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError(`env.${name}`, 'missing environment variable');
  return value;
}

/** Powertools' Logger behind our small Log interface. */
export const asLog = (logger: Logger): Log =>
  // Every line goes through the credential redaction (a second line of defence, see log.ts).
  redactingLog({
    debug: (m, extra) => (extra ? logger.debug(m, extra) : logger.debug(m)),
    info: (m, extra) => (extra ? logger.info(m, extra) : logger.info(m)),
    warn: (m, extra) => (extra ? logger.warn(m, extra) : logger.warn(m)),
    error: (m, extra) => (extra ? logger.error(m, extra) : logger.error(m)),
  });

/** The runtime env of a function (the ingress's as is; workers and pollers add the breaker: vendor-env.ts). */
export function lambdaEnv(settings: LambdaSettings, logger: Logger): RuntimeEnv {
  return {
    vendors: settings.vendors,
    secrets: secretsManagerSource({ maxAgeSeconds: 300 }),
    state: new StateStore({
      tableName: requireEnv('TABLE_NAME'),
      runRetentionDays: settings.runtime.runLogRetentionDays,
    }),
    log: asLog(logger),
    now: () => new Date(),
  };
}

export const newLogger = (settings: LambdaSettings, service: string) =>
  new Logger({
    serviceName: service,
    logLevel: settings.runtime.logLevel,
    logFormatter: new CompactLogFormatter(),
  });

export function validateFlowConfig(flow: AnyFlow, raw: unknown): unknown {
  return parseWith(flow.config, raw, (p) => new ConfigError(`flows.${flow.id}.${p.path}`, p.message));
}
