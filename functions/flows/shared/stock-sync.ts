/**
 * Stock sync to Mobility Work, shared by every "<CMMS> part low -> Mobility Work stock" flow
 * (UpKeep today; Click Maint reuses it): given part levels read from the source CMMS, decide per
 * part whether Mobility Work's stock must be set, then write all of them in bulk calls.
 *
 * - `low` mode: one write per low episode. A part whose quantity falls to or below its minimum gets
 *   its Mobility Work stock set to the source quantity (and its minimum aligned, so Mobility Work
 *   raises its own low-stock alert); the episode re-arms when the part is restocked above its
 *   minimum, and (with `writeOnRestock`) that restocked quantity is written too, so the alert clears.
 * - `mirror` mode: every quantity change is written.
 * - A part whose quantity is unknown (UpKeep's `quantity` is optional; `null` in the snapshot) is
 *   counted as `no-quantity` and nothing else: no stock write, no minimum alignment, and its stored
 *   state is left as it was. Unknown is not 0: reading it as no stock would open a low episode and
 *   write 0 to Mobility Work. Its next known quantity is judged against the last known state.
 *
 * Mobility Work's stock write is absolute, asynchronous (202) and bulk, so a retried write is
 * harmless; a claim per event still keeps the normal path to one call. What we write is recorded
 * (`MW_STOCK_WRITTEN`, last value per spare part) before the call, so the stock webhooks that our
 * own write triggers are recognised as echoes by the Mobility Work -> CMMS flows.
 */
import * as z from 'zod/mini';
import type { SparePartIdentifier } from '../../connectors/mobility-work/client.ts';
import { once } from '../../core/claims.ts';
import type { FlowResult } from '../../core/flow.ts';
import type { StateStore, Versioned } from '../../core/state.ts';

/** The part of a flow's context the sync needs (the flow's config includes the stock-sync fields). */
export interface SyncContext {
  flowId: string;
  config: StockSyncConfig;
  state: StateStore;
  now: () => Date;
}

/** A part level as read from the source CMMS. */
export interface PartLevel {
  partId: string;
  name: string;
  /** null: the source has no quantity for the part (unknown; never read as 0). */
  quantity: number | null;
  minimum: number | null;
  /** Source change time; an older snapshot than the stored one is ignored. */
  changedAtMs: number;
  /** Mobility Work external reference when `parts` does not list the part (default: `partId`). */
  target?: string;
}

/** Config fields of every stock-sync flow (spread into the flow's z.object). */
export const stockSyncShape = {
  /** `low`: write on low transitions only; `mirror`: write every quantity change. */
  mode: z._default(z.enum(['low', 'mirror']), 'low'),
  /** Source part id -> Mobility Work external reference. Unlisted parts use their own id. */
  parts: z._default(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1))), {}),
  /** Only sync the parts listed in `parts`. */
  onlyListedParts: z._default(z.boolean(), false),
  /** Also set Mobility Work's minimum stock to the source minimum (so it alerts by itself). */
  alignMinimum: z._default(z.boolean(), true),
  /** `low` mode: when the episode ends (restocked above the minimum), write the new quantity too. */
  writeOnRestock: z._default(z.boolean(), true),
};

export interface StockSyncConfig {
  mode: 'low' | 'mirror';
  parts: Record<string, string>;
  onlyListedParts: boolean;
  alignMinimum: boolean;
  writeOnRestock: boolean;
}

/** Per source part, in the state table (entity kind = flow id). */
export interface PartSyncState {
  target: string;
  quantity: number;
  minimum: number | null;
  changedAtMs: number;
  low: boolean;
  /** The minimum last aligned in Mobility Work. */
  alignedMinimum?: number | null;
  lastWrite?: { quantity: number; at: string; eventId: string };
}

/** Last stock value we set per Mobility Work spare part (kind of StateStore.putLatest). */
export const MW_STOCK_WRITTEN = 'mobility-work-stock-written';
export interface WrittenStock {
  quantity: number;
  minimum: number | null;
  flowId: string;
  eventId: string;
}

export interface StockWriter {
  setStock(items: { id: SparePartIdentifier; quantity: number }[]): Promise<{ requests: number }>;
  updateSparePartAttributes(
    items: { id: SparePartIdentifier; minimumStock?: number | null }[],
  ): Promise<{ requests: number }>;
}

