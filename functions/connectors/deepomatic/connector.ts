/** Deepomatic: AI photo validation of field work. Work orders created and polled for progress. */

import { defineConnector } from '../../core/connector.ts';
import { connectDeepomatic } from './client.ts';
import { deepomaticConfigSchema, deepomaticSecretSchema } from './config.ts';
import { deepomaticDryRun } from './dry-run.ts';
import { deepomaticExamples } from './examples.ts';
import { deepomaticEvents, deepomaticOpenWorkOrdersPollSource } from './poll-source.ts';
import { type DeepomaticSimulatorOptions, startDeepomaticSimulator } from './simulator/index.ts';

export const connector = defineConnector({
  id: 'deepomatic',
  name: 'Deepomatic',
  config: deepomaticConfigSchema,
  secret: deepomaticSecretSchema,
  connect: (env) => connectDeepomatic(env),
  pollSources: [deepomaticOpenWorkOrdersPollSource],
  discoverUnavailable:
    "Deepomatic's API has no list endpoint for what the config needs: vendors.deepomatic.siteId is the hostname label shown under Deployments > Credentials in Deepomatic (not the site_id UUID in responses); work-order types are configured in the Deepomatic application (use their names); user group ids come from your Deepomatic CSM",
  events: deepomaticEvents,
  examples: deepomaticExamples,
  dryRun: deepomaticDryRun,
  probe: async (env) => {
    // No list endpoint: a GET of an id that does not exist answers 404 once the token is accepted.
    const found = await connectDeepomatic(env).getWorkOrder('millwright-smoke-probe');
    return `read a work order by id (${found ? 'found' : 'not found, as expected'})`;
  },
  simulator: {
    sandboxSecret: { apiKey: 'sandbox-deepomatic-api-key' },
    async start({ settings, secret, port, clock, store, options }) {
      const simulator = await startDeepomaticSimulator({
        ...(options as Partial<DeepomaticSimulatorOptions>),
        port,
        clock,
        apiKey: secret.apiKey,
        store,
      });
      const apiUrl = `${simulator.url}/v0.2`;
      return { simulator, settings: { ...settings, baseUrl: apiUrl }, apiUrl };
    },
  },
});
