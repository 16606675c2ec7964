/**
 * The sandbox's local SQS (sandbox/sqs-engine.ts behind sandbox/sqs-server.ts) through the real
 * `@aws-sdk/client-sqs` client: AWS's semantics for what Millwright uses, AWS's error names, and
 * durability: a journal in a folder that a restart (or a kill, which leaves the same file) replays.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type LocalSqs, queueDepth, startLocalSqs } from '../../sandbox/sqs.ts';
import { md5OfMessageAttributes, SqsEngine } from '../../sandbox/sqs-engine.ts';
import { openJournal, readJournal } from '../../sandbox/sqs-journal.ts';

let dir: string;
/** A controllable wall clock: visibility timeouts and delays pass when the test says so. */
let nowMs: number;
const open = new Set<LocalSqs>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-local-sqs-'));
  nowMs = Date.parse('2026-12-01T00:00:00Z');
});
afterEach(async () => {
  for (const sqs of open) await sqs.close();
  open.clear();
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: { durable?: boolean; realTime?: boolean } = {}): Promise<LocalSqs> {
  const sqs = await startLocalSqs({
    ...(options.durable ? { dir: join(dir, 'sqs') } : {}),
    ...(options.realTime ? {} : { now: () => nowMs }),
  });
  open.add(sqs);
  return sqs;
}
async function stop(sqs: LocalSqs): Promise<void> {
  open.delete(sqs);
  await sqs.close();
}

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as { name: string; message: string },
  );

const receive = (client: SQSClient, queueUrl: string, extra: Record<string, unknown> = {}) =>
  client
    .send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        ...extra,
      }),
    )
    .then((out) => out.Messages ?? []);

describe('messages', () => {
  it('sends, receives with counts, timestamps and attributes, and deletes', async () => {
    const sqs = await start();
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const sent = await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'héllo',
        MessageAttributes: {
          attempt: { DataType: 'Number', StringValue: '2' },
          reason: { DataType: 'String', StringValue: 'x' },
        },
      }),
    );
    // The SDK checks MD5OfMessageBody itself; the attributes' MD5 follows SQS's documented algorithm.
    expect(sent.MD5OfMessageAttributes).toBe(
      md5OfMessageAttributes({
        attempt: { DataType: 'Number', StringValue: '2' },
        reason: { DataType: 'String', StringValue: 'x' },
      }),
    );
    const [m] = await receive(sqs.client, queueUrl);
    expect(m).toMatchObject({
      MessageId: sent.MessageId,
      Body: 'héllo',
      Attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(nowMs),
        ApproximateFirstReceiveTimestamp: String(nowMs),
      },
      MessageAttributes: { attempt: { DataType: 'Number', StringValue: '2' } },
    });
    // In flight: nothing to receive until the visibility timeout ends.
    expect(await receive(sqs.client, queueUrl)).toEqual([]);
    nowMs += 30_000;
    const [again] = await receive(sqs.client, queueUrl, { MessageAttributeNames: ['reason'] });
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(again?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(m?.Attributes?.SentTimestamp);
    expect(Object.keys(again?.MessageAttributes ?? {})).toEqual(['reason']);
    await sqs.client.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: again?.ReceiptHandle }),
    );
    nowMs += 60_000;
    expect(await queueDepth(sqs.client, queueUrl)).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('sends batches, counts delayed, visible and in-flight messages, and purges', async () => {
    const sqs = await start();
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const out = await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'a' },
          { Id: 'b', MessageBody: 'b', DelaySeconds: 60 },
          { Id: 'c', MessageBody: 'c' },
          { Id: 'bad', MessageBody: 'x', DelaySeconds: 901 },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['a', 'b', 'c']);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'InvalidParameterValue' })]);
    const [first] = await receive(sqs.client, queueUrl, { MaxNumberOfMessages: 1 });
    expect(first?.Body).toBe('a');
    expect(await queueDepth(sqs.client, queueUrl)).toMatchObject({ visible: 1, inFlight: 1, delayed: 1 });
    // A minute on: the delayed one is visible, and so is the received one (its 30 s are over).
    nowMs += 60_000;
    const attrs = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '3',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
      QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q',
      VisibilityTimeout: '30',
    });
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
    await sqs.client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(await queueDepth(sqs.client, queueUrl)).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('redrives a message to the DLQ when its receive count would pass maxReceiveCount', async () => {
    const sqs = await start();
    const { queueUrl, dlqUrl } = await sqs.createQueue('q', {
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 2,
    });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));
    for (let i = 1; i <= 2; i++) {
      const [m] = await receive(sqs.client, queueUrl);
      expect(m?.Attributes?.ApproximateReceiveCount).toBe(String(i));
      nowMs += 1_000;
    }
    expect(await receive(sqs.client, queueUrl)).toEqual([]);
    const [dead] = await receive(sqs.client, dlqUrl);
    expect(dead?.Body).toBe('poison');
  });

  it("keeps a flow queue's messages 14 days, as the stack's queue does (SQS's own default is 4)", async () => {
    // A flow paused over a long week, or a laptop shut for five days, must find its events waiting.
    const sqs = await start();
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'kept' }));
    nowMs += 13 * 86_400_000;
    expect((await receive(sqs.client, queueUrl)).map((m) => m.Body)).toEqual(['kept']);
  });
});

