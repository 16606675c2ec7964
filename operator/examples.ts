/**
 * The example events connectors ship (`examples` in each manifest), for `millwright test-event
 * --example NAME` and for listing what a flow can be tried with.
 */
import { connectors } from '../functions/connectors/index.ts';
import type { FlowEvent } from '../functions/core/flow.ts';
import { flows } from '../functions/flows/index.ts';
import { UnknownFlowError } from './target.ts';

export interface ExampleEvent {
  /** The short name (`downtime-started`): unique within a connector and among a flow's examples. */
  name: string;
  connector: string;
  /** What the event type means (its catalogue description). */
  description: string;
  event: FlowEvent;
}

/** Every example of every connector, in registry order. */
export function allExamples(): ExampleEvent[] {
  return connectors.flatMap((c) =>
    Object.entries(c.examples ?? {}).map(([name, event]) => ({
      name,
      connector: c.id,
      description: (c.events as Record<string, { description: string }>)[event.type]?.description ?? '',
      event,
    })),
  );
}

/** The examples whose event type the flow handles (all examples without a flow). */
export function listExamples(flowId?: string): ExampleEvent[] {
  const all = allExamples();
  if (flowId === undefined) return all;
  const flow = flows.find((f) => f.id === flowId);
  if (!flow)
    throw new UnknownFlowError(
      flowId,
      flows.map((f) => f.id),
    );
  return all.filter((example) => flow.handles.includes(example.event.type));
}

/** A flow's example by `name`, or by `connector/name`; undefined when there is none. */
export function findExample(flowId: string, name: string): ExampleEvent | undefined {
  return listExamples(flowId).find((e) => e.name === name || `${e.connector}/${e.name}` === name);
}
