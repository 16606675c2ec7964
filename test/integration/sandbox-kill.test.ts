/**
 * Crash safety of `npm start` (issue 13, item 4): events the sandbox acknowledged are on a durable
 * queue (sandbox/sqs-journal.ts), so a SIGKILL loses none of them. The sandbox runs as a user runs
 * it (its own process, a temporary data folder); the Deepomatic flow is paused so that the events
 * wait on its queue; the process is killed and started again on the same folder, the flow resumed,
 * and every acknowledged event makes exactly one Deepomatic work order.
 *
 * Without the journal (the queues in memory) all of them are lost: the delivery marks survive in
 * DynamoDB, so not even a redelivery would bring them back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { pauseFlow, resumeFlow } from '../../operator/pause.ts';
import { queueDepth, totalOf } from '../../operator/queue-depth.ts';
import { sandboxTargetFromDir } from '../../operator/sandbox-target.ts';
import {
  deepomaticWorkOrderNames,
  photoWorkOrder,
  type SandboxProcess,
  startSandboxProcess,
  waitUntil,
} from '../support/sandbox-process.ts';

let dir: string;
const running: SandboxProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-kill-'));
});
afterEach(async () => {
  for (const p of running.splice(0)) await p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<SandboxProcess> {
  const p = await startSandboxProcess(dir);
  running.push(p);
  return p;
}

/** Pause or resume the flow as `millwright pause` would, through the running sandbox's endpoints. */
async function setPaused(paused: boolean): Promise<void> {
  const target = sandboxTargetFromDir(dir);
  try {
    await (paused ? pauseFlow : resumeFlow)(target, FLOW_ID);
  } finally {
    target.close();
  }
}

async function flowQueueTotal(): Promise<number> {
  const target = sandboxTargetFromDir(dir);
  try {
    const queueUrl = target.flows.get(FLOW_ID)?.queueUrl ?? '';
    return totalOf(await queueDepth(target.sqs, queueUrl));
  } finally {
    target.close();
  }
}

it('processes every event acknowledged before a SIGKILL exactly once after the restart', async () => {
  const first = await start();
  await setPaused(true);
  // The event source reads the pause flag at most once a second.
  await new Promise((r) => setTimeout(r, 1_200));
  const orders = [];
  for (let i = 0; i < 20; i++) orders.push(await photoWorkOrder(first, `Check guard ${i}`));
  expect(orders.every((o) => o.acknowledged)).toBe(true);
  expect(await flowQueueTotal()).toBeGreaterThanOrEqual(20);
  expect(await deepomaticWorkOrderNames(first)).toEqual([]);

  await first.kill('SIGKILL');
  const second = await start();
  await setPaused(false);
  const expected = orders.map((o) => `upkeep-${o.id}`).sort();
  let names: string[] = [];
  await waitUntil(
    async () => {
      names = await deepomaticWorkOrderNames(second);
      return expected.every((n) => names.includes(n)) && (await flowQueueTotal()) === 0;
    },
    30_000,
    () => `Deepomatic has ${names.length} of ${expected.length} work orders`,
  );
  // Nothing more arrives late, and nothing was made twice.
  await new Promise((r) => setTimeout(r, 500));
  names = await deepomaticWorkOrderNames(second);
  expect(names.filter((n) => expected.includes(n)).sort()).toEqual(expected);
  expect(new Set(names).size).toBe(names.length);
}, 60_000);
