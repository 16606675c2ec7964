/**
 * Restart edges of the sandbox's data folder: what a kill can leave behind (a journal torn in its very
 * first line, a simulator's half-written temporary file, a lock left empty or naming a PID another
 * process now holds), what a restart must keep (delayed and in-flight messages at their times, every
 * change whose append set off a compaction, even a failing one), what it must say (messages past
 * their retention, or on a queue no enabled flow reads) and a data folder that cannot be one.
 */
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { memoryLog } from '../../functions/core/log.ts';
import { PARTS, sandboxControl } from '../../sandbox/control.ts';
import { DataDirUnusableError, lockDataDir, SandboxLockedError } from '../../sandbox/data-dir.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { type LocalSqs, startLocalSqs } from '../../sandbox/sqs.ts';
import { SqsEngine } from '../../sandbox/sqs-engine.ts';
import { openJournal, readJournal } from '../../sandbox/sqs-journal.ts';
import { startTestSandbox } from '../support/sandbox.ts';

/** A standard queue's attributes as the engine journals them. */
const QUEUE_DEFAULTS = {
  DelaySeconds: 0,
  MaximumMessageSize: 262_144,
  MessageRetentionPeriod: 345_600,
  ReceiveMessageWaitTimeSeconds: 0,
  VisibilityTimeout: 30,
};

const START = '2026-12-01T00:00:00.000Z';
let dir: string;
let nowMs: number;
const openSqs = new Set<LocalSqs>();
const running = new Set<Sandbox>();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-restart-edges-'));
  nowMs = Date.parse('2026-12-01T00:00:00Z');
});
afterEach(async () => {
  for (const sqs of openSqs) await sqs.close();
  openSqs.clear();
  for (const s of running) await s.close();
  running.clear();
  rmSync(dir, { recursive: true, force: true });
});

async function sqsOn(): Promise<LocalSqs> {
  const sqs = await startLocalSqs({ dir: join(dir, 'sqs'), now: () => nowMs });
  openSqs.add(sqs);
  return sqs;
}
/** Leave the files as a SIGKILL leaves them: the server stops, nothing is flushed or compacted. */
async function kill(sqs: LocalSqs): Promise<void> {
  openSqs.delete(sqs);
  await sqs.close();
}
const bodies = async (sqs: LocalSqs, queueUrl: string) =>
  (
    (await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 })))
      .Messages ?? []
  )
    .map((m) => m.Body)
    .sort();

describe('the SQS journal across a kill', () => {
  it('starts when a kill tore the very first line of a fresh journal, and works on after it', async () => {
    const journal = join(dir, 'sqs', 'journal.jsonl');
    const first = await sqsOn();
    await kill(first);
    writeFileSync(journal, '{"t":"queue","name":"q","attri');
    const second = await sqsOn();
    const { queueUrl } = await second.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    await second.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'kept' }));
    await kill(second);
    const third = await sqsOn();
    expect(await bodies(third, queueUrl)).toEqual(['kept']);
  });

  it('keeps a delayed message delayed and an in-flight one hidden until their times, then delivers each once', async () => {
    const first = await sqsOn();
    const { queueUrl } = await first.createQueue('q', { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 });
    await first.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'in-flight' }));
    expect(await bodies(first, queueUrl)).toEqual(['in-flight']);
    await first.client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'delayed', DelaySeconds: 60 }),
    );
    await kill(first);
    const second = await sqsOn();
    nowMs += 29_000;
    expect(await bodies(second, queueUrl)).toEqual([]);
    nowMs += 1_000;
    expect(await bodies(second, queueUrl)).toEqual(['in-flight']);
    // Received again at 30 s (hidden until 60 s); the delay also ends at 60 s.
    nowMs += 29_000;
    expect(await bodies(second, queueUrl)).toEqual([]);
    nowMs += 1_000;
    expect(await bodies(second, queueUrl)).toEqual(['delayed', 'in-flight']);
  });
});

