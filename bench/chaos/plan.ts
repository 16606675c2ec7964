/**
 * The chaos run's workload, made from a seed: which machines go down and come back, which parts are
 * used and restocked in which system, when, and which deliberate poison messages go where. Times are
 * simulated minutes from the run's start; the harness turns them into real time with its scale.
 */
import { seededRandom } from '../../sandbox/simulators/server.ts';

/** One thing that happens in a vendor system (a source event of a flow). */
export type Action =
  | { kind: 'machine-down' | 'machine-up'; at: number; machine: number; cycle: number }
  | { kind: 'mw-consume' | 'mw-restock'; at: number; part: number; cycle: number }
  | { kind: 'upkeep-consume' | 'upkeep-restock'; at: number; part: number; cycle: number }
  | { kind: 'poison'; at: number; index: number };

export interface Plan {
  seed: number;
  /** Source events in the plan (poison included). */
  events: number;
  machines: number;
  mwParts: number;
  upkeepParts: number;
  /** Down/up (or consume/restock) cycles per machine or part. */
  cycles: number;
  poison: number;
  /** Simulated minutes from the start to the last action. */
  spanMinutes: number;
  /** Every action, in time order. */
  actions: Action[];
  /** A machine's downtime of each cycle (simulated minutes), for the expected effects. */
  downtime: { machine: number; cycle: number; down: number; up: number }[];
}

export const MACHINE_CYCLE_MINUTES = 35;
export const PART_CYCLE_MINUTES = 20;
/** Part stock: above the minimum at rest, below it after a consumption. */
export const PART_STOCK = { quantity: 10, minimum: 5, consume: 6 } as const;

/**
 * `events` source events: 40% machine down/up (two per downtime episode), 30% Mobility Work part
 * consumptions and restocks, 30% UpKeep part consumptions and restocks, plus `poison` deliberate
 * poison messages. Entities are staggered over the first `staggerMinutes`.
 */
export function makePlan(options: {
  events: number;
  seed: number;
  cycles?: number;
  poison?: number;
  staggerMinutes?: number;
}): Plan {
  const random = seededRandom(options.seed);
  const cycles = options.cycles ?? 4;
  const poison = options.poison ?? 9;
  const stagger = options.staggerMinutes ?? 30;
  const perEntity = 2 * cycles;
  const machines = Math.max(1, Math.round((options.events * 0.4) / perEntity));
  const mwParts = Math.max(1, Math.round((options.events * 0.3) / perEntity));
  const upkeepParts = Math.max(1, Math.round((options.events * 0.3) / perEntity));
  const actions: Action[] = [];
  const downtime: Plan['downtime'] = [];
  // Whole simulated seconds: vendors stamp events to the second.
  const sec = (minutes: number) => Math.round(minutes * 60) / 60;

  for (let m = 0; m < machines; m++) {
    const offset = random() * stagger;
    for (let c = 0; c < cycles; c++) {
      const down = sec(offset + c * MACHINE_CYCLE_MINUTES);
      // The REST-only detector (machinemetrics/detector.ts) sees an episode for sure only when it
      // covers a whole 10-minute window on its 5-minute grid: at least minimum + step = 15 minutes.
      const up = sec(down + 16 + random() * 8);
      actions.push({ kind: 'machine-down', at: down, machine: m, cycle: c });
      actions.push({ kind: 'machine-up', at: up, machine: m, cycle: c });
      downtime.push({ machine: m, cycle: c, down, up });
    }
  }
  const parts = (kind: 'mw' | 'upkeep', count: number) => {
    for (let p = 0; p < count; p++) {
      const offset = random() * stagger;
      for (let c = 0; c < cycles; c++) {
        const consume = sec(offset + c * PART_CYCLE_MINUTES);
        const restock = sec(consume + 8 + random() * 4);
        actions.push({ kind: `${kind}-consume`, at: consume, part: p, cycle: c });
        actions.push({ kind: `${kind}-restock`, at: restock, part: p, cycle: c });
      }
    }
  };
  parts('mw', mwParts);
  parts('upkeep', upkeepParts);
  const lastRegular = Math.max(...actions.map((a) => a.at));
  for (let i = 0; i < poison; i++)
    actions.push({ kind: 'poison', at: sec(random() * lastRegular), index: i });
  actions.sort((a, b) => a.at - b.at);
  return {
    seed: options.seed,
    events: actions.length,
    machines,
    mwParts,
    upkeepParts,
    cycles,
    poison,
    spanMinutes: Math.max(...actions.map((a) => a.at)),
    actions,
    downtime,
  };
}
