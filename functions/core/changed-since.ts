/**
 * The shared half of a "changed since" poll source: one that pages through a vendor's records in
 * updatedAt order from a watermark and emits them as events (UpKeep parts, Click Maint parts). The
 * poll source states only what differs: how to read a page, a record's updatedAt, tie key and
 * snapshot, and the step (event, state, summary) a batch becomes.
 *
 * Watermark: the updatedAt of the last record handled plus the tie keys of the records handled at
 * that instant (`floor` sets the instant: a vendor whose updatedAt has whole seconds shares ties
 * within a second). Reads start at the watermark inclusive, so a record that shares it is read again
 * and dropped when its tie key is known: ties are neither skipped nor repeated. A tie key holds more
 * than the id (e.g. the stock fields) when two versions of a record can share one instant.
 *
 * Paging: keyset first. After each page the read starts again at the advanced watermark, so a record
 * updated while we page (it moves to the end of the order) cannot shift an unseen one out of the
 * window, which offset paging over updatedAt would do. Offsets (or page numbers) are used only inside
 * a run of ties longer than a page, where the watermark cannot advance. There a tie read on an earlier
 * page that changes (it leaves the instant) shifts the rest back and can hide one from the pass, and
 * the watermark would then move past it for good: a run of ties that ends on a page past offset 0 is
 * read again from offset 0 until a pass finds nothing new, and only then does the read leave it.
 *
 * Batches: records are cut into events of at most `maxPerEvent` records and `maxEventBytes` bytes of
 * snapshots. A step's state covers exactly the records of its event and the ones before, so a crash
 * between the enqueue and the save replays the same step from the same state.
 *
 * Bounded ties: the state lists at most `maxTieKeys` tie keys. An instant with more ties than that
 * (a bulk import) is read to its end (past `maxPages` if need be), sorted by tie key and emitted in
 * that order, so the state can say "every tie key up to `through` is handled" instead of listing
 * them. That needs the whole instant: a partial read, or an instant newer than `settledBeforeMs`
 * (one the vendor may still add records to), emits only what the list has room for and stops
 * there; the rest follows on a later run. Assumption (named, configurable): no record is added to an
 * instant older than `settledBeforeMs` (the same one every instant before the watermark relies on).
 * So an instant handled whole this way is not read again: the next read starts after it. Inside
 * the instant paging is by offset, as before, with the same second pass (see "Paging") before the
 * read moves past it.
 * A state from before this bound (a list longer than it) shrinks when a newer change moves the
 * watermark on, or when its instant gets more ties (read whole, `through` then covers the list).
 *
 * Unreadable records: one whose updatedAt is known is reported with the next step and the watermark
 * moves past it like past an emitted record (under its `unreadableKey`), so the records after it
 * still sync and it is read again only once it changes. One whose updatedAt is unknown cannot be
 * placed: it is reported once per run and on every run that reads it.
 */
import type { PollStep, SkippedRecord } from './flow.ts';
import type { RecordProblem } from './records.ts';

/** A watermark as poll state keeps it (each source stores it in its own, unchanged shape). */
export interface WatermarkState {
  /** updatedAt (unix ms) of the newest record handled. */
  ms: number;
  /** Tie keys of the records handled within the watermark's instant, in the order handled. */
  keys: string[];
  /** Every tie key up to this one (string order) within the instant is handled too (bounded ties). */
  through?: string;
}

/** Default bound on the tie keys a state lists (about 20-40 bytes each: well under 64 KB). */
export const MAX_TIE_KEYS = 1000;

/** String order by code unit, the order `through` compares in (not locale order). */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A record the vendor's client could not parse; `updatedAtMs` when its place in the order is known. */
export interface UnreadableRecord extends RecordProblem {
  updatedAtMs?: number;
}

const exactMs = (ms: number) => ms;

/**
 * A watermark that records are folded into by tie key and updatedAt. Order of folding does not
 * matter: what is older than the watermark is covered anyway.
 */
