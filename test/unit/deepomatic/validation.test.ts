/** The NAMED ASSUMPTION of client.ts: task states -> 'passed' | 'failed' | 'pending'. */
import { describe, expect, it } from '@jest/globals';
import {
  taskVerdict,
  validationOutcome,
  validationReport,
} from '../../../functions/connectors/deepomatic/client.ts';

const wo = (...states: [string, unknown][]) => ({ tasks: states.map(([name, state]) => ({ name, state })) });

describe('taskVerdict', () => {
  const table: [unknown, string][] = [
    [null, 'pending'],
    [undefined, 'pending'],
    [true, 'passed'],
    [false, 'failed'],
    [{ conform: true }, 'passed'],
    [{ conform: false }, 'failed'],
    [{ is_conform: true }, 'passed'],
    [{ is_conform: false }, 'failed'],
    [{ conform: true, is_conform: false }, 'failed'],
    [{ conform: null }, 'pending'],
    [{ is_conform: null, value: 3 }, 'pending'],
    ['conform', 'passed'],
    ['non_conform', 'failed'],
    ['Non-Conform', 'failed'],
    ['NON CONFORM', 'failed'],
    [' Conform ', 'passed'],
    ['maybe', 'no-verdict'],
    [3, 'no-verdict'],
    [0, 'no-verdict'],
    [{ value: 2 }, 'no-verdict'],
    [[true], 'no-verdict'],
  ];
  it.each(table)('%j -> %s', (state, verdict) => {
    expect(taskVerdict(state)).toBe(verdict);
  });
});

describe('validationOutcome', () => {
  const table: [string, ReturnType<typeof wo>, string[] | undefined, string][] = [
    ['all pass', wo(['a', true], ['b', { conform: true }]), undefined, 'passed'],
    ['one fails', wo(['a', true], ['b', false]), undefined, 'failed'],
    ['failure wins over pending', wo(['a', null], ['b', 'non_conform']), undefined, 'failed'],
    ['one not analysed', wo(['a', true], ['b', null]), undefined, 'pending'],
    ['no tasks', wo(), undefined, 'pending'],
    ['analysed without a verdict counts as done', wo(['a', true], ['count', 2]), undefined, 'passed'],
    ['required subset passes, others pending', wo(['a', true], ['b', null]), ['a'], 'passed'],
    ['required subset ignores a failure elsewhere', wo(['a', true], ['b', false]), ['a'], 'passed'],
    ['required task failed', wo(['a', { is_conform: false }], ['b', true]), ['a'], 'failed'],
    ['required task pending', wo(['a', null], ['b', true]), ['a'], 'pending'],
    ['required task missing', wo(['a', true]), ['a', 'nameplate_visible'], 'failed'],
    ['empty required list = all tasks', wo(['a', true], ['b', false]), [], 'failed'],
  ];
  it.each(table)('%s', (_label, workOrder, requiredTasks, outcome) => {
    expect(validationOutcome(workOrder, { requiredTasks })).toBe(outcome);
  });

  it('reports the task names behind the outcome', () => {
    expect(
      validationReport(wo(['a', true], ['b', false], ['c', null], ['d', 4]), {
        requiredTasks: ['a', 'b', 'c', 'd', 'e'],
      }),
    ).toEqual({
      outcome: 'failed',
      passed: ['a'],
      failed: ['b'],
      pending: ['c'],
      noVerdict: ['d'],
      missing: ['e'],
    });
  });

  it('accepts a poll event data object as well as a work order', () => {
    const data = { id: 'x', progressScore: 100, tasks: [{ name: 'a', state: true }] };
    expect(validationOutcome(data)).toBe('passed');
  });
});
