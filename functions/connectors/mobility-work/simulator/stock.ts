/**
 * Stock movements and the webhooks they emit (see "Stock webhook triggers" in index.ts): a recount
 * (absolute set), a consumption and a restock, then the threshold events of any decrease.
 */

import type { MwSimEventName, MwSimSparePart, MwSimUser } from './types.ts';
import { emit, partRef, userRef } from './webhooks.ts';
import { type MobilityWorkWorld, now } from './world.ts';

/**
 * A stock webhook: the envelope they all share (`_type` is the event name + `Webhook`), then the
 * event's own fields, in the order MW sends them.
 */
export function emitStockEvent(
  world: MobilityWorkWorld,
  event: MwSimEventName,
  part: MwSimSparePart,
  fields: Record<string, unknown>,
): void {
  const at = now(world);
  emit(world, event, part.externalReference, {
    _type: `${event}Webhook`,
    _sentAt: at,
    emittedAt: at,
    _metadata: '',
    ...fields,
  });
}

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
  emitStockEvent(world, 'SparePartWasManuallyRecounted', part, {
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
  emitStockEvent(world, 'SparePartWasConsumed', part, {
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
  emitStockEvent(world, 'SparePartWasRestocked', part, {
    task: null,
    sparePart: partRef(part),
    location: { name: part.location },
    initiator: userRef(initiator),
    restocked: { quantity, previousStock: previous },
  });
  // A restock only raises the stock: no threshold event can follow.
}
