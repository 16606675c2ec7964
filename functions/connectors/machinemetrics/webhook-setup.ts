/**
 * What `millwright webhooks` tells an operator about MachineMetrics Workflow webhooks. MachineMetrics
 * has no API to register them (reference §4.1, EXT-10): a Workflow is set up in the app with a URL
 * and a "Secret", and the delivery format is the named assumption of webhook.ts.
 */
import type { WebhookSetup } from '../../core/connector.ts';
import type { MachineMetricsConfig, MachineMetricsSecret } from './config.ts';
import { webhookSettings } from './config.ts';
import { DOWNTIME_CATEGORIZED, DOWNTIME_ENDED, DOWNTIME_STARTED } from './events.ts';
import { MM_WEBHOOK_EVENTS } from './webhook.ts';

/** The delivery `event` each flow event type comes from (webhook.ts, A2). */
const DELIVERY_EVENT: Record<string, string> = {
  [DOWNTIME_STARTED]: MM_WEBHOOK_EVENTS.machineStatusChanged,
  [DOWNTIME_ENDED]: MM_WEBHOOK_EVENTS.machineStatusChanged,
  [DOWNTIME_CATEGORIZED]: MM_WEBHOOK_EVENTS.downtimeCategorized,
};

/** The Workflow trigger (as the app names it, EXT-10) that sends each delivery event. */
const TRIGGER: Record<string, string> = {
  [MM_WEBHOOK_EVENTS.machineStatusChanged]: 'Machine status changes',
  [MM_WEBHOOK_EVENTS.downtimeCategorized]: 'Downtime categorized as (any reason)',
};

export const machineMetricsWebhookSetup: WebhookSetup<MachineMetricsConfig, MachineMetricsSecret> = {
  vendorEvents: (types) => [...new Set(types.flatMap((t) => DELIVERY_EVENT[t] ?? []))],

  auth(config) {
    const webhook = webhookSettings(config);
    const secret = `the webhookSecret of secret ${config.secretName}`;
    return webhook.scheme === 'shared-secret-header'
      ? [`Workflow "Secret" = ${secret}, sent verbatim in header ${webhook.secretHeader}`]
      : [
          `Workflow "Secret" = ${secret}; header ${webhook.signatureHeader} = hex HMAC-SHA256 of "<timestamp>.<raw body>"`,
          `header ${webhook.timestampHeader} = unix seconds, within ${webhook.toleranceSeconds} s of receipt`,
        ];
  },

  steps({ url, events, settings }) {
    return [
      'MachineMetrics has no API to register webhooks: set them up in the app (Workflows).',
      ...events.map(
        (event) =>
          `Create a Workflow with trigger "${TRIGGER[event] ?? event}" and a webhook action (deliveries carry event "${event}").`,
      ),
      `Webhook URL: ${url}`,
      `Secret: the webhookSecret of secret ${settings.secretName}.`,
      'The delivery format is not documented: check the first real delivery against the assumptions in functions/connectors/machinemetrics/webhook.ts; the poller keeps reconciling meanwhile.',
    ];
  },
};
