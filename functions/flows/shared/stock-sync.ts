/**
 * Stock sync to Mobility Work, shared by every "<CMMS> part low -> Mobility Work stock" flow
 * (UpKeep and Click Maint): given part levels read from the source CMMS, decide per part whether
 * Mobility Work's stock must be set, then write all of them in one bulk call per event (the
 * client splits only above Mobility Work's 10,000-item limit, which an event never reaches).
 *
 * The subject is one source part; its sync state (`PartSyncState`, entity kind = flow id) is a small
 * state machine. A part level is a *version* of the part, ordered by the source's own change time
 * (`changedAtMs`, UpKeep's updatedAt in ms, Click Maint's updated_at in seconds) and, for versions
 * that share that time, by when we read it (`readAtMs`): a later read of the same change time is at
 * least as new, which is what makes a poll step replayed after a crash, or an older event redelivered
 * after a newer one, harmless even when many parts share one millisecond. The versions of one part
 * in one event (several changes, several low episodes in one poll) are applied in that order, one
 * transition each; the stock written is the one the last writing transition asks for.
 *
 * Transitions (`low` mode; `m` = the source minimum, `q` = the version's quantity):
 *
 * | state           | version                                   | write                          | next state  | why           |
 * |-----------------|-------------------------------------------|--------------------------------|-------------|---------------|
 * | any             | older than the stored version             | none                           | unchanged   | stale         |
 * | any             | quantity unknown (null)                   | none (unknown is not 0)        | unchanged   | no-quantity   |
 * | any             | part not in `parts` and `onlyListedParts` | none                           | (not kept)  | unmapped      |
 * | none or above   | q <= m                                    | stock q (+ minimum m)          | low         | low           |
 * | low             | q <= m                                    | none                           | low         | still-low     |
 * | low             | q > m                                     | stock q if `writeOnRestock`    | above       | restocked     |
 * | none or above   | q > m, or no minimum                      | none                           | above       | above-minimum |
 *
 * A quantity that is not a whole number (UpKeep's and Click Maint's are decimals) cannot be written:
 * Mobility Work's stock is "integer >= 0" and one bad item fails the whole bulk call. Per version,
 * `fractionalQuantity` (FRACTIONAL_QUANTITY) says what happens: `skip` (default: the version is left
 * out, counted `fractional-quantity` and named in the run log, like an unknown quantity), `floor` or
 * `round` (the version is planned with the whole number, and the run log names the change). A whole
 * quantity below zero (the sources set no sign rule) is planned as 0 and named in the run log; a
 * minimum below zero is aligned as 0 (`minimumStock` is "number >= 0" too).
 *
 * `mirror` mode: every version whose quantity differs from the last one written is written
 * (`changed`), else `unchanged`; the low flag is kept the same way. The minimum is aligned together
 * with a stock write (or on every change in mirror mode) when it differs from the one last aligned.
 *
 * Mobility Work's stock write is absolute, asynchronous (202) and bulk, so a retried write is
 * harmless; a claim per event still keeps the normal path to one call. Every write is recorded first
 * (`ownStockWrites`: a history per spare part with our write time), so the stock webhooks our own
 * writes trigger, even a late or replayed one of an older write, are recognised as echoes by the
 * Mobility Work -> CMMS flow (see mobility-work-stock-alert-to-upkeep.ts for the rule).
 *
 * Concurrency (AWS runs a flow's batches at once): a part's transition is committed to its state
 * (conditional write) *before* the write is sent, with the write kept in the state as `pending`
 * until it is sent. Of two events about one part planned from the same state, one commits and the
 * other retries and plans again from the newer state; an event that meets another event's pending
 * write waits (ClaimBusyError), so the writes of one part reach Mobility Work in version order. A
 * pending write whose event is gone (its lease past) is owed: the next event about the part sends
 * it (merged with its own), as does a retry of the event itself after a crash between commit and send.
 * A send that certainly failed (not a timeout) puts the parts' state back as it was, so a newer event
 * need not wait for this one's retry, which then plans again (and may find its version stale).
 *
 * Parts a person deleted under us. Source: a changed-since poll shows no deletions (UpKeep and Click
 * Maint have no tombstones), so a part deleted while low keeps its state and simply gets no further
 * write. With a re-read before writing (Click Maint's `confirmBeforeWrite`), a part the re-read no
 * longer finds (404) is left out of the write, counted `gone` in the run log, its state unchanged (no
 * episode opened for it); Click Maint's 404 also means a wrong X-Entity-Id, but the same entity has
 * just been polled. Target: Mobility Work takes the stock write with a 202 and applies it in the
 * background; its doc says nothing of an unknown spare part (the simulator drops the item), so a write
 * to a spare part deleted in Mobility Work cannot be seen here and is reported as accepted.
 *
 * Limits: versions with the same change time and the same read time cannot be ordered (two poll runs
 * in one millisecond of our clock); a worker that holds a pending write past its lease
 * (`PENDING_LEASE_MS`) can be overtaken: the parts' pending mark is not renewed while the write
 * runs (the event's claim is, claims.ts `once`).
 */
