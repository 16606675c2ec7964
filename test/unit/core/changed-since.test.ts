/** The "changed since" helper on its own: an in-memory vendor list read page by page. */
import { describe, expect, it } from '@jest/globals';
import {
  type ChangedPage,
  changedSince,
  type KeysetResult,
  type PageAt,
  type UnreadableRecord,
  Watermark,
  type WatermarkState,
} from '../../../functions/core/changed-since.ts';
import type { PollStep } from '../../../functions/core/flow.ts';

/** A vendor record: `v` is its version (two versions can share one updatedAt). */
interface Rec {
  id: string;
  v: number;
  ms: number;
  pad?: string;
}
type Bad = UnreadableRecord;
/** `ms`: where the vendor keeps an unreadable record (its updatedAt may be unreadable to the client). */
type Row = { rec: Rec } | { bad: Bad; ms: number };
const rowMs = (row: Row) => ('rec' in row ? row.rec.ms : row.ms);

/** The vendor: its rows in updatedAt order (stable), read with `updatedAt >= fromMs`, offset and limit. */
class Vendor {
  rows: Row[] = [];
  calls: PageAt[] = [];
  failOnCall?: number;
  put(...recs: Rec[]): this {
    for (const rec of recs) {
      this.rows = this.rows.filter((r) => !('rec' in r && r.rec.id === rec.id));
      this.rows.push({ rec });
    }
    this.rows.sort((a, b) => rowMs(a) - rowMs(b));
    return this;
  }
  putBad(bad: Bad, ms = bad.updatedAtMs ?? 0): this {
    this.rows.push({ bad, ms });
    this.rows.sort((a, b) => rowMs(a) - rowMs(b));
    return this;
  }
  async page(at: PageAt, pageSize: number): Promise<ChangedPage<Rec, Bad>> {
    this.calls.push(at);
    if (this.calls.length === this.failOnCall) throw new Error('vendor down');
    const rows = this.rows.filter((r) => rowMs(r) >= at.fromMs).slice(at.offset, at.offset + pageSize);
    const items = rows.flatMap((r) => ('rec' in r ? [r.rec] : []));
    const skipped = rows.flatMap((r) => ('bad' in r ? [r.bad] : []));
    return { items, skipped, last: rows.length < pageSize };
  }
}

type State = WatermarkState;
const tieKey = (r: Rec) => `${r.id}#${r.v}`;

interface Options {
  pageSize?: number;
  maxPerEvent?: number;
  maxEventBytes?: number;
  maxPages?: number;
  floor?: (ms: number) => number;
  maxTieKeys?: number;
  settledBeforeMs?: number;
  /** Report a record over maxEventBytes as skipped (the parts pollers do). */
  oversized?: boolean;
}

/** One poll run: every step it yields (the pending rest cut at the end, as a source does). */
async function poll(vendor: Vendor, start: State, o: Options = {}) {
  const changes = changedSince<Rec, Bad, Rec, State>({
    start,
    ...(o.floor ? { floor: o.floor } : {}),
    ...(o.maxTieKeys !== undefined ? { maxTieKeys: o.maxTieKeys } : {}),
    ...(o.settledBeforeMs !== undefined ? { settledBeforeMs: o.settledBeforeMs } : {}),
    ...(o.oversized
      ? {
          oversized: (r: Rec, bytes: number): Bad => ({
            record: r.id,
            field: '',
            message: `${bytes} bytes`,
            updatedAtMs: r.ms,
          }),
        }
      : {}),
    updatedAtMs: (r) => r.ms,
    tieKey,
    unreadableKey: (record) => `${record}#unreadable`,
    snapshot: (r) => ({ ...r }),
    skipped: (bad) => ({ ...bad, kind: 'test record', next: 'read again when it changes' }),
    maxPerEvent: o.maxPerEvent ?? 100,
    maxEventBytes: o.maxEventBytes ?? 1_000_000,
    step: (batch) => ({
      events: batch.items.map((r, i) => ({
        id: `${batch.first + i}`,
        type: 'test.changed',
        source: 'test',
        occurredAt: new Date(r.ms).toISOString(),
        data: { key: tieKey(r) },
      })),
      state: batch.watermark,
      summary: `${batch.first}..${batch.last}${batch.note}`,
    }),
  });
  const steps: PollStep<State>[] = [];
  const reading = changes.readKeyset({
    maxPages: o.maxPages ?? 100,
    fetch: (at) => vendor.page(at, o.pageSize ?? 100),
    open: (page) => page,
  });
  let next = await reading.next();
  while (!next.done) {
    steps.push(next.value);
    next = await reading.next();
  }
  const read: KeysetResult = next.value;
  if (changes.hasPending) steps.push(changes.cut());
  const state = steps.at(-1)?.state ?? start;
  /** Each event's records, as tie keys. */
  const events = steps.filter((s) => s.events.length > 0).map((s) => s.events.map((e) => e.data.key));
  const skipped = steps.flatMap((s) => (s.skipped ?? []).map((x) => x.record));
  return { steps, state, events, skipped, read };
}

