/**
 * The `click-maint.parts` poll source: Click Maint has no webhooks (reference §4), so the parts changed
 * since a watermark are read per entity (config `entities`, else `GET /entities`) and emitted as
 * `click-maint.parts.changed` events of up to `partsPerEvent` part snapshots of one entity.
 *
 * Reading "changed since" (config `updatedAtFilter`):
 * - `ransack`: `filter[updated_at_gteq]=<watermark second>&sort=updated_at asc` (Ransack convention,
 *   undocumented, reference §2.5). Keyset paging: after each page the query restarts at page 1 from
 *   the advanced watermark, so a part updated while we page (it moves to the end of the order) cannot
 *   shift an unseen part out of the window, which plain page numbers over `updated_at asc` would do.
 *   Page numbers are used only inside a run of parts sharing one second longer than a page.
 *   A response whose `meta.filter` does not echo `updated_at_gteq` means the API ignored the filter:
 *   an error in `ransack` mode, a switch to the fallback in `auto` mode. CLICK_MAINT_FILTER_ECHO
 *   (simulator/lists.ts): the doc echoes `_eq` filters without the predicate but `_cont` ones with it
 *   and shows no `_gteq`; we assume it keeps its predicate like `_cont` (were it dropped, `auto`
 *   falls back, which is safe, and `ransack` fails loudly).
 * - `off` (documented features only): `sort=updated_at desc`, page until a part older than the
 *   watermark second (or the end), then emit what was read oldest first. Nothing of an entity is
 *   emitted before its read reached the watermark (the state could not advance past unread parts).
 * - `auto`: ransack, falling back for good (remembered per entity in the poll state as `mode`) when
 *   the echo is missing.
 *
 * Watermark: updated_at has whole seconds, so the watermark second is read again on every run and
 * parts already emitted in it are dropped by `seen` (`id@updatedAt#onHand/min`, so a second change
 * of a part within the same second is still seen): ties are neither skipped nor repeated.
 *
 * The runtime enqueues a step's event before it saves the step's state, and a step's state covers
 * exactly the parts of its event, so a crash in between replays the same step from the same state with
 * the same event id (sha256 of the entity and the ordered `id@updatedAt@onHand/min` list).
 *
 * A part that does not parse (e.g. `on_hand_qty: "lots"` on a stock part) is skipped, not fatal: it
 * goes into the step's `skipped` (the runtime logs it and writes a run-log entry) and the watermark
 * moves past it like past an emitted part (tie key `id@updated_at#unreadable`), so the parts after it
 * still sync and it is read again only once it changes. One whose updated_at cannot be read either
 * cannot be placed and is reported on each run that reads it.
 *
 * Bounded ties (core/changed-since.ts): an entity's `seen` lists at most its share of `maxTieKeys`
 * (the state of every entity is one item). A second with more changed parts than that is read whole,
 * emitted in tie-key order and kept as `seenThrough`, once it is `tieSettleMs` old by our clock
 * (assumed: Click Maint adds no part to an older second); until then the entity waits there.
 *
 * Per-entity failures are isolated: the parts read before the failure are handed over, the other
 * entities are polled, then the first error is thrown. A rate-limit error stops the run (every entity
 * shares the account's budget).
 */

import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import {
  type ChangeBatch,
  type ChangedSince,
  changedSince,
  type Watermark,
  type WatermarkState,
} from '../../core/changed-since.ts';
import { ConfigError, VendorHttpError, VendorResponseError } from '../../core/errors.ts';
import { defineEvents } from '../../core/events.ts';
import type {
  BackfillInput,
  BackfillStep,
  FlowEvent,
  PollSource,
  PollStep,
  SkippedRecord,
} from '../../core/flow.ts';
import type { Log } from '../../core/log.ts';
import { RateLimitedError } from '../../core/rate-limit.ts';
import { lazySchema, parseWith } from '../../core/schema.ts';
import { CLICK_MAINT_VENDOR, type ClickMaintClient, connectClickMaint } from './client.ts';
import type { UpdatedAtFilterMode } from './config.ts';
import { type ClickMaintPart, type ClickMaintSkippedRecord, canonicalIso, floorSecond } from './schemas.ts';