export const isLow = (p: { quantity: number; minimum: number | null }) =>
  p.minimum !== null && p.quantity <= p.minimum;

/** A part level whose quantity is known (the only kind that is planned). */
export type KnownPartLevel = PartLevel & { quantity: number };

export const hasQuantity = (p: PartLevel): p is KnownPartLevel => p.quantity !== null;

export interface PartPlan {
  part: KnownPartLevel;
  target: string;
  /** Stock to write, if any. */
  quantity?: number;
  /** Minimum to align, if any. */
  minimum?: number | null;
  next: PartSyncState;
  why: 'low' | 'restocked' | 'changed' | 'still-low' | 'unchanged' | 'stale' | 'unmapped' | 'above-minimum';
}

/** Pure decision for one part. */
export function planPart(
  part: KnownPartLevel,
  prev: PartSyncState | undefined,
  config: StockSyncConfig,
): PartPlan {
  const listed = config.parts[part.partId];
  const target = listed ?? part.target ?? part.partId;
  const base = {
    target,
    quantity: part.quantity,
    minimum: part.minimum,
    changedAtMs: part.changedAtMs,
    low: isLow(part),
    alignedMinimum: prev?.alignedMinimum,
    lastWrite: prev?.lastWrite,
  };
  if (!listed && config.onlyListedParts) return { part, target, next: base, why: 'unmapped' };
  if (prev && part.changedAtMs < prev.changedAtMs) return { part, target, next: prev, why: 'stale' };
  const alignMinimum =
    config.alignMinimum && part.minimum !== null && (prev?.alignedMinimum ?? undefined) !== part.minimum;
  const wasLow = prev?.low ?? false;
  let write = false;
  let why: PartPlan['why'];
  if (config.mode === 'mirror') {
    write = prev?.lastWrite?.quantity !== part.quantity;
    why = write ? 'changed' : 'unchanged';
  } else if (base.low && !wasLow) {
    write = true;
    why = 'low';
  } else if (base.low) {
    why = 'still-low';
  } else if (wasLow) {
    write = config.writeOnRestock;
    why = 'restocked';
  } else {
    why = 'above-minimum';
  }
  // Minimums are aligned together with a stock write (or in mirror mode), not on every poll.
  const align = alignMinimum && (write || config.mode === 'mirror');
  return {
    part,
    target,
    ...(write ? { quantity: part.quantity } : {}),
    ...(align ? { minimum: part.minimum } : {}),
    next: { ...base, alignedMinimum: align ? part.minimum : base.alignedMinimum },
    why,
  };
}

export interface SyncSummary {
  parts: number;
  written: number;
  aligned: number;
  requests: number;
  /** Per decision; `no-quantity` counts the parts left alone because their quantity is unknown. */
  counts: Partial<Record<PartPlan['why'] | 'no-quantity', number>>;
}

/** Keep the newest snapshot per part (one event may carry a part twice). */
function latestPerPart(parts: readonly PartLevel[]): PartLevel[] {
  const byId = new Map<string, PartLevel>();
  for (const p of parts) {
    const seen = byId.get(p.partId);
    if (!seen || p.changedAtMs >= seen.changedAtMs) byId.set(p.partId, p);
  }
  return [...byId.values()];
}

/**
 * Plan every part, record what will be written, write it in bulk (once per event), then save the
 * parts' state. `eventId` keys the claim, so a redelivered event does not write again.
 */
