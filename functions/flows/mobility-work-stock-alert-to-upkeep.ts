/**
 * Mobility Work stock alert -> UpKeep purchase order.
 *
 * `SparePartStockWasUnderMinThreshold` and `SparePartWasOutOfStock` belong to a low episode of the
 * spare part; once per episode an UpKeep purchase order (status `awaiting`, i.e. a purchase request
 * to approve) is created for the mapped UpKeep part. Purchase orders, not Requests: a PO carries the
 * part and the quantity (`parts: [{id, quantity}]`) and has an approval status; an UpKeep Request has
 * no part field at all (reference §3.7, §3.8).
 *
 * Episodes come from Mobility Work's own timeline, not from the order events arrive in. Each stock
 * event of a part is kept as a fact: its identity (`_idempotencyKey`, through the event id) and its
 * time (`_date` on alerts, `emittedAt`/`_sentAt` on restocks and recounts: the event's occurredAt).
 * The part's episodes are derived from the facts in time order: a (non-echo) alert opens an episode
 * when none is open and joins the open one otherwise; a restock or recount above the minimum closes
 * it. So a late, replayed or reordered event lands on the episode it belongs to; a restock arriving
 * late splits an episode where it falls; several episodes in one batch are each ordered once.
 * Order per subject (spare part): by Mobility Work's own event times, in the part's facts item
 * (conditional write); an alert of a closed, ordered episode is `stale`, never a second order.
 *
 * | part state (derived at the event's time) | event                                      | effect                                                        | outcome            |
 * |------------------------------------------|--------------------------------------------|---------------------------------------------------------------|--------------------|
 * | no episode open                          | alert                                      | opens an episode; its purchase order is created               | done               |
 * | episode open, no order yet               | alert                                      | joins it; the purchase order is created                       | done               |
 * | episode open, ordered (or being ordered) | alert                                      | joins it                                                      | duplicate          |
 * | episode closed, ordered                  | alert (late or replayed)                   | none                                                          | stale              |
 * | episode closed, not ordered yet          | alert (a retry after a failed create)      | the purchase order of that episode is created                 | done               |
 * | any                                      | alert that is the echo of our stock write  | none (not an episode)                                         | echo               |
 * | episode open                             | restock/recount above the minimum          | closes it (alerts after it open a new one)                    | done               |
 * | episode open                             | late restock inside an ordered episode     | splits it; the later part is a new episode and is ordered     | done               |
 * | no episode open                          | restock/recount                            | none                                                          | skipped            |
 * | any                                      | restock/recount not above the minimum      | none                                                          | skipped            |
 * | any                                      | an event already applied (same id)         | none (its pending order, if it owns one, is finished)         | duplicate or stale |
 * | any                                      | older than the part's kept history         | none                                                          | stale              |
 * | episode's order to make, UpKeep part gone | alert (part deleted before, or between our read and the create) | order `skipped` with the reason; later alerts of it say so | skipped            |
 *
 * A part a person deleted in UpKeep: no purchase order can name it, and no retry or replay brings it
 * back, so the episode's order ends `skipped` with the reason (its later alerts and replays say the
 * same, nothing is written); the episode itself goes on (a restock closes it, the next one is tried
 * afresh). A create UpKeep refuses counts as "part deleted" only when a fresh read of the part
 * answers 404: a refusal for another cause (a bad vendor or category) stays the event's error.
 *
 * The order of an episode is decided in the same conditional write that records the event (one
 * event owns it, `by`), so two alerts of one episode handled at once make one purchase order. The PO
 * description carries a marker; after an unanswered create, the retry looks for it first.
 *
 * Echoes: our own stock writes (the part-low flows) come back as Mobility Work stock webhooks. Each
 * write is kept with the time we sent it (shared/stock-sync.ts). An alert is the echo of write W
 * when it reports W's quantity, its own time is at or after W's send time (less
 * `echoClockSkewSeconds`, and within `echoWindowMinutes`), and it happened at the same second as the
 * earliest alert attributed to W (Mobility Work applies a write once, and every webhook that write
 * causes carries that moment). Restocks and recounts are not matched: they close an episode whoever
 * caused them. So a replayed echo of an older write is still recognised after a newer
 * write of ours, while a person's later change to the same quantity (a later second) is not an echo.
 * Limits: a person's change to the very quantity we wrote, made between our send and Mobility Work's
 * apply (or in the same second), cannot be told apart and counts as the echo; events of one part in
 * the same second (Mobility Work's times have whole seconds) are ordered restock-before-alert.
 */
