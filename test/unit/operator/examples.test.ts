/**
 * The connectors' example events (`examples` in each manifest, operator/examples.ts): each is a valid
 * FlowEvent whose data parses with its type's schema, and every event type a flow handles has one.
 */
import { describe, expect, it } from '@jest/globals';
import { connectors } from '../../../functions/connectors/index.ts';
import { parseEventData } from '../../../functions/core/events.ts';
import { flowEventSchema } from '../../../functions/core/flow.ts';
import { flows } from '../../../functions/flows/index.ts';
import { allExamples, findExample, listExamples } from '../../../operator/examples.ts';
import { UnknownFlowError } from '../../../operator/target.ts';

describe('example events', () => {
  it.each(allExamples().map((e) => [`${e.connector}/${e.name}`, e] as const))(
    '%s is a flow event of its connector whose data parses with its type',
    (_label, { connector, name, event }) => {
      expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(flowEventSchema.safeParse(event).success).toBe(true);
      const definition = connectors.find((c) => c.id === connector)?.events[event.type as never] as
        | { schema: Parameters<typeof parseEventData>[0] }
        | undefined;
      expect(definition).toBeDefined();
      expect(() => parseEventData(definition?.schema as never, event)).not.toThrow();
    },
  );

  it.each(flows.map((f) => [f.id, f] as const))(
    '%s: every event type it handles has an example',
    (id, flow) => {
      const examples = listExamples(id);
      const covered = new Set(examples.map((e) => e.event.type));
      expect(flow.handles.filter((type) => !covered.has(type))).toEqual([]);
      // Names are how --example finds them: unique among one flow's examples.
      const names = examples.map((e) => e.name);
      expect(new Set(names).size).toBe(names.length);
      expect(examples.every((e) => flow.handles.includes(e.event.type))).toBe(true);
    },
  );

  it("finds an example by name or connector/name, only among the flow's own", () => {
    const flow = 'machinemetrics-downtime-to-upkeep-work-order';
    expect(findExample(flow, 'downtime-started')?.event.type).toBe('machinemetrics.downtime.started');
    expect(findExample(flow, 'upkeep/work-order-status-updated')?.connector).toBe('upkeep');
    expect(findExample(flow, 'spare-part-restocked')).toBeUndefined();
    expect(() => listExamples('no-such-flow')).toThrow(UnknownFlowError);
  });
});