export class Watermark {
  ms: number;
  private keys: Set<string>;
  /** `floor`: the start of the instant a timestamp falls in (the vendor's precision). */
  constructor(
    state: WatermarkState,
    private readonly floor: (ms: number) => number = exactMs,
    /** Length of an instant (1 for ms, 1000 for whole seconds): where the next one starts. */
    private readonly instantMs = 1,
  ) {
    this.ms = state.ms;
    this.keys = new Set(state.keys);
    this.through = state.through;
  }
  private through: string | undefined;
  /** Tie keys listed (not counting those `through` covers). */
  get listed(): number {
    return this.keys.size;
  }
  /** The greatest listed tie key (string order). */
  get listedMax(): string | undefined {
    let max: string | undefined;
    for (const k of this.keys) if (max === undefined || k > max) max = k;
    return max;
  }
  /** The watermark's instant (its start). */
  get from(): number {
    return this.floor(this.ms);
  }
  /**
   * Where a keyset read starts: the watermark's instant is read again, unless it was handled whole
   * in key order (`through`, nothing listed beyond it): settled, it gets no new records.
   */
  get readFrom(): number {
    return this.through !== undefined && this.keys.size === 0 ? this.from + this.instantMs : this.from;
  }
  /** Already covered: before the watermark's instant, or in it and handled in this very version. */
  covers(key: string, ms: number): boolean {
    const at = this.floor(ms);
    if (at !== this.from) return at < this.from;
    return this.keys.has(key) || (this.through !== undefined && key <= this.through);
  }
  add(key: string, ms: number): void {
    const at = this.floor(ms);
    if (at > this.from) {
      this.ms = ms;
      this.keys = new Set([key]);
      this.through = undefined;
    } else if (at === this.from) {
      this.ms = Math.max(this.ms, ms);
      if (this.through === undefined || key > this.through) this.keys.add(key);
    }
  }
  /**
   * Every tie key up to `key` within the instant is handled: the listed ones it covers are dropped.
   * Only for a whole instant read and handled in key order (see "Bounded ties").
   */
  handledThrough(key: string): void {
    if (this.through !== undefined && key <= this.through) return;
    this.through = key;
    for (const k of this.keys) if (k <= key) this.keys.delete(k);
  }
  state(): WatermarkState {
    const state: WatermarkState = { ms: this.ms, keys: [...this.keys] };
    if (this.through !== undefined) state.through = this.through;
    return state;
  }
  copy(): Watermark {
    return new Watermark(this.state(), this.floor, this.instantMs);
  }
}

/** The records of one event, with what the source needs to make its step. */
export interface ChangeBatch<T> {
  /** Snapshots, oldest first; empty when the step only reports unreadable records. */
  items: T[];
  /** 1-based position of the first and last item among everything emitted this run. */
  first: number;
  last: number;
  /** The watermark covering this batch and every batch before it (the step's state). */
  watermark: WatermarkState;
  /** Appended to the step's summary (e.g. why the run stopped). */
  note: string;
}

export interface ChangedSinceSpec<R, B extends UnreadableRecord, T, S> {
  /** The watermark to start from (the stored state, or the beginning). */
  start: WatermarkState;
  /** The instant ties share; default: the millisecond. */
  floor?: (ms: number) => number;
  /** Length of that instant in ms (default 1; 1000 with a whole-second `floor`). */
  instantMs?: number;
  /** A record's updatedAt, unix ms. */
  updatedAtMs: (record: R) => number;
  /** A record version's identity at the watermark. */
  tieKey: (record: R) => string;
  /** The key an unreadable record is placed under (read again only once it changes). */
  unreadableKey: (record: string, updatedAtMs: number) => string;
  /** What an event carries of a record. */
  snapshot: (record: R) => T;
  /** How an unreadable record is reported. */
  skipped: (bad: B) => SkippedRecord;
  maxPerEvent: number;
  /** Bound on the JSON of one event's snapshots (an SQS message is at most 256 KB). */
  maxEventBytes: number;
  /**
   * A record whose snapshot alone is over `maxEventBytes` (a part name of megabytes): it could never
   * be sent, and a send that fails on every run would hold every record after it. Given this, such a
   * record is reported (`skipped`) as the unreadable record this returns, and the watermark moves past
   * it: it is read again when it changes. Without it, such a record goes alone in an event.
   */
  oversized?: (record: R, bytes: number) => B;
  /** Bound on the tie keys the state lists (default MAX_TIE_KEYS); see "Bounded ties". */
  maxTieKeys?: number;
  /**
   * Instants before this (unix ms) get no new records, so one read whole may be summarised by
   * `through`; default: every instant (give `now - settle` in a live poll).
   */
  settledBeforeMs?: number;
  /** The step of a batch: its event (when it has items), state and summary. */
  step: (batch: ChangeBatch<T>) => PollStep<S>;
}

