/**
 * DLQ listing and replay against a mocked SQS: nothing is consumed by a listing, a replay sends
 * before it deletes, drops the retry history, marks `via=replay`, and is paced; the selection and
 * the texts operators read.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { RunLogEntry } from '../../../functions/core/state.ts';
import {
  DeadLetterReplayError,
  listDeadLetters,
  replayDeadLetters,
  selectDeadLetters,
  toDeadLetter,
} from '../../../operator/dlq.ts';
import { type PaceClock, pacer } from '../../../operator/replay.ts';
import type { Target } from '../../../operator/target.ts';

const FLOW = 'some-flow';
const sqsMock = mockClient(SQSClient);
let runs: RunLogEntry[];

function fakeTarget(): Target {
  const sqs = new SQSClient({ region: 'eu-west-1' });
  return {
    kind: 'stack',
    label: 'test',
    deployment: { runtime: { maxReceiveCount: 3 } },
    state: { appendRun: async (e: RunLogEntry) => void runs.push(e) },
    sqs,
    flows: new Map([[FLOW, { flow: { id: FLOW }, config: {}, queueUrl: 'q', dlqUrl: 'dlq' }]]),
    switches: { set: async () => [] },
    env: () => ({}),
    close: () => undefined,
  } as unknown as Target;
}

const event = (id: string, subject = 'machine-1') =>
  JSON.stringify({
    id,
    type: 'mm.downtime.started',
    source: 'test',
    occurredAt: '2026-01-01T00:00:00Z',
    subject,
    data: {},
  });

const message = (id: string, body: string, extra: Partial<Message> = {}): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}-1`,
  Body: body,
  Attributes: { SentTimestamp: String(Date.parse('2026-11-02T07:00:00Z')) },
  MessageAttributes: {
    deadLetterReason: { DataType: 'String', StringValue: `reason of ${id}` },
    retryHistory: { DataType: 'String', StringValue: '{"retries":2}' },
    eventType: { DataType: 'String', StringValue: 'mm.downtime.started' },
  },
  ...extra,
});

const NOW = () => new Date('2026-11-02T08:30:00Z');

beforeEach(() => {
  sqsMock.reset();
  runs = [];
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'new' });
  sqsMock.on(DeleteMessageCommand).resolves({});
});

/** The DLQ holds m1, m2, m3; SQS hands m2 out twice (a new receipt handle), then nothing new. */
function dlqWithThree() {
  sqsMock
    .on(ReceiveMessageCommand)
    .resolvesOnce({ Messages: [message('m1', event('e1')), message('m2', event('e2'))] })
    .resolvesOnce({
      Messages: [message('m2', event('e2'), { ReceiptHandle: 'rh-m2-2' }), message('m3', '{not json')],
    })
    .resolves({ Messages: [] });
}

