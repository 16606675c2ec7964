/** backfillFlow's SQS path with aws-sdk-client-mock: attributes, pacing, skipped records, dry run. */

import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import * as z from 'zod/mini';
import type { Deployment } from '../../../functions/config/deployment.ts';
import { defineFlow, type PollSource } from '../../../functions/core/flow.ts';
import type { RunLogEntry, StateStore } from '../../../functions/core/state.ts';
import { BackfillStoppedError, backfillFlow, listBackfillSupport } from '../../../operator/backfill.ts';
import type { Target } from '../../../operator/target.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';

const sqsMock = mockClient(SQSClient);
const NOW = new Date('2026-11-02T12:00:00.000Z');
const FROM = new Date('2026-11-02T08:00:00.000Z');
const TO = new Date('2026-11-02T10:00:00.000Z');
const seen: { from?: Date; to?: Date; lookbackMinutes?: number } = {};

const source: PollSource<unknown, unknown, unknown> = {
  id: 'fake.source',
  vendor: 'upkeep',
  events: {},
  stateSchema: z.unknown(),
  connect: () => ({}),
  async *poll() {},
  backfillNote: 'fake note',
  async *backfill({ from, to, lookbackMinutes }) {
    Object.assign(seen, { from, to, lookbackMinutes });
    yield {
      events: ['a', 'b', 'c'].map((id) => flowEvent({ id })),
      summary: 'batch 1',
      skipped: [{ kind: 'Fake record', record: 'r1', field: 'x', message: 'bad' }],
      progress: { done: 1, total: 3 },
    };
    yield { events: [], summary: 'quiet', progress: { done: 2, total: 3 } };
    yield { events: [], summary: 'total: 3 events', progress: { done: 3, total: 3 } };
  },
};

const flow = defineFlow({
  id: 'fake-flow',
  description: 'fake',
  vendors: ['upkeep'],
  config: z.object({}),
  triggers: [{ kind: 'schedule', source, everyMinutes: () => 5, options: () => ({}) }],
  setup: () => ({}),
  on: {},
});

let runs: RunLogEntry[];
let target: Target;
let sleeps: number[];

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  runs = [];
  sleeps = [];
  const state = {
    retentionDays: 90,
    getFlowControl: async () => ({ paused: true, at: NOW.toISOString() }),
    appendRun: async (entry: RunLogEntry) => {
      runs.push(entry);
    },
  } as unknown as StateStore;
  target = {
    kind: 'stack',
    label: 'test',
    deployment: {} as Deployment,
    state,
    sqs: new SQSClient({ region: 'eu-west-1' }),
    flows: new Map([[flow.id, { flow, config: {}, queueUrl: 'https://sqs/q', dlqUrl: 'https://sqs/dlq' }]]),
    switches: { set: async () => [] },
    env: (log) => testEnv(state, { log, now: () => NOW }),
    close: () => undefined,
  };
});
afterEach(() => {
  sqsMock.reset();
});

const run = (more: { dryRun?: boolean; from?: Date; to?: Date; pastRetention?: boolean } = {}) => {
  const progress: [number, number][] = [];
  return backfillFlow(target, flow.id, {
    from: FROM,
    to: TO,
    ratePerSecond: 2,
    lookbackMinutes: 30,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onProgress: (done, total) => progress.push([done, total]),
    ...more,
  }).then((result) => ({ result, progress }));
};

