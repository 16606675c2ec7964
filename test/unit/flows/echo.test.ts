/** UpKeep work-order echoes are credited to the flow that made the write, and only to it. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rememberWorkOrderWrite, workOrderEcho } from '../../../functions/flows/shared/echo.ts';
import { startTestState, type TestState } from '../../support/state.ts';

let t: TestState;
beforeAll(async () => {
  t = await startTestState();
});
afterAll(() => t.close());

describe('work-order echoes', () => {
  it('is an echo for the flow that wrote, a skip naming the writer for the others, nothing for a person', async () => {
    const state = t.store();
    const writer = { flowId: 'flow-that-wrote', state };
    const watcher = { flowId: 'flow-that-watches', state };
    const wo = { id: 'WO-1', updatedAt: '2026-11-02T09:00:00.000Z' };
    await rememberWorkOrderWrite(writer, wo);

    expect(await workOrderEcho(writer, wo)).toEqual({
      outcome: 'echo',
      message: "work order WO-1 changed by this flow's own write; not forwarded",
    });
    expect(await workOrderEcho(watcher, wo)).toEqual({
      outcome: 'skipped',
      message:
        'work order WO-1 was changed by Millwright (flow flow-that-wrote), not by a person; nothing to do',
    });
    // A later change (a person editing it) is not ours.
    expect(await workOrderEcho(watcher, { ...wo, updatedAt: '2026-11-02T09:05:00.000Z' })).toBeUndefined();
  });
});
