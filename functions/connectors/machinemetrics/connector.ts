/** MachineMetrics: machine monitoring. Polled for downtime windows; Workflow webhooks optional. */

import { defineConnector, webhookUrl } from '../../core/connector.ts';
import { connectMachineMetrics } from './client.ts';
import { machineMetricsConfigSchema, machineMetricsSecretSchema, webhookSettings } from './config.ts';
import { discoverMachineMetrics } from './discover.ts';
import { machineMetricsDryRun } from './dry-run.ts';
import { machineMetricsEvents } from './events.ts';
import { machineMetricsExamples } from './examples.ts';
import { downtimePollSource } from './poll-source.ts';
import { type MachineMetricsSimulatorOptions, startMachineMetricsSimulator } from './simulator/index.ts';
import { machineMetricsWebhook } from './webhook.ts';
import { machineMetricsWebhookSetup } from './webhook-setup.ts';

export const connector = defineConnector({
  id: 'machinemetrics',
  name: 'MachineMetrics',
  config: machineMetricsConfigSchema,
  secret: machineMetricsSecretSchema,
  connect: connectMachineMetrics,
  webhook: machineMetricsWebhook,
  webhookSetup: machineMetricsWebhookSetup,
  discover: discoverMachineMetrics,
  pollSources: [downtimePollSource],
  events: machineMetricsEvents,
  examples: machineMetricsExamples,
  dryRun: machineMetricsDryRun,
  probe: async (env) => {
    // A one-hour downtime report: the cheapest authenticated read the API has (no machine list).
    const end = env.now();
    const machines = await connectMachineMetrics(env).reportedMachines({
      start: new Date(end.getTime() - 3_600_000),
      end,
    });
    return `downtime report of the last hour: ${machines.length} machine(s)`;
  },
  simulator: {
    sandboxSecret: { apiKey: 'sandbox-mm-api-key', webhookSecret: 'sandbox-mm-webhook-secret' },
    async start({ settings, secret, port, clock, store, ingressUrl, options }) {
      const simulator = await startMachineMetricsSimulator({
        ...(options as Partial<MachineMetricsSimulatorOptions>),
        port,
        clock,
        apiKey: secret.apiKey,
        store,
        workflowWebhook: secret.webhookSecret
          ? {
              url: webhookUrl(ingressUrl, machineMetricsWebhook.route),
              secret: secret.webhookSecret,
              scheme: webhookSettings(settings).scheme,
            }
          : undefined,
      });
      return { simulator, settings: { ...settings, baseUrl: simulator.url }, apiUrl: simulator.url };
    },
  },
});
