/** UpKeep: CMMS (work orders, parts, assets, purchase orders). Webhooks by URL token; parts polled. */
import { defineConnector, webhookUrl } from '../../core/connector.ts';
import { connectUpKeep } from './client.ts';
import { upkeepConfigSchema, upkeepSecretSchema } from './config.ts';
import { discoverUpKeep } from './discover.ts';
import { upkeepDryRun } from './dry-run.ts';
import { upkeepExamples } from './examples.ts';
import { upkeepPartsEvents, upkeepPartsPollSource } from './parts-poll-source.ts';
import { startUpKeepSimulator, type UpKeepSimulatorOptions } from './simulator/index.ts';
import { upkeepWebhook, upkeepWebhookEvents } from './webhook.ts';
import { upkeepWebhookSetup } from './webhook-setup.ts';

export const connector = defineConnector({
  id: 'upkeep',
  name: 'UpKeep',
  config: upkeepConfigSchema,
  secret: upkeepSecretSchema,
  connect: (env) => connectUpKeep(env),
  webhook: upkeepWebhook,
  webhookSetup: upkeepWebhookSetup,
  discover: discoverUpKeep,
  pollSources: [upkeepPartsPollSource],
  events: { ...upkeepWebhookEvents, ...upkeepPartsEvents },
  examples: upkeepExamples,
  dryRun: upkeepDryRun,
  probe: async (env) => {
    const page = await connectUpKeep(env).listParts({ limit: 1 });
    return `listed parts (limit 1): ${page.items.length} returned`;
  },
  simulator: {
    sandboxSecret: {
      email: 'integration@plant.example',
      password: 'sandbox-upkeep-password',
      webhookToken: 'sandbox-upkeep-webhook-token-0123456789abcdef',
    },
    async start({ settings, secret, port, clock, store, ingressUrl, options }) {
      const simulator = await startUpKeepSimulator({
        ...(options as Partial<UpKeepSimulatorOptions>),
        port,
        clock,
        email: secret.email,
        password: secret.password,
        store,
        webhook: secret.webhookToken
          ? { url: webhookUrl(ingressUrl, upkeepWebhook.route, { token: secret.webhookToken }) }
          : undefined,
      });
      const apiUrl = `${simulator.url}/api/v2`;
      return { simulator, settings: { ...settings, baseUrl: apiUrl }, apiUrl };
    },
  },
});
