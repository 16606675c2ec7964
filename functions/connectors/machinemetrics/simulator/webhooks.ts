/**
 * Workflow webhooks (as webhook.ts assumes them): each delivery is tried twice, signed with the
 * target's scheme, and logged in `deliveries`.
 */
import { appendBounded, REQUEST_LOG_LIMIT } from '../../../../sandbox/simulators/server.ts';
import type { Log } from '../../../core/log.ts';
import { machineMetricsWebhookConfigSchema } from '../config.ts';
import { type MachineMetricsWebhookPayload, signMachineMetricsWebhook } from '../webhook.ts';
import type { MachineMetricsSimState } from './state.ts';

export interface WorkflowWebhookTarget {
  url: string;
  secret: string;
  scheme: 'shared-secret-header' | 'hmac-sha256';
  /** Header names; default to the receiver's defaults. */
  secretHeader?: string;
  signatureHeader?: string;
  timestampHeader?: string;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  attempts: number;
  status?: number;
  error?: string;
}

const consoleLog: Log = {
  debug() {},
  info() {},
  warn: (message, extra) => console.warn(`[machinemetrics-sim] ${message}`, extra ?? ''),
  error: (message, extra) => console.error(`[machinemetrics-sim] ${message}`, extra ?? ''),
};

export interface WorkflowWebhooks {
  /** The newest `logLimit` deliveries (default REQUEST_LOG_LIMIT), oldest first. */
  deliveries: WebhookDelivery[];
  /** Send `payload` with the next id (`mmsim-<n>`), in the background; nothing without a target. */
  notify(payload: Omit<MachineMetricsWebhookPayload, 'id'>): void;
  /** Wait for every webhook delivery in flight (and its retry). */
  flush(): Promise<void>;
}

export function workflowWebhooks(
  state: MachineMetricsSimState,
  options: { target?: WorkflowWebhookTarget; retryDelayMs?: number; log?: Log; logLimit?: number },
): WorkflowWebhooks {
  const log = options.log ?? consoleLog;
  const deliveries: WebhookDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  const defaults = machineMetricsWebhookConfigSchema.parse({});

  const send = async (target: WorkflowWebhookTarget, payload: MachineMetricsWebhookPayload) => {
    const body = JSON.stringify(payload);
    const delivery: WebhookDelivery = { id: payload.id ?? '', event: payload.event, attempts: 0 };
    // The newest only, kept in place (the simulator hands out this very array).
    appendBounded(deliveries, delivery, options.logLimit ?? REQUEST_LOG_LIMIT);
    for (let attempt = 1; attempt <= 2; attempt++) {
      delivery.attempts = attempt;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (target.scheme === 'shared-secret-header') {
        headers[target.secretHeader ?? defaults.secretHeader] = target.secret;
      } else {
        const timestamp = String(Math.floor(state.clock.now().getTime() / 1000));
        headers[target.timestampHeader ?? defaults.timestampHeader] = timestamp;
        headers[target.signatureHeader ?? defaults.signatureHeader] = signMachineMetricsWebhook(
          target.secret,
          timestamp,
          body,
        );
      }
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(5000),
        });
        delivery.status = response.status;
        await response.text().catch(() => '');
        if (response.ok) {
          delivery.error = undefined;
          return;
        }
        delivery.error = `HTTP ${response.status}`;
      } catch (error) {
        delivery.error = (error as Error).message;
      }
      log.warn('workflow webhook delivery failed', { id: delivery.id, attempt, error: delivery.error });
      if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 500));
    }
  };

  return {
    deliveries,
    notify: (payload) => {
      const target = options.target;
      if (!target) return;
      state.webhookSequence += 1;
      const promise = send(target, { id: `mmsim-${state.webhookSequence}`, ...payload }).catch((error) =>
        log.error('workflow webhook delivery crashed', { error: (error as Error).message }),
      );
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
    },
    flush: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
