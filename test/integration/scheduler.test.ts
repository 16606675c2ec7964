/**
 * The sandbox scheduler plays EventBridge Scheduler: every poller runs on its own, as each is its
 * own schedule and Lambda in AWS. One vendor's outage fails (or slows) its own pollers, named in the
 * log, and no other.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { memoryLog } from '../../functions/core/log.ts';
import { pollStateKey } from '../../functions/runtime/poller.ts';
import { postJson } from '../../sandbox/control.ts';
import { PollTickError, type Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
const log = memoryLog();
const MM_FLOWS = [
  'machinemetrics-downtime-to-upkeep-work-order',
  'machinemetrics-downtime-to-mobility-work-task',
  'machinemetrics-downtime-to-click-maint-work-order',
];

beforeAll(async () => {
  sandbox = await startTestSandbox({ log });
});
afterAll(async () => {
  await sandbox?.close();
});

describe('sandbox scheduler', () => {
  it('names each flow whose poll failed, and still runs every other poller', async () => {
    const mm = sandbox.simulators.machinemetrics?.url ?? '';
    await postJson(`${mm}/_sandbox/faults`, { match: 'POST /reports/downtime', status: 401, times: 50 });
    sandbox.clock.advance(30 * 60_000);

    const error = await sandbox.tick().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollTickError);
    // The three downtime flows share one MachineMetrics poll (runtime/shared-poll.ts): one failure,
    // naming every flow it feeds, and recorded as each flow's last poll run.
    expect([...(error as PollTickError).failed].map((f) => f.split(' ')[0])).toEqual([
      'machinemetrics-downtime-poller',
    ]);
    const line = log.lines.find(
      (l) =>
        l.level === 'error' && l.message.startsWith('scheduler: poll of machinemetrics-downtime-poller ('),
    );
    for (const flowId of MM_FLOWS) {
      expect(line?.message).toContain(flowId);
      const run = await sandbox.state.lastPollRun(pollStateKey(flowId, 'machinemetrics.downtime'));
      expect(run).toMatchObject({ summary: 'failed' });
      expect(run?.error).toMatch(/401/);
    }
    // The UpKeep parts poller ran in the same tick: its watermark was saved.
    const parts = sandbox.flows.get('upkeep-part-low-to-mobility-work-stock');
    const source = parts?.pollers[0]?.trigger.source.id ?? '';
    expect(
      await sandbox.state.loadPollState(pollStateKey('upkeep-part-low-to-mobility-work-stock', source)),
    ).toBeDefined();
  });

  it('scheduler: a poller stuck in a vendor 5xx burst never delays another: the UpKeep parts poller runs while the MachineMetrics pollers are still failing', async () => {
    const mm = sandbox.simulators.machinemetrics?.url ?? '';
    await fetch(`${mm}/_sandbox/faults`, { method: 'DELETE' });
    // The next downtime reports (one per MachineMetrics poller) hang past the clients' 800 ms
    // timeout: each MachineMetrics poller is stuck for at least 800 ms, then retries.
    await postJson(`${mm}/_sandbox/faults`, {
      match: 'POST /reports/downtime',
      status: 500,
      delayMs: 3_000,
      times: MM_FLOWS.length,
    });
    sandbox.clock.advance(10 * 60_000);
    const parts = sandbox.flows.get('upkeep-part-low-to-mobility-work-stock');
    const key = pollStateKey(
      'upkeep-part-low-to-mobility-work-stock',
      parts?.pollers[0]?.trigger.source.id ?? '',
    );
    const before = (await sandbox.state.loadPollState(key))?.version ?? 0;

    let tickDone = false;
    const tick = sandbox
      .tick()
      .catch((e: unknown) => e)
      .finally(() => {
        tickDone = true;
      });
    // Wait for the UpKeep parts poller to save its new watermark (an event, polled for).
    const started = Date.now();
    while (((await sandbox.state.loadPollState(key))?.version ?? 0) === before) {
      // Behind three stuck pollers it would take at least 3 x 800 ms.
      if (Date.now() - started > 1_500) throw new Error('the UpKeep parts poller waited for the others');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // It ran while the MachineMetrics pollers were still stuck, not after them.
    expect(tickDone).toBe(false);
    // They got through on retry: nothing failed.
    expect(await tick).not.toBeInstanceOf(Error);
    await fetch(`${mm}/_sandbox/faults`, { method: 'DELETE' });
  }, 30_000);
});
