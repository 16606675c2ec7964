/**
 * Mobility Work stock alert -> UpKeep purchase order.
 *
 * `SparePartStockWasUnderMinThreshold` and `SparePartWasOutOfStock` open a low episode for the
 * spare part and create, once per episode, an UpKeep purchase order (status `awaiting`, i.e. a
 * purchase request to approve) for the mapped UpKeep part. Purchase orders, not Requests: a PO
 * carries the part and the quantity (`parts: [{id, quantity}]`) and has an approval status; an
 * UpKeep Request has no part field at all (reference §3.7, §3.8).
 *
 * - Echoes: our own stock writes (the part-low flows) come back as Mobility Work stock webhooks.
 *   A stock event whose quantity equals the last value we wrote for that part, within
 *   `echoWindowMinutes`, is recognised and not forwarded.
 * - Re-arm: a restock or recount that brings the stock above the minimum ends the episode.
 * - The PO description carries a marker; after an unanswered create, the retry looks for it before
 *   creating again.
 */
import * as z from 'zod/mini';
import {
  MW_EVENT,
  type MwStockLevel,
  requireField,
  stockLevelOf,
} from '../connectors/mobility-work/events.ts';
import { mobilityWorkWebhook } from '../connectors/mobility-work/webhook.ts';
import { connectUpKeep, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { once } from '../core/claims.ts';
import { defineFlow, type FlowContext, type FlowEvent, type FlowResult } from '../core/flow.ts';
import { MW_STOCK_WRITTEN, type WrittenStock } from './shared/stock-sync.ts';

export const FLOW_ID = 'mobility-work-stock-alert-to-upkeep';

export const configSchema = z.object({
  /** Mobility Work external reference -> UpKeep part id. Unlisted references are UpKeep part ids. */
  parts: z._default(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1))), {}),
  purchaseOrder: z._default(
    z.object({
      titlePrefix: z._default(z.string(), 'Restock'),
      /** `refill`: enough to bring UpKeep's quantity back above its minimum; or a fixed quantity. */
      quantity: z._default(z.union([z.literal('refill'), z.number().check(z.int(), z.positive())]), 'refill'),
      vendor: z.optional(z.string().check(z.minLength(1))),
      category: z.optional(z.string().check(z.minLength(1))),
    }),
    { titlePrefix: 'Restock', quantity: 'refill' },
  ),
  /** A stock event matching our last write this recently is our own echo. */
  echoWindowMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(7 * 24 * 60)), 60),
});
export type StockAlertFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

interface LowEpisode {
  key: string;
  openedAt: string;
  event: string;
  minimum: number | null;
  purchaseOrderId?: string;
}
interface PartAlertState {
  open?: LowEpisode;
  last?: LowEpisode;
}

type Ctx = FlowContext<StockAlertFlowConfig, Deps>;

const ALERTS: readonly string[] = [
  MW_EVENT.SparePartStockWasUnderMinThreshold,
  MW_EVENT.SparePartWasOutOfStock,
];
const RESTOCKS: readonly string[] = [MW_EVENT.SparePartWasRestocked, MW_EVENT.SparePartWasManuallyRecounted];

const marker = (ref: string, key: string) => `[millwright:${FLOW_ID}:${ref}:${key}]`;

export function orderQuantity(
  config: StockAlertFlowConfig,
  part: { quantity: number | null; minimumQuantity: number | null },
) {
  if (config.purchaseOrder.quantity !== 'refill') return config.purchaseOrder.quantity;
  // No quantity in UpKeep (optional in its doc): unknown is not 0, so a refill cannot be computed.
  // Order 1 and say so in the description; the purchase order awaits approval, where it is adjusted.
  if (part.quantity === null) return 1;
  return Math.max(1, (part.minimumQuantity ?? 0) - part.quantity + 1);
}

/** The spare part's external reference (= UpKeep part id by default); a typed error names the field. */
const requireRef = (event: FlowEvent): string =>
  requireField(event.data, 'sparePart.externalReference', 'string');

/** Did our own stock write cause this event? (same quantity as our last write, recently). */
async function isEcho(
  ctx: Ctx,
  ref: string,
  level: MwStockLevel | undefined,
): Promise<WrittenStock | undefined> {
  if (level?.quantity === undefined) return undefined;
  const written = await ctx.state.getLatest<WrittenStock>(MW_STOCK_WRITTEN, ref);
  if (!written || written.data.quantity !== level.quantity) return undefined;
  const age = ctx.now().getTime() - Date.parse(written.at);
  return age <= ctx.config.echoWindowMinutes * 60_000 ? written.data : undefined;
}

async function updatePart(ctx: Ctx, ref: string, change: (s: PartAlertState) => PartAlertState | undefined) {
  return (await ctx.state.updateEntity<PartAlertState>(ctx.flowId, ref, (s) => change(s ?? {}))) ?? {};
}

