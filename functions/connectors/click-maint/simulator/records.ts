/** The records the simulator keeps (vendor field names where the API shows them) and its constants. */

export const CLICK_MAINT_SIM_API_PREFIX = '/api/v1';
export const CLICK_MAINT_SIM_STATUSES: Readonly<Record<number, string>> = {
  1: 'open',
  2: 'on_hold',
  3: 'in_progress',
  5: 'completed',
};
export const CLICK_MAINT_SIM_COMPLETED_STATUS = 5;

export interface SimEntity {
  id: number;
  name: string;
}

export const CLICK_MAINT_SIM_ENTITIES: readonly SimEntity[] = [
  { id: 1, name: 'Main Facility' },
  { id: 2, name: 'North Plant' },
];

export interface SimPart {
  id: number;
  entityId: number;
  name: string;
  description: string | null;
  number: string | null;
  area: string | null;
  is_non_stock: boolean;
  on_hand_qty: number;
  min_qty: number | null;
  desired_qty: number | null;
  reserved: number;
  unit_cost: number | null;
  avg_unit_cost: number | null;
  created_at: string;
  updated_at: string;
}

/** A part for `addParts` / `POST /_sandbox/parts` (vendor field names; `id` optional). */
export interface SimPartInput {
  id?: number;
  name: string;
  description?: string | null;
  number?: string | null;
  area?: string | null;
  is_non_stock?: boolean;
  on_hand_qty?: number;
  min_qty?: number | null;
  desired_qty?: number | null;
  reserved?: number;
  unit_cost?: number | null;
}

export interface SimAsset {
  id: number;
  entityId: number;
  name: string;
  asset_code: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface SimWorkOrder {
  id: number;
  entityId: number;
  title: string;
  description: string | null;
  priority: string;
  type: string;
  status_id: number;
  asset_id: number | null;
  due_date: string | null;
  completed_at: string | null;
  /** Other documented fields as sent (categories_ids, technicians_ids, checklist, ...). */
  extra: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface SimPartTransaction {
  id: number;
  partId: number;
  entityId: number;
  /** `restock` / `reconcile` (API), `consume` / `control_restock` (control API). */
  type: string;
  quantity: number;
  cost: number | null;
  note: string | null;
  created_at: string;
}

export interface SimCall {
  /** `METHOD /path` without the `/api/v1` prefix. */
  line: string;
  query: Record<string, string[]>;
  /** The `X-Entity-Id` header as sent. */
  entityId: string | undefined;
  /** The JSON body as sent. */
  body: unknown;
  status: number;
}

export interface ClickMaintSimStats {
  /** Every API request (control routes excluded; fault-answered ones included). */
  requests: number;
  /** Requests that failed auth (not counted against the rate limit). */
  unauthorized: number;
  /** Answers 429. */
  rateLimited: number;
  /** The most requests accepted (not 429) within one rate window. */
  maxAcceptedInWindow: number;
  /** The current window: start (wall-clock ms), requests counted, requests accepted. */
  window: { startMs: number; counted: number; accepted: number };
  rateLimit: { limit: number; windowSeconds: number };
}

export interface ClickMaintSimState {
  entities: SimEntity[];
  parts: SimPart[];
  assets: SimAsset[];
  workOrders: SimWorkOrder[];
  transactions: SimPartTransaction[];
  stats: ClickMaintSimStats;
}