describe('backfillFlow', () => {
  it('enqueues every event marked via=backfill, paced at the rate, and reports skipped records', async () => {
    const { result, progress } = await run();
    const batches = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(batches.map((b) => b.QueueUrl)).toEqual(['https://sqs/q', 'https://sqs/q']);
    const entries = batches.flatMap((b) => b.Entries ?? []);
    expect(entries.map((e) => e.MessageAttributes?.eventId?.StringValue)).toEqual(['a', 'b', 'c']);
    expect(entries.every((e) => e.MessageAttributes?.via?.StringValue === 'backfill')).toBe(true);
    // 2 per second: chunks of 2 then 1.
    expect(sleeps).toEqual([1000, 500]);
    expect(runs).toEqual([
      expect.objectContaining({ flowId: flow.id, eventId: 'fake.source:r1', outcome: 'skipped' }),
    ]);
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(seen).toEqual({ from: FROM, to: TO, lookbackMinutes: 30 });
    expect(result).toEqual({
      flowId: flow.id,
      sourceId: 'fake.source',
      from: FROM.toISOString(),
      to: TO.toISOString(),
      steps: 3,
      events: 3,
      skipped: 1,
      enqueued: 3,
      dryRun: false,
      summaries: ['batch 1; 1 record(s) skipped', 'total: 3 events'],
      eventIds: ['a', 'b', 'c'],
      note: 'fake note',
      paused: true,
    });
  });

  it('a dry run reads and counts, and sends and writes nothing', async () => {
    const { result } = await run({ dryRun: true });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(runs).toEqual([]);
    expect(sleeps).toEqual([]);
    expect(result).toMatchObject({ dryRun: true, events: 3, skipped: 1, enqueued: 0 });
  });

  it('fails when a send fails', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('throttled'));
    await expect(run()).rejects.toThrow(/could not be enqueued/);
  });

  it('refuses a window older than its claims and episode states are kept (they may be gone, so its events could act again), unless pastRetention; a dry run still counts', async () => {
    // Claims, episodes and part states live 90 days from their last write; this window ended 80 days ago.
    const from = new Date(NOW.getTime() - 81 * 86_400_000);
    const to = new Date(NOW.getTime() - 80 * 86_400_000);
    await expect(run({ from, to })).rejects.toThrow(/kept 90 days.*--past-retention.*Nothing was enqueued/s);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(runs).toEqual([]);
    // The preview counts and says a real run is refused.
    const preview = (await run({ from, to, dryRun: true })).result;
    expect(preview).toMatchObject({ events: 3, enqueued: 0 });
    expect(preview.refusedPastRetention).toMatch(/kept 90 days.*refused unless --past-retention/s);
    const forced = (await run({ from, to, pastRetention: true })).result;
    expect(forced).toMatchObject({ enqueued: 3 });
    expect(forced.refusedPastRetention).toBeUndefined();
    // A window within the safe age (the retry horizon and a day of TTL slack inside 90 days) runs.
    const recent = new Date(NOW.getTime() - 70 * 86_400_000);
    sqsMock.resetHistory();
    expect((await run({ from: recent, to: new Date(recent.getTime() + 3_600_000) })).result).toMatchObject({
      enqueued: 3,
    });
  });

  it('a source failing mid-run (vendor 503) stops with what was enqueued and where to resume; the enqueued stay', async () => {
    const failing: PollSource<unknown, unknown, unknown> = {
      ...source,
      async *backfill() {
        yield {
          events: [flowEvent({ id: 'w1' })],
          summary: 'window 1',
          resume: { from: new Date(FROM.getTime() + 300_000), lookbackMinutes: 40 },
        };
        yield {
          events: [flowEvent({ id: 'w2' })],
          summary: 'window 2',
          resume: { from: new Date(FROM.getTime() + 600_000), lookbackMinutes: 45 },
        };
        throw new Error('machinemetrics downtimeReport: 503 Service Unavailable');
      },
    };
    const failingFlow = defineFlow({
      ...flow,
      triggers: [{ kind: 'schedule', source: failing, everyMinutes: () => 5, options: () => ({}) }],
    });
    const entry = target.flows.get(flow.id);
    if (!entry) throw new Error('no flow');
    target.flows.set(flow.id, { ...entry, flow: failingFlow });
    const error = await run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackfillStoppedError);
    const stopped = error as BackfillStoppedError;
    expect(stopped.cause).toEqual(expect.objectContaining({ message: expect.stringMatching(/503/) }));
    expect(stopped.message).toMatch(
      /stopped after 2 step\(s\) \(last: window 2\): 2 of 2 event\(s\) found enqueued/,
    );
    expect(stopped.message).toContain(
      `--from ${new Date(FROM.getTime() + 600_000).toISOString()} --lookback 45 (same --to)`,
    );
    expect(stopped.message).toMatch(/503 Service Unavailable/);
    expect(stopped.result).toMatchObject({
      enqueued: 2,
      eventIds: ['w1', 'w2'],
      summaries: ['window 1', 'window 2'],
    });
    const sent = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(sent.map((e) => e.MessageAttributes?.eventId?.StringValue)).toEqual(['w1', 'w2']);

    // A dry run stopped the same way enqueued nothing, and says so (no resume point to follow).
    sqsMock.resetHistory();
    const dry = (await run({ dryRun: true }).catch((e: unknown) => e)) as BackfillStoppedError;
    expect(dry).toBeInstanceOf(BackfillStoppedError);
    expect(dry.message).toMatch(
      /\(dry run\) stopped after 2 step\(s\).*: 2 event\(s\) found so far, nothing enqueued/,
    );
    expect(dry.message).not.toMatch(/on the queue|--from/);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('a send failing mid-step resumes from the last step fully enqueued, or says to rerun when the source cannot tell', async () => {
    let calls = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(() => {
      calls++;
      if (calls >= 2) throw new Error('throttled');
      return { Successful: [], Failed: [] };
    });
    // The fake source says no resume point: the whole command is to be rerun.
    const error = (await run().catch((e: unknown) => e)) as BackfillStoppedError;
    expect(error).toBeInstanceOf(BackfillStoppedError);
    expect(error.message).toMatch(
      /stopped after 1 step\(s\) \(last: batch 1; 1 record\(s\) skipped\): 2 of 3 event\(s\) found enqueued/,
    );
    expect(error.message).toMatch(/run the same command again/);
    expect(error.message).toMatch(/could not be enqueued/);
    expect(error.result.enqueued).toBe(2);
  });

  it('lists the source with its note', () => {
    expect(listBackfillSupport(target)).toEqual([
      { flowId: flow.id, sourceId: 'fake.source', supported: true, note: 'fake note' },
    ]);
  });
});
