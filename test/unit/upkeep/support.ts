/** Factories shared by the UpKeep unit tests: env, secrets that can rotate, a recording sleep. */
import { UpKeepClient, type UpKeepClientOptions } from '../../../functions/connectors/upkeep/client.ts';
import { parseUpKeepConfig, type UpKeepConfigInput } from '../../../functions/connectors/upkeep/config.ts';
import {
  startUpKeepSimulator,
  type UpKeepSimulator,
} from '../../../functions/connectors/upkeep/simulator/index.ts';
import type { RuntimeEnv } from '../../../functions/core/flow.ts';
import { silentLog } from '../../../functions/core/log.ts';
import type { SecretSource } from '../../../functions/core/secrets.ts';
import { SecretUnavailableError } from '../../../functions/core/secrets.ts';
import type { StateStore } from '../../../functions/core/state.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';

export const SECRET_NAME = 'millwright/upkeep';
export const EMAIL = 'integration@plant.example';
export const PASSWORD = 'Pw-7f3c9a1e-never-log-me';
export const WEBHOOK_TOKEN = 'wh-0f8e2d4c6b8a0e2d4c6b8a0e2d4c6b8a0e2d';

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

export function upkeepSecret(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { email: EMAIL, password: PASSWORD, webhookToken: WEBHOOK_TOKEN, ...overrides };
}

export function makeEnv(
  options: { vendors?: RuntimeEnv['vendors']; secrets?: SecretSource; now?: () => Date } = {},
) {
  const secrets = mutableSecrets({ [SECRET_NAME]: upkeepSecret() });
  const env: RuntimeEnv = {
    vendors: options.vendors ?? { upkeep: { secretName: SECRET_NAME } },
    secrets: options.secrets ?? secrets.source,
    // The UpKeep connector never touches state.
    state: {} as StateStore,
    log: silentLog,
    now: options.now ?? (() => new Date('2026-11-02T08:00:00.000Z')),
  };
  return { env, secrets };
}

/** A sleep that returns at once and records what it was asked to wait. */
export function recordingSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}

export interface Harness {
  sim: UpKeepSimulator;
  clock: Clock;
  secrets: ReturnType<typeof mutableSecrets>;
  delays: number[];
  client(
    options?: Partial<Omit<UpKeepClientOptions, 'config'>> & { config?: Partial<UpKeepConfigInput> },
  ): UpKeepClient;
}

/** A simulator plus a factory for clients wired to it (fake sleep, fixed jitter, shared clock). */
export async function startHarness(
  simOptions: Partial<Parameters<typeof startUpKeepSimulator>[0]> = {},
): Promise<Harness> {
  const clock = simOptions.clock ?? manualClock();
  const sim = await startUpKeepSimulator({ clock, email: EMAIL, password: PASSWORD, ...simOptions });
  const secrets = mutableSecrets({ [SECRET_NAME]: upkeepSecret() });
  const { delays, sleep } = recordingSleep();
  return {
    sim,
    clock,
    secrets,
    delays,
    client(options = {}) {
      const { config, http, ...rest } = options;
      return new UpKeepClient({
        config: parseUpKeepConfig({ baseUrl: sim.baseUrl, secretName: SECRET_NAME, ...config }),
        loadCredentials: async ({ refresh }) => {
          const value = (await secrets.source.getJson(SECRET_NAME, { refresh })) as {
            email: string;
            password: string;
          };
          return { email: value.email, password: value.password };
        },
        now: () => clock.now(),
        http: { sleep, random: () => 0.5, ...http },
        ...rest,
      });
    },
  };
}

/** Calls that reached the simulator's handlers for one route line, e.g. `GET /work-orders`. */
export const callsTo = (sim: UpKeepSimulator, line: string) => sim.calls().filter((c) => c.line === line);

/** A person deletes a work order in UpKeep (the client has no delete: Millwright never deletes one). */
export const deleteWorkOrderInUpKeep = (sim: UpKeepSimulator, id: string) =>
  deleteInUpKeep(sim, 'work-orders', id);

/** A person deletes a part in UpKeep (the client has no delete: Millwright never deletes one). */
export const deletePartInUpKeep = (sim: UpKeepSimulator, id: string) => deleteInUpKeep(sim, 'parts', id);

async function deleteInUpKeep(sim: UpKeepSimulator, what: 'work-orders' | 'parts', id: string) {
  const auth = await fetch(`${sim.url}/api/v2/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  const { result } = (await auth.json()) as { result: { sessionToken: string } };
  const res = await fetch(`${sim.url}/api/v2/${what}/${id}`, {
    method: 'DELETE',
    headers: { 'session-token': result.sessionToken },
  });
  if (res.status !== 200) throw new Error(`deleting ${what} ${id} answered ${res.status}`);
}