export const CLICK_MAINT_PARTS_POLL_SOURCE_ID = 'click-maint.parts';
export const CLICK_MAINT_PARTS_CHANGED = 'click-maint.parts.changed';
/** `source` of the events this poller emits. */
export const CLICK_MAINT_POLL_EVENT_SOURCE = 'click-maint.poll';
/** Upper bound on one event's `data` as JSON (an SQS message is at most 256 KB). */
export const MAX_PARTS_EVENT_DATA_BYTES = 200 * 1024;
/** Watermark of an entity read from the beginning. */
export const EPOCH_WATERMARK = '1970-01-01T00:00:00Z';

export const clickMaintPartsPollOptionsSchema = lazySchema(() =>
  z.object({
    /** Parts per event (a byte cap, MAX_PARTS_EVENT_DATA_BYTES, applies as well). */
    partsPerEvent: z._default(z.int().check(z.gte(1), z.lte(500)), 50),
    /** `per_page` of the reads (default: the vendor config's `perPage`). */
    perPage: z.optional(z.int().check(z.gte(1), z.lte(100))),
    /** Per entity and run; ransack mode continues next run, the fallback logs an error and skips. */
    maxPagesPerRun: z._default(z.int().check(z.gte(1), z.lte(100_000)), 200),
    /** An entity without state: read every part, or start at now and emit nothing. */
    startFrom: z._default(z.enum(['beginning', 'now']), 'beginning'),
    /**
     * Tie keys all entities' states list together before summarising (bounds the state item: about
     * 35 bytes each). A listed second is read again on every run (perPage at a time, against the
     * account's rate budget), so the default keeps that to about 3 pages.
     */
    maxTieKeys: z._default(z.int().check(z.gte(1), z.lte(2000)), 300),
    /** How old (ms, our clock) a second must be before Click Maint is assumed to add no part to it. */
    tieSettleMs: z._default(z.int().check(z.gte(0), z.lte(3_600_000)), 60_000),
  }),
);
/** What a flow passes (defaults optional). */
export type ClickMaintPartsPollOptions = z.input<typeof clickMaintPartsPollOptionsSchema>;
export type ResolvedClickMaintPartsPollOptions = z.output<typeof clickMaintPartsPollOptionsSchema>;

export const POLL_MODES = ['ransack', 'fallback'] as const;
export type ClickMaintPollMode = (typeof POLL_MODES)[number];

const isoSchema = lazySchema(() => z.iso.datetime({ offset: true }));

export const clickMaintEntityPollStateSchema = lazySchema(() =>
  z.object({
    /** updated_at of the last part emitted (EPOCH_WATERMARK before the first). */
    watermark: isoSchema,
    /** Tie keys of the parts already emitted within the watermark's second. */
    seen: z.array(z.string().check(z.minLength(1))),
    /** Every part of the watermark's second whose tie key sorts at or before this one is emitted too. */
    seenThrough: z.optional(z.string().check(z.minLength(1))),
    /** How this entity is read; remembered once detected (`auto`) or used (`ransack` / `off`). */
    mode: z.optional(z.enum(POLL_MODES)),
  }),
);
export type ClickMaintEntityPollState = z.infer<typeof clickMaintEntityPollStateSchema>;

export const clickMaintPartsPollStateSchema = lazySchema(() =>
  z.object({
    entities: z.record(z.string().check(z.regex(/^\d+$/)), clickMaintEntityPollStateSchema),
  }),
);
export type ClickMaintPartsPollState = z.infer<typeof clickMaintPartsPollStateSchema>;

