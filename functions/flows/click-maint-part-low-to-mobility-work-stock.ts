/**
 * Click Maint part low -> Mobility Work stock.
 *
 * The same stock sync as the UpKeep part flow (functions/flows/shared/stock-sync.ts; no copy of it):
 * a poller reads the Click Maint parts changed since its watermark, per entity; a part is low when
 * `on_hand_qty <= min_qty`; non-stock parts (`is_non_stock`) are skipped. Before a part's stock is
 * written, the worker re-reads it (`GET /parts/{id}`, through the account's shared rate limiter):
 * the poll snapshot may be minutes old by then, and Mobility Work's stock write is absolute.
 *
 * Subject: one Click Maint part (`<entityId>/<partId>`); its state machine is the transition table in
 * functions/flows/shared/stock-sync.ts. Click Maint's updated_at has whole seconds, so versions that
 * share it are ordered by when they were read (the poll run's time, or the re-read's time).
 * Order per subject (part): an older level retried after a newer one was written is `stale` and
 * never overwrites it.
 */
import * as z from 'zod/mini';
import { type ClickMaintClient, connectClickMaint } from '../connectors/click-maint/client.ts';
import {
  CLICK_MAINT_PARTS_CHANGED,
  type ClickMaintPartSnapshot,
  clickMaintPartsPollSource,
} from '../connectors/click-maint/parts-poll-source.ts';
import { connectMobilityWork, type MobilityWorkClient } from '../connectors/mobility-work/client.ts';
import { defineFlow, type FlowResult } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import { type PartLevel, partsMap, stockSyncShape, syncStock } from './shared/stock-sync.ts';

export const FLOW_ID = 'click-maint-part-low-to-mobility-work-stock';

export const configSchema = lazySchema(() =>
  z.object({
    /** `parts` keys are `<entityId>/<partId>`; the default Mobility Work reference is the part number. */
    ...stockSyncShape(),
    /** Keyed as partKey builds them: a bare part id would be accepted and never match a part. */
    parts: partsMap(
      z.string().check(z.regex(/^[1-9]\d*\/[1-9]\d*$/, 'expected a key <entityId>/<partId>, e.g. 3/42')),
    ),
    /** Re-read each part before its stock is written (one rate-limited GET per written part). */
    confirmBeforeWrite: z._default(z.boolean(), true),
    poll: z._default(
      z.object({
        everyMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(60)), 5),
        /** Parts per poll event: at about 1 request/s, keep it well under the worker timeout (180 s). */
        partsPerEvent: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(500)), 50),
      }),
      { everyMinutes: 5, partsPerEvent: 50 },
    ),
  }),
);
export type ClickMaintPartFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  clickMaint: ClickMaintClient;
  mobilityWork: MobilityWorkClient;
}

/** `<entityId>/<partId>`: Click Maint part ids are per account, parts live in entities. */
export const partKey = (entityId: number, partId: number) => `${entityId}/${partId}`;

export function toLevel(entityId: number, p: ClickMaintPartSnapshot, readAtMs?: number): PartLevel {
  return {
    ...(readAtMs !== undefined ? { readAtMs } : {}),
    partId: partKey(entityId, p.id),
    name: p.name,
    quantity: p.onHandQty,
    minimum: p.minQty,
    changedAtMs: Date.parse(p.updatedAt),
    // Mobility Work external reference: the part number when there is one.
    target: p.number ? p.number : `clickmaint-${entityId}-${p.id}`,
  };
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'Click Maint part low -> Mobility Work stock (shared stock sync)',
  vendors: ['click-maint', 'mobility-work'],
  config: configSchema,
  // Every Click Maint call waits for the account's shared budget (about 1 request/s): one poll
  // event per invocation, two at a time, with time for partsPerEvent re-reads.
  worker: { timeoutSeconds: 180, batchSize: 1, maxConcurrency: 2 },
  triggers: [
    {
      kind: 'schedule',
      source: clickMaintPartsPollSource,
      everyMinutes: (c) => c.poll.everyMinutes,
      options: (c) => ({ partsPerEvent: c.poll.partsPerEvent }),
    },
  ],
  setup: (env) => ({ clickMaint: connectClickMaint(env), mobilityWork: connectMobilityWork(env) }),
  on: {
    [CLICK_MAINT_PARTS_CHANGED]: async (event, ctx): Promise<FlowResult> => {
      const { entityId, parts, readAtMs } = event.data;
      const stock = parts.filter((p) => !p.isNonStock);
      const nonStock = parts.length - stock.length;
      const refresh = ctx.config.confirmBeforeWrite
        ? async (levels: PartLevel[]) => {
            const out: PartLevel[] = [];
            for (const level of levels) {
              const id = Number(level.partId.split('/')[1]);
              const part = await ctx.deps.clickMaint.getPart(entityId, id);
              // Read now: newer than the poll's snapshot even when updated_at (whole seconds) is the same.
              if (part && !part.isNonStock) out.push(toLevel(entityId, part, ctx.now().getTime()));
            }
            return out;
          }
        : undefined;
      const { result } = await syncStock(
        ctx,
        ctx.deps.mobilityWork,
        event.id,
        stock.map((p) => toLevel(entityId, p, readAtMs)),
        refresh ? { refresh } : {},
      );
      return nonStock > 0
        ? { ...result, message: `${result.message}; ${nonStock} non-stock part(s) skipped` }
        : result;
    },
  },
});

export default flow;
