/**
 * Long console actions (DLQ replay, backfill) as jobs: the POST answers 202 with the job at once and
 * the page polls `GET /api/jobs/:id` for its progress. Kept in memory for the console's life: a job
 * is a view of work the operator layer records itself (run log, queues), so losing the list on a
 * restart loses nothing.
 */
import { randomUUID } from 'node:crypto';

export type JobState = 'running' | 'done' | 'failed';

export interface Job {
  id: string;
  kind: string;
  flowId: string;
  done: number;
  total: number;
  state: JobState;
  startedAt: string;
  finishedAt?: string;
  result?: unknown;
  error?: string;
}

/** What a job's work gets: a way to report `done` of `total`. */
export type Progress = (done: number, total: number) => void;

/** Finished jobs kept for polling; the oldest finished ones go first beyond this. */
const MAX_KEPT = 200;

export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Start `work` now; the returned job is updated in place as it progresses and ends. */
  start(kind: string, flowId: string, work: (progress: Progress) => Promise<unknown>): Job {
    const job: Job = {
      id: randomUUID(),
      kind,
      flowId,
      done: 0,
      total: 0,
      state: 'running',
      startedAt: this.now().toISOString(),
    };
    this.jobs.set(job.id, job);
    this.prune();
    const run = work((done, total) => {
      job.done = done;
      job.total = total;
    }).then(
      (result) => {
        job.finishedAt = this.now().toISOString();
        job.result = result;
        job.state = 'done';
      },
      (error: unknown) => {
        job.finishedAt = this.now().toISOString();
        job.error = error instanceof Error ? error.message : String(error);
        job.state = 'failed';
      },
    );
    const tracked = run.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Resolves when every job started so far has ended (close, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'running');
    for (const job of finished.slice(0, Math.max(0, this.jobs.size - MAX_KEPT))) this.jobs.delete(job.id);
  }
}
