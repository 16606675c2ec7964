/** Click Maint: CMMS (work orders, parts, assets). Polled only; rate limited per account. */

import { defineConnector } from '../../core/connector.ts';
import { connectClickMaint } from './client.ts';
import { clickMaintConfigSchema, clickMaintSecretSchema } from './config.ts';
import { discoverClickMaint } from './discover.ts';
import { clickMaintDryRun } from './dry-run.ts';
import { clickMaintExamples } from './examples.ts';
import { clickMaintPartsEvents, clickMaintPartsPollSource } from './parts-poll-source.ts';
import { type ClickMaintSimulatorOptions, startClickMaintSimulator } from './simulator/index.ts';

/** Sandbox options: the demo compresses the rate window (the simulator and the shared limiter agree). */
export interface ClickMaintSandboxOptions extends ClickMaintSimulatorOptions {
  /** The rate window in real seconds (default: the configured `rateLimit.windowSeconds`). */
  windowSeconds: number;
}

export const connector = defineConnector({
  id: 'click-maint',
  name: 'Click Maint',
  config: clickMaintConfigSchema,
  secret: clickMaintSecretSchema,
  connect: (env) => connectClickMaint(env),
  pollSources: [clickMaintPartsPollSource],
  discover: discoverClickMaint,
  events: clickMaintPartsEvents,
  examples: clickMaintExamples,
  dryRun: clickMaintDryRun,
  probe: async (env) => {
    const entities = await connectClickMaint(env).listEntities();
    return `listed entities: ${entities.length}`;
  },
  simulator: {
    sandboxSecret: { apiKey: 'sandbox-click-maint-api-key' },
    async start({ settings, secret, port, clock, store, options }) {
      const { windowSeconds = settings.rateLimit.windowSeconds, ...rest } =
        options as Partial<ClickMaintSandboxOptions>;
      const simulator = await startClickMaintSimulator({
        ...rest,
        port,
        clock,
        apiKey: secret.apiKey,
        rateLimit: { limit: settings.rateLimit.limit, windowSeconds },
        store,
      });
      const apiUrl = `${simulator.url}/api/v1`;
      return {
        simulator,
        settings: { ...settings, baseUrl: apiUrl, rateLimit: { ...settings.rateLimit, windowSeconds } },
        apiUrl,
      };
    },
  },
});
