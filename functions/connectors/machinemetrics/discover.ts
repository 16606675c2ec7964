/**
 * `millwright discover machinemetrics`: the machine UUIDs the downtime flows' `machines` maps are
 * keyed by. The REST API has no machine list (reference §3.10): the machines come from a downtime
 * report over the last `DISCOVER_DAYS` days grouped by machine (its `entities.machine`).
 */
import type { DiscoveredList } from '../../core/connector.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import { connectMachineMetrics } from './client.ts';

/** The report window: long enough to catch machines that stood still for a while. */
export const DISCOVER_DAYS = 30;

export async function discoverMachineMetrics(env: RuntimeEnv): Promise<DiscoveredList[]> {
  const end = env.now();
  const start = new Date(end.getTime() - DISCOVER_DAYS * 86_400_000);
  const machines = await connectMachineMetrics(env).reportedMachines({ start, end });
  return [
    {
      kind: 'machines',
      columns: ['id', 'name'],
      rows: machines.map((m) => ({ id: m.id, name: m.name })),
      configPath: 'flows.machinemetrics-downtime-to-*.machines (keys)',
      note: `from a downtime report of the last ${DISCOVER_DAYS} days (the API has no machine list): a machine with no data in that window may be missing`,
    },
  ];
}
