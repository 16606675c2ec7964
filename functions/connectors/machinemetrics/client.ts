/**
 * MachineMetrics REST client (reference §1, §3.3): Bearer API key, the downtime report, and the
 * normalisation of its nested `items` tree into per-machine, per-reason totals.
 *
 * - The key is read lazily from Secrets Manager (no I/O in the constructor, so the client can live
 *   at module scope) and re-read once with `refresh` after a 401 (key rotation); a second 401 throws.
 * - `POST /reports/downtime` only reads, so it is sent as idempotent: network errors, 429 and 5xx
 *   are retried with backoff by the core HttpClient.
 */

import { VendorHttpError } from '../../core/errors.ts';
import type { RuntimeEnv } from '../../core/flow.ts';
import type { HttpClientOptions } from '../../core/http.ts';
import { HttpClient } from '../../core/http.ts';
import type { Log } from '../../core/log.ts';
import { readSecret, type SecretSource } from '../../core/secrets.ts';
import { machineMetricsSecretSchema, parseMachineMetricsConfig } from './config.ts';
import {
  type DowntimeReportItem,
  type DowntimeReportResponse,
  downtimeReportResponseSchema,
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
  /** Only machines the report has items for: an absent machine had no downtime in the range. */
  machines: Record<string, MachineDowntime>;
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
 */
export function normaliseDowntimeReport(response: DowntimeReportResponse): DowntimeReport {
  const machineEntities = response.entities.machine ?? {};
  const reasonEntities = response.entities.reason ?? {};
  const machines: Record<string, MachineDowntime> = {};

  const walk = (items: readonly DowntimeReportItem[], machineId?: string, reasonId?: string) => {
    for (const item of items) {
      const type = item.entity.type;
      const id = String(item.entity.id);
      const m = type === 'machine' ? id : machineId;
      const r = type === 'reason' ? id : reasonId;
      const ms = item.aggregate.downtimeMs;
      if (type === 'machine') {
        const entry = machines[id] ?? { name: machineEntities[id]?.name ?? id, downtimeMs: 0, reasons: {} };
        entry.downtimeMs += ms;
        machines[id] = entry;
      }
      const machine = m === undefined ? undefined : machines[m];
      if ((type === 'machine' || type === 'reason') && machine && r !== undefined) {
        const entity = reasonEntities[r];
        const reason = machine.reasons[r] ?? {
          name: entity?.name ?? r,
          downtimeMs: 0,
          virtual: entity ? entity.virtual === true : looksVirtual(r),
        };
        reason.downtimeMs += ms;
        machine.reasons[r] = reason;
      }
      if (item.items) walk(item.items, m, r);
    }
  };
  walk(response.items);
  return { range: { start: response.range.start, end: response.range.end }, machines };
}

export class MachineMetricsClient {
  private readonly http: HttpClient;
  private readonly secretName: string;
  private readonly secrets: SecretSource;
  private readonly log: Log | undefined;
  private apiKey: string | undefined;

  constructor(options: MachineMetricsClientOptions) {
    this.secretName = options.secretName;
    this.secrets = options.secrets;
    this.log = options.log;
    this.http = new HttpClient({
      vendor: VENDOR,
      baseUrl: options.baseUrl,
      timeoutMs: 15_000,
      headers: { 'content-type': 'application/json' },
      secrets: () => [this.apiKey],
      // An explicit `undefined` must not erase a default.
      ...Object.fromEntries(Object.entries(options.http ?? {}).filter(([, value]) => value !== undefined)),
    });
  }

  private async key(refresh: boolean): Promise<string> {
    if (this.apiKey === undefined || refresh) {
      const secret = await readSecret(this.secrets, this.secretName, machineMetricsSecretSchema, { refresh });
      this.apiKey = secret.apiKey;
    }
    return this.apiKey;
  }

  /** Send an authorised request; on a 401 re-read the key once (rotation) and try exactly once more. */
  private async authorised<T>(send: (authorization: string) => Promise<T>): Promise<T> {
    try {
      return await send(`Bearer ${await this.key(false)}`);
    } catch (error) {
      if (!(error instanceof VendorHttpError) || error.status !== 401) throw error;
      this.log?.warn('machinemetrics answered 401; re-reading the API key once', { secret: this.secretName });
      return send(`Bearer ${await this.key(true)}`);
    }
  }

  /** `POST /reports/downtime` over [start, end), normalised per machine and reason. */
  async downtimeReport(query: DowntimeReportQuery): Promise<DowntimeReport> {
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
    const response = await this.authorised((authorization) =>
      this.http.request({
        operation: 'downtimeReport',
        method: 'POST',
        path: '/reports/downtime',
        body,
        headers: { authorization },
        idempotent: true,
        schema: downtimeReportResponseSchema,
      }),
    );
    return normaliseDowntimeReport(response.data);
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
    http: options.http,
  });
}