import * as z from 'zod/mini';
import {
  MW_EVENT,
  type MwEventName,
  type mobilityWorkEvents,
  sparePartReferenceOf,
  stockLevelOf,
} from '../connectors/mobility-work/events.ts';
import { mobilityWorkWebhook } from '../connectors/mobility-work/webhook.ts';
import { connectUpKeep, markedRecordId, type UpKeepClient } from '../connectors/upkeep/client.ts';
import { once } from '../core/claims.ts';
import { VendorHttpError } from '../core/errors.ts';
import type { EventOf } from '../core/events.ts';
import { defineFlow, type FlowContext, type FlowResult } from '../core/flow.ts';
import { lazySchema } from '../core/schema.ts';
import { clip } from './shared/format.ts';
import { isGone } from './shared/gone.ts';
import { ownStockWrites } from './shared/stock-sync.ts';

export const FLOW_ID = 'mobility-work-stock-alert-to-upkeep';

export const configSchema = lazySchema(() =>
  z.object({
    /** Mobility Work external reference -> UpKeep part id. Unlisted references are UpKeep part ids. */
    parts: z._default(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1))), {}),
    purchaseOrder: z._default(
      z.object({
        titlePrefix: z._default(z.string(), 'Restock'),
        /** `refill`: enough to bring UpKeep's quantity back above its minimum; or a fixed quantity. */
        quantity: z._default(
          z.union([z.literal('refill'), z.number().check(z.int(), z.positive())]),
          'refill',
        ),
        vendor: z.optional(z.string().check(z.minLength(1))),
        category: z.optional(z.string().check(z.minLength(1))),
      }),
      { titlePrefix: 'Restock', quantity: 'refill' },
    ),
    /** How long after we send a stock write a matching Mobility Work event can still be its echo. */
    echoWindowMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(7 * 24 * 60)), 60),
    /** How far Mobility Work's clock may run behind ours when an echo is matched to our write. */
    echoClockSkewSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(300)), 2),
  }),
);
export type StockAlertFlowConfig = z.infer<typeof configSchema>;

export interface Deps {
  upkeep: UpKeepClient;
}

/** One stock event of the part, as Mobility Work's timeline has it. */
export interface StockFact {
  /** The event id (from `_idempotencyKey`). */
  id: string;
  /** Mobility Work's time of the event (unix ms, whole seconds). */
  at: number;
  kind: 'alert' | 'level';
  type: string;
  quantity?: number;
  /** Alerts: the minimum threshold they report (null: none set). */
  minimum?: number | null;
  /** Our stock write this event reports the quantity of, if any (`<eventId>@<sent at>`). */
  echoOf?: { key: string; flowId: string };
}

/** The purchase order of one episode. */
export interface EpisodeOrder {
  /** The episode's first alert when the order was decided: the claim key and the PO marker. */
  key: string;
  status: 'pending' | 'done' | 'skipped';
  /** The event that makes it (its retries finish it). */
  by: string;
  /** Our clock when it was decided (unix ms): where the retry's PO lookup starts. */
  since: number;
  purchaseOrderId?: string;
  note?: string;
}

export interface PartAlertState {
  facts: StockFact[];
  orders: EpisodeOrder[];
  /** Facts up to this time were pruned: an unknown event this old is stale. */
  horizon?: number;
}

