/** `POST /reports/downtime` (reference §2, §3.3): Bearer auth, a JSON query, the report. */
import { json, type Route } from '../../../../sandbox/simulators/server.ts';
import { aggregateDowntime } from './report.ts';
import type { MachineMetricsSimState } from './state.ts';
import { isRecord, validateDowntimeQuery } from './validation.ts';

export const INVALID_TOKEN_BODY = {
  error: 'invalid_token',
  error_description: 'Invalid token: access token is invalid',
} as const;

export function reportRoutes(state: MachineMetricsSimState): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/reports/downtime',
      handler: (req) => {
        if (req.headers.authorization !== `Bearer ${state.apiKey}`) return json(401, INVALID_TOKEN_BODY);
        const contentType = String(req.headers['content-type'] ?? '');
        if (!contentType.includes('application/json') || !isRecord(req.json)) {
          return json(400, { message: 'Problem parsing JSON' });
        }
        const result = validateDowntimeQuery(req.json);
        if (!result.ok) {
          return json(400, { code: 'ValidationError', message: 'Validation Error', errors: result.errors });
        }
        return json(200, aggregateDowntime(state.world, result.query, state.clock.now()));
      },
    },
  ];
}
