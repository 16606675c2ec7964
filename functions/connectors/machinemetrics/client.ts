/**
 * MachineMetrics REST client (reference §1, §3.3): Bearer API key, the downtime report, and the
 * normalisation of its nested `items` tree into per-machine, per-reason totals.
 *
 * - The key is read lazily from Secrets Manager (no I/O in the constructor, so the client can live
 *   at module scope) and re-read once with `refresh` after a 401 (key rotation); a second 401 throws
 *   (core/auth.ts `bearer`, over core/vendor-http.ts).
 * - `POST /reports/downtime` only reads, so it is sent as idempotent: network errors, 429 and 5xx
 *   are retried with backoff by the core HttpClient.
 */

import type * as z from 'zod/mini';
import { bearer } from '../../core/auth.ts';
import { VendorResponseError } from '../../core/errors.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { HttpClientOptions } from '../../core/http.ts';
import type { Log } from '../../core/log.ts';
import { firstProblem, type RecordProblem } from '../../core/records.ts';
import { readSecret, type SecretSource } from '../../core/secrets.ts';
import { VendorHttpClient } from '../../core/vendor-http.ts';
import { machineMetricsSecretSchema, parseMachineMetricsConfig, REPORT_MACHINE_LIMIT } from './config.ts';
import {
  type DowntimeReportResponse,
  downtimeAggregateSchema,
  downtimeReportResponseSchema,
  machineEntitySchema,
  reasonEntitySchema,
  reportChildrenSchema,
  reportEntityRefSchema,
} from './schemas.ts';

export const VENDOR = 'machinemetrics';

export type DowntimeGroup = 'machine' | 'reason';

export interface DowntimeReportQuery {
  start: Date;
  end: Date;
  /** Nesting order of the report; must include 'machine' (the result is keyed by machine). */
  groupBy: readonly DowntimeGroup[];
  /** Machine UUIDs to include; undefined or empty = every machine (vendor semantics). */
  machines?: readonly string[];
}

export interface ReasonDowntime {
  name: string;
  downtimeMs: number;
  virtual: boolean;
}

export interface MachineDowntime {
  name: string;
  downtimeMs: number;
  /** Keyed by `String(reason id)`: "33", "uncategorized", ... Empty unless grouped by reason. */
  reasons: Record<string, ReasonDowntime>;
}

export interface DowntimeReport {
  range: { start: string; end: string };
  /**
   * Only machines the report has items for: an absent machine had no downtime in the range, unless
   * it is listed in `skipped`.
   */
  machines: Record<string, MachineDowntime>;
  /** Machines whose rows did not parse (record = machine id): unknown, not "no downtime". */
  skipped?: RecordProblem[];
}

/** A machine as the report's `entities.machine` names it. */
export interface ReportedMachine {
  /** The machine UUID (what `filter.machine` and the flows' `machines` maps take). */
  id: string;
  name: string;
}

/** The HttpClient knobs tests (and the sandbox) may override. */
export type MachineMetricsHttpOptions = Partial<
  Pick<
    HttpClientOptions,
    'fetch' | 'sleep' | 'random' | 'timeoutMs' | 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'onRetry'
  >
>;

export interface MachineMetricsClientOptions {
  baseUrl: string;
  secretName: string;
  secrets: SecretSource;
  log?: Log;
  http?: MachineMetricsHttpOptions;
  /** Most machine ids per report request (config `reportMachineLimit`, an assumption). */
  reportMachineLimit?: number;
}

const iso = (date: Date): string => {
  if (Number.isNaN(date.getTime())) throw new RangeError('downtime report: invalid date');
  return date.toISOString();
};

/** Virtual reasons have string ids; user reasons numeric ones (reference §3.3, §7 #12). */
const looksVirtual = (reasonId: string) => !/^\d+$/.test(reasonId);

/**
 * Turn the nested report into per-machine totals. Works for any nesting order that contains
 * `machine` (machine→reason, reason→machine, or machine only): every item of type `machine` carries
 * that machine's share of its ancestors' groups, so machine totals are the sum of those items, and
 * the item that completes a (machine, reason) pair carries that pair's downtime.
 *
 * Rows are parsed one by one. A row that does not parse makes its machine (the row's own, or the
 * machine it is nested under) unreadable: the machine is left out of `machines` and listed in
 * `skipped` (first problem per machine, with the row's path), so one bad row never hides the other
 * machines. A machine left out reads as "no downtime", which is why the detector must treat a
 * skipped machine as unknown. A bad row that cannot be tied to any machine (its entity is unreadable
 * and it is not nested under a machine) makes every machine doubtful: VendorResponseError.
 */