export interface LowEpisode {
  alerts: StockFact[];
  openedAt: number;
  closedAt?: number;
  closedBy?: string;
  order?: EpisodeOrder;
}

type Ctx = FlowContext<StockAlertFlowConfig, Deps>;

type StockEventName = Extract<
  MwEventName,
  | 'SparePartStockWasUnderMinThreshold'
  | 'SparePartWasOutOfStock'
  | 'SparePartWasRestocked'
  | 'SparePartWasManuallyRecounted'
>;
/** A stock event of the part, its data parsed by its schema. */
type StockEvent = EventOf<typeof mobilityWorkEvents, `mobility-work.${StockEventName}`>;
/** Facts kept per part (older ones of finished episodes are pruned). */
export const MAX_FACTS = 100;

const marker = (ref: string, key: string) => `[millwright:${FLOW_ID}:${ref}:${key}]`;
const iso = (ms: number) => new Date(ms).toISOString();

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

/** Time order; in one second a restock comes before an alert (the documented tie rule). */
const byTime = (a: StockFact, b: StockFact) =>
  a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'level' ? -1 : 1) || a.id.localeCompare(b.id);

/** An ISO time to its whole second (Mobility Work stamps its events to the second). */
const wholeSecond = (iso: string) => Math.floor(Date.parse(iso) / 1000) * 1000;
/** When our write was sent, to the second (an echo's key is `<eventId>@<ISO send time>`, see echoOf). */
const sentSecondOf = (key: string) => wholeSecond(key.slice(key.lastIndexOf('@') + 1));

/**
 * An echo: it matches our write, at the second of the first event attributed to that write, and the
 * stock did not move in between. A write that crossed no threshold (the part was already low) sends
 * no alert, so a person's restock then consumption back to the quantity we wrote would otherwise be
 * the first alert attributed to it: a level of another quantity after our send and before the alert
 * says the alert reports a later change, a person's.
 */
function echoes(facts: readonly StockFact[]): (f: StockFact) => boolean {
  const first = new Map<string, StockFact>();
  for (const f of facts) {
    const seen = f.echoOf ? first.get(f.echoOf.key) : undefined;
    if (f.echoOf && (!seen || f.at < seen.at)) first.set(f.echoOf.key, f);
  }
  const movedBetween = (f: StockFact, key: string) => {
    const sent = sentSecondOf(key);
    return facts.some(
      (l) =>
        l.kind === 'level' &&
        l.at > sent &&
        l.at < f.at &&
        l.quantity !== undefined &&
        l.quantity !== f.quantity,
    );
  };
  return (f) =>
    f.echoOf !== undefined && first.get(f.echoOf.key)?.at === f.at && !movedBetween(f, f.echoOf.key);
}

/** The minimum in force at `at`: the latest alert's at or before it, else the first one after. */
function minimumAt(sorted: readonly StockFact[], at: number): number | null | undefined {
  let found: number | null | undefined;
  for (const f of sorted) {
    if (f.kind !== 'alert' || f.minimum === undefined) continue;
    if (f.at <= at || found === undefined) found = f.minimum;
    if (f.at > at) break;
  }
  return found;
}

/** Is this level fact above the minimum (unknown minimum: nothing to judge against)? */
function isAbove(sorted: readonly StockFact[], f: StockFact): boolean {
  const minimum = minimumAt(sorted, f.at);
  return f.quantity !== undefined && minimum !== undefined && f.quantity > (minimum ?? 0);
}