export async function syncStock(
  ctx: SyncContext,
  writer: StockWriter,
  eventId: string,
  levels: readonly PartLevel[],
  options: {
    /**
     * Re-read the parts about to be written (the poll snapshot may be minutes old); the plan is
     * made again from the fresh levels. Parts it does not return are left out of this sync.
     */
    refresh?: (parts: PartLevel[]) => Promise<PartLevel[]>;
  } = {},
): Promise<{ summary: SyncSummary; result: FlowResult }> {
  const latest = latestPerPart(levels);
  let parts = latest.filter(hasQuantity);
  const unknown = latest.length - parts.length;
  const stored = await ctx.state.getEntities<PartSyncState>(
    ctx.flowId,
    parts.map((p) => p.partId),
  );
  const planAll = () => parts.map((p) => planPart(p, stored.get(p.partId)?.data, ctx.config));
  let plans = planAll();
  if (options.refresh) {
    const stale = plans.filter((p) => p.quantity !== undefined || p.minimum !== undefined).map((p) => p.part);
    if (stale.length > 0) {
      const fresh = new Map(
        (await options.refresh(stale)).filter(hasQuantity).map((p) => [p.partId, p] as const),
      );
      const wanted = new Set(stale.map((p) => p.partId));
      parts = parts.flatMap((p) =>
        wanted.has(p.partId) ? (fresh.has(p.partId) ? [fresh.get(p.partId) as KnownPartLevel] : []) : [p],
      );
      plans = planAll();
    }
  }
  const writes = plans.filter((p) => p.quantity !== undefined);
  const aligns = plans.filter((p) => p.minimum !== undefined);
  const counts: SyncSummary['counts'] = {};
  for (const p of plans) counts[p.why] = (counts[p.why] ?? 0) + 1;
  if (unknown > 0) counts['no-quantity'] = unknown;
  const total = parts.length + unknown;

  let requests = 0;
  if (writes.length > 0 || aligns.length > 0) {
    const done = await once(ctx.state, {
      key: `${ctx.flowId}:stock:${eventId}`,
      perform: async () => {
        // Recorded first: Mobility Work may send the resulting webhooks before our call returns.
        await ctx.state.putLatest<WrittenStock>(
          MW_STOCK_WRITTEN,
          writes.map((w) => ({
            id: w.target,
            data: { quantity: w.quantity as number, minimum: w.part.minimum, flowId: ctx.flowId, eventId },
          })),
        );
        let calls = 0;
        if (aligns.length > 0) {
          // Minimum first, so the stock write that follows is judged against the new threshold.
          calls += (
            await writer.updateSparePartAttributes(
              aligns.map((a) => ({ id: a.target, minimumStock: a.minimum ?? null })),
            )
          ).requests;
        }
        if (writes.length > 0) {
          calls += (
            await writer.setStock(writes.map((w) => ({ id: w.target, quantity: w.quantity as number })))
          ).requests;
        }
        return { requests: String(calls) };
      },
    });
    requests = done.how === 'duplicate' ? 0 : Number(done.result.requests ?? 0);
    if (done.how === 'duplicate') {
      // An earlier attempt wrote but may have failed before saving the parts' state.
      await saveStates(ctx, plans, stored, eventId, ctx.now().toISOString());
      return {
        summary: { parts: total, written: 0, aligned: 0, requests: 0, counts },
        result: { outcome: 'duplicate', message: `stock for event ${eventId} was already written` },
      };
    }
  }

  const at = ctx.now().toISOString();
  await saveStates(ctx, plans, stored, eventId, at);
  const summary = { parts: total, written: writes.length, aligned: aligns.length, requests, counts };
  const detail = Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return {
    summary,
    result: {
      outcome: writes.length > 0 || aligns.length > 0 ? 'done' : 'skipped',
      message:
        writes.length > 0 || aligns.length > 0
          ? // 202: Mobility Work queued the writes and applies them in the background (up to minutes).
            `${total} part(s) (${detail}): Mobility Work accepted ${writes.length} stock write(s) and ${aligns.length} minimum alignment(s) in ${requests} request(s) (202: applied in the background, usually within minutes)`
          : `${total} part(s) (${detail}): nothing to write`,
      effects: {
        stockWrites: String(writes.length),
        minimumAlignments: String(aligns.length),
        requests: String(requests),
      },
    },
  };
}

async function saveStates(
  ctx: SyncContext,
  plans: readonly PartPlan[],
  stored: Map<string, Versioned<PartSyncState>>,
  eventId: string,
  at: string,
): Promise<void> {
  const changed = plans.filter((p) => p.why !== 'stale');
  // Conditional writes in parallel groups: a concurrent update of the same part fails this event,
  // which is retried and re-planned from the newer state.
  for (let i = 0; i < changed.length; i += 25) {
    await Promise.all(
      changed.slice(i, i + 25).map((p) => {
        const next: PartSyncState =
          p.quantity === undefined ? p.next : { ...p.next, lastWrite: { quantity: p.quantity, at, eventId } };
        return ctx.state.putEntity(ctx.flowId, p.part.partId, next, stored.get(p.part.partId)?.version);
      }),
    );
  }
}
