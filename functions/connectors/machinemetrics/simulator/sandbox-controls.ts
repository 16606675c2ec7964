/** The control API (`/_sandbox/...`, no auth): make machines go down, come back and get categorised. */
import { json, type Route, SimulatorInputError, simControl } from '../../../../sandbox/simulators/server.ts';
import type { MachineActions } from './machines.ts';
import type { MachineMetricsSimState } from './state.ts';

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

export function sandboxControlRoutes(state: MachineMetricsSimState, machines: MachineActions): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/_sandbox/machines/:id/down',
      handler: simControl((req, body) =>
        machines.down(req.params.id ?? '', {
          reasonId: reasonParam(body.reasonId),
          at: optionalDate(body.at),
        }),
      ),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/machines/:id/up',
      handler: simControl((req, body) => machines.up(req.params.id ?? '', { at: optionalDate(body.at) })),
    },
    {
      method: 'POST',
      pattern: '/_sandbox/machines/:id/categorize',
      handler: simControl((req, body) => {
        const reasonId = reasonParam(body.reasonId);
        if (reasonId === undefined) throw new SimulatorInputError(400, 'reasonId is required');
        return machines.categorize(req.params.id ?? '', reasonId);
      }),
    },
    {
      method: 'GET',
      pattern: '/_sandbox/state',
      handler: () => json(200, { now: state.clock.now().toISOString(), ...state.world }),
    },
  ];
}