/** The pages asked for, as `fromMs+offset p<page>`. */
const reads = (vendor: Vendor) => vendor.calls.map((c) => `${c.fromMs}+${c.offset} p${c.page}`);

const BEGINNING: State = { ms: 0, keys: [] };
const rec = (id: string, ms: number, v = 1): Rec => ({ id, v, ms });

describe('watermark', () => {
  it('advances to the newest record emitted and keeps the ties of that instant', async () => {
    const vendor = new Vendor().put(rec('a', 1000), rec('b', 2000), rec('c', 3000), rec('d', 3000));
    const first = await poll(vendor, BEGINNING);
    expect(first.events).toEqual([['a#1', 'b#1', 'c#1', 'd#1']]);
    expect(first.state).toEqual({ ms: 3000, keys: ['c#1', 'd#1'] });

    vendor.put(rec('e', 4000));
    const second = await poll(vendor, first.state);
    expect(second.events).toEqual([['e#1']]);
    expect(second.state).toEqual({ ms: 4000, keys: ['e#1'] });
    // The read starts at the watermark inclusive.
    expect(vendor.calls.at(-1)?.fromMs).toBe(3000);

    const quiet = await poll(vendor, second.state);
    expect(quiet.steps).toEqual([]);
  });

  it('emits a record sharing the watermark millisecond once, and a second version of it again', async () => {
    const vendor = new Vendor().put(rec('a', 5000), rec('b', 5000));
    const first = await poll(vendor, BEGINNING);
    expect(first.events).toEqual([['a#1', 'b#1']]);

    // Both land in the same millisecond as the watermark: a new record, and a new version of `a`.
    vendor.put(rec('c', 5000), rec('a', 5000, 2));
    const second = await poll(vendor, first.state);
    expect(second.events).toEqual([['c#1', 'a#2']]);
    expect(second.state).toEqual({ ms: 5000, keys: ['a#1', 'b#1', 'c#1', 'a#2'] });

    expect((await poll(vendor, second.state)).steps).toEqual([]);
  });

  it('shares ties within a coarser instant (`floor`) and reads that instant again', () => {
    const floorSecond = (ms: number) => Math.floor(ms / 1000) * 1000;
    const w = new Watermark({ ms: 7_250, keys: ['a'] }, floorSecond);
    expect(w.from).toBe(7_000);
    expect(w.covers('a', 7_900)).toBe(true);
    expect(w.covers('b', 7_100)).toBe(false);
    expect(w.covers('b', 6_999)).toBe(true);
    w.add('b', 7_100);
    expect(w.state()).toEqual({ ms: 7_250, keys: ['a', 'b'] });
    w.add('c', 8_000);
    expect(w.state()).toEqual({ ms: 8_000, keys: ['c'] });
    expect(w.covers('a', 7_900)).toBe(true);
    expect(w.covers('a', 8_000)).toBe(false);
  });
});

