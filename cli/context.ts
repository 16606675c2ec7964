/**
 * What every command shares: where to write, which target to work on (opened once, from the global
 * `--sandbox` / `--stack` options), the clock, and the exit codes.
 */
import type { Command } from 'commander';
import { silentLog } from '../functions/core/log.ts';
import type { Target } from '../operator/target.ts';
import type { Io } from './output.ts';

/** Exit codes (README "Operating Millwright"). */
export const EXIT = {
  ok: 0,
  /** The command ran and failed (an operation error, a vendor refusing, a replay that did not complete). */
  failed: 1,
  /** Bad command line: unknown option, bad value, unknown flow or vendor. */
  usage: 2,
  /** The target cannot be reached: sandbox not running, stack not found, no AWS credentials. */
  unreachable: 3,
  /** What was asked for does not exist (an event id the run log does not know). */
  notFound: 4,
  /** `status --check`: something needs attention (dead letters, parked events, a failing poller). */
  attention: 5,
} as const;

export interface GlobalOptions {
  sandbox?: string | boolean;
  stack?: string;
  region?: string;
  config?: string;
  json?: boolean;
}

export interface CliContext {
  io: Io;
  now: () => Date;
  /** Opens the target the global options name (injected by tests and the demo). */
  openTarget: (options: GlobalOptions) => Promise<Target>;
  /** Ask before a change (answers yes with `--yes`; no terminal and no `--yes`: refuse). */
  confirm?: (question: string) => Promise<boolean>;
  /** Long-running commands (`console`) run until this resolves (default: Ctrl-C or SIGTERM). */
  untilStopped?: () => Promise<void>;
  /** The exit code a command settled on (0 unless it says otherwise). */
  result: { code: number };
}

/** A failure with its exit code and a message for people. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const globals = (command: Command): GlobalOptions => command.optsWithGlobals() as GlobalOptions;

/** Run `work` on the target named by the global options, closing it after. */
export async function withTarget<T>(
  ctx: CliContext,
  command: Command,
  work: (target: Target, options: GlobalOptions) => Promise<T>,
): Promise<T> {
  const options = globals(command);
  const target = await ctx.openTarget(options);
  try {
    return await work(target, options);
  } finally {
    target.close();
  }
}

/** JSON for scripts (`--json`), or the human rendering. */
export function emit(ctx: CliContext, options: GlobalOptions, data: unknown, human: () => string): void {
  ctx.io.out(options.json ? `${JSON.stringify(data, null, 2)}\n` : human());
}

export const quietLog = silentLog;
