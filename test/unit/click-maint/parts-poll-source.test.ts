/** The Click Maint parts poll source end to end over HTTP: real client, simulator, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import type { ClickMaintClient } from '../../../functions/connectors/click-maint/client.ts';
import type { ClickMaintConfigInput } from '../../../functions/connectors/click-maint/config.ts';
import {
  CLICK_MAINT_PARTS_CHANGED,
  type ClickMaintPartSnapshot,
  type ClickMaintPartsPollOptions,
  type ClickMaintPartsPollState,
  clickMaintPartsChangedDataSchema,
  clickMaintPartsPollSource,
  EPOCH_WATERMARK,
} from '../../../functions/connectors/click-maint/parts-poll-source.ts';
import type { SimPartInput } from '../../../functions/connectors/click-maint/simulator/index.ts';
import { ConfigError, VendorHttpError, VendorResponseError } from '../../../functions/core/errors.ts';
import { defineFlow, type FlowEvent, type PollStep } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { RateLimitedError } from '../../../functions/core/rate-limit.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { testEnv } from '../../support/factories.ts';
import { callsTo, type Harness, startHarness, T0 } from './support.ts';

let h: Harness;

beforeAll(async () => {
  // No seeded parts: every test builds exactly the inventory it needs.
  h = await startHarness({ seed: false });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.sim.reset();
  h.sim.setAcceptsUpdatedAtFilter(true);
  h.clock.advance(T0 - h.clock.now().getTime());
});

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const part = (name: string, onHand = 10): SimPartInput => ({
  name,
  on_hand_qty: onHand,
  min_qty: 2,
  number: `PN-${name}`,
});

/** Adds parts one second apart (distinct updated_at), starting at the current clock; returns their ids. */
function addSpaced(names: string[], entityId = 1): number[] {
  const ids: number[] = [];
  for (const name of names) {
    ids.push(...h.sim.addParts(entityId, [part(name)]).map((p) => p.id));
    h.clock.advance(1_000);
  }
  return ids;
}

async function poll(
  state: ClickMaintPartsPollState | undefined,
  options: ClickMaintPartsPollOptions = {},
  config: Partial<ClickMaintConfigInput> = {},
  client: ClickMaintClient = h.client({ entities: [1], ...config }),
) {
  const log = memoryLog();
  const steps: PollStep<ClickMaintPartsPollState>[] = [];
  let error: unknown;
  try {
    for await (const step of clickMaintPartsPollSource.poll({
      state,
      options,
      now: h.clock.now(),
      deps: { client },
      log,
    })) {
      // What the runtime does: the state it saves must load again through the source's schema.
      expect(clickMaintPartsPollSource.stateSchema.parse(JSON.parse(JSON.stringify(step.state)))).toEqual(
        step.state,
      );
      steps.push(step);
    }
  } catch (e) {
    error = e;
  }
  const events = steps.flatMap((s) => s.events);
  const parts = events.flatMap((e) => clickMaintPartsChangedDataSchema.parse(e.data).parts);
  return { steps, events, parts, state: steps.at(-1)?.state ?? state, log, error };
}

const names = (parts: ClickMaintPartSnapshot[]) => parts.map((p) => p.name);

/** A stock part record as Click Maint would send it, with `overrides` (e.g. a bad on_hand_qty). */
const wirePart = (id: number, updatedAtMs: number, overrides: Record<string, unknown> = {}) => ({
  id,
  name: `Wire ${id}`,
  is_non_stock: false,
  on_hand_qty: 10,
  min_qty: 2,
  updated_at: iso(updatedAtMs),
  ...overrides,
});

/**
 * A client whose `GET /parts` answers also hold `extra` raw records (records the simulator cannot
 * hold), kept when they match the updated_at filter and fall within the page (or after it on the
 * last page), in the page's sort order, as Click Maint would.
 */
