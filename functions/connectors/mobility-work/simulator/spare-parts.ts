/**
 * Spare parts, their stock and their locations: the bulk (202) endpoints that create parts, change
 * their attributes, set their stock, create stock locations and relocate parts.
 */
import type { Route } from '../../../../sandbox/simulators/server.ts';
import {
  attributesItem,
  createItem,
  locationItem,
  relocateItem,
  type StockItem,
  stockItem,
} from './bulk-items.ts';
import { MW_SIM_API_USER } from './seed.ts';
import { setStock } from './stock.ts';
import type { MobilityWorkWorld } from './world.ts';
import { bulkRoute, reject } from './writes.ts';

const partsByRef = (world: MobilityWorkWorld, ref: string) =>
  world.spareParts.filter((part) => part.externalReference === ref);

export function sparePartRoutes(world: MobilityWorkWorld): Route[] {
  const applyStockItems = (items: StockItem[], writeId: number, endpoint: string) => {
    items.forEach((item, index) => {
      const parts = partsByRef(world, item.ref);
      if (parts.length === 0) reject(world, writeId, endpoint, index, item.ref, 'unknown spare part');
      for (const part of parts) {
        setStock(world, part, item.quantity, MW_SIM_API_USER, world.config.emitOnApiWrites);
      }
    });
  };
  return [
    bulkRoute(world, 'POST', '/partners/v1/spare-parts', createItem, (items) => {
      for (const item of items) {
        world.partCounter++;
        world.spareParts.push({ id: `sp-${world.partCounter}`, ...item, stock: 0, replenishmentLot: null });
      }
    }),
    bulkRoute(
      world,
      'POST',
      '/partners/v1/spare-parts/attributes',
      attributesItem,
      (items, writeId, endpoint) => {
        items.forEach((item, index) => {
          const parts = partsByRef(world, item.ref);
          if (parts.length === 0) reject(world, writeId, endpoint, index, item.ref, 'unknown spare part');
          for (const part of parts) Object.assign(part, structuredClone(item.changes));
        });
      },
    ),
    bulkRoute(
      world,
      'POST',
      '/partners/v1/spare-parts/movements/bulk',
      (item, index, p) => stockItem(item, index, p, 'movement'),
      applyStockItems,
    ),
    bulkRoute(
      world,
      'PUT',
      '/partners/v1/spare-parts/stock',
      (item, index, p) => stockItem(item, index, p, 'flat'),
      applyStockItems,
      true,
    ),
  ];
}

export function locationRoutes(world: MobilityWorkWorld): Route[] {
  return [
    bulkRoute(
      world,
      'POST',
      '/partners/v1/locations/create/bulk',
      locationItem,
      (items) => {
        for (const item of items) if (!world.locations.includes(item.name)) world.locations.push(item.name);
      },
      true,
    ),
    bulkRoute(
      world,
      'POST',
      '/partners/v1/spare-parts/relocate/bulk',
      relocateItem,
      (items, writeId, endpoint) => {
        for (const [index, item] of items.entries()) {
          const parts = partsByRef(world, item.ref).filter(
            (part) => item.source === null || part.location === item.source,
          );
          if (parts.length === 0) reject(world, writeId, endpoint, index, item.ref, 'unknown spare part');
          else if (!world.locations.includes(item.target))
            reject(world, writeId, endpoint, index, item.ref, 'unknown location');
          else for (const part of parts) part.location = item.target;
        }
      },
      true,
    ),
  ];
}
