/**
 * The sandbox's scheduler plays EventBridge Scheduler, where each poll source is its own schedule
 * and its own Lambda: every poller runs on its own, so one that throws, or hangs in a vendor's 5xx
 * burst, never delays or stops another. A poller's runs never overlap each other (a run still
 * going when its next is due makes the next one wait for it, or, on its timer, skip).
 */
import type { Log } from '../functions/core/log.ts';
import type { PollRunSummary } from '../functions/runtime/poller.ts';

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
  run(): Promise<PollRunSummary>;
}

export interface Scheduler {
  /** Run every poller once, all at once (what one tick of every schedule does). */
  tick(): Promise<PollRunSummary[]>;
  /** Run each poller every `intervalMs` (one timer per poller), starting now. */
  start(intervalMs: number): void;
  /** Stop the timers and wait for the runs in progress. */
  stop(): Promise<void>;
}

export function createScheduler(schedules: readonly Schedule[], log: Log): Scheduler {
  const running = new Map<Schedule, Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;

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
      const results = await Promise.allSettled(schedules.map(runSchedule));
      const failures = schedules.filter((_, i) => results[i]?.status === 'rejected').map((s) => s.what);
      if (failures.length > 0) throw new PollTickError(failures);
      return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    },
    start(intervalMs) {
      // One timer per poller (each failed poll is logged by runSchedule, naming its flow).
      for (const schedule of schedules) {
        const run = () => {
          if (stopped || running.has(schedule)) return;
          void runSchedule(schedule).catch(() => undefined);
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