/** Where a keyset read asks for a page: from the watermark's instant, skipping ties already paged. */
export interface PageAt {
  fromMs: number;
  /** Records to skip (0 after each restart at an advanced watermark). */
  offset: number;
  /** 1-based page number (1 after each restart). */
  page: number;
}

/** A page of records in updatedAt order: the parsed ones and the unreadable ones. */
export interface ChangedPage<R, B> {
  items: readonly R[];
  skipped: readonly B[];
  /** No page follows this one. */
  last: boolean;
}

export interface KeysetReader<P, R, B> {
  /** Reads one page; `undefined` past the end of the list (not counted as a page). */
  fetch: (at: PageAt) => Promise<P | undefined>;
  /**
   * The records of a page read (it counts towards `maxPages`); throws when the page breaks the
   * source's contract, `undefined` to stop here without using it.
   */
  open: (page: P) => ChangedPage<R, B> | undefined;
  /** The read stops after this many pages; the next run continues from the watermark. */
  maxPages: number;
}

export interface KeysetResult {
  pages: number;
  stoppedAtLimit: boolean;
  /**
   * The read stopped at an instant with more ties than the state can list, because it is not
   * settled yet (or was not read whole): the rest is read on a later run.
   */
  heldAtTies?: { ms: number; held: number };
  /** The newest updatedAt read (emitted or still pending). */
  watermarkMs: number;
  /** The error that ended the read; what was read before it is still pending (see `cut`). */
  failure?: { error: unknown };
}

type Entry<R, B> = { ms: number; readable: true; record: R } | { ms: number; readable: false; bad: B };

/** One run of a "changed since" poll source: what is pending and what the yielded steps cover. */
export interface ChangedSince<R, B extends UnreadableRecord, S> {
  /** Everything covered by the steps cut so far (what each step saves). */
  readonly emitted: Watermark;
  /** Records emitted this run. */
  readonly emittedCount: number;
  /** Steps cut this run. */
  readonly cuts: number;
  readonly pendingCount: number;
  /** Records or skipped records wait for a step. */
  readonly hasPending: boolean;
  /** Queue one record for the next event; yields the previous event first when this one would not fit. */
  push(record: R): Generator<PollStep<S>, void>;
  /**
   * Queue an unreadable record for the next step. A placed one is folded into the watermark with
   * that step; given `read`, one that `read` already covers is dropped and `read` moves past it.
   */
  skip(bad: B, read?: Watermark): void;
  /** The step of everything pending (records and skipped ones); the emitted watermark moves past it. */
  cut(note?: string): PollStep<S>;
  /** Forget what is pending (it is read again). */
  discard(): void;
  /**
   * Pages through the records changed since the emitted watermark (keyset, see above), yielding a
   * step whenever an event is full. What is still pending at the end is left for the caller to
   * `cut`, with a note that fits how the read ended. An error ends the read and is returned.
   */
  readKeyset<P>(reader: KeysetReader<P, R, B>): AsyncGenerator<PollStep<S>, KeysetResult>;
  /**
   * Hands over records read whole some other way (every record changed since the watermark, in
   * updatedAt order), as `readKeyset` would; returns what it held back (see "Bounded ties").
   */
  takeWhole(page: Omit<ChangedPage<R, B>, 'last'>): Generator<PollStep<S>, KeysetResult['heldAtTies']>;
}

