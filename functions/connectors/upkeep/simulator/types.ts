/**
 * The UpKeep simulator's records (as it stores them, not as it renders them), its options, and the
 * face it shows tests and the sandbox.
 */
import type { Clock } from '../../../../sandbox/clock.ts';
import type { SimulatorStateStore } from '../../../../sandbox/simulators/persistence.ts';
import type { Simulator } from '../../../../sandbox/simulators/server.ts';
import type { UpKeepSavedState, UpKeepSimState } from './state.ts';

export interface UpKeepSimulatorOptions {
  port?: number;
  clock: Clock;
  email: string;
  password: string;
  /** Session lifetime (default 30 days; the real one is undocumented). */
  tokenTtlMs?: number;
  /** Where work-order webhooks go (e.g. the local ingress `.../webhooks/upkeep/<token>`). */
  webhook?: { url: string };
  /**
   * What a list page past the end returns: an empty list (200, default) or 404, which one
   * third-party client reports seeing (reference §2.4 EXT).
   */
  pastEndStatus?: 200 | 404;
  /** For webhook delivery (tests); defaults to global fetch. */
  fetch?: typeof fetch;
  /** Parts present at start and after reset (default: UPKEEP_SIM_SEED_PARTS; `[]` for none). */
  parts?: readonly SimPartInput[];
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
  /**
   * How many entries each log keeps, newest (calls, webhook deliveries, issued tokens; default
   * REQUEST_LOG_LIMIT): one is added per request, delivery or login, for as long as a sandbox runs.
   */
  requestLogLimit?: number;
}

