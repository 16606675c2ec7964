/**
 * `npm run bench:sqs`: what durability costs the sandbox's local SQS. Through the real SDK client on
 * loopback, in memory and journaled (sqs-journal.ts, no fsync, and with fsync): N single sends,
 * N messages in batches of 10, then receive + delete-batch of everything; then how long a restart
 * takes to replay and compact a journal holding N queued messages, and the journal's size.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { startLocalSqs } from '../sandbox/sqs.ts';

const N = Number(process.argv[2] ?? 2000);
const body = JSON.stringify({
  kind: 'upkeep.WORK_ORDER_CREATED',
  subject: 'wo-123456',
  payload: 'x'.repeat(600),
});

async function run(mode: 'memory' | 'journal' | 'journal+fsync') {
  const dir = mkdtempSync(join(tmpdir(), 'millwright-bench-sqs-'));
  const options = mode === 'memory' ? {} : { dir, fsync: mode === 'journal+fsync' };
  const sqs = await startLocalSqs(options);
  const { queueUrl } = await sqs.createQueue('bench', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
  let t = performance.now();
  for (let i = 0; i < N; i++)
    await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  const single = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < N; i += 10) {
    const Entries = Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: body }));
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
  }
  const batch = performance.now() - t;
  await sqs.close();
  // Restart with 2N messages queued: replay + compaction.
  let restart = 0;
  let journalBytes = 0;
  let again = sqs;
  if (mode !== 'memory') {
    t = performance.now();
    again = await startLocalSqs(options);
    restart = performance.now() - t;
    journalBytes = statSync(join(dir, 'journal.jsonl')).size;
  } else {
    again = await startLocalSqs();
    const q = await again.createQueue('bench', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    for (let i = 0; i < 2 * N; i += 10) {
      const Entries = Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: body }));
      await again.client.send(new SendMessageBatchCommand({ QueueUrl: q.queueUrl, Entries }));
    }
  }
  const url = `${again.endpoint}/123456789012/bench`;
  t = performance.now();
  let received = 0;
  for (;;) {
    const out = await again.client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    received += messages.length;
    await again.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  const drain = performance.now() - t;
  await again.close();
  rmSync(dir, { recursive: true, force: true });
  const per = (ms: number, n: number) => `${((ms / n) * 1000).toFixed(0)} µs/msg`;
  console.log(
    `${mode.padEnd(14)} send ${per(single, N)}  batch send ${per(batch, N)}  receive+delete ${per(drain, received)} (${received} msgs)` +
      (mode === 'memory'
        ? ''
        : `  restart with ${2 * N} queued: ${restart.toFixed(0)} ms, journal ${(journalBytes / 1024).toFixed(0)} KiB`),
  );
}

for (const mode of ['memory', 'journal', 'journal+fsync'] as const) await run(mode);