/** One part as the event carries it. Non-stock parts are included (the flow skips them). */
export const clickMaintPartSnapshotSchema = lazySchema(() =>
  z.object({
    id: z.int(),
    name: z.string(),
    number: z.optional(z.nullable(z.string())),
    onHandQty: z.number(),
    minQty: z.nullable(z.number()),
    available: z.nullable(z.number()),
    isNonStock: z.boolean(),
    /** Canonical ISO (`2026-11-02T08:00:00Z`). */
    updatedAt: isoSchema,
  }),
);
export type ClickMaintPartSnapshot = z.infer<typeof clickMaintPartSnapshotSchema>;

/** `data` of a `click-maint.parts.changed` event: parts of one entity in updated_at order. */
export const clickMaintPartsChangedDataSchema = lazySchema(() =>
  z.object({
    entityId: z.int(),
    parts: z.array(clickMaintPartSnapshotSchema).check(z.minLength(1)),
    /**
     * When the run read these parts (unix ms, our clock). updated_at has whole seconds, so two reads of
     * one part can share it; the later read is the newer version (stock-sync orders versions by it).
     */
    readAtMs: z.optional(z.number()),
  }),
);
export type ClickMaintPartsChangedData = z.infer<typeof clickMaintPartsChangedDataSchema>;

/** The one event this source emits: one entity's parts of one poll step that changed. */
export const clickMaintPartsEvents = defineEvents('click-maint', {
  'parts.changed': {
    schema: clickMaintPartsChangedDataSchema,
    description: "An entity's parts whose stock or minimum changed",
  },
});

export interface ClickMaintPartsPollDeps {
  client: ClickMaintClient;
}

/** Apply defaults and validate; a ConfigError names the bad option. */
export const resolveClickMaintPartsPollOptions = (options: unknown): ResolvedClickMaintPartsPollOptions =>
  parseWith(
    clickMaintPartsPollOptionsSchema,
    options ?? {},
    (p) => new ConfigError(`options.${p.path}`, p.message),
  );

export const toClickMaintPartSnapshot = (part: ClickMaintPart): ClickMaintPartSnapshot => ({
  id: part.id,
  name: part.name,
  number: part.number,
  onHandQty: part.onHandQty,
  minQty: part.minQty,
  available: part.available,
  isNonStock: part.isNonStock,
  updatedAt: part.updatedAt,
});

type Keyed = Pick<ClickMaintPartSnapshot, 'id' | 'updatedAt' | 'onHandQty' | 'minQty'>;

/** A part version: `id@updatedAt#onHand/min` (stock is part of it: two changes in one second differ). */
export const tieKey = (p: Keyed): string => `${p.id}@${p.updatedAt}#${p.onHandQty}/${p.minQty ?? ''}`;

/** The tie key of a part version that could not be parsed. */
export const unreadableKey = (record: string, updatedAtMs: number): string =>
  `${record}@${canonicalIso(updatedAtMs)}#unreadable`;

/** `click-maint.parts:<entityId>:<sha256 of the entity and the ordered id@updatedAt@stock list, 24 hex>`. */
export function partsEventId(entityId: number, parts: readonly Keyed[]): string {
  const digest = createHash('sha256')
    .update(
      `${entityId}\n${parts.map((p) => `${p.id}@${p.updatedAt}@${p.onHandQty}/${p.minQty ?? ''}`).join('\n')}`,
    )
    .digest('hex')
    .slice(0, 24);
  return `click-maint.parts:${entityId}:${digest}`;
}

const describeSince = (watermark: string) => (Date.parse(watermark) === 0 ? 'the beginning' : watermark);

/** Errors that say the account's budget is spent: polling the next entity would only wait again. */
const isRateLimit = (error: unknown) =>
  error instanceof RateLimitedError || (error instanceof VendorHttpError && error.status === 429);