/** The part's low episodes, oldest first, from its facts in time order. */
export function deriveEpisodes(state: PartAlertState): LowEpisode[] {
  const sorted = [...state.facts].sort(byTime);
  const isEcho = echoes(sorted);
  const episodes: LowEpisode[] = [];
  let open: LowEpisode | undefined;
  for (const f of sorted) {
    if (f.kind === 'level') {
      if (open && isAbove(sorted, f)) {
        open.closedAt = f.at;
        open.closedBy = f.id;
        open = undefined;
      }
    } else if (!isEcho(f)) {
      if (!open) {
        open = { alerts: [], openedAt: f.at };
        episodes.push(open);
      }
      open.alerts.push(f);
    }
  }
  for (const e of episodes) {
    const order = state.orders.find((o) => e.alerts.some((a) => a.id === o.key));
    if (order) e.order = order;
  }
  return episodes;
}

/**
 * Drop the oldest facts past MAX_FACTS, whole episodes only: the cut falls right after the restock
 * that closed an ordered episode, so no kept alert loses its episode's order and nothing pending or
 * open is dropped.
 */
function prune(state: PartAlertState): void {
  if (state.facts.length <= MAX_FACTS) return;
  const episodes = deriveEpisodes(state);
  const closers = new Map(episodes.flatMap((e) => (e.closedBy ? [[e.closedBy, e] as const] : [])));
  const sorted = [...state.facts].sort(byTime);
  const needed = sorted.length - MAX_FACTS;
  let cut = 0;
  for (let i = 0; i < sorted.length; i++) {
    const closed = closers.get((sorted[i] as StockFact).id);
    if (!closed) continue;
    if (closed.order?.status === 'pending') break;
    cut = i + 1;
    if (cut >= needed) break;
  }
  if (cut === 0) return;
  state.horizon = Math.max(state.horizon ?? 0, (sorted[cut - 1] as StockFact).at);
  state.facts = sorted.slice(cut);
  const ids = new Set(state.facts.map((f) => f.id));
  state.orders = state.orders.filter((o) => o.status === 'pending' || ids.has(o.key));
}

/** Which of our writes (if any) this event reports: same quantity, its time at or after our send. */
async function echoOf(
  ctx: Ctx,
  ref: string,
  at: number,
  quantity: number | undefined,
): Promise<StockFact['echoOf']> {
  if (quantity === undefined) return undefined;
  const skew = ctx.config.echoClockSkewSeconds * 1000;
  const writes = await ownStockWrites(ctx.state, ref, at - ctx.config.echoWindowMinutes * 60_000, at + skew);
  // Mobility Work's times have whole seconds: compare with our send time's second.
  const match = writes.filter((w) => w.quantity === quantity && wholeSecond(w.at) - skew <= at).at(-1);
  return match ? { key: `${match.eventId}@${match.at}`, flowId: match.flowId } : undefined;
}

function factOf(event: StockEvent, kind: StockFact['kind']): Omit<StockFact, 'echoOf'> {
  const level = stockLevelOf(event.data);
  return {
    id: event.id,
    at: Date.parse(event.occurredAt),
    kind,
    type: event.type,
    ...(level?.quantity !== undefined ? { quantity: level.quantity } : {}),
    ...(kind === 'alert' && level?.minimum !== undefined ? { minimum: level.minimum } : {}),
  };
}

interface Applied {
  state: PartAlertState;
  /** The event was already a fact (a redelivery, replay or retry). */
  known: boolean;
  /** Unknown and older than the kept history. */
  tooOld: boolean;
}

/** Record the event and decide the orders of episodes that have none, in one conditional write. */
async function apply(ctx: Ctx, ref: string, eventId: string, fact: StockFact): Promise<Applied> {
  let known = false;
  let tooOld = false;
  const now = ctx.now().getTime();
  const next = await ctx.state.updateEntity<PartAlertState>(ctx.flowId, ref, (current) => {
    // A state of the earlier open-slot shape (no facts) cannot be replayed into facts: start afresh.
    const s = current?.facts ? current : { facts: [], orders: [] };
    known = s.facts.some((f) => f.id === fact.id);
    tooOld = !known && s.horizon !== undefined && fact.at <= s.horizon;
    if (tooOld) return undefined;
    let changed = !known;
    if (!known) s.facts.push(fact);
    for (const e of deriveEpisodes(s)) {
      const first = e.alerts[0];
      if (!e.order && first) {
        s.orders.push({ key: first.id, status: 'pending', by: eventId, since: now });
        changed = true;
      }
    }
    if (!changed) return undefined;
    prune(s);
    return s;
  });
  return { state: next ?? { facts: [], orders: [] }, known, tooOld };
}

