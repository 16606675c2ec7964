/** Equipment: looked up by native id or item code, and renamed through the bulk attributes endpoint. */
import type { Route } from '../../../../sandbox/simulators/server.ts';
import { equipmentAttributesItem } from './bulk-items.ts';
import type { MwSimEquipment } from './types.ts';
import type { EquipmentIdentifier } from './validation.ts';
import type { MobilityWorkWorld } from './world.ts';
import { bulkRoute, reject } from './writes.ts';

export function resolveEquipment(
  world: MobilityWorkWorld,
  id: EquipmentIdentifier,
): MwSimEquipment | undefined {
  return id.type === 'native'
    ? world.equipment.find((e) => e.id === id.value)
    : world.equipment.find((e) => e.itemCode !== null && e.itemCode === id.value);
}

export function equipmentRoutes(world: MobilityWorkWorld): Route[] {
  return [
    bulkRoute(
      world,
      'POST',
      '/partners/v1/equipment/attributes',
      equipmentAttributesItem,
      (items, writeId, endpoint) => {
        for (const [index, item] of items.entries()) {
          const found = resolveEquipment(world, item.id);
          if (!found) {
            reject(world, writeId, endpoint, index, item.id, 'unknown equipment');
            continue;
          }
          if (item.name !== undefined) found.name = item.name;
          if (item.itemCode !== undefined) found.itemCode = item.itemCode;
        }
      },
      true,
    ),
  ];
}
