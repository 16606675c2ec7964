/**
 * Texts we write into vendor records are cut to the vendor's limit without splitting a character:
 * a machine or part name with emoji (two UTF-16 code units each) cut between the halves leaves a
 * lone surrogate, which is no character at all, and a strict JSON parser refuses the whole body.
 */
import { describe, expect, it } from '@jest/globals';
import {
  type Episode as TaskEpisode,
  type TaskFlowConfig,
  taskDescription,
} from '../../../functions/flows/machinemetrics-downtime-to-mobility-work-task.ts';
import {
  type DowntimeFlowConfig,
  type Episode as OrderEpisode,
  workOrderTitle,
} from '../../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { clip } from '../../../functions/flows/shared/format.ts';

const wellFormed = (s: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('texts cut to a vendor limit keep whole characters', () => {
  it('an UpKeep work-order title whose 250th code unit is the first half of an emoji ends before the emoji', () => {
    const prefix = 'Downtime';
    // `Downtime: ` is 10 units; 239 more puts the emoji's first half at unit 250.
    const machineName = `${'M'.repeat(239)}🔧 Presse à injection 注塑机`;
    const title = workOrderTitle(
      { workOrder: { titlePrefix: prefix } } as DowntimeFlowConfig,
      {
        machineName,
        reasonName: 'Bourrage',
      } as OrderEpisode,
    );
    expect(title.length).toBeLessThanOrEqual(250);
    expect(wellFormed(title)).toBe(true);
    expect(title).toBe(`Downtime: ${'M'.repeat(239)}`);
  });

  it('a Mobility Work task description (3..3000 characters) cut inside an emoji run stays well formed', () => {
    const description = taskDescription(
      { task: { descriptionPrefix: 'Arrêt' } } as TaskFlowConfig,
      {
        machineName: `xy${'🏭'.repeat(2000)}`,
        reasonName: 'انسداد',
        machineId: '007',
        startedAt: '2026-11-02T08:00:00.000Z',
      } as TaskEpisode,
    );
    expect(description.length).toBeLessThanOrEqual(3000);
    expect(wellFormed(description)).toBe(true);
  });

  it('clip keeps text within the limit as is, and never ends on a high surrogate', () => {
    expect(clip('Ünïcødé 日本', 10)).toBe('Ünïcødé 日本');
    expect(clip('ab😀c', 3)).toBe('ab');
    expect(clip('ab😀c', 4)).toBe('ab😀');
    expect(clip('😀😀', 1)).toBe('');
  });
});