import * as z from 'zod/mini';
import type { SparePartIdentifier } from '../../connectors/mobility-work/client.ts';
import { once } from '../../core/claims.ts';
import { AmbiguousWriteError, ClaimBusyError, causeChain } from '../../core/errors.ts';
import type { FlowResult } from '../../core/flow.ts';
import { ConcurrentUpdateError, type StateStore, type Versioned } from '../../core/state.ts';

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
  /** When we read it (our clock): orders versions that share `changedAtMs`. Absent: 0. */
  readAtMs?: number;
  /** Mobility Work external reference when `parts` does not list the part (default: `partId`). */
  target?: string;
}

/**
 * FRACTIONAL_QUANTITY: what to do with a source quantity that is not a whole number. Mobility Work's
 * stock write takes "quantity / required / integer >= 0" (api-doc); the sources allow decimals.
 * `skip` (default) writes nothing for that version and names it in the run log; `floor` and `round`
 * write the whole number (never below 0).
 */
export const FRACTIONAL_QUANTITY_MODES = ['skip', 'floor', 'round'] as const;
export type FractionalQuantity = (typeof FRACTIONAL_QUANTITY_MODES)[number];

/** Config fields of every stock-sync flow (spread into the flow's lazy z.object; a function so importing builds none). */
/**
 * Source part -> Mobility Work reference, each reference at most once: a stock write sets the
 * quantity (not a delta), so two parts on one reference would overwrite each other's stock.
 */
export const partsMap = (key: z.ZodMiniType<string, string>) =>
  z._default(
    z.record(key, z.string().check(z.minLength(1))).check(
      z.superRefine((parts, ctx) => {
        const firstOf = new Map<string, string>();
        for (const [part, reference] of Object.entries(parts)) {
          const first = firstOf.get(reference);
          if (first === undefined) firstOf.set(reference, part);
          else
            ctx.issues.push({
              code: 'custom',
              input: reference,
              path: [part],
              message: `maps to ${reference} as ${first} does: a stock write sets the quantity, so the two parts would overwrite each other`,
            });
        }
      }),
    ),
    {},
  );

export const stockSyncShape = () => ({
  /** `low`: write on low transitions only; `mirror`: write every quantity change. */
  mode: z._default(z.enum(['low', 'mirror']), 'low'),
  /** Source part id -> Mobility Work external reference. Unlisted parts use their own id. */
  parts: partsMap(z.string().check(z.minLength(1))),
  /** Only sync the parts listed in `parts`. */
  onlyListedParts: z._default(z.boolean(), false),
  /** Also set Mobility Work's minimum stock to the source minimum (so it alerts by itself). */
  alignMinimum: z._default(z.boolean(), true),
  /** `low` mode: when the episode ends (restocked above the minimum), write the new quantity too. */
  writeOnRestock: z._default(z.boolean(), true),
  /** A quantity that is not a whole number: `skip` the part, or write it `floor`ed / `round`ed (FRACTIONAL_QUANTITY). */
  fractionalQuantity: z._default(z.enum(FRACTIONAL_QUANTITY_MODES), 'skip'),
});

