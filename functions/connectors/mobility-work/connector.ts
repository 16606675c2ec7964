/** Mobility Work: CMMS (tasks, spare parts, stock). Signed webhooks; API key. */
import { defineConnector, webhookUrl } from '../../core/connector.ts';
import { connectMobilityWork } from './client.ts';
import { mobilityWorkConfigSchema, mobilityWorkSecretSchema } from './config.ts';
import { discoverMobilityWork } from './discover.ts';
import { mobilityWorkDryRun } from './dry-run.ts';
import { mobilityWorkEvents } from './events.ts';
import { mobilityWorkExamples } from './examples.ts';
import { type MobilityWorkSimulatorOptions, startMobilityWorkSimulator } from './simulator/index.ts';
import { mobilityWorkWebhook } from './webhook.ts';
import { mobilityWorkWebhookSetup } from './webhook-setup.ts';

export const connector = defineConnector({
  id: 'mobility-work',
  name: 'Mobility Work',
  config: mobilityWorkConfigSchema,
  secret: mobilityWorkSecretSchema,
  connect: (env) => connectMobilityWork(env),
  webhook: mobilityWorkWebhook,
  webhookSetup: mobilityWorkWebhookSetup,
  discover: discoverMobilityWork,
  events: mobilityWorkEvents,
  examples: mobilityWorkExamples,
  dryRun: mobilityWorkDryRun,
  probe: async (env) => {
    await connectMobilityWork(env).getNetworkSettings();
    return 'read the network settings';
  },
  simulator: {
    sandboxSecret: {
      apiKey: '913a8f7cef6ff084f1635511b9c7d07c3bab2816',
      webhookSecrets: ['sandbox-mw-webhook-secret'],
    },
    async start({ settings, secret, port, clock, store, ingressUrl, options }) {
      const webhookSecret = secret.webhookSecrets?.[0];
      const simulator = await startMobilityWorkSimulator({
        // Writes answered 202 are applied a moment later, as Mobility Work does.
        applyDelayMs: 300,
        ...(options as Partial<MobilityWorkSimulatorOptions>),
        port,
        clock,
        apiKey: secret.apiKey,
        ...(settings.networkId ? { networkId: settings.networkId } : {}),
        store,
        webhook: {
          url: webhookUrl(ingressUrl, mobilityWorkWebhook.route),
          ...(webhookSecret ? { secret: webhookSecret } : {}),
          scheme: settings.webhook.signatureScheme,
        },
      });
      return { simulator, settings: { ...settings, baseUrl: simulator.url }, apiUrl: simulator.url };
    },
  },
});
