/** Assets: the list and the single GET. */
import type { Route } from '../../../../sandbox/simulators/server.ts';
import { entityListRoute, type ListSpec } from './lists.ts';
import { api } from './pipeline.ts';
import type { SimAsset } from './records.ts';
import { one, type Row, SimulatorInputError } from './responses.ts';
import type { ClickMaintWorld } from './state.ts';

const ASSET_SPEC: ListSpec = {
  fields: ['id', 'name', 'asset_code', 'status', 'created_at', 'updated_at'],
  defaultSort: 'name asc',
  searchFields: ['name', 'asset_code'],
};

const renderAsset = (a: SimAsset): Row => ({
  id: a.id,
  name: a.name,
  asset_code: a.asset_code,
  status: a.status,
  location: null,
  parent: null,
  created_at: a.created_at,
  updated_at: a.updated_at,
});

export function assetRoutes(world: ClickMaintWorld): Route[] {
  return [
    entityListRoute(world, '/assets', ASSET_SPEC, () => world.assets, renderAsset),
    api(world, 'GET', '/assets/:id', (req, entity) => {
      const asset = world.assets.find((a) => String(a.id) === req.params.id && a.entityId === entity.id);
      if (!asset) throw new SimulatorInputError(404, 'Asset not found');
      return one(entity, renderAsset(asset));
    }),
  ];
}