export interface StockSyncConfig {
  mode: 'low' | 'mirror';
  parts: Record<string, string>;
  onlyListedParts: boolean;
  alignMinimum: boolean;
  writeOnRestock: boolean;
  fractionalQuantity: FractionalQuantity;
}

/** Per source part, in the state table (entity kind = flow id). */
export interface PartSyncState {
  target: string;
  quantity: number;
  minimum: number | null;
  changedAtMs: number;
  readAtMs?: number;
  low: boolean;
  /** The minimum last aligned in Mobility Work. */
  alignedMinimum?: number | null;
  lastWrite?: { quantity: number; at: string; eventId: string };
  /** A write committed with this state and not yet confirmed sent (see "Concurrency" above). */
  pending?: PendingWrite;
}

/** A stock write (and/or minimum alignment) of one part, decided by `eventId`, being sent. */
export interface PendingWrite {
  eventId: string;
  /** Our clock (ms): past it, the event is presumed gone and the write is owed by the next event. */
  until: number;
  quantity?: number;
  minimum?: number | null;
}

/** As long as a claim's lease (claims.ts `once`): the time one event has to send its write. */
export const PENDING_LEASE_MS = 60_000;

/** Our stock writes per Mobility Work spare part (a set per reference; member id `<at ISO>#<event>`). */
export const MW_STOCK_WRITTEN = 'mobility-work-stock-written';
export interface WrittenStock {
  quantity: number;
  minimum: number | null;
  flowId: string;
  eventId: string;
  /** Our clock when the write was sent (Mobility Work applies it at or after this time). */
  at: string;
}

const writtenSet = (ref: string) => `${MW_STOCK_WRITTEN}:${ref}`;

/** Record writes before they are sent (a webhook they cause may come back before the call returns). */
export async function recordOwnStockWrites(
  state: StateStore,
  writes: readonly { ref: string; data: WrittenStock }[],
): Promise<void> {
  for (let i = 0; i < writes.length; i += 25) {
    await Promise.all(
      writes
        .slice(i, i + 25)
        .map((w) => state.putMember(writtenSet(w.ref), `${w.data.at}#${w.data.eventId}`, w.data)),
    );
  }
}

