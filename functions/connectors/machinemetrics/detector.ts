/**
 * The REST-only downtime-episode detector of reference §4.3, as pure code.
 *
 * MachineMetrics REST has no downtime records, ids or push: only `downtimeMs` totals over a query
 * window. Episodes are synthesised from deterministic windows:
 *
 * - Windows end on `tEnd = lastEvaluatedEnd + P` while `tEnd <= floorToMinute(now) - L` (P = step,
 *   L = settle delay). They never derive from `now` directly, so a retried run evaluates the same
 *   windows and produces the same event ids. The first run evaluates one window, aligned to P
 *   (no backfill). Missed runs are replayed window by window, at most `maxCatchUpMinutes`.
 * - Per window (N = minimum minutes, ε = 2 %):
 *   Q1 `[tEnd-N, tEnd)` by machine, reason: a machine is DOWN_N when `downtimeMs >= N·(1-ε)`.
 *      UP → DOWN emits `started` (episodeKey `${machine}/${tEnd}`), with startedAt refined by
 *      `[tEnd-N-P, tEnd-N)` (startedAt = tEnd-N - that downtime) and the dominant Q1 reason.
 *   Q2 `[tEnd-P, tEnd)` by machine, for DOWN machines: less than `P·(1-ε)` down means it ran
 *      again: `ended` at `(tEnd-P) + slice downtime`; the entry stays ENDED for a grace period.
 *   Q3 `[reasonFrom, min(reasonTo, tEnd))` by machine, reason, for the DOWN or in-grace machines:
 *      a new dominant reason (non-virtual first) emits `categorized`. The range is on the window grid
 *      (from the refinement step before detection to the window that saw the end), so the episodes
 *      of many machines share one query: requests grow with distinct ranges, not machines.
 * - Only `options.machines` are tracked when given (the flows' mapped machines): Q1 asks for them
 *   alone and rows of other machines are ignored, never stored.
 *   Q2 and Q3 run only when some machine is DOWN or in grace: one request per window otherwise.
 * - A machine whose report rows did not parse (a report's `skipped`) is unknown for the window, not
 *   "no downtime": it keeps the state it had before the window and gets no event from it (an absent
 *   row would otherwise end a running episode); it is listed in the outcome's `skipped` and
 *   evaluated again in the next window. The other machines are evaluated as usual.
 *
 * `evaluateWindow` is a generator that yields the report queries it needs and receives their
 * answers; it does no I/O, reads no clock and does not mutate its input. `driveWindow` runs it
 * against any reader (the MachineMetrics client, or an in-memory fake in tests).
 */
import * as z from 'zod/mini';
import type { FlowEvent } from '../../core/flow.ts';
import type { RecordProblem } from '../../core/records.ts';
import { lazySchema } from '../../core/schema.ts';
import type { DowntimeGroup, DowntimeReport, MachineDowntime } from './client.ts';
import {
  DOWNTIME_CATEGORIZED,
  DOWNTIME_ENDED,
  DOWNTIME_STARTED,
  type DowntimeCategorized,
  type DowntimeEnded,
  type DowntimeStarted,
} from './events.ts';

export const MINUTE_MS = 60_000;
/** ε: a window counts as "down throughout" at 98 % downtime (rounding, ingest jitter). */
export const DOWN_TOLERANCE = 0.02;
export const POLL_EVENT_SOURCE = 'machinemetrics.poll';

const minutes = (min: number) => z.number().check(z.int(), z.minimum(min));