describe('the SQS journal compacted while running', () => {
  it('keeps in the journal every change whose append set off a compaction', async () => {
    const journal = openJournal(join(dir, 'sqs'));
    const engine = new SqsEngine({
      baseUrl: 'http://sqs',
      region: 'us-east-1',
      account: '1',
      journal,
      // Past the limit at once: a write compacts whenever the journal is twice the live state.
      compactAfterBytes: 1,
      now: () => nowMs,
    });
    /** The queue's messages as a kill now would leave them: the journal alone, replayed. */
    const afterKill = () => {
      const replayed = new SqsEngine({ baseUrl: 'http://sqs', region: 'us-east-1', account: '1' });
      replayed.replay(readJournal(join(dir, 'sqs')).records);
      return replayed.messagesOf('q').map((m) => [m.body, m.count]);
    };
    const { QueueUrl } = engine.createQueue({ QueueName: 'q', Attributes: { VisibilityTimeout: '30' } });
    engine.sendMessage({ QueueUrl, MessageBody: 'a' });
    expect(afterKill()).toEqual([['a', 0]]);
    for (const body of ['b', 'c', 'd', 'e', 'f']) engine.sendMessage({ QueueUrl, MessageBody: body });
    const { Messages } = await engine.receiveMessage({ QueueUrl, MaxNumberOfMessages: 6 });
    for (const m of Messages as { ReceiptHandle: string; Body: string }[]) {
      if (m.Body !== 'f') engine.deleteMessage({ QueueUrl, ReceiptHandle: m.ReceiptHandle });
    }
    expect(afterKill()).toEqual([['f', 1]]);
    journal.close();
  });

  it('answers a journaled send even when the compaction it set off fails, and keeps the old journal', async () => {
    const sqsDir = join(dir, 'sqs');
    const journal = openJournal(sqsDir);
    const engine = new SqsEngine({
      baseUrl: 'http://sqs',
      region: 'us-east-1',
      account: '1',
      journal,
      compactAfterBytes: 1,
      now: () => nowMs,
    });
    const { QueueUrl } = engine.createQueue({ QueueName: 'q' });
    // The compaction's copy cannot be written (as on a full disk): a folder stands at its path.
    mkdirSync(join(sqsDir, `journal.jsonl.${process.pid}.tmp`));
    // Enough sends for the journal to outgrow twice the live state: one of them compacts.
    const sent = ['a', 'b', 'c', 'd', 'e'];
    for (const body of sent) expect(() => engine.sendMessage({ QueueUrl, MessageBody: body })).not.toThrow();
    journal.close();
    const replayed = new SqsEngine({ baseUrl: 'http://sqs', region: 'us-east-1', account: '1' });
    replayed.replay(readJournal(sqsDir).records);
    expect(replayed.messagesOf('q').map((m) => m.body)).toEqual(sent);
  });
});

describe('messages whose retention ended while the sandbox was stopped', () => {
  it('are counted per queue when the journal is replayed, not dropped unsaid', async () => {
    const first = await sqsOn();
    const { queueUrl, dlqUrl } = await first.createQueue('q', {
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 3,
    });
    await first.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'old' }));
    nowMs += 2 * 24 * 3600_000;
    await first.client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'dead' }));
    await kill(first);
    nowMs += 13 * 24 * 3600_000; // 'old' is past the queues' 14 days, 'dead' within them
    const second = await sqsOn();
    expect(second.expiredAtStart).toEqual([{ queue: 'q', messages: 1 }]);
    expect(await bodies(second, queueUrl)).toEqual([]);
    expect(await bodies(second, dlqUrl)).toEqual(['dead']);
  });

  it('are named in a warning by the sandbox that starts on the folder', async () => {
    const sandbox = await startTestSandbox({ dataDir: dir });
    const [, flow] = [...sandbox.flows][0] ?? [];
    await sandbox.close();
    const queue = flow?.queues.queueUrl.split('/').at(-1);
    const sentAt = Date.now() - 15 * 24 * 3600_000;
    appendFileSync(
      join(dir, 'sqs', 'journal.jsonl'),
      `${JSON.stringify({ t: 'msg', q: queue, id: 'old', body: '{}', md5: '', sentAt, visibleAt: sentAt, count: 0 })}\n`,
    );
    const log = memoryLog();
    const again = await startTestSandbox({ dataDir: dir, log });
    running.add(again);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining(
          `1 message on the queue ${queue} passed the queue's retention period`,
        ),
      }),
    );
  });
});

