/**
 * The downtime report: the vendor-shaped answer of `POST /reports/downtime` for a validated query
 * (reference §2, §3.3). Aggregates are clipped to [start, end); an open record counts up to
 * min(end, now); day/hour buckets run from the query start, with ordinal ids as in the vendor's samples.
 */
import type { SimDowntimeQuery } from './validation.ts';
import type { MachineMetricsWorld } from './world.ts';

const BUCKET_MS: Record<string, number> = { hour: 3_600_000, day: 86_400_000 };

/**
 * ASSUMED: the simulated company defines no shifts, so `groupBy shift` answers one bucket named
 * "No Shift" (the name third-party code shows for time outside any shift, reference.md §2.6); its id
 * is undocumented.
 */
export const ASSUMED_NO_SHIFT = { id: 'no-shift', name: 'No Shift' } as const;

interface Segment {
  record: number;
  keys: Record<string, string>;
  ms: number;
}

export interface SimReportItem {
  entity: { type: string; id: string };
  aggregate: { downtimeMs: number; recordCount: number };
  items?: SimReportItem[];
}

export interface SimDowntimeReport {
  range: { start: string; end: string };
  aggregate: { downtimeMs: number; recordCount: number };
  entities: Record<string, Record<string, unknown>>;
  items: SimReportItem[];
}

const aggregateOf = (segments: Segment[]) => ({
  downtimeMs: segments.reduce((sum, s) => sum + s.ms, 0),
  recordCount: new Set(segments.map((s) => s.record)).size,
});

function nest(segments: Segment[], groups: string[], depth: number): SimReportItem[] {
  const group = groups[depth];
  if (group === undefined) return [];
  const buckets = new Map<string, Segment[]>();
  for (const segment of segments) {
    const key = segment.keys[group] ?? '';
    const bucket = buckets.get(key);
    if (bucket) bucket.push(segment);
    else buckets.set(key, [segment]);
  }
  return [...buckets].map(([id, members]) => ({
    entity: { type: group, id },
    aggregate: aggregateOf(members),
    ...(depth + 1 < groups.length ? { items: nest(members, groups, depth + 1) } : {}),
  }));
}

/** The vendor-shaped report for a validated query, at simulated time `now`. */
export function aggregateDowntime(
  world: MachineMetricsWorld,
  query: SimDowntimeQuery,
  now: Date,
): SimDowntimeReport {
  const qStart = query.start.getTime();
  const qEnd = query.end.getTime();
  const filter = query.machines ? new Set(query.machines) : undefined;
  const machines = filter ? world.machines.filter((m) => filter.has(m.id)) : world.machines;
  const wanted = new Set(machines.map((m) => m.id));
  const bucketSizes = query.groupBy.map((g) => BUCKET_MS[g]).filter((ms): ms is number => ms !== undefined);
  const split = bucketSizes.length > 0 ? Math.min(...bucketSizes) : undefined;

  const segments: Segment[] = [];
  world.records.forEach((record, index) => {
    if (!wanted.has(record.machineId)) return;
    const start = Math.max(Date.parse(record.start), qStart);
    const end = Math.min(record.end === null ? now.getTime() : Date.parse(record.end), qEnd);
    for (let from = start; from < end; ) {
      const to =
        split === undefined ? end : Math.min(end, qStart + (Math.floor((from - qStart) / split) + 1) * split);
      const keys: Record<string, string> = {
        machine: record.machineId,
        reason: record.reasonId,
        shift: ASSUMED_NO_SHIFT.id,
      };
      for (const [group, size] of Object.entries(BUCKET_MS))
        keys[group] = String(Math.floor((from - qStart) / size));
      segments.push({ record: index, keys, ms: to - from });
      from = to;
    }
  });

  const entities: Record<string, Record<string, unknown>> = {};
  for (const group of query.groupBy) {
    if (group === 'machine') {
      entities.machine = Object.fromEntries(machines.map((m) => [m.id, { id: m.id, name: m.name }]));
    } else if (group === 'reason') {
      entities.reason = Object.fromEntries(world.reasons.map((r) => [String(r.id), { ...r }]));
    } else if (group === 'shift') {
      entities.shift = { [ASSUMED_NO_SHIFT.id]: { ...ASSUMED_NO_SHIFT } };
    } else {
      const size = BUCKET_MS[group] ?? 86_400_000;
      const buckets: Record<string, unknown> = {};
      for (let k = 0; qStart + k * size < qEnd; k++) {
        const start = new Date(qStart + k * size).toISOString();
        const end = new Date(Math.min(qStart + (k + 1) * size, qEnd)).toISOString();
        buckets[String(k)] = group === 'day' ? { start, end, shopDate: start } : { start, end };
      }
      entities[group] = buckets;
    }
  }

  return {
    range: { start: query.start.toISOString(), end: query.end.toISOString() },
    aggregate: aggregateOf(segments),
    entities,
    items: nest(segments, query.groupBy, 0),
  };
}
