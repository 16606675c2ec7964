/**
 * `millwright discover upkeep`: the asset ids the MachineMetrics downtime flow maps machines to, and
 * the part ids of the stock flows, every page of `GET /assets` and `GET /parts`.
 */
import type { DiscoveredList } from '../../core/connector.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { RecordProblem } from '../../core/records.ts';
import { connectUpKeep } from './client.ts';

const text = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? '' : String(value);

/** A note naming the records that did not parse (they are not in the list). */
const skippedNote = (what: string, skipped: readonly RecordProblem[]): string | undefined =>
  skipped.length === 0
    ? undefined
    : `${skipped.length} ${what} could not be read and are not listed: ${skipped
        .slice(0, 5)
        .map((s) => `${s.record} (${s.field}: ${s.message})`)
        .join('; ')}`;

export async function discoverUpKeep(env: RuntimeEnv): Promise<DiscoveredList[]> {
  const client = connectUpKeep(env);
  // Discovery reads everything there is: a large account pages far, but never stops half-way.
  const options = { pageSize: 100, maxPages: 1000 };
  const assets = await client.listAllAssets({}, options);
  const parts = await client.listAllParts({}, options);
  const assetNote = skippedNote('assets', assets.skipped);
  const partNote = skippedNote('parts', parts.skipped);
  return [
    {
      kind: 'assets',
      columns: ['id', 'name', 'serial', 'category', 'location'],
      rows: assets.items.map((a) => ({
        id: a.id,
        name: a.name,
        serial: text(a.serial),
        category: text(a.category),
        location: text(a.location),
      })),
      configPath: 'flows.machinemetrics-downtime-to-upkeep-work-order.machines.<machine>.assetId',
      ...(assetNote ? { note: assetNote } : {}),
    },
    {
      kind: 'parts',
      columns: ['id', 'name', 'partNumber', 'quantity', 'minimumQuantity', 'category'],
      rows: parts.items.map((p) => ({
        id: p.id,
        name: p.name,
        partNumber: text(p.partNumber),
        quantity: text(p.quantity),
        minimumQuantity: text(p.minimumQuantity),
        category: text(p.category),
      })),
      configPath:
        'flows.upkeep-part-low-to-mobility-work-stock.parts (keys), flows.mobility-work-stock-alert-to-upkeep.parts (values)',
      ...(partNote ? { note: partNote } : {}),
    },
  ];
}
