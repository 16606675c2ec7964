/** The UpKeep parts poll source end to end over HTTP: real client, real simulator, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import type { UpKeepClient } from '../../../functions/connectors/upkeep/client.ts';
import {
  MAX_PARTS_EVENT_DATA_BYTES,
  type PartSnapshot,
  UPKEEP_PARTS_CHANGED,
  type UpKeepPartsPollOptions,
  type UpKeepPartsPollState,
  upkeepPartsChangedDataSchema,
  upkeepPartsPollSource,
} from '../../../functions/connectors/upkeep/parts-poll-source.ts';
import type { SimPartInput } from '../../../functions/connectors/upkeep/simulator/index.ts';
import { ConfigError, VendorResponseError } from '../../../functions/core/errors.ts';
import { defineFlow, type FlowEvent, type PollStep } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { callsTo, type Harness, startHarness } from './support.ts';

const T0 = Date.parse('2026-11-02T08:00:00.000Z');
let h: Harness;
let client: UpKeepClient;

beforeAll(async () => {
  // No seeded parts: every test builds exactly the inventory it needs.
  h = await startHarness({ parts: [] });
  client = h.client();
});
afterAll(async () => {
  await h.sim.close();
});
beforeEach(() => {
  h.sim.reset();
  h.clock.advance(T0 - h.clock.now().getTime());
});

const part = (id: string, quantity = 10): SimPartInput => ({
  id,
  name: `Part ${id}`,
  quantity,
  minimumQuantity: 2,
  partNumber: `PN-${id}`,
});

/** Adds parts one second apart (distinct updatedAt), starting at the current clock. */
function addSpaced(ids: string[]): void {
  for (const id of ids) {
    h.sim.addParts([part(id)]);
    h.clock.advance(1_000);
  }
}

async function poll(
  state: UpKeepPartsPollState | undefined,
  options: UpKeepPartsPollOptions = {},
  pollClient: UpKeepClient = client,
) {
  const log = memoryLog();
  const steps: PollStep<UpKeepPartsPollState>[] = [];
  let error: unknown;
  try {
    for await (const step of upkeepPartsPollSource.poll({
      state,
      options,
      now: h.clock.now(),
      deps: { client: pollClient },
      log,
    })) {
      // What the runtime does: the state it saves must load again through the source's schema.
      expect(upkeepPartsPollSource.stateSchema.parse(JSON.parse(JSON.stringify(step.state)))).toEqual(
        step.state,
      );
      steps.push(step);
    }
  } catch (e) {
    error = e;
  }
  const events = steps.flatMap((s) => s.events);
  const parts = events.flatMap((e) => upkeepPartsChangedDataSchema.parse(e.data).parts);
  return { steps, events, parts, state: steps.at(-1)?.state ?? state, log, error };
}

const ids = (parts: PartSnapshot[]) => parts.map((p) => p.id);

/** A part record as UpKeep would send it, with `overrides` (e.g. a quantity that does not parse). */
const wireBadPart = (id: string, updatedAtMs: number, overrides: Record<string, unknown>) => ({
  id,
  name: `Part ${id}`,
  quantity: '10',
  minimumQuantity: '2',
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(updatedAtMs).toISOString(),
  ...overrides,
});

/**
 * A client whose `GET /parts` answers also hold `extra` raw records (records the simulator cannot
 * hold), placed by updatedAt and kept only when they match the query's updatedAt filter, as UpKeep
 * would. Offsets and limits apply to the simulator's parts only.
 */
