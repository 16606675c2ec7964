/**
 * The contracts every connector, flow and runtime handler shares. A flow is one file that calls
 * `defineFlow`; the registry (functions/flows/registry.ts) is the single list the CDK stack and the
 * sandbox both read.
 */
import * as z from 'zod/mini';
import type { ConnectorId } from '../connectors/index.ts';
import { type DataOf, type EventCatalogue, parseEventData, type TypedEvent } from './events.ts';
import { MAX_EVENT_ID_BYTES, MAX_EVENT_NAME_BYTES, utf8Bytes } from './limits.ts';
import type { Log } from './log.ts';
import type { RecordProblem } from './records.ts';
import { lazySchema } from './schema.ts';
import type { SecretSource } from './secrets.ts';
import type { StateStore } from './state.ts';

/** A connector's id: derived from the connector registry (functions/connectors/registry.ts). */
export type VendorId = ConnectorId;

/** A string within `maxBytes` of UTF-8: the id parts of an event end up in DynamoDB keys. */
const withinBytes = (maxBytes: number) =>
  z.refine<string>((s) => utf8Bytes(s) <= maxBytes, `must be at most ${maxBytes} bytes`);
const boundedString = (maxBytes: number) => z.string().check(z.minLength(1), withinBytes(maxBytes));

/**
 * The one event shape on every queue. `id` is the source event identity, the dedup key end to end.
 * Its identifiers are bounded (core/limits.ts) so every key derived from them fits DynamoDB's limits.
 */
export const flowEventSchema = lazySchema(() =>
  z.object({
    id: boundedString(MAX_EVENT_ID_BYTES),
    /** e.g. `machinemetrics.downtime.started`, `upkeep.WORK_ORDER_STATUS_UPDATED`. */
    type: boundedString(MAX_EVENT_NAME_BYTES),
    /** Where it entered: `machinemetrics.poll`, `machinemetrics.webhook`, `upkeep.webhook`, `replay`. */
    source: z.string().check(z.maxLength(MAX_EVENT_NAME_BYTES)),
    occurredAt: z.string().check(z.maxLength(64)),
    /** The entity it is about (machine UUID, work order id), for logs and ordering. */
    subject: z.optional(z.string().check(withinBytes(MAX_EVENT_ID_BYTES))),
    data: z.record(z.string(), z.unknown()),
  }),
);
export type FlowEvent = z.infer<typeof flowEventSchema>;

/** What every factory gets: vendor settings, secrets, state, a logger and a clock. */
export interface RuntimeEnv {
  /** Vendor settings from the deployment config (base URLs, secret names; never secret values). */
  vendors: Partial<Record<VendorId, unknown>>;
  secrets: SecretSource;
  state: StateStore;
  log: Log;
  now: () => Date;
  /**
   * The fetch a connector's client sends its vendor requests with (absent: the global fetch). The
   * operator's dry run (`millwright test-event --dry-run`) passes one that records writes instead
   * of sending them; nothing else sets it.
   */
  transport?: (vendor: VendorId) => typeof fetch;
}

// ---------------------------------------------------------------------------------------------
// Poll sources (connector side): a watermark-driven reader that turns vendor reads into events.

/**
 * A vendor record a poll source could not parse. It is skipped so that the others go on (one bad
 * record never stalls a poller): the runtime logs it (WARN), writes a run-log entry for it and counts
 * it, and the step's state moves past it as past a handled record (never past unread ones).
 */
export interface SkippedRecord extends RecordProblem {
  /** What the record is, for people: `UpKeep part`, `Deepomatic work order`. */
  kind: string;
  /** What happens to it now, e.g. `read again when it next changes in UpKeep`. */
  next?: string;
  /**
   * Not one record but a stretch of the vendor's data the poll did not read (e.g. windows beyond a
   * catch-up cap): it concerns every flow the poll feeds, and only a person can mend it, by
   * backfilling `from`..`to`. The runtime raises the flow's needs-attention alarm for it.
   */
  gap?: { from: string; to: string };
}

