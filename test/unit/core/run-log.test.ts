/** The run log's layout: every lookup an operator makes is one Query on the table's own key. */

import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  MAX_RUN_EVENT_CHARS,
  MAX_RUN_INDEX_KEYS,
  type RunLogEntry,
  subjectsOf,
} from '../../../functions/core/state.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(async () => {
  await t.close();
});

const entry = (over: Partial<RunLogEntry>): RunLogEntry => ({
  flowId: 'flow-a',
  eventId: 'e1',
  eventType: 'x.y',
  outcome: 'done',
  message: 'ok',
  at: '2026-12-01T10:00:00.000Z',
  ...over,
});

describe('run log', () => {
  it('finds an entry by flow, by event id, by subject and by each effect record id', async () => {
    const store = t.store();
    await store.appendRun(
      entry({
        eventId: 'e-story',
        subject: 'M1',
        effects: { workOrderId: 'WO-9', count: '3' },
        flowId: 'flow-a',
      }),
    );
    await store.appendRun(
      entry({ eventId: 'e-story2', subject: 'WO-9', flowId: 'flow-b', at: '2026-12-01T11:00:00.000Z' }),
    );
    expect((await store.queryRuns({ flowId: 'flow-a' })).entries.map((e) => e.eventId)).toContain('e-story');
    expect((await store.queryRuns({ eventId: 'e-story' })).entries).toHaveLength(1);
    expect((await store.queryRuns({ subject: 'M1' })).entries.map((e) => e.eventId)).toEqual(['e-story']);
    // The work order's story: the run that created it and the later one about it, newest first.
    expect((await store.queryRuns({ subject: 'WO-9' })).entries.map((e) => e.eventId)).toEqual([
      'e-story2',
      'e-story',
    ]);
    // A count is not a record id.
    expect((await store.queryRuns({ subject: '3' })).entries).toEqual([]);
    // Narrowed to one flow inside a subject's partition.
    expect(
      (await store.queryRuns({ subject: 'WO-9', flowId: 'flow-b' })).entries.map((e) => e.eventId),
    ).toEqual(['e-story2']);
  });

  it('pages through outcome filters until the limit is met, newest first, within since/until', async () => {
    const store = t.store();
    for (let i = 0; i < 30; i++) {
      await store.appendRun(
        entry({
          flowId: 'flow-page',
          eventId: `p${i}`,
          outcome: i % 10 === 0 ? 'failed' : 'done',
          at: new Date(Date.UTC(2026, 11, 2, 0, i)).toISOString(),
        }),
      );
    }
    const failed = await store.queryRuns({ flowId: 'flow-page', outcomes: ['failed'], limit: 5 });
    expect(failed.entries.map((e) => e.eventId)).toEqual(['p20', 'p10', 'p0']);
    const window = await store.queryRuns({
      flowId: 'flow-page',
      since: '2026-12-02T00:10:00.000Z',
      until: '2026-12-02T00:12:00.000Z',
    });
    expect(window.entries.map((e) => e.eventId)).toEqual(['p11', 'p10']);
    const limited = await store.queryRuns({ flowId: 'flow-page', limit: 4 });
    expect(limited.entries).toHaveLength(4);
    expect(limited.more).toBe(true);
  });

  it('keeps a webhook-sized event body deflated, so its event copy fits one write unit, and reads it back whole', async () => {
    const store = t.store();
    const body = JSON.stringify({
      id: 'e-packed',
      type: 'mobility-work.SparePartWasRestocked',
      data: { _event: 'SparePartWasRestocked', note: 'restocked after the weekly count '.repeat(30) },
    });
    expect(body.length).toBeGreaterThan(1024);
    await store.appendRun(entry({ flowId: 'flow-packed', eventId: 'e-packed', eventBody: body }));
    const doc = (
      store as unknown as { db: { send: (c: unknown) => Promise<{ Items?: Record<string, unknown>[] }> } }
    ).db;
    const out = await doc.send(
      new QueryCommand({
        TableName: store.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'EVENT#e-packed' },
      }),
    );
    const [item] = out.Items ?? [];
    expect(item?.eventBody).toBeUndefined();
    expect(item?.eventBodyZ).toBeInstanceOf(Uint8Array);
    expect((item?.eventBodyZ as Uint8Array | undefined)?.length).toBeLessThan(body.length / 2);
    const [byEvent] = (await store.queryRuns({ eventId: 'e-packed' })).entries;
    expect(byEvent?.eventBody).toBe(body);
  });

  it('reads the plain event body of a run-log item written before issue 14', async () => {
    const store = t.store();
    const doc = (store as unknown as { db: { send: (c: unknown) => Promise<unknown> } }).db;
    await doc.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          pk: 'EVENT#e-plain',
          sk: '2026-11-02T09:00:00.000Z#flow-old#abcd1234',
          ...entry({ flowId: 'flow-old', eventId: 'e-plain' }),
          eventBody: '{"id":"e-plain"}',
        },
      }),
    );
    const [byEvent] = (await store.queryRuns({ eventId: 'e-plain' })).entries;
    expect(byEvent?.eventBody).toBe('{"id":"e-plain"}');
  });

  it('keeps the latest error outcome per flow and the event body on the event copy only', async () => {
    const store = t.store();
    const body = JSON.stringify({ id: 'e-err', pad: 'x'.repeat(MAX_RUN_EVENT_CHARS) });
    await store.appendRun(
      entry({
        flowId: 'flow-err',
        eventId: 'e-err',
        outcome: 'dead-lettered',
        message: 'boom',
        eventBody: body,
      }),
    );
    expect((await store.lastError('flow-err'))?.message).toBe('boom');
    expect(await store.lastError('flow-a')).toBeUndefined();
    const [byEvent] = (await store.queryRuns({ eventId: 'e-err' })).entries;
    expect(byEvent?.eventBody).toHaveLength(MAX_RUN_EVENT_CHARS);
    const [byFlow] = (await store.queryRuns({ flowId: 'flow-err' })).entries;
    expect(byFlow?.eventBody).toBeUndefined();
  });

  it('forgets the latest error once it is past the run-log retention, though TTL has not deleted it', async () => {
    // dynalite (the sandbox) never applies TTL, and DynamoDB deletes expired items up to days late:
    // `millwright status` must not show a flow's error from months ago as its last error.
    let now = Date.parse('2026-12-01T10:00:00.000Z');
    const store = t.store(() => new Date(now));
    await store.appendRun(
      entry({ flowId: 'flow-old-err', eventId: 'e-old', outcome: 'dead-lettered', message: 'old' }),
    );
    now += 29 * 86_400_000;
    expect((await store.lastError('flow-old-err'))?.message).toBe('old');
    now += 2 * 86_400_000;
    expect(await store.lastError('flow-old-err')).toBeUndefined();
  });

  it('lists no entry past the run-log retention by flow, event or subject, though TTL has not deleted it', async () => {
    // DynamoDB returns expired items until it deletes them (days later; dynalite never does):
    // `millwright runs` must not show runs older than the retention, nor say there are more.
    let now = Date.parse('2026-12-01T10:00:00.000Z');
    const store = t.store(() => new Date(now));
    for (const [i, at] of ['2026-12-01T10:00:00.000Z', '2026-12-01T10:00:01.000Z'].entries()) {
      await store.appendRun(entry({ flowId: 'flow-exp', eventId: `e-exp-${i}`, subject: 'M-exp', at }));
    }
    now += 20 * 86_400_000;
    await store.appendRun(
      entry({ flowId: 'flow-exp', eventId: 'e-new', subject: 'M-exp', at: new Date(now).toISOString() }),
    );
    now += 15 * 86_400_000; // the first two are 35 days old, past the 30 days kept; the last 15
    const byFlow = await store.queryRuns({ flowId: 'flow-exp', limit: 1 });
    expect(byFlow.entries.map((e) => e.eventId)).toEqual(['e-new']);
    expect(byFlow.more).toBe(false);
    expect((await store.queryRuns({ flowId: 'flow-exp' })).entries.map((e) => e.eventId)).toEqual(['e-new']);
    expect(
      (await store.queryRuns({ subject: 'M-exp', outcomes: ['done'] })).entries.map((e) => e.eventId),
    ).toEqual(['e-new']);
    expect((await store.queryRuns({ eventId: 'e-exp-0' })).entries).toEqual([]);
  });

  it('expires entries after runRetentionDays and never needs a Scan', async () => {
    const now = new Date('2026-12-01T00:00:00.000Z');
    const store = t.store(() => now);
    (store as unknown as { runRetentionDays: number }).runRetentionDays = 7;
    await store.appendRun(entry({ flowId: 'flow-ttl', eventId: 'e-ttl' }));
    const doc = (store as unknown as { db: { send: (c: unknown) => Promise<{ Items?: { ttl: number }[] }> } })
      .db;
    const out = await doc.send(
      new QueryCommand({
        TableName: store.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'RUN#flow-ttl' },
      }),
    );
    expect(out.Items?.[0]?.ttl).toBe(now.getTime() / 1000 + 7 * 86_400);
    const sent: string[] = [];
    const original = doc.send.bind(doc);
    doc.send = (c: unknown) => {
      sent.push((c as object).constructor.name);
      return original(c);
    };
    await store.queryRuns({ subject: 'M1' });
    await store.queryRuns({ eventId: 'e-ttl' });
    expect(sent).toEqual(['QueryCommand', 'QueryCommand']);
    expect(sent).not.toContain(ScanCommand.name);
  });

  it('indexes at most MAX_RUN_INDEX_KEYS subjects so one entry stays one BatchWriteItem', () => {
    const many = Array.from({ length: 100 }, (_, i) => `part-${i}`);
    const subjects = subjectsOf(entry({ subject: 'parts', subjects: many }));
    expect(subjects.length).toBeLessThanOrEqual(MAX_RUN_INDEX_KEYS - 2);
    expect(subjects[0]).toBe('parts');
  });
});