// A closure rather than a class: its state stays in locals, which keeps the Lambda bundles small.
export function changedSince<R, B extends UnreadableRecord, T, S>(
  spec: ChangedSinceSpec<R, B, T, S>,
): ChangedSince<R, B, S> {
  const { updatedAtMs, tieKey, maxPerEvent } = spec;
  const maxTieKeys = spec.maxTieKeys ?? MAX_TIE_KEYS;
  const settledBeforeMs = spec.settledBeforeMs ?? Number.POSITIVE_INFINITY;
  const floor = spec.floor ?? exactMs;
  const emitted = new Watermark(spec.start, spec.floor, spec.instantMs);
  let emittedCount = 0;
  let cuts = 0;
  /** `ordered`: part of a whole instant handled in tie-key order (the state may say `through`). */
  let pending: { snapshot: T; key: string; ms: number; ordered: boolean }[] = [];
  let pendingBytes = 0;
  /** Skipped records since the last cut, with their watermark key when they can be placed. */
  let skips: { skip: SkippedRecord; place?: { key: string; ms: number; ordered: boolean } }[] = [];
  /** Unplaceable skipped records reported this run (a keyset restart may read them again). */
  const unplaced = new Set<string>();

  function* pushRecord(record: R, ordered: boolean): Generator<PollStep<S>, void> {
    const snapshot = spec.snapshot(record);
    const bytes = Buffer.byteLength(JSON.stringify(snapshot), 'utf8') + 1;
    if (spec.oversized && bytes > spec.maxEventBytes) {
      // Placed under its own tie key, so the run's later pages and the next run pass over it.
      const place = { key: tieKey(record), ms: updatedAtMs(record), ordered };
      skips.push({ skip: spec.skipped(spec.oversized(record, bytes)), place });
      return;
    }
    const full = pending.length >= maxPerEvent || pendingBytes + bytes > spec.maxEventBytes;
    if (pending.length > 0 && full) yield cut();
    pending.push({ snapshot, key: tieKey(record), ms: updatedAtMs(record), ordered });
    pendingBytes += bytes;
  }

  function skipRecord(bad: B, read: Watermark | undefined, ordered: boolean): void {
    const ms = bad.updatedAtMs;
    if (ms === undefined) {
      if (unplaced.has(bad.record)) return;
      unplaced.add(bad.record);
      skips.push({ skip: spec.skipped(bad) });
      return;
    }
    const key = spec.unreadableKey(bad.record, ms);
    if (read) {
      if (read.covers(key, ms)) return;
      read.add(key, ms);
    }
    skips.push({ skip: spec.skipped(bad), place: { key, ms, ordered } });
  }

  function cut(note = ''): PollStep<S> {
    const items = pending;
    const reported = skips;
    clearPending();
    // A record of a whole instant handled in key order: every key up to its own is handled (the
    // ones before it are in this step or an earlier one).
    const fold = (key: string, ms: number, ordered: boolean) => {
      emitted.add(key, ms);
      if (ordered) emitted.handledThrough(key);
    };
    for (const { key, ms, ordered } of items) fold(key, ms, ordered);
    for (const { place } of reported) if (place) fold(place.key, place.ms, place.ordered);
    if (closing && emitted.from === closing.at) emitted.handledThrough(closing.key);
    closing = undefined;
    cuts++;
    const first = emittedCount + 1;
    emittedCount += items.length;
    const step = spec.step({
      items: items.map((x) => x.snapshot),
      first,
      last: emittedCount,
      watermark: emitted.state(),
      note,
    });
    return reported.length > 0 ? { ...step, skipped: reported.map((x) => x.skip) } : step;
  }

  function clearPending(): void {
    pending = [];
    skips = [];
    pendingBytes = 0;
  }

  /** The not yet handled records of the newest instant read: held until the instant is read whole. */
  type Tied = { entry: Entry<R, B>; key: string };
  let tail: { at: number; ties: Tied[] } | undefined;
  /**
   * Set when a whole instant was handed over in key order: once its last record is cut, every
   * record of the instant is handled (listed, or in the tail), so `through` can cover the listed
   * keys too and the instant needs no list at all.
   */
  let closing: { at: number; key: string } | undefined;
  /** Set when a flush held records back (the read stops there). */
  let heldAtTies: KeysetResult['heldAtTies'];

  /** The tail's instant has more ties than the state lists and is settled: it is read to its end. */
  const readingWhole = () =>
    tail !== undefined &&
    tail.at < settledBeforeMs &&
    (floor(emitted.ms) === tail.at ? emitted.listed : 0) + tail.ties.length > maxTieKeys;

  /**
   * Hands the tail's records over. Within the list bound: in the vendor's order. Beyond it, a whole
   * settled instant goes in key order (the state summarises it); otherwise only what the list has room
   * for goes and the rest is held (read again later). Returns how many were held.
   */
  function* flush(whole: boolean): Generator<PollStep<S>, number> {
    if (tail === undefined) return 0;
    const { at, ties } = tail;
    tail = undefined;
    const listed = floor(emitted.ms) === at ? emitted.listed : 0;
    let take = ties;
    let ordered = false;
    if (listed + ties.length > maxTieKeys) {
      if (whole && at < settledBeforeMs) {
        take = [...ties].sort((a, b) => compareKeys(a.key, b.key));
        ordered = true;
      } else {
        take = ties.slice(0, Math.max(0, maxTieKeys - listed));
      }
    }
    const listedMax = listed > 0 ? emitted.listedMax : undefined;
    for (const { entry } of take) {
      if (entry.readable) yield* pushRecord(entry.record, ordered);
      else skipRecord(entry.bad, undefined, ordered);
    }
    const last = take.at(-1)?.key;
    if (ordered && last !== undefined) {
      closing = { at, key: listedMax !== undefined && listedMax > last ? listedMax : last };
    }
    const held = ties.length - take.length;
    if (held > 0) heldAtTies = { ms: at, held };
    return held;
  }

  /**
   * One page's records through `read` (what this run has read), in updatedAt order. Returns how many
   * records were held back (the read must stop there: nothing newer may be emitted before them).
   */
  function* take(page: ChangedPage<R, B>, read: Watermark): Generator<PollStep<S>, number> {
    const entries: Entry<R, B>[] = page.items.map((record) => ({
      ms: updatedAtMs(record),
      readable: true,
      record,
    }));
    for (const bad of page.skipped) {
      if (bad.updatedAtMs === undefined) skipRecord(bad, undefined, false);
      else entries.push({ ms: bad.updatedAtMs, readable: false, bad });
    }
    // The vendor sorts by updatedAt; the parsed and unreadable records are merged back in that order.
    entries.sort((a, b) => a.ms - b.ms);
    for (const entry of entries) {
      const key = entry.readable ? tieKey(entry.record) : spec.unreadableKey(entry.bad.record, entry.ms);
      if (read.covers(key, entry.ms)) continue;
      read.add(key, entry.ms);
      const at = floor(entry.ms);
      if (tail !== undefined && tail.at !== at) {
        // A newer instant: the tail's instant is read whole.
        const held = yield* flush(true);
        if (held > 0) return held;
      }
      tail ??= { at, ties: [] };
      tail.ties.push({ entry, key });
    }
    return 0;
  }

  /** Where a page record sits (unreadable ones without an updatedAt have no place). */
  const placeOf = (page: ChangedPage<R, B>) => [
    ...page.items.map((r) => ({ ms: updatedAtMs(r), key: tieKey(r) })),
    ...page.skipped.flatMap((b) =>
      b.updatedAtMs === undefined
        ? []
        : [{ ms: b.updatedAtMs, key: spec.unreadableKey(b.record, b.updatedAtMs) }],
    ),
  ];
  type Place = ReturnType<typeof placeOf>[number];
  /** How many of a page's records (`places`) of `instant` `read` does not cover yet. */
  const unreadAt = (places: Place[], read: Watermark, instant: number) =>
    places.filter((x) => floor(x.ms) === instant && !read.covers(x.key, x.ms)).length;
  /** The page holds a record newer than `instant`: the run of ties at `instant` ends on it. */
  const endsInstant = (places: Place[], instant: number) => places.some((x) => floor(x.ms) > instant);
  /** The page without its records newer than `instant`. */
  const upToInstant = (page: ChangedPage<R, B>, instant: number): ChangedPage<R, B> => ({
    items: page.items.filter((r) => floor(updatedAtMs(r)) <= instant),
    skipped: page.skipped.filter((b) => b.updatedAtMs === undefined || floor(b.updatedAtMs) <= instant),
    last: false,
  });

  async function* readKeyset<P>(reader: KeysetReader<P, R, B>): AsyncGenerator<PollStep<S>, KeysetResult> {
    const read = emitted.copy();
    let at = { offset: 0, page: 1 };
    /** Records of the read's instant first read in this pass over it (since its offset 0). */
    let foundInPass = 0;
    let pages = 0;
    tail = undefined;
    heldAtTies = undefined;
    const result = (more: Partial<KeysetResult> = {}): KeysetResult => ({
      pages,
      stoppedAtLimit: false,
      watermarkMs: read.ms,
      ...(heldAtTies ? { heldAtTies } : {}),
      ...more,
    });
    /** The end of the read: hand over the tail (`whole` when the list was read to its end). */
    async function* finish(whole: boolean, more: Partial<KeysetResult> = {}) {
      yield* flush(whole);
      return result(more);
    }
    try {
      for (;;) {
        // An instant with more ties than the state lists is read to its end, past the page limit.
        if (pages >= reader.maxPages && !readingWhole()) {
          return yield* finish(false, { stoppedAtLimit: true });
        }
        const fromMs = read.readFrom;
        const raw = await reader.fetch({ fromMs, ...at });
        if (raw === undefined) break;
        pages++;
        const page = reader.open(raw);
        if (page === undefined) return yield* finish(false);
        const instant = floor(fromMs);
        const places = placeOf(page);
        const fresh = unreadAt(places, read, instant);
        if (at.offset > 0 && endsInstant(places, instant) && foundInPass + fresh > 0) {
          // A run of ties paged by offset ends here. A tie read on an earlier page that changed
          // since (it left the instant) shifted the rest back, which can hide one from this pass:
          // read the instant again from offset 0 before moving past it, until a pass finds nothing
          // new (only then can the watermark leave the instant).
          if ((yield* take(upToInstant(page, instant), read)) > 0) return result();
          foundInPass = 0;
          at = { offset: 0, page: 1 };
          continue;
        }
        foundInPass += fresh;
        if ((yield* take(page, read)) > 0) return result();
        if (pending.length >= maxPerEvent) yield cut();
        if (page.last) break;
        const count = page.items.length + page.skipped.length;
        // Keyset: the watermark moved, so read again from it. Otherwise the whole page sat at the
        // watermark (a run of ties longer than a page): step over it.
        if (read.readFrom > fromMs) foundInPass = 0;
        at =
          read.readFrom > fromMs ? { offset: 0, page: 1 } : { offset: at.offset + count, page: at.page + 1 };
      }
    } catch (error) {
      return yield* finish(false, { failure: { error } });
    }
    return yield* finish(true);
  }

  return {
    emitted,
    get emittedCount() {
      return emittedCount;
    },
    get cuts() {
      return cuts;
    },
    get pendingCount() {
      return pending.length;
    },
    get hasPending() {
      return pending.length > 0 || skips.length > 0;
    },
    push: (record) => pushRecord(record, false),
    skip: (bad, read) => skipRecord(bad, read, false),
    cut,
    discard: () => {
      clearPending();
      unplaced.clear();
      tail = undefined;
      closing = undefined;
    },
    readKeyset,
    *takeWhole(page) {
      tail = undefined;
      heldAtTies = undefined;
      if ((yield* take({ ...page, last: true }, emitted.copy())) === 0) yield* flush(true);
      return heldAtTies;
    },
  };
}