export interface PollStep<S> {
  /** Events this step covers. The runtime enqueues all of them before it saves `state`. */
  events: FlowEvent[];
  /** State after this step (watermark, per-entity state); saved only after `events` are enqueued. */
  state: S;
  /** One line for the log/run log, e.g. `window 10:05-10:10: 1 event`. */
  summary: string;
  /** Records this step read but could not parse; reported (like `events`) before `state` is saved. */
  skipped?: SkippedRecord[];
}

export interface PollInput<O, S, D> {
  state: S | undefined;
  options: O;
  now: Date;
  deps: D;
  log: Log;
}

/** How a poll source's state splits into a cursor document and independently stored entries. */
export interface PollStateSharding<S> {
  split(state: S): { cursor: Record<string, unknown>; entries: Record<string, unknown> };
  /** The state again (validated by the source's `stateSchema` afterwards). */
  join(cursor: Record<string, unknown>, entries: Record<string, unknown>): unknown;
}

/** How flows share one poll of a source (runtime/shared-poll.ts). */
export interface PollSharing<O, S> {
  /**
   * The options that must match for flows to share a poll, as a stable string (e.g. the detector's
   * minimum minutes: a flow's events depend on it); undefined: this trigger polls on its own.
   */
  key(options: O): string | undefined;
  /** The shared poll's options, from its members' (all with the same key). */
  merge(options: readonly O[]): O;
  /**
   * Which of the shared poll's events (by `subject`) and skipped records (by `record`) a member with
   * these options receives.
   */
  accepts(options: O): (subject: string | undefined) => boolean;
  /**
   * First shared run: one state from the members' own earlier states, all at the same watermark
   * (the runtime first catches the others up to the latest one with `catchUpNow`).
   */
  mergeStates(states: readonly S[]): S;
  /** Where a state's watermark stands (ms), to order the members' earlier states. */
  watermark(state: S): number;
  /** The `now` at which a poll from an earlier state stops exactly at `target`'s watermark. */
  catchUpNow(target: S, options: O): Date;
}

// biome-ignore lint/suspicious/noExplicitAny: a poll source's events may be of any data type.
export interface PollSource<O, S, D, E extends EventCatalogue = any> {
  id: string;
  /** Its connector's id (a string here: connector manifests hold poll sources, VendorId derives from them). */
  vendor: string;
  /** The event types it emits (part of its connector's catalogue). */
  events: E;
  /** Validates stored state on load, so a corrupt item fails loudly instead of resetting. */
  stateSchema: z.ZodMiniType<S>;
  /**
   * Store the state as a small cursor item plus one item per entry (runtime/poll-state.ts) instead of
   * one item, so it stays far below DynamoDB's 400 KB item limit however many entities it tracks.
   */
  sharding?: PollStateSharding<S>;
  /**
   * Flows whose triggers of this source agree on `key` share one poll (runtime/shared-poll.ts): one
   * vendor read per step, each step's events enqueued to every member flow it concerns. Absent: one
   * poll per flow.
   */
  sharing?: PollSharing<O, S>;
  /** Creates the clients the source reads with (once per container). */
  connect(env: RuntimeEnv): D;
  /** Yields one step per evaluated window; must be deterministic for a given state and vendor data. */
  poll(input: PollInput<O, S, D>): AsyncIterable<PollStep<S>>;
  /**
   * Re-reads the past window [from, to] of the vendor's data (`millwright backfill`) and yields its
   * events, to be enqueued again. It must:
   * - never read or write the live poll state (watermark, per-entity state): it starts from nothing
   *   and keeps whatever it needs in memory, so the live poll goes on exactly as before;
   * - be deterministic for the same vendor data, and give the events the live poll gave (or would
   *   have given) for that data the same ids, so the flows' claims absorb what was already done. A
   *   source that cannot give the same ids (e.g. its events batch records by poll run) may still
   *   backfill if its flows absorb repeats per record version; `backfillNote` must then say so;
   * - not yield events from outside the window (what it reads before `from` to rebuild its state is
   *   not emitted).
   */
  backfill?(input: BackfillInput<O, D>): AsyncIterable<BackfillStep>;
  /**
   * For people (`millwright backfill --help`, the README): why this source cannot backfill, or what
   * its backfill does not cover when it can (shown with its results).
   */
  backfillNote?: string;
}

