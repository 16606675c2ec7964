/** Deepomatic: AI photo validation of field work. Work orders created and polled for progress. */

import { defineConnector } from '../../core/connector.ts';
import { connectDeepomatic } from './client.ts';
import { deepomaticConfigSchema, deepomaticSecretSchema } from './config.ts';
import { deepomaticDryRun } from './dry-run.ts';
import { deepomaticExamples } from './examples.ts';
import { deepomaticEvents, deepomaticOpenWorkOrdersPollSource } from './poll-source.ts';
import { type DeepomaticSimulatorOptions, startDeepomaticSimulator } from './simulator/index.ts';

/**
 * The id the smoke probe reads: UUID-shaped like every id in api-doc.txt (`"id": "1eb136be-..."`),
 * so a route that only takes UUIDs still matches it, and the nil UUID, which no work order has.
 */
export const DEEPOMATIC_PROBE_WORK_ORDER_ID = '00000000-0000-0000-0000-000000000000';

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
    // No list endpoint: a GET of an id that does not exist answers the documented 404
    // `{"detail": "WorkOrder not found!"}` once the token is accepted. getWorkOrder accepts only
    // that or 2xx; any other 404 (wrong baseUrl, unchecked key) raises, so the probe fails.
    const found = await connectDeepomatic(env).getWorkOrder(DEEPOMATIC_PROBE_WORK_ORDER_ID);
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