describe('a restart whose config no longer reads a queue', () => {
  it('names the queue whose waiting messages no enabled flow will process', async () => {
    await (await startTestSandbox({ dataDir: dir })).close();
    // A flow disabled (or the deployment renamed) while one of its events waited.
    const now = Date.now();
    appendFileSync(
      join(dir, 'sqs', 'journal.jsonl'),
      [
        {
          t: 'queue',
          name: 'renamed-some-flow',
          attributes: QUEUE_DEFAULTS,
          createdAt: now,
          modifiedAt: now,
        },
        {
          t: 'msg',
          q: 'renamed-some-flow',
          id: 'waiting',
          body: '{}',
          md5: '',
          sentAt: now,
          visibleAt: now,
          count: 0,
        },
      ]
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    const log = memoryLog();
    running.add(await startTestSandbox({ dataDir: dir, log }));
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining(
          '1 message waits on the queue renamed-some-flow, which no enabled flow reads',
        ),
      }),
    );
    expect(log.lines.filter((l) => l.message.includes('which no enabled flow reads'))).toHaveLength(1);
  });
});

describe('the data folder across a kill', () => {
  it("restores a simulator from its saved state, not from a kill's half-written temporary file", async () => {
    const sandbox = await startTestSandbox({ dataDir: dir });
    running.add(sandbox);
    expect((await sandboxControl(sandbox).upkeepPart(PARTS.bearing, 'consume', 1)).status).toBe(200);
    running.delete(sandbox);
    await sandbox.close();
    const file = join(dir, 'simulators', 'upkeep.json');
    const saved = readFileSync(file, 'utf8');
    // A kill between the temporary file's write and its rename (another PID: the killed sandbox's).
    writeFileSync(`${file}.99999.tmp`, saved.slice(0, saved.length / 2));
    const again = await startTestSandbox({ dataDir: dir });
    running.add(again);
    // The part only this test changes (the flows of the second life may add other records meanwhile).
    const bearing = (parts: { id: string; quantity: unknown }[] | undefined) =>
      parts?.find((p) => p.id === PARTS.bearing)?.quantity;
    const savedBearing = bearing((JSON.parse(saved) as { parts: { id: string; quantity: unknown }[] }).parts);
    expect(savedBearing).toBeDefined();
    expect(bearing(again.simulators.upkeep?.exportState().parts)).toBe(savedBearing);
  });

  it('takes over a lock file a kill left empty, with a log line', () => {
    writeFileSync(join(dir, 'sandbox.lock'), '');
    const log = memoryLog();
    const lock = lockDataDir(dir, log);
    expect(log.lines.map((l) => l.message)).toContainEqual(expect.stringContaining('it holds no PID'));
    expect(JSON.parse(readFileSync(join(dir, 'sandbox.lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a lock whose sandbox (another process) still runs, and leaves its lock alone', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      // As the child would write it: its own start tick (Linux /proc).
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      const content = JSON.stringify({ pid: child.pid, startedAt: START, token: 'live', startTicks });
      writeFileSync(join(dir, 'sandbox.lock'), content);
      expect(() => lockDataDir(dir, memoryLog())).toThrow(SandboxLockedError);
      expect(readFileSync(join(dir, 'sandbox.lock'), 'utf8')).toBe(content);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it("takes over a lock whose PID now belongs to a process other than the one that wrote it (a killed sandbox's PID reused)", async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      // The killed sandbox's lock: its PID is now the (live) child's, which started at another tick.
      const startedAt = START;
      const lock = { pid: child.pid, startedAt, token: 'killed', startTicks: 1 };
      writeFileSync(join(dir, 'sandbox.lock'), JSON.stringify(lock));
      const log = memoryLog();
      const taken = lockDataDir(dir, log);
      expect(log.lines.map((l) => l.message)).toContainEqual(
        `taking over the lock ${join(dir, 'sandbox.lock')} of PID ${child.pid} (started ${startedAt}), which is no longer running (its PID now belongs to another process)`,
      );
      expect(JSON.parse(readFileSync(join(dir, 'sandbox.lock'), 'utf8')).pid).toBe(process.pid);
      taken.release();
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('says clearly that a data folder path naming a file cannot be used', async () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const start = startTestSandbox({ dataDir: file });
    await expect(start).rejects.toThrow(DataDirUnusableError);
    await expect(start).rejects.toThrow(`the sandbox data folder ${file} cannot be used (EEXIST`);
  });
});