export interface SimWorkOrder {
  id: string;
  workOrderNo: string;
  title: string;
  description: string | null;
  priority: number | null;
  category: string | null;
  status: string;
  asset: string | null;
  location: string | null;
  assignedToUser: string | null;
  startDate: string | null;
  dueDate: string | null;
  dateCompleted: string | null;
  archivedStatus: string;
  time: number | null;
  cost: number | null;
  /** Other documented fields, stored as sent (formItems, parts, files, ...). */
  extra: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface SimAsset {
  id: string;
  name: string;
  serial: string;
  barcode: string;
  serialNumber: string;
  model: string;
  location: string;
  status: string;
  category: string;
  /** Optional ("downtimeStatus String false", api-doc.txt): an asset may show none. */
  downtimeStatus?: string;
  availabilityStatus: string;
  availabilityTrackingOn: boolean;
  createdByUser: string;
  assignedToUser: string | null;
  /** Asset timestamps have no `Z` at UpKeep (reference §2.7). */
  createdAt: string;
  updatedAt: string;
}

export interface SimDowntimeActivity {
  id: string;
  assetId: string;
  status: 'available' | 'not-available';
  /** Normalised ISO. */
  recordedOn: string;
  statusCategory?: string;
  userId?: string;
  createdAt: string;
}

export interface SimPart {
  id: string;
  name: string;
  description: string | null;
  /** Cost per unit; rendered as a string with two decimals (`"88.00"`). */
  cost: number | null;
  /**
   * Rendered as a string (`"5"`). Optional in the doc ("quantity Number false"), so a part created
   * without one holds null (rendered `null`, like an unset minimumQuantity); PATCH null erases it.
   */
  quantity: number | null;
  minimumQuantity: number | null;
  /** The request field `partNumber` (or `partName`); rendered as `partName` (reference §7.9). */
  partNumber: string | null;
  /** "ID of the parent part". */
  partId: string | null;
  serial: string | null;
  area: string | null;
  details: string | null;
  category: string | null;
  location: string | null;
  createdByUser: string;
  /** Other documented fields, stored as sent (customFieldsPart). */
  extra: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** A part to create through the control API or `addParts` (the fields of `POST /parts`, plus an id). */
export interface SimPartInput {
  id?: string;
  name: string;
  quantity?: number | null;
  minimumQuantity?: number | null;
  cost?: number | null;
  partNumber?: string | null;
  description?: string | null;
  category?: string | null;
  location?: string | null;
  serial?: string | null;
}

export interface SimPurchaseOrderLine {
  id: string;
  quantity: number;
}

export interface SimPurchaseOrder {
  id: string;
  purchaseOrderNumber: number;
  title: string;
  description: string | null;
  status: string;
  vendor: string | null;
  category: string | null;
  /** ISO (sent as `YYYY-MM-DD`). */
  dueDate: string | null;
  poDate: string | null;
  notes: string | null;
  parts: SimPurchaseOrderLine[];
  partsPendingQuantities: Record<string, number>;
  partialFulfillHistory: { timestamp: string; user: string; received: Record<string, number> }[];
  createdByUser: string;
  approvedAt: string | null;
  declinedAt: string | null;
  fulfilledAt: string | null;
  fulfilledByUser: string | null;
  /** Other documented fields, stored as sent (tax, costs, terms, company and shipping blocks, ...). */
  extra: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** A work request (`/requests`). */
export interface SimWorkRequest {
  id: string;
  title: string;
  description: string | null;
  priority: number | null;
  status: string;
  asset: string | null;
  location: string | null;
  team: string | null;
  assignedToUser: string | null;
  category: string | null;
  dueDate: string | null;
  requestedByUser: string;
  createdAt: string;
  updatedAt: string;
}

export interface SimUpdateMessage {
  /** The update item's id (listed in the work order's `arrayOfUpdateItems`); older saved states lack it. */
  id?: string;
  workOrderId: string;
  text: string;
  createdAt: string;
}

export interface SimCall {
  /** `METHOD /path` (path without the /api/v2 prefix and trailing slash). */
  line: string;
  query: Record<string, string[]>;
  /** The `upkeep-version` header, if sent. */
  version: string | undefined;
  authorized: boolean;
}

/** A webhook registered through `POST /webhooks` (reference §3.11). */
export interface SimWebhook {
  /** A numeric string, like the doc's `"110"`. */
  id: string;
  title: string;
  endpoint: string;
  /** The subscribed names (`"*"` stored expanded). */
  events: string[];
  enabled: boolean;
}

export interface SimWebhookDelivery {
  event: string;
  /** Where it went: the sandbox's configured URL or a registered webhook's endpoint. */
  url: string;
  /** Id of the work order, purchase order or request. */
  objectId: string;
  /** Set for work-order events. */
  workOrderId?: string;
  attempt: number;
  status?: number;
  error?: string;
}

export interface UpKeepSimulator extends Simulator {
  /** `${url}/api/v2`: the client's base URL. */
  baseUrl: string;
  /** Deep copies of the data. */
  state(): UpKeepSimState;
  workOrders(): SimWorkOrder[];
  assets(): SimAsset[];
  downtime(): SimDowntimeActivity[];
  parts(): SimPart[];
  purchaseOrders(): SimPurchaseOrder[];
  /** Work requests (`/requests`); `requests` is taken by the HTTP request log of server.ts. */
  workRequests(): SimWorkRequest[];
  /** Work-order update messages (notes), oldest first; of one work order if given. */
  workOrderMessages(workOrderId?: string): SimUpdateMessage[];
  /** Take `quantity` out of stock (as work on the floor would); bumps updatedAt. Throws below zero. */
  consumePart(id: string, quantity: number): SimPart;
  /** Put `quantity` into stock; bumps updatedAt. */
  restockPart(id: string, quantity: number): SimPart;
  /**
   * Set an asset's `downtimeStatus` as a user would in the app, or remove it (`null`: an asset that
   * shows none); throws for an unknown asset. Also `POST /_sandbox/assets/:id/downtime-status`.
   */
  setAssetDowntimeStatus(id: string, status: string | null): SimAsset;
  /** Create parts directly (all with the clock's current time); throws on invalid input. */
  addParts(parts: readonly SimPartInput[]): SimPart[];
  /** Every API call that reached a handler (not fault-answered ones), oldest first. */
  calls(): SimCall[];
  /** `POST /auth` attempts, and those that issued a token. */
  authAttempts(): number;
  logins(): number;
  /** Tokens issued so far (so tests can prove they never leak). */
  issuedTokens(): string[];
  expireTokens(): void;
  reset(): void;
  /** The state that survives a restart (a deep copy). */
  exportState(): UpKeepSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
  webhookDeliveries(): SimWebhookDelivery[];
  /** Webhooks registered through the API (deep copies); not saved across restarts. */
  registeredWebhooks(): SimWebhook[];
  /** Resolves when every webhook delivery started so far has finished (including its retry). */
  flushWebhooks(): Promise<void>;
}