describe('visibility', () => {
  it('changes the current receive only; an older receipt handle neither deletes nor changes', async () => {
    const sqs = await start();
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 10 });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm' }));
    const [first] = await receive(sqs.client, queueUrl);
    // Visible again at once, then received again: the first handle is stale.
    await sqs.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const [second] = await receive(sqs.client, queueUrl);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    const stale = await errorOf(
      sqs.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      ),
    );
    expect(stale?.name).toBe('InvalidParameterValue');
    expect(stale?.message).toContain('not available for visibility timeout change');
    // As SQS: deleting with the stale handle "succeeds" and leaves the message.
    await sqs.client.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first?.ReceiptHandle }),
    );
    expect((await queueDepth(sqs.client, queueUrl)).inFlight).toBe(1);
    // Back off: visible again after 600 s, not 30.
    const batch = await sqs.client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'ok', ReceiptHandle: second?.ReceiptHandle, VisibilityTimeout: 600 },
          { Id: 'old', ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 600 },
          { Id: 'big', ReceiptHandle: second?.ReceiptHandle, VisibilityTimeout: 43_201 },
        ],
      }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(['ok']);
    expect(batch.Failed?.map((f) => [f.Id, f.Code])).toEqual([
      ['old', 'InvalidParameterValue'],
      ['big', 'InvalidParameterValue'],
    ]);
    nowMs += 599_000;
    expect(await receive(sqs.client, queueUrl)).toEqual([]);
    nowMs += 1_000;
    const [third] = await receive(sqs.client, queueUrl);
    expect(third?.Attributes?.ApproximateReceiveCount).toBe('3');
    // Visible again (not in flight): the current handle no longer changes it either.
    nowMs += 30_000;
    const notInFlight = await errorOf(
      sqs.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: third?.ReceiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    );
    expect(notInFlight?.name).toBe('MessageNotInflight');
    const del = await sqs.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [{ Id: '1', ReceiptHandle: third?.ReceiptHandle }],
      }),
    );
    expect(del.Successful).toEqual([{ Id: '1' }]);
    expect(await queueDepth(sqs.client, queueUrl)).toMatchObject({ visible: 0, inFlight: 0 });
  });
});

