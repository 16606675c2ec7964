/**
 * The simulators' world on disk, beside the sandbox's DynamoDB data. The sandbox's state holds both
 * sides of every id mapping (a downtime episode -> its UpKeep work order, a low-stock episode -> its
 * purchase order); if DynamoDB survived a restart and the simulators did not, those ids would point
 * at nothing. So a simulator "commits" like a vendor: it saves its domain state after every change,
 * before it answers, and starts from the saved state next time.
 *
 * Each simulator owns its saved shape (`exportState()` / `importState()`, with a `simulator` name and
 * a `version`, so a shape change is detected rather than misread); a store only moves JSON to and
 * from one place. Request logs, fault queues, rate windows and webhook delivery logs are not saved:
 * they describe a run, not the vendor's world.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MillwrightError } from '../../functions/core/errors.ts';

/** Where one simulator's state lives. */
export interface SimulatorStateStore {
  /** The file (or other place) named in messages. */
  readonly location: string;
  /**
   * Hand the saved state to `apply` (a simulator's `importState`); false when nothing was saved yet.
   * An unreadable state, or one `apply` rejects, throws SimulatorStateError naming the location.
   */
  restore(apply: (saved: unknown) => void): boolean;
  /** Save `state` if it differs from what was saved last (so calling it after every request is cheap). */
  save(state: unknown): void;
}

/** A saved simulator state cannot be used: the sandbox refuses to start rather than silently reseed. */
export class SimulatorStateError extends MillwrightError {
  constructor(
    readonly location: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `cannot restore the simulator state in ${location}: ${reason}. To start over, run \`npm start -- --reset\` (it wipes the sandbox's DynamoDB data and simulator state together)`,
      options,
    );
  }
}

/** A simulator state could not be written; the simulator answers 500 rather than pretend it committed. */
export class SimulatorSaveError extends MillwrightError {
  constructor(
    readonly location: string,
    options: { cause?: unknown } = {},
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`could not save the simulator state to ${location}: ${reason}`, options);
  }
}

/** A saved state whose shape a simulator does not read (thrown by `importState`). */
export class SavedStateShapeError extends MillwrightError {}

/**
 * Write `text` to `file` so a reader (or a crash) sees the old content or the new, never half of it:
 * a temporary file in the same folder, then a rename over the target (atomic on one file system).
 * No fsync, like the DynamoDB engine's own writes: this survives the process, not the machine.
 */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * A store in `file` (compact JSON: each write turn saves the whole world, and indentation made that
 * about 40% slower and half again as large; `jq . <file>` reads it).
 */
export function fileStateStore(file: string): SimulatorStateStore {
  let last: string | undefined;
  return {
    location: file,
    restore(apply) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new SimulatorStateError(file, `it cannot be read (${(error as Error).message})`, {
          cause: error,
        });
      }
      let saved: unknown;
      try {
        saved = JSON.parse(text);
      } catch (error) {
        throw new SimulatorStateError(file, `it is not valid JSON (${(error as Error).message})`, {
          cause: error,
        });
      }
      try {
        apply(saved);
      } catch (error) {
        throw new SimulatorStateError(file, (error as Error).message, { cause: error });
      }
      last = text;
      return true;
    },
    save(state) {
      const text = `${JSON.stringify(state)}\n`;
      if (text === last) return;
      try {
        mkdirSync(dirname(file), { recursive: true });
        writeFileAtomic(file, text);
      } catch (error) {
        throw new SimulatorSaveError(file, { cause: error });
      }
      last = text;
    },
  };
}

/** A store in memory (tests): `saved` is the last state saved, as JSON would carry it. */
export function memoryStateStore(initial?: unknown): SimulatorStateStore & { saved: unknown; saves: number } {
  const store = {
    location: 'memory',
    saved: initial === undefined ? undefined : structuredClone(initial),
    saves: 0,
    restore(apply: (saved: unknown) => void): boolean {
      if (store.saved === undefined) return false;
      try {
        apply(structuredClone(store.saved));
      } catch (error) {
        throw new SimulatorStateError('memory', (error as Error).message, { cause: error });
      }
      return true;
    },
    save(state: unknown): void {
      const copy = JSON.parse(JSON.stringify(state)) as unknown;
      if (JSON.stringify(copy) === JSON.stringify(store.saved)) return;
      store.saved = copy;
      store.saves++;
    },
  };
  return store;
}

