/**
 * The console page's words for times and outcomes (console/web/ui.js): plain browser modules, run
 * here under Node as they are (Preact and htm resolve from node_modules).
 */
import { describe, expect, it } from '@jest/globals';
import { RUN_OUTCOMES } from '../../../cli/commands/runs.ts';
// @ts-expect-error: a plain browser module without types.
import { doneMessage, duration, OUTCOME_ORDER, outcomeOf, relative } from '../../../console/web/ui.js';

describe('console words', () => {
  it('says a duration in its two largest units', () => {
    expect(duration(0)).toBe('0 s');
    expect(duration(59)).toBe('59 s');
    expect(duration(3 * 3600 + 12 * 60 + 5)).toBe('3 h 12 min');
    expect(duration(2 * 86_400 + 3600)).toBe('2 d 1 h');
  });

  it('says how long ago a time was, or how soon it comes', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    expect(relative('2026-12-07T09:55:00Z', now)).toBe('5 min ago');
    expect(relative('2026-12-07T09:59:58Z', now)).toBe('just now');
    expect(relative('2026-12-07T10:00:30Z', now)).toBe('in 30 s');
  });

  it('names every run-log outcome in words, and shows an unknown one as it is', () => {
    // Every outcome the worker writes, the operator's own (replay, discard) and the circuit breakers'.
    for (const outcome of RUN_OUTCOMES) {
      expect(OUTCOME_ORDER).toContain(outcome);
      expect(outcomeOf(outcome).means).not.toBe('');
    }
    expect(outcomeOf('needs-attention').label).toBe('needs attention');
    expect(outcomeOf('something-new')).toEqual({ label: 'something-new', tone: 'quiet', means: '' });
  });
});

describe("an action's done message", () => {
  const replayJob = (result: Record<string, unknown>) => ({ job: { state: 'done', result } });

  it('says a replay sent every event, and which it could not find', () => {
    expect(doneMessage(replayJob({ selected: 2, replayed: 2, notFound: ['e-9'], notDeleted: [] }))).toBe(
      'Done: 2 of 2 event(s) replayed; not found: e-9.',
    );
  });

  it('says which replayed events are still on the dead-letter queue, as the CLI does', () => {
    // Their DLQ copy could not be deleted: they show under Failures again after the replay.
    const message = doneMessage(replayJob({ selected: 2, replayed: 2, notFound: [], notDeleted: ['m-1'] }));
    expect(message).toContain('Done: 2 of 2 event(s) replayed');
    expect(message).toContain('still on the dead-letter queue');
    expect(message).toContain('m-1');
  });
});