/**
 * Create the purchase order; `undefined` when UpKeep refused it because the part was deleted after
 * our read. UpKeep's doc does not say what a create naming a deleted part answers (400 with a message,
 * or 404), and a 400 is also what a bad vendor or category gets: a refusal counts as the part gone only
 * when a fresh read of the part answers 404; any other refusal stays the event's error.
 */
async function createOrGone(
  upkeep: UpKeepClient,
  partId: string,
  input: Parameters<UpKeepClient['createPurchaseOrder']>[0],
): Promise<{ id: string } | undefined> {
  try {
    return await upkeep.createPurchaseOrder(input);
  } catch (error) {
    const refused = error instanceof VendorHttpError && (error.status === 400 || isGone(error));
    if (refused && (await upkeep.getPart(partId)) === undefined) return undefined;
    throw error;
  }
}

interface Made {
  order: EpisodeOrder;
  how: 'performed' | 'found' | 'duplicate';
  quantity?: string;
  partId: string;
}

/** Create (once) the purchase order of an episode this event owns, then record it. */
async function makeOrder(ctx: Ctx, ref: string, order: EpisodeOrder, episode: LowEpisode): Promise<Made> {
  const upkeep = ctx.deps.upkeep;
  const partId = ctx.config.parts[ref] ?? ref;
  const alert = episode.alerts.find((a) => a.id === order.key) ?? (episode.alerts[0] as StockFact);
  const created = await once(ctx.state, {
    key: `${ctx.flowId}:po:${ref}:${order.key}`,
    find: async () => {
      // Read one by one: a person's purchase order UpKeep answers oddly must not stall the look.
      const page = await upkeep.listAllPurchaseOrderRecords({ createdAtGte: order.since - 60 * 60_000 });
      const purchaseOrderId = markedRecordId(page, marker(ref, order.key), 'listAllPurchaseOrderRecords');
      return purchaseOrderId ? { purchaseOrderId } : undefined;
    },
    perform: async () => {
      const part = await upkeep.getPart(partId);
      if (!part) return { purchaseOrderId: '', missingPart: partId, deleted: '', quantity: '0' };
      const quantity = orderQuantity(ctx.config, part);
      const po = await createOrGone(upkeep, partId, {
        title: clip(`${ctx.config.purchaseOrder.titlePrefix}: ${part.name}`, 250),
        description: [
          `Mobility Work reported ${alert.type === MW_EVENT.SparePartWasOutOfStock ? 'out of stock' : 'stock under the minimum'} for ${ref}` +
            (alert.quantity !== undefined
              ? ` (stock ${alert.quantity}, minimum ${alert.minimum ?? '?'})`
              : '') +
            ` at ${iso(alert.at)}.`,
          `UpKeep stock: ${part.quantity ?? 'not set'}, minimum ${part.minimumQuantity ?? 'not set'}.`,
          '',
          `Created by Millwright. ${marker(ref, order.key)}`,
        ].join('\n'),
        parts: [{ id: part.id, quantity }],
        ...(ctx.config.purchaseOrder.vendor ? { vendor: ctx.config.purchaseOrder.vendor } : {}),
        ...(ctx.config.purchaseOrder.category ? { category: ctx.config.purchaseOrder.category } : {}),
      });
      if (!po) return { purchaseOrderId: '', missingPart: partId, deleted: 'yes', quantity: '0' };
      return { purchaseOrderId: po.id, missingPart: '', deleted: '', quantity: String(quantity) };
    },
  });
  const { purchaseOrderId, missingPart, quantity, deleted } = created.result;
  const done: EpisodeOrder = missingPart
    ? {
        ...order,
        status: 'skipped',
        note: deleted
          ? `UpKeep part ${missingPart} (mapped from ${ref}) was deleted between our read and the purchase-order create: no purchase order`
          : `UpKeep has no part ${missingPart} (mapped from ${ref})`,
      }
    : { ...order, status: 'done', purchaseOrderId: purchaseOrderId as string };
  await ctx.state.updateEntity<PartAlertState>(ctx.flowId, ref, (s) => {
    const at = s?.orders.findIndex((o) => o.key === order.key && o.status === 'pending') ?? -1;
    if (!s || at < 0) return undefined;
    s.orders[at] = done;
    return s;
  });
  return { order: done, how: created.how, ...(quantity ? { quantity } : {}), partId };
}

