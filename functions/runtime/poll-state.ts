/**
 * Loading and saving a poll source's state. A plain source keeps one versioned item (`POLL#<key>`,
 * `STATE`). A sharded source (`PollSource.sharding`) keeps its cursor (watermark) in that item and
 * each entry (e.g. one machine's episode) in its own `SHARD#<id>` item, so no item grows with the
 * number of entities: the detector's single item failed at about 1,500 machines down at once.
 *
 * Crash safety (the runtime enqueues a step's events and only then saves): a save writes the changed
 * shards first, each stamped with the cursor version it belongs to (`at`) and carrying its content
 * before the step (`prev`), and commits the cursor last with the versioned write. A reader takes a
 * shard's `doc` when `at` <= the committed cursor version, else its `prev`: a crash between shard
 * writes reads exactly the state the last committed step left, and the replay yields the same events.
 * A removed entry is a tombstone until its step commits, then it is deleted.
 *
 * Concurrent runs: the versioned cursor write lets one run commit a step. Before that, a shard
 * write never replaces a later step's shard, nor a shard of the same step unless it is the
 * uncommitted one this run saw when it loaded (by the id of the run that wrote it: a crash's
 * leftover); a run that meets another's fresh shard stops like one that loses the cursor write.
 * Shards the loser did write are still sound: each machine's shard stands alone and its events
 * were enqueued before it was written.
 *
 * Migration: a `STATE` item without the shard marker is the old single-item state. It is read as it
 * is, and the first save writes every entry as a shard, then the cursor with the marker.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../core/errors.ts';
import type { PollSource } from '../core/flow.ts';
import type { Log } from '../core/log.ts';
import { parseWith } from '../core/schema.ts';
import type { PollShard, StateStore } from '../core/state.ts';

/** The cursor item's marker of the sharded layout; `gen` ties the shards to this cursor. */
export const SHARD_MARKER = '_shards';

/** Shard writes in flight at once. */
const WRITE_BATCH = 25;

interface Entry {
  json: string;
  doc: unknown;
}

/** What a save needs to know about what was loaded (or last saved). */
export interface SavedPollState {
  version: number | undefined;
  /** Sharded sources only. */
  gen?: string;
  entries?: Map<string, Entry>;
  /** The entries are still in the old single item: the next save writes all of them. */
  legacy?: boolean;
  /** Shard items to delete once a save has committed (tombstones, other generations' leftovers). */
  garbage?: PollShard[];
  /** Uncommitted shards of the next step (a crashed or concurrent run's), by id: the run that wrote each. */
  leftovers?: Map<string, string>;
}

// biome-ignore lint/suspicious/noExplicitAny: options, state and deps are the source's own.
type AnySource = PollSource<any, any, any>;

const markerOf = (data: unknown): { gen: string } | undefined => {
  if (typeof data !== 'object' || data === null) return undefined;
  const marker = (data as Record<string, unknown>)[SHARD_MARKER];
  if (typeof marker !== 'object' || marker === null) return undefined;
  const gen = (marker as Record<string, unknown>).gen;
  return typeof gen === 'string' ? { gen } : undefined;
};

