/**
 * MachineMetrics in a dry run: Millwright only reads MachineMetrics, and its report queries are POSTs
 * (`POST /reports/downtime`), so they are sent as usual. Any other write is recorded, answered 200.
 */
import type { ConnectorDryRun } from '../../core/connector.ts';

export const machineMetricsDryRun: ConnectorDryRun = {
  passThrough: ({ method, url }) => method === 'POST' && /\/reports\/[\w-]+\/?$/.test(url.pathname),
};
