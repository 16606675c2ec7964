/**
 * The connector manifest: everything Millwright knows about one vendor, declared once in the
 * vendor's folder (`functions/connectors/<vendor>/connector.ts`) and listed once in the connector
 * registry (`functions/connectors/registry.ts`). The deployment schema's `vendors`, the `VendorId`
 * union, the sandbox's simulators and endpoints, the sandbox secrets, the stack's secret grants and
 * webhook routes are all derived from the registry (activepieces' `createPiece` is the model).
 *
 * A manifest must name a simulator (the field is required): the sandbox never starts a connector
 * against a real API unless the user asked for real vendors.
 *
 * Lambda bundles never import a manifest (it reaches the simulator); flows import the connector's
 * client, receiver, poll sources and events directly.
 */
import type * as z from 'zod/mini';
import type { EventCatalogue } from './events.ts';
import type { FlowEvent, PollSource, RuntimeEnv, WebhookReceiver } from './flow.ts';
import type { Log } from './log.ts';

/** The settings every vendor block of the deployment config has. */
export interface VendorSettings {
  /** The Secrets Manager secret holding the vendor's credentials (a name, never a value). */
  secretName: string;
  baseUrl?: string;
  timeoutMs?: number;
}

/** What the sandbox hands a simulator when it starts one. */
export interface SimulatorStart<Settings, Secret, Options> {
  /** The vendor's settings from the deployment config (validated). */
  settings: Settings;
  /** The vendor's sandbox secret (from the sandbox secrets file, validated by the connector's schema). */
  secret: Secret;
  /** 0 = a random port. */
  port: number;
  /** The sandbox's time (manual in tests and the demo): vendor records and signatures use it. */
  clock: { now(): Date; advance(ms: number): void; readonly manual: boolean };
  /** Where the simulator saves its records (with a data folder); absent: in memory. */
  store?: {
    readonly location: string;
    restore(apply: (saved: unknown) => void): boolean;
    save(state: unknown): void;
  };
  /** The local ingress (e.g. `http://127.0.0.1:8900`): where the vendor's webhooks go. */
  ingressUrl: string;
  log: Log;
  /** Sandbox options for this simulator (tests and the demo compress delays and windows). */
  options: Partial<Options>;
}

export interface RunningSimulator {
  /** The simulator's root URL (its `/_sandbox/...` controls live here). */
  url: string;
  close(): Promise<void>;
  /** Resolves when the simulator has no asynchronous work left (e.g. writes applied later). */
  settle?(): Promise<void>;
  /** Resolves when every webhook delivery the simulator started has been answered (or given up). */
  flushWebhooks?(): Promise<void>;
}

export interface StartedSimulator<Settings, Sim extends RunningSimulator> {
  simulator: Sim;
  /** The vendor settings pointed at the simulator (base URL, and anything it changed). */
  settings: Settings;
  /** The API base URL, listed in `.sandbox/endpoints.json` under the connector id. */
  apiUrl: string;
}

export interface SimulatorDefinition<Settings, Secret, Sim extends RunningSimulator, Options> {
  /** The secret the simulator accepts: the sandbox secrets file is created from these. */
  sandboxSecret: Secret;
  start(input: SimulatorStart<Settings, Secret, Options>): Promise<StartedSimulator<Settings, Sim>>;
}

/** A vendor write a dry run intercepted (`millwright test-event --dry-run`). */
export interface DryRunRequest {
  method: string;
  url: URL;
  /** The body as sent: parsed when it is JSON, else the raw text (undefined: none). */
  body: unknown;
}

/** The synthetic answer a dry run gives the client in place of the vendor's. */
export interface DryRunAnswer {
  status: number;
  /** JSON-encoded (undefined: an empty body). */
  body?: unknown;
}

/**
 * How a connector's writes behave in a dry run. GET and HEAD always reach the vendor; any other
 * method is recorded and answered by `respond` unless `passThrough` says it only reads.
 */
export interface ConnectorDryRun {
  /** Writes that are reads in effect (a session login, a report query): sent to the vendor. */
  passThrough?(request: DryRunRequest): boolean;
  /**
   * A plausible answer the client can parse (default 200, empty). `read(url)` GETs from the vendor
   * with the write's own headers (auth included), e.g. to answer a PATCH with the record it changes.
   */
  respond?(
    request: DryRunRequest,
    read: (url: string | URL) => Promise<unknown>,
  ): DryRunAnswer | Promise<DryRunAnswer>;
}

export interface ConnectorDefinition<
  Id extends string = string,
  Settings extends VendorSettings = VendorSettings,
  Secret = unknown,
  Sim extends RunningSimulator = RunningSimulator,
  Options = unknown,
  Events extends EventCatalogue = EventCatalogue,
  Client = unknown,