function clientServing(extra: Record<string, unknown>[], config: Partial<ClickMaintConfigInput> = {}) {
  return h.client(
    { entities: [1], ...config },
    {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        const url = new URL(String(input));
        if (!url.pathname.endsWith('/parts') || res.status !== 200) return res;
        const body = (await res.json()) as {
          data: Record<string, unknown>[];
          meta: { pagination: { page: number; total_pages: number } };
        };
        const at = (r: Record<string, unknown>) => Date.parse(String(r.updated_at));
        const since = Date.parse(url.searchParams.get('filter[updated_at_gteq]') ?? EPOCH_WATERMARK);
        const desc = url.searchParams.get('sort') === 'updated_at desc';
        const times = body.data.map(at);
        const lastPage = body.meta.pagination.page >= body.meta.pagination.total_pages;
        const lo = desc ? (lastPage ? -Infinity : Math.min(...times)) : Math.min(since, ...times);
        const hi = desc
          ? body.meta.pagination.page === 1
            ? Infinity
            : Math.max(...times)
          : lastPage
            ? Infinity
            : Math.max(...times);
        const merged = [
          ...body.data,
          ...extra.filter((r) => at(r) >= since && at(r) >= lo && at(r) <= hi),
        ].sort((a, b) => (desc ? at(b) - at(a) : at(a) - at(b)));
        return new Response(JSON.stringify({ ...body, data: merged }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      },
    },
  );
}
/** `[filter[updated_at_gteq], page]` of each `GET /parts`. */
const ransackQueries = () =>
  callsTo(h.sim, 'GET /parts').map((c) => [c.query['filter[updated_at_gteq]']?.[0], c.query.page?.[0]]);

describe('click-maint.parts poll source: ransack mode', () => {
  it('reads every part on the first run with filter[updated_at_gteq] + updated_at asc, and remembers the mode', async () => {
    addSpaced(['Air Filter', 'V-Belt B52']);
    h.sim.addParts(1, [{ name: 'Shop towels', is_non_stock: true }]);
    const run = await poll(undefined);
    expect(run.error).toBeUndefined();
    expect(names(run.parts)).toEqual(['Air Filter', 'V-Belt B52', 'Shop towels']);
    expect(run.parts[0]).toEqual({
      id: 101,
      name: 'Air Filter',
      number: 'PN-Air Filter',
      onHandQty: 10,
      minQty: 2,
      available: 10,
      isNonStock: false,
      updatedAt: '2026-11-02T08:00:00Z',
    });
    // Non-stock parts are in the snapshot; the flow skips them.
    expect(run.parts[2]).toMatchObject({ isNonStock: true, minQty: null, available: null });
    expect(callsTo(h.sim, 'GET /parts')[0]?.query).toEqual({
      'filter[updated_at_gteq]': [EPOCH_WATERMARK],
      sort: ['updated_at asc'],
      page: ['1'],
      per_page: ['100'],
    });
    expect(run.state).toEqual({
      entities: {
        '1': {
          watermark: '2026-11-02T08:00:02Z',
          seen: ['103@2026-11-02T08:00:02Z#0/'],
          mode: 'ransack',
        },
      },
    });
    const [event] = run.events;
    expect(event).toMatchObject({
      type: CLICK_MAINT_PARTS_CHANGED,
      source: 'click-maint.poll',
      subject: 'entity:1',
      occurredAt: '2026-11-02T08:00:02.000Z',
      data: { entityId: 1 },
    });
    expect(event?.id).toMatch(/^click-maint\.parts:1:[0-9a-f]{24}$/);
  });

  it('emits only the new changes on the next run, reading from the watermark second', async () => {
    const [a, b] = addSpaced(['A', 'B', 'C']);
    const first = await poll(undefined);
    h.clock.advance(60_000);
    h.sim.consume(b as number, 9);
    h.clock.advance(1_000);
    h.sim.restock(a as number, 5);
    const second = await poll(first.state);
    expect(second.parts.map((p) => [p.name, p.onHandQty])).toEqual([
      ['B', 1],
      ['A', 15],
    ]);
    expect(ransackQueries().slice(1)).toEqual([['2026-11-02T08:00:02Z', '1']]);
    const idle = await poll(second.state);
    expect(ransackQueries().slice(2)).toEqual([['2026-11-02T08:01:04Z', '1']]);
    expect(idle.steps).toEqual([
      {
        events: [],
        state: second.state,
        summary: 'entity 1: no part changes since 2026-11-02T08:01:04Z (ransack, 1 page read)',
      },
    ]);
  });

  it('pages to the end with perPage 2 (keyset: each page restarts at the advanced watermark)', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    const run = await poll(undefined, { perPage: 2 });
    expect(names(run.parts)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    // Each query re-reads the watermark second (its part is dropped as seen) and gains the next one;
    // the run ends on a query whose page is its last (page >= total_pages).
    expect(ransackQueries()).toEqual([
      [EPOCH_WATERMARK, '1'],
      [iso(T0 + 1_000), '1'],
      [iso(T0 + 2_000), '1'],
      [iso(T0 + 3_000), '1'],
      [iso(T0 + 4_000), '1'],
      [iso(T0 + 5_000), '1'],
    ]);
    expect(callsTo(h.sim, 'GET /parts').every((c) => c.query.per_page?.[0] === '2')).toBe(true);
    expect((await poll(run.state, { perPage: 2 })).parts).toEqual([]);
  });

  it('neither skips nor repeats parts that share a second, across pages and runs', async () => {
    // Five parts in one second (one bulk add), then two later ones.
    h.sim.addParts(
      1,
      ['T1', 'T2', 'T3', 'T4', 'T5'].map((n) => part(n)),
    );
    h.clock.advance(1_000);
    const [l1, l2] = addSpaced(['L1', 'L2']);
    const run = await poll(undefined, { perPage: 2 });
    expect(names(run.parts)).toEqual(['T1', 'T2', 'T3', 'T4', 'T5', 'L1', 'L2']);
    // Inside the run of ties the watermark cannot move, so the source steps over it by page; the run
    // ends past page 1, so it is read once more (nothing new) before the watermark moves past it.
    expect(ransackQueries()).toEqual([
      [EPOCH_WATERMARK, '1'],
      [iso(T0), '1'],
      [iso(T0), '2'],
      [iso(T0), '3'],
      [iso(T0), '1'],
      [iso(T0), '2'],
      [iso(T0), '3'],
      [iso(T0 + 1_000), '1'],
    ]);

    // Later in the watermark's own second: a stock change of L1 and a new part. Both are seen; L2 is not repeated.
    h.clock.advance(-1_000);
    h.sim.consume(l1 as number, 1);
    h.sim.addParts(1, [part('L0')]);
    const next = await poll(run.state, { perPage: 2 });
    expect(next.parts.map((p) => [p.name, p.onHandQty])).toEqual([
      ['L1', 9],
      ['L0', 10],
    ]);
    expect(next.state?.entities['1']).toEqual({
      watermark: iso(T0 + 2_000),
      seen: [`${l2}@${iso(T0 + 2_000)}#10/2`, `${l1}@${iso(T0 + 2_000)}#9/2`, `108@${iso(T0 + 2_000)}#10/2`],
      mode: 'ransack',
    });
    expect((await poll(next.state, { perPage: 2 })).parts).toEqual([]);
  });

  it('emits one event per partsPerEvent parts, each step saving the state of its last part', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const run = await poll(undefined, { perPage: 2, partsPerEvent: 2 });
    expect(run.events.map((e) => names(clickMaintPartsChangedDataSchema.parse(e.data).parts))).toEqual([
      ['P1', 'P2'],
      ['P3', 'P4'],
      ['P5'],
    ]);
    expect(run.steps.map((s) => s.state.entities['1']?.watermark)).toEqual([
      iso(T0 + 1_000),
      iso(T0 + 3_000),
      iso(T0 + 4_000),
    ]);
    expect(run.steps.map((s) => s.summary)).toEqual([
      'entity 1: parts 1..2 of changes since the beginning (ransack)',
      'entity 1: parts 3..4 of changes since the beginning (ransack)',
      'entity 1: parts 5..5 of changes since the beginning (ransack)',
    ]);
    // Deterministic: the same state and data give the same ids; resuming from a step gives the rest.
    const again = await poll(undefined, { perPage: 2, partsPerEvent: 2 });
    expect(again.events.map((e) => e.id)).toEqual(run.events.map((e) => e.id));
    const resumed = await poll(run.steps[0]?.state, { perPage: 2, partsPerEvent: 2 });
    expect(resumed.events.map((e) => e.id)).toEqual(run.events.slice(1).map((e) => e.id));
    expect(new Set(run.events.map((e) => e.id)).size).toBe(3);
  });
});

