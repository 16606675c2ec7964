/**
 * Replaying 1,000 dead letters on the sandbox's local SQS, interrupted part way: every message is
 * either back on the flow's queue or still on the DLQ (visible), never both and never neither; the
 * rerun replays the rest, and each event reaches the queue once.
 */
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { listDeadLetters, replayDeadLetters } from '../../operator/dlq.ts';
import { pauseFlow } from '../../operator/pause.ts';
import { queueDepth, totalOf } from '../../operator/queue-depth.ts';
import type { PaceClock } from '../../operator/replay.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { flowEvent } from '../support/factories.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const COUNT = 1000;
let sandbox: Sandbox;
let target: Target;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  target = sandboxTarget(sandbox);
  // Paused: the worker leaves the replayed messages on the queue, where the test counts them.
  await pauseFlow(target, FLOW_ID);
});
afterAll(async () => {
  target?.close();
  await sandbox?.close();
});

const urls = () => {
  const flow = target.flows.get(FLOW_ID);
  if (!flow) throw new Error('no flow');
  return flow;
};

/** Fake pacing time: a sleep moves it on at once. */
function fakeClock(): PaceClock & { slept: number } {
  let t = 0;
  const clock = {
    slept: 0,
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

/** Event ids of every message on the flow's queue (received and left hidden: the test ends after). */
async function queuedIds(): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const out = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: urls().queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return ids;
    ids.push(...messages.map((m) => (JSON.parse(m.Body ?? '{}') as { id: string }).id));
  }
}

describe('replaying 1,000 dead letters', () => {
  it('interrupted at 400 then run again: each event back on the queue once, the DLQ empty', async () => {
    const events = Array.from({ length: COUNT }, (_, i) =>
      flowEvent({ id: `dl-${String(i).padStart(4, '0')}` }),
    );
    for (let i = 0; i < COUNT; i += 10) {
      await target.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: urls().dlqUrl,
          Entries: events.slice(i, i + 10).map((e, j) => ({ Id: String(j), MessageBody: JSON.stringify(e) })),
        }),
      );
    }
    expect(await listDeadLetters(target, FLOW_ID)).toHaveLength(COUNT);

    // The operator's Ctrl-C after the 400th, mid-run.
    const interrupted = new Error('interrupted');
    const clock = fakeClock();
    await expect(
      replayDeadLetters(target, FLOW_ID, {
        all: true,
        ratePerSecond: 50,
        clock,
        onProgress: (done) => {
          if (done === 400) throw interrupted;
        },
      }),
    ).rejects.toBe(interrupted);
    // 50 per second: the 400th send is due 399/50 s after the first.
    expect(clock.slept).toBeCloseTo((399 / 50) * 1000, 0);
    expect(totalOf(await queueDepth(target.sqs, urls().queueUrl))).toBe(400);
    const left = await listDeadLetters(target, FLOW_ID);
    expect(left).toHaveLength(COUNT - 400);

    const rest = await replayDeadLetters(target, FLOW_ID, {
      all: true,
      ratePerSecond: 1000,
      clock: fakeClock(),
    });
    expect(rest).toMatchObject({ selected: COUNT - 400, replayed: COUNT - 400, notDeleted: [] });
    expect(await listDeadLetters(target, FLOW_ID)).toHaveLength(0);
    const ids = await queuedIds();
    expect(ids).toHaveLength(COUNT);
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
  }, 120_000);
});
