/** pause/resume: the flag and the platform switch in the order that never leaves a flow half resumed. */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { FlowControl } from '../../../functions/core/state.ts';
import { selectParked } from '../../../operator/parked.ts';
import { FlowSwitchError, pauseFlow, resumeFlow } from '../../../operator/pause.ts';
import type { Target } from '../../../operator/target.ts';

const sqsMock = mockClient(SQSClient);
const FLOW = 'f';

function fakeTarget(steps: string[], options: { failSwitch?: boolean } = {}) {
  let control: FlowControl | undefined;
  return {
    kind: 'stack',
    sqs: new SQSClient({ region: 'eu-west-1' }),
    flows: new Map([[FLOW, { flow: { id: FLOW }, queueUrl: 'q', dlqUrl: 'dlq' }]]),
    state: {
      getFlowControl: async () => control,
      setFlowControl: async (_: string, c: FlowControl) => {
        steps.push(`flag ${c.paused}`);
        control = c;
      },
    },
    switches: {
      set: async (_: unknown, paused: boolean) => {
        if (options.failSwitch) throw new Error('AccessDenied');
        steps.push(`switch ${paused}`);
        return [`event source mapping ${paused ? 'disabled' : 'enabled'}`];
      },
    },
  } as unknown as Target;
}

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(GetQueueAttributesCommand).resolves({
    Attributes: {
      ApproximateNumberOfMessages: '4',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '2',
    },
  });
});

describe('pauseFlow / resumeFlow', () => {
  it('pauses flag first, resumes platform first, and counts what waits on the queue', async () => {
    const steps: string[] = [];
    const target = fakeTarget(steps);
    const paused = await pauseFlow(target, FLOW, { by: 'ana', now: () => new Date('2026-11-02T08:00:00Z') });
    expect(paused).toMatchObject({ flowId: FLOW, paused: true, queued: 7 });
    expect(paused.lines).toContain('event source mapping disabled');
    const again = await pauseFlow(target, FLOW);
    expect(again.lines[0]).toBe('already paused since 2026-11-02T08:00:00.000Z by ana');
    const resumed = await resumeFlow(target, FLOW);
    expect(resumed).toMatchObject({ paused: false, queued: 7 });
    expect(steps).toEqual([
      'flag true',
      'switch true',
      'flag true',
      'switch true',
      'switch false',
      'flag false',
    ]);
  });

  it('a failed platform switch is an error; a failed resume leaves the flag paused', async () => {
    const steps: string[] = [];
    const target = fakeTarget(steps, { failSwitch: true });
    await expect(pauseFlow(target, FLOW)).rejects.toThrow(FlowSwitchError);
    expect(steps).toEqual(['flag true']);
    await expect(resumeFlow(target, FLOW)).rejects.toThrow(/resume failed: .*AccessDenied/);
    expect(steps).toEqual(['flag true']);
  });

  it('names the enabled flows for an unknown one', async () => {
    await expect(pauseFlow(fakeTarget([]), 'nope')).rejects.toThrow(/enabled flows: f/);
  });
});

describe('selectParked', () => {
  const parked = [
    { id: 'k1', eventId: 'e1' },
    { id: 'k2', eventId: 'e2' },
  ] as never[];
  it('matches parked ids and event ids, and reports the rest', () => {
    expect(selectParked(parked, ['k1', 'e2', 'x'])).toEqual({ selected: parked, notFound: ['x'] });
    expect(() => selectParked(parked, [])).toThrow(/name the parked events/);
  });
});
