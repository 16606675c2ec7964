/** Backfill of the Click Maint parts poll source over HTTP: real client, simulator, manual clock. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type ClickMaintPartsPollOptions,
  clickMaintPartsChangedDataSchema,
  clickMaintPartsPollSource,
} from '../../../functions/connectors/click-maint/parts-poll-source.ts';
import type { BackfillStep } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { callsTo, type Harness, startHarness, T0 } from './support.ts';

let h: Harness;

beforeAll(async () => {
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

/** Adds parts one second apart (distinct updated_at), starting at the current clock; returns their ids. */
function addSpaced(names: string[]): number[] {
  const ids: number[] = [];
  for (const name of names) {
    ids.push(
      ...h.sim.addParts(1, [{ name, on_hand_qty: 10, min_qty: 2, number: `PN-${name}` }]).map((p) => p.id),
    );
    h.clock.advance(1_000);
  }
  return ids;
}

async function backfill(
  fromMs: number,
  toMs: number,
  updatedAtFilter: 'ransack' | 'off',
  options: ClickMaintPartsPollOptions = {},
) {
  const run = clickMaintPartsPollSource.backfill;
  if (!run) throw new Error('the Click Maint parts source has no backfill');
  const steps: BackfillStep[] = [];
  for await (const step of run({
    from: new Date(fromMs),
    to: new Date(toMs),
    options,
    deps: { client: h.client({ entities: [1], updatedAtFilter }) },
    log: memoryLog(),
    now: h.clock.now(),
  })) {
    steps.push(step);
  }
  const events = steps.flatMap((s) => s.events);
  const parts = events.flatMap((e) => clickMaintPartsChangedDataSchema.parse(e.data).parts);
  return { steps, events, parts };
}

describe('clickMaintPartsPollSource.backfill', () => {
  for (const mode of ['ransack', 'off'] as const) {
    it(`${mode}: reads the parts whose latest change lies in [from, to], as they are now`, async () => {
      const [, b] = addSpaced(['A', 'B', 'C', 'D', 'E']); // updated_at T0 .. T0+4s
      h.clock.advance(60_000);
      h.sim.consume(b as number, 3); // B's latest change is now after the window
      const run = await backfill(T0 + 1_000, T0 + 3_000, mode, { perPage: 2 });
      expect(run.parts.map((p) => p.name)).toEqual(['C', 'D']);
      expect(run.steps.at(-1)?.summary).toBe(
        '2 part changes in 2026-11-02T08:00:01.000Z..2026-11-02T08:00:03.000Z over 1 entity',
      );
      const again = await backfill(T0 + 1_000, T0 + 3_000, mode, { perPage: 2 });
      expect(again.events.map((e) => e.id)).toEqual(run.events.map((e) => e.id));
    });
  }

  for (const mode of ['ransack', 'off'] as const) {
    it(`${mode}: parts sharing one second across page boundaries, and at both window edges, are each read once`, async () => {
      addSpaced(['before']); // T0: before the window
      addSpaced(['edge-from']); // T0+1s: the window's first second
      // Seven parts in one second (T0+2s): with 2 per page their tie spans four pages.
      h.sim.addParts(
        1,
        ['t1', 't2', 't3', 't4', 't5', 't6', 't7'].map((name) => ({
          name,
          on_hand_qty: 10,
          min_qty: 2,
          number: `PN-${name}`,
        })),
      );
      h.clock.advance(1_000);
      addSpaced(['edge-to', 'after']); // T0+3s: the window's last second; T0+4s: after it
      h.clock.advance(60_000);
      const run = await backfill(T0 + 1_000, T0 + 3_000, mode, { perPage: 2 });
      const names = run.parts.map((p) => p.name);
      expect([...names].sort()).toEqual(['edge-from', 'edge-to', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
    });
  }

  it('ransack: stops reading at the first page past the window', async () => {
    addSpaced(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
    const before = callsTo(h.sim, 'GET /parts').length;
    const run = await backfill(T0, T0 + 1_000, 'ransack', { perPage: 2 });
    expect(run.parts.map((p) => p.name)).toEqual(['A', 'B']);
    // Page 1 (A, B), then the keyset read from B's second (B, C): C is past the window.
    expect(callsTo(h.sim, 'GET /parts').length - before).toBe(2);
  });
});
