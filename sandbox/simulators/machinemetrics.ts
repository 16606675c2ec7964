/**
 * MachineMetrics simulator: `POST /reports/downtime` as the vendor documents it (reference §2, §3.3)
 * over an in-memory list of downtime records, plus a control API to make machines go down, come
 * back and get categorised, and (optionally) Workflow webhooks as webhook.ts assumes them.
 *
 * Report semantics follow the detector's assumptions (reference §4.3 A1-A3, A5): aggregates are
 * clipped to [start, end); an open record counts up to min(end, clock.now()); records of one machine
 * never overlap; new downtime is `uncategorized` until categorised, and categorising rewrites history.
 * Only `machine`, `reason`, `day` and `hour` groupings are simulated (day/hour buckets run from the
 * query start, with ordinal ids as in the vendor's samples); other documented groups answer 400.
 * Likewise only `filter.machine` is simulated: another non-empty filter array answers 400
 * NotSimulated (an empty one means "no filtering", as documented).
 *
 * Request contract (api-doc.txt, Downtime Query Object): a JSON body (`application/json`, required)
 * with `start` and `end` required ISO 8601 date-times, start before end; `groupBy` an array of
 * `{group}`, `filter` an object of id arrays, `csv` / `flatten` booleans, all optional. The 400 shape
 * (`{code: 'ValidationError', message, errors: [{field, code, message}]}`) is undocumented (the doc
 * lists 200/401/403/404 only): a simulator choice.
 */

import { machineMetricsWebhookConfigSchema } from '../../functions/connectors/machinemetrics/config.ts';
import {
  type MachineMetricsWebhookPayload,
  MM_WEBHOOK_EVENTS,
  signMachineMetricsWebhook,
} from '../../functions/connectors/machinemetrics/webhook.ts';
import type { Log } from '../../functions/core/log.ts';
import type { Clock } from '../clock.ts';
import { readSavedState, type SimulatorStateStore, simulatorPersistence } from './persistence.ts';
import {
  json,
  type Route,
  type SimRequest,
  type SimResponse,
  type Simulator,
  startSimulator,
} from './server.ts';

// ---------------------------------------------------------------------------------------------
// The world: machines, reasons, downtime records.

export interface SimMachine {
  id: string;
  name: string;
}

export interface SimReason {
  /** A number for user reasons, a string for virtual ones (as the vendor sends them). */
  id: number | string;
  name: string;
  color: string;
  virtual?: true;
}

export interface DowntimeRecord {
  machineId: string;
  start: string;
  /** null while the machine is still down. */
  end: string | null;
  /** `String(reason.id)`. */
  reasonId: string;
}

export interface MachineMetricsWorld {
  machines: SimMachine[];
  reasons: SimReason[];
  records: DowntimeRecord[];
}

/** The machines and reasons of the vendor's own samples (reference §3.3). */
export const SIM_MACHINES: readonly SimMachine[] = [
  { id: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c', name: 'MACHINE 1' },
  { id: '5faa6680-fa0f-4e37-ba0b-09a46a945cef', name: 'MACHINE 2' },
  { id: 'f1e76e5f-a9cd-4ae0-9c63-48b78e3cf013', name: 'MACHINE 3' },
];

export const SIM_REASONS: readonly SimReason[] = [
  { id: 33, name: 'Chipping Out', color: '#dea638' },
  { id: 95, name: 'Part Changeover', color: '#de7020' },
  { id: 'uncategorized', name: 'Uncategorized', color: '#444444', virtual: true },
  { id: 'setup', name: 'Setup', color: '#edde00', virtual: true },
];

export function createMachineMetricsWorld(): MachineMetricsWorld {
  return {
    machines: SIM_MACHINES.map((m) => ({ ...m })),
    reasons: SIM_REASONS.map((r) => ({ ...r })),
    records: [],
  };
}

/** A control action that cannot be applied; `status` is what the control API answers. */
export class SimulatorInputError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'SimulatorInputError';
  }
}

const machineOf = (world: MachineMetricsWorld, machineId: string): SimMachine => {
  const machine = world.machines.find((m) => m.id === machineId);
  if (!machine) throw new SimulatorInputError(404, `unknown machine ${machineId}`);
  return machine;
};

