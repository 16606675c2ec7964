/**
 * Lambda glue shared by the three handler kinds (worker.ts, poller.ts, ingress.ts in this folder):
 * thin handlers = middy + Powertools logger + one call into the plain runtime functions. Clients
 * and config live at module scope and are validated at cold start. Settings are bundled into each
 * function by lib/ (never secret values); resources come as names in env vars. One module per kind
 * so that each bundle imports only the AWS SDK clients it uses (each costs tens of ms of init).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { type BreakerPolicy, breakerTransport } from '../../core/breaker.ts';
import { ConfigError } from '../../core/errors.ts';
import type { AnyFlow, RuntimeEnv } from '../../core/flow.ts';
import { type Log, redactingLog } from '../../core/log.ts';
import { parseWith } from '../../core/schema.ts';
import { secretsManagerSource } from '../../core/secrets.ts';
import { StateStore } from '../../core/state.ts';
import { breakerEmfLine } from '../metrics.ts';
import type { RetrySettings } from '../retry.ts';

export interface LambdaSettings {
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

/**
 * The runtime env of a worker or poller. Every vendor request goes through the circuit breaker of
 * its vendor account (core/breaker.ts), shared with every other function through the state table;
 * its transitions go to the run log of `flowId` (the function's flow) and each refusal or
 * transition is an EMF line (`CircuitOpen`, `CircuitOpenSeconds` per vendor: the alarm's metric).
 */
export function lambdaEnv(
  settings: LambdaSettings,
  logger: Logger,
  flowId?: string,
  write: (line: string) => void = (line) => process.stdout.write(line),
): RuntimeEnv {
  const state = new StateStore({
    tableName: requireEnv('TABLE_NAME'),
    runRetentionDays: settings.runtime.runLogRetentionDays,
  });
  const log = asLog(logger);
  return {
    vendors: settings.vendors,
    secrets: secretsManagerSource({ maxAgeSeconds: 300 }),
    state,
    log,
    now: () => new Date(),
    transport: breakerTransport({
      state,
      log,
      ...(settings.runtime.circuitBreaker ? { policy: settings.runtime.circuitBreaker } : {}),
      ...(flowId !== undefined ? { flowId } : {}),
      onEvent: (event) => {
        if (event.kind === 'closed') return;
        write(`${breakerEmfLine(event.vendor, event.openForMs, new Date())}\n`);
      },
    }),
  };
}

export const newLogger = (settings: LambdaSettings, service: string) =>
  new Logger({ serviceName: service, logLevel: settings.runtime.logLevel });

export function validateFlowConfig(flow: AnyFlow, raw: unknown): unknown {
  return parseWith(flow.config, raw, (p) => new ConfigError(`flows.${flow.id}.${p.path}`, p.message));
}
