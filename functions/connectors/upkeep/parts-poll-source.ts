/**
 * The `upkeep.parts` poll source: UpKeep sends no part or inventory webhooks (reference §4), so the
 * parts changed since a watermark are read with
 * `GET /parts?updatedAtGreaterThanOrEqualTo=<ms>&orderBy=updatedAt ASC&limit=<n>&offset=<k>`
 * and emitted as `upkeep.parts.changed` events of up to `partsPerEvent` part snapshots.
 *
 * Watermark: `{ watermarkMs, idsAtWatermark }`, the updatedAt of the last part emitted and the
 * parts already emitted at exactly that millisecond, as `id#quantity/minimum` (so a part changed
 * twice in one millisecond is still seen). The filter is `>=`, so a part that shares the
 * watermark's millisecond is read again and dropped if already emitted: ties are neither skipped
 * nor repeated.
 *
 * Paging: keyset first. After each page the query starts again at the advanced watermark with
 * offset 0, so a part updated while we page (it moves to the end of the order) cannot shift an
 * unseen part out of the window, which plain offset paging over `updatedAt ASC` would do (reference
 * §2.4 INF). Offset is used only inside a run of identical timestamps longer than a page (the
 * watermark cannot advance there); within such a run the order of ties is UpKeep's, so keep
 * `pageSize` above the largest expected batch of same-millisecond updates (bulk imports).
 *
 * The end of the list is a page shorter than `pageSize`, or a 404 past offset 0 (reference §2.4 EXT).
 * The runtime enqueues a step's event before it saves the step's state, and a step's state covers
 * exactly the parts of its event, so a crash in between replays the same step from the same state,
 * which yields the same event id when UpKeep is unchanged. When a part changed meanwhile within the
 * same updatedAt millisecond (a bulk import, a fast second edit), the replay is a different event that
 * carries the other parts again (absorbed downstream) and the part's newer version at the same
 * updatedAt: the event's `readAtMs` (this run's time) orders the two versions, so the stock flow
 * keeps the newer one whichever event it handles last.
 *
 * A part that does not parse (e.g. `quantity: "abc"`) is skipped, not fatal: it goes into the step's
 * `skipped` (the runtime logs it and writes a run-log entry) and the watermark moves past it like past
 * an emitted part (key `id#unreadable` at its updatedAt), so the parts after it still sync and it is
 * read again only when it changes. One whose updatedAt cannot be read either cannot be placed: the
 * watermark moves past it only with the readable parts, so it is reported on each run that reads it.
 * A part without a quantity (optional in UpKeep's doc) is not skipped: it is emitted with
 * `quantity: null` (unknown), and the stock flows write nothing for it.
 *
 * Limits: `idsAtWatermark` holds every id of the last millisecond, so a bulk import of N parts in
 * one millisecond stores N ids (about 20 bytes each, against DynamoDB's 400 KB item), and each run
 * re-reads those N parts until a later change moves the watermark. `startFrom: 'now'` uses our
 * clock against UpKeep's updatedAt: a fast local clock can miss changes made in the skew.
 */

import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { ConfigError, VendorHttpError } from '../../core/errors.ts';
import { defineEvents } from '../../core/events.ts';
import type { FlowEvent, PollSource, PollStep, SkippedRecord } from '../../core/flow.ts';
import { parseWith } from '../../core/schema.ts';
import { connectUpKeep, type SkippedPart, type UpKeepClient } from './client.ts';
import type { Part } from './schemas.ts';

export const UPKEEP_PARTS_POLL_SOURCE_ID = 'upkeep.parts';
export const UPKEEP_PARTS_CHANGED = 'upkeep.parts.changed';
/** `source` of the events this poller emits. */
export const UPKEEP_POLL_EVENT_SOURCE = 'upkeep.poll';
/**
 * Upper bound on one event's `data` as JSON, whatever `partsPerEvent` allows: an SQS message is at
 * most 256 KB, and the envelope and attributes need room too.
 */
export const MAX_PARTS_EVENT_DATA_BYTES = 200 * 1024;

