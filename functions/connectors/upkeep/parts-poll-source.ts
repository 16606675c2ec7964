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
 * Bounded ties (core/changed-since.ts): `idsAtWatermark` lists at most `maxTieKeys` parts. A bulk
 * import of more parts in one millisecond is read whole, emitted in tie-key order, and kept as
 * `idsThrough` (every part of that millisecond up to this key is handled), so the state item stays
 * small however large the import. That assumes UpKeep adds no part to a millisecond older than
 * `tieSettleMs` (our clock); a younger one with more ties waits (at most that long). Each run still
 * re-reads the parts of the watermark's millisecond until a later change moves the watermark, except
 * one summarised by `idsThrough` (with no id listed), which is settled: the read starts after it.
 * Limits: `startFrom: 'now'` uses our clock against UpKeep's updatedAt: a fast local clock can miss
 * changes made in the skew.
 */

import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import {
  type ChangeBatch,
  type ChangedPage,
  type ChangedSince,
  changedSince,
  type KeysetResult,
  type PageAt,
  type WatermarkState,
} from '../../core/changed-since.ts';
import { ConfigError, MillwrightError, VendorHttpError, VendorResponseError } from '../../core/errors.ts';
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
import { lazySchema, parseWith } from '../../core/schema.ts';
import { connectUpKeep, type PartsPage, type SkippedPart, type UpKeepClient } from './client.ts';
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

export const upkeepPartsPollOptionsSchema = lazySchema(() =>
  z.object({
    /** `limit` of each `GET /parts` (no maximum is documented; 1000 is ours). */
    pageSize: z._default(z.int().check(z.gte(1), z.lte(1000)), 100),
    /** Parts per event (a byte cap, MAX_PARTS_EVENT_DATA_BYTES, applies as well). */
    partsPerEvent: z._default(z.int().check(z.gte(1), z.lte(2000)), 500),
    /** First run only (no stored state): read every part, or start at now and emit nothing. */
    startFrom: z._default(z.enum(['beginning', 'now']), 'beginning'),
    /**
     * A run stops after this many pages (with a warning) and continues on the next tick; a millisecond
     * with more than `maxTieKeys` parts is read to its end regardless.
     */
    maxPagesPerRun: z._default(z.int().check(z.gte(1), z.lte(100_000)), 200),
    /** Parts of one millisecond the state lists before it summarises them (bounds the state item). */
    maxTieKeys: z._default(z.int().check(z.gte(1), z.lte(2000)), 1000),
    /** How old (ms, our clock) a millisecond must be before UpKeep is assumed to add no part to it. */
    tieSettleMs: z._default(z.int().check(z.gte(0), z.lte(3_600_000)), 60_000),
  }),
);
/** What a flow passes (defaults optional). */
export type UpKeepPartsPollOptions = z.input<typeof upkeepPartsPollOptionsSchema>;
/** With defaults applied. */
export type ResolvedUpKeepPartsPollOptions = z.output<typeof upkeepPartsPollOptionsSchema>;

export const upkeepPartsPollStateSchema = lazySchema(() =>
  z.object({
    /** updatedAt (unix ms) of the last part emitted; 0 before the first. */
    watermarkMs: z.int().check(z.nonnegative()),
    /** Ids already emitted whose updatedAt is exactly `watermarkMs`. */
    idsAtWatermark: z.array(z.string().check(z.minLength(1))),
    /** Every part at `watermarkMs` whose tie key sorts at or before this one is emitted too. */
    idsThrough: z.optional(z.string().check(z.minLength(1))),
  }),
);
export type UpKeepPartsPollState = z.infer<typeof upkeepPartsPollStateSchema>;

/** One part as the event carries it. */
export const partSnapshotSchema = lazySchema(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    name: z.string(),
    /** Quantity on hand (UpKeep's string is parsed by the client); null when the part has none (unknown). */
    quantity: z.nullable(z.number()),
    /** null when the part has no minimum. */
    minimumQuantity: z.nullable(z.number()),
    /** The part's updatedAt, unix ms. */
    updatedAtMs: z.number(),
    partNumber: z.optional(z.string()),
  }),
);
export type PartSnapshot = z.infer<typeof partSnapshotSchema>;

