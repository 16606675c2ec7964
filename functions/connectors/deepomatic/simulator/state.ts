/**
 * The simulator's world: the work orders, the sequence their ids come from, the settings of the
 * application (engineers, types, progress rate) and the accepted API key, and what of it survives a
 * restart.
 */
import type { Clock } from '../../../../sandbox/clock.ts';
import { versionedState } from '../../../../sandbox/simulators/persistence.ts';
import { SimulatorInputError } from '../../../../sandbox/simulators/server.ts';
import {
  DEEPOMATIC_SIM_DEFAULT_ENGINEERS,
  DEEPOMATIC_SIM_DEFAULT_TYPES,
  type DeepomaticSimTaskDefinition,
} from './catalogue.ts';

export interface DeepomaticSimTask extends DeepomaticSimTaskDefinition {
  state: unknown;
}

export interface DeepomaticSimWorkOrder {
  id: string;
  name: string;
  createdAtMs: number;
  /** Last write (create, PATCH, control); `update_date` is the later of this and the last progress step. */
  writtenAtMs: number;
  reviewDate: string | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  types: string[];
  fieldEngineerEmail: string | null;
  userGroupIds: (string | number)[];
  tasks: DeepomaticSimTask[];
  /** Set by an outcome: progress no longer follows the clock. */
  progressOverride: number | null;
}

export type DeepomaticSimOutcome = 'passed' | 'failed';

/** The options that shape the world (the simulator's options less port and store). */
export interface DeepomaticSimSettings {
  clock: Clock;
  apiKey: string;
  /** E-mails of the Deepomatic users (default ['tech@plant.example']). */
  engineers?: string[];
  /** Work-order types configured in the application (default ['photo-validation', 'maintenance']). */
  workOrderTypes?: string[];
  /** Progress points per sandbox-clock minute from creation until 100 (default 20; 0 = never moves). */
  progressPerMinute?: number;
  /** Refuse a create without `metadata` (default false: the doc marks it optional; see the header). */
  requireMetadata?: boolean;
}

export const DEEPOMATIC_SIM_STATE_VERSION = 1;

/**
 * What survives a restart: the work orders (progress is derived from their creation time and the
 * clock, so it keeps advancing) and the sequence their ids come from. Engineers, types and the API
 * key come from the options.
 */
export interface DeepomaticSavedState {
  simulator: 'deepomatic';
  version: typeof DEEPOMATIC_SIM_STATE_VERSION;
  workOrders: DeepomaticSimWorkOrder[];
  /** The last work-order number (ids are derived from it and never reused, even after reset). */
  workOrderSequence: number;
}

/** A control action that cannot be applied; `status` is what the control API answers. */
export class DeepomaticSimInputError extends SimulatorInputError<400 | 404> {}

/** Everything the routes and control actions read and change. */
export interface DeepomaticSimState {
  readonly clock: Clock;
  /** Lower-cased e-mails of the Deepomatic users. */
  readonly engineers: Set<string>;
  /** Configured work-order types. */
  readonly types: string[];
  /** Progress points per clock minute. */
  readonly rate: number;
  readonly requireMetadata: boolean;
  apiKey: string;
  /** The last work-order number. */
  sequence: number;
  /** In creation order. */
  workOrders: DeepomaticSimWorkOrder[];
}

export function createDeepomaticSimState(settings: DeepomaticSimSettings): DeepomaticSimState {
  return {
    clock: settings.clock,
    engineers: new Set(
      (settings.engineers ?? [...DEEPOMATIC_SIM_DEFAULT_ENGINEERS]).map((e) => e.toLowerCase()),
    ),
    types: [...(settings.workOrderTypes ?? DEEPOMATIC_SIM_DEFAULT_TYPES)],
    rate: settings.progressPerMinute ?? 20,
    requireMetadata: settings.requireMetadata ?? false,
    apiKey: settings.apiKey,
    sequence: 0,
    workOrders: [],
  };
}

/** By id, else the most recently created of that name. */
export const findWorkOrder = (
  state: DeepomaticSimState,
  idOrName: string,
): DeepomaticSimWorkOrder | undefined =>
  state.workOrders.find((w) => w.id === idOrName) ??
  state.workOrders.filter((w) => w.name === idOrName).at(-1);

export const mustFindWorkOrder = (state: DeepomaticSimState, idOrName: string): DeepomaticSimWorkOrder => {
  const wo = findWorkOrder(state, idOrName);
  if (!wo) throw new DeepomaticSimInputError(404, `no work order with id or name ${idOrName}`);
  return wo;
};

/** The saved state of one simulator's world. */
export const deepomaticSavedState = versionedState<DeepomaticSimState, DeepomaticSavedState>({
  simulator: 'deepomatic',
  version: DEEPOMATIC_SIM_STATE_VERSION,
  fields: { workOrders: 'array', workOrderSequence: 'integer' },
  save: (state) => ({ workOrders: state.workOrders, workOrderSequence: state.sequence }),
  load: (state, saved) => {
    state.workOrders = saved.workOrders;
    state.sequence = saved.workOrderSequence;
  },
});
