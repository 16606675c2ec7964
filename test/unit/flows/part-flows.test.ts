/**
 * Both part flows (UpKeep and Click Maint -> Mobility Work) run the one shared stock sync: the same
 * part levels give the same Mobility Work writes and the same per-part state, whichever CMMS they
 * came from.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { VendorHttpError } from '../../../functions/core/errors.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { flow as clickMaintFlow } from '../../../functions/flows/click-maint-part-low-to-mobility-work-stock.ts';
import {
  flow as alertFlow,
  orderQuantity,
} from '../../../functions/flows/mobility-work-stock-alert-to-upkeep.ts';
import type { PartSyncState, StockWriter } from '../../../functions/flows/shared/stock-sync.ts';
import { flow as upkeepFlow } from '../../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { crashingStore, WorkerCrash } from './crash-support.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

const recordingWriter = () => {
  const calls: { kind: string; items: unknown[] }[] = [];
  const writer: StockWriter = {
    async setStock(items) {
      calls.push({ kind: 'stock', items });
      return { requests: 1 };
    },
    async updateSparePartAttributes(items) {
      calls.push({ kind: 'attributes', items });
      return { requests: 1 };
    },
  };
  return { calls, writer };
};

// biome-ignore lint/suspicious/noExplicitAny: the context is built for two flows of different config and deps.
const ctxFor = (flowId: string, config: unknown, deps: unknown): any => {
  const env = testEnv(t.store());
  return { flowId, config, deps, state: env.state, log: env.log, now: env.now };
};

describe('the two part flows share one stock sync', () => {
  it('make the same Mobility Work writes and keep the same state for the same levels', async () => {
    const upkeep = recordingWriter();
    const upkeepConfig = upkeepFlow.config.parse({});
    await upkeepFlow.handle(
      flowEvent({
        id: 'uk-1',
        type: 'upkeep.parts.changed',
        data: {
          parts: [
            { id: 'BRG-6204', name: 'Bearing', quantity: 3, minimumQuantity: 4, updatedAtMs: 1000 },
            { id: 'FLT-35', name: 'Filter', quantity: 9, minimumQuantity: 4, updatedAtMs: 1000 },
          ],
        },
      }),
      ctxFor(upkeepFlow.id, upkeepConfig, { mobilityWork: upkeep.writer }),
    );

    const clickMaint = recordingWriter();
    const cmConfig = clickMaintFlow.config.parse({ confirmBeforeWrite: false });
    const cmResult = await clickMaintFlow.handle(
      flowEvent({
        id: 'cm-1',
        type: 'click-maint.parts.changed',
        data: {
          entityId: 1,
          parts: [
            {
              id: 1,
              name: 'Bearing',
              number: 'BRG-6204',
              onHandQty: 3,
              minQty: 4,
              available: 3,
              isNonStock: false,
              updatedAt: '1970-01-01T00:00:01Z',
            },
            {
              id: 2,
              name: 'Filter',
              number: 'FLT-35',
              onHandQty: 9,
              minQty: 4,
              available: 9,
              isNonStock: false,
              updatedAt: '1970-01-01T00:00:01Z',
            },
            {
              id: 3,
              name: 'Towels',
              number: 'TWL',
              onHandQty: 0,
              minQty: 5,
              available: 0,
              isNonStock: true,
              updatedAt: '1970-01-01T00:00:01Z',
            },
          ],
        },
      }),
      ctxFor(clickMaintFlow.id, cmConfig, { mobilityWork: clickMaint.writer, clickMaint: {} }),
    );

    expect(clickMaint.calls).toEqual(upkeep.calls);
    expect(upkeep.calls.find((c) => c.kind === 'stock')?.items).toEqual([{ id: 'BRG-6204', quantity: 3 }]);
    expect(cmResult.message).toContain('1 non-stock part(s) skipped');
    const store = t.store();
    const a = (await store.getEntity<PartSyncState>(upkeepFlow.id, 'BRG-6204'))?.data;
    const b = (await store.getEntity<PartSyncState>(clickMaintFlow.id, '1/1'))?.data;
    expect({ ...b, changedAtMs: 0, lastWrite: undefined }).toEqual({
      ...a,
      changedAtMs: 0,
      lastWrite: undefined,
    });
    expect(a?.low).toBe(true);
  });

  it('UpKeep: a part without a quantity (unknown) is never written, in low or mirror mode', async () => {
    for (const mode of ['low', 'mirror'] as const) {
      const { calls, writer } = recordingWriter();
      const config = upkeepFlow.config.parse({ mode });
      const result = await upkeepFlow.handle(
        flowEvent({
          id: `uk-noqty-${mode}`,
          type: 'upkeep.parts.changed',
          data: {
            parts: [
              {
                id: `NOQ-${mode}`,
                name: 'No quantity',
                quantity: null,
                minimumQuantity: 4,
                updatedAtMs: 1000,
              },
              { id: `LOW-${mode}`, name: 'Low', quantity: 1, minimumQuantity: 4, updatedAtMs: 1000 },
            ],
          },
        }),
        ctxFor(upkeepFlow.id, config, { mobilityWork: writer }),
      );
      expect(calls.find((c) => c.kind === 'stock')?.items).toEqual([{ id: `LOW-${mode}`, quantity: 1 }]);
      expect(result.message).toContain('1 no-quantity');
      expect(await t.store().getEntity(upkeepFlow.id, `NOQ-${mode}`)).toBeUndefined();
    }
  });

  it('a refill purchase order never reads an unknown UpKeep quantity as 0 (it orders 1)', () => {
    const config = alertFlow.config.parse({});
    expect(orderQuantity(config, { quantity: 1, minimumQuantity: 4 })).toBe(4);
    expect(orderQuantity(config, { quantity: null, minimumQuantity: 4 })).toBe(1);
  });
});

/** A writer whose first stock write fails with Mobility Work's 503 (the vendor is down). */
const failingOnceWriter = () => {
  const rec = recordingWriter();
  let down = true;
  const writer: StockWriter = {
    async setStock(items) {
      if (down) {
        down = false;
        throw new VendorHttpError('mobility-work', 'setStock', 503, 'simulated outage');
      }
      return rec.writer.setStock(items);
    },
    updateSparePartAttributes: (items) => rec.writer.updateSparePartAttributes(items),
  };
  return { calls: rec.calls, writer };
};

