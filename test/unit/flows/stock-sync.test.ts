import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MobilityWorkBulkError } from '../../../functions/connectors/mobility-work/errors.ts';
import { AmbiguousWriteError, MillwrightError } from '../../../functions/core/errors.ts';
import {
  type KnownPartLevel,
  ownStockWrites,
  type PartLevel,
  type PartSyncState,
  planPart,
  type StockSyncConfig,
  type StockWriter,
  syncStock,
} from '../../../functions/flows/shared/stock-sync.ts';
import { permutations } from '../../support/orders.ts';
import { startTestState, type TestState } from '../../support/state.ts';

const config = (over: Partial<StockSyncConfig> = {}): StockSyncConfig => ({
  mode: 'low',
  parts: {},
  onlyListedParts: false,
  alignMinimum: true,
  writeOnRestock: true,
  fractionalQuantity: 'skip',
  ...over,
});
const part = (
  quantity: number,
  minimum: number | null = 4,
  changedAtMs = 1000,
  partId = 'P1',
): KnownPartLevel => ({
  partId,
  name: `Part ${partId}`,
  quantity,
  minimum,
  changedAtMs,
});

describe('planPart (one write per low episode)', () => {
  it('writes when a part falls to its minimum (<=), then not again while it stays low', () => {
    const first = planPart(part(4), undefined, config());
    expect(first).toMatchObject({ why: 'low', quantity: 4, minimum: 4 });
    const again = planPart(part(2, 4, 2000), first.next, config());
    expect(again.why).toBe('still-low');
    expect(again.quantity).toBeUndefined();
  });

  it('re-arms once restocked above the minimum, writing the restocked quantity by default', () => {
    const low = planPart(part(3), undefined, config()).next;
    const restocked = planPart(part(10, 4, 2000), low, config());
    expect(restocked).toMatchObject({ why: 'restocked', quantity: 10 });
    expect(restocked.next.low).toBe(false);
    expect(planPart(part(10, 4, 2000), low, config({ writeOnRestock: false })).quantity).toBeUndefined();
    const lowAgain = planPart(part(1, 4, 3000), restocked.next, config());
    expect(lowAgain).toMatchObject({ why: 'low', quantity: 1 });
  });

  it('ignores parts above the minimum, parts without a minimum, and older snapshots', () => {
    expect(planPart(part(9), undefined, config()).why).toBe('above-minimum');
    expect(planPart(part(0, null), undefined, config()).quantity).toBeUndefined();
    const state: PartSyncState = { target: 'P1', quantity: 9, minimum: 4, changedAtMs: 5000, low: false };
    expect(planPart(part(1, 4, 4000), state, config()).why).toBe('stale');
  });

  it('low mode, a restock delivered after the next low (E1 low 3, E3 low 4, then E2 restocked 12): Mobility Work stays low at 3, the restock is stale, no write is repeated', () => {
    // Low mode promises the low flag (Mobility Work low exactly where the source is), not the
    // quantity: in the natural order it ends at 4, here at 3, both low. The late restock cannot be
    // applied under a newer version without undoing it (README: an older event never undoes a later state).
    const e1 = planPart(part(3, 5, 1000), undefined, config());
    expect(e1).toMatchObject({ why: 'low', quantity: 3 });
    const e3 = planPart(part(4, 5, 3000), e1.next, config());
    expect(e3.why).toBe('still-low');
    expect(e3.quantity).toBeUndefined();
    const e2 = planPart(part(12, 5, 2000), e3.next, config());
    expect(e2.why).toBe('stale');
    expect(e2.quantity).toBeUndefined();
    expect(e2.next.low).toBe(true);
  });

  it('mirror mode writes every quantity change and nothing when unchanged', () => {
    const first = planPart(part(9), undefined, config({ mode: 'mirror' }));
    expect(first).toMatchObject({ why: 'changed', quantity: 9 });
    const next = { ...first.next, lastWrite: { quantity: 9, at: 'x', eventId: 'e' } };
    expect(planPart(part(9, 4, 2000), next, config({ mode: 'mirror' })).why).toBe('unchanged');
    expect(planPart(part(8, 4, 3000), next, config({ mode: 'mirror' })).quantity).toBe(8);
  });

  it('maps parts through the config table, and can sync listed parts only', () => {
    expect(planPart(part(1), undefined, config({ parts: { P1: 'MW-REF-1' } })).target).toBe('MW-REF-1');
    expect(planPart(part(1), undefined, config({ onlyListedParts: true })).why).toBe('unmapped');
  });
});

