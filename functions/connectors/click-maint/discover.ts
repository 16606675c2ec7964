/**
 * `millwright discover click-maint`: the entities the key can see, and in each of them the assets
 * (the downtime flow maps machines to `{entityId, assetId}`) and the parts (the stock flow's `parts`
 * are keyed `<entityId>/<partId>`), every page of each list. Every call goes through the account's
 * shared rate limiter, like the flows' calls.
 */
import type { DiscoveredList } from '../../core/connector.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import { connectClickMaint } from './client.ts';

const text = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? '' : String(value);

export async function discoverClickMaint(env: RuntimeEnv): Promise<DiscoveredList[]> {
  const client = connectClickMaint(env);
  const entities = await client.listEntities();
  const configured = client.config.entities;
  const assets: Record<string, string>[] = [];
  const parts: Record<string, string>[] = [];
  for (const entity of entities) {
    for (const a of await client.listAll((q) => client.listAssets(entity.id, q))) {
      assets.push({
        entity: String(entity.id),
        id: String(a.id),
        name: a.name,
        code: text(a.asset_code),
        status: text(a.status),
      });
    }
    for (const p of await client.listAll((q) => client.listParts(entity.id, q))) {
      parts.push({
        key: `${entity.id}/${p.id}`,
        entity: String(entity.id),
        id: String(p.id),
        name: p.name,
        number: text(p.number),
        onHand: p.isNonStock ? '' : String(p.onHandQty),
        min: text(p.minQty),
        stock: p.isNonStock ? 'no' : 'yes',
      });
    }
  }
  return [
    {
      kind: 'entities',
      columns: ['id', 'name', 'timezone'],
      rows: entities.map((e) => ({ id: String(e.id), name: e.name, timezone: text(e.timezone) })),
      configPath: 'vendors.click-maint.entities',
      note: configured
        ? `the config pins entities ${configured.join(', ')}`
        : 'the config pins no entities: the flows work in every entity listed here',
    },
    {
      kind: 'assets',
      columns: ['entity', 'id', 'name', 'code', 'status'],
      rows: assets,
      configPath:
        'flows.machinemetrics-downtime-to-click-maint-work-order.machines.<machine> (entityId, assetId)',
    },
    {
      kind: 'parts',
      columns: ['key', 'name', 'number', 'onHand', 'min', 'stock'],
      rows: parts,
      configPath: 'flows.click-maint-part-low-to-mobility-work-stock.parts (keys)',
      note: 'non-stock parts (stock: no) are never synced',
    },
  ];
}