/** Our writes to spare part `ref` sent within [fromMs, toMs], oldest first. */
export async function ownStockWrites(
  state: StateStore,
  ref: string,
  fromMs: number,
  toMs: number,
): Promise<WrittenStock[]> {
  const out: WrittenStock[] = [];
  let after = new Date(Math.max(0, fromMs) - 1).toISOString();
  for (;;) {
    const page = await state.listMembers<WrittenStock>(writtenSet(ref), { after, limit: 100 });
    for (const m of page) if (Date.parse(m.data.at) <= toMs) out.push(m.data);
    const last = page.at(-1);
    if (page.length < 100 || !last || Date.parse(last.data.at) > toMs) return out;
    after = last.id;
  }
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

/** A version whose quantity is not a whole number, and what was done with it (FRACTIONAL_QUANTITY). */
export interface FractionalVersion {
  partId: string;
  quantity: number;
  /** The whole number planned instead; absent: the version was skipped. */
  wrote?: number;
}

/**
 * The versions Mobility Work can take: whole quantities as they are, fractional ones skipped or made
 * whole per `mode`; every fractional one is reported in `fractional`.
 */
export function wholeQuantities(
  levels: readonly KnownPartLevel[],
  mode: FractionalQuantity,
  fractional: FractionalVersion[],
  belowZero: Map<string, number> = new Map(),
): KnownPartLevel[] {
  return levels.flatMap((p) => {
    if (Number.isInteger(p.quantity)) {
      if (p.quantity >= 0) return [p];
      // Mobility Work's stock is "integer >= 0" (one such item fails the whole bulk call); the sources
      // set no sign rule, and a count below zero (more used than was on hand) means none on hand.
      belowZero.set(p.partId, p.quantity);
      return [{ ...p, quantity: 0 }];
    }
    if (mode === 'skip') {
      fractional.push({ partId: p.partId, quantity: p.quantity });
      return [];
    }
    const whole = Math.max(0, mode === 'floor' ? Math.floor(p.quantity) : Math.round(p.quantity));
    fractional.push({ partId: p.partId, quantity: p.quantity, wrote: whole });
    return [{ ...p, quantity: whole }];
  });
}

/** The run log's note on quantities below zero, written as 0 ('' when there were none). */
function belowZeroNote(belowZero: ReadonlyMap<string, number>): string {
  if (belowZero.size === 0) return '';
  const list = [...belowZero].map(([partId, quantity]) => `${partId} ${quantity} -> 0`).join(', ');
  return `; below zero, written as 0 (Mobility Work takes integers >= 0): ${list}`;
}

/** The run log's note on fractional quantities ('' when there were none). */
function fractionalNote(fractional: readonly FractionalVersion[], mode: FractionalQuantity): string {
  if (fractional.length === 0) return '';
  const list = fractional
    .map((f) =>
      f.wrote === undefined ? `${f.partId} (${f.quantity})` : `${f.partId} ${f.quantity} -> ${f.wrote}`,
    )
    .join(', ');
  return mode === 'skip'
    ? `; skipped, quantity not a whole number (Mobility Work takes integers; fractionalQuantity "skip"): ${list}`
    : `; quantity not a whole number, written as ${mode === 'floor' ? 'floored' : 'rounded'} (fractionalQuantity "${mode}"): ${list}`;
}

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

/** Version order of a part: the source's change time, then our read time (same change time). */
export const isOlder = (
  a: { changedAtMs: number; readAtMs?: number },
  b: { changedAtMs: number; readAtMs?: number },
): boolean =>
  a.changedAtMs < b.changedAtMs || (a.changedAtMs === b.changedAtMs && (a.readAtMs ?? 0) < (b.readAtMs ?? 0));

/** Pure decision for one version of one part (one row of the transition table). */
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
    ...(part.readAtMs !== undefined ? { readAtMs: part.readAtMs } : {}),
    low: isLow(part),
    alignedMinimum: prev?.alignedMinimum,
    lastWrite: prev?.lastWrite,
  };
  if (!listed && config.onlyListedParts) return { part, target, next: base, why: 'unmapped' };
  if (prev && isOlder(part, prev)) return { part, target, next: prev, why: 'stale' };
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
  /**
   * Per decision; `no-quantity` counts the parts left alone because their quantity is unknown,
   * `fractional-quantity` the versions skipped because theirs is not a whole number, `gone` the
   * parts the re-read before writing no longer found at the source (deleted meanwhile): not written.
   */
  counts: Partial<Record<PartPlan['why'] | 'no-quantity' | 'fractional-quantity' | 'gone', number>>;
  /** The versions whose quantity was not a whole number (skipped, or written whole). */
  fractional: FractionalVersion[];
}

/** Each part's versions in version order; versions that tie keep the event's (read) order. */
function versionsPerPart(parts: readonly KnownPartLevel[]): KnownPartLevel[][] {
  const byId = new Map<string, KnownPartLevel[]>();
  for (const p of parts) byId.set(p.partId, [...(byId.get(p.partId) ?? []), p]);
  return [...byId.values()].map((versions) =>
    versions.sort((a, b) => a.changedAtMs - b.changedAtMs || (a.readAtMs ?? 0) - (b.readAtMs ?? 0)),
  );
}

/** A part's plan over its versions: one transition each, in order; the last write and alignment win. */
export interface PartsPlan extends PartPlan {
  /** The transition of each version, in order. */
  steps: PartPlan['why'][];
}