export const downtimePollOptionsSchema = lazySchema(() =>
  z
    .object({
      /** N: a machine must be down this long before an episode starts. */
      minimumMinutes: minutes(1),
      /** P: evaluation step (and schedule rate). */
      stepMinutes: z._default(minutes(1), 5),
      /** L: the last L minutes are not evaluated yet (vendor ingest latency). */
      settleMinutes: z._default(minutes(0), 5),
      /** Missed runs are replayed up to this far back; older windows are skipped (and logged). */
      maxCatchUpMinutes: z._default(minutes(1), 1440),
      /** How long after an episode ended a re-categorisation is still reported. */
      recategorizeGraceMinutes: z._default(minutes(0), 60),
      /**
       * Backfill only (backfill.ts): how far before the window the detector runs, without emitting, to
       * rebuild the episodes under way; an episode older than that is not backfilled.
       */
      backfillLookbackMinutes: z._default(minutes(0), 720),
      /**
       * The machines to track (the flows' mapped machines); undefined = every machine of the company,
       * empty = none (no report is read). Rows of other machines are ignored and never stored.
       */
      machines: z.optional(z.array(z.string().check(z.minLength(1)))),
      /**
       * In a shared poll (functions/runtime/shared-poll.ts): receive the events of every machine the
       * group tracks, not only of `machines`. The UpKeep flow sets it: it records "no work order" for
       * an episode it does not map, which the task-status flow waits for on the other flows' episodes.
       */
      groupMachines: z.optional(z.boolean()),
    })
    .check(
      z.refine((o) => o.minimumMinutes >= o.stepMinutes, {
        message: 'minimumMinutes must be >= stepMinutes (pick N >= 2·P)',
        path: ['minimumMinutes'],
      }),
    ),
);
/** What a flow passes (defaults optional). */
export type DowntimePollOptions = z.input<typeof downtimePollOptionsSchema>;
/** With defaults applied. */
export type ResolvedDowntimePollOptions = z.output<typeof downtimePollOptionsSchema>;

export const episodeStateSchema = lazySchema(() =>
  z.object({
    status: z.enum(['DOWN', 'ENDED']),
    episodeKey: z.string().check(z.minLength(1)),
    machineName: z.string(),
    startedAt: z.iso.datetime(),
    detectedAt: z.iso.datetime(),
    reasonId: z.string(),
    reasonName: z.string(),
    endedAt: z.optional(z.iso.datetime()),
    graceUntil: z.optional(z.iso.datetime()),
    /**
     * The reason query's range, on the window grid (the step before detection, up to the window that
     * saw the end), so episodes of many machines share one query. Absent in state saved before: then
     * [startedAt, endedAt).
     */
    reasonFrom: z.optional(z.iso.datetime()),
    reasonTo: z.optional(z.iso.datetime()),
  }),
);
export type EpisodeState = z.infer<typeof episodeStateSchema>;

/** Watermark plus the open (DOWN) and in-grace (ENDED) episodes; UP machines have no entry. */
export const downtimePollStateSchema = lazySchema(() =>
  z.object({
    lastEvaluatedEnd: z.iso.datetime(),
    machines: z.record(z.string(), episodeStateSchema),
  }),
);
export type DowntimePollState = z.infer<typeof downtimePollStateSchema>;

// ---------------------------------------------------------------------------------------------
// Windows

export interface WindowPlan {
  /** Window ends to evaluate, oldest first. */
  windows: Date[];
  /** Windows beyond the catch-up cap that were not evaluated. */
  skipped?: { count: number; firstEnd: string; lastEnd: string };
}

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;

