/**
 * The sandbox scheduler plays EventBridge Scheduler: every poller runs on each tick, as each is its
 * own Lambda in AWS. One vendor's outage fails its own pollers, named in the log, and no other.
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
    expect([...(error as PollTickError).failed].map((f) => f.split(' ')[0]).sort()).toEqual(
      [...MM_FLOWS].sort(),
    );
    for (const flowId of MM_FLOWS) {
      expect(
        log.lines.some((l) => l.level === 'error' && l.message.startsWith(`scheduler: poll of ${flowId} (`)),
      ).toBe(true);
    }
    // The UpKeep parts poller ran in the same tick: its watermark was saved.
    const parts = sandbox.flows.get('upkeep-part-low-to-mobility-work-stock');
    const source = parts?.pollers[0]?.trigger.source.id ?? '';
    expect(
      await sandbox.state.loadPollState(pollStateKey('upkeep-part-low-to-mobility-work-stock', source)),
    ).toBeDefined();
  });
});