export const upkeepPartsPollOptionsSchema = z.object({
  /** `limit` of each `GET /parts` (no maximum is documented; 1000 is ours). */
  pageSize: z._default(z.int().check(z.gte(1), z.lte(1000)), 100),
  /** Parts per event (a byte cap, MAX_PARTS_EVENT_DATA_BYTES, applies as well). */
  partsPerEvent: z._default(z.int().check(z.gte(1), z.lte(2000)), 500),
  /** First run only (no stored state): read every part, or start at now and emit nothing. */
  startFrom: z._default(z.enum(['beginning', 'now']), 'beginning'),
  /** A run stops after this many pages (with a warning) and continues on the next tick. */
  maxPagesPerRun: z._default(z.int().check(z.gte(1), z.lte(100_000)), 200),
});
/** What a flow passes (defaults optional). */
export type UpKeepPartsPollOptions = z.input<typeof upkeepPartsPollOptionsSchema>;
/** With defaults applied. */
export type ResolvedUpKeepPartsPollOptions = z.output<typeof upkeepPartsPollOptionsSchema>;

export const upkeepPartsPollStateSchema = z.object({
  /** updatedAt (unix ms) of the last part emitted; 0 before the first. */
  watermarkMs: z.int().check(z.nonnegative()),
  /** Ids already emitted whose updatedAt is exactly `watermarkMs`. */
  idsAtWatermark: z.array(z.string().check(z.minLength(1))),
});
export type UpKeepPartsPollState = z.infer<typeof upkeepPartsPollStateSchema>;

/** One part as the event carries it. */
export const partSnapshotSchema = z.object({
  id: z.string().check(z.minLength(1)),
  name: z.string(),
  /** Quantity on hand (UpKeep's string is parsed by the client); null when the part has none (unknown). */
  quantity: z.nullable(z.number()),
  /** null when the part has no minimum. */
  minimumQuantity: z.nullable(z.number()),
  /** The part's updatedAt, unix ms. */
  updatedAtMs: z.number(),
  partNumber: z.optional(z.string()),
});
export type PartSnapshot = z.infer<typeof partSnapshotSchema>;

/** `data` of an `upkeep.parts.changed` event: parts in updatedAt order (a part may appear twice). */
export const upkeepPartsChangedDataSchema = z.object({
  parts: z.array(partSnapshotSchema).check(z.minLength(1)),
  /**
   * When the run read these parts (unix ms, our clock). Many parts can share one updatedAt
   * millisecond, and a step replayed after a crash can carry a newer version of a part at the same
   * updatedAt as the event enqueued before the crash: the later read is the newer version.
   */
  readAtMs: z.optional(z.number()),
});
export type UpKeepPartsChangedData = z.infer<typeof upkeepPartsChangedDataSchema>;

/** The one event this source emits: the parts of one poll step that changed. */
export const upkeepPartsEvents = defineEvents('upkeep', {
  'parts.changed': {
    schema: upkeepPartsChangedDataSchema,
    description: 'UpKeep parts changed since the last poll (quantities and minimums)',
  },
});

export interface UpKeepPartsPollDeps {
  client: UpKeepClient;
}

/** Apply defaults and validate; a ConfigError names the bad option. */
export const resolveUpKeepPartsPollOptions = (options: unknown): ResolvedUpKeepPartsPollOptions =>
  parseWith(
    upkeepPartsPollOptionsSchema,
    options ?? {},
    (p) => new ConfigError(`options.${p.path}`, p.message),
  );

export const toPartSnapshot = (part: Part): PartSnapshot => ({
  id: part.id,
  name: part.name,
  quantity: part.quantity,
  minimumQuantity: part.minimumQuantity,
  updatedAtMs: part.updatedAtMs,
  ...(part.partNumber !== undefined ? { partNumber: part.partNumber } : {}),
});

type Versioned = Pick<PartSnapshot, 'id' | 'updatedAtMs'> &
  Partial<Pick<PartSnapshot, 'quantity' | 'minimumQuantity'>>;

/**
 * A part's identity at the watermark: its id plus the stock fields, so a second change of the same
 * part within the same millisecond (UpKeep's timestamps stop at ms) is still seen as new.
 */
export const tieKey = (p: Versioned): string => `${p.id}#${p.quantity ?? ''}/${p.minimumQuantity ?? ''}`;

/** `upkeep.parts:<updatedAtMs of the first part>:<sha256 of the ordered id#stock@updatedAtMs list, 16 hex>`. */
export function partsEventId(parts: readonly Versioned[]): string {
  const digest = createHash('sha256')
    .update(parts.map((p) => `${tieKey(p)}@${p.updatedAtMs}`).join('\n'), 'utf8')
    .digest('hex')
    .slice(0, 16);
  return `upkeep.parts:${parts[0]?.updatedAtMs ?? 0}:${digest}`;
}

/** The watermark key of a part that could not be parsed (read again only once it changes). */
export const unreadableKey = (id: string): string => `${id}#unreadable`;