export interface BackfillInput<O, D> {
  /** Window start (inclusive) and end (inclusive); the caller checks from < to <= now. */
  from: Date;
  to: Date;
  options: O;
  deps: D;
  log: Log;
  now: Date;
  /** How far before `from` a source that rebuilds state may read (default: the source's own). */
  lookbackMinutes?: number;
}

export interface BackfillStep {
  events: FlowEvent[];
  /** One line for the operator, e.g. `window ending 10:05: 1 event`. */
  summary: string;
  /** Records read but not parsed (reported like the live poll's). */
  skipped?: SkippedRecord[];
  /** How far the backfill is, when the source knows (e.g. windows evaluated of all). */
  progress?: { done: number; total: number };
  /**
   * How a backfill of the same `to` picks up after this step (e.g. from the window's end, with the
   * warm-up that rebuilds the state this run had there), so a run that stops later can say so;
   * undefined when the source cannot tell.
   */
  resume?: { from: Date; lookbackMinutes?: number };
}

// ---------------------------------------------------------------------------------------------
// Webhook receivers (connector side): verify over the raw body, then parse, then normalise.

export interface WebhookRequest {
  /** Raw body exactly as received (base64-decoded if the gateway encoded it). */
  rawBody: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  pathParameters: Record<string, string>;
  query: Record<string, string>;
  receivedAt: Date;
}

/** A verified delivery's replay protection, left to the ingress's delivery mark (see `verify`). */
export interface ReplayGuard {
  /** The signature's nonce (lower-cased). */
  nonce: string;
  /** The raw body's fingerprint (core/digest.ts). */
  fingerprint: string;
  /**
   * Signed outside the tolerance: accepted only as an exact redelivery of a delivery already
   * marked (same fingerprint); otherwise refused 401 with this message.
   */
  late?: string;
}

export interface WebhookVerifyContext {
  env: RuntimeEnv;
}