describe('listDeadLetters', () => {
  it('lists every message once, with its reason and age, and makes them all visible again', async () => {
    dlqWithThree();
    const letters = await listDeadLetters(fakeTarget(), FLOW, { now: NOW });
    expect(letters.map((l) => [l.messageId, l.eventId, l.reason])).toEqual([
      ['m1', 'e1', 'reason of m1'],
      ['m2', 'e2', 'reason of m2'],
      ['m3', '(unreadable)', 'reason of m3'],
    ]);
    expect(letters[0]).toMatchObject({
      subject: 'machine-1',
      eventType: 'mm.downtime.started',
      sentAt: '2026-11-02T07:00:00.000Z',
      ageSeconds: 5400,
      age: '1h 30m',
      body: event('e1'),
    });
    // The unreadable one still lists, its type from the message attribute.
    expect(letters[2]?.eventType).toBe('mm.downtime.started');
    const receive = sqsMock.commandCalls(ReceiveMessageCommand)[0]?.args[0].input;
    expect(receive).toMatchObject({
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 30,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    });
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual([
      ['rh-m1-1', 0],
      ['rh-m2-2', 0], // the latest handle of a message handed out twice
      ['rh-m3-1', 0],
    ]);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('stops at the limit, and still releases what it received', async () => {
    dlqWithThree();
    const letters = await listDeadLetters(fakeTarget(), FLOW, { limit: 1 });
    expect(letters.map((l) => l.messageId)).toEqual(['m1']);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released).toHaveLength(2);
  });
});

describe('toDeadLetter', () => {
  it('says a message SQS redrove itself failed maxReceiveCount deliveries', () => {
    const m = message('m9', event('e9'), { MessageAttributes: {} });
    expect(toDeadLetter(m, NOW(), 5).reason).toBe('failed 5 deliveries (redriven by SQS)');
  });
});

describe('selectDeadLetters', () => {
  const letters = [
    { messageId: 'm1', eventId: 'e1' },
    { messageId: 'm2', eventId: 'e2' },
    { messageId: 'm3', eventId: 'e1' },
  ];
  it('takes every copy of a named event, message ids too, and reports ids that match nothing', () => {
    expect(selectDeadLetters(letters, { ids: ['e1', 'm2', 'nope'] })).toEqual({
      selected: letters,
      notFound: ['nope'],
    });
    expect(selectDeadLetters(letters, { ids: ['m3'] }).selected).toEqual([letters[2]]);
  });
  it('takes all with --all, and refuses an empty or a double choice', () => {
    expect(selectDeadLetters(letters, { all: true }).selected).toHaveLength(3);
    expect(() => selectDeadLetters(letters, {})).toThrow(DeadLetterReplayError);
    expect(() => selectDeadLetters(letters, { all: true, ids: ['e1'] })).toThrow(DeadLetterReplayError);
  });
});

describe('replayDeadLetters', () => {
  it('sends each chosen body unchanged with via=replay and no retry history, then deletes it; the others go back', async () => {
    dlqWithThree();
    const progress: [number, number][] = [];
    const result = await replayDeadLetters(fakeTarget(), FLOW, {
      ids: ['e1', 'm3', 'gone'],
      by: 'ana',
      now: NOW,
      clock: fakeClock().clock,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result).toMatchObject({
      selected: 2,
      replayed: 2,
      notFound: ['gone'],
      dryRun: false,
      notDeleted: [],
    });
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    // Send before delete, message by message.
    const order = sqsMock
      .calls()
      .map((c) => c.args[0])
      .filter((c) => c instanceof SendMessageCommand || c instanceof DeleteMessageCommand)
      .map((c) =>
        c instanceof SendMessageCommand
          ? `send ${c.input.MessageBody?.slice(0, 12)}`
          : `delete ${(c as DeleteMessageCommand).input.ReceiptHandle}`,
      );
    expect(order).toEqual([
      `send ${event('e1').slice(0, 12)}`,
      'delete rh-m1-1',
      'send {not json',
      'delete rh-m3-1',
    ]);
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe('q');
    expect(sent?.MessageBody).toBe(event('e1'));
    expect(sent?.MessageAttributes).toEqual({
      eventType: { DataType: 'String', StringValue: 'mm.downtime.started' },
      via: { DataType: 'String', StringValue: 'replay' },
    });
    // m2 was not chosen: visible again, with its latest handle.
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released.map((e) => e.ReceiptHandle)).toEqual(['rh-m2-2']);
    expect(runs.map((r) => [r.eventId, r.outcome, r.message, r.via])).toEqual([
      ['e1', 'replayed', 'replayed from the dead-letter queue by ana', 'replay'],
      ['(unreadable)', 'replayed', 'replayed from the dead-letter queue by ana', 'replay'],
    ]);
  });

  it('changes nothing on a dry run', async () => {
    dlqWithThree();
    const result = await replayDeadLetters(fakeTarget(), FLOW, { all: true, dryRun: true });
    expect(result).toMatchObject({ selected: 3, replayed: 0, dryRun: true });
    expect(result.events.map((e) => e.messageId)).toEqual(['m1', 'm2', 'm3']);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(runs).toEqual([]);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released).toHaveLength(3);
  });

  it('stops at a failed send, leaving that message and the rest on the DLQ, visible', async () => {
    dlqWithThree();
    sqsMock.on(SendMessageCommand).resolvesOnce({}).rejects(new Error('queue gone'));
    const error = await replayDeadLetters(fakeTarget(), FLOW, { all: true, clock: fakeClock().clock }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeadLetterReplayError);
    expect((error as Error).message).toMatch(/could not send e2 .* after 1 replayed/);
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual([
      'rh-m1-1',
    ]);
    const released = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? []);
    expect(released.map((e) => e.ReceiptHandle)).toEqual(['rh-m2-2', 'rh-m3-1']);
  });

  it('paces the sends at the rate asked', async () => {
    dlqWithThree();
    const fake = fakeClock();
    await replayDeadLetters(fakeTarget(), FLOW, { all: true, ratePerSecond: 2, clock: fake.clock });
    // Three sends at 2/s: at 0, 500 and 1000 ms.
    expect(fake.slept).toEqual([500, 500]);
  });
});

function fakeClock(): { clock: PaceClock; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    clock: {
      now: () => t,
      sleep: async (ms) => {
        slept.push(ms);
        t += ms;
      },
    },
  };
}

describe('pacer', () => {
  it('spaces calls 1/rate apart, counting time spent between them', async () => {
    const fake = fakeClock();
    const next = pacer(10, fake.clock);
    await next(); // at 0: no wait
    await next(); // due at 100
    await fake.clock.sleep(250); // work took 250 ms: the third (due at 200) is late, no wait
    await next();
    await next(); // due at 300, now 350: no wait
    await next(); // due at 400
    expect(fake.slept).toEqual([100, 250, 50]);
  });
  it('refuses a rate of zero', () => {
    expect(() => pacer(0)).toThrow(RangeError);
  });
});