/**
 * A watermark that records are folded into by `key` (tieKey, or unreadableKey) and updatedAt. Order
 * of folding does not matter: what is older than the watermark is covered anyway.
 */
class Watermark {
  ms: number;
  private ids: Set<string>;
  constructor(state: UpKeepPartsPollState) {
    this.ms = state.watermarkMs;
    this.ids = new Set(state.idsAtWatermark);
  }
  /** Already covered: older than the watermark, or at it and emitted in this very version. */
  covers(key: string, ms: number): boolean {
    return ms < this.ms || (ms === this.ms && this.ids.has(key));
  }
  add(key: string, ms: number): void {
    if (ms > this.ms) {
      this.ms = ms;
      this.ids = new Set([key]);
    } else if (ms === this.ms) {
      this.ids.add(key);
    }
  }
  state(): UpKeepPartsPollState {
    return { watermarkMs: this.ms, idsAtWatermark: [...this.ids] };
  }
}

const describeSince = (ms: number) => (ms === 0 ? 'the beginning' : new Date(ms).toISOString());

const skippedPart = (bad: SkippedPart): SkippedRecord => ({
  kind: 'UpKeep part',
  record: bad.record,
  field: bad.field,
  message: bad.message,
  next:
    bad.updatedAtMs === undefined
      ? 'not synced; its updatedAt cannot be read either, so each poll that reads it reports it again'
      : 'not synced until it changes again in UpKeep',
});

/** A page's records in updatedAt order: parsed parts and the skipped ones that can be placed. */
type Entry = { ms: number; part: Part } | { ms: number; bad: SkippedPart };

export const upkeepPartsPollSource: PollSource<
  UpKeepPartsPollOptions,
  UpKeepPartsPollState,
  UpKeepPartsPollDeps,
  typeof upkeepPartsEvents
