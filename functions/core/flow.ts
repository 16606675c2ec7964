/**
 * The contracts every connector, flow and runtime handler shares. A flow is one file that calls
 * `defineFlow`; the registry (functions/flows/index.ts) is the single list the CDK stack and the
 * sandbox both read.
 */
import * as z from 'zod/mini';
import { MAX_EVENT_ID_BYTES, MAX_EVENT_NAME_BYTES, utf8Bytes } from './limits.ts';
import type { Log } from './log.ts';
import type { RecordProblem } from './records.ts';
import type { SecretSource } from './secrets.ts';
import type { StateStore } from './state.ts';

export type VendorId = 'machinemetrics' | 'upkeep' | 'mobility-work' | 'click-maint' | 'deepomatic';

/** A string within `maxBytes` of UTF-8: the id parts of an event end up in DynamoDB keys. */
const withinBytes = (maxBytes: number) =>
  z.refine<string>((s) => utf8Bytes(s) <= maxBytes, `must be at most ${maxBytes} bytes`);
const boundedString = (maxBytes: number) => z.string().check(z.minLength(1), withinBytes(maxBytes));

/**
 * The one event shape on every queue. `id` is the source event identity, the dedup key end to end.
 * Its identifiers are bounded (core/limits.ts) so every key derived from them fits DynamoDB's limits.
 */
export const flowEventSchema = z.object({
  id: boundedString(MAX_EVENT_ID_BYTES),
  /** e.g. `machinemetrics.downtime.started`, `upkeep.WORK_ORDER_STATUS_UPDATED`. */
  type: boundedString(MAX_EVENT_NAME_BYTES),
  /** Where it entered: `machinemetrics.poll`, `machinemetrics.webhook`, `upkeep.webhook`, `replay`. */
  source: z.string().check(z.maxLength(MAX_EVENT_NAME_BYTES)),
  occurredAt: z.string().check(z.maxLength(64)),
  /** The entity it is about (machine UUID, work order id), for logs and ordering. */
  subject: z.optional(z.string().check(withinBytes(MAX_EVENT_ID_BYTES))),
  data: z.record(z.string(), z.unknown()),
});
export type FlowEvent = z.infer<typeof flowEventSchema>;

/** What every factory gets: vendor settings, secrets, state, a logger and a clock. */
export interface RuntimeEnv {
  /** Vendor settings from the deployment config (base URLs, secret names; never secret values). */
  vendors: Partial<Record<VendorId, unknown>>;
  secrets: SecretSource;
  state: StateStore;
  log: Log;
  now: () => Date;
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

export interface PollSource<O, S, D> {
  id: string;
  vendor: VendorId;
  /** Validates stored state on load, so a corrupt item fails loudly instead of resetting. */
  stateSchema: z.ZodMiniType<S>;
  /** Creates the clients the source reads with (once per container). */
  connect(env: RuntimeEnv): D;
  /** Yields one step per evaluated window; must be deterministic for a given state and vendor data. */
  poll(input: PollInput<O, S, D>): AsyncIterable<PollStep<S>>;
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

export interface WebhookVerifyContext {
  env: RuntimeEnv;
}

export interface WebhookReceiver {
  vendor: VendorId;
  /** API route key, e.g. `POST /webhooks/upkeep/{token}`. One per vendor. */
  route: string;
  /** Throws WebhookError(401) unless the request is authentic. Runs before any JSON parsing. */
  verify(req: WebhookRequest, ctx: WebhookVerifyContext): Promise<void>;
  /**
   * Parses and normalises; throws WebhookError(400) on malformed input. Unknown event names give
   * `ignored` entries (acknowledged and logged), not errors.
   */
  parse(req: WebhookRequest, ctx?: WebhookVerifyContext): { events: FlowEvent[]; ignored: string[] };
  /**
   * Called when a verified request could not be accepted (e.g. enqueueing failed and we answer
   * 503): undo replay-protection state so the vendor's retry of the same delivery is accepted.
   */
  release?(req: WebhookRequest, ctx: WebhookVerifyContext): Promise<void>;
  /** HTTP status of a successful acknowledgement (default 202). Mobility Work accepts only 200. */
  ackStatus?: number;
  /**
   * Drop events whose id was already acknowledged within this many seconds (vendors that resend a
   * delivery with the same idempotency key). Marked only after enqueueing, so a crash in between
   * can duplicate (flows are idempotent) but never lose an event.
   */
  dedupeSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Flows.

export type Trigger<C> =
  | {
      kind: 'schedule';
      // biome-ignore lint/suspicious/noExplicitAny: a flow may use any poll source; its options are checked where they are built.
      source: PollSource<any, any, any>;
      everyMinutes: (config: C) => number;
      options: (config: C) => unknown;
    }
  | { kind: 'webhook'; receiver: WebhookReceiver; events: readonly string[] };

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
}

export interface FlowContext<C, D> {
  flowId: string;
  config: C;
  deps: D;
  state: StateStore;
  log: Log;
  now: () => Date;
}

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

export interface FlowDefinition<C, D> {
  id: string;
  description: string;
  vendors: readonly VendorId[];
  worker?: WorkerSettings;
  config: z.ZodMiniType<C>;
  triggers: readonly Trigger<C>[];
  /** Creates clients once per container (module scope in Lambda). */
  setup(env: RuntimeEnv, config: C): D;
  handle(event: FlowEvent, ctx: FlowContext<C, D>): Promise<FlowResult>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds flows of any config and deps.
export type AnyFlow = FlowDefinition<any, any>;

export const defineFlow = <C, D>(flow: FlowDefinition<C, D>): FlowDefinition<C, D> => flow;
