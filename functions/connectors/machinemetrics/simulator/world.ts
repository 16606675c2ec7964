/**
 * The MachineMetrics world: machines, reasons and downtime records, and the changes a machine goes
 * through (down, up, categorised). Records of one machine never overlap (reference §4.3 A1-A3).
 */
import { SimulatorInputError } from '../../../../sandbox/simulators/server.ts';

export interface SimMachine {
  id: string;
  name: string;
}

export interface SimReason {
  /** A number for user reasons, a string for virtual ones (as the vendor sends them). */
  id: number | string;
  name: string;
  color: string;
  virtual?: true;
}

export interface DowntimeRecord {
  machineId: string;
  start: string;
  /** null while the machine is still down. */
  end: string | null;
  /** `String(reason.id)`. */
  reasonId: string;
}

export interface MachineMetricsWorld {
  machines: SimMachine[];
  reasons: SimReason[];
  records: DowntimeRecord[];
}

/** The machines and reasons of the vendor's own samples (reference §3.3). */
export const SIM_MACHINES: readonly SimMachine[] = [
  { id: '0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c', name: 'MACHINE 1' },
  { id: '5faa6680-fa0f-4e37-ba0b-09a46a945cef', name: 'MACHINE 2' },
  { id: 'f1e76e5f-a9cd-4ae0-9c63-48b78e3cf013', name: 'MACHINE 3' },
];

export const SIM_REASONS: readonly SimReason[] = [
  { id: 33, name: 'Chipping Out', color: '#dea638' },
  { id: 95, name: 'Part Changeover', color: '#de7020' },
  { id: 'uncategorized', name: 'Uncategorized', color: '#444444', virtual: true },
  { id: 'setup', name: 'Setup', color: '#edde00', virtual: true },
];

/**
 * Machine `n` (1-based) of a seeded fleet: the doc's three samples first, then UUID-shaped ids that
 * are the same in every run (`00000000-0000-4000-8000-<n in hex>`), named `MACHINE <n>`.
 */
export function fleetMachine(n: number): SimMachine {
  const sample = SIM_MACHINES[n - 1];
  if (sample) return { ...sample };
  return { id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`, name: `MACHINE ${n}` };
}

/** `fleet`: how many machines (default the doc's three samples). */
export function createMachineMetricsWorld(fleet = SIM_MACHINES.length): MachineMetricsWorld {
  return {
    machines: Array.from({ length: fleet }, (_, i) => fleetMachine(i + 1)),
    reasons: SIM_REASONS.map((r) => ({ ...r })),
    records: [],
  };
}

const machineOf = (world: MachineMetricsWorld, machineId: string): SimMachine => {
  const machine = world.machines.find((m) => m.id === machineId);
  if (!machine) throw new SimulatorInputError(404, `unknown machine ${machineId}`);
  return machine;
};

export const reasonOf = (world: MachineMetricsWorld, reasonId: string | number): SimReason => {
  const reason = world.reasons.find((r) => String(r.id) === String(reasonId));
  if (!reason) throw new SimulatorInputError(400, `unknown reason ${String(reasonId)}`);
  return reason;
};

const latestRecord = (world: MachineMetricsWorld, machineId: string): DowntimeRecord | undefined =>
  world.records.filter((r) => r.machineId === machineId).at(-1);

/** Start a downtime record (the machine stops). */
export function markMachineDown(
  world: MachineMetricsWorld,
  machineId: string,
  options: { at: Date; reasonId?: string | number },
): DowntimeRecord {
  machineOf(world, machineId);
  const reason = reasonOf(world, options.reasonId ?? 'uncategorized');
  const last = latestRecord(world, machineId);
  if (last && last.end === null) throw new SimulatorInputError(409, `machine ${machineId} is already down`);
  if (last?.end && Date.parse(last.end) > options.at.getTime()) {
    throw new SimulatorInputError(400, `downtime would overlap the record ending ${last.end}`);
  }
  const record: DowntimeRecord = {
    machineId,
    start: options.at.toISOString(),
    end: null,
    reasonId: String(reason.id),
  };
  world.records.push(record);
  return record;
}

/** Close the open downtime record (the machine runs again). */
export function markMachineUp(
  world: MachineMetricsWorld,
  machineId: string,
  options: { at: Date },
): DowntimeRecord {
  machineOf(world, machineId);
  const last = latestRecord(world, machineId);
  if (!last || last.end !== null) throw new SimulatorInputError(409, `machine ${machineId} is not down`);
  if (options.at.getTime() < Date.parse(last.start)) {
    throw new SimulatorInputError(400, `up time is before the downtime start ${last.start}`);
  }
  last.end = options.at.toISOString();
  return last;
}

/** Set the reason of the machine's latest downtime record (an operator categorises it). */
export function categorizeDowntime(
  world: MachineMetricsWorld,
  machineId: string,
  reasonId: string | number,
): DowntimeRecord {
  machineOf(world, machineId);
  const reason = reasonOf(world, reasonId);
  const last = latestRecord(world, machineId);
  if (!last) throw new SimulatorInputError(409, `machine ${machineId} has no downtime to categorise`);
  last.reasonId = String(reason.id);
  return last;
}
