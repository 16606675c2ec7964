/**
 * Parked events at plant scale on the sandbox's DynamoDB engine: a Query page stops at 1 MB, so a
 * flow's parked events with large bodies (a parts batch near the SQS size limit) span several pages;
 * every one must be listed and replayable, none hidden past the first page.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { listParked, replayParked } from '../../operator/parked.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Target } from '../../operator/target.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { startTestSandbox } from '../support/sandbox.ts';

let sandbox: Sandbox;
let target: Target;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  target = sandboxTarget(sandbox);
});
afterAll(async () => {
  target?.close();
  await sandbox?.close();
});

describe('parked events over more than one DynamoDB page', () => {
  it('lists all twelve 120 KB parked events and replays the oldest', async () => {
    const at = sandbox.clock.now().getTime();
    for (let i = 0; i < 12; i++) {
      const eventId = `big-${i}`;
      await sandbox.state.parkEvent({
        flowId: FLOW_ID,
        eventId,
        eventType: 'machinemetrics.downtime.started',
        reason: 'unanswered create',
        check: 'look in UpKeep',
        body: JSON.stringify({ id: eventId, pad: 'x'.repeat(120_000) }),
        at: new Date(at + i * 1000).toISOString(),
      });
    }
    const listed = (await listParked(target, FLOW_ID)).map((p) => p.eventId);
    expect([...listed].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `big-${i}`).sort());
    // The oldest is the last one a newest-first first page would reach.
    const replay = await replayParked(target, FLOW_ID, ['big-0'], { dryRun: true });
    expect(replay).toMatchObject({ selected: 1, notFound: [] });
  });
});