async function onAlert(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const ref = requireRef(event);
  const level = stockLevelOf(event.data);
  const echo = await isEcho(ctx, ref, level);
  if (echo) {
    return {
      outcome: 'echo',
      message: `stock ${level?.quantity} of ${ref} is our own write (${echo.flowId}); not forwarded`,
    };
  }
  const candidate: LowEpisode = {
    key: event.id,
    openedAt: ctx.now().toISOString(),
    event: event.type,
    minimum: level?.minimum ?? null,
  };
  const slot = await updatePart(ctx, ref, (s) => (s.open ? undefined : { ...s, open: candidate }));
  const episode = slot.open as LowEpisode;
  if (episode.purchaseOrderId) {
    return {
      outcome: 'duplicate',
      message: `purchase order ${episode.purchaseOrderId} already requested for this low episode of ${ref}`,
      effects: { purchaseOrderId: episode.purchaseOrderId },
    };
  }

  const upkeep = ctx.deps.upkeep;
  const partId = ctx.config.parts[ref] ?? ref;
  const created = await once(ctx.state, {
    key: `${ctx.flowId}:po:${ref}:${episode.key}`,
    find: async () => {
      const since = Date.parse(episode.openedAt) - 60 * 60_000;
      const found = (await upkeep.listAllPurchaseOrders({ createdAtGte: since })).find((po) =>
        po.description?.includes(marker(ref, episode.key)),
      );
      return found ? { purchaseOrderId: found.id } : undefined;
    },
    perform: async () => {
      const part = await upkeep.getPart(partId);
      if (!part) return { purchaseOrderId: '', missingPart: partId, quantity: '0' };
      const quantity = orderQuantity(ctx.config, part);
      const po = await upkeep.createPurchaseOrder({
        title: `${ctx.config.purchaseOrder.titlePrefix}: ${part.name}`.slice(0, 250),
        description: [
          `Mobility Work reported ${event.type === MW_EVENT.SparePartWasOutOfStock ? 'out of stock' : 'stock under the minimum'} for ${ref}` +
            (level?.quantity !== undefined
              ? ` (stock ${level.quantity}, minimum ${level.minimum ?? '?'})`
              : '') +
            '.',
          `UpKeep stock: ${part.quantity ?? 'not set'}, minimum ${part.minimumQuantity ?? 'not set'}.`,
          '',
          `Created by Millwright. ${marker(ref, episode.key)}`,
        ].join('\n'),
        parts: [{ id: part.id, quantity }],
        ...(ctx.config.purchaseOrder.vendor ? { vendor: ctx.config.purchaseOrder.vendor } : {}),
        ...(ctx.config.purchaseOrder.category ? { category: ctx.config.purchaseOrder.category } : {}),
      });
      return { purchaseOrderId: po.id, missingPart: '', quantity: String(quantity) };
    },
  });
  const { purchaseOrderId, missingPart } = created.result;
  if (missingPart) {
    await updatePart(ctx, ref, (s) => (s.open?.key === episode.key ? { last: s.open } : undefined));
    return { outcome: 'skipped', message: `UpKeep has no part ${missingPart} (mapped from ${ref})` };
  }
  await updatePart(ctx, ref, (s) =>
    s.open?.key === episode.key ? { ...s, open: { ...s.open, purchaseOrderId } } : undefined,
  );
  return {
    outcome: created.how === 'duplicate' ? 'duplicate' : 'done',
    message:
      created.how === 'found'
        ? `found purchase order ${purchaseOrderId} made by an earlier attempt`
        : `purchase order ${purchaseOrderId} for UpKeep part ${partId} (${created.result.quantity ?? '?'} units)`,
    effects: { purchaseOrderId: purchaseOrderId as string },
  };
}

/** A restock or recount above the minimum ends the part's low episode (echo or not). */
async function onRestock(event: FlowEvent, ctx: Ctx): Promise<FlowResult> {
  const ref = requireRef(event);
  const level = stockLevelOf(event.data);
  const before = (await ctx.state.getEntity<PartAlertState>(ctx.flowId, ref))?.data;
  const open = before?.open;
  if (!open) return { outcome: 'skipped', message: `${ref}: no low episode open` };
  const minimum = level?.minimum ?? open.minimum;
  if (level?.quantity === undefined || minimum === null || level.quantity <= minimum) {
    return {
      outcome: 'skipped',
      message: `${ref}: stock ${level?.quantity ?? '?'} is not above the minimum ${minimum ?? '?'}`,
    };
  }
  await updatePart(ctx, ref, (s) => (s.open?.key === open.key ? { last: s.open } : undefined));
  return {
    outcome: 'done',
    message: `${ref} restocked to ${level.quantity}; low episode closed, alerts re-armed`,
  };
}

export const STOCK_EVENTS = [...ALERTS, ...RESTOCKS];

export const flow = defineFlow<StockAlertFlowConfig, Deps>({
  id: FLOW_ID,
  description: 'Mobility Work stock alert -> UpKeep purchase order (once per low episode)',
  vendors: ['mobility-work', 'upkeep'],
  config: configSchema,
  triggers: [{ kind: 'webhook', receiver: mobilityWorkWebhook, events: STOCK_EVENTS }],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  async handle(event, ctx) {
    if (ALERTS.includes(event.type)) return onAlert(event, ctx);
    if (RESTOCKS.includes(event.type)) return onRestock(event, ctx);
    return { outcome: 'skipped', message: `event type ${event.type} is not handled by this flow` };
  },
});

export default flow;
