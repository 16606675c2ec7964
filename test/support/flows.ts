/**
 * Test flows that handle event types of their own: a trigger whose catalogue declares them with any
 * data, and one handler for each (flows declare handlers per event type; see core/events.ts).
 */
import * as z from 'zod/mini';
import type { EventDefinition } from '../../functions/core/events.ts';
import type { EventHandler, FlowEvent, Trigger } from '../../functions/core/flow.ts';

const anyData = z.record(z.string(), z.unknown());

/** A catalogue of `types`, each with any data. */
export const anyEvents = (types: readonly string[]): AnyEvents =>
  Object.fromEntries(types.map((type) => [type, { schema: anyData, description: `test event ${type}` }]));
type AnyEvents = Record<string, EventDefinition<Record<string, unknown>>>;

/** A webhook trigger emitting `types` (never routed: test flows are not deployed). */
// biome-ignore lint/suspicious/noExplicitAny: test flows have any config.
export function testTrigger(types: readonly string[] = ['test.event']): Trigger<any, AnyEvents> {
  return {
    kind: 'webhook',
    receiver: {
      vendor: 'test',
      route: 'POST /webhooks/test',
      events: anyEvents(types),
      async verify() {},
      parse: () => ({ events: [], ignored: [] }),
    },
  };
}

/** The same handler for each of `types`. */
// biome-ignore lint/suspicious/noExplicitAny: test flows have any config and deps.
export const onEach = <C = any, D = any>(
  types: readonly string[],
  handler: EventHandler<FlowEvent, C, D>,
): Record<string, EventHandler<FlowEvent, C, D>> => Object.fromEntries(types.map((type) => [type, handler]));
