/** Assets: list, get, and the bulk downtime endpoint that moves their availability. */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { recordDowntime } from './downtime.ts';
import { ApiError, bad } from './errors.ts';
import { fieldSpec, listRoute } from './listing.ts';
import { api } from './routing.ts';
import type { UpKeepWorld } from './state.ts';
import type { SimAsset } from './types.ts';
import { checkString } from './validation.ts';

const ASSET_FILTERS = new Set([
  'name',
  'serial',
  'serialNumber',
  'location',
  'status',
  'category',
  'assignedToUser',
  'createdByUser',
  'downtimeStatus',
]);
const ASSET_DATE_FIELDS = ['createdAt', 'updatedAt'];

const assetSpec = fieldSpec<SimAsset>(ASSET_FILTERS, ASSET_DATE_FIELDS, {
  extraKey: (key) => /^customFields\[\d+\]\[(type|id|value|minValue|maxValue)\]$/.test(key),
});

/** An `asset` field of a work order or request: null, or the id of an existing asset. */
export function checkAsset(world: UpKeepWorld, value: unknown): string | null {
  const id = checkString('asset', value, true);
  if (id !== null && !world.assets.some((a) => a.id === id)) throw bad(`asset ${id} not found`);
  return id;
}

/** An asset's `downtimeStatus` set (a string) or removed (`null`), as a user would in the app. */
export function setDowntimeStatus(world: UpKeepWorld, id: string, status: unknown): SimAsset {
  const asset = world.assets.find((a) => a.id === id);
  if (!asset) throw new ApiError(404, 'Asset not found');
  if (status === null) delete asset.downtimeStatus;
  else if (typeof status === 'string' && status !== '') asset.downtimeStatus = status;
  else throw bad('downtimeStatus must be a String or null');
  return structuredClone(asset);
}

export function assetRoutes(world: UpKeepWorld): Route[] {
  return [
    api(world, 'POST', '/assets/downtime', (req) => recordDowntime(world, req.json)),

    listRoute(
      world,
      '/assets',
      assetSpec,
      () => world.assets,
      (asset) => structuredClone(asset),
    ),

    api(world, 'GET', '/assets/:id', (req) => {
      const asset = world.assets.find((a) => a.id === req.params.id);
      if (!asset) throw new ApiError(404, 'Asset not found');
      return json(200, { success: true, result: structuredClone(asset) });
    }),
  ];
}