export function normaliseDowntimeReport(response: DowntimeReportResponse): DowntimeReport {
  const machineEntities = response.entities.machine ?? {};
  const reasonEntities = response.entities.reason ?? {};
  const machines: Record<string, MachineDowntime> = {};
  const unreadable = new Map<string, RecordProblem>();

  const problem = (
    owner: string | undefined,
    at: string,
    part: string,
    error: z.core.$ZodError,
    raw: unknown,
  ): void => {
    const { field, message } = firstProblem(error, raw);
    const path = `${at}.${part}${field ? `.${field}` : ''}`;
    if (owner === undefined) {
      throw new VendorResponseError(
        VENDOR,
        'downtimeReport',
        path,
        `${message}; a row that cannot be tied to a machine makes the whole report unreadable`,
      );
    }
    if (!unreadable.has(owner)) unreadable.set(owner, { record: owner, field: path, message });
  };

  const walk = (items: readonly unknown[], path: string, machineId?: string, reasonId?: string) => {
    for (const [index, raw] of items.entries()) {
      const at = `${path}[${index}]`;
      const row = (raw ?? {}) as { entity?: unknown; aggregate?: unknown; items?: unknown };
      const entity = reportEntityRefSchema.safeParse(row.entity);
      if (!entity.success) {
        problem(machineId, at, 'entity', entity.error, row.entity);
        continue;
      }
      const type = entity.data.type;
      const id = String(entity.data.id);
      const m = type === 'machine' ? id : machineId;
      const r = type === 'reason' ? id : reasonId;
      const children = reportChildrenSchema.safeParse(row.items);
      if (!children.success) {
        problem(m, at, 'items', children.error, row.items);
        continue;
      }
      // The aggregate is read where it counts: a machine's own row, or a reason under a machine.
      if (type === 'machine' || (type === 'reason' && m !== undefined)) {
        const aggregate = downtimeAggregateSchema.safeParse(row.aggregate);
        if (!aggregate.success) {
          problem(m, at, 'aggregate', aggregate.error, row.aggregate);
          continue;
        }
        const ms = aggregate.data.downtimeMs;
        if (type === 'machine') {
          const entry = machines[id] ?? {
            name: machineName(machineEntities[id]) ?? id,
            downtimeMs: 0,
            reasons: {},
          };
          entry.downtimeMs += ms;
          machines[id] = entry;
        }
        const machine = m === undefined ? undefined : machines[m];
        if (machine && r !== undefined) {
          const known = reasonEntity(reasonEntities[r]);
          const reason = machine.reasons[r] ?? {
            name: known?.name ?? r,
            downtimeMs: 0,
            virtual: known ? known.virtual === true : looksVirtual(r),
          };
          reason.downtimeMs += ms;
          machine.reasons[r] = reason;
        }
      }
      if (children.data) walk(children.data, `${at}.items`, m, r);
    }
  };
  walk(response.items, 'items');
  for (const id of unreadable.keys()) delete machines[id];
  return {
    range: { start: response.range.start, end: response.range.end },
    machines,
    ...(unreadable.size > 0 ? { skipped: [...unreadable.values()] } : {}),
  };
}

/** Display name of a machine from `entities.machine` (undefined when the entry does not parse). */
const machineName = (entry: unknown): string | undefined => {
  const parsed = machineEntitySchema.safeParse(entry);
  return parsed.success ? parsed.data.name : undefined;
};

/** A reason from `entities.reason` (undefined when the entry does not parse). */
const reasonEntity = (entry: unknown) => {
  const parsed = reasonEntitySchema.safeParse(entry);
  return parsed.success ? parsed.data : undefined;
};

/**
 * One report from the answers of several requests over disjoint machine sets (a chunked filter):
 * machines are merged, skipped machines listed from every answer.
 */
export function mergeDowntimeReports(reports: readonly DowntimeReport[]): DowntimeReport {
  const [first] = reports;
  if (!first || reports.length === 1) return first ?? { range: { start: '', end: '' }, machines: {} };
  const machines: Record<string, MachineDowntime> = {};
  const skipped: RecordProblem[] = [];
  for (const report of reports) {
    Object.assign(machines, report.machines);
    skipped.push(...(report.skipped ?? []));
  }
  return { range: first.range, machines, ...(skipped.length > 0 ? { skipped } : {}) };
}

export class MachineMetricsClient {
  private readonly http: VendorHttpClient;
  private readonly reportMachineLimit: number;