const ascending = (parts: readonly ClickMaintPart[], sign: 1 | -1) =>
  parts.every(
    (p, i) => i === 0 || sign * (p.updatedAtMs - (parts[i - 1] as ClickMaintPart).updatedAtMs) >= 0,
  );

const skippedPart = (entityId: number, bad: ClickMaintSkippedRecord): SkippedRecord => ({
  kind: `Click Maint part (entity ${entityId})`,
  record: bad.record,
  field: bad.field,
  message: bad.message,
  next:
    bad.updatedAtMs === undefined
      ? 'not synced; its updated_at cannot be read either, so each poll that reads it reports it again'
      : 'not synced until it changes again in Click Maint',
});

/** A record the fallback read: a parsed part or an unreadable one, at its updated_at. */
type Newest = { ms: number; part: ClickMaintPart } | { ms: number; bad: ClickMaintSkippedRecord };

interface EntityRun {
  entityId: number;
  /** The run's read time (unix ms), carried by its events. */
  readAtMs: number;
  start: ClickMaintEntityPollState;
  configured: UpdatedAtFilterMode;
  o: ResolvedClickMaintPartsPollOptions;
  perPage: number;
  client: ClickMaintClient;
  log: Log;
  /** Called with the entity's state after each cut; returns the whole poll state to save. */
  commit: (state: ClickMaintEntityPollState) => ClickMaintPartsPollState;
  /** Backfill: parts updated after this (unix ms) are left out. */
  untilMs?: number;
  /** This entity's share of maxTieKeys. */
  maxTieKeys: number;
  /** Seconds before this (unix ms) are settled (see "Bounded ties"). */
  settledBeforeMs: number;
}

/** One entity's poll under way: how it is read, and what it has read and emitted. */
interface EntityPoll extends EntityRun {
  since: string;
  mode: ClickMaintPollMode | undefined;
  changes: ChangedSince<ClickMaintPart, ClickMaintSkippedRecord, ClickMaintPartsPollState>;
  /** Pages read in either mode (maxPagesPerRun bounds both together). */
  pages: number;
  failure?: { error: unknown };
  /** Appended to the last step's summary when a page limit stopped the read. */
  limitNote: string;
}

/** Not past a backfill's end (an unplaceable record, without updated_at, is always reported). */
const within = (p: EntityRun, ms: number | undefined) =>
  p.untilMs === undefined || ms === undefined || ms <= p.untilMs;

/** The entity's state at a watermark, with the mode learned so far. */
const entityState = (p: EntityPoll, w: WatermarkState): ClickMaintEntityPollState => ({
  watermark: canonicalIso(w.ms),
  seen: w.keys,
  ...(w.through !== undefined ? { seenThrough: w.through } : {}),
  ...(p.mode ? { mode: p.mode } : {}),
});

/** The note of a read that stopped at a second with more ties than the state lists. */
const heldNote = (held: { ms: number; held: number } | undefined) =>
  held
    ? `; ${held.held} parts updated at ${canonicalIso(held.ms)} wait until that second is settled (more than this entity's share of maxTieKeys)`
    : '';

/** The step of a batch: one `click-maint.parts.changed` event, or none when it only reports skipped parts. */
function partsStep(
  p: EntityPoll,
  batch: ChangeBatch<ClickMaintPartSnapshot>,
): PollStep<ClickMaintPartsPollState> {
  const { entityId, since, mode } = p;
  const state = p.commit(entityState(p, batch.watermark));
  const parts = batch.items;
  const last = parts[parts.length - 1];
  if (last === undefined) {
    return {
      events: [],
      state,
      summary: `entity ${entityId}: no readable part changes since ${since} (${mode})${batch.note}`,
    };
  }
  const event: FlowEvent = {
    id: partsEventId(entityId, parts),
    type: CLICK_MAINT_PARTS_CHANGED,
    source: CLICK_MAINT_POLL_EVENT_SOURCE,
    occurredAt: new Date(Date.parse(last.updatedAt)).toISOString(),
    subject: `entity:${entityId}`,
    data: { entityId, parts, readAtMs: p.readAtMs } satisfies ClickMaintPartsChangedData,
  };
  return {
    events: [event],
    state,
    summary: `entity ${entityId}: parts ${batch.first}..${batch.last} of changes since ${since} (${mode})${batch.note}`,
  };
}

