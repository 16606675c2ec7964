/**
 * What every "MachineMetrics downtime -> CMMS" flow shares, whichever CMMS it targets: the
 * downtime settings (minimum, reasons, poller), the triggers, and the per-machine episode state
 * machine.
 *
 * EPISODES. A machine's state is a list of episodes (one per downtime), each keyed by the source's
 * own episode identity: the poller's `<machine>/<window end>` and the Workflow webhook's
 * `wh:<machine>:<start>`. An event goes to the episode that has its key; an event with a key no
 * episode has starts a new episode, which is then merged with an episode of the OTHER source that
 * is the same downtime: starts within the tolerance (the poller refines starts to its step,
 * `min(poll.everyMinutes, minimumMinutes / 2)`), or one's start inside the other's known
 * [start, end). Two keys of one source are always two downtimes; two episodes that both have a
 * CMMS record are never merged. Nothing is decided from "whatever is open", so any delivery order
 * (a batch, a catch-up poll, retries, replays) lands every event on its own episode.
 * The state is bounded: the last KEPT_EPISODES episodes (open ones are never dropped) plus a
 * watermark `staleUpTo`; an event of an unknown episode at or before it is `stale`.
 *
 * Phases of an episode: NOTED (seen through a categorisation or an end only), OPEN (a qualifying
 * "started": it has or is getting its CMMS record), CLOSED (OPEN with its end known).
 *
 * | from              | event                            | to     | effect (each under a `once` claim keyed by the episode) | outcome            |
 * |-------------------|----------------------------------|--------|----------------------------------------------------------|--------------------|
 * | (none)            | started, qualifies               | OPEN   | create the record (with any reason kept on it)           | done               |
 * | (none)            | started, below minimum/excluded  | NOTED  | none (start and reason kept for merging)                 | skipped            |
 * | (none)            | any, older than `staleUpTo`      | (none) | none                                                     | stale              |
 * | (none) / NOTED    | categorized                      | NOTED  | none: the reason is kept and used at create              | skipped            |
 * | (none) / NOTED    | ended                            | NOTED  | none: the end is kept; applied after the create          | skipped            |
 * | NOTED             | started, qualifies               | OPEN / CLOSED | create, then apply the kept end (recovery)        | done               |
 * | OPEN              | started (same key, or same downtime from the other source) | OPEN | finish what an earlier attempt left (create, updates) | duplicate (or done if it finished something) |
 * | OPEN / CLOSED     | categorized, newer than the reason's | same | update the record's reason                           | done               |
 * | OPEN / CLOSED     | categorized, older or the same   | same   | none                                                     | stale / duplicate  |
 * | OPEN              | ended                            | CLOSED | recovery (end and total on the record; asset available)  | done               |
 * | CLOSED            | started / ended again            | CLOSED | none                                                     | duplicate          |
 *
 * "Started" is the only event that creates a record: an end or a categorisation of an OPEN
 * episode whose create failed is kept, and the retried "started" creates AND applies them.
 * A categorisation without episode key (webhook without `downtimeStartedAt`) goes to the episode
 * containing its time, or is kept (last few) until such an episode appears. The latest
 * categorisation by its time wins; a "started" event's reason counts only while none is known
 * (the poller's dominant reason before the webhook's).
 * Limit: when the poller's start is only a lower bound (its first window, or after the catch-up
 * cap) and neither end is known yet, its episode and the webhook's are not matched.
 */
import * as z from 'zod/mini';
import type {
  DowntimeCategorized,
  DowntimeEnded,
  DowntimeStarted,
} from '../../connectors/machinemetrics/events.ts';
import { lazySchema } from '../../core/schema.ts';
import type { StateStore } from '../../core/state.ts';
import { minutes } from './format.ts';

const reasonMatcher = lazySchema(() => z.array(z.string().check(z.minLength(1))));

/** Config fields every downtime flow has (spread into the flow's own lazy z.object; a function so importing builds none). */
export const downtimeSettingsShape = () => ({
  /** A machine must be down this long before the CMMS gets a record. */
  minimumMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1440)), 10),
  /** Reason ids or names (case-insensitive). `include` empty = all reasons. */
  reasons: z._default(
    z.object({ include: z._default(reasonMatcher, []), exclude: z._default(reasonMatcher, []) }),
    { include: [], exclude: [] },
  ),
  /** Downtime poller settings (reference: shared/vendors/machinemetrics/reference.md section 4.3). */
  poll: z._default(
    z.object({
      everyMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(60)), 5),
      settleMinutes: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(120)), 5),
      maxCatchUpMinutes: z._default(z.number().check(z.int(), z.minimum(5)), 1440),
      recategorizeGraceMinutes: z._default(z.number().check(z.int(), z.minimum(0)), 60),
    }),
    { everyMinutes: 5, settleMinutes: 5, maxCatchUpMinutes: 1440, recategorizeGraceMinutes: 60 },
  ),
});