const describeEpisode = (e: LowEpisode) =>
  `the low episode opened at ${iso(e.openedAt)}${e.closedAt !== undefined ? ` and closed by a restock at ${iso(e.closedAt)}` : ''}`;

function madeResult(ref: string, made: Made[]): FlowResult {
  const done = made.filter((m) => m.order.status === 'done');
  const skipped = made.filter((m) => m.order.status === 'skipped');
  const lines = [
    ...done.map((m) =>
      m.how === 'found'
        ? `found purchase order ${m.order.purchaseOrderId} made by an earlier attempt`
        : `purchase order ${m.order.purchaseOrderId} for UpKeep part ${m.partId} (${m.quantity ?? '?'} units)`,
    ),
    ...skipped.map((m) => m.order.note ?? `no purchase order for ${ref}`),
  ];
  return {
    outcome: done.length > 0 ? (done.every((m) => m.how === 'duplicate') ? 'duplicate' : 'done') : 'skipped',
    message: lines.join('; '),
    ...(done[0]?.order.purchaseOrderId
      ? { effects: { purchaseOrderId: done[0].order.purchaseOrderId } }
      : {}),
  };
}

/** What this event amounted to, from the part's state after it. */
function outcomeOf(ref: string, fact: StockFact, applied: Applied, made: Made[]): FlowResult {
  const { state, known } = applied;
  const stored = state.facts.find((f) => f.id === fact.id) ?? fact;
  const episodes = deriveEpisodes(state);
  if (stored.kind === 'alert') {
    if (echoes(state.facts)(stored)) {
      return {
        outcome: 'echo',
        message: `stock ${stored.quantity} of ${ref} at ${iso(stored.at)} is our own write (${stored.echoOf?.flowId}); not forwarded`,
      };
    }
    const episode = episodes.find((e) => e.alerts.some((a) => a.id === stored.id)) as LowEpisode;
    const mine = made.find((m) => m.order.key === episode.order?.key);
    if (mine) return madeResult(ref, [mine]);
    const order = episode.order as EpisodeOrder;
    if (order.status === 'pending') {
      return {
        outcome: 'duplicate',
        message: `${ref}: the purchase order of ${describeEpisode(episode)} is being made by event ${order.by}`,
      };
    }
    if (order.status === 'skipped') return { outcome: 'skipped', message: order.note ?? 'no purchase order' };
    const effects = { purchaseOrderId: order.purchaseOrderId as string };
    if (episode.closedAt !== undefined) {
      return {
        outcome: 'stale',
        message: `${ref}: ${known ? 'replayed' : 'late'} alert of ${describeEpisode(episode)}; its purchase order ${order.purchaseOrderId} exists`,
        effects,
      };
    }
    return {
      outcome: 'duplicate',
      message: `purchase order ${order.purchaseOrderId} already requested for ${describeEpisode(episode)} of ${ref}`,
      effects,
    };
  }
  // A restock or recount.
  const closed = episodes.find((e) => e.closedBy === stored.id);
  const split = made.length > 0 ? `; ${madeResult(ref, made).message} for the episode it split off` : '';
  if (closed) {
    return {
      outcome: known && made.length === 0 ? 'duplicate' : 'done',
      message: `${ref} restocked to ${stored.quantity} at ${iso(stored.at)}: ${describeEpisode(closed)}; alerts re-armed${split}`,
    };
  }
  if (made.length > 0) return madeResult(ref, made);
  if (known)
    return { outcome: 'duplicate', message: `${ref}: stock event at ${iso(stored.at)} already applied` };
  const sorted = [...state.facts].sort(byTime);
  const minimum = minimumAt(sorted, stored.at);
  if (stored.quantity === undefined || minimum === undefined || !isAbove(sorted, stored)) {
    // Restocks and recounts carry no minimum: only an alert tells this flow the part's minimum.
    const why =
      stored.quantity === undefined
        ? 'the event carries no stock quantity'
        : minimum === undefined
          ? `stock ${stored.quantity}; its minimum is not known yet (no stock alert for this part so far), so there is no low episode to close`
          : `stock ${stored.quantity} is not above the minimum ${minimum}`;
    return { outcome: 'skipped', message: `${ref}: ${why}` };
  }
  return { outcome: 'skipped', message: `${ref}: no low episode open at ${iso(stored.at)}` };
}

