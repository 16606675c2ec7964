import { memoryLog } from '../../functions/core/log.ts';
import { manualClock } from '../../sandbox/clock.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/runtime.ts';
import { sandboxSecrets } from '../../sandbox/secrets.ts';

export const templateSecrets = (): Record<string, unknown> => sandboxSecrets() as Record<string, unknown>;

/** Worker retries in seconds, not minutes and hours: a transient failure is dead-lettered once 3 s have passed since its first delivery. */
export const TEST_RETRY = {
  baseDelaySeconds: 1,
  maxDelaySeconds: 1,
  horizonSeconds: 3,
  waitBudgetSeconds: 30,
};

/**
 * Circuit breakers with an open period of seconds, not minutes (the breaker runs on the wall clock):
 * a test's burst of 5xx may open one, and its events then wait a second, not 30 s to 5 min.
 */
export const TEST_BREAKER = { openSeconds: 1, maxOpenSeconds: 4 };

export function startTestSandbox(overrides: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({
    config: 'config/default.json',
    secrets: templateSecrets(),
    clock: manualClock('2026-11-02T08:00:00.000Z'),
    basePort: 0,
    visibilityTimeoutSeconds: 1,
    httpTimeoutMs: 800,
    retry: TEST_RETRY,
    breaker: TEST_BREAKER,
    log: memoryLog(),
    ...overrides,
  });
}
