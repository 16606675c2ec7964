/**
 * MachineMetrics simulator: `POST /reports/downtime` as the vendor documents it (reference §2, §3.3)
 * over an in-memory list of downtime records, plus a control API to make machines go down, come
 * back and get categorised, and (optionally) Workflow webhooks as webhook.ts assumes them.
 *
 * Report semantics follow the detector's assumptions (reference §4.3 A1-A3, A5): aggregates are
 * clipped to [start, end); an open record counts up to min(end, clock.now()); records of one machine
 * never overlap; new downtime is `uncategorized` until categorised, and categorising rewrites history.
 * Only `machine`, `reason`, `day`, `hour` and `shift` groupings are simulated (day/hour buckets run
 * from the query start, with ordinal ids as in the vendor's samples; `shift` is one ASSUMED_NO_SHIFT
 * bucket); the other ASSUMED_REPORT_GROUPS answer 400 NotSimulated.
 * Likewise only `filter.machine` is simulated: another non-empty filter array answers 400
 * NotSimulated (an empty one means "no filtering", as documented).
 *
 * Request contract (api-doc.txt, Downtime Query Object): a JSON body (`application/json`, required)
 * with `start` and `end` required ISO 8601 date-times, start before end; `groupBy` an array of
 * `{group}`, `filter` an object of id arrays (string or number ids), `csv` / `flatten` booleans, all
 * optional. `csv: true` adds `csv: {url, expires}` (ASSUMED_CSV_EXPIRY_MS) and the download
 * `GET /csv/downtime/{id}?token=<JWT from GET /user-token>` (columns ASSUMED_CSV_METRIC_COLUMNS);
 * `flatten` is accepted and answered nested (FLATTEN_ANSWERS_NESTED). The 400 shape
 * (`{code: 'ValidationError', message, errors: [{field, code, message}]}`) is undocumented (the doc
 * lists 200/401/403/404 only): a simulator choice.
 */

import type { Clock } from '../../../../sandbox/clock.ts';
import {
  type SimulatorStateStore,
  simulatorPersistence,
} from '../../../../sandbox/simulators/persistence.ts';
import { type Simulator, startSimulator } from '../../../../sandbox/simulators/server.ts';
import type { Log } from '../../../core/log.ts';
import { type MachineActions, machineActions } from './machines.ts';
import { reportRoutes } from './report-routes.ts';
import { sandboxControlRoutes } from './sandbox-controls.ts';
import {
  createMachineMetricsSimState,
  type MachineMetricsSavedState,
  machineMetricsSavedState,
} from './state.ts';
import { type WebhookDelivery, type WorkflowWebhookTarget, workflowWebhooks } from './webhooks.ts';
import type { MachineMetricsWorld } from './world.ts';

export { SimulatorInputError } from '../../../../sandbox/simulators/server.ts';
export { ASSUMED_NO_SHIFT, aggregateDowntime, type SimDowntimeReport, type SimReportItem } from './report.ts';
export {
  ASSUMED_CSV_EXPIRY_MS,
  downtimeCsv,
  FLATTEN_ANSWERS_NESTED,
  INVALID_TOKEN_BODY,
  isBearer,
  simUserToken,
} from './report-routes.ts';
export { MACHINEMETRICS_SIM_STATE_VERSION, type MachineMetricsSavedState } from './state.ts';
export {
  ASSUMED_REPORT_GROUPS,
  type SimDowntimeQuery,
  type ValidationIssue,
  validateDowntimeQuery,
} from './validation.ts';
export type { WebhookDelivery, WorkflowWebhookTarget } from './webhooks.ts';
export {
  categorizeDowntime,
  createMachineMetricsWorld,
  type DowntimeRecord,
  fleetMachine,
  type MachineMetricsWorld,
  markMachineDown,
  markMachineUp,
  reasonOf,
  SIM_MACHINES,
  SIM_REASONS,
  type SimMachine,
  type SimReason,
} from './world.ts';

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
  /** Machines in the company (default the doc's three samples; see `fleetMachine` for the ids). */
  fleet?: number;
  /**
   * How many entries each log keeps, newest (requests, webhook deliveries; default
   * REQUEST_LOG_LIMIT): one is added per request or delivery, for as long as a sandbox runs.
   */
  requestLogLimit?: number;
}

export interface MachineMetricsSimulator extends Simulator, MachineActions {
  world: MachineMetricsWorld;
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
  const state = createMachineMetricsSimState(options.clock, options.apiKey, options.fleet);
  const webhooks = workflowWebhooks(state, {
    target: options.workflowWebhook,
    retryDelayMs: options.webhookRetryDelayMs,
    log: options.log,
    logLimit: options.requestLogLimit,
  });
  const machines = machineActions(state, webhooks);
  const saved = machineMetricsSavedState(state);
  const persistence = simulatorPersistence(options.store, saved);
  persistence.restore();

  const simulator = await startSimulator({
    name: 'machinemetrics',
    routes: [...reportRoutes(state), ...sandboxControlRoutes(state, machines)],
    port: options.port,
    requestLogLimit: options.requestLogLimit,
    commit: persistence.commit,
  });
  const close = simulator.close;
  return Object.assign(simulator, {
    world: state.world,
    down: persistence.committing(machines.down),
    up: persistence.committing(machines.up),
    categorize: persistence.committing(machines.categorize),
    exportState: saved.exportState,
    importState: persistence.committing(saved.importState),
    setApiKey: (key: string) => {
      state.apiKey = key;
    },
    webhookDeliveries: webhooks.deliveries,
    flushWebhooks: webhooks.flush,
    close: async () => {
      await webhooks.flush();
      await close();
    },
  });
}