function clientServing(extra: Record<string, unknown>[]): UpKeepClient {
  return h.client({
    http: {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        const url = new URL(String(input));
        if (!url.pathname.endsWith('/parts') || res.status !== 200) return res;
        const body = (await res.json()) as { results: Record<string, unknown>[] };
        const since = Number(url.searchParams.get('updatedAtGreaterThanOrEqualTo') ?? 0);
        const at = (r: Record<string, unknown>) => Date.parse(String(r.updatedAt));
        const shown = body.results;
        const last = shown.length > 0 ? at(shown[shown.length - 1] as Record<string, unknown>) : Infinity;
        const first = shown.length > 0 ? at(shown[0] as Record<string, unknown>) : since;
        // Only records inside this page's span (or past its end when it is the last page).
        const limit = Number(url.searchParams.get('limit') ?? 100);
        const lastPage = shown.length < limit;
        const merged = [
          ...shown,
          ...extra.filter((r) => at(r) >= Math.max(since, first) && (lastPage || at(r) <= last)),
        ].sort((a, b) => at(a) - at(b));
        return new Response(JSON.stringify({ ...body, results: merged }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      },
    },
  });
}
/** `[updatedAtGreaterThanOrEqualTo, offset]` of each authorised `GET /parts` (reset() expires sessions). */
const partQueries = () =>
  callsTo(h.sim, 'GET /parts')
    .filter((c) => c.authorized)
    .map((c) => [c.query.updatedAtGreaterThanOrEqualTo?.[0], c.query.offset?.[0]]);

describe('upkeep.parts poll source: reading', () => {
  it('pages to the end with keyset queries and emits the parts in updatedAt order', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    const run = await poll(undefined, { pageSize: 3 });
    expect(run.error).toBeUndefined();
    expect(ids(run.parts)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    expect(run.parts[0]).toEqual({
      id: 'P1',
      name: 'Part P1',
      quantity: 10,
      minimumQuantity: 2,
      updatedAtMs: T0,
      partNumber: 'PN-P1',
    });
    expect(run.state).toEqual({ watermarkMs: T0 + 6_000, idsAtWatermark: ['P7#10/2'] });
    // Each page restarts at the advanced watermark with offset 0; a short page is the end.
    expect(partQueries()).toEqual([
      ['0', '0'],
      [String(T0 + 2_000), '0'],
      [String(T0 + 4_000), '0'],
      [String(T0 + 6_000), '0'],
    ]);
    const [first] = callsTo(h.sim, 'GET /parts');
    expect(first?.query).toEqual({
      updatedAtGreaterThanOrEqualTo: ['0'],
      orderBy: ['updatedAt ASC'],
      limit: ['3'],
      offset: ['0'],
    });
  });

  it('emits one event per partsPerEvent parts, each step saving the state of its last part', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    const run = await poll(undefined, { pageSize: 2, partsPerEvent: 3 });
    expect(run.steps.map((s) => s.events.length)).toEqual([1, 1, 1]);
    expect(run.events.map((e) => ids(upkeepPartsChangedDataSchema.parse(e.data).parts))).toEqual([
      ['P1', 'P2', 'P3'],
      ['P4', 'P5', 'P6'],
      ['P7'],
    ]);
    expect(run.steps.map((s) => s.state)).toEqual([
      { watermarkMs: T0 + 2_000, idsAtWatermark: ['P3#10/2'] },
      { watermarkMs: T0 + 5_000, idsAtWatermark: ['P6#10/2'] },
      { watermarkMs: T0 + 6_000, idsAtWatermark: ['P7#10/2'] },
    ]);
    expect(run.steps.map((s) => s.summary)).toEqual([
      'parts 1..3 of changes since the beginning',
      'parts 4..6 of changes since the beginning',
      'parts 7..7 of changes since the beginning',
    ]);
    const [event] = run.events;
    expect(event).toMatchObject({
      type: UPKEEP_PARTS_CHANGED,
      source: 'upkeep.poll',
      subject: 'parts',
      occurredAt: '2026-11-02T08:00:02.000Z',
    });
  });

  it('neither skips nor repeats parts that share a millisecond across page boundaries', async () => {
    // Five parts in one millisecond (one bulk add on a manual clock), then two later ones.
    h.sim.addParts(['T5', 'T3', 'T1', 'T4', 'T2'].map((id) => part(id)));
    h.clock.advance(1_000);
    addSpaced(['L1', 'L2']);
    const run = await poll(undefined, { pageSize: 2 });
    // Ties come in UpKeep's (here: id) order, each exactly once.
    expect(ids(run.parts)).toEqual(['T1', 'T2', 'T3', 'T4', 'T5', 'L1', 'L2']);
    // Inside the run of ties the watermark cannot move, so the source steps over it by offset; the
    // run ends on a page past offset 0, so it is read once more (nothing new) before moving past it.
    expect(partQueries()).toEqual([
      ['0', '0'],
      [String(T0), '0'],
      [String(T0), '2'],
      [String(T0), '4'],
      [String(T0), '0'],
      [String(T0), '2'],
      [String(T0), '4'],
      [String(T0 + 1_000), '0'],
      [String(T0 + 2_000), '0'],
    ]);

    // A part updated later in the watermark's own millisecond is picked up; the others are not repeated.
    h.clock.advance(-1_000);
    h.sim.consumePart('L1', 1);
    h.sim.addParts([part('L0')]);
    const next = await poll(run.state, { pageSize: 2 });
    expect(next.parts.map((p) => [p.id, p.quantity])).toEqual([
      ['L0', 10],
      ['L1', 9],
    ]);
    expect(next.state).toEqual({ watermarkMs: T0 + 2_000, idsAtWatermark: ['L2#10/2', 'L0#10/2', 'L1#9/2'] });
    const again = await poll(next.state, { pageSize: 2 });
    expect(again.parts).toEqual([]);
  });

  it('sees a second change of the same part within the same millisecond (stock is part of the tie key)', async () => {
    h.sim.addParts([part('S1')]);
    const first = await poll(undefined, { pageSize: 5 });
    expect(first.parts.map((p) => [p.id, p.quantity])).toEqual([['S1', 10]]);
    h.sim.consumePart('S1', 7); // the manual clock has not moved: same updatedAt millisecond
    const second = await poll(first.state, { pageSize: 5 });
    expect(second.parts.map((p) => [p.id, p.quantity])).toEqual([['S1', 3]]);
    expect(second.events[0]?.id).not.toBe(first.events[0]?.id);
    expect((await poll(second.state, { pageSize: 5 })).parts).toEqual([]);
  });

  it('emits only the new changes on the next run', async () => {
    addSpaced(['P1', 'P2', 'P3']);
    const first = await poll(undefined, { pageSize: 2 });
    expect(ids(first.parts)).toEqual(['P1', 'P2', 'P3']);

    h.clock.advance(60_000);
    h.sim.consumePart('P2', 9);
    h.clock.advance(1_000);
    h.sim.restockPart('P1', 5);
    const second = await poll(first.state, { pageSize: 2 });
    expect(second.parts.map((p) => [p.id, p.quantity])).toEqual([
      ['P2', 1],
      ['P1', 15],
    ]);
    expect(second.steps.map((s) => s.summary)).toEqual([
      `parts 1..2 of changes since ${new Date(T0 + 2_000).toISOString()}`,
    ]);
  });

  it('yields one empty step with the unchanged state when nothing changed', async () => {
    expect((await poll(undefined)).steps).toEqual([
      {
        events: [],
        state: { watermarkMs: 0, idsAtWatermark: [] },
        summary: 'no part changes since the beginning (1 page read)',
      },
    ]);
    addSpaced(['P1']);
    const first = await poll(undefined);
    const idle = await poll(first.state);
    expect(idle.steps).toEqual([
      {
        events: [],
        state: first.state,
        summary: `no part changes since ${new Date(T0).toISOString()} (1 page read)`,
      },
    ]);
  });

  it('does not lose a part when an already-emitted part is updated between two pages', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    let pages = 0;
    const racing = h.client({
      http: {
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          if (String(input).includes('/parts?') && ++pages === 1) {
            // After page 1 (P1..P3), P2 changes and moves to the end of the updatedAt order. Plain
            // offset paging would now read P5..P7 at offset 3 and never see P4.
            h.sim.consumePart('P2', 4);
          }
          return res;
        },
      },
    });
    const run = await poll(undefined, { pageSize: 3 }, racing);
    expect(run.parts.map((p) => [p.id, p.quantity])).toEqual([
      ['P1', 10],
      ['P2', 10],
      ['P3', 10],
      ['P4', 10],
      ['P5', 10],
      ['P6', 10],
      ['P7', 10],
      ['P2', 6],
    ]);
  });

  it('emits a part updated ahead of the reader once, with its latest values', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    let pages = 0;
    const racing = h.client({
      http: {
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          if (String(input).includes('/parts?') && ++pages === 1) h.sim.consumePart('P5', 3);
          return res;
        },
      },
    });
    const run = await poll(undefined, { pageSize: 3 }, racing);
    expect(run.parts.map((p) => [p.id, p.quantity])).toEqual([
      ['P1', 10],
      ['P2', 10],
      ['P3', 10],
      ['P4', 10],
      ['P6', 10],
      ['P7', 10],
      ['P5', 7],
    ]);
  });

  it('an UpKeep outage mid-run (503 past the client retries on page 2) keeps what page 1 handed over, fails retryably, and the run after it catches up with no gap and no repeat', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    let down = true;
    let partReads = 0;
    const flaky = h.client({
      http: {
        sleep: async () => undefined,
        fetch: async (input, init) => {
          const url = new URL(String(input));
          if (url.pathname.endsWith('/parts') && (init?.method ?? 'GET') === 'GET') {
            partReads++;
            if (down && partReads > 1) return new Response('upstream unavailable', { status: 503 });
          }
          return fetch(input, init);
        },
      },
    });
    const options = { pageSize: 2, partsPerEvent: 2 };
    const first = await poll(undefined, options, flaky);
    expect(first.error).toMatchObject({ retryable: true });
    expect(ids(first.parts)).toEqual(['P1', 'P2']);
    expect(first.state).toEqual({ watermarkMs: T0 + 1_000, idsAtWatermark: ['P2#10/2'] });

    down = false;
    const after = await poll(first.state, options, flaky);
    expect(after.error).toBeUndefined();
    expect(ids([...first.parts, ...after.parts])).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
  });

  it('treats a 404 past offset 0 as the end of the list', async () => {
    const h404 = await startHarness({ parts: [], pastEndStatus: 404, clock: h.clock });
    try {
      h404.sim.addParts(['A', 'B', 'C', 'D'].map((id) => part(id)));
      const run = await poll(undefined, { pageSize: 2 }, h404.client());
      expect(run.error).toBeUndefined();
      expect(ids(run.parts)).toEqual(['A', 'B', 'C', 'D']);
      // The last page (offset 4 inside the run of ties) was answered 404.
      expect(h404.sim.requests.filter((r) => r === 'GET /api/v2/parts')).toHaveLength(4);
    } finally {
      await h404.sim.close();
    }
  });

  it('stops at maxPagesPerRun with a warning and continues on the next run', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    const first = await poll(undefined, { pageSize: 2, maxPagesPerRun: 2 });
    expect(ids(first.parts)).toEqual(['P1', 'P2', 'P3']);
    expect(first.steps.at(-1)?.summary).toBe(
      'parts 1..3 of changes since the beginning; stopped after 2 pages (maxPagesPerRun), continuing next run',
    );
    expect(first.log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'upkeep parts poll: page limit reached; the rest is read on the next run',
    ]);
    let state = first.state;
    const seen = [...first.parts];
    for (let run = 0; run < 5; run++) {
      const next = await poll(state, { pageSize: 2, maxPagesPerRun: 2 });
      seen.push(...next.parts);
      state = next.state;
    }
    expect(ids(seen)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
  });

  it('logs an error when already-emitted ties fill every page it may read, and moves on once allowed', async () => {
    h.sim.addParts(['A', 'B', 'C', 'D', 'E'].map((id) => part(id)));
    const first = await poll(undefined, { pageSize: 2 });
    h.sim.addParts([part('F')]);
    const stuck = await poll(first.state, { pageSize: 2, maxPagesPerRun: 2 });
    expect(stuck.parts).toEqual([]);
    expect(stuck.state).toEqual(first.state);
    expect(stuck.log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'upkeep parts poll: no progress; the parts sharing the watermark fill every page',
    ]);
    const freed = await poll(first.state, { pageSize: 2, maxPagesPerRun: 10 });
    expect(ids(freed.parts)).toEqual(['F']);
  });

  it('hands over the parts read before a malformed page, then fails naming the bad envelope field', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    let pages = 0;
    const broken = h.client({
      http: {
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          if (String(input).includes('/parts?') && ++pages === 1) {
            // The next page's whole response is unreadable: no list of parts at all.
            h.sim.faults.push({
              match: 'GET /api/v2/parts',
              status: 200,
              body: { success: true, results: { id: 'P4', name: 'Part P4', quantity: 'lots' } },
            });
          }
          return res;
        },
      },
    });
    const run = await poll(undefined, { pageSize: 3 }, broken);
    expect(ids(run.parts)).toEqual(['P1', 'P2', 'P3']);
    expect(run.state).toEqual({ watermarkMs: T0 + 2_000, idsAtWatermark: ['P3#10/2'] });
    expect(run.error).toBeInstanceOf(VendorResponseError);
    expect((run.error as VendorResponseError).field).toBe('results');
  });

  it('skips a part that does not parse, emits the parts before and after it, and moves past it', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const bad = wireBadPart('BAD', T0 + 2_500, { quantity: 'abc' });
    const run = await poll(undefined, { pageSize: 2 }, clientServing([bad]));
    expect(run.error).toBeUndefined();
    expect(ids(run.parts)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    expect(run.steps.flatMap((s) => s.skipped ?? [])).toEqual([
      {
        kind: 'UpKeep part',
        record: 'BAD',
        field: 'quantity',
        message: 'expected a number or a numeric string, got "abc"',
        next: 'not synced until it changes again in UpKeep',
      },
    ]);
    expect(run.state).toEqual({ watermarkMs: T0 + 4_000, idsAtWatermark: ['P5#10/2'] });
    // Nothing is read again, the bad part included, until something changes.
    const again = await poll(run.state, { pageSize: 2 }, clientServing([bad]));
    expect(again.parts).toEqual([]);
    expect(again.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
  });

  it('moves the watermark past a bad last part, so it is reported once, not on every run', async () => {
    addSpaced(['P1', 'P2']);
    const bad = wireBadPart('BAD', T0 + 5_000, { minimumQuantity: 'n/a' });
    const run = await poll(undefined, { pageSize: 10 }, clientServing([bad]));
    expect(ids(run.parts)).toEqual(['P1', 'P2']);
    expect(run.steps.flatMap((s) => s.skipped ?? []).map((s) => [s.record, s.field])).toEqual([
      ['BAD', 'minimumQuantity'],
    ]);
    expect(run.state).toEqual({ watermarkMs: T0 + 5_000, idsAtWatermark: ['BAD#unreadable'] });
    const again = await poll(run.state, { pageSize: 10 }, clientServing([bad]));
    expect(again.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
    expect(again.steps.map((s) => s.summary)).toEqual([
      `no part changes since ${new Date(T0 + 5_000).toISOString()} (1 page read)`,
    ]);
    // Fixed in UpKeep (a new updatedAt): read and emitted like any part.
    const fixed = { ...bad, minimumQuantity: '1', updatedAt: new Date(T0 + 9_000).toISOString() };
    const after = await poll(again.state, { pageSize: 10 }, clientServing([fixed]));
    expect(ids(after.parts)).toEqual(['BAD']);
  });

  it('emits a part without a quantity as unknown (null), not as 0 and not as an error', async () => {
    addSpaced(['P1']);
    const noQuantity = wireBadPart('NOQTY', T0 + 3_000, { quantity: null });
    const run = await poll(undefined, {}, clientServing([noQuantity]));
    expect(run.error).toBeUndefined();
    expect(run.parts.map((p) => [p.id, p.quantity])).toEqual([
      ['P1', 10],
      ['NOQTY', null],
    ]);
    expect(run.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
    expect(run.state).toEqual({ watermarkMs: T0 + 3_000, idsAtWatermark: ['NOQTY#/2'] });
  });

  it('reports a part too large for any event (a 300 KB name) as skipped and syncs the parts after it, instead of failing every run', async () => {
    addSpaced(['P1']);
    h.sim.addParts([{ ...part('HUGE'), name: 'x'.repeat(300_000) }]);
    h.clock.advance(1_000);
    addSpaced(['P3']);
    const run = await poll(undefined, { pageSize: 10 });
    expect(run.error).toBeUndefined();
    expect(ids(run.parts)).toEqual(['P1', 'P3']);
    for (const event of run.events) {
      expect(Buffer.byteLength(JSON.stringify(event.data))).toBeLessThanOrEqual(MAX_PARTS_EVENT_DATA_BYTES);
    }
    const skipped = run.steps.flatMap((s) => s.skipped ?? []);
    expect(skipped.map((s) => [s.record, s.next])).toEqual([
      ['HUGE', 'not synced until it changes again in UpKeep'],
    ]);
    expect(skipped[0]?.message).toMatch(/over the 204800 bytes one event may carry/);
    // Reported once: the next run reads nothing again.
    const again = await poll(run.state, { pageSize: 10 });
    expect(again.parts).toEqual([]);
    expect(again.steps.flatMap((s) => s.skipped ?? [])).toEqual([]);
  });

  it('keeps one event under the SQS size limit whatever partsPerEvent says', async () => {
    const longName = 'x'.repeat(5_000);
    h.sim.addParts(
      Array.from({ length: 60 }, (_, i) => ({ ...part(`Big${String(i).padStart(2, '0')}`), name: longName })),
    );
    const run = await poll(undefined, { pageSize: 100, partsPerEvent: 500 });
    expect(run.events.length).toBeGreaterThan(1);
    expect(run.parts).toHaveLength(60);
    for (const event of run.events) {
      expect(Buffer.byteLength(JSON.stringify(event.data))).toBeLessThanOrEqual(MAX_PARTS_EVENT_DATA_BYTES);
    }
  });
});

describe('upkeep.parts poll source: first run and options', () => {
  it("startFrom 'now' sets the watermark to now on the first run and emits nothing", async () => {
    addSpaced(['Old1', 'Old2']);
    const first = await poll(undefined, { startFrom: 'now' });
    expect(first.events).toEqual([]);
    expect(first.state).toEqual({ watermarkMs: h.clock.now().getTime(), idsAtWatermark: [] });
    expect(callsTo(h.sim, 'GET /parts')).toEqual([]);

    h.clock.advance(1_000);
    h.sim.consumePart('Old1', 1);
    // With a stored state, startFrom no longer matters.
    const next = await poll(first.state, { startFrom: 'now' });
    expect(next.parts.map((p) => [p.id, p.quantity])).toEqual([['Old1', 9]]);
  });

  it('applies the defaults and refuses bad options with a ConfigError naming the option', async () => {
    addSpaced(['P1']);
    await poll(undefined);
    expect(callsTo(h.sim, 'GET /parts')[0]?.query.limit).toEqual(['100']);
    const bad = async (options: unknown) => (await poll(undefined, options as UpKeepPartsPollOptions)).error;
    expect(await bad({ pageSize: 0 })).toBeInstanceOf(ConfigError);
    expect(await bad({ pageSize: 1001 })).toMatchObject({ path: 'options.pageSize' });
    expect(await bad({ partsPerEvent: 2001 })).toMatchObject({ path: 'options.partsPerEvent' });
    expect(await bad({ startFrom: 'yesterday' })).toMatchObject({ path: 'options.startFrom' });
  });

  it('gives the same event ids for the same state and vendor data, and different ones otherwise', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const a = await poll(undefined, { pageSize: 2, partsPerEvent: 2 });
    const b = await poll(undefined, { pageSize: 2, partsPerEvent: 2 });
    expect(a.events.map((e) => e.id)).toEqual(b.events.map((e) => e.id));
    expect(a.events.map((e) => e.id)[0]).toMatch(new RegExp(`^upkeep\\.parts:${T0}:[0-9a-f]{16}$`));
    expect(new Set(a.events.map((e) => e.id)).size).toBe(3);
    // Resuming from a step's state gives the ids the first run gave for the later steps.
    const resumed = await poll(a.steps[0]?.state, { pageSize: 2, partsPerEvent: 2 });
    expect(resumed.events.map((e) => e.id)).toEqual(a.events.slice(1).map((e) => e.id));

    h.sim.consumePart('P5', 1);
    const changed = await poll(undefined, { pageSize: 2, partsPerEvent: 2 });
    expect(changed.events[0]?.id).toBe(a.events[0]?.id);
    expect(changed.events.at(-1)?.id).not.toBe(a.events.at(-1)?.id);
  });
});

