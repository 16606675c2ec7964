/** The doc-like seed of entity 1 (at start and after reset, unless the options turn it off). */
import { addParts } from './parts.ts';
import type { SimPartInput } from './records.ts';
import { type ClickMaintWorld, nowStamp } from './state.ts';

/** Doc-like seed data of entity 1 (reference §3.5 example values for the Air Filter). */
function seedParts(): (SimPartInput & { id: number })[] {
  return [
    {
      id: 101,
      name: 'Air Filter',
      description: 'Fiberglass panel filter',
      number: 'FL_A',
      area: 'Filters bin',
      on_hand_qty: 6,
      min_qty: 5,
      desired_qty: 8,
      reserved: 1,
      unit_cost: 26.15,
    },
    {
      id: 102,
      name: 'V-Belt B52',
      number: 'B52',
      on_hand_qty: 2,
      min_qty: 3,
      desired_qty: 6,
      unit_cost: 18.4,
    },
    {
      id: 103,
      name: 'Grease cartridge',
      number: 'GR-400',
      on_hand_qty: 40,
      min_qty: 10,
      desired_qty: 60,
      unit_cost: 7.25,
    },
    { id: 104, name: 'Shop towels', is_non_stock: true, unit_cost: 12 },
  ];
}

export function seedWorld(world: ClickMaintWorld): void {
  if (!world.seed) return;
  if (world.entities.some((e) => e.id === 1)) {
    addParts(world, 1, seedParts());
    const stamp = nowStamp(world);
    world.assets.push(
      {
        id: 45,
        entityId: 1,
        name: 'Mill 01',
        asset_code: 'AST-045',
        status: 'online',
        created_at: stamp,
        updated_at: stamp,
      },
      {
        id: 46,
        entityId: 1,
        name: 'Lathe 02',
        asset_code: 'AST-046',
        status: 'online',
        created_at: stamp,
        updated_at: stamp,
      },
    );
  }
}