> = {
  id: UPKEEP_PARTS_POLL_SOURCE_ID,
  vendor: 'upkeep',
  events: upkeepPartsEvents,
  stateSchema: upkeepPartsPollStateSchema,
  connect: (env) => ({ client: connectUpKeep(env) }),

  async *poll({ state, options, now, deps, log }) {
    const o = resolveUpKeepPartsPollOptions(options);
    if (!state && o.startFrom === 'now') {
      const watermarkMs = now.getTime();
      yield {
        events: [],
        state: { watermarkMs, idsAtWatermark: [] },
        summary: `first run, startFrom now: watermark set to ${new Date(watermarkMs).toISOString()}, earlier changes not read`,
      };
      return;
    }

    const start: UpKeepPartsPollState = state ?? { watermarkMs: 0, idsAtWatermark: [] };
    const since = describeSince(start.watermarkMs);
    /** Everything read so far this run (drives the query and the filter). */
    const read = new Watermark(start);
    /** Everything covered by the steps yielded so far (what each step saves). */
    const emitted = new Watermark(start);
    let pending: PartSnapshot[] = [];
    /** Skipped records since the last cut, with their watermark key when they can be placed. */
    let pendingSkips: { skip: SkippedRecord; place?: { key: string; ms: number } }[] = [];
    /** Unplaceable skipped records reported this run (a keyset restart may read them again). */
    const unplaced = new Set<string>();
    let pendingBytes = 0;
    let emittedCount = 0;
    let steps = 0;

    const cut = (note = ''): PollStep<UpKeepPartsPollState> => {
      const parts = pending;
      const skips = pendingSkips;
      pending = [];
      pendingSkips = [];
      pendingBytes = 0;
      for (const p of parts) emitted.add(tieKey(p), p.updatedAtMs);
      for (const { place } of skips) if (place) emitted.add(place.key, place.ms);
      steps++;
      const skipped = skips.length > 0 ? { skipped: skips.map((x) => x.skip) } : {};
      if (parts.length === 0) {
        return {
          events: [],
          state: emitted.state(),
          summary: `no readable part changes since ${since}${note}`,
          ...skipped,
        };
      }
      const first = emittedCount + 1;
      emittedCount += parts.length;
      const last = parts[parts.length - 1] as PartSnapshot;
      const event: FlowEvent = {
        id: partsEventId(parts),
        type: UPKEEP_PARTS_CHANGED,
        source: UPKEEP_POLL_EVENT_SOURCE,
        occurredAt: new Date(last.updatedAtMs).toISOString(),
        subject: 'parts',
        data: { parts, readAtMs: now.getTime() } satisfies UpKeepPartsChangedData,
      };
      return {
        events: [event],
        state: emitted.state(),
        summary: `parts ${first}..${emittedCount} of changes since ${since}${note}`,
        ...skipped,
      };
    };

    let offset = 0;
    let pages = 0;
    let stoppedAtLimit = false;
    let failure: { error: unknown } | undefined;
    try {
      for (;;) {
        if (pages >= o.maxPagesPerRun) {
          stoppedAtLimit = true;
          break;
        }
        const watermarkBefore = read.ms;
        let page: Awaited<ReturnType<UpKeepClient['listParts']>>;
        try {
          page = await deps.client.listParts({
            updatedAtGte: read.ms,
            orderBy: 'updatedAt ASC',
            limit: o.pageSize,
            offset,
          });
        } catch (error) {
          // Some clients see 404 instead of an empty page past the end (reference §2.4 EXT).
          if (error instanceof VendorHttpError && error.status === 404 && offset > 0) break;
          throw error;
        }
        pages++;
        const entries: Entry[] = [];
        for (const part of page.items) entries.push({ ms: part.updatedAtMs, part });
        for (const bad of page.skipped) {
          if (bad.updatedAtMs !== undefined) entries.push({ ms: bad.updatedAtMs, bad });
          else if (!unplaced.has(bad.record)) {
            unplaced.add(bad.record);
            pendingSkips.push({ skip: skippedPart(bad) });
          }
        }
        // UpKeep sorts by updatedAt; the parsed and skipped records are merged back in that order.
        entries.sort((a, b) => a.ms - b.ms);
        for (const entry of entries) {
          if ('bad' in entry) {
            const key = unreadableKey(entry.bad.record);
            if (read.covers(key, entry.ms)) continue;
            read.add(key, entry.ms);
            pendingSkips.push({ skip: skippedPart(entry.bad), place: { key, ms: entry.ms } });
            continue;
          }
          const { part } = entry;
          if (read.covers(tieKey(part), part.updatedAtMs)) continue;
          read.add(tieKey(part), part.updatedAtMs);
          const snapshot = toPartSnapshot(part);
          const bytes = Buffer.byteLength(JSON.stringify(snapshot), 'utf8') + 1;
          const full = pending.length >= o.partsPerEvent || pendingBytes + bytes > MAX_PARTS_EVENT_DATA_BYTES;
          if (pending.length > 0 && full) yield cut();
          pending.push(snapshot);
          pendingBytes += bytes;
        }
        if (pending.length >= o.partsPerEvent) yield cut();
        const count = page.items.length + page.skipped.length;
        if (count < o.pageSize) break;
        // Keyset: the watermark moved, so query again from it. Otherwise the whole page sat at the
        // watermark (a run of ties longer than a page): step over it by offset.
        offset = read.ms > watermarkBefore ? 0 : offset + count;
      }
    } catch (error) {
      failure = { error };
    }

    const note = stoppedAtLimit ? `; stopped after ${pages} pages (maxPagesPerRun), continuing next run` : '';
    if (stoppedAtLimit && steps === 0 && pending.length === 0 && pendingSkips.length === 0) {
      // Every page was already-emitted ties at the watermark: raising a limit is the only way on.
      log.error('upkeep parts poll: no progress; the parts sharing the watermark fill every page', {
        source: UPKEEP_PARTS_POLL_SOURCE_ID,
        watermark: new Date(read.ms).toISOString(),
        idsAtWatermark: start.idsAtWatermark.length,
        pageSize: o.pageSize,
        maxPagesPerRun: o.maxPagesPerRun,
        fix: 'raise pageSize or maxPagesPerRun above the number of parts updated in that millisecond',
      });
    } else if (stoppedAtLimit) {
      log.warn('upkeep parts poll: page limit reached; the rest is read on the next run', {
        source: UPKEEP_PARTS_POLL_SOURCE_ID,
        pages,
        maxPagesPerRun: o.maxPagesPerRun,
        watermark: new Date(read.ms).toISOString(),
        emitted: emittedCount + pending.length,
      });
    }
    // Progress made before a failure is still handed over (enqueued and saved), then the error.
    if (pending.length > 0 || pendingSkips.length > 0) yield cut(note);
    else if (note && steps > 0) {
      yield {
        events: [],
        state: emitted.state(),
        summary: `${emittedCount} part changes since ${since}${note}`,
      };
    }
    if (failure) throw failure.error;
    if (steps === 0) {
      // Nothing new: one empty step with the unchanged state keeps the run visible in the run log.
      yield {
        events: [],
        state: start,
        summary: `no part changes since ${since} (${pages} page${pages === 1 ? '' : 's'} read)${note}`,
      };
    }
  },
};
