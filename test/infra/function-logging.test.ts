/**
 * `runtime.systemLogLevel` switches every function to Lambda's JSON log format at that system
 * level, with the application level at `runtime.logLevel`, and keeps each function's own log
 * group (the default, unset, is checked in stack.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../functions/core/errors.ts';
import { buildApp } from '../../lib/app.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';
import { configWithRuntime } from '../support/infra.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
type Json = Record<string, unknown>;

let dir: string;
const configWith = (name: string, runtime: Json): string => configWithRuntime(dir, name, runtime);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-logging-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runtime.systemLogLevel', () => {
  it('gives every function the JSON log format, the system level and runtime.logLevel, in its own log group', () => {
    const built = buildApp(configWith('warn', { systemLogLevel: 'WARN', logLevel: 'DEBUG' }), NO_BUNDLING);
    const resources = flatTemplate(built.stack).Resources as Record<
      string,
      { Type: string; Properties: Json }
    >;
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    for (const fn of functions) {
      const logging = fn.Properties.LoggingConfig as Json;
      expect(logging).toMatchObject({
        LogFormat: 'JSON',
        SystemLogLevel: 'WARN',
        ApplicationLogLevel: 'DEBUG',
      });
      expect(logging.LogGroup).toBeDefined();
    }
  });

  it('refuses a level Lambda does not have for its own lines, naming the field', () => {
    expect(() => buildApp(configWith('bad', { systemLogLevel: 'ERROR' }), NO_BUNDLING)).toThrow(ConfigError);
    expect(() => buildApp(configWith('bad2', { systemLogLevel: 'ERROR' }), NO_BUNDLING)).toThrow(
      /runtime\.systemLogLevel/,
    );
  });
});