describe('bulk calls (README: one bulk call per event)', () => {
  it('UpKeep: the 1,000 parts of one event in mirror mode go out in one stock call, each part once', async () => {
    const { calls, writer } = recordingWriter();
    const parts = Array.from({ length: 1000 }, (_, i) => ({
      id: `BULK-${i}`,
      name: `Part ${i}`,
      quantity: 3,
      minimumQuantity: 4,
      updatedAtMs: 5000,
    }));
    const config = upkeepFlow.config.parse({ mode: 'mirror', alignMinimum: false });
    await upkeepFlow.handle(
      flowEvent({ id: 'uk-bulk', type: 'upkeep.parts.changed', data: { parts } }),
      ctxFor('upkeep-bulk-calls', config, { mobilityWork: writer }),
    );
    expect(calls.map((c) => [c.kind, c.items.length])).toEqual([['stock', 1000]]);
  });
});

describe('order per part across retries (issue 13)', () => {
  const upkeepLevel = (id: string, part: string, quantity: number, updatedAtMs: number) =>
    flowEvent({
      id,
      type: 'upkeep.parts.changed',
      data: { parts: [{ id: part, name: 'Bearing', quantity, minimumQuantity: 4, updatedAtMs }] },
    });
  const clickMaintLevel = (id: string, part: number, quantity: number, updatedAt: string) =>
    flowEvent({
      id,
      type: 'click-maint.parts.changed',
      data: {
        entityId: 1,
        parts: [
          {
            id: part,
            name: 'Bearing',
            number: `BRG-${part}`,
            onHandQty: quantity,
            minQty: 4,
            available: quantity,
            isNonStock: false,
            updatedAt,
          },
        ],
      },
    });

  it('UpKeep: an older level whose write failed with a 5xx, retried after a newer level was written, does not overwrite it (stale)', async () => {
    const { calls, writer } = failingOnceWriter();
    const ctx = ctxFor(upkeepFlow.id, upkeepFlow.config.parse({ mode: 'mirror' }), { mobilityWork: writer });
    const older = upkeepLevel('uk-order-1', 'ORD-UK', 2, 1000);
    await expect(upkeepFlow.handle(older, ctx)).rejects.toBeInstanceOf(VendorHttpError);
    expect((await upkeepFlow.handle(upkeepLevel('uk-order-2', 'ORD-UK', 10, 2000), ctx)).outcome).toBe(
      'done',
    );
    const retried = await upkeepFlow.handle(older, ctx);
    expect(retried.outcome).toBe('skipped');
    expect(retried.message).toContain('1 stale');
    expect(calls.filter((c) => c.kind === 'stock').map((c) => c.items)).toEqual([
      [{ id: 'ORD-UK', quantity: 10 }],
    ]);
  });

  it('Click Maint: an older level whose write failed with a 5xx, retried after a newer level was written, does not overwrite it (stale)', async () => {
    const { calls, writer } = failingOnceWriter();
    const config = clickMaintFlow.config.parse({ mode: 'mirror', confirmBeforeWrite: false });
    const ctx = ctxFor(clickMaintFlow.id, config, { mobilityWork: writer, clickMaint: {} });
    const older = clickMaintLevel('cm-order-1', 77, 2, '2026-11-02T08:00:00Z');
    await expect(clickMaintFlow.handle(older, ctx)).rejects.toBeInstanceOf(VendorHttpError);
    const newer = clickMaintLevel('cm-order-2', 77, 10, '2026-11-02T08:05:00Z');
    expect((await clickMaintFlow.handle(newer, ctx)).outcome).toBe('done');
    const retried = await clickMaintFlow.handle(older, ctx);
    expect(retried.outcome).toBe('skipped');
    expect(retried.message).toContain('1 stale');
    expect(calls.filter((c) => c.kind === 'stock').map((c) => c.items)).toEqual([
      [{ id: 'BRG-77', quantity: 10 }],
    ]);
  });
});