describe('paging', () => {
  it('restarts at the advanced watermark after each page (keyset), reading its instant again', async () => {
    const vendor = new Vendor().put(rec('a', 1), rec('b', 2), rec('c', 3), rec('d', 4), rec('e', 5));
    const run = await poll(vendor, BEGINNING, { pageSize: 2 });
    expect(run.events.flat()).toEqual(['a#1', 'b#1', 'c#1', 'd#1', 'e#1']);
    expect(reads(vendor)).toEqual(['0+0 p1', '2+0 p1', '3+0 p1', '4+0 p1', '5+0 p1']);
    expect(run.read.pages).toBe(5);
  });

  it('steps over a run of ties longer than a page by offset, then reads it once more before leaving it', async () => {
    const ties = ['t1', 't2', 't3', 't4', 't5'].map((id) => rec(id, 1000));
    const vendor = new Vendor().put(...ties, rec('z', 2000));
    const run = await poll(vendor, BEGINNING, { pageSize: 2 });
    expect(run.events.flat()).toEqual(['t1#1', 't2#1', 't3#1', 't4#1', 't5#1', 'z#1']);
    // The second pass over the ties finds nothing new: only then does the read move past them.
    expect(reads(vendor)).toEqual([
      '0+0 p1',
      '1000+0 p1',
      '1000+2 p2',
      '1000+4 p3',
      '1000+0 p1',
      '1000+2 p2',
      '1000+4 p3',
      '2000+0 p1',
    ]);
  });

  it('loses no record when one read earlier is updated while paging', async () => {
    const vendor = new Vendor().put(rec('a', 1), rec('b', 2), rec('c', 3), rec('d', 4));
    const page = vendor.page.bind(vendor);
    vendor.page = async (at, size) => {
      // After the first page, `a` changes and moves to the end of the order.
      if (vendor.calls.length === 1) vendor.put(rec('a', 9, 2));
      return page(at, size);
    };
    const run = await poll(vendor, BEGINNING, { pageSize: 2 });
    expect(run.events.flat()).toEqual(['a#1', 'b#1', 'c#1', 'd#1', 'a#2']);
  });

  it('stops at maxPages and says so; the next run continues from the watermark', async () => {
    const vendor = new Vendor().put(rec('a', 1), rec('b', 2), rec('c', 3), rec('d', 4), rec('e', 5));
    const first = await poll(vendor, BEGINNING, { pageSize: 2, maxPages: 1 });
    expect(first.read.stoppedAtLimit).toBe(true);
    expect(first.events.flat()).toEqual(['a#1', 'b#1']);
    const second = await poll(vendor, first.state, { pageSize: 2 });
    expect(second.events.flat()).toEqual(['c#1', 'd#1', 'e#1']);
  });

  it('returns a failure with what was read before it still pending', async () => {
    const vendor = new Vendor().put(rec('a', 1), rec('b', 2), rec('c', 3));
    vendor.failOnCall = 2;
    const run = await poll(vendor, BEGINNING, { pageSize: 2 });
    expect(run.read.failure?.error).toEqual(new Error('vendor down'));
    expect(run.events).toEqual([['a#1', 'b#1']]);
    expect(run.state).toEqual({ ms: 2, keys: ['b#1'] });
  });
});

describe('unreadable records', () => {
  it('are reported once and the watermark moves past them', async () => {
    const vendor = new Vendor().put(rec('a', 1000), rec('b', 3000));
    vendor.putBad({ record: 'x', field: 'quantity', message: 'expected number', updatedAtMs: 2000 });
    const first = await poll(vendor, BEGINNING);
    expect(first.events).toEqual([['a#1', 'b#1']]);
    expect(first.skipped).toEqual(['x']);
    expect((await poll(vendor, first.state)).steps).toEqual([]);
  });

  it('move the watermark on their own when nothing readable follows', async () => {
    const vendor = new Vendor().put(rec('a', 1000));
    vendor.putBad({ record: 'x', field: '', message: 'bad', updatedAtMs: 2000 });
    const first = await poll(vendor, BEGINNING);
    expect(first.steps.map((s) => s.events.length)).toEqual([1]);
    expect(first.state).toEqual({ ms: 2000, keys: ['x#unreadable'] });
    expect((await poll(vendor, first.state)).steps).toEqual([]);
  });

  it('without an updatedAt are reported once per run and on every run', async () => {
    const vendor = new Vendor().put(rec('a', 1), rec('b', 3), rec('c', 4));
    vendor.putBad({ record: 'y', field: 'updatedAt', message: 'missing' }, 2);
    // `y` is read on two pages of this run: the keyset restarts at `a` once it is emitted.
    const first = await poll(vendor, BEGINNING, { pageSize: 2 });
    expect(reads(vendor)).toEqual(['0+0 p1', '1+0 p1', '1+2 p2', '4+0 p1']);
    expect(first.skipped).toEqual(['y']);
    expect(first.events.flat()).toEqual(['a#1', 'b#1', 'c#1']);
    // It cannot be placed, so the watermark moves past it only with the readable records.
    expect(first.state).toEqual({ ms: 4, keys: ['c#1'] });
    const second = await poll(vendor, { ms: 1, keys: ['a#1'] }, { pageSize: 2 });
    expect(second.skipped).toEqual(['y']);
  });
});

