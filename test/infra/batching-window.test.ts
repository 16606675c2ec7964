/**
 * `runtime.workerBatchingWindowSeconds`: each worker's event source waits that long to fill a batch,
 * and its queue's visibility timeout grows by the same (AWS: 6 x the function timeout plus the
 * window); unset, the event source has no window (stack.test.ts checks the default timeouts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../functions/core/errors.ts';
import { buildApp } from '../../lib/app.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';
import { configWithRuntime } from '../support/infra.ts';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties: Json };

let dir: string;
const configWith = (name: string, runtime: Json): string => configWithRuntime(dir, name, runtime);
const synth = (path: string) =>
  Object.values(
    flatTemplate(buildApp(path, { 'aws:cdk:bundling-stacks': [] }).stack).Resources as Record<
      string,
      Resource
    >,
  );

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'millwright-window-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runtime.workerBatchingWindowSeconds', () => {
  it('gives every worker event source the window and its queue the longer visibility timeout', () => {
    const resources = synth(
      configWith('window', { workerBatchingWindowSeconds: 5, workerTimeoutSeconds: 30 }),
    );
    const mappings = resources.filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThan(5);
    for (const m of mappings) expect(m.Properties.MaximumBatchingWindowInSeconds).toBe(5);
    const flowQueues = resources.filter(
      (r) => r.Type === 'AWS::SQS::Queue' && typeof r.Properties.RedrivePolicy === 'object',
    );
    expect(flowQueues.length).toBe(mappings.length);
    // 30 s is the default worker timeout; a flow may ask for more (stack.test.ts), never less.
    for (const q of flowQueues) expect(Number(q.Properties.VisibilityTimeout) % 6).toBe(5);
  });

  it('leaves the event sources without a window by default', () => {
    const resources = synth(configWith('none', {}));
    for (const m of resources.filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')) {
      expect(m.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    }
  });

  it('refuses a window Lambda does not allow, naming the field', () => {
    expect(() => buildApp(configWith('bad', { workerBatchingWindowSeconds: 301 }), {})).toThrow(ConfigError);
    expect(() => buildApp(configWith('bad2', { workerBatchingWindowSeconds: 1.5 }), {})).toThrow(
      /runtime\.workerBatchingWindowSeconds/,
    );
  });
});