describe('syncStock', () => {
  let t: TestState;
  beforeAll(async () => {
    t = await startTestState();
  });
  afterAll(() => t.close());

  const writer = () => {
    const calls: { kind: string; items: unknown[] }[] = [];
    const w: StockWriter = {
      async setStock(items) {
        calls.push({ kind: 'stock', items });
        return { requests: Math.ceil(items.length / 2) };
      },
      async updateSparePartAttributes(items) {
        calls.push({ kind: 'attributes', items });
        return { requests: 1 };
      },
    };
    return { w, calls };
  };
  const ctx = (flowId: string) => ({
    flowId,
    config: config(),
    state: t.store(),
    now: () => new Date('2026-11-02T09:00:00.000Z'),
  });

  it('writes all low parts of one event together, records them for echo detection, once per event', async () => {
    const { w, calls } = writer();
    const c = ctx('sync-a');
    const levels = [part(1, 4, 1, 'A'), part(9, 4, 1, 'B'), part(0, 2, 1, 'C')];
    const { summary } = await syncStock(c, w, 'evt-1', levels);
    expect(summary).toMatchObject({ parts: 3, written: 2, aligned: 2 });
    expect(calls.map((x) => x.kind)).toEqual(['attributes', 'stock']);
    expect(calls[1]?.items).toEqual([
      { id: 'A', quantity: 1 },
      { id: 'C', quantity: 0 },
    ]);
    expect(await ownStockWrites(c.state, 'C', 0, Date.parse('2026-11-02T09:00:00.000Z'))).toEqual([
      expect.objectContaining({ quantity: 0, flowId: 'sync-a', eventId: 'evt-1' }),
    ]);

    // The same event again (a redelivery): the parts are known low, nothing is written.
    const again = await syncStock(c, w, 'evt-1', levels);
    expect(again.result.outcome).toBe('skipped');
    // A later poll with the parts still low: nothing to write.
    const later = await syncStock(c, w, 'evt-2', [part(1, 4, 2, 'A'), part(0, 2, 2, 'C')]);
    expect(later.summary.written).toBe(0);
    expect(calls).toHaveLength(2);
  });

  it('finishes a write whose first attempt sent it and failed before marking it sent', async () => {
    const { w, calls } = writer();
    const c = ctx('sync-b');
    const failing = { ...c, state: t.store() };
    const original = failing.state.putEntity.bind(failing.state);
    let fail = true;
    // The state is committed (write pending) before the send; the save after it fails.
    failing.state.putEntity = async (...args: Parameters<typeof original>) => {
      const data = args[2] as PartSyncState;
      if (fail && !data.pending) throw new Error('dynamodb unavailable');
      return original(...args);
    };
    await expect(syncStock(failing, w, 'evt-x', [part(1, 4, 1, 'A')])).rejects.toThrow(
      'dynamodb unavailable',
    );
    fail = false;
    const retry = await syncStock(failing, w, 'evt-x', [part(1, 4, 1, 'A')]);
    expect(retry.result.outcome).toBe('duplicate');
    // State now says low: the next poll does not write again.
    const next = await syncStock(failing, w, 'evt-y', [part(1, 4, 2, 'A')]);
    expect(next.summary.written).toBe(0);
    expect(calls.filter((x) => x.kind === 'stock')).toHaveLength(1);
    expect((await c.state.getEntity<PartSyncState>(c.flowId, 'A'))?.data.pending).toBeUndefined();
  });

  it('leaves a part with an unknown quantity alone: no write, no alignment, state kept (unknown is not 0)', async () => {
    const unknown = (partId: string, changedAtMs: number): PartLevel => ({
      partId,
      name: `Part ${partId}`,
      quantity: null,
      minimum: 4,
      changedAtMs,
    });
    for (const mode of ['low', 'mirror'] as const) {
      const { w, calls } = writer();
      const c = { ...ctx(`sync-unknown-${mode}`), config: config({ mode }) };
      // A was low (and written); B was never seen.
      await syncStock(c, w, 'evt-1', [part(1, 4, 1, 'A')]);
      const before = await c.state.getEntity(c.flowId, 'A');
      calls.length = 0;
      const { summary, result } = await syncStock(c, w, 'evt-2', [unknown('A', 2), unknown('B', 2)]);
      expect(calls).toEqual([]);
      expect(summary).toMatchObject({ parts: 2, written: 0, aligned: 0, counts: { 'no-quantity': 2 } });
      expect(result).toMatchObject({
        outcome: 'skipped',
        message: '2 part(s) (2 no-quantity): nothing to write',
      });
      expect(await c.state.getEntity(c.flowId, 'A')).toEqual(before);
      expect(await c.state.getEntity(c.flowId, 'B')).toBeUndefined();
      // Its next known quantity is judged against the last known state: A is still low, no write.
      await syncStock(c, w, 'evt-3', [part(1, 4, 3, 'A')]);
      expect(calls.filter((x) => x.kind === 'stock')).toEqual([]);
    }
  });

  /** Refuses what Mobility Work (and our client) refuses: a stock that is not an integer >= 0. */
  const strictWriter = () => {
    const { w, calls } = writer();
    const setStock: StockWriter['setStock'] = async (items) => {
      const bad = items.find((i) => !Number.isInteger(i.quantity) || i.quantity < 0);
      if (bad) throw new Error(`stock ${bad.quantity} of ${String(bad.id)} is not an integer >= 0`);
      return w.setStock(items);
    };
    return { w: { ...w, setStock }, calls };
  };

  it('skips a part whose quantity is not a whole number by default, writes the others and names it', async () => {
    const { w, calls } = strictWriter();
    const c = ctx('sync-fraction-skip');
    const levels = [part(1, 4, 1, 'A'), part(2.5, 4, 1, 'B'), part(0, 2, 1, 'C')];
    const { summary, result } = await syncStock(c, w, 'evt-1', levels);
    expect(calls.find((x) => x.kind === 'stock')?.items).toEqual([
      { id: 'A', quantity: 1 },
      { id: 'C', quantity: 0 },
    ]);
    expect(summary).toMatchObject({
      parts: 3,
      written: 2,
      counts: { low: 2, 'fractional-quantity': 1 },
      fractional: [{ partId: 'B', quantity: 2.5 }],
    });
    expect(result.outcome).toBe('done');
    expect(result.message).toContain('1 fractional-quantity');
    expect(result.message).toContain(
      'skipped, quantity not a whole number (Mobility Work takes integers; fractionalQuantity "skip"): B (2.5)',
    );
    // B is left as it was (never seen): its next whole quantity starts its episode.
    expect(await c.state.getEntity(c.flowId, 'B')).toBeUndefined();
    const only = await syncStock(c, w, 'evt-2', [part(3.5, 4, 2, 'B')]);
    expect(only.result).toMatchObject({ outcome: 'skipped' });
    expect(only.result.message).toContain('1 part(s) (1 fractional-quantity): nothing to write');
  });

  // Mobility Work's stock is "quantity / required / integer >= 0 / The new stock value" (mobility-work
  // api-doc.txt:470-474, the client's stockQuantity); UpKeep's and Click Maint's quantities have no
  // sign rule. A negative count (more used than was on hand) went out as is, the client refused the
  // whole bulk call, and no part of the event was written. It is written as 0 (nothing on hand),
  // like a floored fraction, and named.
  it('writes a negative source quantity as 0, names it, and still writes the other parts', async () => {
    const { w, calls } = strictWriter();
    const c = ctx('sync-negative');
    const levels = [part(1, 4, 1, 'A'), part(-2, 4, 1, 'B'), part(0, 2, 1, 'C')];
    const { summary, result } = await syncStock(c, w, 'evt-1', levels);
    expect(calls.find((x) => x.kind === 'stock')?.items).toEqual([
      { id: 'A', quantity: 1 },
      { id: 'B', quantity: 0 },
      { id: 'C', quantity: 0 },
    ]);
    expect(summary).toMatchObject({ parts: 3, written: 3 });
    expect(result.outcome).toBe('done');
    expect(result.message).toContain(
      'below zero, written as 0 (Mobility Work takes integers >= 0): B -2 -> 0',
    );
  });

  // Its attributes' "minimumStock / number >= 0" (api-doc.txt:579-580) likewise: a source minimum below
  // zero went out as is and failed the whole attributes call with every other part's alignment.
  it('aligns a negative source minimum as 0', async () => {
    const { w, calls } = writer();
    const c = { ...ctx('sync-negative-minimum'), config: config({ mode: 'mirror' }) };
    await syncStock(c, w, 'evt-1', [part(3, -1, 1, 'A'), part(2, 1, 1, 'B')]);
    expect(calls.find((x) => x.kind === 'attributes')?.items).toEqual([
      { id: 'A', minimumStock: 0 },
      { id: 'B', minimumStock: 1 },
    ]);
  });

  it('writes a fractional quantity floored or rounded when configured, and says so', async () => {
    for (const [mode, wrote] of [
      ['floor', 2],
      ['round', 3],
    ] as const) {
      const { w, calls } = strictWriter();
      const c = { ...ctx(`sync-fraction-${mode}`), config: config({ fractionalQuantity: mode }) };
      const { summary, result } = await syncStock(c, w, 'evt-1', [part(1, 4, 1, 'A'), part(2.5, 4, 1, 'B')]);
      expect(calls.find((x) => x.kind === 'stock')?.items).toEqual([
        { id: 'A', quantity: 1 },
        { id: 'B', quantity: wrote },
      ]);
      expect(summary).toMatchObject({
        parts: 2,
        written: 2,
        fractional: [{ partId: 'B', quantity: 2.5, wrote }],
      });
      expect(summary.counts['fractional-quantity']).toBeUndefined();
      expect(result.message).toContain(`(fractionalQuantity "${mode}"): B 2.5 -> ${wrote}`);
      expect((await c.state.getEntity<PartSyncState>(c.flowId, 'B'))?.data.quantity).toBe(wrote);
    }
    // Never below zero, whatever the mode.
    const { w, calls } = strictWriter();
    const c = { ...ctx('sync-fraction-tiny'), config: config({ fractionalQuantity: 'floor' }) };
    await syncStock(c, w, 'evt-1', [part(0.4, 4, 1, 'A')]);
    expect(calls.find((x) => x.kind === 'stock')?.items).toEqual([{ id: 'A', quantity: 0 }]);
  });

  it('re-reads the parts it is about to write and plans again from the fresh levels', async () => {
    const { w, calls } = writer();
    const c = ctx('sync-c');
    const asked: string[] = [];
    // The snapshot says both are low; the fresh read says B was restocked meanwhile and C is gone.
    const { summary } = await syncStock(
      c,
      w,
      'evt-r',
      [part(1, 4, 1, 'A'), part(1, 4, 1, 'B'), part(0, 4, 1, 'C'), part(9, 4, 1, 'D')],
      {
        refresh: async (parts) => {
          asked.push(...parts.map((p) => p.partId));
          return [part(2, 4, 5, 'A'), part(10, 4, 5, 'B')];
        },
      },
    );
    expect(asked).toEqual(['A', 'B', 'C']);
    expect(calls.find((x) => x.kind === 'stock')?.items).toEqual([{ id: 'A', quantity: 2 }]);
    expect(summary.parts).toBe(3);
    // C, gone at the source, is counted (the run log says so), not dropped without a word.
    expect(summary.counts.gone).toBe(1);
  });

  /** Mobility Work as far as stock goes: the last stock written per part, and every write in order. */
  const stockKeeper = () => {
    const stock = new Map<string, number>();
    const writes: string[] = [];
    let gate: { entered: () => void; released: Promise<void> } | undefined;
    let failNext: MillwrightError | undefined;
    const w: StockWriter = {
      async setStock(items) {
        // A held write has been decided and is on its way (the worker is inside the call).
        const held = gate;
        gate = undefined;
        if (held) {
          held.entered();
          await held.released;
        }
        const failure = failNext;
        failNext = undefined;
        if (failure) throw failure;
        for (const i of items) {
          stock.set(String(i.id), i.quantity);
          writes.push(`${String(i.id)}=${i.quantity}`);
        }
        return { requests: 1 };
      },
      async updateSparePartAttributes() {
        return { requests: 1 };
      },
    };
    /** Hold the next setStock inside the call until `release`; `entered` resolves once it is there. */
    const hold = () => {
      let release = () => {};
      let entered = () => {};
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { entered, released };
      return { inside, release };
    };
    return {
      w,
      stock,
      writes,
      hold,
      failNextWrite: (error: MillwrightError) => {
        failNext = error;
      },
    };
  };
  /** What the queue does with one delivery: `done`, or the retryable error's name (redelivered later). */
  const attempt = (p: Promise<unknown>) =>
    p.then(
      () => 'done',
      (error: unknown) => {
        if (error instanceof MillwrightError && error.retryable) return error.name;
        throw error;
      },
    );

  it('two workers on one part: an older low write in flight while a newer restock is synced ends with the newer stock', async () => {
    const mw = stockKeeper();
    const c = ctx('sync-race-a');
    mw.stock.set('A', 9);
    await syncStock(c, mw.w, 'e0', [part(9, 4, 1, 'A')]);
    // Worker 1: UpKeep's part A fell to 3 (low): the write of 3 is decided and held in the call.
    const gate = mw.hold();
    const first = attempt(syncStock(c, mw.w, 'e1', [part(3, 4, 2, 'A')]));
    await gate.inside;
    // Worker 2, meanwhile: a later poll has A restocked to 20.
    const second = await attempt(syncStock(c, mw.w, 'e2', [part(20, 4, 3, 'A')]));
    gate.release();
    const outcomes = { e1: await first, e2: second };
    // The queue redelivers what did not finish.
    for (const [id, level] of [
      ['e1', part(3, 4, 2, 'A')],
      ['e2', part(20, 4, 3, 'A')],
    ] as const) {
      for (let n = 0; outcomes[id] !== 'done' && n < 3; n++) {
        outcomes[id] = await attempt(syncStock(c, mw.w, id, [level]));
      }
    }
    expect(outcomes).toEqual({ e1: 'done', e2: 'done' });
    // As one after the other: low (3), then restocked (20); never the older stock last.
    expect(mw.writes).toEqual(['A=3', 'A=20']);
    expect(mw.stock.get('A')).toBe(20);
  });

  it('a write that certainly failed puts the state back: a newer event goes ahead and the retry is stale', async () => {
    const mw = stockKeeper();
    const c = ctx('sync-race-c');
    await syncStock(c, mw.w, 'e0', [part(9, 4, 1, 'A')]);
    mw.failNextWrite(new MillwrightError('Mobility Work 503', { retryable: true }));
    expect(await attempt(syncStock(c, mw.w, 'e1', [part(3, 4, 2, 'A')]))).toBe('MillwrightError');
    expect((await c.state.getEntity<PartSyncState>(c.flowId, 'A'))?.data).toMatchObject({
      quantity: 9,
      low: false,
    });
    // A newer level (low too) does not wait for e1's retry; e1's retry is then stale.
    expect(await attempt(syncStock(c, mw.w, 'e2', [part(2, 4, 3, 'A')]))).toBe('done');
    const retried = await syncStock(c, mw.w, 'e1', [part(3, 4, 2, 'A')]);
    expect(retried.result.outcome).toBe('skipped');
    expect(mw.writes).toEqual(['A=2']);
  });

  it('a split stock write whose later request went unanswered keeps the parts owed (it may still land): a newer event waits, never overwritten by it', async () => {
    const mw = stockKeeper();
    const c = ctx('sync-race-d');
    mw.stock.set('A', 9);
    await syncStock(c, mw.w, 'e0', [part(9, 4, 1, 'A')]);
    // The first request of the split call was accepted, the second timed out after sending.
    const unanswered = new AmbiguousWriteError('mobility-work', 'setStock');
    mw.failNextWrite(new MobilityWorkBulkError('setStock', { requests: 1, items: 1 }, 1, 2, unanswered));
    expect(await attempt(syncStock(c, mw.w, 'e1', [part(3, 4, 2, 'A')]))).toBe('MobilityWorkBulkError');
    expect((await c.state.getEntity<PartSyncState>(c.flowId, 'A'))?.data.pending).toMatchObject({
      eventId: 'e1',
    });
    expect(await attempt(syncStock(c, mw.w, 'e2', [part(2, 4, 3, 'A')]))).toBe('ClaimBusyError');
  });

  it('a committed write whose event is gone is sent by the next event about the part once its lease has passed', async () => {
    const mw = stockKeeper();
    let now = Date.parse('2026-11-02T09:00:00.000Z');
    const c = { ...ctx('sync-race-b'), state: t.store(() => new Date(now)) };
    mw.stock.set('A', 9);
    await syncStock(c, mw.w, 'e0', [part(9, 4, 1, 'A')]);
    // e1 decides to write 3 (low), its call goes unanswered (it may land), and the event is not seen
    // again (e.g. its DLQ).
    mw.failNextWrite(new AmbiguousWriteError('mobility-work', 'set stock'));
    expect(await attempt(syncStock(c, mw.w, 'e1', [part(3, 4, 2, 'A')]))).toBe('AmbiguousWriteError');
    // A later poll (still low, nothing of its own to write) waits while e1's write may be under way...
    expect(await attempt(syncStock(c, mw.w, 'e2', [part(2, 4, 3, 'A')]))).toBe('ClaimBusyError');
    // ...and sends it once e1's lease has passed.
    now += 61_000;
    expect(await attempt(syncStock(c, mw.w, 'e2', [part(2, 4, 3, 'A')]))).toBe('done');
    expect(mw.stock.get('A')).toBe(3);
    // e1 replayed later: its version is older than the part's, nothing is written again.
    expect(await attempt(syncStock(c, mw.w, 'e1', [part(3, 4, 2, 'A')]))).toBe('done');
    expect(mw.writes).toEqual(['A=3']);
    expect((await c.state.getEntity<PartSyncState>(c.flowId, 'A'))?.data.pending).toBeUndefined();
  });
});