export const reasonOf = (world: MachineMetricsWorld, reasonId: string | number): SimReason => {
  const reason = world.reasons.find((r) => String(r.id) === String(reasonId));
  if (!reason) throw new SimulatorInputError(400, `unknown reason ${String(reasonId)}`);
  return reason;
};

const latestRecord = (world: MachineMetricsWorld, machineId: string): DowntimeRecord | undefined =>
  world.records.filter((r) => r.machineId === machineId).at(-1);

/** Start a downtime record (the machine stops). */
export function markMachineDown(
  world: MachineMetricsWorld,
  machineId: string,
  options: { at: Date; reasonId?: string | number },
): DowntimeRecord {
  machineOf(world, machineId);
  const reason = reasonOf(world, options.reasonId ?? 'uncategorized');
  const last = latestRecord(world, machineId);
  if (last && last.end === null) throw new SimulatorInputError(409, `machine ${machineId} is already down`);
  if (last?.end && Date.parse(last.end) > options.at.getTime()) {
    throw new SimulatorInputError(400, `downtime would overlap the record ending ${last.end}`);
  }
  const record: DowntimeRecord = {
    machineId,
    start: options.at.toISOString(),
    end: null,
    reasonId: String(reason.id),
  };
  world.records.push(record);
  return record;
}

/** Close the open downtime record (the machine runs again). */
export function markMachineUp(
  world: MachineMetricsWorld,
  machineId: string,
  options: { at: Date },
): DowntimeRecord {
  machineOf(world, machineId);
  const last = latestRecord(world, machineId);
  if (!last || last.end !== null) throw new SimulatorInputError(409, `machine ${machineId} is not down`);
  if (options.at.getTime() < Date.parse(last.start)) {
    throw new SimulatorInputError(400, `up time is before the downtime start ${last.start}`);
  }
  last.end = options.at.toISOString();
  return last;
}

/** Set the reason of the machine's latest downtime record (an operator categorises it). */
export function categorizeDowntime(
  world: MachineMetricsWorld,
  machineId: string,
  reasonId: string | number,
): DowntimeRecord {
  machineOf(world, machineId);
  const reason = reasonOf(world, reasonId);
  const last = latestRecord(world, machineId);
  if (!last) throw new SimulatorInputError(409, `machine ${machineId} has no downtime to categorise`);
  last.reasonId = String(reason.id);
  return last;
}

// ---------------------------------------------------------------------------------------------
// The report.

export const DOCUMENTED_GROUPS = [
  'machine',
  'reason',
  'day',
  'hour',
  'week',
  'shift',
  'machineGroup',
  'jobOperation',
  'operator',
] as const;
const SIMULATED_GROUPS = new Set(['machine', 'reason', 'day', 'hour']);
const BUCKET_MS: Record<string, number> = { hour: 3_600_000, day: 86_400_000 };

export interface SimDowntimeQuery {
  start: Date;
  end: Date;
  groupBy: string[];
  machines?: string[];
}

export interface ValidationIssue {
  field: string;
  code: string;
  message: string;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate a downtime query body like the vendor (400 ValidationError with per-field errors). */
export function validateDowntimeQuery(
  body: unknown,
): { ok: true; query: SimDowntimeQuery } | { ok: false; errors: ValidationIssue[] } {
  if (!isRecord(body))
    return { ok: false, errors: [{ field: '', code: 'InvalidType', message: 'body must be an object' }] };
  const errors: ValidationIssue[] = [];
  const date = (field: 'start' | 'end'): Date | undefined => {
    const value = body[field];
    if (value === undefined) {
      errors.push({ field, code: 'Required', message: `${field} is required` });
      return undefined;
    }
    if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
      errors.push({ field, code: 'InvalidDateTime', message: `${field} must be a valid ISO 8601 date-time` });
      return undefined;
    }
    return new Date(value);
  };
  const start = date('start');
  const end = date('end');
  if (start && end && start.getTime() >= end.getTime()) {
    errors.push({ field: 'start', code: 'InvalidRange', message: 'start must be before end' });
  }