export interface DowntimeSettings {
  minimumMinutes: number;
  reasons: { include: string[]; exclude: string[] };
  poll: {
    everyMinutes: number;
    settleMinutes: number;
    maxCatchUpMinutes: number;
    recategorizeGraceMinutes: number;
  };
}

export function matchesReason(list: readonly string[], id: string, name: string): boolean {
  const wanted = new Set(list.map((r) => r.toLowerCase()));
  return wanted.has(id.toLowerCase()) || wanted.has(name.toLowerCase());
}

export function reasonAllowed(config: DowntimeSettings, id: string, name: string): boolean {
  if (matchesReason(config.reasons.exclude, id, name)) return false;
  return config.reasons.include.length === 0 || matchesReason(config.reasons.include, id, name);
}

/** Why a "started" event gets no CMMS record (below the minimum, excluded reason), if it does not. */
export function startedSkipReason(config: DowntimeSettings, data: DowntimeStarted): string | undefined {
  if (data.downtimeMs < config.minimumMinutes * 60_000 * 0.98) {
    return `down ${minutes(data.downtimeMs)}, below the ${config.minimumMinutes} min minimum (the poller confirms longer downtime)`;
  }
  if (!reasonAllowed(config, data.reasonId, data.reasonName)) {
    return `reason ${data.reasonName} (${data.reasonId}) is not included`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Episodes: the per-machine state machine (transition table in this file's header).

export type EpisodeSource = 'poll' | 'webhook';

/** The Workflow webhook's keys are `wh:<machine>:<start>`; the poller's `<machine>/<window end>`. */
export const sourceOfKey = (key: string): EpisodeSource => (key.startsWith('wh:') ? 'webhook' : 'poll');

/**
 * The time a key names: the downtime's exact start for a webhook key, the end of the window that
 * detected it for a poll key (after the start). Undefined when the key is not in either form.
 */
export function keyTime(key: string, machineId: string): number | undefined {
  const prefix = sourceOfKey(key) === 'webhook' ? `wh:${machineId}:` : `${machineId}/`;
  if (!key.startsWith(prefix)) return undefined;
  const t = Date.parse(key.slice(prefix.length));
  return Number.isNaN(t) ? undefined : t;
}

/** The fields every episode has; each flow adds its CMMS record's id and what it applied. */
export interface EpisodeBase {
  /** The first key seen for this downtime: claims, markers and metadata use it, so it never changes. */
  key: string;
  /** Every source key of this downtime (at most one per source: the poller's and the webhook's). */
  keys: string[];
  machineId: string;
  machineName: string;
  /** When the machine stopped; unknown while only a poll categorisation was seen. */
  startedAt?: string;
  startFrom?: EpisodeSource;
  /** A "started" that qualifies (minimum, reasons) was seen: the episode gets a CMMS record. */
  started: boolean;
  reasonId: string;
  reasonName: string;
  /** Time of the categorisation the reason comes from; absent: from a "started" event. */
  reasonAt?: string;
  /** The source whose "started" gave the reason (the poller's dominant reason beats the webhook's). */
  reasonFrom?: EpisodeSource;
  endedAt?: string;
  downtimeMs?: number;
}

interface PendingReason {
  at: string;
  reasonId: string;
  reasonName: string;
}

/** A machine's episodes (oldest start first) and the watermark below which events are stale. */
export interface MachineEpisodes<E extends EpisodeBase> {
  episodes: E[];
  /** Episodes starting at or before this were dropped (bounded state): their events are stale. */
  staleUpTo?: string;
  /** Categorisations without episode key that no kept episode contains yet. */
  pending?: PendingReason[];
}

/** Episodes kept per machine (open ones are never dropped); older ones are stale. */
export const KEPT_EPISODES = 20;
const KEPT_PENDING = 5;

export interface EpisodeRules<E extends EpisodeBase> {
  /** How far the poller's start estimate may be from the webhook's exact start for one downtime. */
  toleranceMs: number;
  /** Whether the flow already made the episode's CMMS record (two records are never merged). */
  hasRecord(episode: E): boolean;
}

/** Tolerance: the poller refines starts to its step; two downtimes start at least a minimum apart. */
export const episodeRules = <E extends EpisodeBase>(
  config: DowntimeSettings,
  hasRecord: (episode: E) => boolean,
): EpisodeRules<E> => ({
  toleranceMs: Math.min(config.poll.everyMinutes, config.minimumMinutes / 2) * 60_000,
  hasRecord,
});

const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
const startOf = (e: EpisodeBase) => ms(e.startedAt) ?? keyTime(e.key, e.machineId);
const sortKey = (e: EpisodeBase) => startOf(e) ?? Number.POSITIVE_INFINITY;
export const hasKey = (e: EpisodeBase, key: string) => e.keys.includes(key);
export const isOpen = (e: EpisodeBase) => e.started && e.endedAt === undefined;

/** Episodes of the state before this design (`{open, last}` slot) become the list. */
function fromStored<E extends EpisodeBase>(data: unknown): MachineEpisodes<E> {
  if (!data || typeof data !== 'object') return { episodes: [] };
  if (Array.isArray((data as MachineEpisodes<E>).episodes)) return data as MachineEpisodes<E>;
  const slot = data as { open?: E; last?: E };
  const legacy = [slot.last, slot.open].filter((e): e is E => e !== undefined);
  return {
    episodes: legacy.map((e) => ({ ...e, keys: e.keys ?? [e.key], started: e.started ?? true })),
  };
}

/** Does `b` describe the same downtime as `a`? Only across sources, by start (and known ends). */
function sameDowntime(a: EpisodeBase, b: EpisodeBase, toleranceMs: number): boolean {
  const sources = new Set(a.keys.map(sourceOfKey));
  if (b.keys.some((k) => sources.has(sourceOfKey(k)))) return false;
  const sa = ms(a.startedAt);
  const sb = ms(b.startedAt);
  if (sa === undefined || sb === undefined) return false;
  if (Math.abs(sa - sb) <= toleranceMs) return true;
  const ea = ms(a.endedAt);
  const eb = ms(b.endedAt);
  return (
    (ea !== undefined && sb >= sa - toleranceMs && sb < ea) ||
    (eb !== undefined && sa >= sb - toleranceMs && sa < eb)
  );
}

const laterReason = (at: string, id: string, e: Pick<EpisodeBase, 'reasonAt' | 'reasonId'>): boolean => {
  const current = ms(e.reasonAt);
  const t = Date.parse(at);
  return current === undefined || t > current || (t === current && id > e.reasonId);
};

/** One episode from two that are the same downtime; the one with a record keeps its identity. */
function merge<E extends EpisodeBase>(keep: E, other: E): E {
  const merged: E = { ...other, ...keep, keys: [...keep.keys, ...other.keys] };
  // The webhook's start and end are exact; the poller's are estimates to its step.
  const starts = [keep, other].filter((e) => e.startedAt !== undefined);
  const start = starts.find((e) => e.startFrom === 'webhook') ?? starts[0];
  if (start?.startedAt) {
    merged.startedAt = start.startedAt;
    if (start.startFrom) merged.startFrom = start.startFrom;
  }
  merged.started = keep.started || other.started;
  if (keep.endedAt === undefined && other.endedAt !== undefined) {
    merged.endedAt = other.endedAt;
    if (other.downtimeMs !== undefined) merged.downtimeMs = other.downtimeMs;
  }
  const reasons = [keep, other];
  const strong = reasons
    .filter((e) => e.reasonAt !== undefined)
    .sort((x, y) => (laterReason(x.reasonAt as string, x.reasonId, y) ? -1 : 1))[0];
  const weak = reasons.find((e) => e.reasonFrom === 'poll') ?? reasons.find((e) => e.reasonFrom);
  const reason = strong ?? weak ?? keep;
  merged.reasonId = reason.reasonId;
  merged.reasonName = reason.reasonName;
  if (reason.reasonAt) merged.reasonAt = reason.reasonAt;
  else delete merged.reasonAt;
  if (reason.reasonFrom) merged.reasonFrom = reason.reasonFrom;
  return merged;
}

/**
 * Which of two episodes of one downtime keeps its identity: the one with a record, else one that is
 * started (its create may be under way with its key as the claim), else the earlier.
 */
function keepFirst<E extends EpisodeBase>(x: E, y: E, rules: EpisodeRules<E>): boolean {
  if (rules.hasRecord(x) !== rules.hasRecord(y)) return rules.hasRecord(x);
  if (x.started !== y.started) return x.started;
  return sortKey(x) < sortKey(y);
}

/** Merge episodes that turn out to be one downtime, apply kept categorisations, drop the oldest. */
function tidy<E extends EpisodeBase>(m: MachineEpisodes<E>, rules: EpisodeRules<E>): void {
  for (let merged = true; merged; ) {
    merged = false;
    outer: for (const a of m.episodes) {
      for (const b of m.episodes) {
        if (a === b || !sameDowntime(a, b, rules.toleranceMs)) continue;
        if (rules.hasRecord(a) && rules.hasRecord(b)) continue;
        const [keep, other] = keepFirst(b, a, rules) ? [b, a] : [a, b];
        m.episodes = m.episodes.filter((e) => e !== other).map((e) => (e === keep ? merge(keep, other) : e));
        merged = true;
        break outer;
      }
    }
  }
  if (m.pending?.length) {
    m.pending = m.pending.filter((p) => {
      const e = containing(m, p.at, rules.toleranceMs);
      if (!e) return true;
      if (laterReason(p.at, p.reasonId, e))
        Object.assign(e, { reasonId: p.reasonId, reasonName: p.reasonName, reasonAt: p.at });
      return false;
    });
    if (m.pending.length === 0) delete m.pending;
  }
  m.episodes.sort((a, b) => sortKey(a) - sortKey(b));
  let excess = m.episodes.length - KEPT_EPISODES;
  for (const e of [...m.episodes]) {
    if (excess <= 0) break;
    if (isOpen(e)) continue;
    m.episodes = m.episodes.filter((x) => x !== e);
    excess--;
    const start = startOf(e);
    if (start !== undefined && start > (ms(m.staleUpTo) ?? Number.NEGATIVE_INFINITY)) {
      m.staleUpTo = new Date(start).toISOString();
    }
  }
}

/** The latest episode whose downtime contains `at` (an end counts up to itself). */
function containing<E extends EpisodeBase>(m: MachineEpisodes<E>, at: string, toleranceMs: number) {
  const t = Date.parse(at);
  return m.episodes
    .filter((e) => {
      const s = startOf(e);
      const end = ms(e.endedAt);
      return s !== undefined && t >= s - toleranceMs && (end === undefined || t <= end);
    })
    .at(-1);
}

/** What applying one event did to the machine's episodes (only `applied` and `kept` change them). */
export type Applied<E extends EpisodeBase> =
  | { status: 'applied' | 'unchanged'; episode: E; message: string }
  | { status: 'stale' | 'kept' | 'none'; message: string };

/**
 * The episode that has the event's key, else a new one added to the machine's episodes; `stale`
 * when no kept episode has the key and it names a time at or before the watermark.
 */
function episodeFor<E extends EpisodeBase>(
  m: MachineEpisodes<E>,
  data: { machineId: string; machineName?: string | undefined },
  key: string,
  startedAt: string | undefined,
): { episode: E } | { stale: Applied<E> } {
  const episode = m.episodes.find((e) => hasKey(e, key));
  if (episode) return { episode };
  const { machineId } = data;
  const t = ms(startedAt) ?? keyTime(key, machineId);
  const watermark = ms(m.staleUpTo);
  if (t !== undefined && watermark !== undefined && t <= watermark) {
    const message = `episode ${key} is older than the ${KEPT_EPISODES} episodes kept for machine ${machineId} (kept from ${m.staleUpTo})`;
    return { stale: { status: 'stale', message } };
  }
  const added = newEpisode<E>(machineId, data.machineName, key, startedAt);
  m.episodes.push(added);
  return { episode: added };
}

function newEpisode<E extends EpisodeBase>(
  machineId: string,
  machineName: string | undefined,
  key: string,
  startedAt: string | undefined,
): E {
  // A webhook key carries the exact start; a poll key only the detection time.
  const start = startedAt ?? (sourceOfKey(key) === 'webhook' ? keyTime(key, machineId) : undefined);
  return {
    key,
    keys: [key],
    machineId,
    machineName: machineName ?? machineId,
    ...(start === undefined ? {} : { startedAt: new Date(start).toISOString(), startFrom: sourceOfKey(key) }),
    started: false,
    reasonId: 'uncategorized',
    reasonName: 'Uncategorized',
  } as E;
}

interface ApplyContext {
  flowId: string;
  state: StateStore;
}

/**
 * Read-modify-write a machine's episodes (optimistic locking, retried on conflict). `step` changes
 * the state in place and says what it did; `tidy` runs after it. No change: nothing is written.
 */
async function applyEvent<E extends EpisodeBase>(
  ctx: ApplyContext,
  machineId: string,
  rules: EpisodeRules<E>,
  step: (m: MachineEpisodes<E>) => Applied<E> & { key?: string },
): Promise<Applied<E>> {
  let outcome: Applied<E> = { status: 'none', message: '' };
  await ctx.state.updateEntity<MachineEpisodes<E>>(ctx.flowId, machineId, (current) => {
    const m = fromStored<E>(current);
    // `key`: the episode to report after `tidy` (which may merge it into another).
    const { key, ...applied } = step(m);
    outcome = applied as Applied<E>;
    if (outcome.status !== 'applied' && outcome.status !== 'kept') return undefined;
    tidy(m, rules);
    if (key && 'episode' in outcome) {
      const episode = m.episodes.find((e) => hasKey(e, key));
      if (episode) outcome = { ...outcome, episode };
    }
    return m;
  });
  return outcome;
}

/** Read a machine's episode by any of its keys. */
export async function readEpisode<E extends EpisodeBase>(
  ctx: ApplyContext,
  machineId: string,
  key: string,
): Promise<E | undefined> {
  const stored = await ctx.state.getEntity<MachineEpisodes<E>>(ctx.flowId, machineId);
  return fromStored<E>(stored?.data).episodes.find((e) => hasKey(e, key));
}

/** Change the episode that has `key` (the flow's record fields); `patch` returns undefined for no change. */
export async function patchEpisode<E extends EpisodeBase>(
  ctx: ApplyContext,
  machineId: string,
  key: string,
  patch: (episode: E) => Partial<E> | undefined,
): Promise<E | undefined> {
  let found: E | undefined;
  await ctx.state.updateEntity<MachineEpisodes<E>>(ctx.flowId, machineId, (current) => {
    const m = fromStored<E>(current);
    const index = m.episodes.findIndex((e) => hasKey(e, key));
    const episode = m.episodes[index];
    found = episode;
    if (!episode) return undefined;
    const change = patch(episode);
    if (!change) return undefined;
    found = { ...episode, ...change };
    m.episodes[index] = found;
    return m;
  });
  return found;
}

/**
 * A "started" event: the episode with its key (or a new one) learns its start, name and reason; it
 * becomes `started` when `qualifies` says so for the episode's reason (a categorisation seen first wins).
 * `wasStarted`: the episode with the event's key had already started before this event.
 */
export function applyStarted<E extends EpisodeBase>(
  ctx: ApplyContext,
  rules: EpisodeRules<E>,
  data: DowntimeStarted,
  qualifies: (episode: E) => string | undefined,
): Promise<Applied<E> & { skip?: string; wasStarted: boolean }> {
  let skip: string | undefined;
  let wasStarted = false;
  return applyEvent<E>(ctx, data.machineId, rules, (m) => {
    const found = episodeFor(m, data, data.episodeKey, data.startedAt);
    if ('stale' in found) return found.stale;
    const source = sourceOfKey(data.episodeKey);
    const e = found.episode;
    const before = JSON.stringify(e);
    e.machineName = data.machineName;
    if (!e.startedAt || (source === 'webhook' && e.startFrom !== 'webhook')) {
      e.startedAt = data.startedAt;
      e.startFrom = source;
    }
    if (!e.reasonAt && (e.reasonFrom === undefined || (source === 'poll' && e.reasonFrom !== 'poll'))) {
      e.reasonId = data.reasonId;
      e.reasonName = data.reasonName;
      e.reasonFrom = source;
    }
    skip = qualifies(e);
    wasStarted = e.started;
    if (!skip) e.started = true;
    return {
      status: JSON.stringify(e) !== before ? 'applied' : 'unchanged',
      episode: e,
      message: wasStarted ? `episode ${e.key} already started` : `episode ${e.key} started`,
      key: data.episodeKey,
    };
  }).then((applied) => ({ ...applied, ...(skip ? { skip } : {}), wasStarted }));
}

/**
 * A categorisation: the latest one by time wins whatever the delivery order (an older one is
 * stale). One for an episode not seen yet is kept on it and used when its record is made.
 */
export function applyCategorized<E extends EpisodeBase>(
  ctx: ApplyContext,
  rules: EpisodeRules<E>,
  data: DowntimeCategorized,
): Promise<Applied<E>> {
  return applyEvent<E>(ctx, data.machineId, rules, (m) => {
    let e: E | undefined;
    if (data.episodeKey) {
      const found = episodeFor(m, data, data.episodeKey, undefined);
      if ('stale' in found) return found.stale;
      e = found.episode;
    } else {
      e = containing(m, data.categorizedAt, rules.toleranceMs);
      if (!e) {
        const pending = [
          ...(m.pending ?? []),
          { at: data.categorizedAt, reasonId: data.reasonId, reasonName: data.reasonName },
        ];
        m.pending = pending.slice(-KEPT_PENDING);
        return {
          status: 'kept',
          message: `no kept episode of machine ${data.machineId} contains ${data.categorizedAt}; reason ${data.reasonName} kept for the episode that does`,
        };
      }
    }
    if (
      e.reasonId === data.reasonId &&
      e.reasonAt !== undefined &&
      !laterReason(data.categorizedAt, data.reasonId, e)
    ) {
      return { status: 'unchanged', episode: e, message: `reason already ${data.reasonName}` };
    }
    if (!laterReason(data.categorizedAt, data.reasonId, e)) {
      return {
        status: 'stale',
        message: `categorisation ${data.reasonName} at ${data.categorizedAt} is older than ${e.reasonName} at ${e.reasonAt} on episode ${e.key}`,
      };
    }
    const from = e.reasonName;
    e.reasonId = data.reasonId;
    e.reasonName = data.reasonName;
    e.reasonAt = data.categorizedAt;
    return {
      status: 'applied',
      episode: e,
      message: `episode ${e.key}: reason ${from} -> ${data.reasonName}`,
      key: data.episodeKey ?? e.key,
    };
  });
}

/** An "ended" event: the end is kept on its episode, even one whose "started" is still to come. */
export function applyEnded<E extends EpisodeBase>(
  ctx: ApplyContext,
  rules: EpisodeRules<E>,
  data: DowntimeEnded,
): Promise<Applied<E>> {
  return applyEvent<E>(ctx, data.machineId, rules, (m) => {
    let e: E | undefined;
    if (data.episodeKey) {
      const found = episodeFor(m, data, data.episodeKey, data.startedAt);
      if ('stale' in found) return found.stale;
      e = found.episode;
    } else {
      const t = Date.parse(data.endedAt);
      e = m.episodes
        .filter((x) => x.endedAt === undefined && (startOf(x) ?? Number.POSITIVE_INFINITY) <= t)
        .at(-1);
      if (!e) {
        return { status: 'none', message: `no open downtime episode for machine ${data.machineId}` };
      }
    }
    if (e.endedAt !== undefined) {
      return { status: 'unchanged', episode: e, message: `episode ${e.key} already ended` };
    }
    if (!e.startedAt && data.startedAt) {
      e.startedAt = data.startedAt;
      e.startFrom = sourceOfKey(data.episodeKey ?? e.key);
    }
    e.endedAt = data.endedAt;
    const start = ms(e.startedAt);
    const downtimeMs =
      data.downtimeMs ?? (start === undefined ? undefined : Date.parse(data.endedAt) - start);
    if (downtimeMs !== undefined) e.downtimeMs = downtimeMs;
    return {
      status: 'applied',
      episode: e,
      message: `episode ${e.key} ended at ${data.endedAt}`,
      key: data.episodeKey ?? e.key,
    };
  });
}

/** Cross-flow mapping: downtime episode key -> UpKeep work order id (read by the task-status flow). */
export const EPISODE_WORK_ORDER_MAPPING = 'downtime-episode-upkeep-work-order';
/**
 * Cross-flow decision: downtime episode key -> why the UpKeep downtime flow creates no work order for
 * it (e.g. the machine has no UpKeep asset). The task-status flow skips a task of such an episode
 * instead of waiting for a work order that will never come.
 */
export const EPISODE_WITHOUT_WORK_ORDER = 'downtime-episode-no-upkeep-work-order';