export function planVersions(
  versions: readonly KnownPartLevel[],
  prev: PartSyncState | undefined,
  config: StockSyncConfig,
): PartsPlan {
  let state = prev;
  let plan: PartPlan | undefined;
  let quantity: number | undefined;
  let minimum: number | null | undefined;
  const steps: PartPlan['why'][] = [];
  for (const version of versions) {
    plan = planPart(version, state, config);
    steps.push(plan.why);
    if (plan.minimum !== undefined) minimum = plan.minimum;
    if (plan.quantity !== undefined) {
      quantity = plan.quantity;
      // The next version is judged against this write (mirror mode compares with the last write).
      state = { ...plan.next, lastWrite: { quantity, at: '', eventId: '' } };
    } else {
      state = plan.next;
    }
  }
  if (!plan) throw new RangeError('planVersions needs at least one version');
  const { quantity: _q, minimum: _m, ...last } = plan;
  return {
    ...last,
    ...(quantity !== undefined ? { quantity } : {}),
    ...(minimum !== undefined ? { minimum } : {}),
    next: state ?? plan.next,
    steps,
  };
}

/**
 * Plan every part, commit the parts' new state with the writes pending, record what will be written,
 * write it in bulk (once per event), then mark the writes sent. `eventId` keys the claim and the
 * pending writes, so a redelivered or retried event does not write again and finishes its own.
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
  const fractional: FractionalVersion[] = [];
  const belowZero = new Map<string, number>();
  const whole = (ls: readonly PartLevel[]) =>
    wholeQuantities(ls.filter(hasQuantity), ctx.config.fractionalQuantity, fractional, belowZero);
  const known = whole(levels);
  const unknown = new Set(levels.filter((p) => !hasQuantity(p)).map((p) => p.partId));
  for (const p of known) unknown.delete(p.partId);
  // Parts all of whose versions were skipped as fractional (counted among the event's parts).
  const skippedOnly = () => {
    const counted = new Set([...parts.map(idOf), ...unknown]);
    return new Set(
      fractional.filter((f) => f.wrote === undefined && !counted.has(f.partId)).map((f) => f.partId),
    );
  };
  let parts = versionsPerPart(known);
  const idOf = (versions: readonly KnownPartLevel[]) => (versions[0] as KnownPartLevel).partId;
  const stored = await ctx.state.getEntities<PartSyncState>(ctx.flowId, parts.map(idOf));
  // Leases on the store's clock, as claims' are (the sandbox may run the flows' clock faster).
  const nowMs = ctx.state.leaseNow();
  // Writes committed before and not confirmed sent: this event's own (a retry), or an event's whose
  // lease has passed. Another event's live one: wait for it, so the part's writes stay in order.
  const owed = new Map<string, PendingWrite>();
  for (const versions of parts) {
    const id = idOf(versions);
    const pending = stored.get(id)?.data.pending;
    if (!pending) continue;
    if (pending.eventId !== eventId && pending.until > nowMs) {
      throw new ClaimBusyError(`${ctx.flowId}:part:${id} (write of event ${pending.eventId})`);
    }
    owed.set(id, pending);
  }
  const planAll = () =>
    parts.map((versions) => withOwed(planVersions(versions, stored.get(idOf(versions))?.data, ctx.config)));
  const withOwed = (plan: PartsPlan): PartsPlan => {
    const debt = owed.get(plan.part.partId);
    if (!debt) return plan;
    return {
      ...plan,
      ...(plan.quantity === undefined && debt.quantity !== undefined ? { quantity: debt.quantity } : {}),
      ...(plan.minimum === undefined && debt.minimum !== undefined ? { minimum: debt.minimum } : {}),
    };
  };
  let plans = planAll();
  let gone = 0;
  if (options.refresh) {
    const toWrite = plans
      .filter((p) => !owed.has(p.part.partId) && (p.quantity !== undefined || p.minimum !== undefined))
      .map((p) => p.part);
    if (toWrite.length > 0) {
      const fresh = new Map(whole(await options.refresh(toWrite)).map((p) => [p.partId, p] as const));
      const wanted = new Set(toWrite.map((p) => p.partId));
      gone = [...wanted].filter((id) => !fresh.has(id)).length;
      parts = parts.flatMap((versions) => {
        const id = idOf(versions);
        if (!wanted.has(id)) return [versions];
        const now = fresh.get(id);
        return now ? [[now]] : [];
      });
      plans = planAll();
    }
  }
  const writes = plans.filter((p) => p.quantity !== undefined);
  const aligns = plans.filter((p) => p.minimum !== undefined);
  const counts: SyncSummary['counts'] = {};
  for (const p of plans) for (const why of p.steps) counts[why] = (counts[why] ?? 0) + 1;
  if (unknown.size > 0) counts['no-quantity'] = unknown.size;
  // Said in the run log, not dropped without a word.
  if (gone > 0) counts.gone = gone;
  const skippedFractional = fractional.filter((f) => f.wrote === undefined).length;
  if (skippedFractional > 0) counts['fractional-quantity'] = skippedFractional;
  const total = parts.length + unknown.size + skippedOnly().size;
  const note = fractionalNote(fractional, ctx.config.fractionalQuantity) + belowZeroNote(belowZero);

  let requests = 0;
  if (writes.length > 0 || aligns.length > 0) {
    // Commit first: a concurrent event about one of these parts now fails its save (and plans again
    // from this state) or waits for these writes; it can no longer send an older stock after ours.
    const sending = plans.filter((p) => p.quantity !== undefined || p.minimum !== undefined);
    const committed = await saveStates(ctx, plans, stored, eventId, ctx.now().toISOString(), {
      eventId,
      until: nowMs + PENDING_LEASE_MS,
    });
    const done = await sendOrRollBack(ctx, committed, stored, () =>
      once(ctx.state, {
        key: `${ctx.flowId}:stock:${eventId}`,
        leaseMs: PENDING_LEASE_MS,
        perform: async () => {
          // Recorded first: Mobility Work may send the resulting webhooks before our call returns.
          const at = ctx.now().toISOString();
          await recordOwnStockWrites(
            ctx.state,
            writes.map((w) => ({
              ref: w.target,
              data: {
                quantity: w.quantity as number,
                minimum: w.part.minimum,
                flowId: ctx.flowId,
                eventId,
                at,
              },
            })),
          );
          let calls = 0;
          if (aligns.length > 0) {
            // Minimum first, so the stock write that follows is judged against the new threshold.
            calls += (
              await writer.updateSparePartAttributes(
                // Mobility Work's minimumStock is "number >= 0": a source minimum below zero is none.
                aligns.map((a) => ({
                  id: a.target,
                  minimumStock: a.minimum == null ? null : Math.max(0, a.minimum),
                })),
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
      }),
    );
    await clearPending(ctx, sending, committed);
    requests = done.how === 'duplicate' ? 0 : Number(done.result.requests ?? 0);
    if (done.how === 'duplicate') {
      return {
        summary: { parts: total, written: 0, aligned: 0, requests: 0, counts, fractional },
        result: { outcome: 'duplicate', message: `stock for event ${eventId} was already written` },
      };
    }
  } else {
    await saveStates(ctx, plans, stored, eventId, ctx.now().toISOString());
  }

  // `millwright runs --subject <part>` finds this event by the parts it wrote (source and target ids).
  const subjects = plans
    .filter((p) => p.quantity !== undefined || p.minimum !== undefined)
    .flatMap((p) => [p.part.partId, p.target]);
  const summary = {
    parts: total,
    written: writes.length,
    aligned: aligns.length,
    requests,
    counts,
    fractional,
  };
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
            `${total} part(s) (${detail}): Mobility Work accepted ${writes.length} stock write(s) and ${aligns.length} minimum alignment(s) in ${requests} request(s) (202: applied in the background, usually within minutes)${note}`
          : `${total} part(s) (${detail}): nothing to write${note}`,
      effects: {
        stockWrites: String(writes.length),
        minimumAlignments: String(aligns.length),
        requests: String(requests),
      },
      ...(subjects.length > 0 ? { subjects: [...new Set(subjects)] } : {}),
    },
  };
}

/** A part's state as saved: the plan's next state, its write recorded, pending or not. */
function savedState(p: PartPlan, eventId: string, at: string, pending?: PendingWrite): PartSyncState {
  const { pending: _earlier, ...next } = p.next;
  const sends = p.quantity !== undefined || p.minimum !== undefined;
  return {
    ...next,
    ...(p.quantity !== undefined && p.why !== 'stale'
      ? { lastWrite: { quantity: p.quantity, at, eventId } }
      : {}),
    ...(pending && sends
      ? {
          pending: {
            ...pending,
            ...(p.quantity !== undefined ? { quantity: p.quantity } : {}),
            ...(p.minimum !== undefined ? { minimum: p.minimum } : {}),
          },
        }
      : {}),
  };
}

