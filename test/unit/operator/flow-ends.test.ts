/** flowEnds: every registered flow's source, targets and feedback triggers, as its id names them. */
import { describe, expect, it } from '@jest/globals';
import { flows } from '../../../functions/flows/index.ts';
import { flowEnds } from '../../../operator/flow-ends.ts';

const byId = (id: string) => {
  const flow = flows.find((f) => f.id === id);
  if (!flow) throw new Error(`no flow ${id}`);
  return flowEnds(flow);
};

describe('flowEnds', () => {
  it('names the source and the target of every flow as its id says (<source>-...-to-<target>-...)', () => {
    for (const flow of flows) {
      const ends = flowEnds(flow);
      const [from, to] = flow.id.split('-to-') as [string, string];
      expect([flow.id, from.startsWith(ends.sources[0]?.vendor ?? '?')]).toEqual([flow.id, true]);
      expect([flow.id, ends.targets.length]).toEqual([flow.id, 1]);
      expect([flow.id, to.startsWith(ends.targets[0] ?? '?')]).toEqual([flow.id, true]);
    }
  });

  it("keeps a target's webhooks apart as feedback, not as a source", () => {
    expect(byId('machinemetrics-downtime-to-upkeep-work-order')).toEqual({
      sources: [
        { vendor: 'machinemetrics', kind: 'poll', sourceId: 'machinemetrics.downtime' },
        { vendor: 'machinemetrics', kind: 'webhook' },
      ],
      targets: ['upkeep'],
      feedback: [{ vendor: 'upkeep', kind: 'webhook' }],
    });
    expect(byId('mobility-work-stock-alert-to-upkeep')).toEqual({
      sources: [{ vendor: 'mobility-work', kind: 'webhook' }],
      targets: ['upkeep'],
      feedback: [],
    });
  });
});