/** An alert (under the minimum, out of stock) or a level (restock, recount) of the part. */
async function onStockEvent(event: StockEvent, ctx: Ctx, kind: StockFact['kind']): Promise<FlowResult> {
  // The external reference is the UpKeep part id by default; optional in MW, required here.
  const ref = sparePartReferenceOf(event.data);
  const base = factOf(event, kind);
  const fact: StockFact = { ...base };
  // Only alerts are matched to our writes: a restock or recount closes an episode echo or not, and
  // the alerts of one write share its second, which is all the echo rule needs.
  const echo = base.kind === 'alert' ? await echoOf(ctx, ref, base.at, base.quantity) : undefined;
  if (echo) fact.echoOf = echo;
  const applied = await apply(ctx, ref, event.id, fact);
  if (applied.tooOld) {
    return {
      outcome: 'stale',
      message: `${ref}: event at ${iso(fact.at)} is older than the part's kept history (up to ${iso(applied.state.horizon ?? 0)})`,
    };
  }
  // Orders this event owns: decided by it now, or by an earlier attempt of it that failed.
  const made: Made[] = [];
  for (const episode of deriveEpisodes(applied.state)) {
    const order = episode.order;
    if (order?.status === 'pending' && order.by === event.id)
      made.push(await makeOrder(ctx, ref, order, episode));
  }
  return outcomeOf(ref, fact, applied, made);
}

export const STOCK_EVENTS = [
  MW_EVENT.SparePartStockWasUnderMinThreshold,
  MW_EVENT.SparePartWasOutOfStock,
  MW_EVENT.SparePartWasRestocked,
  MW_EVENT.SparePartWasManuallyRecounted,
];

export const flow = defineFlow({
  id: FLOW_ID,
  description: 'Mobility Work stock alert -> UpKeep purchase order (once per low episode)',
  vendors: ['mobility-work', 'upkeep'],
  config: configSchema,
  triggers: [{ kind: 'webhook', receiver: mobilityWorkWebhook }],
  setup: (env) => ({ upkeep: connectUpKeep(env) }),
  on: {
    [MW_EVENT.SparePartStockWasUnderMinThreshold]: (event, ctx) => onStockEvent(event, ctx, 'alert'),
    [MW_EVENT.SparePartWasOutOfStock]: (event, ctx) => onStockEvent(event, ctx, 'alert'),
    [MW_EVENT.SparePartWasRestocked]: (event, ctx) => onStockEvent(event, ctx, 'level'),
    [MW_EVENT.SparePartWasManuallyRecounted]: (event, ctx) => onStockEvent(event, ctx, 'level'),
  },
});

export default flow;