describe('events', () => {
  it('hold at most maxPerEvent records, each step covering exactly its own', async () => {
    const vendor = new Vendor().put(rec('a', 1), rec('b', 2), rec('c', 3), rec('d', 4), rec('e', 5));
    const run = await poll(vendor, BEGINNING, { maxPerEvent: 2 });
    expect(run.events).toEqual([['a#1', 'b#1'], ['c#1', 'd#1'], ['e#1']]);
    expect(run.steps.map((s) => s.state.ms)).toEqual([2, 4, 5]);
    expect(run.steps.map((s) => s.summary)).toEqual(['1..2', '3..4', '5..5']);
  });

  it('are split by the JSON size of their snapshots', async () => {
    const padded = (id: string, ms: number): Rec => ({ ...rec(id, ms), pad: 'x'.repeat(100) });
    const records = [padded('a', 1), padded('b', 2), padded('c', 3)];
    const size = Buffer.byteLength(JSON.stringify(records[0]), 'utf8') + 1;
    const vendor = new Vendor().put(...records);
    expect((await poll(vendor, BEGINNING, { maxEventBytes: 2 * size })).events).toEqual([
      ['a#1', 'b#1'],
      ['c#1'],
    ]);
    expect((await poll(vendor, BEGINNING, { maxEventBytes: 2 * size - 1 })).events).toEqual([
      ['a#1'],
      ['b#1'],
      ['c#1'],
    ]);
    // A record larger than the bound still goes, alone.
    expect((await poll(vendor, BEGINNING, { maxEventBytes: 10 })).events).toHaveLength(3);
  });

  it('report a record too large for any event as skipped, and the records after it still go (oversized)', async () => {
    const huge: Rec = { ...rec('h', 2), pad: 'x'.repeat(5000) };
    const vendor = new Vendor().put(rec('a', 1), huge, rec('c', 3));
    const first = await poll(vendor, BEGINNING, { maxEventBytes: 1000, oversized: true });
    expect(first.events.flat()).toEqual(['a#1', 'c#1']);
    const skipped = first.steps.flatMap((s) => s.skipped ?? []);
    expect(skipped).toEqual([expect.objectContaining({ record: 'h', kind: 'test record' })]);
    expect(skipped[0]?.message).toMatch(/^50\d\d bytes$/);
    // Past it for good: the next run neither reads it again nor reports it, until it changes.
    const second = await poll(vendor, first.state, { maxEventBytes: 1000, oversized: true });
    expect(second.events.flat()).toEqual([]);
    expect(second.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
    vendor.put(rec('h', 4, 2));
    expect(
      (await poll(vendor, second.state, { maxEventBytes: 1000, oversized: true })).events.flat(),
    ).toEqual(['h#2']);
  });
});

describe('bounded ties', () => {
  /** `n` records sharing one instant, ids in an order that is not their key order. */
  const ties = (n: number, ms: number) =>
    Array.from({ length: n }, (_, i) => rec(`t${String((i * 7) % n).padStart(3, '0')}`, ms));
  const keysOf = (run: { events: unknown[][] }) => run.events.flat() as string[];

  it('lists at most maxTieKeys keys however many records share an instant, each emitted once', async () => {
    const vendor = new Vendor().put(rec('a', 500), ...ties(50, 1000));
    const first = await poll(vendor, BEGINNING, { pageSize: 7, maxPerEvent: 6, maxTieKeys: 4 });
    expect(keysOf(first)).toHaveLength(51);
    expect(new Set(keysOf(first)).size).toBe(51);
    for (const step of first.steps) expect(step.state.keys.length).toBeLessThanOrEqual(4);
    // Beyond the bound the instant goes in key order, and the state says how far.
    expect(keysOf(first).slice(1)).toEqual([...keysOf(first).slice(1)].sort());
    expect(first.state).toEqual({ ms: 1000, keys: [], through: 't049#1' });
    // Handled whole, the instant is not read again: the next read starts after it.
    vendor.calls = [];
    expect((await poll(vendor, first.state, { pageSize: 7, maxTieKeys: 4 })).steps).toEqual([]);
    expect(reads(vendor)).toEqual(['1001+0 p1']);
    // The named assumption: a settled instant gets no new records, so one added to it is not read.
    vendor.put(rec('u', 1000), rec('z', 2000));
    const second = await poll(vendor, first.state, { pageSize: 7, maxTieKeys: 4 });
    expect(keysOf(second)).toEqual(['z#1']);
    expect(second.state).toEqual({ ms: 2000, keys: ['z#1'] });
  });

  it('keeps the listed keys of an earlier run and summarises only what it reads whole', async () => {
    const vendor = new Vendor().put(...ties(10, 1000));
    const start = { ms: 1000, keys: ['t003#1', 't008#1'] };
    const run = await poll(vendor, start, { pageSize: 3, maxTieKeys: 4 });
    expect(keysOf(run)).toHaveLength(8);
    expect(keysOf(run)).not.toContain('t003#1');
    expect(run.state).toEqual({ ms: 1000, keys: [], through: 't009#1' });
    // A listed key beyond the last one read is covered too: the instant is read whole, none is left.
    const listedLast = await poll(vendor, { ms: 1000, keys: ['t009#1'] }, { pageSize: 3, maxTieKeys: 4 });
    expect(keysOf(listedLast)).toHaveLength(9);
    expect(listedLast.state).toEqual({ ms: 1000, keys: [], through: 't009#1' });
  });

  it('holds an instant that is not settled beyond the bound; the rest follows once it is', async () => {
    const vendor = new Vendor().put(rec('a', 500), ...ties(20, 1000), rec('z', 2000));
    const young = await poll(vendor, BEGINNING, { pageSize: 5, maxTieKeys: 4, settledBeforeMs: 1000 });
    // `a` and the four the list has room for; nothing newer than the held instant (no `z`).
    expect(keysOf(young)).toHaveLength(5);
    expect(young.read.heldAtTies).toEqual({ ms: 1000, held: 16 });
    expect(young.state.keys).toHaveLength(4);
    const still = await poll(vendor, young.state, { pageSize: 5, maxTieKeys: 4, settledBeforeMs: 1000 });
    expect(still.events).toEqual([]);
    const settled = await poll(vendor, young.state, { pageSize: 5, maxTieKeys: 4, settledBeforeMs: 1001 });
    const all = [...keysOf(young), ...keysOf(settled)];
    expect(all).toHaveLength(22);
    expect(new Set(all).size).toBe(22);
    expect(settled.state).toEqual({ ms: 2000, keys: ['z#1'] });
  });

  it('reads an instant beyond the bound to its end past maxPages', async () => {
    const vendor = new Vendor().put(...ties(30, 1000), rec('z', 2000));
    // Page 2 reads the instant again from its start (keyset restart): the list has room for 3.
    const run = await poll(vendor, BEGINNING, { pageSize: 4, maxPages: 2, maxTieKeys: 3 });
    // The instant's end is known at `z` (on the same page), which goes too.
    expect(keysOf(run)).toHaveLength(31);
    expect(new Set(keysOf(run)).size).toBe(31);
    expect(run.read.pages).toBeGreaterThan(2);
    expect(run.state).toEqual({ ms: 2000, keys: ['z#1'] });
    expect(run.steps.every((s) => s.state.keys.length <= 3)).toBe(true);
  });

  it('stops at maxPages inside such an instant that is not settled (it could not be summarised)', async () => {
    const vendor = new Vendor().put(...ties(30, 1000));
    const run = await poll(vendor, BEGINNING, {
      pageSize: 4,
      maxPages: 2,
      maxTieKeys: 3,
      settledBeforeMs: 1000,
    });
    expect(run.read.pages).toBe(2);
    expect(run.read.stoppedAtLimit).toBe(true);
    expect(keysOf(run)).toHaveLength(3);
  });

  it('after a failure inside such an instant emits what the list has room for, the rest next run', async () => {
    const vendor = new Vendor().put(...ties(12, 1000));
    vendor.failOnCall = 3;
    const failed = await poll(vendor, BEGINNING, { pageSize: 4, maxTieKeys: 3 });
    expect(failed.read.failure).toBeDefined();
    expect(keysOf(failed)).toHaveLength(3);
    const rest = await poll(vendor, failed.state, { pageSize: 4, maxTieKeys: 3 });
    expect(new Set([...keysOf(failed), ...keysOf(rest)]).size).toBe(12);
    expect(keysOf(failed).length + keysOf(rest).length).toBe(12);
  });
});
