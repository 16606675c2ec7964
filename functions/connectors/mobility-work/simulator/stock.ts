/**
 * Stock movements and the webhooks they emit (see "Stock webhook triggers" in index.ts): a recount
 * (absolute set), a consumption and a restock, then the threshold events of any decrease.
 */

import type { MwSimSparePart, MwSimUser } from './types.ts';
import { emit, partRef, userRef } from './webhooks.ts';
import { type MobilityWorkWorld, now } from './world.ts';

function afterStockChange(
  world: MobilityWorkWorld,
  part: MwSimSparePart,
  previous: number,
  movement: { type: 'consumption' | 'inventory' | 'replenishment'; quantity: number },
): void {
  const threshold = {
    _date: now(world),
    _metadata: null,
    stock: { quantity: part.stock, minimumStock: part.minimumStock },
    sparePart: partRef(part),
    movement,
  };
  const min = part.minimumStock;
  if (min !== null && previous > min && part.stock <= min) {
    emit(world, 'SparePartStockWasUnderMinThreshold', part.externalReference, threshold);
  }
  if (previous > 0 && part.stock === 0) {
    emit(world, 'SparePartWasOutOfStock', part.externalReference, { ...threshold, _date: now(world) });
  }
}

/** Absolute set (recount). `emitEvents` false = an API write with emitOnApiWrites off. */
export function setStock(
  world: MobilityWorkWorld,
  part: MwSimSparePart,
  quantity: number,
  initiator: MwSimUser,
  emitEvents: boolean,
): void {
  const previous = part.stock;
  part.stock = quantity;
  if (!emitEvents) return;
  const at = now(world);
  emit(world, 'SparePartWasManuallyRecounted', part.externalReference, {
    _type: 'SparePartWasManuallyRecountedWebhook',
    _sentAt: at,
    emittedAt: at,
    _metadata: '',
    sparePart: partRef(part),
    location: { name: part.location },
    initiator: userRef(initiator),
    recounted: { quantity, previousStock: previous },
  });
  afterStockChange(world, part, previous, { type: 'inventory', quantity });
}

export function consumeStock(
  world: MobilityWorkWorld,
  part: MwSimSparePart,
  quantity: number,
  initiator: MwSimUser,
  taskId: string | null,
): void {
  const previous = part.stock;
  part.stock = previous - quantity;
  const at = now(world);
  emit(world, 'SparePartWasConsumed', part.externalReference, {
    _type: 'SparePartWasConsumedWebhook',
    _sentAt: at,
    emittedAt: at,
    _metadata: '',
    task: taskId === null ? null : { id: taskId },
    sparePart: partRef(part),
    location: { name: part.location },
    initiator: userRef(initiator),
    consumed: { _type: 'SparePartConsumption', quantity, previousStock: previous },
  });
  afterStockChange(world, part, previous, { type: 'consumption', quantity });
}

export function restockStock(
  world: MobilityWorkWorld,
  part: MwSimSparePart,
  quantity: number,
  initiator: MwSimUser,
): void {
  const previous = part.stock;
  part.stock = previous + quantity;
  const at = now(world);
  emit(world, 'SparePartWasRestocked', part.externalReference, {
    _type: 'SparePartWasRestockedWebhook',
    _sentAt: at,
    emittedAt: at,
    _metadata: '',
    task: null,
    sparePart: partRef(part),
    location: { name: part.location },
    initiator: userRef(initiator),
    restocked: { quantity, previousStock: previous },
  });
  // A restock only raises the stock: no threshold event can follow.
}
