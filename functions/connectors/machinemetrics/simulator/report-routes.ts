/**
 * `POST /reports/downtime` (reference §2, §3.3): Bearer auth, a JSON query, the report. With
 * `csv: true` the answer also links a CSV download (api-doc.txt:450-491): `GET /user-token` gives the
 * JWT, `GET /csv/downtime/{resourceId}?token=<JWT>` the file.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { json, type Route, type SimRequest } from '../../../../sandbox/simulators/server.ts';
import { aggregateDowntime, type SimDowntimeReport, type SimReportItem } from './report.ts';
import type { MachineMetricsSimState } from './state.ts';
import { isRecord, validateDowntimeQuery } from './validation.ts';

export const INVALID_TOKEN_BODY = {
  error: 'invalid_token',
  error_description: 'Invalid token: access token is invalid',
} as const;

/**
 * ASSUMED: `flatten`'s description is lost (api-doc.txt:183 "flatten | boolean When"); the simulator
 * accepts it and answers the documented nested shape either way.
 */
export const FLATTEN_ANSWERS_NESTED = true;

/** ASSUMED: how long a CSV link lives; the doc shows only an `expires` date (api-doc.txt:453, 482). */
export const ASSUMED_CSV_EXPIRY_MS = 24 * 3_600_000;

/**
 * ASSUMED: the CSV's columns are undocumented: one row per leaf of the `items` tree, a column per
 * `groupBy` level (its entity id), then `downtimeMs` and `recordCount`.
 */
export const ASSUMED_CSV_METRIC_COLUMNS = ['downtimeMs', 'recordCount'] as const;

/** `Authorization: Bearer <apiKey>`; the scheme is case-insensitive (RFC 7235 §2.1). */
export function isBearer(header: string | undefined, apiKey: string): boolean {
  const match = /^(\S+) +(\S+)$/.exec(header ?? '');
  return match?.[1]?.toLowerCase() === 'bearer' && match[2] === apiKey;
}

const base64url = (value: string) => Buffer.from(value).toString('base64url');

/** The simulator's user-token JWT: HS256 over a fixed payload, keyed by the API key (so rotation ends it). */
export function simUserToken(apiKey: string): string {
  const unsigned = `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url('{"sub":"machinemetrics-sim"}')}`;
  return `${unsigned}.${createHmac('sha256', apiKey).update(unsigned).digest('base64url')}`;
}

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function csvRows(items: SimReportItem[], prefix: string[]): string[][] {
  return items.flatMap((item) =>
    item.items && item.items.length > 0
      ? csvRows(item.items, [...prefix, item.entity.id])
      : [[...prefix, item.entity.id, String(item.aggregate.downtimeMs), String(item.aggregate.recordCount)]],
  );
}

/** The report as CSV (ASSUMED_CSV_METRIC_COLUMNS); no groupBy gives the company total in one row. */
export function downtimeCsv(report: SimDowntimeReport, groupBy: string[]): string {
  const rows =
    groupBy.length === 0
      ? [[String(report.aggregate.downtimeMs), String(report.aggregate.recordCount)]]
      : csvRows(report.items, []);
  return `${[[...groupBy, ...ASSUMED_CSV_METRIC_COLUMNS], ...rows].map((row) => row.join(',')).join('\n')}\n`;
}

const hostOf = (req: SimRequest) => String(req.headers.host ?? '127.0.0.1');

export function reportRoutes(state: MachineMetricsSimState): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/reports/downtime',
      handler: (req) => {
        if (!isBearer(req.headers.authorization, state.apiKey)) return json(401, INVALID_TOKEN_BODY);
        const contentType = String(req.headers['content-type'] ?? '');
        if (!contentType.includes('application/json') || !isRecord(req.json)) {
          return json(400, { message: 'Problem parsing JSON' });
        }
        const result = validateDowntimeQuery(req.json);
        if (!result.ok) {
          return json(400, { code: 'ValidationError', message: 'Validation Error', errors: result.errors });
        }
        const now = state.clock.now();
        const report = aggregateDowntime(state.world, result.query, now);
        if (!result.query.csv) return json(200, report);
        const resourceId = ++state.csvSequence;
        const expires = new Date(now.getTime() + ASSUMED_CSV_EXPIRY_MS);
        state.csvExports.set(resourceId, { report, groupBy: result.query.groupBy, expires });
        const url = `http://${hostOf(req)}/csv/downtime/${resourceId}`;
        return json(200, { ...report, csv: { url, expires: expires.toISOString() } });
      },
    },
    {
      method: 'GET',
      pattern: '/user-token',
      handler: (req) =>
        isBearer(req.headers.authorization, state.apiKey)
          ? json(200, JSON.stringify(simUserToken(state.apiKey))) // a JSON string, as in api-doc.txt:499
          : json(401, INVALID_TOKEN_BODY),
    },
    {
      method: 'GET',
      pattern: '/csv/downtime/:resourceId',
      handler: (req) => {
        if (!sameText(req.query.get('token') ?? '', simUserToken(state.apiKey))) {
          return json(401, INVALID_TOKEN_BODY);
        }
        const resourceId = Number(req.params.resourceId);
        const found = state.csvExports.get(resourceId);
        // The 404 body is undocumented (the doc lists the code only): a simulator choice.
        if (!found || found.expires.getTime() <= state.clock.now().getTime()) {
          return json(404, { error: 'not_found', error_description: 'CSV resource not found or expired' });
        }
        return {
          status: 200,
          body: downtimeCsv(found.report, found.groupBy),
          headers: { 'content-type': 'text/csv' },
        };
      },
    },
  ];
}
