/**
 * `millwright discover mobility-work`: the network the API key belongs to (its UUID is
 * `vendors.mobility-work.networkId`). The partner API has no GET for equipment or spare parts
 * (reference §7 #26), so those cannot be listed: the note says where to find their ids.
 */
import type { DiscoveredList } from '../../core/connector.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import { connectMobilityWork } from './client.ts';

export const MW_UNLISTABLE =
  'the Mobility Work partner API cannot list equipment or spare parts (no GET for them): an equipment is named by its native id (in its page URL in the app) or its item code, a spare part by its article code (external reference), both set in the app';

export async function discoverMobilityWork(env: RuntimeEnv): Promise<DiscoveredList[]> {
  const network = await connectMobilityWork(env).getNetworkSettings();
  return [
    {
      kind: 'network',
      columns: ['networkId', 'legacyNetworkId', 'name', 'timezone', 'currency'],
      rows: [
        {
          networkId: network.networkId,
          legacyNetworkId: network.legacyNetworkId == null ? '' : String(network.legacyNetworkId),
          name: network.name,
          timezone: network.timezone,
          currency: network.currency,
        },
      ],
      configPath: 'vendors.mobility-work.networkId',
      note: MW_UNLISTABLE,
    },
  ];
}