function startEntityPoll(run: EntityRun): EntityPoll {
  const mode =
    run.configured === 'ransack' ? 'ransack' : run.configured === 'off' ? 'fallback' : run.start.mode;
  const changes = changedSince<
    ClickMaintPart,
    ClickMaintSkippedRecord,
    ClickMaintPartSnapshot,
    ClickMaintPartsPollState
  >({
    start: {
      ms: Date.parse(run.start.watermark),
      keys: run.start.seen,
      ...(run.start.seenThrough !== undefined ? { through: run.start.seenThrough } : {}),
    },
    maxTieKeys: run.maxTieKeys,
    settledBeforeMs: run.settledBeforeMs,
    // updated_at has whole seconds: the watermark's second is read again on every run.
    floor: floorSecond,
    instantMs: 1000,
    updatedAtMs: (part) => part.updatedAtMs,
    tieKey,
    unreadableKey,
    snapshot: toClickMaintPartSnapshot,
    skipped: (bad) => skippedPart(run.entityId, bad),
    maxPerEvent: run.o.partsPerEvent,
    maxEventBytes: MAX_PARTS_EVENT_DATA_BYTES,
    // A part whose snapshot alone is over the bound is reported as skipped, never sent.
    oversized: (part, bytes) => ({
      record: String(part.id),
      field: '',
      message: `its snapshot is ${bytes} bytes, over the ${MAX_PARTS_EVENT_DATA_BYTES} bytes one event may carry (an SQS message holds 256 KB)`,
      updatedAtMs: part.updatedAtMs,
    }),
    step: (batch) => partsStep(poll, batch),
  });
  const poll: EntityPoll = {
    ...run,
    since: describeSince(run.start.watermark),
    mode,
    changes,
    pages: 0,
    limitNote: '',
  };
  return poll;
}

/**
 * ransack: keyset over filter[updated_at_gteq] + updated_at asc. Switches the entity to the fallback
 * (`auto`) or fails (`ransack`) when the API does not echo the filter.
 */
async function* readRansack(p: EntityPoll): AsyncGenerator<PollStep<ClickMaintPartsPollState>, void> {
  const { entityId, log } = p;
  let ignored = undefined as string[] | undefined;
  const read = yield* p.changes.readKeyset({
    maxPages: p.o.maxPagesPerRun,
    fetch: ({ fromMs, page }) =>
      p.client.listParts(entityId, {
        filter: { updated_at_gteq: canonicalIso(fromMs) },
        sort: 'updated_at asc',
        perPage: p.perPage,
        page,
      }),
    open: (result) => {
      if (!('updated_at_gteq' in result.filter)) {
        if (p.configured === 'ransack') {
          throw new VendorResponseError(
            CLICK_MAINT_VENDOR,
            'listParts',
            'meta.filter.updated_at_gteq',
            'the API ignored filter[updated_at_gteq] (not echoed in meta.filter); set updatedAtFilter to "auto" or "off"',
            { retryable: false },
          );
        }
        ignored = Object.keys(result.filter);
        return undefined;
      }
      p.mode = 'ransack';
      if (!ascending(result.items, 1)) {
        throw new VendorResponseError(
          CLICK_MAINT_VENDOR,
          'listParts',
          'meta.sort',
          'parts are not in updated_at asc order',
        );
      }
      const count = result.items.length + result.skipped.length;
      const items = result.items.filter((part) => within(p, part.updatedAtMs));
      const skipped = result.skipped.filter((bad) => within(p, bad.updatedAtMs));
      // Past the backfill's end: the rest is newer still (updated_at asc).
      const beyond = items.length + skipped.length < count;
      const last = beyond || result.pagination.page >= result.pagination.total_pages || count === 0;
      return { items, skipped, last };
    },
  });
  p.pages = read.pages;
  p.failure = read.failure;
  p.limitNote += heldNote(read.heldAtTies);
  if (read.stoppedAtLimit) {
    p.limitNote = `; stopped after ${read.pages} pages (maxPagesPerRun), continuing next run`;
    log.warn('click-maint parts poll: page limit reached; the rest is read on the next run', {
      entityId,
      pages: read.pages,
      watermark: canonicalIso(read.watermarkMs),
    });
  }
  if (ignored) {
    log.warn('click-maint parts poll: the API ignores filter[updated_at_gteq]; using the fallback', {
      entityId,
      echoed: ignored,
    });
    // What this run read but did not emit is read again by the fallback.
    p.mode = 'fallback';
    p.changes.discard();
  }
}