/**
 * Save the parts' new state (conditional writes, in parallel groups): a concurrent update of the
 * same part fails this event, which is retried and re-planned from the newer state. With `pending`,
 * the parts that send a write keep it pending. Returns each saved part's state and version.
 */
async function saveStates(
  ctx: SyncContext,
  plans: readonly PartPlan[],
  stored: Map<string, Versioned<PartSyncState>>,
  eventId: string,
  at: string,
  pending?: PendingWrite,
): Promise<Map<string, Versioned<PartSyncState>>> {
  const sends = (p: PartPlan) => p.quantity !== undefined || p.minimum !== undefined;
  // A stale version changes nothing, unless the part owes a write (then its pending is taken over).
  const changed = plans.filter((p) => p.why !== 'stale' || (pending && sends(p)));
  const saved = new Map<string, Versioned<PartSyncState>>();
  for (let i = 0; i < changed.length; i += 25) {
    await Promise.all(
      changed.slice(i, i + 25).map(async (p) => {
        const data = savedState(p, eventId, at, pending);
        const version = await ctx.state.putEntity(
          ctx.flowId,
          p.part.partId,
          data,
          stored.get(p.part.partId)?.version,
        );
        saved.set(p.part.partId, { data, version });
      }),
    );
  }
  return saved;
}

