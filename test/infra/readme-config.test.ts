/**
 * The config examples of README "Configuration" are what operators paste: each fragment (alarms,
 * circuit breaker, state table billing, ...) merged into config/example-plant.json synthesizes, and
 * the full reference config names no field the schema does not know (its `<...>` placeholders are
 * the only values it may fail on).
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../functions/core/errors.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
type Json = Record<string, unknown>;

/** The README's jsonc blocks as JSON (comments and trailing commas dropped). */
const readmeBlocks = (): Json[] =>
  [...readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').matchAll(/```jsonc\n([\s\S]*?)```/g)].map((m) => {
    const text = (m[1] ?? '')
      .replace(/(^|[^:"])\/\/.*$/gm, '$1')
      .replace(/,(\s*[}\]])/g, '$1')
      .trim();
    return JSON.parse(text.startsWith('{') ? text : `{${text}}`) as Json;
  });

const example = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/example-plant.json'), 'utf8')) as Json;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-readme-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, config: Json): string => {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
};

describe('README configuration examples', () => {
  const blocks = readmeBlocks();
  const full = blocks.filter((b) => 'flows' in b);
  const fragments = blocks.filter((b) => !('flows' in b));

  it('has the reference config and its fragments', () => {
    expect(full).toHaveLength(1);
    expect(fragments.length).toBeGreaterThanOrEqual(3);
  });

  it.each(fragments.map((f, i) => [i, Object.keys(f).join(', '), f] as const))(
    'fragment %i (%s) merged into the example plant synthesizes',
    (i, _, fragment) => {
      const merged: Json = { ...example };
      for (const [key, value] of Object.entries(fragment)) {
        merged[key] = { ...((merged[key] as Json | undefined) ?? {}), ...(value as Json) };
      }
      expect(() => buildApp(write(`fragment-${i}`, merged), NO_BUNDLING)).not.toThrow();
    },
  );

  it('the reference config fails only on its <placeholders>, never on an unknown or misnamed field', () => {
    let problems: readonly { path: string; message: string }[] = [];
    try {
      buildApp(write('full', full[0] as Json), NO_BUNDLING);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    for (const problem of problems) {
      expect({ problem, unknown: /unknown key/.test(problem.message) }).toEqual({ problem, unknown: false });
      // The value at that path is a `<...>` placeholder of the README.
      const value = problem.path
        .split('.')
        .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], full[0]);
      expect({ path: problem.path, value }).toEqual({
        path: problem.path,
        value: expect.stringMatching(/^<.*>$/),
      });
    }
  });
});
