/** Entities: `GET /entities`, the one account-scoped route (no `X-Entity-Id`). */
import type { Route } from '../../../../sandbox/simulators/server.ts';
import { type ListSpec, listAnswer } from './lists.ts';
import { accountApi } from './pipeline.ts';
import type { SimEntity } from './records.ts';
import { type Row, SimulatorInputError } from './responses.ts';
import type { ClickMaintWorld } from './state.ts';

// The doc's entity list example sorts by `created_at desc` (api-doc.txt:525) and rows carry
// created_at / updated_at (api-doc.txt:541-542), so both are sortable and filterable.
const ENTITY_SPEC: ListSpec = {
  fields: ['id', 'name', 'created_at', 'updated_at'],
  defaultSort: 'name asc',
  searchFields: ['name'],
};

export const entityOf = (world: ClickMaintWorld, id: number): SimEntity => {
  const entity = world.entities.find((e) => e.id === id);
  if (!entity) throw new SimulatorInputError(404, `unknown entity ${id}`);
  return entity;
};

const renderEntity = (e: SimEntity): Row => ({
  id: e.id,
  name: e.name,
  description: null,
  address: null,
  datetime_format: 'MM/DD/YYYY - 11:59 PM',
  timezone: 'Etc/UTC: +00:00',
  currency: 'USD',
  currency_name: 'United States Dollar',
  currency_symbol: '$',
  created_at: '2025-07-17T19:19:20Z',
  updated_at: '2025-07-17T19:19:20Z',
  created_by_id: 1,
  updated_by_id: 1,
});

export function entityRoutes(world: ClickMaintWorld): Route[] {
  return [
    accountApi(world, 'GET', '/entities', (req) =>
      listAnswer(world, req, world.entities.map(renderEntity), ENTITY_SPEC, undefined),
    ),
  ];
}
