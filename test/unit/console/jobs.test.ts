/** Jobs: progress while running, the result or the error at the end. */
import { describe, expect, it } from '@jest/globals';
import { Jobs } from '../../../console/jobs.ts';

describe('Jobs', () => {
  it('reports progress while running and the result when done', async () => {
    const jobs = new Jobs(() => new Date('2026-12-07T06:00:00Z'));
    let finish: (value: string) => void = () => undefined;
    let report: (done: number, total: number) => void = () => undefined;
    const job = jobs.start('replay', 'f', (progress) => {
      report = progress;
      return new Promise<string>((resolve) => {
        finish = resolve;
      });
    });
    expect(job).toMatchObject({ kind: 'replay', flowId: 'f', state: 'running', done: 0, total: 0 });
    report(2, 5);
    expect(jobs.get(job.id)).toMatchObject({ done: 2, total: 5, state: 'running' });
    finish('ok');
    await jobs.idle();
    expect(jobs.get(job.id)).toMatchObject({
      state: 'done',
      result: 'ok',
      finishedAt: '2026-12-07T06:00:00.000Z',
    });
  });

  it('keeps the error of a job that failed', async () => {
    const jobs = new Jobs();
    const job = jobs.start('backfill', 'f', async () => {
      throw new Error('vendor down');
    });
    await jobs.idle();
    expect(jobs.get(job.id)).toMatchObject({ state: 'failed', error: 'vendor down' });
    expect(jobs.get('nope')).toBeUndefined();
  });
});
