/**
 * Parked replay past the state's retention: the claims, send intents and order marks that keep a
 * replay from acting twice or applying an older state expire (DynamoDB TTL, 90 days by default),
 * while a parked event is kept until an operator acts. A replay of an event parked that long ago is
 * refused, changing nothing, unless the operator overrides it explicitly.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { ParkedEvent, RunLogEntry } from '../../../functions/core/state.ts';
import { ParkedEventError, replayParked } from '../../../operator/parked.ts';
import type { Target } from '../../../operator/target.ts';

const FLOW = 'some-flow';
const sqsMock = mockClient(SQSClient);
const NOW = () => new Date('2026-11-02T08:30:00Z');
let runs: RunLogEntry[];
let parked: (ParkedEvent & { id: string })[];

const daysAgo = (days: number) => new Date(NOW().getTime() - days * 86_400_000).toISOString();

const park = (eventId: string, days: number): ParkedEvent & { id: string } => ({
  id: `${daysAgo(days)}#${eventId}#abcd1234`,
  flowId: FLOW,
  eventId,
  eventType: 'mm.downtime.started',
  subject: 'machine-1',
  reason: 'sent without a clear answer',
  check: 'look in the vendor',
  body: JSON.stringify({ id: eventId, type: 'mm.downtime.started', subject: 'machine-1' }),
  at: daysAgo(days),
});

function fakeTarget(): Target {
  return {
    kind: 'stack',
    label: 'test',
    deployment: {},
    state: {
      retentionDays: 90,
      listParked: async () => parked,
      removeParked: async (_flow: string, id: string) => {
        parked = parked.filter((p) => p.id !== id);
      },
      appendRun: async (e: RunLogEntry) => void runs.push(e),
    },
    sqs: new SQSClient({ region: 'eu-west-1' }),
    flows: new Map([[FLOW, { flow: { id: FLOW }, config: {}, queueUrl: 'q', dlqUrl: 'dlq' }]]),
    switches: { set: async () => [] },
    env: () => ({}),
    close: () => undefined,
  } as unknown as Target;
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'new' });
  runs = [];
});

describe('parked replay past the retention of claims and order marks', () => {
  it('refuses an event parked longer ago than its claims are kept, naming it, and changes nothing', async () => {
    parked = [park('old-1', 95), park('new-1', 2)];
    const replay = replayParked(fakeTarget(), FLOW, ['old-1', 'new-1'], { now: NOW });
    await expect(replay).rejects.toThrow(ParkedEventError);
    await expect(replayParked(fakeTarget(), FLOW, ['old-1'], { now: NOW })).rejects.toThrow(
      /old-1.*parked 95 days ago.*90 days.*--past-retention/s,
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(parked).toHaveLength(2);
    expect(runs).toEqual([]);
  });

  it('refuses one parked within the retention once a retry horizon may have aged its records', async () => {
    // Records written at the event's first attempt, up to 13 days before it was parked.
    parked = [park('edge-1', 80)];
    await expect(replayParked(fakeTarget(), FLOW, ['edge-1'], { now: NOW })).rejects.toThrow(
      ParkedEventError,
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('a dry run names the events past the retention without refusing', async () => {
    parked = [park('old-1', 95), park('new-1', 2)];
    const result = await replayParked(fakeTarget(), FLOW, ['old-1', 'new-1'], { now: NOW, dryRun: true });
    expect(result).toMatchObject({ selected: 2, done: 0, pastRetention: ['old-1'] });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('replays them with the explicit override, and says so in the run log', async () => {
    parked = [park('old-1', 95), park('new-1', 2)];
    const result = await replayParked(fakeTarget(), FLOW, ['old-1', 'new-1'], {
      now: NOW,
      pastRetention: true,
      by: 'ana',
    });
    expect(result).toMatchObject({ selected: 2, done: 2, pastRetention: ['old-1'] });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(2);
    expect(parked).toEqual([]);
    const old = runs.find((r) => r.eventId === 'old-1');
    expect(old?.message).toMatch(/past the 90-day retention/);
  });

  it('replays recent parked events as before', async () => {
    parked = [park('new-1', 2)];
    const result = await replayParked(fakeTarget(), FLOW, ['new-1'], { now: NOW });
    expect(result).toMatchObject({ selected: 1, done: 1, pastRetention: [] });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
  });
});