export interface WebhookParseContext extends WebhookVerifyContext {
  /**
   * Whether any flow subscribes to an event type. An event none does is acknowledged unread, so a
   * body the receiver cannot fully read is no reason to refuse it (a 4xx makes the vendor retry, and
   * may get the whole webhook disabled).
   */
  subscribed?: (type: string) => boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: a receiver's events may be of any data type.
export interface WebhookReceiver<E extends EventCatalogue = any> {
  /** Its connector's id (a string here: connector manifests hold receivers, VendorId derives from them). */
  vendor: string;
  /** The event types it emits (its connector's webhook events). */
  events: E;
  /** API route key, e.g. `POST /webhooks/upkeep/{token}`. One per vendor. */
  route: string;
  /**
   * Throws WebhookError(401) unless the request is authentic. Runs before any JSON parsing. A
   * receiver with `dedupeSeconds` may return its replay guard instead of writing a nonce item: the
   * ingress keeps it on the delivery mark (one item, one write per delivery).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: receivers that guard nothing keep returning Promise<void>.
  verify(req: WebhookRequest, ctx: WebhookVerifyContext): Promise<void | ReplayGuard>;
  /**
   * Parses and normalises; throws WebhookError(400) on malformed input. Unknown event names give
   * `ignored` entries (acknowledged and logged), not errors.
   */
  parse(req: WebhookRequest, ctx?: WebhookParseContext): { events: FlowEvent[]; ignored: string[] };
  /**
   * Called when a verified request could not be accepted (e.g. enqueueing failed and we answer
   * 503): undo replay-protection state so the vendor's retry of the same delivery is accepted.
   */
  release?(req: WebhookRequest, ctx: WebhookVerifyContext): Promise<void>;
  /** HTTP status of a successful acknowledgement (default 202). Mobility Work accepts only 200. */
  ackStatus?: number;
  /**
   * Drop events whose id was already acknowledged within this many seconds (vendors that resend a
   * delivery with the same idempotency key). One conditional write per event, before enqueueing
   * (undone when enqueueing fails); a redelivery whose mark is older than the ingress could have
   * run and that no worker has recorded is enqueued again, so a crash between mark and send can
   * duplicate (flows are idempotent) but never lose an event (runtime/ingress.ts).
   */
  dedupeSeconds?: number;
  /**
   * The writer (a flow id, or a label) when the event is provably the echo of a write Millwright
   * made, so that no flow it would reach would do anything with it (invariant 3): the ingress then
   * acknowledges it without enqueueing it. Undefined when it cannot tell: the flows' own checks run.
   */
  ownWrite?(event: FlowEvent, ctx: WebhookVerifyContext): Promise<string | undefined>;
  /**
   * Which of its events are deduplicated (default: all). A vendor whose ids are not always
   * idempotency keys (UpKeep: only a body with its object's `updatedAt` names one version) leaves the
   * others to the flows, so two real changes with the same body are never merged into one.
   */
  dedupes?: (event: FlowEvent) => boolean;
}

// ---------------------------------------------------------------------------------------------
// Flows.

// biome-ignore lint/suspicious/noExplicitAny: a trigger's events may be of any data type.
export type Trigger<C, E extends EventCatalogue = any> =
  | {
      kind: 'schedule';
      // biome-ignore lint/suspicious/noExplicitAny: a flow may use any poll source; its options are checked where they are built.
      source: PollSource<any, any, any, E>;
      everyMinutes: (config: C) => number;
      options: (config: C) => unknown;
    }
  | { kind: 'webhook'; receiver: WebhookReceiver<E> };

// biome-ignore lint/suspicious/noExplicitAny: the runtime handles schedule triggers of flows of any config.
export type ScheduleTrigger<C = any> = Extract<Trigger<C>, { kind: 'schedule' }>;

/**
 * `duplicate`: this event (or its effect) was already applied. `stale`: the event is older than what
 * the subject's state already reflects (a late or replayed event of a past episode); nothing to do.
 */
export type FlowOutcome = 'done' | 'skipped' | 'duplicate' | 'echo' | 'stale';

export interface FlowResult {
  outcome: FlowOutcome;
  message: string;
  /** Ids of what the flow created or changed, e.g. `{ workOrderId: 'abc' }`, for the run log. */
  effects?: Record<string, string>;
  /**
   * Entities the event touched beyond its `subject` (e.g. each part of a stock event), so that
   * `millwright runs --subject <id>` finds this run too (the first few are indexed).
   */
  subjects?: readonly string[];
}

export interface FlowContext<C, D> {
  flowId: string;
  config: C;
  deps: D;
  state: StateStore;
  log: Log;
  now: () => Date;
  /**
   * How the event came when not live: `replay` (an operator's DLQ replay), `parked-replay` (an
   * operator's replay of a parked event, after checking what its `check` said), `backfill`.
   * A flow that parked an event may act on its parked replay only, never on a redelivery no one
   * checked for (a DLQ replay of another copy of it, a backfill).
   */
  via?: string;
}

/** `via` of an operator's replay of a parked event (`millwright parked replay`). */
export const PARKED_REPLAY_VIA = 'parked-replay';

/**
 * Worker settings a flow may need beyond the deployment defaults, e.g. a flow whose vendor is
 * rate limited takes one message at a time, with few concurrent workers and a longer timeout.
 */
export interface WorkerSettings {
  /** At least `runtime.workerTimeoutSeconds`; the larger of the two is used. */
  timeoutSeconds?: number;
  /** SQS messages per invocation (default 10). */
  batchSize?: number;
  /** Concurrent invocations for this flow's queue (2..1000; default: unbounded). */
  maxConcurrency?: number;
}

export type EventHandler<Ev, C, D> = (event: Ev, ctx: FlowContext<C, D>) => Promise<FlowResult>;

/** One optional handler per event type of catalogue `E`, given that type's parsed data. */
export type Handlers<E, C, D> = {
  [K in keyof E & string]?: EventHandler<TypedEvent<K, DataOf<E[K]>>, C, D>;
};

type CatalogueOf<T> = T extends { receiver: WebhookReceiver<infer E> }
  ? E
  : T extends { source: PollSource<infer _O, infer _S, infer _D, infer E> }
    ? E
    : never;
type Merged<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** The events a flow's triggers emit: the catalogues of its receivers and poll sources, merged. */
export type TriggerEvents<T extends readonly unknown[]> = Merged<CatalogueOf<T[number]>>;

interface FlowBase<C, D> {
  id: string;
  description: string;
  vendors: readonly VendorId[];
  worker?: WorkerSettings;
  config: z.ZodMiniType<C>;
  /**
   * The longest wait (NotReadyError) this flow's config asks for, with the config path that sets
   * it: validateDeployment refuses one the worker would cut short (wait budget, retry horizon).
   */
  longestWait?: (config: C) => { path: string; seconds: number };
  /** Creates clients once per container (module scope in Lambda). */
  setup(env: RuntimeEnv, config: C): D;
}

/** What a flow file writes: its triggers and a handler per event type it acts on. */
export interface FlowSpec<C, D, T extends readonly Trigger<C>[]> extends FlowBase<C, D> {
  triggers: T;
  /**
   * Handlers by event type (`'mobility-work.TaskWasStarted': (event, ctx) => ...`). Only types the
   * triggers emit; each gets its data parsed by its type's schema. Which webhook events reach this
   * flow's queue is derived from these keys.
   */
  on: Handlers<TriggerEvents<T>, C, D>;
}

export interface FlowDefinition<C, D> extends FlowBase<C, D> {
  triggers: readonly Trigger<C>[];
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different event types, checked by FlowSpec.
  on: Readonly<Record<string, EventHandler<TypedEvent<string, any>, C, D>>>;
  /** The event types this flow has a handler for (its webhook routing comes from these). */
  handles: readonly string[];
  /**
   * Dispatch one event: its data parsed with its type's schema (InvalidEventError naming the field
   * when it does not match), then its handler. A type with no handler is skipped (the outcome the
   * worker logs and records).
   */
  handle(event: FlowEvent, ctx: FlowContext<C, D>): Promise<FlowResult>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds flows of any config and deps.
export type AnyFlow = FlowDefinition<any, any>;

/** The merged event catalogue of a flow's triggers. */
export function triggerEvents(triggers: readonly Trigger<unknown>[]): EventCatalogue {
  return Object.assign(
    {},
    ...triggers.map((t) => (t.kind === 'webhook' ? t.receiver.events : t.source.events)),
  ) as EventCatalogue;
}

/** The webhook event types a flow handles: the routing of its queue. */
export const webhookEventsOf = (flow: AnyFlow): string[] =>
  flow.handles.filter((type) =>
    flow.triggers.some((t) => t.kind === 'webhook' && Object.hasOwn(t.receiver.events, type)),
  );

export function defineFlow<C, D, const T extends readonly Trigger<C>[]>(
  spec: FlowSpec<C, D, T>,
): FlowDefinition<C, D> {
  const catalogue = triggerEvents(spec.triggers as unknown as readonly Trigger<unknown>[]);
  const on = spec.on as unknown as FlowDefinition<C, D>['on'];
  const handles = Object.keys(on);
  const foreign = handles.filter((type) => !Object.hasOwn(catalogue, type));
  if (foreign.length > 0) {
    // The types forbid this; a cast or a plain JS flow could still get here: fail at import.
    throw new Error(`flow ${spec.id}: no trigger emits ${foreign.join(', ')}`);
  }
  return {
    ...spec,
    on,
    handles,
    async handle(event, ctx) {
      const handler = on[event.type];
      const definition = catalogue[event.type];
      // The worker logs every outcome and writes it to the run log: a skip needs no line of its own.
      return handler && definition
        ? handler({ ...event, data: parseEventData(definition.schema, event) }, ctx)
        : { outcome: 'skipped', message: `event type ${event.type} is not handled by this flow` };
    },
  };
}
