/**
 * Shared by the Click Maint unit tests: a simulator, a real StateStore (dynalite) for the shared
 * rate limiter, virtual wall-clock time (sleep advances it, so no test really waits), and clients
 * built the way the runtime builds them (connectClickMaint).
 */
import {
  type ClickMaintClient,
  type ClickMaintConnectOverrides,
  connectClickMaint,
} from '../../../functions/connectors/click-maint/client.ts';
import type { ClickMaintConfigInput } from '../../../functions/connectors/click-maint/config.ts';
import {
  type ClickMaintSimulator,
  type ClickMaintSimulatorOptions,
  startClickMaintSimulator,
} from '../../../functions/connectors/click-maint/simulator/index.ts';
import type { RuntimeEnv } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import type { SecretSource } from '../../../functions/core/secrets.ts';
import { SecretUnavailableError } from '../../../functions/core/secrets.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';
import { startTestState, type TestState } from '../../support/state.ts';

export const SECRET_NAME = 'millwright/click-maint';
export const API_KEY = 'cm-live-3f9a7c1e5b2d4f6a8c0e-never-log-me';
export const T0 = Date.parse('2026-11-02T08:00:00.000Z');

/** Wall-clock time that only moves when something sleeps (or a test advances it). */
export function virtualTime(start = T0) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += Math.max(0, ms);
    },
  };
}
export type VirtualTime = ReturnType<typeof virtualTime>;

/** A secret source whose value can change (rotation) and that records every read and its `refresh` flag. */
export function mutableSecrets(initial: Record<string, unknown>) {
  const values: Record<string, unknown> = { ...initial };
  const reads: { name: string; refresh: boolean }[] = [];
  const source: SecretSource = {
    async getJson(name, options) {
      reads.push({ name, refresh: options?.refresh ?? false });
      if (!(name in values)) throw new SecretUnavailableError(name);
      return structuredClone(values[name]);
    },
  };
  return { source, reads, values };
}

/** A limiter policy that never gets in the way (for tests not about rate limiting). */
export const GENEROUS_RATE_LIMIT = { limit: 100_000, windowSeconds: 1, burst: 10_000, reserve: 0 };

export interface Harness {
  sim: ClickMaintSimulator;
  clock: Clock;
  time: VirtualTime;
  state: TestState;
  secrets: ReturnType<typeof mutableSecrets>;
  env(config?: Partial<ClickMaintConfigInput>): RuntimeEnv & { log: ReturnType<typeof memoryLog> };
  client(config?: Partial<ClickMaintConfigInput>, overrides?: ClickMaintConnectOverrides): ClickMaintClient;
  close(): Promise<void>;
}

/** A simulator (huge rate limit unless given) plus a factory for clients wired to it. */
export async function startHarness(
  simOptions: Partial<ClickMaintSimulatorOptions> = {},
  existing: { state?: TestState; time?: VirtualTime; clock?: Clock } = {},
): Promise<Harness> {
  const clock = existing.clock ?? manualClock();
  const time = existing.time ?? virtualTime();
  const sim = await startClickMaintSimulator({
    clock,
    apiKey: API_KEY,
    rateLimit: { limit: 100_000, windowSeconds: 300 },
    wallClock: time.now,
    ...simOptions,
  });
  const state = existing.state ?? (await startTestState());
  const secrets = mutableSecrets({ [SECRET_NAME]: { apiKey: API_KEY } });
  const env = (config: Partial<ClickMaintConfigInput> = {}) =>
    ({
      vendors: {
        'click-maint': {
          baseUrl: sim.baseUrl,
          secretName: SECRET_NAME,
          entities: [1, 2],
          rateLimit: GENEROUS_RATE_LIMIT,
          ...config,
        },
      },
      secrets: secrets.source,
      state: state.store(),
      log: memoryLog(),
      now: () => clock.now(),
    }) as RuntimeEnv & { log: ReturnType<typeof memoryLog> };
  return {
    sim,
    clock,
    time,
    state,
    secrets,
    env,
    client: (config = {}, overrides = {}) =>
      connectClickMaint(env(config), {
        now: time.now,
        sleep: time.sleep,
        ...overrides,
        http: { random: () => 0.5, ...overrides.http },
      }),
    async close() {
      await sim.close();
      if (!existing.state) await state.close();
    },
  };
}

/** Calls that reached the simulator for one route line, e.g. `GET /parts`. */
export const callsTo = (sim: ClickMaintSimulator, line: string) => sim.calls().filter((c) => c.line === line);
