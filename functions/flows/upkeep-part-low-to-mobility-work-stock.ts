/**
 * UpKeep part low -> Mobility Work stock.
 *
 * A poller reads the UpKeep parts changed since its watermark (UpKeep sends no part webhooks) and
 * hands each batch of changes to the shared stock sync: when a part falls to or below its minimum,
 * Mobility Work's stock for the mapped spare part is set to UpKeep's quantity and its minimum is
 * aligned, once per low episode (or on every change in `mirror` mode). The parts of one event (one
 * poll step: up to `poll.partsPerEvent`, and at most what fits in an SQS message, about 1,500) go
 * out in one bulk call; a poll of 10,000 changed parts is about 10 events and 10 calls. One call per
 * event, not per poll: each event's write is claimed on its own (no action twice), and Mobility
 * Work's 10,000-item limit per call is never the bound.
 *
 * Subject: one UpKeep part; its state machine (none / above / low, one transition per version of the
 * part, versions ordered by UpKeep's updatedAt then by the poll's read time) is the transition table
 * in functions/flows/shared/stock-sync.ts. An event older than the part's stored version changes
 * nothing (`stale` in the counts); a redelivered event is absorbed by its claim and its versions.
 * Order per subject (part): by UpKeep's updatedAt in the part's sync state (conditional write): an
 * older level retried after a newer one was written never overwrites it.
 */
import * as z from 'zod/mini';
import { connectMobilityWork, type MobilityWorkClient } from '../connectors/mobility-work/client.ts';
import { UPKEEP_PARTS_CHANGED, upkeepPartsPollSource } from '../connectors/upkeep/parts-poll-source.ts';
import { defineFlow, type FlowResult } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import { type PartLevel, stockSyncShape, syncStock } from './shared/stock-sync.ts';

export const FLOW_ID = 'upkeep-part-low-to-mobility-work-stock';

export const configSchema = lazySchema(() =>
  z.object({
    ...stockSyncShape(),
    poll: z._default(
      z.object({
        everyMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(60)), 5),
        pageSize: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
        partsPerEvent: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(2000)), 1000),
        /** First run: sync every part (`beginning`) or only later changes (`now`). */
        startFrom: z._default(z.enum(['beginning', 'now']), 'beginning'),
      }),
      { everyMinutes: 5, pageSize: 100, partsPerEvent: 1000, startFrom: 'beginning' },
    ),
  }),
);
export type PartLowFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  mobilityWork: MobilityWorkClient;
}

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'UpKeep part low -> Mobility Work stock (and minimum threshold)',
  vendors: ['upkeep', 'mobility-work'],
  config: configSchema,
  triggers: [
    {
      kind: 'schedule',
      source: upkeepPartsPollSource,
      everyMinutes: (c) => c.poll.everyMinutes,
      options: (c) => ({
        pageSize: c.poll.pageSize,
        partsPerEvent: c.poll.partsPerEvent,
        startFrom: c.poll.startFrom,
      }),
    },
  ],
  setup: (env) => ({ mobilityWork: connectMobilityWork(env) }),
  on: {
    [UPKEEP_PARTS_CHANGED]: async (event, ctx): Promise<FlowResult> => {
      const { parts, readAtMs } = event.data;
      const levels: PartLevel[] = parts.map((p) => ({
        partId: p.id,
        name: p.name,
        quantity: p.quantity,
        minimum: p.minimumQuantity,
        changedAtMs: p.updatedAtMs,
        ...(readAtMs !== undefined ? { readAtMs } : {}),
      }));
      const { result } = await syncStock(ctx, ctx.deps.mobilityWork, event.id, levels);
      return result;
    },
  },
});

export default flow;
