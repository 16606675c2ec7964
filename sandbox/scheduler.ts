/**
 * The sandbox's scheduler plays EventBridge Scheduler, where each poll source is its own schedule
 * and its own Lambda: every poller runs on its own, so one that throws, or hangs in a vendor's 5xx
 * burst, never delays or stops another. A poller's runs never overlap each other (a run still
 * going when its next is due makes the next one wait for it, or, on its timer, skip).
 * A paused flow's pollers do not run (as its disabled schedules in AWS); once resumed, the next run
 * catches up from the watermark where the last one stopped. A shared poll (runtime/shared-poll.ts)
 * is one schedule for its flows and stops only when all of them are paused.
 */
import type { Log } from '../functions/core/log.ts';
import type { PollRunSummary } from '../functions/runtime/poller.ts';
import type { PauseFlags } from './pause-flags.ts';

/** Some pollers of a tick failed (each was logged); the others ran. */
export class PollTickError extends Error {
  constructor(readonly failed: readonly string[]) {
    super(`poll failed for ${failed.join(', ')}`);
    this.name = 'PollTickError';
  }
}

export interface Schedule {
  /** `<flow id> (<poll source id>)`, for logs. */
  what: string;
  /**
   * The flows it polls for: it runs unless every one is paused (a shared poll goes on for the
   * others; a paused flow's queue still receives, its messages wait).
   */
  flowIds: readonly string[];
  run(): Promise<PollRunSummary>;
}

export interface Scheduler {
  /** Run every poller once, all at once (what one tick of every schedule does); paused flows' skip. */
  tick(): Promise<PollRunSummary[]>;
  /** Run each poller every `intervalMs` (one timer per poller), starting now. */
  start(intervalMs: number): void;
  /** Stop the timers and wait for the runs in progress. */
  stop(): Promise<void>;
}

export function createScheduler(
  schedules: readonly Schedule[],
  log: Log,
  options: { pauses?: PauseFlags } = {},
): Scheduler {
  const running = new Map<Schedule, Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  /** Schedules seen paused, so the log says it once per pause, not at every timer tick. */
  const held = new Set<Schedule>();

  /** The schedules whose flow is not paused (logging each change of a schedule's state). */
  const runnable = async (candidates: readonly Schedule[]): Promise<Schedule[]> => {
    const { pauses } = options;
    if (!pauses) return [...candidates];
    const paused = await Promise.all(
      candidates.map(async (s) =>
        (await Promise.all(s.flowIds.map((id) => pauses.isPaused(id)))).every(Boolean),
      ),
    );
    return candidates.filter((schedule, i) => {
      if (paused[i]) {
        if (!held.has(schedule)) log.info(`scheduler: ${schedule.what} is paused; its polls wait`);
        held.add(schedule);
        return false;
      }
      if (held.delete(schedule)) log.info(`scheduler: ${schedule.what} resumed`);
      return true;
    });
  };

  const runSchedule = (schedule: Schedule): Promise<PollRunSummary> => {
    const previous = running.get(schedule) ?? Promise.resolve();
    const run = previous
      .then(() => schedule.run())
      .catch((error: unknown) => {
        log.error(
          `scheduler: poll of ${schedule.what} failed; it runs again at the next tick from the same watermark: ${error instanceof Error ? error.message : String(error)}`,
        );
        throw error;
      });
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    running.set(schedule, settled);
    void settled.then(() => {
      if (running.get(schedule) === settled) running.delete(schedule);
    });
    return run;
  };

  return {
    async tick() {
      // An explicit tick obeys the flags as they are now.
      options.pauses?.forget();
      const due = await runnable(schedules);
      const results = await Promise.allSettled(due.map(runSchedule));
      const failures = due.filter((_, i) => results[i]?.status === 'rejected').map((s) => s.what);
      if (failures.length > 0) throw new PollTickError(failures);
      return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    },
    start(intervalMs) {
      // One timer per poller (each failed poll is logged by runSchedule, naming its flow).
      for (const schedule of schedules) {
        const run = () => {
          if (stopped || running.has(schedule)) return;
          void runnable([schedule]).then(
            (due) => {
              // Checked again: the flag read took a moment.
              if (due.length === 0 || stopped || running.has(schedule)) return;
              void runSchedule(schedule).catch(() => undefined);
            },
            (error: unknown) =>
              log.error(
                `scheduler: could not read the pause flag of ${schedule.what}; it tries again at its next tick: ${String(error)}`,
              ),
          );
        };
        timers.push(setInterval(run, intervalMs));
        run();
      }
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all(running.values());
    },
  };
}