/**
 * The fallback's read: updated_at desc until a part older than the watermark's second (or the end),
 * keeping each record's newest version. `undefined` when it did not get there (failure or page limit).
 */
async function readNewestFirst(
  p: EntityPoll,
  watermark: Watermark,
): Promise<Map<string, Newest> | undefined> {
  const { entityId, changes } = p;
  /** Newest version read of each record (parsed or not), by id. */
  const newest = new Map<string, Newest>();
  // Page numbers over a changing set can repeat a record: keep its newest version.
  const keep = (id: string, entry: Newest) => {
    const known = newest.get(id);
    if (!known || entry.ms >= known.ms) newest.set(id, entry);
  };
  try {
    for (let page = 1; p.pages < p.o.maxPagesPerRun; page++) {
      const result = await p.client.listParts(entityId, {
        sort: 'updated_at desc',
        perPage: p.perPage,
        page,
      });
      p.pages++;
      if (!ascending(result.items, -1)) {
        throw new VendorResponseError(
          CLICK_MAINT_VENDOR,
          'listParts',
          'meta.sort',
          'parts are not in updated_at desc order',
        );
      }
      let older = false;
      for (const part of result.items) {
        if (part.updatedAtMs < watermark.from) {
          older = true;
          break;
        }
        if (!within(p, part.updatedAtMs)) continue;
        if (watermark.covers(tieKey(part), part.updatedAtMs)) continue;
        keep(String(part.id), { ms: part.updatedAtMs, part });
      }
      for (const bad of result.skipped) {
        if (bad.updatedAtMs === undefined) changes.skip(bad);
        else if (bad.updatedAtMs < watermark.from) older = true;
        else if (!within(p, bad.updatedAtMs)) continue;
        else if (!watermark.covers(unreadableKey(bad.record, bad.updatedAtMs), bad.updatedAtMs)) {
          keep(bad.record, { ms: bad.updatedAtMs, bad });
        }
      }
      const count = result.items.length + result.skipped.length;
      if (older || result.pagination.page >= result.pagination.total_pages || count === 0) return newest;
    }
  } catch (error) {
    p.failure = { error };
    return undefined;
  }
  p.limitNote = `; stopped after ${p.pages} pages (maxPagesPerRun) before reaching the watermark, nothing emitted`;
  p.log.error('click-maint parts poll: the fallback read did not reach the watermark within maxPagesPerRun', {
    entityId,
    pages: p.pages,
    watermark: canonicalIso(watermark.ms),
    fix: 'raise maxPagesPerRun (or perPage); the fallback cannot emit before it has read down to the watermark',
  });
  return undefined;
}