/** `data` of an `upkeep.parts.changed` event: parts in updatedAt order (a part may appear twice). */
export const upkeepPartsChangedDataSchema = lazySchema(() =>
  z.object({
    parts: z.array(partSnapshotSchema).check(z.minLength(1)),
    /**
     * When the run read these parts (unix ms, our clock). Many parts can share one updatedAt
     * millisecond, and a step replayed after a crash can carry a newer version of a part at the same
     * updatedAt as the event enqueued before the crash: the later read is the newer version.
     */
    readAtMs: z.optional(z.number()),
  }),
);
export type UpKeepPartsChangedData = z.infer<typeof upkeepPartsChangedDataSchema>;

/** The one event this source emits: the parts of one poll step that changed. */
export const upkeepPartsEvents = defineEvents('upkeep', {
  'parts.changed': {
    schema: upkeepPartsChangedDataSchema,
    description: 'Parts whose quantity or minimum changed',
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

/** A part whose snapshot alone is over the event bound: reported as skipped, never sent (changed-since.ts). */
const oversizedPart = (part: Part, bytes: number): SkippedPart => ({
  record: part.id,
  field: '',
  message: `its snapshot is ${bytes} bytes, over the ${MAX_PARTS_EVENT_DATA_BYTES} bytes one event may carry (an SQS message holds 256 KB)`,
  updatedAtMs: part.updatedAtMs,
});

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

const pollState = (w: WatermarkState): UpKeepPartsPollState => ({
  watermarkMs: w.ms,
  idsAtWatermark: w.keys,
  ...(w.through !== undefined ? { idsThrough: w.through } : {}),
});

const watermarkOf = (s: UpKeepPartsPollState): WatermarkState => ({
  ms: s.watermarkMs,
  keys: s.idsAtWatermark,
  ...(s.idsThrough !== undefined ? { through: s.idsThrough } : {}),
});

/** Why a run stopped before a millisecond with more parts than the state lists. */
const heldNote = (read: KeysetResult, o: ResolvedUpKeepPartsPollOptions) =>
  read.heldAtTies
    ? `; ${read.heldAtTies.held} parts updated at ${new Date(read.heldAtTies.ms).toISOString()} wait until that millisecond is ${o.tieSettleMs} ms old (more than maxTieKeys ${o.maxTieKeys})`
    : '';

/** The step of a batch: one `upkeep.parts.changed` event, or none when it only reports skipped parts. */
function partsStep(
  batch: ChangeBatch<PartSnapshot>,
  since: string,
  readAtMs: number,
): PollStep<UpKeepPartsPollState> {
  const state = pollState(batch.watermark);
  const parts = batch.items;
  const last = parts[parts.length - 1];
  if (last === undefined) {
    return { events: [], state, summary: `no readable part changes since ${since}${batch.note}` };
  }
  const event: FlowEvent = {
    id: partsEventId(parts),
    type: UPKEEP_PARTS_CHANGED,
    source: UPKEEP_POLL_EVENT_SOURCE,
    occurredAt: new Date(last.updatedAtMs).toISOString(),
    subject: 'parts',
    data: { parts, readAtMs } satisfies UpKeepPartsChangedData,
  };
  return {
    events: [event],
    state,
    summary: `parts ${batch.first}..${batch.last} of changes since ${since}${batch.note}`,
  };
}

/** `GET /parts` changed since `at.fromMs`; `undefined` past the end of the list. */
async function listChangedParts(
  client: UpKeepClient,
  at: PageAt,
  pageSize: number,
  untilMs?: number,
): Promise<PartsPage | undefined> {
  try {
    return await client.listParts({
      updatedAtGte: at.fromMs,
      ...(untilMs !== undefined ? { updatedAtLte: untilMs } : {}),
      orderBy: 'updatedAt ASC',
      limit: pageSize,
      offset: at.offset,
    });
  } catch (error) {
    // Some clients see 404 instead of an empty page past the end (reference §2.4 EXT).
    if (error instanceof VendorHttpError && error.status === 404 && at.offset > 0) return undefined;
    throw error;
  }
}

/**
 * A page of `GET /parts` as the keyset read takes it; the end of the list is a page shorter than
 * `pageSize`. The page must be in `updatedAt ASC` order: the read moves its watermark to the newest
 * part of each page and starts again there, so a page in another order (`orderBy` ignored: the doc's
 * default is `createdAt DESC`) would carry the watermark past the older parts of the pages after it,
 * never to be read. Such a page fails the run (retryable) before anything of it is handed over.
 */
function openPartsPage(page: PartsPage, pageSize: number): ChangedPage<Part, SkippedPart> {
  const out = page.items.findIndex(
    (p, i) => i > 0 && p.updatedAtMs < (page.items[i - 1] as Part).updatedAtMs,
  );
  if (out > 0) {
    throw new VendorResponseError(
      'upkeep',
      'listParts',
      `results[${out}].updatedAt`,
      'parts are not in updatedAt ASC order (orderBy ignored?); the watermark stays where it is',
    );
  }
  return { ...page, last: page.items.length + page.skipped.length < pageSize };
}

/** Says why a run stopped at maxPagesPerRun: no progress at all is an error (only a limit can fix it). */
function logPageLimit(
  log: Log,
  read: KeysetResult,
  changes: ChangedSince<Part, SkippedPart, UpKeepPartsPollState>,
  start: UpKeepPartsPollState,
  o: ResolvedUpKeepPartsPollOptions,
): void {
  if (changes.cuts === 0 && !changes.hasPending) {
    // Every page was already-emitted ties at the watermark: raising a limit is the only way on.
    log.error('upkeep parts poll: no progress; the parts sharing the watermark fill every page', {
      source: UPKEEP_PARTS_POLL_SOURCE_ID,
      watermark: new Date(read.watermarkMs).toISOString(),
      idsAtWatermark: start.idsAtWatermark.length,
      pageSize: o.pageSize,
      maxPagesPerRun: o.maxPagesPerRun,
      fix: 'raise pageSize or maxPagesPerRun above the number of parts updated in that millisecond',
    });
    return;
  }
  log.warn('upkeep parts poll: page limit reached; the rest is read on the next run', {
    source: UPKEEP_PARTS_POLL_SOURCE_ID,
    pages: read.pages,
    maxPagesPerRun: o.maxPagesPerRun,
    watermark: new Date(read.watermarkMs).toISOString(),
    emitted: changes.emittedCount + changes.pendingCount,
  });
}

/** A backfill read whose pages are all parts of one millisecond: raising a limit is the only way on. */
export class UpKeepPartsBackfillStalledError extends MillwrightError {}

export const UPKEEP_PARTS_BACKFILL_NOTE =
  'Re-reads the parts whose latest change (updatedAt) lies in the window, as they are now: UpKeep keeps ' +
  'no history, so a part changed again since is not in the window (the live poll reads that change). ' +
  "Its events batch parts differently from the live poll's runs, so their ids are new: repeats are " +
  'absorbed per part version by the stock sync (a version it already has changes nothing), not by the event claim.';

/**
 * Backfill: the parts with updatedAt in [from, to] (`updatedAtLessThanOrEqualTo` bounds the read), read
 * like the live poll (keyset over updatedAt) from a watermark at `from` kept in memory only.
 */
async function* backfillParts(
  input: BackfillInput<UpKeepPartsPollOptions, UpKeepPartsPollDeps>,
): AsyncGenerator<BackfillStep> {
  const { from, to, deps, log } = input;
  const o = resolveUpKeepPartsPollOptions(input.options);
  const window = `${from.toISOString()}..${to.toISOString()}`;
  const changes = changedSince<Part, SkippedPart, PartSnapshot, UpKeepPartsPollState>({
    start: { ms: from.getTime(), keys: [] },
    updatedAtMs: (part) => part.updatedAtMs,
    tieKey,
    unreadableKey,
    snapshot: toPartSnapshot,
    skipped: (bad) => ({ ...skippedPart(bad), next: 'not backfilled' }),
    maxPerEvent: o.partsPerEvent,
    // Nothing is saved, so nothing waits: every instant counts as settled.
    maxTieKeys: o.maxTieKeys,
    maxEventBytes: MAX_PARTS_EVENT_DATA_BYTES,
    oversized: oversizedPart,
    // The backfill's read time: a later read of one updatedAt is at least as new (stock-sync.ts).
    step: (batch) => partsStep(batch, from.toISOString(), input.now.getTime()),
  });
  const asBackfill = (step: PollStep<UpKeepPartsPollState>): BackfillStep => ({
    events: step.events,
    summary: step.summary.replace(/changes since \S+/, `changes in ${window}`),
    ...(step.skipped ? { skipped: step.skipped } : {}),
  });
  let pages = 0;
  // A read stops at maxPagesPerRun; unlike the live poll, the backfill goes on at once from there.
  for (;;) {
    const mark = { ms: changes.emitted.ms, cuts: changes.cuts };
    const reader = changes.readKeyset({
      maxPages: o.maxPagesPerRun,
      fetch: (at) => listChangedParts(deps.client, at, o.pageSize, to.getTime()),
      open: (page) => openPartsPage(page, o.pageSize),
    });
    let next = await reader.next();
    while (!next.done) {
      yield asBackfill(next.value);
      next = await reader.next();
    }
    const read = next.value;
    pages += read.pages;
    if (changes.hasPending) yield asBackfill(changes.cut());
    if (read.failure) throw read.failure.error;
    if (!read.stoppedAtLimit) break;
    if (changes.emitted.ms === mark.ms && changes.cuts === mark.cuts) {
      throw new UpKeepPartsBackfillStalledError(
        `upkeep parts backfill: no progress at ${new Date(changes.emitted.ms).toISOString()}; raise pageSize above the number of parts updated in that millisecond`,
      );
    }
    log.info('upkeep parts backfill: page limit reached, reading on', { pages });
  }
  yield {
    events: [],
    summary: `${changes.emittedCount} part change${changes.emittedCount === 1 ? '' : 's'} in ${window} (${pages} page${pages === 1 ? '' : 's'} read)`,
  };
}

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
  backfillNote: UPKEEP_PARTS_BACKFILL_NOTE,
  backfill: backfillParts,

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
    const changes = changedSince<Part, SkippedPart, PartSnapshot, UpKeepPartsPollState>({
      start: watermarkOf(start),
      updatedAtMs: (part) => part.updatedAtMs,
      tieKey,
      unreadableKey,
      snapshot: toPartSnapshot,
      skipped: skippedPart,
      maxPerEvent: o.partsPerEvent,
      maxTieKeys: o.maxTieKeys,
      settledBeforeMs: now.getTime() - o.tieSettleMs,
      maxEventBytes: MAX_PARTS_EVENT_DATA_BYTES,
      oversized: oversizedPart,
      step: (batch) => partsStep(batch, since, now.getTime()),
    });
    const read = yield* changes.readKeyset({
      maxPages: o.maxPagesPerRun,
      fetch: (at) => listChangedParts(deps.client, at, o.pageSize),
      open: (page) => openPartsPage(page, o.pageSize),
    });

    const note =
      (read.stoppedAtLimit
        ? `; stopped after ${read.pages} pages (maxPagesPerRun), continuing next run`
        : '') + heldNote(read, o);
    if (read.stoppedAtLimit) logPageLimit(log, read, changes, start, o);
    // Progress made before a failure is still handed over (enqueued and saved), then the error.
    if (changes.hasPending) yield changes.cut(note);
    else if (note && changes.cuts > 0) {
      yield {
        events: [],
        state: pollState(changes.emitted.state()),
        summary: `${changes.emittedCount} part changes since ${since}${note}`,
      };
    }
    if (read.failure) throw read.failure.error;
    if (changes.cuts === 0) {
      // Nothing new: one empty step with the unchanged state keeps the run visible in the run log.
      const pages = read.pages;
      yield {
        events: [],
        state: start,
        summary: `no part changes since ${since} (${pages} page${pages === 1 ? '' : 's'} read)${note}`,
      };
    }
  },
};