  constructor(options: MachineMetricsClientOptions) {
    const { secretName, secrets } = options;
    this.reportMachineLimit = options.reportMachineLimit ?? REPORT_MACHINE_LIMIT;
    this.http = new VendorHttpClient({
      vendor: VENDOR,
      baseUrl: options.baseUrl,
      timeoutMs: 15_000,
      headers: { 'content-type': 'application/json' },
      http: options.http,
      auth: bearer({
        load: async ({ refresh }) =>
          (await readSecret(secrets, secretName, machineMetricsSecretSchema, { refresh })).apiKey,
        secretName,
        // The second try shows the vendor's answer to the re-read key even when it did not change.
        retryUnchanged: true,
      }),
      callLog: false,
      log: options.log,
    });
  }

  /**
   * `POST /reports/downtime` over [start, end), normalised per machine and reason. A machine filter
   * longer than `reportMachineLimit` is sent as several requests (one after another: the REST rate
   * limit is undocumented) and their answers merged.
   */
  async downtimeReport(query: DowntimeReportQuery): Promise<DowntimeReport> {
    const machines = query.machines ?? [];
    if (machines.length <= this.reportMachineLimit) return this.downtimeReportPage(query);
    const reports: DowntimeReport[] = [];
    for (let i = 0; i < machines.length; i += this.reportMachineLimit) {
      reports.push(
        await this.downtimeReportPage({ ...query, machines: machines.slice(i, i + this.reportMachineLimit) }),
      );
    }
    return mergeDowntimeReports(reports);
  }

  private async downtimeReportPage(query: DowntimeReportQuery): Promise<DowntimeReport> {
    if (!query.groupBy.includes('machine')) {
      throw new RangeError("downtime report: groupBy must include 'machine' (results are keyed by machine)");
    }
    const start = iso(query.start);
    const end = iso(query.end);
    if (query.start.getTime() >= query.end.getTime()) {
      throw new RangeError(`downtime report: start ${start} must be before end ${end}`);
    }
    const body = {
      start,
      end,
      groupBy: query.groupBy.map((group) => ({ group })),
      ...(query.machines && query.machines.length > 0 ? { filter: { machine: [...query.machines] } } : {}),
    };
    const response = await this.http.send({
      operation: 'downtimeReport',
      method: 'POST',
      path: '/reports/downtime',
      body,
      idempotent: true,
      schema: downtimeReportResponseSchema,
    });
    return normaliseDowntimeReport(response.data);
  }

  /**
   * The machines a downtime report over [start, end) names (`groupBy: machine`, its
   * `entities.machine`, plus any machine id its rows carry), by name. The REST API has no machine
   * list (reference §3.10): a machine the report leaves out (no data in the range, on the real API)
   * is not here. An entry that does not parse is named by its id.
   */
  async reportedMachines(range: { start: Date; end: Date }): Promise<ReportedMachine[]> {
    const start = iso(range.start);
    const end = iso(range.end);
    if (range.start.getTime() >= range.end.getTime()) {
      throw new RangeError(`machines: start ${start} must be before end ${end}`);
    }
    const { data } = await this.http.send({
      operation: 'reportedMachines',
      method: 'POST',
      path: '/reports/downtime',
      body: { start, end, groupBy: [{ group: 'machine' }] },
      idempotent: true,
      schema: downtimeReportResponseSchema,
    });
    const names = new Map<string, string>();
    for (const [id, entry] of Object.entries(data.entities.machine ?? {})) {
      names.set(id, machineName(entry) ?? id);
    }
    for (const row of data.items) {
      const entity = reportEntityRefSchema.safeParse((row as { entity?: unknown } | null)?.entity);
      if (entity.success && entity.data.type === 'machine' && !names.has(String(entity.data.id))) {
        names.set(String(entity.data.id), String(entity.data.id));
      }
    }
    return [...names]
      .map(([id, name]) => ({ id, name }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }
}

/** Build the client from `env.vendors.machinemetrics` (validated; ConfigError names the field). */
export function connectMachineMetrics(
  env: RuntimeEnv,
  options: { http?: MachineMetricsHttpOptions } = {},
): MachineMetricsClient {
  const config = parseMachineMetricsConfig(env.vendors.machinemetrics);
  return new MachineMetricsClient({
    baseUrl: config.baseUrl,
    secretName: config.secretName,
    secrets: env.secrets,
    log: env.log,
    reportMachineLimit: config.reportMachineLimit,
    http: { ...(env.transport ? { fetch: env.transport('machinemetrics') } : {}), ...options.http },
  });
}