describe('a source part a person deleted under us', () => {
  it('Click Maint: a low part deleted between the poll and the write (its re-read answers 404) is not written and the run log says 1 gone; the other part of the event is written; the redelivery writes nothing', async () => {
    const { calls, writer } = recordingWriter();
    const config = clickMaintFlow.config.parse({});
    const part = (id: number, onHandQty: number) => ({
      id,
      name: 'Bearing',
      number: `GONE-${id}`,
      onHandQty,
      minQty: 4,
      available: onHandQty,
      isNonStock: false,
      updatedAt: '2026-11-02T08:00:00Z',
    });
    // Click Maint's getPart answers undefined on 404: part 91 was deleted after the poll read it.
    const clickMaint = {
      getPart: async (_entity: number, id: number) => (id === 91 ? undefined : part(id, 2)),
    };
    const ctx = ctxFor(clickMaintFlow.id, config, { mobilityWork: writer, clickMaint });
    const event = flowEvent({
      id: 'cm-gone-1',
      type: 'click-maint.parts.changed',
      data: { entityId: 1, parts: [part(91, 1), part(92, 2)] },
    });
    const result = await clickMaintFlow.handle(event, ctx);
    expect(result.outcome).toBe('done');
    expect(result.message).toContain('1 gone');
    expect(calls.filter((c) => c.kind === 'stock').map((c) => c.items)).toEqual([
      [{ id: 'GONE-92', quantity: 2 }],
    ]);
    // Its redelivery writes nothing more, the gone part still said.
    const again = await clickMaintFlow.handle(event, ctx);
    expect(again).toMatchObject({ outcome: 'skipped', message: expect.stringContaining('1 gone') });
    expect(calls.filter((c) => c.kind === 'stock')).toHaveLength(1);
  });
});

describe('a worker that dies at any write (crash-support sweep)', () => {
  for (const [mode, settings] of [
    ['low', {}],
    ['mirror, minimums aligned', { mode: 'mirror', alignMinimum: true }],
  ] as const)
    it(`UpKeep (${mode}): a crash at each write k of a stock sync (lost, or landed with its answer lost), then SQS redelivery: the same stock and minimums reach Mobility Work, the parts owe nothing, a further delivery writes nothing`, async () => {
      let skew = 0;
      const clocked = t.store(() => new Date(Date.now() + skew));
      const config = upkeepFlow.config.parse(settings);
      let n = 0;
      const event = (id: string) =>
        flowEvent({
          id,
          type: 'upkeep.parts.changed',
          data: {
            parts: [
              { id: `${id}-BRG`, name: 'Bearing', quantity: 3, minimumQuantity: 4, updatedAtMs: 1000 },
              { id: `${id}-FLT`, name: 'Filter', quantity: 9, minimumQuantity: 4, updatedAtMs: 1000 },
            ],
          },
        });
      const run = (id: string, state: StateStore, writer: StockWriter) =>
        upkeepFlow.handle(event(id), { ...ctxFor(upkeepFlow.id, config, { mobilityWork: writer }), state });
      // What Mobility Work ends with: the last value sent per spare part and field.
      const finalOf = (calls: { kind: string; items: unknown[] }[], id: string) => {
        const last: Record<string, unknown> = {};
        for (const c of calls)
          for (const item of c.items as { id: string }[]) last[`${c.kind}:${item.id.replace(id, '')}`] = item;
        return Object.fromEntries(
          Object.entries(last).map(([k, v]) => [
            k,
            { ...(v as object), id: (v as { id: string }).id.replace(id, '') },
          ]),
        );
      };
      const clean = recordingWriter();
      const counting = crashingStore(clocked, Number.POSITIVE_INFINITY);
      expect((await run(`crash-clean-${mode}`, counting.store, clean.writer)).outcome).toBe('done');
      const expected = finalOf(clean.calls, `crash-clean-${mode}`);
      for (let k = 1; k <= counting.writes(); k++) {
        for (const when of ['before', 'after'] as const) {
          const id = `crash-${mode}-${++n}`;
          const where = `k=${k} ${when}`;
          const rec = recordingWriter();
          const crash = crashingStore(clocked, k, when);
          const died = await run(id, crash.store, rec.writer).catch((error: unknown) => error);
          if (crash.crashed()) expect({ where, died }).toEqual({ where, died: expect.any(WorkerCrash) });
          skew += 10 * 60_000; // past the claim's and the pending write's leases: the redelivery
          await run(id, clocked, rec.writer);
          expect({ where, final: finalOf(rec.calls, id) }).toEqual({ where, final: expected });
          const states = await clocked.getEntities<PartSyncState>(upkeepFlow.id, [`${id}-BRG`, `${id}-FLT`]);
          const owed = [...states.values()].filter((s) => s.data.pending).length;
          expect({ where, owed }).toEqual({ where, owed: 0 });
          const calls = rec.calls.length;
          const again = await run(id, clocked, rec.writer);
          expect({ where, again: again.outcome, calls: rec.calls.length }).toEqual({
            where,
            again: expect.stringMatching(/duplicate|skipped/),
            calls,
          });
        }
      }
    });
});

