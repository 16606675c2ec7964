/**
 * The sandbox's data folder (`npm start`: `.sandbox`). DynamoDB's data and the simulators' state hold
 * the two sides of the same facts (an episode in DynamoDB, its work order in a simulator), and the
 * queues hold the events acknowledged but not yet applied (whose delivery marks DynamoDB already
 * holds), so they live side by side, are reset together, and one sandbox at a time uses them:
 *
 *   <dataDir>/sandbox.lock              the sandbox using the folder (PID, start time)
 *   <dataDir>/dynamodb/                 the DynamoDB engine's files (dynalite, LevelDB)
 *   <dataDir>/sqs/journal.jsonl         the local SQS's queues and messages (see sqs-journal.ts)
 *   <dataDir>/simulators/<vendor>.json  each vendor simulator's state
 *   <dataDir>/endpoints.json            the URLs of the running sandbox (`npm start`)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MillwrightError } from '../functions/core/errors.ts';
import type { Log } from '../functions/core/log.ts';

export interface DataDirLayout {
  root: string;
  lock: string;
  dynamodb: string;
  /** The local SQS's journal folder. */
  sqs: string;
  simulators: string;
  /** The state file of one simulator. */
  simulator(vendor: string): string;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  const simulators = join(dataDir, 'simulators');
  return {
    root: dataDir,
    lock: join(dataDir, 'sandbox.lock'),
    dynamodb: join(dataDir, 'dynamodb'),
    sqs: join(dataDir, 'sqs'),
    simulators,
    simulator: (vendor) => join(simulators, `${vendor}.json`),
  };
}

// ---------------------------------------------------------------------------------------------
// One sandbox per folder. Two would both open the DynamoDB files (the second crashes with dynalite's
// "Database is closed") and overwrite each other's simulator state.

interface LockContent {
  pid: number;
  startedAt: string;
  /** Tells this lock from a later one of the same PID, so a release never removes another's lock. */
  token: string;
  /** The process's start in clock ticks since boot (Linux), to tell it from a later one of its PID. */
  startTicks?: number;
}

/** Another sandbox, still running, holds the data folder. */
export class SandboxLockedError extends MillwrightError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    startedAt: string | undefined,
    lockFile: string,
  ) {
    super(
      `another sandbox (PID ${pid}${startedAt ? `, started ${startedAt}` : ''}) is using the data folder ${resolve(dataDir)}. ` +
        `Stop it first (Ctrl-C in its terminal, or \`kill ${pid}\`), or give this one another folder with \`--data <dir>\`. ` +
        `If no sandbox is running there, delete ${resolve(lockFile)}.`,
    );
  }
}

/** The data folder cannot be created or written (a file in its place, no permission, a full disk). */
export class DataDirUnusableError extends MillwrightError {
  constructor(
    readonly dataDir: string,
    options: { cause?: unknown } = {},
  ) {
    // Not `instanceof Error`: node's fs errors may come from another realm (jest's VM modules).
    const reason = (options.cause as { message?: unknown } | undefined)?.message ?? String(options.cause);
    super(
      `the sandbox data folder ${resolve(dataDir)} cannot be used (${reason}); give another with \`--data <dir>\``,
      options,
    );
  }
}

export interface SandboxLock {
  /** Remove the lock if it is still this sandbox's (idempotent). */
  release(): void;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * When `pid` started, in clock ticks since boot, as Linux's /proc says (undefined where there is no
 * /proc). Unlike a wall-clock time it never moves, so a lock can tell its own process from another
 * that reused its PID.
 */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process now holding the lock's PID is another one than the sandbox that wrote it: a
 * killed sandbox's PID reused (in a container PIDs are few and reused at once, e.g. by the shell
 * that `npm start` runs next time). Locks written without a start time cannot tell: not reused.
 */
const reused = (holder: LockContent): boolean => {
  if (holder.startTicks === undefined) return false;
  const now = processStartTicks(holder.pid);
  return now !== undefined && now !== holder.startTicks;
};

/** The tokens of the locks this process holds. */
const heldTokens = new Set<string>();

/**
 * Whether a lock's sandbox still runs. A lock naming this very process but none of its locks is
 * stale: a killed sandbox's PID, reused by this one (likely in a container, where PIDs are few); so
 * is one whose PID another process now holds (its start tick is not the lock's).
 */
const isHeld = (holder: LockContent): boolean =>
  holder.pid === process.pid ? heldTokens.has(holder.token) : isAlive(holder.pid) && !reused(holder);

/** The lock's content, `undefined` if there is none, `'unreadable'` if it is not ours to parse. */
function readLock(file: string): LockContent | undefined | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    return Number.isSafeInteger(parsed.pid) && (parsed.pid as number) > 0
      ? (parsed as LockContent)
      : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * Create `file` holding `content`, or return false if it exists. The content is written to a private
 * file first and hard-linked into place, which fails if the lock exists: the lock appears complete
 * or not at all, so a reader never sees a half-written PID.
 */