/** Which windows to evaluate now. Pure: same watermark and same minute ⇒ same windows. */
export function planWindows(
  lastEvaluatedEnd: string | undefined,
  now: Date,
  options: Pick<ResolvedDowntimePollOptions, 'stepMinutes' | 'settleMinutes' | 'maxCatchUpMinutes'>,
): WindowPlan {
  const step = options.stepMinutes * MINUTE_MS;
  const limit = floorTo(now.getTime(), MINUTE_MS) - options.settleMinutes * MINUTE_MS;
  if (lastEvaluatedEnd === undefined) return { windows: [new Date(floorTo(limit, step))] };
  const last = Date.parse(lastEvaluatedEnd);
  const due = Math.floor((limit - last) / step);
  if (due <= 0) return { windows: [] };
  const maxWindows = Math.max(1, Math.floor(options.maxCatchUpMinutes / options.stepMinutes));
  const skip = Math.max(0, due - maxWindows);
  const windows: Date[] = [];
  for (let k = skip + 1; k <= due; k++) windows.push(new Date(last + k * step));
  if (skip === 0) return { windows };
  return {
    windows,
    skipped: {
      count: skip,
      firstEnd: new Date(last + step).toISOString(),
      lastEnd: new Date(last + skip * step).toISOString(),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One window

export type DetectorQueryPurpose = 'detect' | 'refine-start' | 'still-down' | 'reason';

export interface DetectorQuery {
  purpose: DetectorQueryPurpose;
  start: Date;
  end: Date;
  groupBy: DowntimeGroup[];
  machines?: string[];
}

export interface WindowOutcome {
  events: FlowEvent[];
  state: DowntimePollState;
  summary: string;
  /** Report requests this window needed. */
  requests: number;
  /** Machines left as they were because their rows did not parse (record = machine id). */
  skipped: RecordProblem[];
}

export const episodeKeyFor = (machineId: string, tEnd: Date) => `${machineId}/${tEnd.toISOString()}`;
export const startedEventId = (episodeKey: string) => `mm:downtime:${episodeKey}:started`;
export const categorizedEventId = (episodeKey: string, reasonId: string) =>
  `mm:downtime:${episodeKey}:categorized:${reasonId}`;
export const endedEventId = (episodeKey: string) => `mm:downtime:${episodeKey}:ended`;

interface Dominant {
  id: string;
  name: string;
}

const byDowntimeThenId = (a: [string, { downtimeMs: number }], b: [string, { downtimeMs: number }]) =>
  b[1].downtimeMs - a[1].downtimeMs || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The reason with the most downtime (ties: lowest id, so the choice is deterministic). */
export function dominantReason(
  machine: MachineDowntime | undefined,
  preferNonVirtual: boolean,
): Dominant | undefined {
  const reasons = Object.entries(machine?.reasons ?? {}).filter(([, r]) => r.downtimeMs > 0);
  const real = preferNonVirtual ? reasons.filter(([, r]) => !r.virtual) : [];
  const pick = (real.length > 0 ? real : reasons).sort(byDowntimeThenId)[0];
  return pick ? { id: pick[0], name: pick[1].name } : undefined;
}

const clamp = (value: number, max: number) => Math.min(Math.max(value, 0), max);
const sorted = (ids: Iterable<string>) => [...ids].sort();

function event<T extends Record<string, unknown>>(
  id: string,
  type: string,
  machineId: string,
  tEnd: string,
  data: T,
): FlowEvent {
  return { id, type, source: POLL_EVENT_SOURCE, occurredAt: tEnd, subject: machineId, data };
}

/**
 * Evaluate the window ending at `tEnd`: yields report queries, receives reports, returns events and
 * the state after the window. The runtime saves that state only after the events are enqueued.
 */
export function* evaluateWindow(
  state: DowntimePollState | undefined,
  tEnd: Date,
  options: ResolvedDowntimePollOptions,
): Generator<DetectorQuery, WindowOutcome, DowntimeReport> {
  const N = options.minimumMinutes * MINUTE_MS;
  const P = options.stepMinutes * MINUTE_MS;
  const grace = options.recategorizeGraceMinutes * MINUTE_MS;
  const t = tEnd.getTime();
  const tIso = tEnd.toISOString();
  const prev = state?.machines ?? {};
  let requests = 0;
  /** Machines with a row that did not parse in any report of this window: first problem each. */
  const unreadable = new Map<string, RecordProblem>();
  const note = (report: DowntimeReport): DowntimeReport => {
    for (const p of report.skipped ?? []) if (!unreadable.has(p.record)) unreadable.set(p.record, p);
    return report;
  };

  // Episodes we keep watching this window: DOWN, or ENDED and still within their grace period.
  const tracked = new Map<string, EpisodeState>();
  const wanted = options.machines ? new Set(options.machines) : undefined;
  let expired = 0;
  for (const id of sorted(Object.keys(prev))) {
    const entry = prev[id];
    if (!entry) continue;
    // A machine no flow maps any more is let go (its entry expires).
    if (wanted && !wanted.has(id)) {
      expired++;
      continue;
    }
    const inGrace =
      entry.status === 'ENDED' && entry.graceUntil !== undefined && t <= Date.parse(entry.graceUntil);
    if (entry.status === 'DOWN' || inGrace) tracked.set(id, { ...entry });
    else expired++;
  }
  /** What each tracked machine was before this window (restored for unreadable machines). */
  const before = new Map([...tracked].map(([id, e]) => [id, { ...e }]));

  // Q1: who has been down (nearly) all of the last N minutes? (No machine tracked: nothing to ask.)
  let q1: DowntimeReport = { range: { start: '', end: '' }, machines: {} };
  if (!wanted || wanted.size > 0) {
    requests++;
    q1 = note(
      yield {
        purpose: 'detect',
        start: new Date(t - N),
        end: tEnd,
        groupBy: ['machine', 'reason'],
        ...(options.machines ? { machines: sorted(wanted ?? []) } : {}),
      },
    );
  }
  // Rows of machines we do not track are ignored (a vendor may answer more than the filter asked).
  const downN = sorted(Object.keys(q1.machines)).filter(
    (id) => (!wanted || wanted.has(id)) && (q1.machines[id]?.downtimeMs ?? 0) >= N * (1 - DOWN_TOLERANCE),
  );
  const newlyDown = downN.filter((id) => tracked.get(id)?.status !== 'DOWN');

  // Refine the start of new episodes with the step before the detection window.
  let refine: DowntimeReport | undefined;
  if (newlyDown.length > 0) {
    requests++;
    refine = note(
      yield {
        purpose: 'refine-start',
        start: new Date(t - N - P),
        end: new Date(t - N),
        groupBy: ['machine'],
        machines: newlyDown,
      },
    );
  }

  // Q2: did the DOWN machines run during the last step?
  const down = [...tracked].filter(([, e]) => e.status === 'DOWN').map(([id]) => id);
  const endedNow = new Set<string>();
  if (down.length > 0) {
    requests++;
    const q2 = note(
      yield {
        purpose: 'still-down',
        start: new Date(t - P),
        end: tEnd,
        groupBy: ['machine'],
        machines: down,
      },
    );
    for (const id of down) {
      const sliceMs = clamp(q2.machines[id]?.downtimeMs ?? 0, P);
      if (sliceMs >= P * (1 - DOWN_TOLERANCE)) continue;
      const entry = tracked.get(id);
      if (!entry) continue;
      const endedAt = t - P + sliceMs;
      entry.status = 'ENDED';
      entry.endedAt = new Date(endedAt).toISOString();
      entry.graceUntil = new Date(endedAt + grace).toISOString();
      if (entry.reasonFrom !== undefined) entry.reasonTo = tIso;
      endedNow.add(id);
    }
  }

  const eventsByMachine = new Map<string, FlowEvent[]>();
  const push = (id: string, e: FlowEvent) => {
    const list = eventsByMachine.get(id) ?? [];
    list.push(e);
    eventsByMachine.set(id, list);
  };

  // Q3: has the episode's reason been (re)categorised? Episodes with the same range share a query.
  const byRange = new Map<string, { start: number; end: number; ids: string[] }>();
  for (const [id, entry] of tracked) {
    const start = Date.parse(entry.reasonFrom ?? entry.startedAt);
    const to = entry.reasonTo ?? entry.endedAt;
    const end = Math.min(to ? Date.parse(to) : t, t);
    if (start >= end) continue;
    const range = byRange.get(`${start}/${end}`) ?? { start, end, ids: [] };
    range.ids.push(id);
    byRange.set(`${start}/${end}`, range);
  }
  const ranges = [...byRange.values()].sort((a, b) => a.start - b.start || a.end - b.end);
  for (const range of ranges) {
    requests++;
    const q3 = note(
      yield {
        purpose: 'reason',
        start: new Date(range.start),
        end: new Date(range.end),
        groupBy: ['machine', 'reason'],
        machines: range.ids,
      },
    );
    for (const id of range.ids) {
      const entry = tracked.get(id);
      if (!entry) continue;
      const reason = dominantReason(q3.machines[id], true);
      if (!reason || reason.id === entry.reasonId) continue;
      entry.reasonId = reason.id;
      entry.reasonName = reason.name;
      push(
        id,
        event(categorizedEventId(entry.episodeKey, reason.id), DOWNTIME_CATEGORIZED, id, tIso, {
          machineId: id,
          machineName: entry.machineName,
          episodeKey: entry.episodeKey,
          reasonId: reason.id,
          reasonName: reason.name,
          categorizedAt: tIso,
        } satisfies DowntimeCategorized),
      );
    }
  }

  for (const id of endedNow) {
    const entry = tracked.get(id);
    if (!entry?.endedAt) continue;
    const downtimeMs = Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
    push(
      id,
      event(endedEventId(entry.episodeKey), DOWNTIME_ENDED, id, tIso, {
        machineId: id,
        machineName: entry.machineName,
        episodeKey: entry.episodeKey,
        startedAt: entry.startedAt,
        endedAt: entry.endedAt,
        downtimeMs,
      } satisfies DowntimeEnded),
    );
  }

  // New episodes (a machine in grace that goes down again starts a new one; its old entry goes).
  for (const id of newlyDown) {
    const machine = q1.machines[id];
    if (!machine) continue;
    // Aggregates cannot tell where in the refinement step the downtime lies; it is assumed to run
    // up to the detection window. A new episode never starts before the previous one ended.
    const previousEnd = tracked.get(id)?.endedAt;
    const maxBefore =
      previousEnd === undefined ? P : Math.min(P, Math.max(0, t - N - Date.parse(previousEnd)));
    const beforeMs = clamp(refine?.machines[id]?.downtimeMs ?? 0, maxBefore);
    const startedAt = new Date(t - N - beforeMs).toISOString();
    // On the grid: the whole refinement step, whose downtime is this episode's by the same assumption.
    const reasonFrom = new Date(
      previousEnd === undefined ? t - N - P : Math.max(t - N - P, Date.parse(previousEnd)),
    ).toISOString();
    const reason = dominantReason(machine, false) ?? { id: 'uncategorized', name: 'Uncategorized' };
    const episodeKey = episodeKeyFor(id, tEnd);
    tracked.set(id, {
      status: 'DOWN',
      episodeKey,
      machineName: machine.name,
      startedAt,
      detectedAt: tIso,
      reasonId: reason.id,
      reasonName: reason.name,
      reasonFrom,
    });
    push(
      id,
      event(startedEventId(episodeKey), DOWNTIME_STARTED, id, tIso, {
        machineId: id,
        machineName: machine.name,
        episodeKey,
        startedAt,
        detectedAt: tIso,
        reasonId: reason.id,
        reasonName: reason.name,
        downtimeMs: machine.downtimeMs + beforeMs,
      } satisfies DowntimeStarted),
    );
  }

  // Unreadable machines: as they were before the window, and no event from it.
  for (const id of unreadable.keys()) {
    eventsByMachine.delete(id);
    const was = before.get(id);
    if (was) tracked.set(id, was);
    else tracked.delete(id);
  }

  const machines: Record<string, EpisodeState> = {};
  for (const id of sorted(tracked.keys())) {
    const entry = tracked.get(id);
    if (entry) machines[id] = entry;
  }
  const events = sorted(eventsByMachine.keys()).flatMap((id) => eventsByMachine.get(id) ?? []);
  const count = (type: string) => events.filter((e) => e.type === type).length;
  const open = Object.values(machines).filter((e) => e.status === 'DOWN').length;
  const inGrace = Object.values(machines).length - open;
  const summary =
    `window ending ${tIso}: ${events.length} event${events.length === 1 ? '' : 's'}` +
    ` (started ${count(DOWNTIME_STARTED)}, categorized ${count(DOWNTIME_CATEGORIZED)}, ended ${count(DOWNTIME_ENDED)});` +
    ` ${open} down, ${inGrace} in grace${expired ? `, ${expired} expired` : ''}; ${requests} report${requests === 1 ? '' : 's'}`;
  const skipped = sorted(unreadable.keys()).map((id) => unreadable.get(id) as RecordProblem);
  return { events, state: { lastEvaluatedEnd: tIso, machines }, summary, requests, skipped };
}

/** Run one window against a report reader (the client, or a fake). */
export async function driveWindow(
  window: Generator<DetectorQuery, WindowOutcome, DowntimeReport>,
  read: (query: DetectorQuery) => Promise<DowntimeReport>,
): Promise<WindowOutcome> {
  let step = window.next();
  while (!step.done) step = window.next(await read(step.value));
  return step.value;
}