describe('a worker that dies at any write, then a newer level (crash-support sweep)', () => {
  it('UpKeep (mirror): a crash at each write k of an older level, then a newer level of the same parts, then the older one redelivered: Mobility Work ends with the newer levels, the parts owe nothing', async () => {
    let skew = 0;
    const clocked = t.store(() => new Date(Date.now() + skew));
    const config = upkeepFlow.config.parse({ mode: 'mirror', alignMinimum: true });
    const event = (
      id: string,
      part: string,
      quantity: number,
      minimumQuantity: number,
      updatedAtMs: number,
    ) =>
      flowEvent({
        id,
        type: 'upkeep.parts.changed',
        data: {
          parts: [
            { id: `${part}-BRG`, name: 'Bearing', quantity, minimumQuantity, updatedAtMs },
            { id: `${part}-FLT`, name: 'Filter', quantity: quantity + 6, minimumQuantity, updatedAtMs },
          ],
        },
      });
    const ctx = (state: StateStore, writer: StockWriter) => ({
      ...ctxFor(upkeepFlow.id, config, { mobilityWork: writer }),
      state,
    });
    /** Delivered until it is not put off by another event's owed write (the queue's retries). */
    const deliver = async (e: ReturnType<typeof event>, writer: StockWriter) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const out = await upkeepFlow.handle(e, ctx(clocked, writer)).catch((x: unknown) => x);
        if (!(out instanceof Error)) return out;
        skew += 10 * 60_000;
      }
      throw new Error(`${e.id} never went through`);
    };
    const counting = crashingStore(clocked, Number.POSITIVE_INFINITY);
    await upkeepFlow.handle(
      event('newer-clean', 'newer-clean', 3, 4, 1000),
      ctx(counting.store, recordingWriter().writer),
    );
    let n = 0;
    for (let k = 1; k <= counting.writes(); k++) {
      for (const when of ['before', 'after'] as const) {
        const where = `k=${k} ${when}`;
        const part = `newer-${++n}`;
        const rec = recordingWriter();
        const older = event(`${part}-e1`, part, 3, 4, 1000);
        const crash = crashingStore(clocked, k, when);
        await upkeepFlow.handle(older, ctx(crash.store, rec.writer)).catch(() => undefined);
        skew += 2 * 60_000;
        await deliver(event(`${part}-e2`, part, 1, 2, 2000), rec.writer);
        await deliver(older, rec.writer);
        const last: Record<string, unknown> = {};
        for (const c of rec.calls)
          for (const item of c.items as { id: string }[])
            last[`${c.kind}:${item.id.replace(part, '')}`] = item;
        expect({ where, last: JSON.stringify(last).replaceAll(part, '') }).toEqual({
          where,
          last: JSON.stringify({
            'attributes:-BRG': { id: '-BRG', minimumStock: 2 },
            'attributes:-FLT': { id: '-FLT', minimumStock: 2 },
            'stock:-BRG': { id: '-BRG', quantity: 1 },
            'stock:-FLT': { id: '-FLT', quantity: 7 },
          }),
        });
        const states = await clocked.getEntities<PartSyncState>(upkeepFlow.id, [
          `${part}-BRG`,
          `${part}-FLT`,
        ]);
        expect({ where, owed: [...states.values()].filter((s) => s.data.pending).length }).toEqual({
          where,
          owed: 0,
        });
      }
    }
  });
});