describe('click-maint.parts poll source: records that do not parse', () => {
  const bad = wirePart(900, T0 + 1_500, { on_hand_qty: 'lots' });
  const expected = {
    kind: 'Click Maint part (entity 1)',
    record: '900',
    field: 'on_hand_qty',
    message: 'expected a number or a numeric string (got "lots")',
    next: 'not synced until it changes again in Click Maint',
  };

  for (const updatedAtFilter of ['ransack', 'off'] as const) {
    it(`${updatedAtFilter}: skips a part that does not parse, syncs the parts after it, and moves past it`, async () => {
      addSpaced(['P1', 'P2', 'P3', 'P4']);
      const client = clientServing([bad], { updatedAtFilter });
      const run = await poll(undefined, { perPage: 2 }, {}, client);
      expect(run.error).toBeUndefined();
      expect(names(run.parts)).toEqual(['P1', 'P2', 'P3', 'P4']);
      expect(run.steps.flatMap((s) => s.skipped ?? [])).toEqual([expected]);
      expect(run.state?.entities['1']).toMatchObject({ watermark: iso(T0 + 3_000) });
      // Not read, not reported again until it changes.
      const again = await poll(run.state, { perPage: 2 }, {}, client);
      expect(again.parts).toEqual([]);
      expect(again.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
    });
  }

  it('a part too large for any event (a 300 KB name) is reported as skipped and the parts after it sync, instead of failing every run', async () => {
    addSpaced(['A']);
    h.sim.addParts(1, [{ ...part('HUGE'), name: 'x'.repeat(300_000) }]);
    h.clock.advance(1_000);
    addSpaced(['C']);
    const run = await poll(undefined);
    expect(run.error).toBeUndefined();
    expect(names(run.parts)).toEqual(['A', 'C']);
    const skipped = run.steps.flatMap((s) => s.skipped ?? []);
    expect(skipped.map((s) => s.next)).toEqual(['not synced until it changes again in Click Maint']);
    expect(skipped[0]?.message).toMatch(/over the 204800 bytes one event may carry/);
    const again = await poll(run.state);
    expect(again.parts).toEqual([]);
    expect(again.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
  });

  it('a bad last part moves the watermark past it, so it is reported once, not on every run', async () => {
    addSpaced(['P1']);
    const last = wirePart(901, T0 + 5_000, { name: null });
    const client = clientServing([last]);
    const run = await poll(undefined, {}, {}, client);
    expect(names(run.parts)).toEqual(['P1']);
    expect(run.steps.map((s) => [s.summary, s.skipped?.map((x) => x.record)])).toEqual([
      ['entity 1: parts 1..1 of changes since the beginning (ransack)', ['901']],
    ]);
    expect(run.state?.entities['1']).toEqual({
      watermark: iso(T0 + 5_000),
      seen: [`901@${iso(T0 + 5_000)}#unreadable`],
      mode: 'ransack',
    });
    const again = await poll(run.state, {}, {}, client);
    expect(again.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
  });
});

describe('click-maint.parts poll source: fallback (documented-only) and auto detection', () => {
  /** `[sort, page, has updated_at filter]` of each `GET /parts`. */
  const fallbackQueries = () =>
    callsTo(h.sim, 'GET /parts').map((c) => [
      c.query.sort?.[0],
      c.query.page?.[0],
      c.query['filter[updated_at_gteq]'] !== undefined,
    ]);

  it("'off' sorts by updated_at desc, pages until older than the watermark, and emits oldest first", async () => {
    const ids = addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const first = await poll(undefined, { perPage: 2 }, { updatedAtFilter: 'off' });
    expect(names(first.parts)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    expect(fallbackQueries()).toEqual([
      ['updated_at desc', '1', false],
      ['updated_at desc', '2', false],
      ['updated_at desc', '3', false],
    ]);
    expect(first.state?.entities['1']).toMatchObject({ watermark: iso(T0 + 4_000), mode: 'fallback' });

    h.clock.advance(10_000);
    h.sim.consume(ids[1] as number, 3);
    h.clock.advance(1_000);
    h.sim.consume(ids[3] as number, 4);
    const second = await poll(first.state, { perPage: 2 }, { updatedAtFilter: 'off' });
    expect(second.parts.map((p) => [p.name, p.onHandQty])).toEqual([
      ['P2', 7],
      ['P4', 6],
    ]);
    // Page 1 holds the two changes, page 2 starts with P5 (older than the watermark second): stop.
    expect(fallbackQueries().slice(3)).toEqual([
      ['updated_at desc', '1', false],
      ['updated_at desc', '2', false],
    ]);
    expect((await poll(second.state, { perPage: 2 }, { updatedAtFilter: 'off' })).parts).toEqual([]);
  });

  it('handles ties at the watermark second in the fallback too', async () => {
    h.sim.addParts(
      1,
      ['T1', 'T2', 'T3'].map((n) => part(n)),
    );
    const first = await poll(undefined, { perPage: 2 }, { updatedAtFilter: 'off' });
    expect(names(first.parts)).toEqual(['T1', 'T2', 'T3']);
    h.sim.addParts(1, [part('T4')]); // the same second
    const second = await poll(first.state, { perPage: 2 }, { updatedAtFilter: 'off' });
    expect(names(second.parts)).toEqual(['T4']);
    expect((await poll(second.state, { perPage: 2 }, { updatedAtFilter: 'off' })).parts).toEqual([]);
  });

  it("'auto' falls back when meta.filter does not echo updated_at_gteq, and remembers it", async () => {
    h.sim.setAcceptsUpdatedAtFilter(false);
    addSpaced(['P1', 'P2', 'P3']);
    const first = await poll(undefined, { perPage: 2 });
    expect(first.error).toBeUndefined();
    expect(names(first.parts)).toEqual(['P1', 'P2', 'P3']);
    expect(first.state?.entities['1']).toMatchObject({ mode: 'fallback', watermark: iso(T0 + 2_000) });
    expect(first.log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'click-maint parts poll: the API ignores filter[updated_at_gteq]; using the fallback',
    ]);
    expect(fallbackQueries()).toEqual([
      ['updated_at asc', '1', true],
      ['updated_at desc', '1', false],
      ['updated_at desc', '2', false],
    ]);

    // The next run goes straight to the fallback (no probe).
    h.clock.advance(5_000);
    addSpaced(['P4']);
    const second = await poll(first.state, { perPage: 2 });
    expect(names(second.parts)).toEqual(['P4']);
    // P4 and P3 (at the watermark second, seen) on page 1; page 2 starts older than the watermark: stop.
    expect(fallbackQueries().slice(3)).toEqual([
      ['updated_at desc', '1', false],
      ['updated_at desc', '2', false],
    ]);
  });

  it("'auto' with an API that honours the filter remembers ransack", async () => {
    const run = await poll(undefined);
    expect(run.state).toEqual({
      entities: { '1': { watermark: EPOCH_WATERMARK, seen: [], mode: 'ransack' } },
    });
  });

  it("'ransack' refuses an API that ignores the filter (VendorResponseError naming meta.filter)", async () => {
    h.sim.setAcceptsUpdatedAtFilter(false);
    addSpaced(['P1']);
    const run = await poll(undefined, {}, { updatedAtFilter: 'ransack' });
    expect(run.error).toBeInstanceOf(VendorResponseError);
    expect(run.error).toMatchObject({ field: 'meta.filter.updated_at_gteq', retryable: false });
    expect(run.events).toEqual([]);
  });
});

describe('click-maint.parts poll source: bounded ties', () => {
  const bulk = (n: number) => Array.from({ length: n }, (_, i) => part(`B${String(i).padStart(2, '0')}`));

  it.each([
    ['ransack', 'ransack'],
    ['fallback', 'off'],
  ] as const)(
    '%s: a second with more parts than maxTieKeys is emitted once each, its state bounded',
    async (_mode, filter) => {
      h.sim.addParts(1, bulk(30));
      const options = { perPage: 7, partsPerEvent: 8, maxTieKeys: 5 };
      // Too young: only what the list has room for goes, the rest waits for the second to settle.
      const young = await poll(undefined, options, { updatedAtFilter: filter });
      expect(young.parts).toHaveLength(5);
      expect(young.state?.entities['1']?.seen).toHaveLength(5);
      expect(young.steps.at(-1)?.summary).toContain('25 parts updated at');
      h.clock.advance(61_000);
      const settled = await poll(young.state, options, { updatedAtFilter: filter });
      const all = [...names(young.parts), ...names(settled.parts)];
      expect(all).toHaveLength(30);
      expect(new Set(all).size).toBe(30);
      for (const step of [...young.steps, ...settled.steps]) {
        expect(step.state.entities['1']?.seen.length).toBeLessThanOrEqual(5);
      }
      expect(settled.state?.entities['1']?.seenThrough).toBeDefined();
      expect((await poll(settled.state, options, { updatedAtFilter: filter })).parts).toEqual([]);
      if (filter === 'ransack') {
        // Handled whole, that second is not read again: the read starts at the next one.
        expect(ransackQueries().at(-1)).toEqual([iso(T0 + 1_000), '1']);
      }
      h.sim.addParts(1, [part('Later')]);
      h.clock.advance(61_000);
      expect(names((await poll(settled.state, options, { updatedAtFilter: filter })).parts)).toEqual([
        'Later',
      ]);
    },
  );
});

describe('click-maint.parts poll source: entities and options', () => {
  it('polls every entity GET /entities lists, each with its own watermark', async () => {
    addSpaced(['Main 1']);
    addSpaced(['North 1', 'North 2'], 2);
    const run = await poll(undefined, {}, {}, h.client({ entities: undefined }));
    expect(
      run.events.map((e) => [e.subject, names(clickMaintPartsChangedDataSchema.parse(e.data).parts)]),
    ).toEqual([
      ['entity:1', ['Main 1']],
      ['entity:2', ['North 1', 'North 2']],
    ]);
    expect(Object.keys(run.state?.entities ?? {})).toEqual(['1', '2']);
    expect(run.state?.entities['2']?.watermark).toBe(iso(T0 + 2_000));
    expect(callsTo(h.sim, 'GET /entities')).toHaveLength(1);
    expect(callsTo(h.sim, 'GET /parts').map((c) => c.entityId)).toEqual(['1', '2']);
  });

  it('isolates a failing entity: the others are polled, then the error is thrown', async () => {
    addSpaced(['Main 1']);
    addSpaced(['North 1'], 2);
    const client = h.client(
      { entities: [1, 2] },
      {
        fetch: async (input, init) => {
          if (new Headers(init?.headers).get('x-entity-id') === '1') {
            return new Response(JSON.stringify({ status: 'error', message: 'Internal error' }), {
              status: 500,
            });
          }
          return fetch(input, init);
        },
      },
    );
    const run = await poll(undefined, {}, {}, client);
    expect(run.error).toBeInstanceOf(VendorHttpError);
    expect(names(run.parts)).toEqual(['North 1']);
    expect(run.state?.entities['1']).toBeUndefined();
    expect(run.state?.entities['2']).toMatchObject({ watermark: iso(T0 + 1_000) });
    expect(run.log.lines.filter((l) => l.level === 'error').map((l) => l.extra?.entityId)).toEqual([1]);
  });

  it('stops the whole run on a rate-limit error (every entity shares the budget)', async () => {
    addSpaced(['Main 1']);
    addSpaced(['North 1'], 2);
    const client = h.client(
      { entities: [1, 2] },
      {
        fetch: async () =>
          new Response(JSON.stringify({ status: 'error', message: 'Rate limit exceeded' }), {
            status: 429,
            headers: { 'retry-after': '120' },
          }),
      },
    );
    const run = await poll(undefined, {}, {}, client);
    // The 429 paused the account's shared bucket for 120 s (of virtual wall-clock time): let it pass
    // so later tests are not refused by the limiter.
    h.time.advance(121_000);
    expect(run.error).toBeInstanceOf(RateLimitedError);
    expect((run.error as RateLimitedError).retryAfterMs).toBe(120_000);
    expect(run.events).toEqual([]);
    // One attempt for entity 1 (retry-after beyond what HttpClient may wait), none for entity 2.
    expect(run.log.lines.filter((l) => l.level === 'error').map((l) => l.extra?.entityId)).toEqual([1]);
  });

  it('stops at maxPagesPerRun with a warning and continues on the next run', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const first = await poll(undefined, { perPage: 2, maxPagesPerRun: 2 });
    expect(names(first.parts)).toEqual(['P1', 'P2', 'P3']);
    expect(first.steps.at(-1)?.summary).toBe(
      'entity 1: parts 1..3 of changes since the beginning (ransack); stopped after 2 pages (maxPagesPerRun), continuing next run',
    );
    expect(first.log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'click-maint parts poll: page limit reached; the rest is read on the next run',
    ]);
    const second = await poll(first.state, { perPage: 2, maxPagesPerRun: 2 });
    expect(names(second.parts)).toEqual(['P4', 'P5']);
  });

  it("startFrom 'now' sets a new entity's watermark to now and emits nothing", async () => {
    addSpaced(['Old1', 'Old2']);
    const first = await poll(undefined, { startFrom: 'now' });
    expect(first.events).toEqual([]);
    expect(first.state).toEqual({ entities: { '1': { watermark: iso(T0 + 2_000), seen: [] } } });
    expect(callsTo(h.sim, 'GET /parts')).toEqual([]);
    h.clock.advance(1_000);
    addSpaced(['New1']);
    expect(names((await poll(first.state, { startFrom: 'now' })).parts)).toEqual(['New1']);
  });

  it('refuses bad options with a ConfigError naming the option', async () => {
    const bad = async (options: unknown) =>
      (await poll(undefined, options as ClickMaintPartsPollOptions)).error;
    expect(await bad({ partsPerEvent: 0 })).toBeInstanceOf(ConfigError);
    expect(await bad({ partsPerEvent: 501 })).toMatchObject({ path: 'options.partsPerEvent' });
    expect(await bad({ perPage: 101 })).toMatchObject({ path: 'options.perPage' });
    expect(await bad({ startFrom: 'yesterday' })).toMatchObject({ path: 'options.startFrom' });
  });
});

describe('click-maint.parts poll source under runPoll', () => {
  let flowCounter = 0;
  const makeFlow = (options: ClickMaintPartsPollOptions) =>
    defineFlow({
      id: `click-maint-parts-test-${flowCounter++}`,
      description: 'test',
      vendors: ['click-maint'],
      config: z.object({}),
      triggers: [
        {
          kind: 'schedule',
          source: clickMaintPartsPollSource,
          everyMinutes: () => 5,
          options: () => options,
        },
      ],
      setup: () => undefined,
      on: {},
    });

  /** A queue whose `send` throws on the calls listed in `failOn` (1-based); records every attempt. */
  function flakyQueue(failOn: number[] = []) {
    let calls = 0;
    const attempted: FlowEvent[][] = [];
    const sent: FlowEvent[] = [];
    const queue: EventQueue = {
      async send(_url, events) {
        calls++;
        attempted.push([...events]);
        if (failOn.includes(calls)) throw new Error('queue unavailable');
        sent.push(...events);
      },
    };
    return { queue, attempted, sent };
  }

  const client = () => h.client({ entities: [1] });
  async function run(flow: ReturnType<typeof makeFlow>, env: ReturnType<typeof testEnv>, queue: EventQueue) {
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    return runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: { client: client() } });
  }
  const partNames = (events: FlowEvent[]) =>
    events.flatMap((e) => names(clickMaintPartsChangedDataSchema.parse(e.data).parts));

  it('a crash before enqueue repeats nothing and loses nothing', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4']);
    const flow = makeFlow({ perPage: 3 });
    const env = testEnv(h.state.store());
    const key = `${flow.id}#click-maint.parts`;

    const crashed = flakyQueue([1]);
    await expect(run(flow, env, crashed.queue)).rejects.toThrow('queue unavailable');
    expect(crashed.sent).toEqual([]);
    expect(await env.state.loadPollState(key)).toBeUndefined();
    const attemptedId = crashed.attempted[0]?.[0]?.id;
    expect(attemptedId).toMatch(/^click-maint\.parts:1:/);

    const retry = flakyQueue();
    const summary = await run(flow, env, retry.queue);
    expect(summary).toMatchObject({ steps: 1, events: 1 });
    expect(retry.sent.map((e) => e.id)).toEqual([attemptedId]);
    expect(partNames(retry.sent)).toEqual(['P1', 'P2', 'P3', 'P4']);
    expect((await env.state.loadPollState(key))?.data).toEqual({
      entities: {
        '1': { watermark: iso(T0 + 3_000), seen: [`104@${iso(T0 + 3_000)}#10/2`], mode: 'ransack' },
      },
    });

    const quiet = flakyQueue();
    const after = await run(flow, env, quiet.queue);
    expect(after).toMatchObject({ steps: 1, events: 0 });
    expect(quiet.sent).toEqual([]);
    expect(after.summaries).toEqual([
      `entity 1: no part changes since ${iso(T0 + 3_000)} (ransack, 1 page read)`,
    ]);
  });

  it('a crash between two steps resumes after the saved step with the same event ids', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const flow = makeFlow({ perPage: 2, partsPerEvent: 2 });
    const env = testEnv(h.state.store());

    const crashed = flakyQueue([2]);
    await expect(run(flow, env, crashed.queue)).rejects.toThrow('queue unavailable');
    expect(crashed.sent).toHaveLength(1);
    const attemptedIds = crashed.attempted.flat().map((e) => e.id);

    const retry = flakyQueue();
    await run(flow, env, retry.queue);
    const delivered = [...crashed.sent, ...retry.sent];
    // Nothing twice, nothing lost, and the re-sent step kept its id.
    expect(delivered.map((e) => e.id)).toEqual([...attemptedIds, ...retry.sent.slice(1).map((e) => e.id)]);
    expect(partNames(delivered)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
  });

  it('a crash before enqueue in fallback mode repeats nothing and loses nothing', async () => {
    h.sim.setAcceptsUpdatedAtFilter(false);
    addSpaced(['P1', 'P2', 'P3']);
    const flow = makeFlow({ perPage: 2 });
    const env = testEnv(h.state.store());
    const crashed = flakyQueue([1]);
    await expect(run(flow, env, crashed.queue)).rejects.toThrow('queue unavailable');
    const retry = flakyQueue();
    await run(flow, env, retry.queue);
    expect(retry.sent.map((e) => e.id)).toEqual(crashed.attempted.flat().map((e) => e.id));
    expect(partNames(retry.sent)).toEqual(['P1', 'P2', 'P3']);
    const quiet = flakyQueue();
    await run(flow, env, quiet.queue);
    expect(quiet.sent).toEqual([]);
  });
});
