/**
 * The simulator's mutable state beside the world (the accepted API key, the webhook id sequence) and
 * what of it survives a restart.
 */
import type { Clock } from '../../../../sandbox/clock.ts';
import { versionedState } from '../../../../sandbox/simulators/persistence.ts';
import type { SimDowntimeReport } from './report.ts';
import { createMachineMetricsWorld, type DowntimeRecord, type MachineMetricsWorld } from './world.ts';

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

/** Everything the routes and control actions read and change. */
export interface MachineMetricsSimState {
  readonly clock: Clock;
  readonly world: MachineMetricsWorld;
  /** The accepted API key (`setApiKey` rotates it). */
  apiKey: string;
  /** The last Workflow webhook id number. */
  webhookSequence: number;
  /** Reports asked with `csv: true`, by resource id (in memory only: links die with a restart). */
  readonly csvExports: Map<number, CsvExport>;
  /** The last CSV resource id (the doc types `resourceId` as an integer, api-doc.txt:305). */
  csvSequence: number;
}

/** A report kept for its CSV download until `expires`. */
export interface CsvExport {
  report: SimDowntimeReport;
  groupBy: string[];
  expires: Date;
}

export function createMachineMetricsSimState(
  clock: Clock,
  apiKey: string,
  fleet?: number,
): MachineMetricsSimState {
  return {
    clock,
    world: createMachineMetricsWorld(fleet),
    apiKey,
    webhookSequence: 0,
    csvExports: new Map(),
    csvSequence: 0,
  };
}

/** The saved state of one simulator's world. */
export const machineMetricsSavedState = versionedState<MachineMetricsSimState, MachineMetricsSavedState>({
  simulator: 'machinemetrics',
  version: MACHINEMETRICS_SIM_STATE_VERSION,
  fields: { records: 'array', webhookSequence: 'integer' },
  save: (state) => ({ records: state.world.records, webhookSequence: state.webhookSequence }),
  load: (state, saved) => {
    state.world.records.splice(0, state.world.records.length, ...saved.records);
    state.webhookSequence = saved.webhookSequence;
  },
});
