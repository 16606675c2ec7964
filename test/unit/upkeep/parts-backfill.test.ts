/** Backfill of the UpKeep parts poll source over HTTP: real client, real simulator, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import type { UpKeepClient } from '../../../functions/connectors/upkeep/client.ts';
import {
  type UpKeepPartsPollOptions,
  type UpKeepPartsPollState,
  upkeepPartsChangedDataSchema,
  upkeepPartsPollSource,
} from '../../../functions/connectors/upkeep/parts-poll-source.ts';
import type { BackfillStep } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { planPart, stockSyncShape } from '../../../functions/flows/shared/stock-sync.ts';
import { callsTo, type Harness, startHarness } from './support.ts';

const T0 = Date.parse('2026-11-02T08:00:00.000Z');
let h: Harness;
let client: UpKeepClient;

beforeAll(async () => {
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

/** Adds parts one second apart (distinct updatedAt), starting at the current clock. */
function addSpaced(ids: string[], quantity = 10): void {
  for (const id of ids) {
    h.sim.addParts([{ id, name: `Part ${id}`, quantity, minimumQuantity: 2, partNumber: `PN-${id}` }]);
    h.clock.advance(1_000);
  }
}

async function backfill(fromMs: number, toMs: number, options: UpKeepPartsPollOptions = {}) {
  const run = upkeepPartsPollSource.backfill;
  if (!run) throw new Error('the UpKeep parts source has no backfill');
  const steps: BackfillStep[] = [];
  for await (const step of run({
    from: new Date(fromMs),
    to: new Date(toMs),
    options,
    deps: { client },
    log: memoryLog(),
    now: h.clock.now(),
  })) {
    steps.push(step);
  }
  const events = steps.flatMap((s) => s.events);
  const parts = events.flatMap((e) => upkeepPartsChangedDataSchema.parse(e.data).parts);
  return { steps, events, parts };
}

async function livePoll(state: UpKeepPartsPollState | undefined) {
  const events = [];
  let current = state;
  for await (const step of upkeepPartsPollSource.poll({
    state,
    options: {},
    now: h.clock.now(),
    deps: { client },
    log: memoryLog(),
  })) {
    events.push(...step.events);
    current = step.state;
  }
  return { events, state: current };
}

describe('upkeepPartsPollSource.backfill', () => {
  it('reads the parts whose latest change lies in [from, to], as they are now, bounded by UpKeep’s own filter', async () => {
    addSpaced(['A', 'B', 'C', 'D']); // updatedAt T0, T0+1s, T0+2s, T0+3s
    const live = await livePoll(undefined);
    expect(live.events).toHaveLength(1);
    h.clock.advance(60_000);
    h.sim.consumePart('B', 3); // B's latest change is now outside the window
    h.clock.advance(60_000);
    const run = await backfill(T0 + 1_000, T0 + 3_000);
    expect(run.parts.map((p) => p.id)).toEqual(['C', 'D']);
    expect(run.parts.every((p) => p.updatedAtMs >= T0 + 1_000 && p.updatedAtMs <= T0 + 3_000)).toBe(true);
    // The backfill's read time orders it after the live poll's read of the same version.
    expect(upkeepPartsChangedDataSchema.parse(run.events[0]?.data).readAtMs).toBe(h.clock.now().getTime());
    const query = callsTo(h.sim, 'GET /parts').at(-1)?.query;
    expect(query?.updatedAtGreaterThanOrEqualTo).toEqual([String(T0 + 1_000)]);
    expect(query?.updatedAtLessThanOrEqualTo).toEqual([String(T0 + 3_000)]);
    expect(run.steps.at(-1)?.summary).toMatch(
      /^2 part changes in 2026-11-02T08:00:01.000Z\.\.2026-11-02T08:00:03.000Z/,
    );
  });

  it('goes on past maxPagesPerRun until the window is read', async () => {
    addSpaced(['A', 'B', 'C', 'D', 'E']);
    const run = await backfill(T0, T0 + 10_000, { pageSize: 2, maxPagesPerRun: 1, partsPerEvent: 2 });
    expect(run.parts.map((p) => p.id)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(new Set(run.events.map((e) => e.id)).size).toBe(run.events.length);
  });

  it('is deterministic for the same data (the read time aside)', async () => {
    addSpaced(['A', 'B', 'C']);
    const first = await backfill(T0, T0 + 5_000);
    const again = await backfill(T0, T0 + 5_000);
    expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
  });

  it('a version the stock sync already has changes nothing when the backfill brings it again', () => {
    const config = z.object(stockSyncShape()).parse({});
    const version = { partId: 'A', name: 'Part A', quantity: 1, minimum: 2, changedAtMs: T0 };
    const live = planPart({ ...version, readAtMs: T0 + 60_000 }, undefined, config);
    expect(live).toMatchObject({ why: 'low', quantity: 1 });
    const backfilled = planPart({ ...version, readAtMs: T0 + 3_600_000 }, live.next, config);
    expect(backfilled.why).toBe('still-low');
    expect(backfilled.quantity).toBeUndefined();
  });
});
