/**
 * Crash safety of `npm start` under load (issue 13, item 4): the sandbox is SIGKILLed at random
 * moments (a seeded draw of when) while events arrive and the Deepomatic flow works through them,
 * then started again on the same data folder. A kill may land between a send and its answer, a
 * receive and its delete, or a vendor call and its record. At the end nothing acknowledged is lost:
 * every acknowledged event has made its Deepomatic work order or is still on the flow's durable
 * queue (read back from the journal: a few wait there for the 60 s claim lease of a worker killed
 * in the middle of its effect, then are done by the flow's retry); none was made twice, and the DLQ
 * is empty. Without the journal, events vanish from both (6 of 25 in one run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { queueDepth, totalOf } from '../../operator/queue-depth.ts';
import { sandboxTargetFromDir } from '../../operator/sandbox-target.ts';
import { SqsEngine } from '../../sandbox/sqs-engine.ts';
import { readJournal } from '../../sandbox/sqs-journal.ts';
import {
  deepomaticWorkOrderNames,
  photoWorkOrder,
  type SandboxProcess,
  startSandboxProcess,
  waitUntil,
} from '../support/sandbox-process.ts';

const KILLS = 3;
const SEED = 13;

let dir: string;
const running: SandboxProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-kill-chaos-'));
});
afterEach(async () => {
  for (const p of running.splice(0)) await p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** A small seeded generator (mulberry32): the kill moments repeat from run to run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The bodies of the messages on the flow's queue, as its journal holds them (what a restart keeps). */
function journaledBodies(queueUrl: string): string[] {
  const engine = new SqsEngine({ baseUrl: '', region: 'us-east-1', account: '123456789012' });
  engine.replay(readJournal(join(dir, 'sqs')).records);
  return engine.messagesOf(queueUrl.split('/').at(-1) ?? '').map((m) => m.body);
}

/** The flow's queue and DLQ: messages still waiting, and dead letters. */
async function depths(): Promise<{ queue: number; dlq: number }> {
  const target = sandboxTargetFromDir(dir);
  try {
    const flow = target.flows.get(FLOW_ID);
    return {
      queue: totalOf(await queueDepth(target.sqs, flow?.queueUrl ?? '')),
      dlq: totalOf(await queueDepth(target.sqs, flow?.dlqUrl ?? '')),
    };
  } finally {
    target.close();
  }
}

/** Send events (two at a time) until `stop` resolves; returns the ids created and those acknowledged. */
async function load(sandbox: SandboxProcess, stop: Promise<void>, tag: string) {
  const created: string[] = [];
  const acknowledged: string[] = [];
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const lane = async (lane: number) => {
    for (let i = 0; !stopped; i++) {
      try {
        const order = await photoWorkOrder(sandbox, `${tag}-${lane}-${i}`);
        created.push(order.id);
        if (order.acknowledged) acknowledged.push(order.id);
      } catch {
        return; // the sandbox is gone
      }
    }
  };
  await Promise.all([lane(0), lane(1)]);
  return { created, acknowledged };
}

it('loses no acknowledged event and does none twice across SIGKILLs at random moments', async () => {
  const draw = random(SEED);
  const acknowledged = new Set<string>();
  for (let round = 0; round <= KILLS; round++) {
    const sandbox = await startSandboxProcess(dir);
    running.push(sandbox);
    const last = round === KILLS;
    // Kill 1-2.5 s into the load: the worker is busy with earlier lives' events and new ones arrive.
    const killAfter = last ? 1_500 : 1_000 + Math.floor(draw() * 1_500);
    const stop = new Promise<void>((r) => setTimeout(r, killAfter));
    const killed = last ? stop : stop.then(() => sandbox.kill('SIGKILL'));
    const sent = await load(sandbox, killed, `r${round}`);
    await killed;
    for (const id of sent.acknowledged) acknowledged.add(id);
    if (last) {
      const expected = [...acknowledged].map((id) => `upkeep-${id}`);
      let names: string[] = [];
      // Most are done within seconds; those whose worker was killed mid-effect wait for its lease.
      await waitUntil(
        async () => {
          names = await deepomaticWorkOrderNames(sandbox);
          return expected.every((n) => names.includes(n));
        },
        20_000,
        () => '',
      ).catch(() => undefined);
      names = await deepomaticWorkOrderNames(sandbox);
      const target = sandboxTargetFromDir(dir);
      const queueUrl = target.flows.get(FLOW_ID)?.queueUrl ?? '';
      target.close();
      const queued = journaledBodies(queueUrl);
      const waiting = [...acknowledged].filter(
        (id) => !names.includes(`upkeep-${id}`) && queued.some((b) => b.includes(id)),
      );
      const lost = [...acknowledged].filter((id) => !names.includes(`upkeep-${id}`) && !waiting.includes(id));
      expect(lost).toEqual([]);
      expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
      expect((await depths()).dlq).toBe(0);
      expect(acknowledged.size).toBeGreaterThan(10);
      process.stdout.write(
        `sandbox-kill-chaos: ${KILLS} kills, ${acknowledged.size} acknowledged events: ${acknowledged.size - waiting.length} done, ${waiting.length} still queued (a killed worker's claim lease), 0 lost, 0 twice\n`,
      );
    }
  }
}, 90_000);