> {
  /** Lower-case, dash-separated; the key under `vendors` in the config and the event type prefix. */
  id: Id;
  /** The vendor's name for people: `UpKeep`, `Mobility Work`. */
  name: string;
  /** The vendor block of the deployment config (`vendors.<id>`). */
  config: z.ZodMiniType<Settings>;
  /** The Secrets Manager secret's JSON. */
  secret: z.ZodMiniType<Secret>;
  /** A client for the vendor's API (flows import the connect function directly). */
  connect: (env: RuntimeEnv) => Client;
  /**
   * The vendor's webhook receiver, if it sends webhooks (one route per vendor). By contract it is
   * also the default export of the folder's `webhook.ts`, which the ingress bundle imports alone.
   */
  webhook?: WebhookReceiver;
  /** What the vendor can be polled for. */
  // biome-ignore lint/suspicious/noExplicitAny: a connector's poll sources have their own options and state.
  pollSources?: readonly PollSource<any, any, any, any>[];
  /** Every event type the connector emits (webhook and poll), with its data schema. */
  events: Events;
  /**
   * Example events by short name (`downtime-started`), at least one per event type a flow handles:
   * `millwright test-event <flow> --example NAME`. Ids match the sandbox's seed data.
   */
  examples?: Readonly<Record<string, FlowEvent>>;
  /** Dry-run behaviour of the vendor's writes (absent: every write recorded, answered 200 empty). */
  dryRun?: ConnectorDryRun;
  /** The vendor simulator the sandbox runs instead of the real API (required). */
  simulator: SimulatorDefinition<Settings, Secret, Sim, Options>;
  /**
   * `millwright discover <vendor>`: the ids an operator needs for the config mappings, read from
   * the configured account. Absent when the vendor's API cannot list them: `discoverUnavailable`
   * then says why.
   */
  discover?: (env: RuntimeEnv) => Promise<DiscoveredList[]>;
  /** Why `discover` is absent (the API has no list endpoint for what the config needs, ...). */
  discoverUnavailable?: string;
  /**
   * `millwright smoke`: one cheap authenticated read (nothing written) that proves the configured
   * account accepts the secret's credentials; resolves to a line saying what was read.
   */
  probe?: (env: RuntimeEnv) => Promise<string>;
  /** `millwright webhooks`: how the vendor is told where to send webhooks (with `webhook`). */
  webhookSetup?: WebhookSetup<Settings, Secret>;
}

/** One list `discover` read from a vendor account, for a table and a config fragment. */
export interface DiscoveredList {
  /** What the rows are: `machines`, `assets`, `parts`, `entities`, `network`. */
  kind: string;
  /** Column order for a table (every row has a string for each). */
  columns: string[];
  rows: Record<string, string>[];
  /** Where these ids go in the config, e.g. `flows.<flow id>.machines` (keys). */
  configPath?: string;
  /** What the list may leave out, or how to read it. */
  note?: string;
}

/** What a vendor needs to send its webhooks to Millwright. */
export interface WebhookSetup<Settings = unknown, Secret = unknown> {
  /**
   * The vendor's names for the event types to subscribe to (default: the types without the
   * `<vendor>.` prefix). MachineMetrics Workflows, e.g., name triggers rather than events.
   */
  vendorEvents?(types: readonly string[]): string[];
  /** How the vendor must authenticate its deliveries (from the vendor settings), one line each. */
  auth(settings: Settings): string[];
  /** Route params that carry a secret (UpKeep's `{token}`), from the vendor secret. */
  secretParams?(secret: Secret): Record<string, string>;
  /** The steps to follow in the vendor's own UI (`url` and `events` as `webhookUrls` shows them). */
  steps(input: { url: string; events: readonly string[]; settings: Settings }): string[];
  /** Register (or update) the webhook through the vendor's API, where it has one. */
  register?(env: RuntimeEnv, input: WebhookRegistration): Promise<WebhookRegistrationResult>;
}

export interface WebhookRegistration {
  /** How the webhook is named at the vendor (`Millwright (<deployment>)`). */
  title: string;
  /** The exact URL, secrets filled in. */
  url: string;
  /** The vendor's event names to subscribe to. */
  events: readonly string[];
  /** Read what exists and say what would be done, change nothing. */
  dryRun: boolean;
}

export interface WebhookRegistrationResult {
  /** What was done (or, in a dry run, would be). */
  action: 'created' | 'updated' | 'unchanged';
  /** The vendor's id of the webhook (absent when a dry run would create it). */
  id?: string;
  /** One line per call made or planned. */
  details: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds connectors of any settings and simulator.
export type AnyConnector = ConnectorDefinition<string, any, any, any, any, any, any>;

export const defineConnector = <
  const Id extends string,
  Settings extends VendorSettings,
  Secret,
  Sim extends RunningSimulator,
  Options,
  Events extends EventCatalogue,
  Client,
>(
  connector: ConnectorDefinition<Id, Settings, Secret, Sim, Options, Events, Client>,
): ConnectorDefinition<Id, Settings, Secret, Sim, Options, Events, Client> => connector;

/** The URL a vendor posts to for a receiver's route (`POST /webhooks/upkeep/{token}`), params filled in. */
export function webhookUrl(ingressUrl: string, route: string, params: Record<string, string> = {}): string {
  const path = route.slice(route.indexOf(' ') + 1);
  return `${ingressUrl}${path.replace(/\{(\w+)\}/g, (whole, name: string) => (params[name] !== undefined ? encodeURIComponent(params[name]) : whole))}`;
}
