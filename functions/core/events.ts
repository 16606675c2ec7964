/**
 * The typed event catalogue. Each connector declares the event types it emits (webhook and poll
 * events alike) with the schema of their `data`; a flow declares a handler per event type and gets
 * the data already parsed and typed. The runtime parses once, here; an event type with no handler
 * is an explicit, logged path (octokit/webhooks' `on(name, handler)` is the model).
 *
 * Catalogues travel with what emits them (a webhook receiver's or a poll source's `events`), so a
 * flow's worker bundle carries the schemas of its own triggers and nothing else.
 */
import type * as z from 'zod/mini';
import { MillwrightError } from './errors.ts';
import type { FlowEvent } from './flow.ts';
import { parseWith } from './schema.ts';

export interface EventDefinition<D = unknown> {
  /** The schema of the event's `data`: the connector's normalised shape, checked before a handler runs. */
  schema: z.ZodMiniType<D>;
  /** What happened, for people (README, operator tools). */
  description: string;
}

/** Event type (`<connector>.<name>`, e.g. `mobility-work.TaskWasStarted`) -> its definition. */
// biome-ignore lint/suspicious/noExplicitAny: a catalogue holds definitions of any data type.
export type EventCatalogue = Readonly<Record<string, EventDefinition<any>>>;

export type DataOf<E> = E extends EventDefinition<infer D> ? D : never;

/** An event whose `data` the runtime has parsed with its type's schema. */
export type TypedEvent<T extends string = string, D = unknown> = Omit<FlowEvent, 'type' | 'data'> & {
  type: T;
  data: D;
};

/** The events of catalogue `E`, one typed event per type (a union: switch on `type` narrows `data`). */
export type EventOf<E, K extends keyof E & string = keyof E & string> = K extends unknown
  ? TypedEvent<K, DataOf<E[K]>>
  : never;

/**
 * A connector's catalogue: names are prefixed with the connector id, so
 * `defineEvents('upkeep', { 'parts.changed': ... })` declares `upkeep.parts.changed`.
 */
export function defineEvents<
  const P extends string,
  const C extends Record<string, EventDefinition<unknown>>,
>(prefix: P, events: C): { readonly [K in keyof C & string as `${P}.${K}`]: C[K] } {
  return Object.fromEntries(Object.entries(events).map(([name, def]) => [`${prefix}.${name}`, def])) as {
    readonly [K in keyof C & string as `${P}.${K}`]: C[K];
  };
}

/** An event's data does not match its type's schema (a producer bug or a hand-edited replay). */
export class InvalidEventError extends MillwrightError {
  constructor(type: string, field: string, message: string, options: { cause?: unknown } = {}) {
    super(`event ${type}: invalid data at ${field}: ${message}`, options);
  }
}

/** Parse an event's data with a schema; a mismatch is an InvalidEventError naming the field. */
export function parseEventData<S extends z.ZodMiniType>(
  schema: S,
  event: Pick<FlowEvent, 'type' | 'data'>,
): z.infer<S> {
  return parseWith(
    schema,
    event.data,
    (p, cause) => new InvalidEventError(event.type, p.path, p.message, { cause }),
  );
}