  const groupBy: string[] = [];
  if (body.groupBy !== undefined) {
    if (!Array.isArray(body.groupBy)) {
      errors.push({
        field: 'groupBy',
        code: 'InvalidType',
        message: 'groupBy must be an array of { group }',
      });
    } else {
      body.groupBy.forEach((item: unknown, i) => {
        const group = isRecord(item) ? item.group : undefined;
        const field = `groupBy[${i}].group`;
        if (typeof group !== 'string' || !(DOCUMENTED_GROUPS as readonly string[]).includes(group)) {
          errors.push({
            field,
            code: 'InvalidGroup',
            message: `group must be one of ${DOCUMENTED_GROUPS.join(', ')}`,
          });
        } else if (!SIMULATED_GROUPS.has(group)) {
          errors.push({
            field,
            code: 'NotSimulated',
            message: `the simulator does not model group '${group}'`,
          });
        } else if (groupBy.includes(group)) {
          errors.push({ field, code: 'DuplicateGroup', message: `group '${group}' appears twice` });
        } else groupBy.push(group);
      });
    }
  }

  let machines: string[] | undefined;
  if (body.filter !== undefined) {
    if (!isRecord(body.filter)) {
      errors.push({ field: 'filter', code: 'InvalidType', message: 'filter must be an object of id arrays' });
    } else {
      for (const [key, value] of Object.entries(body.filter)) {
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
          errors.push({
            field: `filter.${key}`,
            code: 'InvalidType',
            message: `filter.${key} must be an array of ids`,
          });
        }
      }
      // "If the array is not supplied, or is empty, no filtering will be done on that item." Only the
      // machine filter is modelled: another non-empty one is refused rather than silently ignored
      // (which would answer unfiltered totals), like an unmodelled groupBy.
      for (const [key, value] of Object.entries(body.filter)) {
        if (key !== 'machine' && Array.isArray(value) && value.length > 0) {
          errors.push({
            field: `filter.${key}`,
            code: 'NotSimulated',
            message: `the simulator does not model filter '${key}'`,
          });
        }
      }
      const machine = body.filter.machine;
      if (Array.isArray(machine) && machine.length > 0) machines = machine.map(String);
    }
  }
  for (const flag of ['csv', 'flatten'] as const) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') {
      errors.push({ field: flag, code: 'InvalidType', message: `${flag} must be a boolean` });
    } else if (body[flag] === true) {
      errors.push({
        field: flag,
        code: 'NotSimulated',
        message: `the simulator does not model ${flag} output`,
      });
    }
  }
  if (errors.length > 0 || !start || !end) return { ok: false, errors };
  return { ok: true, query: { start, end, groupBy, ...(machines ? { machines } : {}) } };
}

interface Segment {
  record: number;
  keys: Record<string, string>;
  ms: number;
}

export interface SimReportItem {
  entity: { type: string; id: string };
  aggregate: { downtimeMs: number; recordCount: number };
  items?: SimReportItem[];
}

export interface SimDowntimeReport {
  range: { start: string; end: string };
  aggregate: { downtimeMs: number; recordCount: number };
  entities: Record<string, Record<string, unknown>>;
  items: SimReportItem[];
}

const aggregateOf = (segments: Segment[]) => ({
  downtimeMs: segments.reduce((sum, s) => sum + s.ms, 0),
  recordCount: new Set(segments.map((s) => s.record)).size,
});

function nest(segments: Segment[], groups: string[], depth: number): SimReportItem[] {
  const group = groups[depth];
  if (group === undefined) return [];
  const buckets = new Map<string, Segment[]>();
  for (const segment of segments) {
    const key = segment.keys[group] ?? '';
    buckets.set(key, [...(buckets.get(key) ?? []), segment]);
  }
  return [...buckets].map(([id, members]) => ({
    entity: { type: group, id },
    aggregate: aggregateOf(members),
    ...(depth + 1 < groups.length ? { items: nest(members, groups, depth + 1) } : {}),
  }));
}