type FieldKind = 'array' | 'integer' | 'object';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const KIND_CHECK: Record<FieldKind, (v: unknown) => boolean> = {
  array: Array.isArray,
  integer: (v) => Number.isSafeInteger(v),
  object: isRecord,
};

/**
 * Check the envelope and top-level fields of a saved state (`{simulator, version, ...fields}`) and
 * return it typed. Records inside are trusted: the simulator wrote them; a hand edit that breaks one
 * shows up as that record misbehaving, not as a crash at start.
 */
export function readSavedState<T>(
  saved: unknown,
  expected: { simulator: string; version: number; fields: Record<string, FieldKind> },
): T {
  if (!isRecord(saved)) throw new SavedStateShapeError('it is not a JSON object');
  if (saved.simulator !== expected.simulator) {
    throw new SavedStateShapeError(
      `it holds the state of simulator ${JSON.stringify(saved.simulator)}, not ${expected.simulator}`,
    );
  }
  if (saved.version !== expected.version) {
    throw new SavedStateShapeError(
      `it has state version ${JSON.stringify(saved.version)}; this sandbox reads version ${expected.version} of the ${expected.simulator} simulator`,
    );
  }
  const bad = Object.entries(expected.fields).filter(([field, kind]) => !KIND_CHECK[kind](saved[field]));
  if (bad.length > 0) {
    throw new SavedStateShapeError(
      `field${bad.length > 1 ? 's' : ''} ${bad.map(([field, kind]) => `${field} (${kind})`).join(', ')} missing or of the wrong type`,
    );
  }
  return saved as T;
}

/** The envelope of every saved state: whose it is and which shape it has. */
export interface SavedStateEnvelope {
  simulator: string;
  version: number;
}

/** A simulator's state, as `simulatorPersistence` and the simulator's own methods use it. */
export interface SimulatorStateAccess<S> {
  /** The state that survives a restart (a deep copy). */
  exportState(): S;
  /**
   * The same state, not copied (it aliases the live world): only for a store that serializes it
   * before anything else runs (`SimulatorStateStore.save`). A commit runs after every write, and a
   * deep copy of a world that grows with every record made each one slower than the last.
   */
  viewState?(): S;
  /** Replace the state with a saved one (throws SavedStateShapeError when it is not one). */
  importState(saved: unknown): void;
}

/**
 * A simulator's saved shape, stated once: its name and version, the kinds of its top-level fields,
 * what of the world is saved (`save`) and how a saved state is put back (`load`). Export wraps
 * `save` in the envelope; import checks envelope and fields (readSavedState) and hands `load` a deep
 * copy, so neither side aliases the live world. Bound to one world, it gives the simulator's
 * `exportState` / `importState`.
 */
export function versionedState<W, S extends SavedStateEnvelope>(spec: {
  simulator: S['simulator'];
  version: S['version'];
  fields: Record<Exclude<keyof S, keyof SavedStateEnvelope>, FieldKind>;
  save(world: W): Omit<S, keyof SavedStateEnvelope>;
  load(world: W, saved: S): void;
}): (world: W) => SimulatorStateAccess<S> {
  const { simulator, version, fields } = spec;
  return (world) => ({
    exportState: () => structuredClone({ simulator, version, ...spec.save(world) }) as S,
    viewState: () => ({ simulator, version, ...spec.save(world) }) as S,
    importState: (saved) =>
      spec.load(world, structuredClone(readSavedState<S>(saved, { simulator, version, fields }))),
  });
}

/**
 * The persistence half every simulator shares: restore at start, then `commit()` after each change.
 * Without a store (tests, the demo) both do nothing and the simulator lives in memory as before.
 */
export function simulatorPersistence<S>(
  store: SimulatorStateStore | undefined,
  state: SimulatorStateAccess<S>,
): {
  restore(): boolean;
  commit(): void;
  /** `fn`, then commit: for the simulator's own methods that change state outside a request. */
  committing<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
} {
  // The store serializes at once (save), so it is handed the live state, not a copy of it.
  const current = () => state.viewState?.() ?? state.exportState();
  const commit = () => store?.save(current());
  return {
    restore: () => {
      if (!store) return false;
      const restored = store.restore((saved) => state.importState(saved));
      // Write the starting state at once: the data folder then always holds the simulators' side
      // of whatever DynamoDB comes to hold.
      store.save(current());
      return restored;
    },
    commit,
    committing:
      (fn) =>
      (...args) => {
        const out = fn(...args);
        commit();
        return out;
      },
  };
}
