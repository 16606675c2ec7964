/**
 * What a flow connects, for people (the console's source -> flow -> target diagram). Flows declare
 * every vendor they use (`vendors`) and their triggers, but not which vendors they write to, so that
 * is derived: a flow's first trigger reads its source vendor, and every other declared vendor is a
 * target. Triggers from a target vendor (e.g. UpKeep's webhooks about the work order a downtime flow
 * made) are feedback: they let the flow see its own writes come back (echoes) and follow the record,
 * they are not where its events start.
 */
import type { AnyFlow } from '../functions/core/flow.ts';

export interface FlowSource {
  vendor: string;
  kind: 'webhook' | 'poll';
  /** The poll source's id (polls only). */
  sourceId?: string;
}

export interface FlowEnds {
  /** Where its events start: the triggers of its source vendor(s). */
  sources: FlowSource[];
  /** The vendors it writes to. */
  targets: string[];
  /** Triggers from a target vendor (its own writes coming back, the target record's changes). */
  feedback: FlowSource[];
}

export function flowEnds(flow: AnyFlow): FlowEnds {
  const triggers: FlowSource[] = flow.triggers.map((t) =>
    t.kind === 'webhook'
      ? { vendor: t.receiver.vendor, kind: 'webhook' }
      : { vendor: t.source.vendor, kind: 'poll', sourceId: t.source.id },
  );
  const source = triggers[0]?.vendor;
  const targets: string[] = flow.vendors.filter((v) => v !== source);
  return {
    sources: triggers.filter((t) => !targets.includes(t.vendor)),
    targets,
    feedback: triggers.filter((t) => targets.includes(t.vendor)),
  };
}
