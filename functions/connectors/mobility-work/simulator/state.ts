/**
 * The world seen from outside: a deep-copied snapshot for `GET /_sandbox/state`, the saved state
 * that survives a restart (version MOBILITY_WORK_SIM_STATE_VERSION), and a reset to the seed.
 */
import { SavedStateShapeError, versionedState } from '../../../../sandbox/simulators/persistence.ts';
import { MAIN_STORE, MW_SIM_USERS, SEED_EQUIPMENT, SEED_PLANS, seedParts } from './seed.ts';
import {
  MOBILITY_WORK_SIM_STATE_VERSION,
  type MobilityWorkSavedState,
  type MobilityWorkSimState,
} from './types.ts';
import type { MobilityWorkWorld } from './world.ts';
import { scheduleWrite, stopPendingTimers } from './writes.ts';

export function snapshot(world: MobilityWorkWorld): MobilityWorkSimState {
  return structuredClone({
    networkId: world.config.networkId,
    plan: world.config.plan,
    equipment: world.equipment,
    users: [...MW_SIM_USERS],
    locations: world.locations,
    maintenancePlans: [...SEED_PLANS],
    spareParts: world.spareParts,
    tasks: world.tasks,
    activities: world.activities,
    pendingWrites: world.pending.map((entry) => entry.record),
    rejectedItems: world.rejectedItems,
  });
}

/** Back to the seed: records, pending writes, events and deliveries; write and delivery numbers go on. */
export function resetWorld(world: MobilityWorkWorld): void {
  stopPendingTimers(world);
  world.pending = [];
  world.equipment = SEED_EQUIPMENT.map((e) => ({ ...e }));
  world.locations = [MAIN_STORE];
  world.spareParts = seedParts();
  world.partCounter = world.spareParts.length;
  world.tasks = [];
  world.activities = [];
  world.rejectedItems = [];
  world.deliveries = [];
  world.events = [];
}

/** The saved state of one simulator's world; pending writes are scheduled again on import. */
export const mobilityWorkSavedState = versionedState<MobilityWorkWorld, MobilityWorkSavedState>({
  simulator: 'mobility-work',
  version: MOBILITY_WORK_SIM_STATE_VERSION,
  fields: {
    equipment: 'array',
    locations: 'array',
    spareParts: 'array',
    sparePartSequence: 'integer',
    tasks: 'array',
    activities: 'array',
    pendingWrites: 'array',
    writeSequence: 'integer',
    rejectedItems: 'array',
  },
  save: (world) => ({
    equipment: world.equipment,
    locations: world.locations,
    spareParts: world.spareParts,
    sparePartSequence: world.partCounter,
    tasks: world.tasks,
    activities: world.activities,
    pendingWrites: world.pending.map((entry) => entry.record),
    writeSequence: world.writeCounter,
    rejectedItems: world.rejectedItems,
  }),
  load: (world, state) => {
    const unknown = state.pendingWrites.find((w) => !world.bulkAppliers.has(w.endpoint));
    if (unknown) {
      throw new SavedStateShapeError(
        `pending write ${unknown.id} is for an unknown endpoint ${unknown.endpoint}`,
      );
    }
    stopPendingTimers(world);
    Object.assign(world, {
      pending: [],
      equipment: state.equipment,
      locations: state.locations,
      spareParts: state.spareParts,
      partCounter: state.sparePartSequence,
      tasks: state.tasks,
      // A world saved before its logs were bounded keeps only the newest entries.
      activities: state.activities.slice(-world.config.logLimit),
      writeCounter: state.writeSequence,
      rejectedItems: state.rejectedItems.slice(-world.config.logLimit),
    } satisfies Partial<MobilityWorkWorld>);
    for (const record of state.pendingWrites) scheduleWrite(world, record);
  },
});