/** The writes were sent: drop `pending` (a conflict means an event took the part over after our lease). */
async function clearPending(
  ctx: SyncContext,
  sent: readonly PartPlan[],
  committed: Map<string, Versioned<PartSyncState>>,
): Promise<void> {
  for (let i = 0; i < sent.length; i += 25) {
    await Promise.all(
      sent.slice(i, i + 25).map(async (p) => {
        const saved = committed.get(p.part.partId);
        if (!saved?.data.pending) return;
        const { pending: _sent, ...data } = saved.data;
        try {
          await ctx.state.putEntity(ctx.flowId, p.part.partId, data, saved.version);
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError)) throw error;
        }
      }),
    );
  }
}

/**
 * Whether a failed send may still land: unanswered, or a split call whose failing request was
 * unanswered (MobilityWorkBulkError carries it as its cause).
 */
function mayStillLand(error: unknown): boolean {
  return [...causeChain(error)].some((e) => e instanceof AmbiguousWriteError);
}

/**
 * Send (`send`), and when it certainly failed, put back the parts' state from before the commit (a
 * newer event may then go ahead; this one's retry plans again). Kept pending: an unanswered write
 * (it may still land, so it stays owed and the part waits), and a claim held by another delivery of
 * this event (that one is sending). A part that had no state has it removed again.
 */
async function sendOrRollBack<T>(
  ctx: SyncContext,
  committed: Map<string, Versioned<PartSyncState>>,
  stored: Map<string, Versioned<PartSyncState>>,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!mayStillLand(error) && !(error instanceof ClaimBusyError)) {
      await Promise.all(
        [...committed].map(async ([id, saved]) => {
          const before = stored.get(id);
          const restore = before
            ? ctx.state.putEntity(ctx.flowId, id, before.data, saved.version)
            : ctx.state.deleteEntity(ctx.flowId, id, saved.version);
          await restore.catch((rollback: unknown) => {
            if (!(rollback instanceof ConcurrentUpdateError)) throw rollback;
          });
        }),
      ).catch(() => undefined); // The send's error is the one to report; a failed rollback stays owed.
    }
    throw error;
  }
}
