/**
 * A bulk import larger than a state item can list: 30,000 UpKeep parts updated in one millisecond,
 * polled through the real poller, poll source, UpKeep simulator (over HTTP) and a StateStore on
 * dynalite. Every part is emitted exactly once and no state item grows past 64 KB (listing every
 * id of that millisecond, as the watermark did before bounded ties, is about 750 KB: over
 * DynamoDB's 400 KB item limit, so the save failed).
 */
import { ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FlowEvent } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import { flow as upkeepFlow } from '../../../functions/flows/upkeep-part-low-to-mobility-work-stock.ts';
import { runPoll } from '../../../functions/runtime/poller.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { testEnv } from '../../support/factories.ts';
import { startTestState, type TestState } from '../../support/state.ts';
import { type Harness, startHarness } from './support.ts';

const PARTS = 30_000;

let h: Harness;
let state: TestState;
beforeAll(async () => {
  [h, state] = await Promise.all([startHarness(), startTestState()]);
});
afterAll(async () => {
  await Promise.all([h?.sim.close(), state?.close()]);
});

/** Size of the largest item in every table of the engine, as DynamoDB counts it (names + values). */
async function largestItemBytes(): Promise<number> {
  const { TableNames = [] } = await state.dynamo.client.send(new ListTablesCommand({}));
  let largest = 0;
  for (const TableName of TableNames) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await state.dynamo.client.send(
        new ScanCommand({ TableName, ...(start ? { ExclusiveStartKey: start as never } : {}) }),
      );
      for (const item of page.Items ?? []) {
        largest = Math.max(largest, Buffer.byteLength(JSON.stringify(item), 'utf8'));
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return largest;
}

describe('UpKeep parts poll with more ties than a state item can list', () => {
  it('emits 30,000 parts of one millisecond once each, and no state item passes 64 KB', async () => {
    h.sim.reset();
    h.clock.advance(60_000);
    const ids = Array.from({ length: PARTS }, (_, i) => `Bulk${String(i).padStart(5, '0')}`);
    h.sim.addParts(ids.map((id) => ({ id, name: `Part ${id}`, quantity: 2, minimumQuantity: 5 })));
    // The import's millisecond is settled (tieSettleMs, 60 s by default) when the poller runs.
    h.clock.advance(61_000);

    const flow = { ...upkeepFlow, id: 'upkeep-bulk-ties' };
    const config = flow.config.parse({
      mode: 'mirror',
      alignMinimum: false,
      poll: { pageSize: 1000, partsPerEvent: 500 },
    });
    const trigger = flow.triggers[0];
    if (trigger?.kind !== 'schedule') throw new Error('the UpKeep part flow polls');
    const events: FlowEvent[] = [];
    const queue: EventQueue = {
      send: async (_url, batch) => {
        events.push(...batch);
      },
    };
    const store = state.store(() => h.clock.now());
    const poll = () =>
      runPoll({
        flow,
        trigger,
        config,
        env: testEnv(store, { now: () => h.clock.now(), log: memoryLog() }),
        queue,
        queueUrl: 'queue',
        deps: { client: h.client() },
      });

    const seeded = h.sim.parts().length - PARTS;
    const first = await poll();
    const emitted = events.flatMap((e) => (e.data as { parts: { id: string }[] }).parts.map((p) => p.id));
    expect(emitted).toHaveLength(seeded + PARTS);
    expect(new Set(emitted).size).toBe(seeded + PARTS);
    expect(emitted.filter((id) => id.startsWith('Bulk')).sort()).toEqual(ids);
    expect(first.events).toBe(events.length);
    expect(await largestItemBytes()).toBeLessThan(64 * 1024);

    // The next run reads that millisecond again and finds nothing new; one more part in it is seen.
    const second = await poll();
    expect(second.events).toBe(0);
    h.sim.addParts([{ id: 'Late1', name: 'Late', quantity: 1, minimumQuantity: 5 }]);
    h.clock.advance(61_000);
    await poll();
    expect(events.at(-1)?.data).toMatchObject({ parts: [{ id: 'Late1' }] });
    expect(events.flatMap((e) => (e.data as { parts: unknown[] }).parts)).toHaveLength(seeded + PARTS + 1);
  }, 120_000);
});