/** fallback: read updated_at desc down to the watermark, then emit what was read oldest first. */
async function* readFallback(p: EntityPoll): AsyncGenerator<PollStep<ClickMaintPartsPollState>, void> {
  const newest = await readNewestFirst(p, p.changes.emitted.copy());
  if (!newest) {
    // Nothing of an incomplete read is emitted, skipped records included: they are read again.
    p.changes.discard();
    return;
  }
  const idOf = (e: Newest) => ('part' in e ? e.part.id : Number(e.bad.record));
  const ordered = [...newest.values()].sort((a, b) => a.ms - b.ms || idOf(a) - idOf(b));
  // Read whole down to the watermark: the last second's ties may be summarised (bounded ties).
  const held = yield* p.changes.takeWhole({
    items: ordered.flatMap((e) => ('part' in e ? [e.part] : [])),
    skipped: ordered.flatMap((e) => ('bad' in e ? [e.bad] : [])),
  });
  p.limitNote += heldNote(held);
}

/** Hands over what is pending (progress made before a failure too), then the failure. */
function* finishEntity(p: EntityPoll): Generator<PollStep<ClickMaintPartsPollState>, void> {
  const { entityId, changes, mode, pages } = p;
  if (changes.hasPending) yield changes.cut(p.limitNote);
  else if (changes.emittedCount === 0 && (!p.failure || mode !== p.start.mode)) {
    // Nothing new: an empty step keeps the run (and a newly learned mode) in the state and run log.
    // A failed entity with nothing learned keeps its state untouched.
    const read = `${mode ?? 'not read'}, ${pages} page${pages === 1 ? '' : 's'} read`;
    yield {
      events: [],
      state: p.commit(entityState(p, changes.emitted.state())),
      summary: p.failure
        ? `entity ${entityId}: read failed (${read})`
        : `entity ${entityId}: no part changes since ${p.since} (${read})${p.limitNote}`,
    };
  }
  if (p.failure) throw p.failure.error;
}

/** Polls one entity; yields its steps (each with the whole poll state). */
async function* pollEntity(run: EntityRun): AsyncGenerator<PollStep<ClickMaintPartsPollState>, void> {
  const p = startEntityPoll(run);
  if (p.mode !== 'fallback') yield* readRansack(p);
  if (p.mode === 'fallback' && !p.failure) yield* readFallback(p);
  yield* finishEntity(p);
}

export const CLICK_MAINT_PARTS_BACKFILL_NOTE =
  'Re-reads, per entity, the parts whose latest change (updated_at) lies in the window, as they are now: ' +
  'Click Maint keeps no history, so a part changed again since is not in the window (the live poll reads ' +
  "that change). Its events batch parts differently from the live poll's runs, so their ids are new: " +
  'repeats are absorbed per part version by the stock sync (a version it already has changes nothing), ' +
  'not by the event claim. In fallback mode (updatedAtFilter off) every part changed since the window ' +
  'start is read (newest first) to find those in it.';

/**
 * Backfill: each entity read like the live poll (ransack keyset, or the fallback) from a watermark at
 * `from`'s second kept in memory only, leaving out parts updated after `to`. No page limit: the window
 * bounds the read.
 */
async function* backfillParts(
  input: BackfillInput<ClickMaintPartsPollOptions, ClickMaintPartsPollDeps>,
): AsyncGenerator<BackfillStep> {
  const { from, to, deps, log } = input;
  const o = { ...resolveClickMaintPartsPollOptions(input.options), maxPagesPerRun: 100_000 };
  const { client } = deps;
  const window = `${from.toISOString()}..${to.toISOString()}`;
  let parts = 0;
  const entityIds = await client.resolveEntities();
  for (const entityId of entityIds) {
    const steps = pollEntity({
      entityId,
      readAtMs: input.now.getTime(),
      start: { watermark: canonicalIso(floorSecond(from.getTime())), seen: [] },
      configured: client.config.updatedAtFilter,
      o,
      perPage: o.perPage ?? client.config.perPage,
      client,
      log,
      // Nothing is saved: the live poll state is not this run's.
      commit: () => ({ entities: {} }),
      untilMs: to.getTime(),
      // Nothing waits either: every second counts as settled.
      maxTieKeys: o.maxTieKeys,
      settledBeforeMs: Number.POSITIVE_INFINITY,
    });
    for await (const step of steps) {
      if (step.events.length === 0 && !step.skipped) continue;
      for (const e of step.events) parts += (e.data as ClickMaintPartsChangedData).parts.length;
      yield {
        events: step.events,
        summary: step.summary.replace(/changes since \S+/, `changes in ${window}`),
        ...(step.skipped ? { skipped: step.skipped } : {}),
      };
    }
  }
  yield {
    events: [],
    summary: `${parts} part change${parts === 1 ? '' : 's'} in ${window} over ${entityIds.length} entit${entityIds.length === 1 ? 'y' : 'ies'}`,
  };
}