describe('upkeep.parts poll source under runPoll', () => {
  let t: TestState;
  beforeAll(async () => {
    t = await startTestState();
  });
  afterAll(() => t.close());

  let flowCounter = 0;
  const makeFlow = (options: UpKeepPartsPollOptions) =>
    defineFlow({
      id: `upkeep-parts-test-${flowCounter++}`,
      description: 'test',
      vendors: ['upkeep'],
      config: z.object({}),
      triggers: [
        { kind: 'schedule', source: upkeepPartsPollSource, everyMinutes: () => 5, options: () => options },
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

  async function run(
    flow: ReturnType<typeof makeFlow>,
    env: ReturnType<typeof testEnv>,
    queue: EventQueue,
    pollClient: UpKeepClient = client,
  ) {
    const trigger = flow.triggers[0] as Extract<(typeof flow.triggers)[number], { kind: 'schedule' }>;
    return runPoll({ flow, trigger, config: {}, env, queue, queueUrl: 'q', deps: { client: pollClient } });
  }

  it('one bad part does not stall the poller: it is reported, counted, and the parts after it sync', async () => {
    addSpaced(['P1', 'P2', 'P3']);
    const flow = makeFlow({ pageSize: 2 });
    const env = testEnv(t.store());
    const bad = clientServing([wireBadPart('P-17', T0 + 500, { quantity: 'abc' })]);

    const queue = flakyQueue();
    const summary = await run(flow, env, queue.queue, bad);
    expect(summary).toMatchObject({ events: 1, skipped: 1 });
    expect(queue.sent.flatMap((e) => ids(upkeepPartsChangedDataSchema.parse(e.data).parts))).toEqual([
      'P1',
      'P2',
      'P3',
    ]);
    expect(summary.summaries).toEqual(['parts 1..3 of changes since the beginning; 1 record skipped']);
    const message =
      'UpKeep part P-17 skipped: quantity: expected a number or a numeric string, got "abc"; not synced until it changes again in UpKeep';
    expect(await env.state.listRuns(flow.id)).toEqual([
      expect.objectContaining({
        eventId: 'upkeep.parts:P-17',
        eventType: 'upkeep.parts.record-skipped',
        outcome: 'skipped',
        message,
      }),
    ]);
    expect(env.log.lines).toContainEqual({
      level: 'warn',
      message: `${flow.id}/upkeep.parts: ${message}`,
      extra: { flow: flow.id, source: 'upkeep.parts', record: 'P-17', field: 'quantity' },
    });
    // The next run neither stalls on it nor reports it again.
    const next = await run(flow, env, flakyQueue().queue, bad);
    expect(next).toMatchObject({ events: 0, skipped: 0 });
    expect(await env.state.listRuns(flow.id)).toHaveLength(1);
  });

  it('a crash before enqueue repeats nothing and loses nothing', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4']);
    const flow = makeFlow({ pageSize: 3 });
    const env = testEnv(t.store());
    const key = `${flow.id}#upkeep.parts`;

    const crashed = flakyQueue([1]);
    await expect(run(flow, env, crashed.queue)).rejects.toThrow('queue unavailable');
    expect(crashed.sent).toEqual([]);
    expect(await env.state.loadPollState(key)).toBeUndefined();
    const attemptedId = crashed.attempted[0]?.[0]?.id;
    expect(attemptedId).toMatch(/^upkeep\.parts:/);

    const retry = flakyQueue();
    const summary = await run(flow, env, retry.queue);
    expect(summary).toMatchObject({ steps: 1, events: 1 });
    expect(retry.sent.map((e) => e.id)).toEqual([attemptedId]);
    expect(ids(upkeepPartsChangedDataSchema.parse(retry.sent[0]?.data).parts)).toEqual([
      'P1',
      'P2',
      'P3',
      'P4',
    ]);
    expect((await env.state.loadPollState(key))?.data).toEqual({
      watermarkMs: T0 + 3_000,
      idsAtWatermark: ['P4#10/2'],
    });

    const quiet = flakyQueue();
    const after = await run(flow, env, quiet.queue);
    expect(after).toMatchObject({ steps: 1, events: 0 });
    expect(quiet.sent).toEqual([]);
    expect(after.summaries).toEqual([
      `no part changes since ${new Date(T0 + 3_000).toISOString()} (1 page read)`,
    ]);
  });

  it('a crash between two steps resumes after the saved step with the same event ids', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5']);
    const flow = makeFlow({ pageSize: 2, partsPerEvent: 2 });
    const env = testEnv(t.store());

    const crashed = flakyQueue([2]);
    await expect(run(flow, env, crashed.queue)).rejects.toThrow('queue unavailable');
    expect(crashed.sent).toHaveLength(1);
    const attemptedIds = crashed.attempted.flat().map((e) => e.id);

    const retry = flakyQueue();
    await run(flow, env, retry.queue);
    const delivered = [...crashed.sent, ...retry.sent];
    // Nothing twice, nothing lost, and the re-sent step kept its id.
    expect(delivered.map((e) => e.id)).toEqual([...attemptedIds, ...retry.sent.slice(1).map((e) => e.id)]);
    expect(delivered.flatMap((e) => ids(upkeepPartsChangedDataSchema.parse(e.data).parts))).toEqual([
      'P1',
      'P2',
      'P3',
      'P4',
      'P5',
    ]);
  });
});

describe('upkeep.parts poll source: what a real UpKeep may do while we page', () => {
  /** A client whose `GET /parts` query is rewritten by `edit` before UpKeep (the simulator) sees it. */
  const rewriting = (edit: (q: URLSearchParams) => void) =>
    h.client({
      http: {
        fetch: async (input, init) => {
          const url = new URL(String(input));
          if (url.pathname.endsWith('/parts')) edit(url.searchParams);
          return fetch(url, init);
        },
      },
    });

  it('refuses a page not in updatedAt ASC order (orderBy ignored: the doc default is createdAt DESC) and keeps the watermark, instead of moving past the parts of later pages', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    const ignoring = rewriting((q) => q.delete('orderBy'));
    const run = await poll(undefined, { pageSize: 3 }, ignoring);
    expect(run.error).toBeInstanceOf(VendorResponseError);
    expect(run.parts).toEqual([]);
    // Nothing saved past a part not yet read: the run after the vendor is fixed reads all of them.
    const fixed = await poll(run.state, { pageSize: 3 });
    expect(ids(fixed.parts)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
  });

  it('loses and repeats nothing when UpKeep caps the page below the limit asked (a short page ends a run; the next run goes on)', async () => {
    addSpaced(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    const capped = rewriting((q) => q.set('limit', '2'));
    let state: UpKeepPartsPollState | undefined;
    const seen: PartSnapshot[] = [];
    for (let run = 0; run < 6; run++) {
      const next = await poll(state, { pageSize: 3 }, capped);
      expect(next.error).toBeUndefined();
      seen.push(...next.parts);
      state = next.state;
    }
    expect(ids(seen)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
  });
});

describe('upkeep.parts poll source: ties paged by offset while UpKeep changes', () => {
  it('does not lose a part of a millisecond longer than a page when an already-read tie changes between pages', async () => {
    h.sim.addParts(['A', 'B', 'C', 'D', 'E'].map((id) => part(id)));
    h.clock.advance(1_000);
    h.sim.addParts([part('F')]);
    h.clock.advance(1_000);
    let pages = 0;
    const racing = h.client({
      http: {
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          // Page 2 reads A, B at the watermark's millisecond (offset 0); then A changes and leaves
          // it: offset 2 now starts at D, so C is never on a page of this read.
          if (String(input).includes('/parts?') && ++pages === 2) h.sim.consumePart('A', 1);
          return res;
        },
      },
    });
    const run = await poll(undefined, { pageSize: 2 }, racing);
    expect(run.error).toBeUndefined();
    const next = await poll(run.state, { pageSize: 2 });
    expect([...ids(run.parts), ...ids(next.parts)].sort()).toEqual(['A', 'A', 'B', 'C', 'D', 'E', 'F']);
  });
});