describe('errors, as AWS names them', () => {
  it('refuses what SQS refuses', async () => {
    const sqs = await start();
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    const send = (entries: { Id: string; MessageBody: string }[]) =>
      errorOf(sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    expect((await send([]))?.name).toBe('EmptyBatchRequest');
    expect(
      (await send(Array.from({ length: 11 }, (_, i) => ({ Id: String(i), MessageBody: 'x' }))))?.name,
    ).toBe('TooManyEntriesInBatchRequest');
    expect(
      (
        await send([
          { Id: 'a', MessageBody: 'x' },
          { Id: 'a', MessageBody: 'y' },
        ])
      )?.name,
    ).toBe('BatchEntryIdsNotDistinct');
    const gone = await errorOf(
      sqs.client.send(
        new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/123456789012/nope`, MessageBody: 'x' }),
      ),
    );
    expect(gone?.name).toBe('QueueDoesNotExist');
    expect((await errorOf(sqs.client.send(new GetQueueUrlCommand({ QueueName: 'nope' }))))?.name).toBe(
      'QueueDoesNotExist',
    );
    const handle = await errorOf(
      sqs.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'not-a-handle' })),
    );
    expect(handle?.name).toBe('ReceiptHandleIsInvalid');
    const vt = await errorOf(
      sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 43_201 })),
    );
    expect(vt?.name).toBe('InvalidParameterValue');
    const max = await errorOf(
      sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 })),
    );
    expect(max?.name).toBe('InvalidParameterValue');
    const redrive = await errorOf(
      sqs.client.send(
        new CreateQueueCommand({
          QueueName: 'r',
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: 'arn:aws:sqs:us-east-1:1:d',
              maxReceiveCount: 1001,
            }),
          },
        }),
      ),
    );
    expect(redrive?.name).toBe('InvalidParameterValue');
    const exists = await errorOf(
      sqs.client.send(new CreateQueueCommand({ QueueName: 'q', Attributes: { VisibilityTimeout: '31' } })),
    );
    expect(exists?.name).toBe('QueueNameExists');
    // Same attributes: the existing queue's URL, as SQS answers.
    const same = await sqs.client.send(
      new CreateQueueCommand({ QueueName: 'q', Attributes: { VisibilityTimeout: '30' } }),
    );
    expect(same.QueueUrl).toBe(queueUrl);
    expect((await sqs.client.send(new ListQueuesCommand({ QueueNamePrefix: 'q' }))).QueueUrls).toEqual([
      `${queueUrl}-dlq`,
      queueUrl,
    ]);
  });
});

describe('long polling', () => {
  it('returns as soon as a message is sent, not after the full wait', async () => {
    const sqs = await start({ realTime: true });
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    const began = Date.now();
    const polling = receive(sqs.client, queueUrl, { WaitTimeSeconds: 20 });
    setTimeout(() => {
      void sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'wake' }));
    }, 50);
    const messages = await polling;
    expect(messages.map((m) => m.Body)).toEqual(['wake']);
    expect(Date.now() - began).toBeLessThan(2_000);
  });

  it('returns when a delayed message becomes visible, and takes nothing for a client that left', async () => {
    const sqs = await start({ realTime: true });
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    // A client that gives up its long poll: the message sent after it left is not taken for it.
    const gone = new AbortController();
    const abandoned = sqs.client
      .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }), {
        abortSignal: gone.signal,
      })
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    gone.abort();
    await abandoned;
    await new Promise((r) => setTimeout(r, 50));
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 1 }),
    );
    const began = Date.now();
    const [m] = await receive(sqs.client, queueUrl, { WaitTimeSeconds: 5 });
    expect(m?.Body).toBe('later');
    expect(m?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(Date.now() - began).toBeLessThan(2_500);
  });

  it('wakes an in-process waiter (waitForMessage) on a send, and at once when a message is there', async () => {
    const sqs = await start({ realTime: true });
    const { queueUrl } = await sqs.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    let woken = false;
    const waiting = sqs.waitForMessage(queueUrl).then(() => {
      woken = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(woken).toBe(false);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
    await waiting;
    expect(woken).toBe(true);
    await sqs.waitForMessage(queueUrl);
    const aborted = new AbortController();
    await sqs.client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    const pending = sqs.waitForMessage(queueUrl, aborted.signal);
    aborted.abort();
    await pending;
  });
});

describe('durability', () => {
  it('keeps queues, messages, receive counts, visibility and deletes across a restart', async () => {
    const first = await start({ durable: true });
    const { queueUrl, dlqUrl } = await first.createQueue('q', {
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 3,
    });
    await first.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['a', 'b', 'c', 'd'].map((b) => ({
          Id: b,
          MessageBody: b,
          MessageAttributes: { n: { DataType: 'String', StringValue: b } },
        })),
      }),
    );
    const [a, b] = await receive(first.client, queueUrl, { MaxNumberOfMessages: 2 });
    await first.client.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: a?.ReceiptHandle }),
    );
    await first.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: b?.ReceiptHandle,
        VisibilityTimeout: 300,
      }),
    );
    // No close: the files are left as a SIGKILL leaves them.
    open.delete(first);
    const second = await start({ durable: true });
    const again = await second.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    expect(again).toMatchObject({ dlqUrl: dlqUrl.replace(first.endpoint, second.endpoint) });
    expect(await queueDepth(second.client, again.queueUrl)).toMatchObject({ visible: 2, inFlight: 1 });
    nowMs += 300_000;
    const all = await receive(second.client, again.queueUrl);
    expect(
      all.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount, m.MessageAttributes?.n?.StringValue]),
    ).toEqual([
      ['b', '2', 'b'],
      ['c', '1', 'c'],
      ['d', '1', 'd'],
    ]);
    await first.close();
  });

  it('tolerates a journal line torn by a kill mid-write, and compacts the journal at start', async () => {
    const first = await start({ durable: true });
    const { queueUrl } = await first.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    for (let i = 0; i < 20; i++) {
      await first.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `m${i}` }));
    }
    for (const m of [
      ...(await receive(first.client, queueUrl)),
      ...(await receive(first.client, queueUrl)),
    ]) {
      if (m.Body !== 'm19') {
        await first.client.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
    }
    await stop(first);
    const file = join(dir, 'sqs', 'journal.jsonl');
    const before = statSync(file).size;
    // Half a record, as a kill in the middle of a send's write would leave.
    appendFileSync(file, '{"t":"msg","q":"q","id":"torn","body":"half');
    const second = await start({ durable: true });
    expect(await queueDepth(second.client, queueUrl)).toMatchObject({ inFlight: 1, visible: 0 });
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('torn');
    // Only the queues and the one live message remain.
    expect(text.trim().split('\n')).toHaveLength(3);
    expect(statSync(file).size).toBeLessThan(before / 5);
    // New writes after the torn tail read back fine.
    await second.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'after' }));
    await stop(second);
    const third = await start({ durable: true });
    nowMs += 30_000;
    expect((await receive(third.client, queueUrl)).map((m) => m.Body).sort()).toEqual(['after', 'm19']);
  });

  it('compacts a running journal once it outgrows the live state', async () => {
    const journal = openJournal(join(dir, 'sqs'));
    const engine = new SqsEngine({
      baseUrl: 'http://sqs',
      region: 'us-east-1',
      account: '1',
      journal,
      compactAfterBytes: 4096,
      now: () => nowMs,
    });
    const { QueueUrl } = engine.createQueue({ QueueName: 'q' });
    for (let i = 0; i < 100; i++) {
      engine.sendMessage({ QueueUrl, MessageBody: `m${i}` });
      const { Messages } = await engine.receiveMessage({ QueueUrl });
      engine.deleteMessage({
        QueueUrl,
        ReceiptHandle: (Messages as { ReceiptHandle: string }[])[0]?.ReceiptHandle,
      });
    }
    engine.sendMessage({ QueueUrl, MessageBody: 'kept' });
    journal.close();
    // About 300 bytes of records per message went in; compaction kept the file near the live state.
    expect(statSync(journal.file).size).toBeLessThan(4096 + 1024);
    const replayed = new SqsEngine({
      baseUrl: 'http://sqs',
      region: 'us-east-1',
      account: '1',
      now: () => nowMs,
    });
    replayed.replay(readJournal(join(dir, 'sqs')).records);
    const { Messages } = await replayed.receiveMessage({ QueueUrl, MaxNumberOfMessages: 10 });
    expect((Messages as { Body: string }[]).map((m) => m.Body)).toEqual(['kept']);
  });
});
