/** UpKeep work-order echoes are credited to the flow that made the write, and only to it. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  rememberWorkOrderWrite,
  UPKEEP_WORK_ORDER_ECHO,
  workOrderEcho,
} from '../../../functions/flows/shared/echo.ts';
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

  it('recognises the echo when UpKeep writes the same instant differently (no millis, an offset, no zone): the ingress reads it as ISO with millis', async () => {
    const state = t.store();
    const writer = { flowId: 'flow-that-wrote', state };
    // The PATCH answer names the version one way ...
    await rememberWorkOrderWrite(writer, { id: 'WO-2', updatedAt: '2026-11-02T09:00:00Z' });
    await rememberWorkOrderWrite(writer, { id: 'WO-3', updatedAt: '2026-11-02T10:00:00.250+00:00' });
    await rememberWorkOrderWrite(writer, { id: 'WO-4', updatedAt: '2026-11-02T11:00:00.500' });
    // ... the webhook body (normalised by the ingress) or the re-read names it another.
    for (const [id, updatedAt] of [
      ['WO-2', '2026-11-02T09:00:00.000Z'],
      ['WO-3', '2026-11-02T10:00:00.250Z'],
      ['WO-4', '2026-11-02T11:00:00.500Z'],
    ] as const) {
      expect(await workOrderEcho(writer, { id, updatedAt })).toMatchObject({ outcome: 'echo' });
      expect(await state.ownWriteBy(UPKEEP_WORK_ORDER_ECHO, id, updatedAt)).toBe('flow-that-wrote');
    }
    // A person's edit a millisecond later is still not ours.
    expect(
      await workOrderEcho(writer, { id: 'WO-2', updatedAt: '2026-11-02T09:00:00.001Z' }),
    ).toBeUndefined();
  });
});
