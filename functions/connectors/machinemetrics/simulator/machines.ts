/**
 * What happens to a machine (down, up, categorised): the world changes, then a Workflow webhook tells
 * whoever listens.
 */
import { MM_WEBHOOK_EVENTS } from '../webhook.ts';
import type { MachineMetricsSimState } from './state.ts';
import type { WorkflowWebhooks } from './webhooks.ts';
import {
  categorizeDowntime,
  type DowntimeRecord,
  markMachineDown,
  markMachineUp,
  reasonOf,
} from './world.ts';

export interface MachineActions {
  /** Machine stops (default reason `uncategorized`, default time = clock now). */
  down(machineId: string, options?: { reasonId?: string | number; at?: Date }): DowntimeRecord;
  /** Machine runs again (default time = clock now). */
  up(machineId: string, options?: { at?: Date }): DowntimeRecord;
  categorize(machineId: string, reasonId: string | number): DowntimeRecord;
}

export function machineActions(state: MachineMetricsSimState, webhooks: WorkflowWebhooks): MachineActions {
  const { clock, world } = state;
  const nameOf = (machineId: string) => world.machines.find((m) => m.id === machineId)?.name;

  const down: MachineActions['down'] = (machineId, opts = {}) => {
    const record = markMachineDown(world, machineId, { at: opts.at ?? clock.now(), reasonId: opts.reasonId });
    const reason = reasonOf(world, record.reasonId);
    webhooks.notify({
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

  const up: MachineActions['up'] = (machineId, opts = {}) => {
    const record = markMachineUp(world, machineId, { at: opts.at ?? clock.now() });
    const end = record.end ?? clock.now().toISOString();
    webhooks.notify({
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

  const categorize: MachineActions['categorize'] = (machineId, reasonId) => {
    const record = categorizeDowntime(world, machineId, reasonId);
    const reason = reasonOf(world, record.reasonId);
    webhooks.notify({
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

  return { down, up, categorize };
}
