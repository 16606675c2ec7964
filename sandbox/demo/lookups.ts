/** Reads and writes straight on the simulators, shared by the scenes that check stock and parts. */
import { mwSimNewSparePart } from '../../functions/connectors/mobility-work/simulator/index.ts';
import { type DemoContext, simulators } from './context.ts';

/** A Mobility Work spare part by external reference. */
export const mobilityWorkPart = (ctx: DemoContext, ref: string) =>
  simulators(ctx)
    .mobilityWork.spareParts()
    .find((p) => p.externalReference === ref);

/** How many requests the Mobility Work simulator has had to a path. */
export const mobilityWorkCalls = (ctx: DemoContext, path: string) =>
  simulators(ctx).mobilityWork.requests.filter((r) => r.endsWith(path)).length;

/** UpKeep purchase orders with a line for the part. */
export const purchaseOrdersFor = (ctx: DemoContext, partId: string) =>
  simulators(ctx)
    .upkeep.purchaseOrders()
    .filter((po) => po.parts.some((line) => line.id === partId));

/** Create spare parts in Mobility Work through its API (answered 202, applied later). */
export function createMobilityWorkSpareParts(ctx: DemoContext, refs: readonly string[], name: string) {
  const apiKey = ctx.secrets['millwright/mobility-work']?.apiKey as string;
  return fetch(`${simulators(ctx).mobilityWork.url}/partners/v1/spare-parts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'api-key': apiKey },
    body: JSON.stringify(refs.map((ref) => mwSimNewSparePart(ref, `${name} ${ref}`))),
  });
}