describe('syncStock: poll events of two parts in every order, two at a time, with duplicates and a late resend', () => {
  let t: TestState;
  beforeAll(async () => {
    t = await startTestState();
  });
  afterAll(() => t.close());

  const level = (partId: string, quantity: number, changedAtMs: number, readAtMs: number): PartLevel => ({
    partId,
    name: partId,
    quantity,
    minimum: 4,
    changedAtMs,
    readAtMs,
  });
  // Overlapping poll windows: E3 reads A's change of E2 again (a later read of the same version).
  const events = {
    E1: [level('A', 2, 100, 1_000), level('B', 9, 100, 1_000)],
    E2: [level('A', 10, 200, 2_000), level('B', 1, 200, 2_000)],
    E3: [level('A', 10, 200, 3_000), level('B', 0, 300, 3_000)],
  } as const;
  type Name = keyof typeof events;

  it('mirror mode: Mobility Work ends with the newest quantities, every result is truthful (done only with a write), nothing written for a stale or repeated event', async () => {
    let run = 0;
    for (const order of permutations(Object.keys(events) as Name[])) {
      const flowId = `sync-order-${++run}`;
      const last = new Map<string, number>();
      const written: string[] = [];
      const w: StockWriter = {
        async setStock(items) {
          for (const i of items) last.set(String(i.id), i.quantity);
          written.push(...items.map((i) => `${String(i.id)}=${i.quantity}`));
          return { requests: 1 };
        },
        async updateSparePartAttributes() {
          return { requests: 1 };
        },
      };
      const c = { flowId, config: config({ mode: 'mirror' }), state: t.store(), now: () => new Date() };
      const handle = async (name: Name) => {
        for (let attempt = 0; attempt < 20; attempt++) {
          try {
            const { result, summary } = await syncStock(c, w, name, events[name]);
            expect({ name, done: result.outcome === 'done' }).toEqual({
              name,
              done: summary.written + summary.aligned > 0,
            });
            return result.outcome;
          } catch (error) {
            // Another event about the part is between its commit and its send, or committed first.
            if (!/busy|concurrent|conditional/i.test(String(error))) throw error;
          }
        }
        throw new Error(`${name} did not converge`);
      };
      // Two batches at once (SQS reorders and Lambda runs batches in parallel), then duplicates.
      const [first, second, third] = order as [Name, Name, Name];
      await Promise.all([handle(first), handle(second)]);
      await handle(third);
      const repeats = await Promise.all(order.map(handle));
      // The oldest event resent after a day: still stale.
      const late = await handle('E1');
      expect({ order, last: Object.fromEntries(last) }).toEqual({ order, last: { A: 10, B: 0 } });
      expect({ order, repeats, late }).toEqual({
        order,
        repeats: ['skipped', 'skipped', 'skipped'],
        late: 'skipped',
      });
      // Each version written at most once per part.
      expect({ order, written: new Set(written).size }).toEqual({ order, written: written.length });
    }
  }, 60_000);
});