/** The vendor-shaped report for a validated query, at simulated time `now`. */
export function aggregateDowntime(
  world: MachineMetricsWorld,
  query: SimDowntimeQuery,
  now: Date,
): SimDowntimeReport {
  const qStart = query.start.getTime();
  const qEnd = query.end.getTime();
  const machines = query.machines
    ? world.machines.filter((m) => query.machines?.includes(m.id))
    : world.machines;
  const wanted = new Set(machines.map((m) => m.id));
  const bucketSizes = query.groupBy.map((g) => BUCKET_MS[g]).filter((ms): ms is number => ms !== undefined);
  const split = bucketSizes.length > 0 ? Math.min(...bucketSizes) : undefined;

  const segments: Segment[] = [];
  world.records.forEach((record, index) => {
    if (!wanted.has(record.machineId)) return;
    const start = Math.max(Date.parse(record.start), qStart);
    const end = Math.min(record.end === null ? now.getTime() : Date.parse(record.end), qEnd);
    for (let from = start; from < end; ) {
      const to =
        split === undefined ? end : Math.min(end, qStart + (Math.floor((from - qStart) / split) + 1) * split);
      const keys: Record<string, string> = { machine: record.machineId, reason: record.reasonId };
      for (const [group, size] of Object.entries(BUCKET_MS))
        keys[group] = String(Math.floor((from - qStart) / size));
      segments.push({ record: index, keys, ms: to - from });
      from = to;
    }
  });

  const entities: Record<string, Record<string, unknown>> = {};
  for (const group of query.groupBy) {
    if (group === 'machine') {
      entities.machine = Object.fromEntries(machines.map((m) => [m.id, { id: m.id, name: m.name }]));
    } else if (group === 'reason') {
      entities.reason = Object.fromEntries(world.reasons.map((r) => [String(r.id), { ...r }]));
    } else {
      const size = BUCKET_MS[group] ?? 86_400_000;
      const buckets: Record<string, unknown> = {};
      for (let k = 0; qStart + k * size < qEnd; k++) {
        const start = new Date(qStart + k * size).toISOString();
        const end = new Date(Math.min(qStart + (k + 1) * size, qEnd)).toISOString();
        buckets[String(k)] = group === 'day' ? { start, end, shopDate: start } : { start, end };
      }
      entities[group] = buckets;
    }
  }

  return {
    range: { start: query.start.toISOString(), end: query.end.toISOString() },
    aggregate: aggregateOf(segments),
    entities,
    items: nest(segments, query.groupBy, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Workflow webhooks (as webhook.ts assumes them).

export interface WorkflowWebhookTarget {
  url: string;
  secret: string;
  scheme: 'shared-secret-header' | 'hmac-sha256';
  /** Header names; default to the receiver's defaults. */
  secretHeader?: string;
  signatureHeader?: string;
  timestampHeader?: string;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  attempts: number;
  status?: number;
  error?: string;
}

const consoleLog: Log = {
  debug() {},
  info() {},
  warn: (message, extra) => console.warn(`[machinemetrics-sim] ${message}`, extra ?? ''),
  error: (message, extra) => console.error(`[machinemetrics-sim] ${message}`, extra ?? ''),
};

// ---------------------------------------------------------------------------------------------
// The simulator.

export const INVALID_TOKEN_BODY = {
  error: 'invalid_token',
  error_description: 'Invalid token: access token is invalid',
} as const;

export interface MachineMetricsSimulatorOptions {
  port?: number;
  clock: Clock;
  apiKey: string;
  workflowWebhook?: WorkflowWebhookTarget;
  /** Delay before the single retry of a failed webhook delivery (default 500 ms). */
  webhookRetryDelayMs?: number;
  log?: Log;
  /** Start from the state saved here (if any) and save every change to it; omit to live in memory. */
  store?: SimulatorStateStore;
}

export const MACHINEMETRICS_SIM_STATE_VERSION = 1;

/**
 * What survives a restart. Machines and reasons are the seed's (no route changes them); the webhook
 * delivery log and the API key (a test hook) are not saved.
 */
export interface MachineMetricsSavedState {
  simulator: 'machinemetrics';
  version: typeof MACHINEMETRICS_SIM_STATE_VERSION;
  /** Every machine's up/down history, including an open downtime. */
  records: DowntimeRecord[];
  /** The last Workflow webhook id (`mmsim-<n>`): the ingress dedupes by id, so ids must not restart. */
  webhookSequence: number;
}

export interface MachineMetricsSimulator extends Simulator {
  world: MachineMetricsWorld;
  /** Machine stops (default reason `uncategorized`, default time = clock now). */
  down(machineId: string, options?: { reasonId?: string | number; at?: Date }): DowntimeRecord;
  /** Machine runs again (default time = clock now). */
  up(machineId: string, options?: { at?: Date }): DowntimeRecord;
  categorize(machineId: string, reasonId: string | number): DowntimeRecord;
  /** Rotate the accepted API key (the old one gets 401). */
  setApiKey(apiKey: string): void;
  webhookDeliveries: WebhookDelivery[];
  /** Wait for every webhook delivery in flight (and its retry). */
  flushWebhooks(): Promise<void>;
  /** The state that survives a restart (a deep copy). */
  exportState(): MachineMetricsSavedState;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}

export async function startMachineMetricsSimulator(
  options: MachineMetricsSimulatorOptions,
): Promise<MachineMetricsSimulator> {
  const { clock } = options;
  const log = options.log ?? consoleLog;
  const world = createMachineMetricsWorld();
  let apiKey = options.apiKey;
  const deliveries: WebhookDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  let sequence = 0;
  const defaults = machineMetricsWebhookConfigSchema.parse({});

  const send = async (target: WorkflowWebhookTarget, payload: MachineMetricsWebhookPayload) => {
    const body = JSON.stringify(payload);
    const delivery: WebhookDelivery = { id: payload.id ?? '', event: payload.event, attempts: 0 };
    deliveries.push(delivery);
    for (let attempt = 1; attempt <= 2; attempt++) {
      delivery.attempts = attempt;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (target.scheme === 'shared-secret-header') {
        headers[target.secretHeader ?? defaults.secretHeader] = target.secret;
      } else {
        const timestamp = String(Math.floor(clock.now().getTime() / 1000));
        headers[target.timestampHeader ?? defaults.timestampHeader] = timestamp;
        headers[target.signatureHeader ?? defaults.signatureHeader] = signMachineMetricsWebhook(
          target.secret,
          timestamp,
          body,
        );
      }
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(5000),
        });
        delivery.status = response.status;
        await response.text().catch(() => '');
        if (response.ok) {
          delivery.error = undefined;
          return;
        }
        delivery.error = `HTTP ${response.status}`;
      } catch (error) {
        delivery.error = (error as Error).message;
      }
      log.warn('workflow webhook delivery failed', { id: delivery.id, attempt, error: delivery.error });
      if (attempt === 1)
        await new Promise((resolve) => setTimeout(resolve, options.webhookRetryDelayMs ?? 500));
    }
  };

  const notify = (payload: Omit<MachineMetricsWebhookPayload, 'id'>) => {
    const target = options.workflowWebhook;
    if (!target) return;
    sequence += 1;
    const promise = send(target, { id: `mmsim-${sequence}`, ...payload }).catch((error) =>
      log.error('workflow webhook delivery crashed', { error: (error as Error).message }),
    );
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };

  const nameOf = (machineId: string) => world.machines.find((m) => m.id === machineId)?.name;

  const down: MachineMetricsSimulator['down'] = (machineId, opts = {}) => {
    const record = markMachineDown(world, machineId, { at: opts.at ?? clock.now(), reasonId: opts.reasonId });
    const reason = reasonOf(world, record.reasonId);
    notify({
      event: MM_WEBHOOK_EVENTS.machineStatusChanged,
      machineId,
      machineName: nameOf(machineId),
      timestamp: record.start,
      status: 'DOWN',
      reasonId: reason.id,
      reasonName: reason.name,
      downtimeStartedAt: record.start,
    });
    return record;
  };

  const up: MachineMetricsSimulator['up'] = (machineId, opts = {}) => {
    const record = markMachineUp(world, machineId, { at: opts.at ?? clock.now() });
    const end = record.end ?? clock.now().toISOString();
    notify({
      event: MM_WEBHOOK_EVENTS.machineStatusChanged,
      machineId,
      machineName: nameOf(machineId),
      timestamp: end,
      status: 'ACTIVE',
      downtimeStartedAt: record.start,
      durationMs: Date.parse(end) - Date.parse(record.start),
    });
    return record;
  };

  const categorize: MachineMetricsSimulator['categorize'] = (machineId, reasonId) => {
    const record = categorizeDowntime(world, machineId, reasonId);
    const reason = reasonOf(world, record.reasonId);
    notify({
      event: MM_WEBHOOK_EVENTS.downtimeCategorized,
      machineId,
      machineName: nameOf(machineId),
      timestamp: clock.now().toISOString(),
      reasonId: reason.id,
      reasonName: reason.name,
      downtimeStartedAt: record.start,
    });
    return record;
  };

  const control =
    (action: (req: SimRequest, body: Record<string, unknown>) => unknown) =>
    (req: SimRequest): SimResponse => {
      const body = isRecord(req.json) ? req.json : {};
      try {
        return json(200, action(req, body));
      } catch (error) {
        if (error instanceof SimulatorInputError) return json(error.status, { message: error.message });
        throw error;
      }
    };
  const optionalDate = (value: unknown): Date | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
      throw new SimulatorInputError(400, 'at must be an ISO date-time');
    }
    return new Date(value);
  };
  const reasonParam = (value: unknown): string | number | undefined => {
    if (value === undefined || typeof value === 'string' || typeof value === 'number') return value;
    throw new SimulatorInputError(400, 'reasonId must be a string or number');
  };

  const exportState = (): MachineMetricsSavedState =>
    structuredClone({
      simulator: 'machinemetrics',
      version: MACHINEMETRICS_SIM_STATE_VERSION,
      records: world.records,
      webhookSequence: sequence,
    });
  const importState = (saved: unknown): void => {
    const state = readSavedState<MachineMetricsSavedState>(saved, {
      simulator: 'machinemetrics',
      version: MACHINEMETRICS_SIM_STATE_VERSION,
      fields: { records: 'array', webhookSequence: 'integer' },
    });
    world.records.splice(0, world.records.length, ...structuredClone(state.records));
    sequence = state.webhookSequence;
  };
  const persistence = simulatorPersistence(options.store, { exportState, importState });
  persistence.restore();

  const routes: Route[] = [
    {
      method: 'POST',
      pattern: '/reports/downtime',
      handler: (req) => {
        if (req.headers.authorization !== `Bearer ${apiKey}`) return json(401, INVALID_TOKEN_BODY);
        const contentType = String(req.headers['content-type'] ?? '');
        if (!contentType.includes('application/json') || !isRecord(req.json)) {
          return json(400, { message: 'Problem parsing JSON' });
        }
        const result = validateDowntimeQuery(req.json);
        if (!result.ok) {
          return json(400, { code: 'ValidationError', message: 'Validation Error', errors: result.errors });
        }
        return json(200, aggregateDowntime(world, result.query, clock.now()));
      },
    },
    {
      method: 'POST',
      pattern: '/_sandbox/machines/:id/down',
      handler: control((req, body) =>
        down(req.params.id ?? '', { reasonId: reasonParam(body.reasonId), at: optionalDate(body.at) }),
      ),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/machines/:id/up',
      handler: control((req, body) => up(req.params.id ?? '', { at: optionalDate(body.at) })),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/machines/:id/categorize',
      handler: control((req, body) => {
        const reasonId = reasonParam(body.reasonId);
        if (reasonId === undefined) throw new SimulatorInputError(400, 'reasonId is required');
        return categorize(req.params.id ?? '', reasonId);
      }),
    },
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () => json(200, { now: clock.now().toISOString(), ...world }),
    },
  ];

  const simulator = await startSimulator({
    name: 'machinemetrics',
    routes,
    port: options.port,
    commit: persistence.commit,
  });
  const close = simulator.close;
  return Object.assign(simulator, {
    world,
    down: persistence.committing(down),
    up: persistence.committing(up),
    categorize: persistence.committing(categorize),
    exportState,
    importState: persistence.committing(importState),
    setApiKey: (key: string) => {
      apiKey = key;
    },
    webhookDeliveries: deliveries,
    flushWebhooks: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      await close();
    },
  });
}