export const clickMaintPartsPollSource: PollSource<
  ClickMaintPartsPollOptions,
  ClickMaintPartsPollState,
  ClickMaintPartsPollDeps,
  typeof clickMaintPartsEvents
> = {
  id: CLICK_MAINT_PARTS_POLL_SOURCE_ID,
  vendor: 'click-maint',
  events: clickMaintPartsEvents,
  stateSchema: clickMaintPartsPollStateSchema,
  connect: (env) => ({ client: connectClickMaint(env) }),
  backfillNote: CLICK_MAINT_PARTS_BACKFILL_NOTE,
  backfill: backfillParts,

  async *poll({ state, options, now, deps, log }) {
    const o = resolveClickMaintPartsPollOptions(options);
    const { client } = deps;
    const perPage = o.perPage ?? client.config.perPage;
    const configured = client.config.updatedAtFilter;
    const current: ClickMaintPartsPollState = structuredClone(state ?? { entities: {} });
    const entityIds = await client.resolveEntities();

    let firstError: unknown;
    const quiet: string[] = [];
    let yielded = 0;
    for (const entityId of entityIds) {
      const key = String(entityId);
      const known = current.entities[key];
      if (!known && o.startFrom === 'now') {
        current.entities[key] = { watermark: canonicalIso(floorSecond(now.getTime())), seen: [] };
        quiet.push(
          `entity ${entityId}: first run, startFrom now (watermark ${current.entities[key].watermark})`,
        );
        continue;
      }
      const start = known ?? { watermark: EPOCH_WATERMARK, seen: [] };
      const commit = (entityState: ClickMaintEntityPollState) => {
        current.entities[key] = entityState;
        return structuredClone(current);
      };
      const steps = pollEntity({
        entityId,
        readAtMs: now.getTime(),
        start,
        configured,
        o,
        perPage,
        client,
        log,
        commit,
        // One item holds every entity's state: each gets its share of the bound.
        maxTieKeys: Math.max(1, Math.floor(o.maxTieKeys / entityIds.length)),
        settledBeforeMs: now.getTime() - o.tieSettleMs,
      });
      try {
        for await (const step of steps) {
          // A step that reports skipped records is yielded itself, so they are reported before the
          // state that moves past them is saved.
          if (step.events.length === 0 && !step.skipped) {
            // A quiet entity: fold into one summary step at the end (its state is already in `current`).
            quiet.push(step.summary);
            continue;
          }
          yielded++;
          yield step;
        }
      } catch (error) {
        firstError ??= error;
        log.error('click-maint parts poll: entity failed', {
          entityId,
          error: (error as Error)?.message ?? String(error),
        });
        if (isRateLimit(error)) break;
      }
    }
    // One step with the final state when something is not saved yet (quiet entities, a learned mode,
    // a new entity) or nothing was yielded, so every run shows in the run log.
    if (yielded === 0 || quiet.length > 0) {
      yield {
        events: [],
        state: structuredClone(current),
        summary: quiet.length > 0 ? quiet.join('; ') : 'no entities to poll',
      };
    }
    if (firstError) throw firstError;
  },
};
