/** A sandbox for integration tests: the default config, template secrets, a manual clock, random ports. */
import { readFileSync } from 'node:fs';
import { memoryLog } from '../../functions/core/log.ts';
import { manualClock } from '../../sandbox/clock.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/runtime.ts';

export const templateSecrets = (): Record<string, unknown> =>
  JSON.parse(readFileSync('sandbox/secrets.template.json', 'utf8')) as Record<string, unknown>;

/** Worker retries in seconds, not minutes and hours: a transient failure is dead-lettered after ~3 s. */
export const TEST_RETRY = {
  baseDelaySeconds: 1,
  maxDelaySeconds: 1,
  transientBudgetSeconds: 3,
  waitBudgetSeconds: 30,
};

export function startTestSandbox(overrides: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({
    config: 'config/default.json',
    secrets: templateSecrets(),
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    basePort: 0,
    visibilityTimeoutSeconds: 1,
    httpTimeoutMs: 800,
    retry: TEST_RETRY,
    log: memoryLog(),
    ...overrides,
  });
}