/** JSON with object keys sorted: a parsed entry (keys in schema order) equals its stored twin. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );

const entryMap = (entries: Record<string, unknown>) =>
  new Map(Object.entries(entries).map(([id, doc]) => [id, { json: canonical(doc), doc }]));

/** Load a source's state: undefined when it never ran. Corrupt state fails with the bad path. */
export async function loadSourceState<S>(
  store: StateStore,
  key: string,
  source: AnySource,
): Promise<{ state: S | undefined; saved: SavedPollState }> {
  const parse = (data: unknown): S =>
    parseWith(source.stateSchema, data, (p) => new ConfigError(`poll state ${key}.${p.path}`, p.message));
  const stored = await store.loadPollState<unknown>(key);
  const sharding = source.sharding;
  if (!sharding)
    return { state: stored ? parse(stored.data) : undefined, saved: { version: stored?.version } };
  if (!stored) return { state: undefined, saved: { version: undefined, entries: new Map() } };
  const marker = markerOf(stored.data);
  const shards = await store.loadPollShards(key);
  const leftovers = new Map<string, string>();
  for (const shard of shards) {
    if (shard.at > stored.version && shard.run !== undefined) leftovers.set(shard.id, shard.run);
  }
  if (!marker) {
    const state = parse(stored.data);
    const entries = entryMap(sharding.split(state).entries);
    return { state, saved: { version: stored.version, entries, legacy: true, leftovers } };
  }
  const entries = new Map<string, Entry>();
  const garbage: PollShard[] = [];
  for (const shard of shards) {
    if (shard.gen !== marker.gen) {
      garbage.push(shard);
      continue;
    }
    const committed = shard.at <= stored.version;
    const doc = committed ? shard.doc : shard.prev?.doc;
    if (committed && shard.doc === undefined) garbage.push(shard);
    if (doc !== undefined) entries.set(shard.id, { json: canonical(doc), doc });
  }
  const { [SHARD_MARKER]: _marker, ...cursor } = stored.data as Record<string, unknown>;
  const joined = sharding.join(cursor, Object.fromEntries([...entries].map(([id, e]) => [id, e.doc])));
  return {
    state: parse(joined),
    saved: { version: stored.version, gen: marker.gen, entries, garbage, leftovers },
  };
}

/**
 * Save a step's state (after its events are enqueued). Throws ConcurrentUpdateError when another run
 * moved the cursor or wrote a later step's shard. Returns what the next save needs.
 */
export async function saveSourceState<S>(
  store: StateStore,
  key: string,
  source: AnySource,
  state: S,
  saved: SavedPollState,
  context: { now: Date; log: Log },
): Promise<SavedPollState> {
  const sharding = source.sharding;
  if (!sharding) return { version: await store.savePollState(key, state, saved.version) };
  const at = (saved.version ?? 0) + 1;
  // Two runs that start the same layout in the same minute pick the same generation, so their
  // (identical, deterministic) first shards do not hide each other.
  const gen = saved.gen ?? `g${Math.floor(context.now.getTime() / 60_000).toString(36)}`;
  const before = saved.entries ?? new Map<string, Entry>();
  const { cursor, entries } = sharding.split(state);
  const next = entryMap(entries);
  const run = randomUUID();
  const writes: PollShard[] = [];
  for (const [id, entry] of next) {
    const prior = before.get(id);
    if (!saved.legacy && saved.gen === gen && prior?.json === entry.json) continue;
    writes.push({ id, gen, at, run, doc: entry.doc, ...(prior ? { prev: { doc: prior.doc } } : {}) });
  }
  if (!saved.legacy) {
    for (const [id, prior] of before)
      if (!next.has(id)) writes.push({ id, gen, at, run, prev: { doc: prior.doc } });
  }
  for (let i = 0; i < writes.length; i += WRITE_BATCH) {
    await Promise.all(
      writes
        .slice(i, i + WRITE_BATCH)
        .map((shard) => store.putPollShard(key, shard, saved.leftovers?.get(shard.id))),
    );
  }
  const version = await store.savePollState(key, { ...cursor, [SHARD_MARKER]: { gen } }, saved.version);
  // Committed: tombstones of this step and leftovers can go (best effort; a reader ignores them).
  const garbage = [...(saved.garbage ?? []), ...writes.filter((w) => w.doc === undefined)];
  for (let i = 0; i < garbage.length; i += WRITE_BATCH) {
    await Promise.all(
      garbage
        .slice(i, i + WRITE_BATCH)
        .map((g) =>
          store
            .deletePollShard(key, g.id, g.gen, g.at)
            .catch((error: unknown) =>
              context.log.warn(`${key}: could not delete poll shard ${g.id}: ${String(error)}`),
            ),
        ),
    );
  }
  return { version, gen, entries: next };
}
