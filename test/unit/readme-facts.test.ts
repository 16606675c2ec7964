/**
 * Facts the README states that the code defines in one place: the state table actions each
 * function is granted, `npm start`'s environment variables and their defaults, and the CLI's exit
 * codes. Each is read from the README's own text, so an edit on either side that the other does
 * not follow fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { RUN_OUTCOMES } from '../../cli/commands/runs.ts';
import { EXIT } from '../../cli/context.ts';
import { EVENT_OUTCOMES } from '../../functions/runtime/metrics.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { stateActionsOf } from '../../lib/state-access.ts';
import { readSandboxEnv } from '../../sandbox/env.ts';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');

/** The backticked words of `text`. */
const ticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

const section = (from: string, to: string): string => {
  const start = readme.indexOf(from);
  expect(start).toBeGreaterThanOrEqual(0);
  return readme.slice(start + from.length, readme.indexOf(to, start + from.length));
};

describe('README facts', () => {
  it('"Permissions" lists exactly the state table actions the ingress, workers and pollers get', () => {
    const permissions = section('**Permissions**', 'No function gets');
    const ingress = ticked(
      permissions.slice(permissions.indexOf('the ingress '), permissions.indexOf(' (delivery marks')),
    );
    const items = permissions.slice(permissions.indexOf('workers and pollers the item actions ('));
    const itemActions = ticked(items.slice(0, items.indexOf(')')));
    const actions = (kind: 'ingress' | 'worker' | 'poller') =>
      stateActionsOf(kind)
        .map((a) => a.replace('dynamodb:', ''))
        .sort();
    expect(ingress.sort()).toEqual(actions('ingress'));
    expect(itemActions.sort()).toEqual(actions('worker'));
    expect(itemActions.sort()).toEqual(actions('poller'));
  });

  it('the `npm start` environment table names every variable with its default', () => {
    const table = section('Environment variables of `npm start`', '## Architecture');
    const rows = [...table.matchAll(/\| `(MILLWRIGHT_[A-Z_]+)` +\| `([^`]+)` +\|/g)].map((m) => [m[1], m[2]]);
    const defaults = Object.entries(readSandboxEnv({})).map(([name, value]) => [name, String(value)]);
    expect(rows).toEqual(defaults);
  });

  it('every MILLWRIGHT_* environment variable the shipped code reads is documented', () => {
    const read = new Set<string>();
    for (const dir of ['bin', 'cli', 'console', 'functions', 'lib', 'operator', 'sandbox']) {
      for (const file of readdirSync(join(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
        if (!/\.(ts|mjs)$/.test(file)) continue;
        const text = readFileSync(join(PROJECT_ROOT, dir, file), 'utf8');
        for (const m of text.matchAll(/\bMILLWRIGHT_[A-Z_]+\b/g)) read.add(m[0]);
      }
    }
    expect(read.size).toBeGreaterThanOrEqual(5);
    expect([...read].filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it('lists every outcome the worker counts as a metric, and every outcome the run log holds', () => {
    const metrics = ticked(section('metric `Events.<outcome>`', ').'));
    expect(metrics.filter((t) => !/[=.<]/.test(t)).sort()).toEqual([...EVENT_OUTCOMES].sort());
    const runLog = ticked(section('DynamoDB TTL). Outcomes: ', '; `via`'));
    expect(runLog.filter((t) => !t.includes(' ')).sort()).toEqual([...RUN_OUTCOMES].sort());
  });

  it('the exit codes listed are the CLI’s', () => {
    const line = section('Exit codes: ', '## ');
    for (const [code, words] of [
      [EXIT.ok, 'ok'],
      [EXIT.failed, 'the operation failed'],
      [EXIT.usage, 'bad usage'],
      [EXIT.unreachable, 'the target cannot be reached'],
      [EXIT.notFound, 'not found'],
      [EXIT.attention, '`status --check` found something'],
    ] as const) {
      expect(line).toContain(`\`${code}\` ${words}`);
    }
  });
});