function createLock(file: string, content: LockContent): boolean {
  const tmp = `${file}.${content.token}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(content)}\n`);
  } catch (error) {
    throw new DataDirUnusableError(dirname(file), { cause: error });
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Take the data folder for this process, or throw SandboxLockedError naming the running sandbox. A
 * lock left by a sandbox that is no longer running (killed, crashed) is taken over, with a log line.
 */
export function lockDataDir(dataDir: string, log: Log): SandboxLock {
  const { lock: file } = dataDirLayout(dataDir);
  // A raw errno ("EEXIST: file already exists, mkdir") would not say which folder, nor what to do.
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new DataDirUnusableError(dataDir, { cause: error });
  }
  const startTicks = processStartTicks(process.pid);
  const mine: LockContent = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
    ...(startTicks !== undefined ? { startTicks } : {}),
  };
  // Three tries: the holder may stop (and remove its lock) between our attempts.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createLock(file, mine)) return heldLock(file, mine.token);
    const holder = readLock(file);
    if (holder === undefined) continue;
    if (holder !== 'unreadable' && isHeld(holder)) {
      throw new SandboxLockedError(dataDir, holder.pid, holder.startedAt, file);
    }
    log.warn(
      holder === 'unreadable'
        ? `taking over the lock ${file}: it holds no PID`
        : `taking over the lock ${file} of PID ${holder.pid} (started ${holder.startedAt}), which is no longer running${
            holder.pid !== process.pid && isAlive(holder.pid)
              ? ' (its PID now belongs to another process)'
              : ''
          }`,
    );
    rmSync(file, { force: true });
  }
  throw new MillwrightError(`could not take the lock ${file}; another sandbox keeps starting there`);
}

function heldLock(file: string, token: string): SandboxLock {
  heldTokens.add(token);
  const release = () => {
    process.off('exit', release);
    heldTokens.delete(token);
    const holder = readLock(file);
    if (holder !== undefined && holder !== 'unreadable' && holder.token === token)
      rmSync(file, { force: true });
  };
  // A process that exits without closing the sandbox (an uncaught error) still frees the folder.
  process.on('exit', release);
  return { release };
}

// ---------------------------------------------------------------------------------------------
// Reset and consistency.

const entriesOf = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

/**
 * Delete the DynamoDB data, the queues and the simulators' state together (never one without the
 * others); returns one line per folder removed, saying what was in it.
 */
export function resetDataDir(dataDir: string): string[] {
  const layout = dataDirLayout(dataDir);
  const removed: string[] = [];
  const dynamodb = entriesOf(layout.dynamodb);
  const simulators = entriesOf(layout.simulators).filter((f) => f.endsWith('.json'));
  try {
    if (existsSync(layout.dynamodb)) {
      rmSync(layout.dynamodb, { recursive: true, force: true });
      removed.push(`${layout.dynamodb} (DynamoDB data, ${dynamodb.length} files)`);
    }
    if (existsSync(layout.sqs)) {
      rmSync(layout.sqs, { recursive: true, force: true });
      removed.push(`${layout.sqs} (queued messages)`);
    }
    if (existsSync(layout.simulators)) {
      rmSync(layout.simulators, { recursive: true, force: true });
      removed.push(
        `${layout.simulators} (simulator state${simulators.length ? `: ${simulators.join(', ')}` : ''})`,
      );
    }
  } catch (error) {
    throw new MillwrightError(
      `could not reset the sandbox data in ${dataDir} (${(error as Error).message}); delete ${layout.dynamodb}, ${layout.sqs} and ${layout.simulators} by hand`,
      { cause: error },
    );
  }
  return removed;
}

/**
 * Warn when only one side of the data is there: DynamoDB data without simulator state (a folder from
 * before the simulators were saved, or a hand-deleted folder) would refer to records the simulators
 * do not have, and the other way round.
 */
export function checkDataDirPairs(dataDir: string, log: Log, options: { simulated: boolean }): void {
  const layout = dataDirLayout(dataDir);
  const hasDynamo = entriesOf(layout.dynamodb).length > 0;
  const hasSimulators = entriesOf(layout.simulators).some((f) => f.endsWith('.json'));
  const advice = 'Run `npm start -- --reset` to start both fresh.';
  if (options.simulated && hasDynamo && !hasSimulators) {
    log.warn(
      `${layout.dynamodb} holds DynamoDB data but ${layout.simulators} holds no simulator state (a data folder from before the simulators were saved?): the simulators start from their seed data, so the sandbox's state may refer to work orders and purchase orders they do not have. ${advice}`,
    );
  } else if (hasSimulators && !hasDynamo) {
    log.warn(
      `${layout.simulators} holds simulator state but ${layout.dynamodb} holds no DynamoDB data: the flows start with no memory of what they did, so they may act again on records the simulators already have. ${advice}`,
    );
  }
}
