import { describe, expect, it } from '@jest/globals';
import {
  conclusion,
  configSchema,
  summary,
} from '../../../functions/flows/deepomatic-validation-to-upkeep-work-order.ts';

const wo = (over: Record<string, unknown> = {}) => ({
  id: 'dm-1',
  name: 'upkeep-WO1',
  cmms: 'upkeep',
  cmmsWorkOrderId: 'WO1',
  progressScore: 100,
  reviewDate: null as string | null,
  updateDate: '2026-11-02T08:00:00Z',
  tasks: [
    { name: 'equipment_after_intervention', state: true as unknown },
    { name: 'nameplate_visible', state: true as unknown },
  ],
  metadata: {},
  ...over,
});
const config = (over: Record<string, unknown> = {}) => configSchema.parse({ completion: over });

describe('Deepomatic completion rules', () => {
  it('waits for the progress threshold', () => {
    expect(conclusion(config(), wo({ progressScore: 60 }))).toEqual({
      done: false,
      why: 'progress 60% < 100%',
    });
    expect(conclusion(config({ progressAtLeast: 50 }), wo({ progressScore: 60 }))).toEqual({
      done: true,
      outcome: 'passed',
    });
  });

  it('waits for the back-office review when required', () => {
    expect(conclusion(config({ requireReview: true }), wo())).toEqual({
      done: false,
      why: 'awaiting back-office review',
    });
    expect(conclusion(config({ requireReview: true }), wo({ reviewDate: '2026-11-02T09:00:00Z' }))).toEqual({
      done: true,
      outcome: 'passed',
    });
  });

  it('fails when a checkpoint failed, and only required checkpoints count when listed', () => {
    const failing = wo({
      tasks: [
        { name: 'equipment_after_intervention', state: true },
        { name: 'nameplate_visible', state: false },
      ],
    });
    expect(conclusion(config(), failing)).toEqual({ done: true, outcome: 'failed' });
    expect(conclusion(config({ requiredTasks: ['equipment_after_intervention'] }), failing)).toEqual({
      done: true,
      outcome: 'passed',
    });
  });

  it('is not done while checkpoints are unanalysed, even at 100%', () => {
    const pending = wo({ tasks: [{ name: 'equipment_after_intervention', state: null }] });
    expect(conclusion(config(), pending)).toEqual({ done: false, why: 'checkpoints not analysed yet' });
  });

  it('summarises the result for the UpKeep note', () => {
    const text = summary(wo({ reviewDate: '2026-11-02T09:00:00Z' }), 'passed');
    expect(text).toContain('PASSED');
    expect(text).toContain('nameplate_visible: true');
    expect(text).toContain('reviewed 2026-11-02T09:00:00Z');
  });
});
