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
 *   an error in `ransack` mode, a switch to the fallback in `auto` mode.
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
 * Per-entity failures are isolated: the parts read before the failure are handed over, the other
 * entities are polled, then the first error is thrown. A rate-limit error stops the run (every entity
 * shares the account's budget).
 */

import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { ConfigError, VendorHttpError, VendorResponseError } from '../../core/errors.ts';
import { defineEvents } from '../../core/events.ts';
import type { FlowEvent, PollSource, PollStep, SkippedRecord } from '../../core/flow.ts';
import type { Log } from '../../core/log.ts';
import { RateLimitedError } from '../../core/rate-limit.ts';
import { parseWith } from '../../core/schema.ts';
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

export const clickMaintPartsPollOptionsSchema = z.object({
  /** Parts per event (a byte cap, MAX_PARTS_EVENT_DATA_BYTES, applies as well). */
  partsPerEvent: z._default(z.int().check(z.gte(1), z.lte(500)), 50),
  /** `per_page` of the reads (default: the vendor config's `perPage`). */
  perPage: z.optional(z.int().check(z.gte(1), z.lte(100))),
  /** Per entity and run; ransack mode continues next run, the fallback logs an error and skips. */
  maxPagesPerRun: z._default(z.int().check(z.gte(1), z.lte(100_000)), 200),
  /** An entity without state: read every part, or start at now and emit nothing. */
  startFrom: z._default(z.enum(['beginning', 'now']), 'beginning'),
});
/** What a flow passes (defaults optional). */
export type ClickMaintPartsPollOptions = z.input<typeof clickMaintPartsPollOptionsSchema>;
export type ResolvedClickMaintPartsPollOptions = z.output<typeof clickMaintPartsPollOptionsSchema>;

export const POLL_MODES = ['ransack', 'fallback'] as const;
export type ClickMaintPollMode = (typeof POLL_MODES)[number];

const isoSchema = z.iso.datetime({ offset: true });

export const clickMaintEntityPollStateSchema = z.object({
  /** updated_at of the last part emitted (EPOCH_WATERMARK before the first). */
  watermark: isoSchema,
  /** Tie keys of the parts already emitted within the watermark's second. */
  seen: z.array(z.string().check(z.minLength(1))),
  /** How this entity is read; remembered once detected (`auto`) or used (`ransack` / `off`). */
  mode: z.optional(z.enum(POLL_MODES)),
});
export type ClickMaintEntityPollState = z.infer<typeof clickMaintEntityPollStateSchema>;

export const clickMaintPartsPollStateSchema = z.object({
  entities: z.record(z.string().check(z.regex(/^\d+$/)), clickMaintEntityPollStateSchema),
});
export type ClickMaintPartsPollState = z.infer<typeof clickMaintPartsPollStateSchema>;

/** One part as the event carries it. Non-stock parts are included (the flow skips them). */
export const clickMaintPartSnapshotSchema = z.object({
  id: z.int(),
  name: z.string(),
  number: z.optional(z.nullable(z.string())),
  onHandQty: z.number(),
  minQty: z.nullable(z.number()),
  available: z.nullable(z.number()),
  isNonStock: z.boolean(),
  /** Canonical ISO (`2026-11-02T08:00:00Z`). */
  updatedAt: isoSchema,
});
export type ClickMaintPartSnapshot = z.infer<typeof clickMaintPartSnapshotSchema>;

/** `data` of a `click-maint.parts.changed` event: parts of one entity in updated_at order. */
export const clickMaintPartsChangedDataSchema = z.object({
  entityId: z.int(),
  parts: z.array(clickMaintPartSnapshotSchema).check(z.minLength(1)),
  /**
   * When the run read these parts (unix ms, our clock). updated_at has whole seconds, so two reads of
   * one part can share it; the later read is the newer version (stock-sync orders versions by it).
   */
  readAtMs: z.optional(z.number()),
});
export type ClickMaintPartsChangedData = z.infer<typeof clickMaintPartsChangedDataSchema>;

/** The one event this source emits: one entity's parts of one poll step that changed. */
export const clickMaintPartsEvents = defineEvents('click-maint', {
  'parts.changed': {
    schema: clickMaintPartsChangedDataSchema,
    description: 'Click Maint parts of one entity changed since the last poll (on hand and minimum)',
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

/** An entity's watermark that parts (oldest first) are folded into. */
class Watermark {
  ms: number;
  private seen: Set<string>;
  constructor(state: Pick<ClickMaintEntityPollState, 'watermark' | 'seen'>) {
    this.ms = Date.parse(state.watermark);
    this.seen = new Set(state.seen);
  }
  /** The second every read starts at (it is read again: the API has whole seconds). */
  get second(): number {
    return floorSecond(this.ms);
  }
  /** Already covered: before the watermark's second, or in it and emitted in this very version. */
  covers(key: string, ms: number): boolean {
    return ms < this.second || this.seen.has(key);
  }
  /** Fold a record in by its tie key (tieKey or unreadableKey) and updated_at. */
  add(key: string, ms: number): void {
    if (floorSecond(ms) > this.second) {
      this.ms = ms;
      this.seen = new Set([key]);
    } else if (floorSecond(ms) === this.second) {
      this.ms = Math.max(this.ms, ms);
      this.seen.add(key);
    }
  }
  state(mode: ClickMaintPollMode | undefined): ClickMaintEntityPollState {
    return { watermark: canonicalIso(this.ms), seen: [...this.seen], ...(mode ? { mode } : {}) };
  }
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

/** A page's records in updated_at order: parsed parts and the skipped ones that can be placed. */
type Entry = { ms: number; part: ClickMaintPart } | { ms: number; bad: ClickMaintSkippedRecord };

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
}

/** Polls one entity; yields its steps (each with the whole poll state). */
async function* pollEntity(run: EntityRun): AsyncGenerator<PollStep<ClickMaintPartsPollState>, void> {
  const { entityId, start, o, client, log } = run;
  const since = describeSince(start.watermark);
  let mode: ClickMaintPollMode | undefined =
    run.configured === 'ransack' ? 'ransack' : run.configured === 'off' ? 'fallback' : start.mode;
  /** Everything covered by the steps yielded so far (what each step saves). */
  const emitted = new Watermark(start);
  let pending: ClickMaintPartSnapshot[] = [];
  let pendingMs: number[] = [];
  /** Skipped records since the last cut, with their tie key when they can be placed. */
  let pendingSkips: { skip: SkippedRecord; place?: { key: string; ms: number } }[] = [];
  /** Unplaceable skipped records reported this run (a keyset restart may read them again). */
  const unplaced = new Set<string>();
  let pendingBytes = 0;
  let emittedCount = 0;

  const cut = (note = ''): PollStep<ClickMaintPartsPollState> => {
    const parts = pending;
    const skips = pendingSkips;
    parts.forEach((p, i) => {
      emitted.add(tieKey(p), pendingMs[i] as number);
    });
    for (const { place } of skips) if (place) emitted.add(place.key, place.ms);
    pending = [];
    pendingMs = [];
    pendingSkips = [];
    pendingBytes = 0;
    const skipped = skips.length > 0 ? { skipped: skips.map((x) => x.skip) } : {};
    if (parts.length === 0) {
      return {
        events: [],
        state: run.commit(emitted.state(mode)),
        summary: `entity ${entityId}: no readable part changes since ${since} (${mode})${note}`,
        ...skipped,
      };
    }
    const first = emittedCount + 1;
    emittedCount += parts.length;
    const last = parts[parts.length - 1] as ClickMaintPartSnapshot;
    const event: FlowEvent = {
      id: partsEventId(entityId, parts),
      type: CLICK_MAINT_PARTS_CHANGED,
      source: CLICK_MAINT_POLL_EVENT_SOURCE,
      occurredAt: new Date(Date.parse(last.updatedAt)).toISOString(),
      subject: `entity:${entityId}`,
      data: { entityId, parts, readAtMs: run.readAtMs } satisfies ClickMaintPartsChangedData,
    };
    return {
      events: [event],
      state: run.commit(emitted.state(mode)),
      summary: `entity ${entityId}: parts ${first}..${emittedCount} of changes since ${since} (${mode})${note}`,
      ...skipped,
    };
  };
  /** Queue a skipped record (placed: folded into the watermark with the step that reports it). */
  const skip = (bad: ClickMaintSkippedRecord, read: Watermark | undefined): void => {
    if (bad.updatedAtMs === undefined) {
      if (unplaced.has(bad.record)) return;
      unplaced.add(bad.record);
      pendingSkips.push({ skip: skippedPart(entityId, bad) });
      return;
    }
    const key = unreadableKey(bad.record, bad.updatedAtMs);
    if (read) {
      if (read.covers(key, bad.updatedAtMs)) return;
      read.add(key, bad.updatedAtMs);
    }
    pendingSkips.push({ skip: skippedPart(entityId, bad), place: { key, ms: bad.updatedAtMs } });
  };
  /** Queue one part for the next event; returns a step when the event is full. */
  const push = (part: ClickMaintPart): PollStep<ClickMaintPartsPollState> | undefined => {
    const snapshot = toClickMaintPartSnapshot(part);
    const bytes = Buffer.byteLength(JSON.stringify(snapshot), 'utf8') + 1;
    const full = pending.length >= o.partsPerEvent || pendingBytes + bytes > MAX_PARTS_EVENT_DATA_BYTES;
    const step = pending.length > 0 && full ? cut() : undefined;
    pending.push(snapshot);
    pendingMs.push(part.updatedAtMs);
    pendingBytes += bytes;
    return step;
  };

  let pages = 0;
  let failure: { error: unknown } | undefined;
  let limitNote = '';

  // ---- ransack: keyset over filter[updated_at_gteq] + updated_at asc -------------------------
  if (mode !== 'fallback') {
    const read = new Watermark(start);
    let page = 1;
    try {
      for (;;) {
        if (pages >= o.maxPagesPerRun) {
          limitNote = `; stopped after ${pages} pages (maxPagesPerRun), continuing next run`;
          log.warn('click-maint parts poll: page limit reached; the rest is read on the next run', {
            entityId,
            pages,
            watermark: canonicalIso(read.ms),
          });
          break;
        }
        const second = read.second;
        const result = await client.listParts(entityId, {
          filter: { updated_at_gteq: canonicalIso(second) },
          sort: 'updated_at asc',
          perPage: run.perPage,
          page,
        });
        pages++;
        if (!('updated_at_gteq' in result.filter)) {
          if (run.configured === 'ransack') {
            throw new VendorResponseError(
              CLICK_MAINT_VENDOR,
              'listParts',
              'meta.filter.updated_at_gteq',
              'the API ignored filter[updated_at_gteq] (not echoed in meta.filter); set updatedAtFilter to "auto" or "off"',
              { retryable: false },
            );
          }
          log.warn('click-maint parts poll: the API ignores filter[updated_at_gteq]; using the fallback', {
            entityId,
            echoed: Object.keys(result.filter),
          });
          // What this run read but did not emit is read again by the fallback.
          mode = 'fallback';
          pending = [];
          pendingMs = [];
          pendingSkips = [];
          unplaced.clear();
          pendingBytes = 0;
          break;
        }
        mode = 'ransack';
        if (!ascending(result.items, 1)) {
          throw new VendorResponseError(
            CLICK_MAINT_VENDOR,
            'listParts',
            'meta.sort',
            'parts are not in updated_at asc order',
          );
        }
        // The API sorts by updated_at; the parsed and skipped records are merged back in that order.
        const entries: Entry[] = result.items.map((part) => ({ ms: part.updatedAtMs, part }));
        for (const bad of result.skipped) {
          if (bad.updatedAtMs === undefined) skip(bad, undefined);
          else entries.push({ ms: bad.updatedAtMs, bad });
        }
        entries.sort((a, b) => a.ms - b.ms);
        for (const entry of entries) {
          if ('bad' in entry) {
            skip(entry.bad, read);
            continue;
          }
          const { part } = entry;
          if (read.covers(tieKey(part), part.updatedAtMs)) continue;
          read.add(tieKey(part), part.updatedAtMs);
          const step = push(part);
          if (step) yield step;
        }
        if (pending.length >= o.partsPerEvent) yield cut();
        const count = result.items.length + result.skipped.length;
        if (result.pagination.page >= result.pagination.total_pages || count === 0) break;
        // Keyset: the watermark's second moved, so query again from it; else step over the ties.
        page = read.second > second ? 1 : page + 1;
      }
    } catch (error) {
      failure = { error };
    }
  }

  // ---- fallback: updated_at desc until older than the watermark -------------------------------
  if (mode === 'fallback' && !failure) {
    const from = new Watermark(emitted.state(mode));
    /** Newest version read of each record (parsed or not), by id. */
    const newest = new Map<string, Entry>();
    let complete = false;
    try {
      for (let page = 1; ; page++) {
        if (pages >= o.maxPagesPerRun) break;
        const result = await client.listParts(entityId, {
          sort: 'updated_at desc',
          perPage: run.perPage,
          page,
        });
        pages++;
        if (!ascending(result.items, -1)) {
          throw new VendorResponseError(
            CLICK_MAINT_VENDOR,
            'listParts',
            'meta.sort',
            'parts are not in updated_at desc order',
          );
        }
        let older = false;
        // Page numbers over a changing set can repeat a record: keep its newest version.
        const keep = (id: string, entry: Entry) => {
          const known = newest.get(id);
          if (!known || entry.ms >= known.ms) newest.set(id, entry);
        };
        for (const part of result.items) {
          if (part.updatedAtMs < from.second) {
            older = true;
            break;
          }
          if (from.covers(tieKey(part), part.updatedAtMs)) continue;
          keep(String(part.id), { ms: part.updatedAtMs, part });
        }
        for (const bad of result.skipped) {
          if (bad.updatedAtMs === undefined) skip(bad, undefined);
          else if (bad.updatedAtMs < from.second) older = true;
          else if (!from.covers(unreadableKey(bad.record, bad.updatedAtMs), bad.updatedAtMs)) {
            keep(bad.record, { ms: bad.updatedAtMs, bad });
          }
        }
        const count = result.items.length + result.skipped.length;
        if (older || result.pagination.page >= result.pagination.total_pages || count === 0) {
          complete = true;
          break;
        }
      }
    } catch (error) {
      failure = { error };
    }
    if (!complete && !failure) {
      limitNote = `; stopped after ${pages} pages (maxPagesPerRun) before reaching the watermark, nothing emitted`;
      log.error(
        'click-maint parts poll: the fallback read did not reach the watermark within maxPagesPerRun',
        {
          entityId,
          pages,
          watermark: canonicalIso(from.ms),
          fix: 'raise maxPagesPerRun (or perPage); the fallback cannot emit before it has read down to the watermark',
        },
      );
    }
    if (complete) {
      const idOf = (e: Entry) => ('part' in e ? e.part.id : Number(e.bad.record));
      const ordered = [...newest.values()].sort((a, b) => a.ms - b.ms || idOf(a) - idOf(b));
      for (const entry of ordered) {
        if ('bad' in entry) {
          skip(entry.bad, undefined);
          continue;
        }
        const step = push(entry.part);
        if (step) yield step;
      }
    } else {
      // Nothing of an incomplete read is emitted, skipped records included: they are read again.
      pendingSkips = [];
    }
  }

  // Progress made before a failure is still handed over (enqueued and saved), then the error.
  if (pending.length > 0 || pendingSkips.length > 0) yield cut(limitNote);
  else if (emittedCount === 0 && (!failure || mode !== start.mode)) {
    // Nothing new: an empty step keeps the run (and a newly learned mode) in the state and run log.
    // A failed entity with nothing learned keeps its state untouched.
    const read = `${mode ?? 'not read'}, ${pages} page${pages === 1 ? '' : 's'} read`;
    yield {
      events: [],
      state: run.commit(emitted.state(mode)),
      summary: failure
        ? `entity ${entityId}: read failed (${read})`
        : `entity ${entityId}: no part changes since ${since} (${read})${limitNote}`,
    };
  }
  if (failure) throw failure.error;
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
